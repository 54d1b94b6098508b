// SPDX-License-Identifier: GPL-3.0-or-later
//! The supervisor's review actions on one code: reprint a code never verified, write a code off, confirm
//! an applied sticker by scanning it; and the moves that print nothing: send a refused verified code's
//! application again, send a printed roll sticker that cannot be found to review, and close a
//! second-sticker alert. The ledger checks and audits each; the engine tells the screens the review
//! queue changed.

use super::*;
use crate::notice::Notice;
use labelstation_ledger::stickers::StickerAlertId;

impl Station {
    /// Supervisor: a verified code the registry refused is VERIFIED again and its application report
    /// queued again (after the cause was fixed). Never prints.
    pub fn send_again(&mut self, sup: &Supervisor, code: CodeId) -> Result<(), EngineError> {
        self.ledger_mut().send_again(code, sup.actor())?;
        self.emit(Event::Review {
            waiting: self.review_len(),
        });
        Ok(())
    }

    /// Supervisor: the printed sticker of a finished batch or no-verify run cannot be found; the code
    /// goes to review (then written off, or confirmed if the sticker turns up on an item).
    pub fn sticker_missing(
        &mut self,
        sup: &Supervisor,
        code: CodeId,
        note: &str,
    ) -> Result<(), EngineError> {
        self.ledger_mut().sticker_missing(code, note, sup.actor())?;
        self.emit(Event::Review {
            waiting: self.review_len(),
        });
        Ok(())
    }

    /// Supervisor: close a second-sticker alert with what was found (the second sticker destroyed, or
    /// only one sticker: the same one scanned again). The ledger audits it.
    pub fn close_sticker_alert(
        &mut self,
        sup: &Supervisor,
        alert: StickerAlertId,
        found: &str,
    ) -> Result<(), EngineError> {
        self.ledger_mut()
            .close_sticker_alert(alert, found, sup.actor())?;
        self.emit(Event::Review {
            waiting: self.review_len(),
        });
        Ok(())
    }

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
        let job = self.ledger.open_job(
            rec.code.gtin(),
            labelstation_ledger::JobMode::Reprint,
            sup.actor(),
        )?;
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
            self.notice(Notice::ConfirmMismatch { masked });
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
}

/// Consignments: what a supervisor does to one from the touchscreen (the PIN checked by the engine, the
/// ledger audits).
impl Station {
    /// Record (or correct) a consignment's customs declaration.
    pub fn declare_consignment(
        &mut self,
        sup: &Supervisor,
        consignment: &str,
        declaration: &labelstation_ledger::consignments::Declaration,
    ) -> Result<(), EngineError> {
        self.ledger_mut()
            .declare_consignment(consignment, declaration, sup.actor())?;
        Ok(())
    }

    /// File the import documents for a consignment's applied pairs (the sync sends and follows them).
    pub fn submit_consignment(
        &mut self,
        sup: &Supervisor,
        consignment: &str,
        api: &str,
        document_size: u32,
    ) -> Result<labelstation_ledger::documents::Submitted, EngineError> {
        Ok(self.ledger_mut().submit_consignment(
            consignment,
            api,
            document_size,
            false,
            false,
            sup.actor(),
        )?)
    }
}
