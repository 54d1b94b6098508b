// SPDX-License-Identifier: GPL-3.0-or-later
//! Packing on the line (`print --box-capacity`): each pair whose sticker is verified goes into the open
//! box of the consignment the line labels for (one is opened under a new SSCC when none has room; the
//! ledger allocates the SSCC durably before anything of it is printed). A full box, a box the worker
//! closes, or the partly filled box a run ends with is closed, its GS1-128 label printed, and the label
//! scanned back: only a read with AIM `]C1`, AI 00 and exactly this SSCC verifies it. A box label
//! carries no marking code, so one that does not read is printed again (up to [`BOX_LABEL_TRIES`]
//! labels); then the worker is told to print it with `labelstation box label SSCC`. A scan of anything
//! else meanwhile is never taken as the box label: another box's label is told as such, a pair's
//! sticker is judged as a loose scan.

use crate::notice::Notice;
use labelstation_zpl::template::Dpi;

use super::*;
use labelstation_codes::CompanyPrefix;
use labelstation_ledger::boxes::{BoxLevel, BoxRecord, BoxState};

/// Labels printed for one box before the station stops trying and tells the worker.
pub const BOX_LABEL_TRIES: u32 = 3;

/// Test hook: with this set, the station stops before sending a box label's first byte (the box is
/// closed, its SSCC allocated) and waits there to be killed, saying so on stderr.
pub const HOLD_BEFORE_BOX_LABEL_ENV: &str = "LABELSTATION_TEST_HOLD_BEFORE_BOX_LABEL";

/// How the line packs boxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packing {
    /// Pairs in a full box.
    pub capacity: u32,
    pub prefix: CompanyPrefix,
    pub extension: u8,
    /// The box label's width and height (`[aggregation] box_label`).
    pub label_mm: (u32, u32),
    pub dpi: Dpi,
}

/// How a wait for a box label's scan ended.
enum BoxScan {
    /// `]C1`, `00` and this SSCC: the AIM id and the data read.
    Verified { aim: String, read: String },
    /// Nothing matching came in time (or the worker said it will not scan).
    NotRead,
}

impl Station {
    /// Pack verified pairs into boxes from now on (`None`: do not).
    pub fn pack_boxes(&mut self, packing: Option<Packing>) {
        self.packing = packing;
    }

    /// How the line packs boxes, if it does.
    pub fn packing(&self) -> Option<&Packing> {
        self.packing.as_ref()
    }

    fn emit_box(&self, open: Option<&BoxRecord>) {
        let last = match &self.consignment {
            Some(k) if self.packing.is_some() => self.ledger.boxes(Some(k)).ok().and_then(|all| {
                all.into_iter()
                    .rev()
                    .find(|b| b.level == BoxLevel::Box && b.state != BoxState::Open)
            }),
            _ => None,
        };
        let view = |b: &BoxRecord| BoxView {
            sscc: b.sscc.clone(),
            count: b.count,
            capacity: b.capacity,
            state: b.state.as_str(),
        };
        self.emit(Event::Box {
            packing: self.packing.is_some() && self.consignment.is_some(),
            open: open.map(view),
            last: last.as_ref().map(view),
        });
    }

    /// Tell the screens which box is open on the line, if any, and the last one closed.
    pub(crate) fn publish_box(&self) -> Result<(), EngineError> {
        match (&self.packing, &self.consignment) {
            (Some(_), Some(k)) => {
                let open = self.ledger.open_box_with_room(k)?;
                self.emit_box(open.as_ref());
            }
            _ => self.emit_box(None),
        }
        Ok(())
    }

    /// A box's label on the line's printer, verified by the line's scanner (the app's `box label`): print a closed box's label
    /// (CLOSED → LABEL_PRINTED) and verify it by its scan (→ LABEL_VERIFIED), up to
    /// [`BOX_LABEL_TRIES`] labels; a box whose label was verified before only gets its label printed.
    /// Returns the box's state after.
    pub fn label_box(&mut self, sscc: &str) -> Result<BoxState, EngineError> {
        let b = self.ledger.box_record(sscc)?;
        if b.state == BoxState::Open {
            return Err(EngineError::BoxOpen(sscc.to_owned()));
        }
        if matches!(b.state, BoxState::Closed | BoxState::LabelPrinted) {
            self.finish_box(sscc)?;
        } else {
            let zpl = self.box_label_zpl(sscc)?;
            self.print_box_label(&zpl).map_err(|e| {
                EngineError::Label(format!("the label of box {sscc} did not print ({e})"))
            })?;
        }
        Ok(self.ledger.box_record(sscc)?.state)
    }

