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

#[path = "window.rs"]
mod window;
use super::pin::Supervisor;
use super::words::RejectReason;
use crate::codes::{CodeFormat, Gtin};
use crate::config::{LabelMode, LineConfig, PrinterConfig};
use crate::store::{
    Actor, CodeId, CodeRecord, CodeState, JobId, Ledger, Product, ScanProof, StoreError,
};
use crate::verdict::{MismatchKind, ScanVerdict, decide, repeat_of_applied};

/// Where events go.
pub type Sink = Arc<dyn Fn(Event) + Send + Sync>;

/// Errors that end a run. Label-level failures are not errors: they are rejected codes.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "unknown product GTIN {0}: add it with `labelstation products add --gtin {0} --name ...`"
    )]
    UnknownProduct(Gtin),
    #[error(
        "no codes left for GTIN {0}: pull more with `labelstation codes pull --gtin {0} --quantity N` or import a file"
    )]
    PoolEmpty(Gtin),
    #[error(
        "the {held} code(s) left for GTIN {gtin} are held after a ledger restore: a supervisor checks them against the registry (`labelstation codes held check`) and releases those no station printed (`labelstation codes held release`)"
    )]
    PoolHeld { gtin: Gtin, held: u64 },
    #[error("cannot build the label: {0}")]
    Label(String),
    #[error(
        "the line stopped after {count} failures in a row (last: {last}): a supervisor must review the rejected labels (`labelstation review list`) and unlock the line"
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
    /// The devices and label the station was opened with or switched to (Settings).
    pub(crate) choice: super::switch::DeviceChoice,
    pub(crate) sim: super::switch::SimSetup,
    /// A virtual line opened by a settings change (the first one belongs to whoever opened the station).
    pub(crate) own_line: Option<super::virtual_worker::VirtualLine>,
    pub(crate) commands: Option<Receiver<Command>>,
    /// Commands that arrived during a run and are for the engine loop (product change, review, ...).
    pub(crate) deferred: VecDeque<Command>,
    signals: Signals,
    /// The consignment the next runs label for ([`Station::label_for`]); `None`: no consignment.
    consignment: Option<String>,
    /// Render each label for the screen's preview.
    pub previews: bool,
    /// Where the supervisor PIN is checked (none: supervisor actions are refused).
    pub(crate) pins: Option<super::pin::PinStore>,
    session: Option<(Supervisor, Instant)>,
    wrong_pins: u32,
    pin_locked_until: Option<Instant>,
}

/// A supervisor session ends after this long without an action.
pub const SESSION_IDLE: Duration = Duration::from_secs(300);
const MAX_WRONG_PINS: u32 = 5;
const PIN_LOCKOUT: Duration = Duration::from_secs(60);

/// A printer problem as (what, what to do): the driver's remedy text reads "What: do this".
pub(crate) fn split_remedy(p: &labelstation_printer::status::Problem) -> (String, String) {
    let text = p.remedy();
    match text.split_once(": ") {
        Some((what, todo)) => {
            let mut todo = todo.to_owned();
            if let Some(first) = todo.get(..1) {
                todo.replace_range(..1, &first.to_uppercase());
            }
            (what.to_owned(), todo)
        }
        None => (text.to_owned(), "Check the printer's display".to_owned()),
    }
}

/// A printer that needs a person: its key and value for screens, and (what, what to do) in English.
#[derive(Debug, Clone)]
pub(crate) struct Trouble {
    pub key: &'static str,
    /// The key's value (an error text), if it takes one.
    pub arg: Option<String>,
    pub what: String,
    pub todo: String,
}

impl Trouble {
    pub(crate) fn of(p: &labelstation_printer::status::Problem) -> Trouble {
        let (what, todo) = split_remedy(p);
        Trouble {
            key: p.key(),
            arg: None,
            what,
            todo,
        }
    }

    pub(crate) fn new(
        key: &'static str,
        arg: Option<String>,
        what: impl Into<String>,
        todo: impl Into<String>,
    ) -> Trouble {
        Trouble {
            key,
            arg,
            what: what.into(),
            todo: todo.into(),
        }
    }

    pub(crate) fn args(&self) -> Vec<String> {
        self.arg.iter().cloned().collect()
    }

    /// The printer link is down (`detail`: why); the line goes on by itself when it is back.
    pub(crate) fn link_down(detail: &str) -> Trouble {
        Trouble::new(
            "link-down",
            Some(detail.to_owned()),
            format!("printer link down: {detail}"),
            "Check the printer is on and its cable or network: the line goes on by itself when it is back",
        )
    }

