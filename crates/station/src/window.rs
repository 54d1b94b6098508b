// SPDX-License-Identifier: GPL-3.0-or-later
//! Roll modes (batch, no-verify) keep the printer fed: a bounded window of labels is in the printer at
//! once (`line.roll_window`), so its head never waits for the station between two labels.
//!
//! The ledger's order holds for every label of the window: SENT is recorded before its first byte
//! leaves, and PRINTED only from the printer's own progress. Each label goes out right behind a `~HS`
//! question ([`Printer::host_status_then`](labelstation_printer::Printer::host_status_then)): the
//! answer tells what the printer held before that label reached it ("formats in receive buffer" plus
//! "labels remaining"), and labels leave a Zebra's buffer in the order they came, so every label of the
//! window sent before the question and no longer held is out. A slow serial link carries the label while
//! the answer travels back, so the link does not stand idle for the question.
//!
//! Trouble mid-roll (paper, ribbon, head, pause, a lost link, a printer that stops answering): nothing
//! more is sent, and the worker is asked to fix it. A printer that kept answering (`~HS` or `~HQES`)
//! kept its buffer: when it is fixed it goes on, and its counts go on telling which labels came out (the
//! labels the head may have been on are recorded as interrupted: a partial or second sticker may exist).
//! A printer that fell silent or whose link went away may have restarted and lost its buffer, or printed
//! on meanwhile: the counts say nothing about that time. Then the printer is told to drop what it holds
//! (`~JA`) and every label of the window not known to be out goes to review with "a sticker may exist",
//! never back to the pool. A cancel from the worker, or no fix in time, does the same (`~JA` first).
//!
//! The odometer cross-checks the counts. `~HS` says which labels left the printer's buffer, not that a
//! sticker came out: a label can be lost inside (jammed, wound onto the liner) and still count as done.
//! The printer's odometer (SGD `odometer.total_label_count`) counts what physically came out. It is read
//! when a roll starts, after trouble, and when the roll ends; each time the `~HS` answers come first, so
//! the odometer can only have counted more, never fewer, than the labels marked PRINTED since the roll
//! started (or since the last reading with nothing in the printer). Fewer means a label called printed
//! did not come out, and nothing tells which: every label marked PRINTED since that reading and not yet
//! verified by a scan goes to review with "a sticker may exist" (reason `odometer-disagrees`), the
//! disagreement is audited (`printer.odometer`) and logged, and a window still in the printer is dropped
//! (`~JA`) into review as well. More is not a disagreement: reprints after an error, a FEED press or a test
//! label all add to it. A printer that does not answer the odometer (older firmware answers `"?"` or
//! nothing; `printer.odometer = false`) is tolerated: the station goes on the counts alone and says so
//! once in the log.

use crate::notice::Notice;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use labelstation_printer::status::{Problem, StatusReply};
use labelstation_printer::{LinkState, PrinterError};

use super::*;

/// How a wait for a printer fix ended.
enum Waited {
    /// The printer answers again with nothing blocking.
    Fixed,
    /// The worker cancelled (or stopped the run with no screen attached) during `trouble`.
    Cancelled { trouble: Trouble },
    /// Not fixed within the pause timeout.
    GaveUp { trouble: Trouble },
}

/// A wait, and whether at some point the printer answered nothing at all or its link was lost: then
/// what it held meanwhile is unknown (it may have restarted and lost it, or printed on), and its counts
/// say nothing about the labels it had.
struct Ride {
    waited: Waited,
    silent: bool,
}

/// The odometer over a roll (see the module's documentation).
#[derive(Debug, Default)]
pub(crate) struct Odometer {
    /// Whether the printer answers its odometer: `None` until asked, `Some(false)` once it did not
    /// (said once in the log; not asked again).
    answers: Option<bool>,
    /// The reading when the roll started, or at the last check with nothing in the printer.
    base: Option<u64>,
    /// Labels marked PRINTED from `~HS` counts since `base`.
    since: Vec<CodeRecord>,
}

/// What one look at the printer found.
enum Look {
    /// Labels of the window before the question that are no longer in the printer; whether its
    /// receive buffer is full.
    Going {
        out: usize,
        full: bool,
    },
    /// `~HS` went unanswered but `~HQES` shows nothing wrong: an error came and went (paper out and
    /// loaded again) between two looks. The head may have been stopped on a label.
    Blip,
    /// Nothing to say (a link with no status channel: each label counts as out once sent).
    Blind,
    Trouble(Trouble),
}

