// SPDX-License-Identifier: GPL-3.0-or-later
//! The line: reserve a code, build its label, send it, wait for the printer, wait for the scan, judge it,
//! record the outcome durably. One [`Station`] owns the ledger connection, the printer and the scanner; it
//! runs on one thread (the engine's, or the CLI's) and reports through a [`Sink`].
//!
//! The order of ledger writes is the safety argument: SENT is recorded before the first byte leaves,
//! PRINTED only when the printer says the label is out, VERIFIED only on a byte-exact scan, and every
//! failure is a REJECTED code a supervisor sees. Nothing here ever returns a code that may exist on paper
//! to the pool: a code goes back only when the printer link was found down before its first byte.
//!
//! A rejected label must not come out later: before a label the printer holds is rejected, the printer
//! is told to drop it (`~JA`). A label the printer was stopped on (paper, ribbon, head, silence, a lost
//! link) may have left a partial sticker, or a second one (a Zebra reprints after an error unless told
//! `^JZN`): the ledger records that on its print attempt, and any later scan of it is an alert.
//!
//! This file holds the station and the print side of the inline line; its other jobs live beside it,
//! one a file: `scan.rs` (wait for a scan, judge it), `printer.rs` (printer trouble, the link, dropping
//! a label), `label.rs` (the ZPL and preview of a code's label), `window.rs` (roll modes),
//! `session.rs` (the supervisor's sign-in, PIN lockout and commands), `inbox.rs` (commands taken
//! mid-run) and `review.rs` (a supervisor's actions on one code).

use crate::notice::Notice;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use labelstation_printer::{
    JobOutcome, LinkState, Printer, PrinterError, Reconnect, wait_until_done,
};
use labelstation_scanner::{Scanner, ScannerEvent, ScannerState};
use labelstation_zpl::template::Template;
use labelstation_zpl::write::{LabelData, ProductText};

use super::events::*;

#[path = "inbox.rs"]
mod inbox;
#[path = "label.rs"]
mod label;
#[path = "packing.rs"]
mod packing;
#[path = "printer.rs"]
mod printer;
#[path = "review.rs"]
mod review;
#[path = "scan.rs"]
mod scan;
#[path = "session.rs"]
mod session;
#[path = "window.rs"]
mod window;
use super::pin::Supervisor;
use super::words::RejectReason;
use crate::settings::{LabelMode, LineConfig, PrinterConfig};
use crate::verdict::{MismatchKind, ScanVerdict, decide, repeat_of_applied};
use labelstation_codes::{CodeFormat, Gtin};
use labelstation_ledger::{
    Actor, CodeId, CodeRecord, CodeState, JobId, Ledger, Product, ScanProof, StoreError,
};
pub use packing::{BOX_LABEL_TRIES, HOLD_BEFORE_BOX_LABEL_ENV, Packing};
pub(crate) use printer::Trouble;
pub use session::SESSION_IDLE;

/// Where events go.
pub type Sink = Arc<dyn Fn(Event) + Send + Sync>;

/// Errors that end a run. Label-level failures are not errors: they are rejected codes.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("unknown product GTIN {0}: the product is registered on this station first")]
    UnknownProduct(Gtin),
    #[error("no codes left for GTIN {0}: pull more from the registry, or import a code file")]
    PoolEmpty(Gtin),
    #[error(
        "the {held} code(s) left for GTIN {gtin} are held after a ledger restore: a supervisor checks them against the registry and releases those no station printed"
    )]
    PoolHeld { gtin: Gtin, held: u64 },
    #[error("cannot build the label: {0}")]
    Label(String),
    #[error("box {0} is open: its label is printed once it is closed")]
    BoxOpen(String),
    #[error(
        "the line stopped after {count} failures in a row (last: {last}): a supervisor must review the rejected labels and unlock the line"
    )]
    LineStopped { count: u32, last: String },
    #[error(
        "the printer was not fixed in time ({reason}): the label in hand was rejected; fix the printer and start again"
    )]
    PrinterNotFixed { reason: String },
    #[error(
        "the printer link did not come back in time ({reason}): no label was lost; check the printer's power and cable, then start again"
    )]
    PrinterOffline { reason: String },
    #[error("scanner: {0}")]
    Scanner(String),
    #[error("printer: {0}")]
    Printer(#[from] PrinterError),
    #[error("the run was stopped")]
    Interrupted,
}