    /// Whether the printer may have stopped in the middle of the label: every trouble but a pause
    /// (a Zebra finishes the label under the head before it pauses).
    fn interrupts(&self) -> bool {
        self.key != "paused"
    }
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
            choice: super::switch::DeviceChoice {
                printer: String::new(),
                scanner: String::new(),
                label: crate::config::LabelConfig::default(),
            },
            sim: super::switch::SimSetup::default(),
            own_line: None,
            commands: None,
            deferred: VecDeque::new(),
            signals: Signals::default(),
            consignment: None,
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

    /// The ledger, for the supervisor's review moves (`engine::review`).
    pub(super) fn ledger_mut(&mut self) -> &mut Ledger {
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

    /// Supervisor: clear the failure count so the line runs again. Audited.
    pub fn unlock(&mut self, sup: &Supervisor) -> Result<(), EngineError> {
        let detail = serde_json::json!({ "failures": self.failures, "last": self.last_failure });
        let station = self.ledger.station().to_owned();
        self.ledger
            .audit_note(sup.actor(), "line.unlock", &station, &detail)?;
        self.failures = 0;
        self.last_failure.clear();
        self.emit_line(LineState::Idle);
        Ok(())
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
        let result = match mode {
            Mode::Inline => self.run_inline(job, &product, count, &mut summary),
            Mode::Batch | Mode::NoVerify => self.run_roll(job, &product, mode, count, &mut summary),
        };
        if let Err(e) = &result {
            self.halt(job, e);
        }
        let closed = self.ledger.close_job(job);
        if matches!(closed, Ok(n) if n > 0) {
            self.emit(Event::Review {
                waiting: self.review_len(),
            });
        }
        self.emit_line(LineState::Idle);
        result?;
        closed?;
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
                Ok(Scanned::Verified) => summary.verified += 1,
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
            Ok(Some(_)) => self.notice(
                Severity::Warning,
                "scan-ignored-stopped",
                vec![],
                "Scan ignored: the line is stopped",
            ),
            Ok(None) => {}
            Err(_) => std::thread::sleep(d),
        }
    }