impl Station {
    /// Labels kept in the printer at once in a roll.
    fn roll_window(&self) -> usize {
        usize::try_from(self.line.roll_window.max(1)).unwrap_or(1)
    }

    /// Print `count` labels of `product` for `job`, keeping up to [`LineConfig::roll_window`] of them in
    /// the printer.
    pub(super) fn print_roll(
        &mut self,
        job: JobId,
        product: &Product,
        mode: Mode,
        count: u32,
        summary: &mut RunSummary,
    ) -> Result<(), EngineError> {
        let cap = self.roll_window();
        let poll = Duration::from_millis(self.printer_cfg.status_poll_ms);
        let stall = Duration::from_secs(self.printer_cfg.print_timeout_secs);
        let mut window: VecDeque<CodeRecord> = VecDeque::new();
        let mut issued = 0u32;
        let mut full = false;
        let mut progress = Instant::now();
        let mut shown = None;
        self.odometer.since.clear();
        self.odometer.base = self.read_odometer();
        loop {
            let done = summary.printed + summary.rejected;
            if shown != Some(done) {
                self.emit_line(LineState::Running {
                    mode,
                    done,
                    total: count,
                });
                shown = Some(done);
            }
            self.poll_commands();
            let more = issued < count && !self.signals.stop;
            if window.is_empty() && !more {
                break;
            }
            // The next label, if there is room for it.
            let mut label = None;
            if more && window.len() < cap && !full {
                if !self.link_ready() {
                    let trouble = Trouble::link_down("the printer link is down");
                    if window.is_empty() {
                        // Nothing is in the printer: wait for the link, no code spent.
                        if !self.await_link()? {
                            self.signals.stop = true;
                        }
                        continue;
                    }
                    self.roll_trouble(job, &mut window, trouble, summary)?;
                    continue;
                }
                let rec = self.reserve(job, &product.gtin)?;
                let zpl = self.label_bytes(product, &rec)?;
                self.ledger
                    .mark_sent(rec.id, job, &self.printer_name, &zpl, true, &self.actor)?;
                self.counters.sent += 1;
                self.emit(Event::Label {
                    code: rec.id,
                    masked: rec.code.masked(),
                    phase: LabelPhase::Sent,
                    preview: self.preview(product, &rec),
                });
                if window.is_empty() {
                    self.emit_printer(PrinterState::Printing, None);
                }
                label = Some((rec, zpl));
            }
            let asked = match &label {
                Some((_, zpl)) => self.printer.host_status_then(zpl),
                None => self.printer.host_status(),
            };
            let before = window.len();
            let sent_now = label.is_some();
            if let Some((rec, _)) = label {
                issued += 1;
                window.push_back(rec);
                let lost =
                    matches!(&asked, Err(e) if !matches!(e, PrinterError::NoStatusChannel { .. }));
                if !lost && self.line.label_mode == LabelMode::Stored {
                    self.stored_for = Some(product.gtin.to_string());
                }
            }
            match self.look(asked, before) {
                Look::Going { out, full: f } => {
                    full = f;
                    if out > 0 {
                        progress = Instant::now();
                        self.roll_printed(job, &mut window, out, summary)?;
                    } else if !window.is_empty() && progress.elapsed() >= stall {
                        progress = Instant::now();
                        let trouble = Trouble::new(
                            "unexpected-state",
                            None,
                            "the printer has not finished a label for a long time",
                            "Check the printer's display",
                        );
                        self.roll_trouble(job, &mut window, trouble, summary)?;
                        continue;
                    }
                }
                Look::Blip => {
                    // Told as it was: the printer stopped answering for a moment, and goes on.
                    let trouble = Trouble::of(&Problem::NoStatusReply);
                    self.mark_interrupted(&window, trouble.key)?;
                    self.show_trouble(&trouble);
                    shown = None;
                }
                Look::Blind => {
                    // No way to hear back: a label handed over counts as printed (its scan tells).
                    let n = window.len();
                    self.roll_printed(job, &mut window, n, summary)?;
                }
                Look::Trouble(trouble) => {
                    self.roll_trouble(job, &mut window, trouble, summary)?;
                    progress = Instant::now();
                    continue;
                }
            }
            if !sent_now {
                std::thread::sleep(poll);
            }
        }
        self.odometer_check(job, summary)?;
        self.emit_printer(PrinterState::Ready, None);
        Ok(())
    }

