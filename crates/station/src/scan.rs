// SPDX-License-Identifier: GPL-3.0-or-later
//! The scan side of the line: waiting for a label's scan, judging it against the ledger (its own code,
//! another code, a second sticker of an applied one), and recording the verdict; a batch's scans after
//! printing, and loose scans between runs.

use super::*;
use crate::notice::Notice;

impl Station {
    /// The next scan (bytes and AIM id), or None at the deadline or when the run is signalled.
    pub(super) fn next_scan(&mut self, until: Instant) -> Result<Option<Arrived>, EngineError> {
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
                Some(ScannerEvent::Incomplete(_)) => self.notice(Notice::ScanCutOff),
                Some(ScannerEvent::UnmappedKeys { .. }) => self.notice(Notice::ScannerUnmappedKeys),
                Some(ScannerEvent::Overlong { len, cap, .. }) => {
                    self.notice(Notice::ScannerNoise { len, cap })
                }
                Some(ScannerEvent::BadReport { reason, .. }) => {
                    self.notice(Notice::ScannerBadReport {
                        reason: reason.to_string(),
                    })
                }
            }
        }
    }

    pub(super) fn emit_verdict(&self, verdict: &ScanVerdict) {
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

    pub(super) fn verdict_name(verdict: &ScanVerdict) -> &'static str {
        verdict.name()
    }

    /// [`decide`], with a repeat of an applied code told apart as the same sticker read again or another
    /// sticker of it ([`repeat_of_applied`]).
    pub(super) fn judge(
        &self,
        raw: &[u8],
        expected: Option<&CodeRecord>,
    ) -> Result<ScanVerdict, EngineError> {
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
    pub(super) fn second_sticker(
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
        self.notice(Notice::SecondSticker {
            masked: masked.to_owned(),
        });
        self.emit_counters();
        self.emit(Event::Review {
            waiting: self.review_len(),
        });
        Ok(())
    }

    /// Inline: wait for the scan of the sticker just printed and judge it.
    pub(super) fn await_scan(
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
    pub(super) fn await_batch(
        &mut self,
        job: JobId,
        summary: &mut RunSummary,
    ) -> Result<(), EngineError> {
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
                    self.notice(Notice::RollWaiting { waiting });
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
    ) -> Result<(u32, Vec<labelstation_codes::Gtin>), EngineError> {
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
}