    /// Take commands from the screen; those for the run set signals, the rest wait for the engine loop.
    pub(crate) fn poll_commands(&mut self) {
        let Some(rx) = &self.commands else { return };
        loop {
            match rx.try_recv() {
                Ok(Command::Stop) => self.signals.stop = true,
                Ok(Command::Shutdown) => {
                    self.signals.stop = true;
                    self.deferred.push_back(Command::Shutdown);
                }
                Ok(Command::CancelLabel) => self.signals.cancel = true,
                Ok(Command::Unreadable) => self.signals.unreadable = true,
                Ok(other) => self.deferred.push_back(other),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.signals.stop = true;
                    break;
                }
            }
        }
        // Sign-in, sign-out, unlock and write-off are taken at once, even mid-run: a stopped line needs them.
        let mut keep = VecDeque::new();
        while let Some(c) = self.deferred.pop_front() {
            if let Some(other) = self.session_command(c) {
                keep.push_back(other);
            }
        }
        self.deferred = keep;
    }

    /// The supervisor signed in now, if any (sessions end after [`SESSION_IDLE`] without an action).
    pub fn supervisor(&mut self) -> Option<Supervisor> {
        match &self.session {
            Some((s, at)) if at.elapsed() < SESSION_IDLE => {
                let s = s.clone();
                self.session = Some((s.clone(), Instant::now()));
                Some(s)
            }
            Some(_) => {
                self.session = None;
                self.emit(Event::Supervisor {
                    active: false,
                    name: None,
                });
                None
            }
            None => None,
        }
    }

    /// Handle a supervisor command; others are handed back.
    pub(crate) fn session_command(&mut self, c: Command) -> Option<Command> {
        match c {
            Command::SupervisorLogin { name, pin } => {
                self.login(&name, &pin);
                None
            }
            Command::SupervisorLogout => {
                self.session = None;
                self.emit(Event::Supervisor {
                    active: false,
                    name: None,
                });
                None
            }
            Command::Unlock => {
                match self.supervisor() {
                    Some(s) => self.signals.unlock = Some(s),
                    None => self.notice(
                        Severity::Alert,
                        "unlock-needs-pin",
                        vec![],
                        "Unlocking the line needs the supervisor PIN",
                    ),
                }
                None
            }
            Command::WriteOff { code, reason } => {
                match self.supervisor() {
                    Some(s) => {
                        if let Err(e) = self.write_off(&s, code, &reason) {
                            self.notice(
                                Severity::Alert,
                                "write-off-failed",
                                vec![e.to_string()],
                                &format!("Write-off failed: {e}"),
                            );
                        }
                    }
                    None => self.notice(
                        Severity::Alert,
                        "write-off-needs-pin",
                        vec![],
                        "Writing a code off needs the supervisor PIN",
                    ),
                }
                None
            }
            other => Some(other),
        }
    }

    fn login(&mut self, name: &str, pin: &str) {
        let Some(store) = &self.pins else {
            self.notice(
                Severity::Alert,
                "sign-in-unavailable",
                vec![],
                "Supervisor sign-in is not available on this station",
            );
            return;
        };
        if let Some(until) = self.pin_locked_until
            && Instant::now() < until
        {
            let secs = until.saturating_duration_since(Instant::now()).as_secs() + 1;
            self.notice(
                Severity::Alert,
                "pin-locked",
                vec![secs.to_string()],
                &format!("Too many wrong PINs: try again in {secs} s"),
            );
            return;
        }
        let name = if name.trim().is_empty() {
            "supervisor"
        } else {
            name.trim()
        };
        match store.check(pin, name) {
            Ok(sup) => {
                self.wrong_pins = 0;
                let station = self.ledger.station().to_owned();
                let _ = self.ledger.audit_note(
                    sup.actor(),
                    "supervisor.login",
                    &station,
                    &serde_json::json!({}),
                );
                self.emit(Event::Supervisor {
                    active: true,
                    name: Some(name.to_owned()),
                });
                self.session = Some((sup, Instant::now()));
            }
            Err(e) => {
                if matches!(e, super::pin::PinError::Wrong) {
                    self.wrong_pins += 1;
                    if self.wrong_pins >= MAX_WRONG_PINS {
                        self.wrong_pins = 0;
                        self.pin_locked_until = Some(Instant::now() + PIN_LOCKOUT);
                    }
                    let station = self.ledger.station().to_owned();
                    let _ = self.ledger.audit_note(
                        &self.actor,
                        "supervisor.pin_refused",
                        &station,
                        &serde_json::json!({ "name": name }),
                    );
                }
                self.notice(
                    Severity::Alert,
                    super::words::pin_key(&e),
                    vec![e.to_string()],
                    &e.to_string(),
                );
            }
        }
    }

    /// The label bytes for a code (with the stored format first when the printer needs it).
    fn label_bytes(&self, product: &Product, rec: &CodeRecord) -> Result<Vec<u8>, EngineError> {
        product.with_label_data(&rec.code, |data| self.label_zpl(data))
    }

    fn label_zpl(&self, data: &LabelData<'_>) -> Result<Vec<u8>, EngineError> {
        let label_err = |e: labelstation_zpl::write::WriteError| EngineError::Label(e.to_string());
        match self.line.label_mode {
            LabelMode::Full => Ok(labelstation_zpl::write::full_label(&self.template, data)
                .map_err(label_err)?
                .into_bytes()),
            LabelMode::Stored => {
                let mut out = String::new();
                if self.stored_for.as_deref() != Some(data.gtin_text) {
                    let text = ProductText {
                        name: data.name,
                        size: data.size,
                        gtin_text: data.gtin_text,
                    };
                    out.push_str(
                        &labelstation_zpl::write::stored_product_format(&self.template, &text)
                            .map_err(label_err)?,
                    );
                }
                out.push_str(
                    &labelstation_zpl::write::recall_code(
                        &self.template,
                        data.code,
                        data.serial_text,
                    )
                    .map_err(label_err)?,
                );
                Ok(out.into_bytes())
            }
        }
    }

    fn preview(
        &self,
        product: &Product,
        rec: &CodeRecord,
    ) -> Option<Arc<labelstation_zpl::render::Bitmap>> {
        if !self.previews {
            return None;
        }
        product
            .with_label_data(&rec.code, |data| {
                labelstation_zpl::preview(&self.template, data)
            })
            .ok()
            .map(Arc::new)
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
                            self.notice(
                                Severity::Warning,
                                "label-interrupted",
                                vec![masked.clone()],
                                &format!(
                                    "The printer stopped while {masked} was in it: if a partial or second sticker of it comes out, do not apply it; hand it to the supervisor"
                                ),
                            );
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

    /// Whether the printer link is there, looked at without sending anything.
    fn link_ready(&mut self) -> bool {
        if !matches!(self.printer.link(), LinkState::Up) {
            return false;
        }
        match self.printer.probe() {
            Ok(()) => true,
            Err(e) if e.is_disconnect() => false,
            // Not a lost link: the send says what it is.
            Err(_) => true,
        }
    }

    /// The printer link is down: show it, reopen it with the driver's backoff, and come back when the
    /// printer answers again (true) or the worker stopped or cancelled (false). The pause timeout ends
    /// the run.
    fn await_link(&mut self) -> Result<bool, EngineError> {
        let since = Instant::now();
        let limit = Duration::from_secs(self.line.pause_timeout_secs);
        let mut shown: Option<String> = None;
        loop {
            if self.restore_link() {
                self.emit_printer(PrinterState::Ready, None);
                return Ok(true);
            }
            let detail = match self.printer.link() {
                LinkState::Lost { detail, .. } => detail,
                _ => "the printer does not answer".to_owned(),
            };
            if shown.as_deref() != Some(detail.as_str()) {
                let trouble = Trouble::link_down(&detail);
                self.emit_printer(PrinterState::Offline, Some(&trouble));
                self.emit_line(LineState::Paused {
                    reason: trouble.what.clone(),
                    remedy: trouble.todo.clone(),
                    key: trouble.key,
                    args: trouble.args(),
                });
                shown = Some(detail.clone());
            }
            self.poll_commands();
            if self.signals.stop || self.signals.cancel {
                // Nothing is in the printer: cancelling here ends the run.
                self.signals.cancel = false;
                self.signals.stop = true;
                return Ok(false);
            }
            if since.elapsed() >= limit {
                return Err(EngineError::PrinterOffline { reason: detail });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Reopen a lost printer link when its backoff allows, and ask the printer whether it is there.
    /// True when it answers (or the link carries no replies). A cancel that could not reach the printer
    /// goes first.
    pub(crate) fn restore_link(&mut self) -> bool {
        match self.printer.reconnect() {
            Ok(Reconnect::Reopened) => {
                // The printer may have restarted: it forgot the stored format.
                self.stored_for = None;
                tracing::info!("printer link to {} reopened", self.printer_name);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!("printer link still down: {e}");
                return false;
            }
        }
        if !matches!(self.printer.link(), LinkState::Up) {
            return false;
        }
        let answered = match self.printer.host_status() {
            Ok(_) | Err(PrinterError::NoStatusChannel { .. }) => true,
            Err(e) => !e.is_disconnect(),
        };
        if answered && self.pending_cancel && self.printer.send(b"~JA").is_ok() {
            self.pending_cancel = false;
        }
        answered
    }

    /// Tell the printer to drop every label it holds (`~JA`), before the label of `rec` is rejected.
    /// When the link is down the cancel waits, and goes first when the link is back.
    fn clear_printer(&mut self, rec: &CodeRecord) {
        if matches!(self.printer.link(), LinkState::Up) && self.printer.send(b"~JA").is_ok() {
            return;
        }
        self.pending_cancel = true;
        let masked = rec.code.masked();
        self.notice(
            Severity::Alert,
            "cancel-not-delivered",
            vec![masked.clone()],
            &format!(
                "The printer could not be told to drop the label of {masked} (the link is down): if a sticker of it comes out, hand it to the supervisor"
            ),
        );
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

    /// Show printer trouble: the printer offline (link down) or with a problem, and the line paused with
    /// what happened and what to do.
    pub(crate) fn show_trouble(&self, trouble: &Trouble) {
        let state = if trouble.key == "link-down" {
            PrinterState::Offline
        } else {
            PrinterState::Problem
        };
        self.emit_printer(state, Some(trouble));
        self.emit_line(LineState::Paused {
            reason: trouble.what.clone(),
            remedy: trouble.todo.clone(),
            key: trouble.key,
            args: trouble.args(),
        });
    }

    pub(crate) fn emit_printer(&self, state: PrinterState, trouble: Option<&Trouble>) {
        self.emit(Event::Printer {
            printer: PrinterView {
                device: self.printer_name.clone(),
                state,
                detail: trouble.map(|t| t.what.clone()),
                remedy: trouble.map(|t| t.todo.clone()),
                key: trouble.map(|t| t.key),
                args: trouble.map(Trouble::args).unwrap_or_default(),
            },
        });
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

    /// The next scan (bytes and AIM id), or None at the deadline or when the run is signalled.
    fn next_scan(&mut self, until: Instant) -> Result<Option<Arrived>, EngineError> {
        loop {
            self.poll_commands();
            if self.signals.cancel || self.signals.unreadable {
                return Ok(None);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let ev = self
                .scanner
                .next_event(left.min(Duration::from_millis(50)))
                .map_err(|e| EngineError::Scanner(e.to_string()))?;
            match ev {
                None => {}
                Some(ScannerEvent::Scan(scan)) => {
                    let aim = scan.aim.map(|a| String::from_utf8_lossy(&a).into_owned());
                    return Ok(Some((scan.bytes, aim, Instant::now())));
                }
                Some(ScannerEvent::State(s)) => self.emit_scanner(&s),
                Some(ScannerEvent::Incomplete(_)) => self.notice(
                    Severity::Warning,
                    "scan-cut-off",
                    vec![],
                    "The scan was cut off (scanner disconnected): scan again",
                ),
                Some(ScannerEvent::UnmappedKeys { .. }) => self.notice(
                    Severity::Warning,
                    "scanner-unmapped-keys",
                    vec![],
                    "The scanner sent keys the station cannot map: set the scanner to USB-CDC mode, then scan again",
                ),
                Some(ScannerEvent::Overlong { len, cap, .. }) => self.notice(
                    Severity::Warning,
                    "scanner-noise",
                    vec![len.to_string(), cap.to_string()],
                    &format!("Scanner noise ignored ({len} bytes, over the {cap}-byte limit): scan again"),
                ),
                Some(ScannerEvent::BadReport { reason, .. }) => self.notice(
                    Severity::Warning,
                    "scanner-bad-report",
                    vec![reason.to_string()],
                    &format!("Scanner report ignored: {reason}"),
                ),
            }
        }
    }

    /// Tell the screens something: `key` (one of [`NOTICE_KEYS`](super::words::NOTICE_KEYS)) and `args`
    /// for the worker's language, `message` in English.
    pub(crate) fn notice(
        &self,
        severity: Severity,
        key: &'static str,
        args: Vec<String>,
        message: &str,
    ) {
        self.emit(Event::Notice {
            severity,
            message: message.to_owned(),
            key,
            args,
        });
    }

    /// Tell the screens an error that ended what they asked for.
    pub(crate) fn notice_error(&self, e: &EngineError) {
        self.notice(Severity::Alert, e.key(), e.args(), &e.to_string());
    }

    fn emit_verdict(&self, verdict: &ScanVerdict) {
        let severity = match verdict {
            ScanVerdict::Match { .. } => Severity::Ok,
            ScanVerdict::Retail { .. } => Severity::Warning,
            ScanVerdict::Mismatch {
                kind: MismatchKind::AlreadyVerified { .. },
                ..
            } => Severity::Warning,
            _ => Severity::Alert,
        };
        self.emit(Event::Verdict {
            verdict: verdict.clone(),
            message: verdict.message(),
            severity,
        });
    }

    fn verdict_name(verdict: &ScanVerdict) -> &'static str {
        verdict.name()
    }

    /// [`decide`], with a repeat of an applied code told apart as the same sticker read again or another
    /// sticker of it ([`repeat_of_applied`]).
    fn judge(&self, raw: &[u8], expected: Option<&CodeRecord>) -> Result<ScanVerdict, EngineError> {
        let mut verdict = decide(&self.ledger, raw, &self.format, expected, None)?;
        if let ScanVerdict::Mismatch { kind, .. } = &mut verdict
            && let MismatchKind::AlreadyVerified { code } = *kind
        {
            let window = Duration::from_secs(self.line.same_sticker_secs);
            *kind = repeat_of_applied(&self.ledger, code, window)?;
        }
        Ok(verdict)
    }

    /// Another sticker of the applied code `code` was scanned: keep the scan and open an alert for the
    /// supervisor (the review queue), and tell the worker.
    fn second_sticker(
        &mut self,
        code: CodeId,
        masked: &str,
        copy_known: bool,
        raw: &[u8],
        aim: Option<&str>,
        job: Option<JobId>,
    ) -> Result<(), EngineError> {
        self.ledger
            .second_sticker(code, raw, aim, job, copy_known)?;
        self.counters.alerts += 1;
        self.notice(
            Severity::Alert,
            "second-sticker",
            vec![masked.to_owned()],
            &format!(
                "A second sticker of {masked}, a code already applied: do not apply it. Hand it to the supervisor to destroy"
            ),
        );
        self.emit_counters();
        self.emit(Event::Review {
            waiting: self.review_len(),
        });
        Ok(())
    }

    /// Inline: wait for the scan of the sticker just printed and judge it.
    fn await_scan(
        &mut self,
        job: JobId,
        rec: &CodeRecord,
        summary: &mut RunSummary,
    ) -> Result<Scanned, EngineError> {
        let timeout = Duration::from_secs(self.line.scan_timeout_secs);
        let mut deadline = Instant::now() + timeout;
        let mut bad_reads = 0u32;
        self.emit_line(LineState::AwaitingScan {
            masked: rec.code.masked(),
            seconds_left: timeout.as_secs(),
        });
        loop {
            let scan = self.next_scan(deadline)?;
            if self.signals.cancel || self.signals.unreadable {
                let why = if self.signals.unreadable {
                    RejectReason::WorkerUnreadable
                } else {
                    RejectReason::Cancelled
                };
                self.signals.cancel = false;
                self.signals.unreadable = false;
                self.reject(job, rec, &why)?;
                return Ok(Scanned::Rejected);
            }
            let Some((raw, aim, arrived)) = scan else {
                // A scanner that is away does not make the worker late: wait for it to come back.
                if matches!(
                    self.scanner.state(),
                    ScannerState::Disconnected { .. } | ScannerState::Reconnecting { .. }
                ) {
                    deadline = Instant::now() + timeout;
                    continue;
                }
                let verdict = ScanVerdict::Timeout;
                self.emit_verdict(&verdict);
                let why = RejectReason::NoScan {
                    secs: timeout.as_secs(),
                };
                self.reject(job, rec, &why)?;
                return Ok(Scanned::Rejected);
            };
            let current = self.ledger.code(rec.id)?;
            let verdict = self.judge(&raw, Some(&current))?;
            self.emit_verdict(&verdict);
            match &verdict {
                ScanVerdict::Match { code } => {
                    let proof = ScanProof {
                        raw: &raw,
                        aim: aim.as_deref(),
                    };
                    self.ledger.verify(*code, job, &proof, &self.actor)?;
                    summary
                        .verdict_latency_us
                        .push(u64::try_from(arrived.elapsed().as_micros()).unwrap_or(u64::MAX));
                    self.counters.verified += 1;
                    self.failures = 0;
                    self.emit(Event::Label {
                        code: rec.id,
                        masked: rec.code.masked(),
                        phase: LabelPhase::Verified,
                        preview: None,
                    });
                    self.emit_counters();
                    return Ok(Scanned::Verified);
                }
                ScanVerdict::Mismatch {
                    kind: MismatchKind::SecondSticker { code, copy_known },
                    scanned,
                    ..
                } => {
                    // Another sticker of an applied code: an alert; the label just printed still waits.
                    self.second_sticker(
                        *code,
                        scanned,
                        *copy_known,
                        &raw,
                        aim.as_deref(),
                        Some(job),
                    )?;
                }
                other => {
                    let name = Self::verdict_name(other);
                    let about = match other {
                        ScanVerdict::Mismatch {
                            kind:
                                MismatchKind::AlreadyVerified { code }
                                | MismatchKind::OurOther { code, .. },
                            ..
                        } => Some(*code),
                        _ => None,
                    };
                    self.ledger
                        .record_scan(&raw, aim.as_deref(), name, about, Some(job))?;
                    match other {
                        ScanVerdict::Retail { .. }
                        | ScanVerdict::Mismatch {
                            kind: MismatchKind::AlreadyVerified { .. },
                            ..
                        } => {
                            self.counters.warnings += 1;
                        }
                        ScanVerdict::Mismatch {
                            kind: MismatchKind::Foreign | MismatchKind::OurOther { .. },
                            ..
                        } => {
                            // A wrong sticker is an alert; the one just printed still waits.
                            self.counters.alerts += 1;
                            self.failure(&other.message());
                            if self.is_stopped() {
                                let why = RejectReason::StoppedOnWrongScan {
                                    verdict: other.clone(),
                                };
                                self.failures -= 1;
                                self.reject(job, rec, &why)?;
                                return Ok(Scanned::Rejected);
                            }
                        }
                        _ => {
                            // Unreadable, not GS1, separators missing: the worker may scan again.
                            bad_reads += 1;
                            if bad_reads > self.line.rescans {
                                let why = RejectReason::RescansFailed {
                                    verdict: other.clone(),
                                };
                                self.reject(job, rec, &why)?;
                                return Ok(Scanned::Rejected);
                            }
                        }
                    }
                    self.emit_counters();
                }
            }
        }
    }

    /// Batch: take scans in any order until every printed code of the job is verified, the worker stops,
    /// or no scan comes for the scan timeout (the rest wait on the roll, still PRINTED).
    fn await_batch(&mut self, job: JobId, summary: &mut RunSummary) -> Result<(), EngineError> {
        let quiet = Duration::from_secs(self.line.scan_timeout_secs);
        let mut deadline = Instant::now() + quiet;
        loop {
            let waiting = self.ledger.waiting_in_job(job)?;
            if waiting == 0 || self.signals.stop {
                return Ok(());
            }
            self.emit_line(LineState::AwaitingBatch { waiting });
            let Some((raw, aim, arrived)) = self.next_scan(deadline)? else {
                self.signals.cancel = false;
                self.signals.unreadable = false;
                if Instant::now() >= deadline {
                    self.notice(
                        Severity::Info,
                        "roll-waiting",
                        vec![waiting.to_string()],
                        &format!(
                            "{waiting} printed stickers wait on the roll; scan them when applied"
                        ),
                    );
                    return Ok(());
                }
                continue;
            };
            deadline = Instant::now() + quiet;
            if self.judge_loose_scan(&raw, aim.as_deref(), Some(job), arrived, summary)? {
                summary.verified += 1;
            }
        }
    }

    /// A scan with no label expected: a batch sticker, a leftover of a roll, a retail barcode, noise.
    /// Returns whether it verified a code.
    pub(crate) fn judge_loose_scan(
        &mut self,
        raw: &[u8],
        aim: Option<&str>,
        job: Option<JobId>,
        arrived: Instant,
        summary: &mut RunSummary,
    ) -> Result<bool, EngineError> {
        let verdict = self.judge(raw, None)?;
        self.emit_verdict(&verdict);
        if let ScanVerdict::Mismatch {
            kind: MismatchKind::SecondSticker { code, copy_known },
            scanned,
            ..
        } = &verdict
        {
            self.second_sticker(*code, scanned, *copy_known, raw, aim, job)?;
            return Ok(false);
        }
        if let ScanVerdict::Match { code } = verdict {
            let rec = self.ledger.code(code)?;
            let proof = ScanProof { raw, aim };
            let Some(held_by) = rec.job else {
                return Ok(false);
            };
            self.ledger.verify(code, held_by, &proof, &self.actor)?;
            summary
                .verdict_latency_us
                .push(u64::try_from(arrived.elapsed().as_micros()).unwrap_or(u64::MAX));
            self.counters.verified += 1;
            self.failures = 0;
            self.emit(Event::Label {
                code,
                masked: rec.code.masked(),
                phase: LabelPhase::Verified,
                preview: None,
            });
            self.emit_counters();
            return Ok(true);
        }
        let about = match &verdict {
            ScanVerdict::Mismatch {
                kind: MismatchKind::AlreadyVerified { code } | MismatchKind::OurOther { code, .. },
                ..
            } => Some(*code),
            _ => None,
        };
        self.ledger
            .record_scan(raw, aim, Self::verdict_name(&verdict), about, job)?;
        match verdict {
            ScanVerdict::Retail { .. }
            | ScanVerdict::Mismatch {
                kind: MismatchKind::AlreadyVerified { .. },
                ..
            } => self.counters.warnings += 1,
            ScanVerdict::Mismatch { .. } => self.counters.alerts += 1,
            _ => {}
        }
        self.emit_counters();
        Ok(false)
    }

    /// Outside a run: take scans for `period` (stickers of a roll applied later, a retail barcode that
    /// picks the product, noise). Returns how many codes were verified.
    pub fn take_scans(
        &mut self,
        period: Duration,
    ) -> Result<(u32, Vec<crate::codes::Gtin>), EngineError> {
        let until = Instant::now() + period;
        let mut verified = 0;
        let mut retail = Vec::new();
        let mut summary = RunSummary::default();
        while let Some((raw, aim, arrived)) = self.next_scan(until)? {
            if let crate::verdict::ScanContent::Retail { gtin } =
                crate::verdict::classify(&raw, &self.format)
            {
                self.emit_verdict(&ScanVerdict::Retail {
                    gtin: gtin.to_string(),
                });
                retail.push(gtin);
                continue;
            }
            if self.judge_loose_scan(&raw, aim.as_deref(), None, arrived, &mut summary)? {
                verified += 1;
            }
        }
        self.signals.cancel = false;
        self.signals.unreadable = false;
        Ok((verified, retail))
    }

    // ---- supervisor -----------------------------------------------------------------------------

    /// Supervisor: print a REJECTED or NEEDS_REVIEW code again (its sticker was not applied), then wait
    /// for its scan unless `verify` is false. Audited in the ledger.
    pub fn reprint(
        &mut self,
        sup: &Supervisor,
        code: CodeId,
        reason: &str,
        verify: bool,
    ) -> Result<RunSummary, EngineError> {
        let rec = self.ledger.code(code)?;
        let product = self
            .ledger
            .product(rec.code.gtin())?
            .ok_or_else(|| EngineError::UnknownProduct(rec.code.gtin().clone()))?;
        let job =
            self.ledger
                .open_job(rec.code.gtin(), crate::store::JobMode::Reprint, sup.actor())?;
        let result = (|| -> Result<RunSummary, EngineError> {
            self.ledger.reprint(code, job, reason, sup.actor())?;
            let rec = self.ledger.code(code)?;
            let mut summary = RunSummary {
                requested: 1,
                ..RunSummary::default()
            };
            match self.print_one(job, &product, &rec)? {
                Printed::Yes => summary.printed += 1,
                Printed::Rejected => {
                    summary.rejected += 1;
                    return Ok(summary);
                }
                // A reprint's code is never released (it was sent before); never here.
                Printed::Released => return Err(EngineError::Interrupted),
            }
            if verify {
                match self.await_scan(job, &rec, &mut summary)? {
                    Scanned::Verified => summary.verified += 1,
                    Scanned::Rejected => summary.rejected += 1,
                }
            } else {
                summary.waiting = 1;
            }
            Ok(summary)
        })();
        if let Err(e) = &result {
            self.halt(job, e);
        }
        let closed = self.ledger.close_job(job);
        let summary = result?;
        closed?;
        Ok(summary)
    }

    /// Supervisor: withdraw a spoiled code (queued for the registry). Audited in the ledger.
    pub fn write_off(
        &mut self,
        sup: &Supervisor,
        code: CodeId,
        reason: &str,
    ) -> Result<(), EngineError> {
        if reason.trim().is_empty() {
            return Err(EngineError::Label(
                "a write-off needs a reason (e.g. \"torn sticker\")".into(),
            ));
        }
        self.ledger.write_off(code, reason.trim(), sup.actor())?;
        self.counters.written_off += 1;
        self.emit(Event::Review {
            waiting: self.review_len(),
        });
        self.emit_counters();
        Ok(())
    }

    /// Supervisor: wait for a manual scan of a reviewed code's sticker; a byte-exact scan of that code
    /// confirms it applied. Returns whether it was confirmed.
    pub fn confirm_applied(
        &mut self,
        sup: &Supervisor,
        code: CodeId,
        timeout: Duration,
    ) -> Result<bool, EngineError> {
        let rec = self.ledger.code(code)?;
        if !matches!(rec.state, CodeState::Rejected | CodeState::NeedsReview) {
            return Err(StoreError::IllegalMove {
                id: code.0,
                state: rec.state,
                mv: "confirm_applied",
                expected: "REJECTED or NEEDS_REVIEW".into(),
            }
            .into());
        }
        self.emit_line(LineState::AwaitingScan {
            masked: rec.code.masked(),
            seconds_left: timeout.as_secs(),
        });
        let deadline = Instant::now() + timeout;
        while let Some((raw, aim, _)) = self.next_scan(deadline)? {
            let confirmed = self.confirm_with_scan(sup, &rec, &raw, aim.as_deref())?;
            if confirmed {
                self.emit_line(LineState::Idle);
                return Ok(true);
            }
        }
        self.emit_line(LineState::Idle);
        Ok(false)
    }

    /// Supervisor: confirm a reviewed code with scan bytes given (a manual scan). Returns whether the
    /// bytes are exactly that code.
    pub fn confirm_with_scan(
        &mut self,
        sup: &Supervisor,
        rec: &CodeRecord,
        raw: &[u8],
        aim: Option<&str>,
    ) -> Result<bool, EngineError> {
        let exact = match crate::verdict::classify(raw, &self.format) {
            crate::verdict::ScanContent::Code { code, exact, .. } => {
                code == rec.code && exact == rec.code.as_str().as_bytes()
            }
            _ => false,
        };
        if !exact {
            self.ledger
                .record_scan(raw, aim, "CONFIRM_MISMATCH", Some(rec.id), None)?;
            let masked = rec.code.masked();
            self.notice(
                Severity::Alert,
                "confirm-mismatch",
                vec![masked.clone()],
                &format!("This scan is not {masked} byte for byte: not confirmed"),
            );
            return Ok(false);
        }
        self.ledger
            .confirm_applied(rec.id, &ScanProof { raw, aim }, sup.actor())?;
        self.counters.confirmed += 1;
        self.emit(Event::Label {
            code: rec.id,
            masked: rec.code.masked(),
            phase: LabelPhase::Verified,
            preview: None,
        });
        self.emit(Event::Review {
            waiting: self.review_len(),
        });
        self.emit_counters();
        Ok(true)
    }

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