    /// The odometer's reading, if the printer answers it.
    fn read_odometer(&mut self) -> Option<u64> {
        if !self.printer_cfg.odometer || self.odometer.answers == Some(false) {
            return None;
        }
        match self.printer.odometer() {
            Ok(Some(n)) => {
                self.odometer.answers = Some(true);
                Some(n)
            }
            Ok(None) if self.odometer.answers.is_none() => {
                tracing::warn!(
                    printer = %self.printer_name,
                    "the printer does not answer its odometer (SGD odometer.total_label_count): rolls are counted from its status (~HS) alone"
                );
                self.odometer.answers = Some(false);
                None
            }
            // Silent this once (an error state, a busy link): no check this time.
            Ok(None) => None,
            Err(PrinterError::NoStatusChannel { .. }) => {
                self.odometer.answers = Some(false);
                None
            }
            Err(e) => {
                tracing::info!(printer = %self.printer_name, "odometer not read: {e}");
                None
            }
        }
    }

    /// Compare the odometer with the labels marked PRINTED since its base reading, with nothing of the
    /// roll left in the printer (the window is empty). Returns whether they disagreed.
    fn odometer_check(
        &mut self,
        job: JobId,
        summary: &mut RunSummary,
    ) -> Result<bool, EngineError> {
        let Some(now) = self.read_odometer() else {
            return Ok(false);
        };
        let disagreed = self.odometer_compare(job, now, summary)?;
        // Nothing of the roll is in the printer: this reading is the base from now on.
        self.odometer.base = Some(now);
        self.odometer.since.clear();
        Ok(disagreed)
    }

    /// Labels that came out by the odometer against labels marked PRINTED since its base: fewer came
    /// out than were marked, so those marked (and not verified since) go to review.
    fn odometer_compare(
        &mut self,
        job: JobId,
        now: u64,
        summary: &mut RunSummary,
    ) -> Result<bool, EngineError> {
        let Some(base) = self.odometer.base else {
            return Ok(false);
        };
        let Some(out) = now.checked_sub(base) else {
            tracing::warn!(
                printer = %self.printer_name,
                "the printer's odometer went back from {base} to {now} (another printer, or reset): nothing to compare this time"
            );
            return Ok(false);
        };
        let counted = self.odometer.since.len() as u64;
        if out >= counted {
            return Ok(false);
        }
        let marked = std::mem::take(&mut self.odometer.since);
        let why = RejectReason::OdometerDisagrees {
            odometer: out,
            counted,
        };
        let (reason, args) = (why.text(), why.args());
        tracing::warn!(
            printer = %self.printer_name,
            "{out} labels came out by the printer's odometer where its status counted {counted}: {} labels to review",
            marked.len()
        );
        let masked: Vec<String> = marked.iter().map(|r| r.code.masked()).collect();
        self.ledger.audit_note(
            &self.actor,
            "printer.odometer",
            &self.printer_name,
            &serde_json::json!({
                "odometer": out,
                "counted": counted,
                "job": job.0,
                "codes": masked,
            }),
        )?;
        for rec in marked {
            // A sticker scanned meanwhile (batch) is proven; only the others are in doubt.
            if self.ledger.code(rec.id)?.state != CodeState::Printed {
                continue;
            }
            self.ledger
                .reject_keyed(rec.id, job, &reason, why.key(), &args, &self.actor)?;
            self.counters.rejected += 1;
            summary.printed = summary.printed.saturating_sub(1);
            summary.rejected += 1;
            self.emit(Event::Label {
                code: rec.id,
                masked: rec.code.masked(),
                phase: LabelPhase::Rejected {
                    reason: reason.clone(),
                    key: why.key(),
                    args: args.clone(),
                },
                preview: None,
            });
        }
        self.emit_counters();
        self.emit(Event::Review {
            waiting: self.review_len(),
        });
        Ok(true)
    }