    /// A supervisor prints box `sscc`'s label again (a damaged label: it carries no marking code),
    /// audited; a label not yet verified is then verified by its scan.
    pub(crate) fn reprint_box_label(
        &mut self,
        sup: &Supervisor,
        sscc: &str,
    ) -> Result<(), EngineError> {
        let b = self.ledger.box_record(sscc)?;
        if b.state == BoxState::Open {
            return Err(EngineError::Label(format!(
                "box {sscc} is open: close it first"
            )));
        }
        let zpl = self.box_label_zpl(sscc)?;
        self.print_box_label(&zpl).map_err(|e| {
            EngineError::Label(format!("the label of box {sscc} did not print ({e})"))
        })?;
        self.ledger.box_label_reprinted(sscc, sup.actor())?;
        if b.state == BoxState::Closed {
            self.ledger
                .box_step(sscc, BoxState::LabelPrinted, &self.actor)?;
        }
        self.notice(Notice::BoxLabelReprinted {
            sscc: sscc.to_owned(),
        });
        if self.ledger.box_record(sscc)?.state == BoxState::LabelPrinted {
            match self.await_box_label(sscc)? {
                BoxScan::Verified { aim, read } => {
                    self.ledger
                        .box_label_verified(sscc, &aim, &read, 1, &self.actor)?;
                }
                BoxScan::NotRead => self.notice(Notice::BoxLabelUnverified {
                    sscc: sscc.to_owned(),
                    labels: 1,
                }),
            }
        }
        self.emit_line(LineState::Idle);
        self.publish_box()
    }

    /// Before a packing run: a box left open and full (a run killed between its last pair and its
    /// closing) is closed and labelled now.
    pub(super) fn finish_full_boxes(&mut self) -> Result<(), EngineError> {
        let (Some(_), Some(k)) = (&self.packing, self.consignment.clone()) else {
            return Ok(());
        };
        for b in self.ledger.boxes(Some(&k))? {
            if b.level == BoxLevel::Box && b.state == BoxState::Open && b.count >= b.capacity {
                self.finish_box(&b.sscc)?;
            }
        }
        self.publish_box()
    }

    /// A verified pair goes into the open box of its consignment (a new one when none has room); a
    /// box that is full now, or that the worker asked to close, is finished.
    pub(super) fn pack(&mut self, rec: &CodeRecord) -> Result<(), EngineError> {
        let (Some(p), Some(k)) = (self.packing.clone(), self.consignment.clone()) else {
            return Ok(());
        };
        let b = match self.ledger.open_box_with_room(&k)? {
            Some(b) => b,
            None => self.ledger.open_box(
                &k,
                BoxLevel::Box,
                p.capacity,
                &p.prefix,
                p.extension,
                &self.actor,
            )?,
        };
        self.ledger.add_to_box(&b.sscc, rec.id, &self.actor)?;
        let b = self.ledger.box_record(&b.sscc)?;
        self.emit_box(Some(&b));
        if b.count >= b.capacity {
            self.finish_box(&b.sscc)?;
            self.publish_box()?;
        }
        Ok(())
    }

    /// The worker asked to close the open box ([`Command::CloseBox`]): close it now, partly filled.
    pub(crate) fn close_box_if_asked(&mut self) -> Result<(), EngineError> {
        if !std::mem::take(&mut self.signals.close_box) {
            return Ok(());
        }
        if self.packing.is_none() {
            self.notice(Notice::BoxNotPacking);
            return Ok(());
        }
        self.close_partial_box()
    }

    /// Close the partly filled open box of the consignment (a run ended, or the worker asked) and
    /// finish it. An empty box stays open.
    pub(super) fn close_partial_box(&mut self) -> Result<(), EngineError> {
        let (Some(_), Some(k)) = (&self.packing, self.consignment.clone()) else {
            return Ok(());
        };
        if let Some(b) = self.ledger.open_box_with_room(&k)?
            && b.count > 0
        {
            self.finish_box(&b.sscc)?;
        }
        self.publish_box()
    }

    /// Close the box (if open), print its label and verify it with the scanner.
    fn finish_box(&mut self, sscc: &str) -> Result<(), EngineError> {
        let b = self.ledger.box_record(sscc)?;
        if b.state == BoxState::Open {
            self.ledger.box_step(sscc, BoxState::Closed, &self.actor)?;
        }
        let zpl = self.box_label_zpl(sscc)?;
        if std::env::var_os(HOLD_BEFORE_BOX_LABEL_ENV).is_some() {
            eprintln!("test hook: holding before the label of box {sscc}");
            loop {
                std::thread::sleep(Duration::from_secs(60));
            }
        }
        for label in 1..=BOX_LABEL_TRIES {
            if let Err(e) = self.print_box_label(&zpl) {
                self.notice(Notice::BoxLabelFailed {
                    sscc: sscc.to_owned(),
                    error: e.clone(),
                });
                return Ok(());
            }
            if self.ledger.box_record(sscc)?.state == BoxState::Closed {
                self.ledger
                    .box_step(sscc, BoxState::LabelPrinted, &self.actor)?;
            }
            match self.await_box_label(sscc)? {
                BoxScan::Verified { aim, read } => {
                    self.ledger
                        .box_label_verified(sscc, &aim, &read, label, &self.actor)?;
                    let b = self.ledger.box_record(sscc)?;
                    self.notice(Notice::BoxLabelVerified {
                        sscc: sscc.to_owned(),
                        count: b.count,
                        capacity: b.capacity,
                    });
                    return Ok(());
                }
                BoxScan::NotRead if label < BOX_LABEL_TRIES => {
                    self.notice(Notice::BoxLabelUnread {
                        sscc: sscc.to_owned(),
                    })
                }
                BoxScan::NotRead => {}
            }
        }
        self.notice(Notice::BoxLabelUnverified {
            sscc: sscc.to_owned(),
            labels: BOX_LABEL_TRIES,
        });
        Ok(())
    }