/// What a finished run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunSummary {
    pub requested: u32,
    pub printed: u32,
    pub verified: u32,
    pub rejected: u32,
    /// Batch and no-verify: printed codes still waiting for their scan.
    pub waiting: u32,
    /// Software cost of each verification: from the scan's arrival to the durable verdict, microseconds.
    #[serde(skip)]
    pub verdict_latency_us: Vec<u64>,
}

/// Signals a run takes from the screens while it waits.
#[derive(Debug, Default)]
struct Signals {
    stop: bool,
    cancel: bool,
    unreadable: bool,
    /// The worker asked to close the open box ([`Command::CloseBox`]).
    close_box: bool,
    unlock: Option<Supervisor>,
}

/// The line's parts.
pub struct Station {
    pub(crate) ledger: Ledger,
    pub(crate) line: LineConfig,
    pub(crate) printer_cfg: PrinterConfig,
    pub(crate) format: CodeFormat,
    pub(crate) template: Template,
    pub(crate) printer: Box<dyn Printer>,
    pub(crate) printer_name: String,
    pub(crate) scanner: Box<dyn Scanner>,
    pub(crate) sink: Sink,
    pub(crate) actor: Actor,
    pub(crate) counters: Counters,
    failures: u32,
    last_failure: String,
    /// The product whose stored format (^DF) the printer holds, in `stored` label mode.
    pub(crate) stored_for: Option<String>,
    /// A `~JA` (cancel all) that could not reach the printer: it goes first when the link is back.
    pending_cancel: bool,
    /// The printer's odometer against the roll's counts (`window.rs`).
    odometer: window::Odometer,
    /// The devices and label the station was opened with or switched to (Settings).
    pub(crate) choice: crate::reconfigure::DeviceChoice,
    /// What opens the devices a settings change names (none: settings changes are refused).
    pub(crate) opener: Option<Box<dyn crate::reconfigure::DeviceOpener>>,
    /// What the opener keeps running beside a printer a settings change opened (a virtual line; the
    /// first one belongs to whoever opened the station).
    pub(crate) own_line: Option<crate::reconfigure::OwnLine>,
    pub(crate) commands: Option<Receiver<Command>>,
    /// Commands that arrived during a run and are for the engine loop (product change, review, ...).
    pub(crate) deferred: VecDeque<Command>,
    signals: Signals,
    /// The consignment the next runs label for ([`Station::label_for`]); `None`: no consignment.
    consignment: Option<String>,
    /// Verified pairs go into boxes (`packing.rs`).
    packing: Option<Packing>,
    /// Render each label for the screen's preview.
    pub previews: bool,
    /// Where the supervisor PIN is checked (none: supervisor actions are refused).
    pub(crate) pins: Option<super::pin::PinStore>,
    session: Option<(Supervisor, Instant)>,
    wrong_pins: u32,
    pin_locked_until: Option<Instant>,
}

/// A scan as it arrived: bytes, AIM id, when.
type Arrived = (Vec<u8>, Option<String>, Instant);

/// What became of one label at the printer.
enum Printed {
    Yes,
    /// Rejected: printer error the worker cancelled or could not fix in time.
    Rejected,
    /// Never sent: the printer link was down before its first byte, so the code went back to the pool.
    Released,
}

/// What became of one scanned label.
enum Scanned {
    Verified,
    Rejected,
}