    /// Read a `~HS` answer: how many of the `before` labels sent ahead of the question are out.
    fn look(&mut self, asked: Result<StatusReply, PrinterError>, before: usize) -> Look {
        match asked {
            Ok(StatusReply::Host(s)) => {
                // A full buffer empties as labels print: it is "busy", not a fault to fix.
                let problems = s.problems();
                if let Some(p) = problems
                    .iter()
                    .find(|p| p.is_blocking() && **p != Problem::BufferFull)
                {
                    return Look::Trouble(Trouble::of(p));
                }
                let held = usize::try_from(s.formats_in_buffer.saturating_add(s.labels_remaining))
                    .unwrap_or(usize::MAX);
                Look::Going {
                    out: before.saturating_sub(held),
                    full: s.buffer_full,
                }
            }
            Ok(StatusReply::NoReply) => match self.printer.extended_status() {
                Ok(Some(ext)) => match ext.problems().into_iter().find(Problem::is_blocking) {
                    Some(p) => Look::Trouble(Trouble::of(&p)),
                    None => Look::Blip,
                },
                Ok(None) => Look::Trouble(Trouble::of(&Problem::NoStatusReply)),
                Err(e) => Look::Trouble(Self::link_trouble(&e)),
            },
            Err(PrinterError::NoStatusChannel { .. }) => Look::Blind,
            Err(e) => Look::Trouble(Self::link_trouble(&e)),
        }
    }

    fn link_trouble(e: &PrinterError) -> Trouble {
        if e.is_disconnect() {
            Trouble::link_down(&e.to_string())
        } else {
            Trouble::new(
                "link-error",
                Some(e.to_string()),
                e.to_string(),
                "Check the printer is on, connected and not showing an error",
            )
        }
    }

    /// The first `out` labels of the window came out: PRINTED.
    fn roll_printed(
        &mut self,
        job: JobId,
        window: &mut VecDeque<CodeRecord>,
        out: usize,
        summary: &mut RunSummary,
    ) -> Result<(), EngineError> {
        for _ in 0..out {
            let Some(rec) = window.pop_front() else {
                break;
            };
            self.ledger.mark_printed(rec.id, job, &self.actor)?;
            self.odometer.since.push(rec.clone());
            self.counters.printed += 1;
            summary.printed += 1;
            self.emit(Event::Label {
                code: rec.id,
                masked: rec.code.masked(),
                phase: LabelPhase::Printed,
                preview: None,
            });
            if self.ledger.copy_may_exist(rec.id)? {
                let masked = rec.code.masked();
                self.notice(Notice::LabelInterrupted { masked });
            }
        }
        if window.is_empty() {
            self.emit_printer(PrinterState::Ready, None);
        }
        self.emit_counters();
        Ok(())
    }

    /// Trouble with labels in the printer: stop sending, wait for a fix, and account for the window.
    fn roll_trouble(
        &mut self,
        job: JobId,
        window: &mut VecDeque<CodeRecord>,
        trouble: Trouble,
        summary: &mut RunSummary,
    ) -> Result<(), EngineError> {
        // Any trouble may mean the printer restarted and forgot the stored format.
        self.stored_for = None;
        if trouble.interrupts() {
            self.mark_interrupted(window, trouble.key)?;
        }
        let first = trouble.clone();
        let Ride { waited, silent } = self.ride_out(trouble)?;
        match waited {
            Waited::Fixed if !silent => {
                // The printer kept its buffer and goes on: unless the odometer says a label marked
                // PRINTED did not come out; then the counts are not to be trusted for the window either.
                let disagreed = match self.read_odometer() {
                    Some(now) => self.odometer_compare(job, now, summary)?,
                    None => false,
                };
                if !disagreed {
                    self.emit_printer(PrinterState::Printing, None);
                    return Ok(());
                }
                self.drop_window(job, window, &first, false, summary)?;
                self.odometer_check(job, summary)?;
                self.emit_printer(PrinterState::Ready, None);
                self.after_failure()
            }
            Waited::Fixed => {
                let why = Trouble::link_down(
                    "the printer was out of reach while labels were in it (it may have printed them, or restarted and lost them)",
                );
                self.drop_window(job, window, &why, false, summary)?;
                self.odometer_check(job, summary)?;
                self.emit_printer(PrinterState::Ready, None);
                self.after_failure()
            }
            Waited::Cancelled { trouble } => {
                self.drop_window(job, window, &trouble, !silent, summary)?;
                self.odometer_check(job, summary)?;
                self.emit_printer(PrinterState::Ready, None);
                self.after_failure()
            }
            Waited::GaveUp { trouble } => {
                self.drop_window(job, window, &trouble, !silent, summary)?;
                self.odometer_check(job, summary)?;
                Err(EngineError::PrinterNotFixed {
                    reason: trouble.what,
                })
            }
        }
    }

    /// The printer was stopped with labels in it: the head was on the front label, or on the next one
    /// if the front finished since the last look. A partial sticker (or a second one) of either may exist.
    fn mark_interrupted(
        &mut self,
        window: &VecDeque<CodeRecord>,
        key: &str,
    ) -> Result<(), EngineError> {
        for rec in window.iter().take(2) {
            self.ledger.print_interrupted(rec.id, key)?;
        }
        Ok(())
    }