    /// The box label's ZPL: `[aggregation] box_label` size at the printer's dpi.
    fn box_label_zpl(&self, sscc: &str) -> Result<Vec<u8>, EngineError> {
        let Some(p) = &self.packing else {
            return Err(EngineError::Label("the line does not pack boxes".into()));
        };
        let b = self.ledger.box_record(sscc)?;
        let product = self.ledger.box_product_text(sscc)?;
        let zpl = labelstation_zpl::box_label(
            f64::from(p.label_mm.0),
            f64::from(p.label_mm.1),
            p.dpi,
            &labelstation_zpl::BoxLabelData {
                sscc,
                consignment: &b.consignment,
                count: u32::try_from(b.count).unwrap_or(u32::MAX),
                capacity: u32::try_from(b.capacity).unwrap_or(u32::MAX),
                product: &product,
            },
        )
        .map_err(|e| EngineError::Label(e.to_string()))?;
        Ok(zpl.into_bytes())
    }

    /// Send a box label and wait until it is out; what went wrong, in words.
    fn print_box_label(&mut self, zpl: &[u8]) -> Result<(), String> {
        if !self.link_ready() {
            return Err("the printer link is down".into());
        }
        self.emit_printer(PrinterState::Printing, None);
        self.printer.send(zpl).map_err(|e| e.to_string())?;
        let outcome = wait_until_done(
            self.printer.as_mut(),
            Duration::from_secs(self.printer_cfg.print_timeout_secs),
            Duration::from_millis(self.printer_cfg.status_poll_ms),
        )
        .map_err(|e| e.to_string())?;
        match outcome {
            JobOutcome::Done | JobOutcome::Unknown { .. } => {
                self.emit_printer(PrinterState::Ready, None);
                Ok(())
            }
            JobOutcome::Blocked { problem, .. } => {
                let t = Trouble::of(&problem);
                self.show_trouble(&t);
                Err(format!("{}: {}", t.what, t.todo))
            }
            _ => Err("the printer reported an unexpected state".into()),
        }
    }

    /// Wait for the scan of box `sscc`'s label, up to the scan timeout.
    fn await_box_label(&mut self, sscc: &str) -> Result<BoxScan, EngineError> {
        let timeout = Duration::from_secs(self.line.scan_timeout_secs);
        let mut deadline = Instant::now() + timeout;
        let want = format!("00{sscc}");
        self.emit_line(LineState::AwaitingScan {
            masked: format!("(00) {sscc}"),
            seconds_left: timeout.as_secs(),
        });
        loop {
            let scan = self.next_scan(deadline)?;
            if self.signals.cancel || self.signals.unreadable {
                self.signals.cancel = false;
                self.signals.unreadable = false;
                return Ok(BoxScan::NotRead);
            }
            let Some((raw, aim, arrived)) = scan else {
                if matches!(
                    self.scanner.state(),
                    ScannerState::Disconnected { .. } | ScannerState::Reconnecting { .. }
                ) {
                    deadline = Instant::now() + timeout;
                    continue;
                }
                return Ok(BoxScan::NotRead);
            };
            if aim.as_deref() == Some("]C1") {
                // The scanner sends its AIM id in front of the data.
                let read = String::from_utf8_lossy(raw.get(3..).unwrap_or_default()).into_owned();
                if read == want {
                    return Ok(BoxScan::Verified {
                        aim: "]C1".into(),
                        read,
                    });
                }
                let shown: String = read.chars().filter(|c| !c.is_control()).take(48).collect();
                self.notice(Notice::BoxLabelWrong {
                    read: shown.clone(),
                    sscc: sscc.to_owned(),
                });
                continue;
            }
            // Not a GS1-128 label: a pair's sticker, a retail barcode, noise. Judged as a loose scan,
            // never taken as the box label.
            let mut summary = RunSummary::default();
            self.judge_loose_scan(&raw, aim.as_deref(), None, arrived, &mut summary)?;
        }
    }
}