impl Station {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ledger: Ledger,
        line: LineConfig,
        printer_cfg: PrinterConfig,
        format: CodeFormat,
        template: Template,
        printer: Box<dyn Printer>,
        scanner: Box<dyn Scanner>,
        sink: Sink,
        actor: Actor,
    ) -> Station {
        let printer_name = printer.describe();
        Station {
            ledger,
            line,
            printer_cfg,
            format,
            template,
            printer,
            printer_name,
            scanner,
            sink,
            actor,
            counters: Counters::default(),
            failures: 0,
            last_failure: String::new(),
            stored_for: None,
            pending_cancel: false,
            odometer: window::Odometer::default(),
            choice: crate::reconfigure::DeviceChoice {
                printer: String::new(),
                scanner: String::new(),
                label: crate::settings::LabelConfig::default(),
            },
            opener: None,
            own_line: None,
            commands: None,
            deferred: VecDeque::new(),
            signals: Signals::default(),
            consignment: None,
            packing: None,
            previews: false,
            pins: None,
            session: None,
            wrong_pins: 0,
            pin_locked_until: None,
        }
    }

    /// Check supervisor PINs against `pins`.
    pub fn with_pins(mut self, pins: super::pin::PinStore) -> Station {
        self.pins = Some(pins);
        self
    }

    /// Take commands from a screen while runs wait.
    pub fn with_commands(mut self, rx: Receiver<Command>) -> Station {
        self.commands = Some(rx);
        self
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The station's ledger connection, for work between runs on the same thread (the demo syncs
    /// through it; the supervisor's review moves use it).
    pub fn ledger_mut(&mut self) -> &mut Ledger {
        &mut self.ledger
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    pub(crate) fn emit(&self, e: Event) {
        (self.sink)(e)
    }

    fn emit_counters(&self) {
        self.emit(Event::Counters {
            counters: self.counters,
        });
    }

    fn emit_line(&self, line: LineState) {
        self.emit(Event::Line { line });
    }

    /// Whether the line is stopped for too many failures.
    pub fn is_stopped(&self) -> bool {
        self.failures >= self.line.max_consecutive_failures
    }

    fn failure(&mut self, what: &str) {
        self.failures += 1;
        self.last_failure = what.to_owned();
    }

    /// Label the next runs for `consignment` (its packing list must list the product; no more pairs than
    /// a line declares are labelled), or for none.
    pub fn label_for(&mut self, consignment: Option<String>) {
        self.consignment = consignment;
    }

    /// The consignment the next runs label for.
    pub fn labelling_for(&self) -> Option<&str> {
        self.consignment.as_deref()
    }

    /// Label `count` pairs of `gtin`. Label-level failures are rejected codes, not errors; an error ends
    /// the run (pool empty, line stopped, printer not fixed, ledger trouble) with the ledger consistent.
    pub fn run(&mut self, gtin: &Gtin, mode: Mode, count: u32) -> Result<RunSummary, EngineError> {
        let product = self
            .ledger
            .product(gtin)?
            .ok_or_else(|| EngineError::UnknownProduct(gtin.clone()))?;
        if self.is_stopped() {
            return Err(EngineError::LineStopped {
                count: self.failures,
                last: self.last_failure.clone(),
            });
        }
        self.signals = Signals::default();
        let job = self.ledger.open_job_for(
            gtin,
            mode.job_mode(),
            self.consignment.as_deref(),
            &self.actor,
        )?;
        let mut summary = RunSummary {
            requested: count,
            ..RunSummary::default()
        };
        let result = self.finish_full_boxes();
        let result = result.and_then(|()| match mode {
            Mode::Inline => self.run_inline(job, &product, count, &mut summary),
            Mode::Batch | Mode::NoVerify => self.run_roll(job, &product, mode, count, &mut summary),
        });
        if let Err(e) = &result {
            self.halt(job, e);
        }
        let closed = self.ledger.close_job(job);
        if matches!(closed, Ok(n) if n > 0) {
            self.emit(Event::Review {
                waiting: self.review_len(),
            });
        }
        // A run that ended well closes its partly filled box; one that ended on an error leaves it open
        // for the next run to fill.
        let packed = match &result {
            Ok(()) => self.close_partial_box(),
            Err(_) => Ok(()),
        };
        self.emit_line(LineState::Idle);
        result?;
        closed?;
        packed?;
        Ok(summary)
    }

    fn reserve(&mut self, job: JobId, gtin: &Gtin) -> Result<CodeRecord, EngineError> {
        match self.ledger.reserve(job, &self.actor) {
            Ok(rec) => {
                self.emit(Event::Label {
                    code: rec.id,
                    masked: rec.code.masked(),
                    phase: LabelPhase::Reserved,
                    preview: None,
                });
                Ok(rec)
            }
            Err(StoreError::PoolEmpty(_)) => Err(EngineError::PoolEmpty(gtin.clone())),
            Err(StoreError::PoolHeld { held, .. }) => Err(EngineError::PoolHeld {
                gtin: gtin.clone(),
                held,
            }),
            Err(e) => Err(e.into()),
        }
    }

    fn run_inline(
        &mut self,
        job: JobId,
        product: &Product,
        count: u32,
        summary: &mut RunSummary,
    ) -> Result<(), EngineError> {
        let mut next: Option<CodeRecord> = None;
        let mut outcome = Ok(());
        let mut i = 0;
        while i < count {
            self.emit_line(LineState::Running {
                mode: Mode::Inline,
                done: i,
                total: count,
            });
            let rec = match next.take() {
                Some(r) => r,
                None => match self.reserve(job, &product.gtin) {
                    Ok(r) => r,
                    Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                },
            };
            match self.print_one(job, product, &rec) {
                Ok(Printed::Yes) => summary.printed += 1,
                Ok(Printed::Released) => {
                    // The same label again, with a fresh code, once the link is back.
                    if self.signals.stop {
                        break;
                    }
                    continue;
                }
                Ok(Printed::Rejected) => {
                    summary.rejected += 1;
                    i += 1;
                    if let Err(e) = self.after_failure() {
                        outcome = Err(e);
                        break;
                    }
                    continue;
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
            // The next label is prepared while the worker applies this one.
            if i + 1 < count && !self.signals.stop {
                next = self.ledger.reserve(job, &self.actor).ok();
            }
            match self.await_scan(job, &rec, summary) {
                Ok(Scanned::Verified) => {
                    summary.verified += 1;
                    let packed = self.pack(&rec).and_then(|()| self.close_box_if_asked());
                    if let Err(e) = packed {
                        outcome = Err(e);
                        break;
                    }
                }
                Ok(Scanned::Rejected) => {
                    summary.rejected += 1;
                    if let Err(e) = self.after_failure() {
                        outcome = Err(e);
                        break;
                    }
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
            i += 1;
            if self.signals.stop {
                break;
            }
        }
        if let Some(r) = next {
            self.ledger.release(r.id, job, &self.actor)?;
            self.emit(Event::Label {
                code: r.id,
                masked: r.code.masked(),
                phase: LabelPhase::Released,
                preview: None,
            });
        }
        outcome
    }

    /// Batch and no-verify: print the roll (`window.rs`), then (batch) take scans in any order.
    fn run_roll(
        &mut self,
        job: JobId,
        product: &Product,
        mode: Mode,
        count: u32,
        summary: &mut RunSummary,
    ) -> Result<(), EngineError> {
        self.print_roll(job, product, mode, count, summary)?;
        if mode == Mode::Batch {
            self.await_batch(job, summary)?;
        }
        summary.waiting = u32::try_from(self.ledger.waiting_in_job(job)?).unwrap_or(u32::MAX);
        Ok(())
    }

    /// After a rejected label: count it, and stop the line when too many came in a row.
    fn after_failure(&mut self) -> Result<(), EngineError> {
        if self.is_stopped() {
            let reason = format!(
                "{} failures in a row (last: {}): call the supervisor",
                self.failures, self.last_failure
            );
            self.emit_line(LineState::Stopped {
                reason,
                key: "too-many-failures",
                args: vec![self.failures.to_string()],
            });
            // With a screen attached, wait for a supervisor to unlock; otherwise end the run.
            if self.commands.is_some() {
                loop {
                    self.poll_commands();
                    if let Some(sup) = self.signals.unlock.take() {
                        self.unlock(&sup)?;
                        return Ok(());
                    }
                    if self.signals.stop {
                        break;
                    }
                    self.idle_wait(Duration::from_millis(100));
                }
            }
            return Err(EngineError::LineStopped {
                count: self.failures,
                last: self.last_failure.clone(),
            });
        }
        Ok(())
    }

    /// Wait a little, keeping the scanner's state current.
    fn idle_wait(&mut self, d: Duration) {
        match self.scanner.next_event(d) {
            Ok(Some(ScannerEvent::State(s))) => self.emit_scanner(&s),
            Ok(Some(_)) => self.notice(Notice::ScanIgnoredStopped),
            Ok(None) => {}
            Err(_) => std::thread::sleep(d),
        }
    }

    /// Send one label and wait until the printer has it out. SENT is recorded before the first byte.
    fn print_one(
        &mut self,
        job: JobId,
        product: &Product,
        rec: &CodeRecord,
    ) -> Result<Printed, EngineError> {
        // A link found down before the ledger says SENT costs no code: no byte of it left the station.
        if !self.link_ready() {
            if self.ledger.print_attempts(rec.id)? == 0 {
                self.ledger.release(rec.id, job, &self.actor)?;
                self.emit(Event::Label {
                    code: rec.id,
                    masked: rec.code.masked(),
                    phase: LabelPhase::Released,
                    preview: None,
                });
                self.await_link()?;
                return Ok(Printed::Released);
            }
            // A reprint's code went to a printer before and never returns to the pool: it waits.
            if !self.await_link()? {
                return Err(EngineError::Interrupted);
            }
        }
        let zpl = self.label_bytes(product, rec)?;
        self.ledger
            .mark_sent(rec.id, job, &self.printer_name, &zpl, true, &self.actor)?;
        self.counters.sent += 1;
        self.emit(Event::Label {
            code: rec.id,
            masked: rec.code.masked(),
            phase: LabelPhase::Sent,
            preview: self.preview(product, rec),
        });
        self.emit_printer(PrinterState::Printing, None);
        let sent = self.printer.send(&zpl);
        if sent.is_ok() && self.line.label_mode == LabelMode::Stored {
            self.stored_for = Some(product.gtin.to_string());
        }
        // A failed send may have left a whole label, part of one, or nothing in the printer: never count
        // such a code as printed. It is rejected for the supervisor at once.
        if let Err(e) = sent {
            self.stored_for = None;
            tracing::warn!("sending the label failed: {e}");
            // Clear whatever part of the label reached the printer, so it cannot merge with the next.
            self.clear_printer(rec);
            self.emit_printer(PrinterState::Ready, None);
            self.reject(job, rec, &RejectReason::MaybeNotSent)?;
            return Ok(Printed::Rejected);
        }
        let timeout = Duration::from_secs(self.printer_cfg.print_timeout_secs);
        let poll = Duration::from_millis(self.printer_cfg.status_poll_ms);
        let paused_at = Instant::now();
        let mut problem: Option<Trouble> = None;
        // The printer was stopped while this label was in it: a partial or second sticker may exist.
        let mut interrupted = false;
        loop {
            if problem.is_none() {
                match wait_until_done(self.printer.as_mut(), timeout, poll) {
                    Ok(JobOutcome::Done) | Ok(JobOutcome::Unknown { .. }) => {
                        self.ledger.mark_printed(rec.id, job, &self.actor)?;
                        self.counters.printed += 1;
                        self.emit_printer(PrinterState::Ready, None);
                        self.emit(Event::Label {
                            code: rec.id,
                            masked: rec.code.masked(),
                            phase: LabelPhase::Printed,
                            preview: None,
                        });
                        self.emit_counters();
                        if interrupted {
                            let masked = rec.code.masked();
                            self.notice(Notice::LabelInterrupted { masked });
                        }
                        return Ok(Printed::Yes);
                    }
                    Ok(JobOutcome::Blocked { problem: p, .. }) => {
                        problem = Some(Trouble::of(&p));
                    }
                    Ok(_) => {
                        problem = Some(Trouble::new(
                            "unexpected-state",
                            None,
                            "the printer reported an unexpected state",
                            "Check the printer's display",
                        ));
                    }
                    Err(e) if e.is_disconnect() => {
                        self.stored_for = None;
                        problem = Some(Trouble::link_down(&e.to_string()));
                    }
                    Err(e) => {
                        problem = Some(Trouble::new(
                            "link-error",
                            Some(e.to_string()),
                            e.to_string(),
                            "Check the printer is on, connected and not showing an error",
                        ));
                    }
                }
            }
            // The printer needs a person. The label stays SENT: when the printer is fixed it finishes the
            // label it holds (a Zebra keeps its buffer); a label lost on the way is caught at the scan.
            let Some(trouble) = problem.clone() else {
                continue;
            };
            if trouble.interrupts() && !interrupted {
                self.ledger.print_interrupted(rec.id, trouble.key)?;
                interrupted = true;
            }
            // Any printer trouble may mean it restarted and forgot the stored format.
            self.stored_for = None;
            self.show_trouble(&trouble);
            self.poll_commands();
            let gave_up = paused_at.elapsed() >= Duration::from_secs(self.line.pause_timeout_secs);
            if self.signals.cancel || gave_up || (self.signals.stop && self.commands.is_none()) {
                self.signals.cancel = false;
                // The printer drops the label before it is rejected: a rejected code's sticker must not
                // come out when the printer is fixed.
                self.clear_printer(rec);
                let why = RejectReason::PrinterCancelled {
                    key: trouble.key,
                    arg: trouble.arg.clone().unwrap_or_default(),
                    detail: trouble.what.clone(),
                };
                self.reject(job, rec, &why)?;
                if gave_up {
                    return Err(EngineError::PrinterNotFixed {
                        reason: trouble.what,
                    });
                }
                return Ok(Printed::Rejected);
            }
            std::thread::sleep(Duration::from_millis(500).min(timeout));
            // Look again: when the printer answers without a blocking problem, wait for the label.
            if !matches!(self.printer.link(), LinkState::Up) {
                // Back: the printer still holds the label, or restarted and lost it (the scan tells).
                if self.restore_link() {
                    problem = None;
                }
                continue;
            }
            match self.printer.host_status() {
                Ok(labelstation_printer::status::StatusReply::Host(s))
                    if !s.problems().iter().any(|p| p.is_blocking()) =>
                {
                    problem = None;
                }
                Err(PrinterError::NoStatusChannel { .. }) => problem = None,
                Err(e) if e.is_disconnect() => {
                    self.stored_for = None;
                    problem = Some(Trouble::link_down(&e.to_string()));
                }
                _ => {}
            }
        }
    }

    /// The run of `job` ended on `e`: its codes in flight go where start-up recovery would put them, at
    /// once, so the review queue shows them without a restart. A failure here (the disk full) leaves
    /// them to start-up recovery.
    fn halt(&mut self, job: JobId, e: &EngineError) {
        let why = RejectReason::LineError {
            error: e.to_string(),
        };
        match self.ledger.halt_job(job, &e.to_string(), &self.actor) {
            Ok(report) => {
                for (id, state) in &report.to_review {
                    let Ok(rec) = self.ledger.code(*id) else {
                        continue;
                    };
                    let mut args = vec![state.as_str().to_owned()];
                    args.extend(why.args());
                    self.emit(Event::Label {
                        code: *id,
                        masked: rec.code.masked(),
                        phase: LabelPhase::Rejected {
                            reason: why.text(),
                            key: why.key(),
                            args,
                        },
                        preview: None,
                    });
                }
                if !report.to_review.is_empty() {
                    self.emit(Event::Review {
                        waiting: self.review_len(),
                    });
                }
            }
            Err(err) => tracing::warn!(
                "the run ended on an error and its codes in flight could not be moved to review now ({err}); start-up recovery will"
            ),
        }
    }

    fn reject(
        &mut self,
        job: JobId,
        rec: &CodeRecord,
        why: &RejectReason,
    ) -> Result<(), EngineError> {
        let reason = why.text();
        let args = why.args();
        self.ledger
            .reject_keyed(rec.id, job, &reason, why.key(), &args, &self.actor)?;
        self.counters.rejected += 1;
        self.failure(&reason);
        self.emit(Event::Label {
            code: rec.id,
            masked: rec.code.masked(),
            phase: LabelPhase::Rejected {
                reason,
                key: why.key(),
                args,
            },
            preview: None,
        });
        self.emit_counters();
        self.emit(Event::Review {
            waiting: self.review_len(),
        });
        Ok(())
    }

    /// Codes waiting for a supervisor, and open second-sticker alerts.
    pub(crate) fn review_len(&self) -> u64 {
        let codes = self.ledger.review_len().unwrap_or(0);
        codes + self.ledger.open_sticker_alert_count().unwrap_or(0)
    }

    pub(crate) fn emit_scanner(&self, s: &ScannerState) {
        let (connected, detail) = match s {
            ScannerState::Connected => (true, "connected".to_owned()),
            ScannerState::Connecting => (false, "connecting".to_owned()),
            ScannerState::Disconnected { reason } | ScannerState::Stopped { reason } => {
                (false, reason.clone())
            }
            ScannerState::Reconnecting { attempt, retry_in } => (
                false,
                format!("reconnecting (attempt {attempt}, next in {retry_in:?})"),
            ),
        };
        self.emit(Event::Scanner {
            scanner: ScannerView {
                device: self.scanner.source().to_owned(),
                connected,
                detail,
            },
        });
    }

    /// Tell the screens something: `key` (one of [`NOTICE_KEYS`](super::words::NOTICE_KEYS)) and `args`
    /// for the worker's language, `message` in English.
    pub(crate) fn notice(&self, notice: Notice) {
        self.emit(Event::Notice(notice));
    }

    /// Tell the screens an error that ended what they asked for.
    pub(crate) fn notice_error(&self, e: &EngineError) {
        self.notice(e.notice());
    }

    // ---- supervisor -----------------------------------------------------------------------------

    /// Print a label with no marking code on it, to check the printer.
    pub fn test_print(&mut self) -> Result<JobOutcome, EngineError> {
        let zpl = b"^XA^FO40,40^A0N,40,40^FDlabelstation test^FS^FO40,100^A0N,28,28^FDno marking code^FS^XZ";
        self.printer.send(zpl)?;
        let outcome = wait_until_done(
            self.printer.as_mut(),
            Duration::from_secs(self.printer_cfg.print_timeout_secs),
            Duration::from_millis(self.printer_cfg.status_poll_ms),
        )?;
        Ok(outcome)
    }
}