    /// The printer drops every label it holds (`~JA` first), and the labels of the window, whose fate
    /// is unknown, go to review: a sticker of each may exist. With `recount` (the printer kept its
    /// buffer all along), those it answers it no longer holds are PRINTED first.
    fn drop_window(
        &mut self,
        job: JobId,
        window: &mut VecDeque<CodeRecord>,
        trouble: &Trouble,
        recount: bool,
        summary: &mut RunSummary,
    ) -> Result<(), EngineError> {
        if recount
            && matches!(self.printer.link(), LinkState::Up)
            && let Ok(StatusReply::Host(s)) = self.printer.host_status()
        {
            let held = usize::try_from(s.formats_in_buffer.saturating_add(s.labels_remaining))
                .unwrap_or(usize::MAX);
            let out = window.len().saturating_sub(held);
            self.roll_printed(job, window, out, summary)?;
        }
        let Some(front) = window.front().cloned() else {
            return Ok(());
        };
        self.clear_printer(&front);
        let why = RejectReason::PrinterCancelled {
            key: trouble.key,
            arg: trouble.arg.clone().unwrap_or_default(),
            detail: trouble.what.clone(),
        };
        let (reason, args) = (why.text(), why.args());
        while let Some(rec) = window.pop_front() {
            self.ledger
                .reject_keyed(rec.id, job, &reason, why.key(), &args, &self.actor)?;
            self.counters.rejected += 1;
            summary.rejected += 1;
            self.emit(Event::Label {
                code: rec.id,
                masked: rec.code.masked(),
                phase: LabelPhase::Rejected {
                    reason: reason.clone(),
                    key: why.key(),
                    args: args.clone(),
                },
                preview: None,
            });
        }
        // One printer event is one failure, however many labels it held.
        self.failure(&reason);
        self.emit_counters();
        self.emit(Event::Review {
            waiting: self.review_len(),
        });
        Ok(())
    }

    /// Show the trouble and wait until the printer answers with nothing blocking, the worker cancels,
    /// or the pause timeout passes.
    fn ride_out(&mut self, first: Trouble) -> Result<Ride, EngineError> {
        let since = Instant::now();
        let limit = Duration::from_secs(self.line.pause_timeout_secs);
        let mut trouble = first;
        let mut silent = matches!(trouble.key, "link-down" | "no-status-reply");
        loop {
            self.show_trouble(&trouble);
            self.poll_commands();
            if self.signals.cancel || (self.signals.stop && self.commands.is_none()) {
                self.signals.cancel = false;
                let waited = Waited::Cancelled { trouble };
                return Ok(Ride { waited, silent });
            }
            if since.elapsed() >= limit {
                let waited = Waited::GaveUp { trouble };
                return Ok(Ride { waited, silent });
            }
            std::thread::sleep(Duration::from_millis(200));
            if !matches!(self.printer.link(), LinkState::Up) {
                silent = true;
                if !self.restore_link() {
                    if let LinkState::Lost { detail, .. } = self.printer.link() {
                        trouble = Trouble::link_down(&detail);
                    }
                    continue;
                }
            }
            match self.printer.host_status() {
                Ok(StatusReply::Host(s)) => {
                    match s
                        .problems()
                        .iter()
                        .find(|p| p.is_blocking() && **p != Problem::BufferFull)
                    {
                        Some(p) => trouble = Trouble::of(p),
                        None => {
                            let waited = Waited::Fixed;
                            return Ok(Ride { waited, silent });
                        }
                    }
                }
                Ok(StatusReply::NoReply) => match self.printer.extended_status() {
                    Ok(Some(ext)) => {
                        if let Some(p) = ext.problems().into_iter().find(Problem::is_blocking) {
                            trouble = Trouble::of(&p);
                        }
                    }
                    Ok(None) => {
                        silent = true;
                        trouble = Trouble::of(&Problem::NoStatusReply);
                    }
                    Err(e) => {
                        silent |= e.is_disconnect();
                        trouble = Self::link_trouble(&e);
                    }
                },
                Err(PrinterError::NoStatusChannel { .. }) => {
                    let waited = Waited::Fixed;
                    return Ok(Ride { waited, silent });
                }
                Err(e) => {
                    silent |= e.is_disconnect();
                    trouble = Self::link_trouble(&e);
                }
            }
        }
    }
}
