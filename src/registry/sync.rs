// SPDX-License-Identifier: GPL-3.0-or-later
//! Sending application reports: drain the ledger's outbox to the registry without losing or repeating a
//! code, whatever the link does.
//!
//! One pass ([`Sync::once`]):
//! 1. settle the reports an earlier pass left open: SENT ones are polled; SENDING ones (their answer was
//!    lost, or the station stopped) are resolved by asking the registry about each of their codes;
//! 2. send the queue in reports of at most `batch_size` codes, one country of origin each, and wait for
//!    each outcome. A refused report is split in halves and re-sent until every refused code stands alone:
//!    those go to a supervisor with the registry's reason, the rest are reported.
//!
//! 3. send queued write-offs the same way (a withdrawal document of type WRITE_OFF on xtrace). A registry
//!    without write-offs (oms-v2) gets none: those rows wait for a supervisor with a clear reason.
//!
//! A pass stops at the first error that needs the link back (transport, 5xx, 429) and leaves everything
//! resumable; the next pass carries on. Nothing is ever re-sent blindly. A report whose answer was lost on
//! a registry that cannot be asked about codes (oms-v2) waits for a supervisor
//! (`Ledger::settle_report`); the pass goes on with the rest.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

pub use super::background::{Background, ClientFactory, LinkState, SyncState, record_pass};
use super::client::{
    Registry, RegistryCodeState, RegistryError, ReportOutcome, UtilisationMeta, WriteOffMeta,
};
use crate::store::reports::{Backlog, ReportBatch, ReportId, ReportKind, ReportStatus};
use crate::store::{Actor, CodeId, Ledger, StoreError};

#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Codes per report at most (the registry's documented maximum is 30 000).
    pub batch_size: u32,
    /// Pause between report status polls.
    pub poll_interval: Duration,
    /// Stop waiting for a report's outcome after this long (it is polled again next pass).
    pub report_timeout: Duration,
    /// Manufacturer country for products registered without one.
    pub default_country: Option<String>,
    /// The expiration date declared is this many days after the production date (footwear has none,
    /// but the registry requires one).
    pub expiry_days: u32,
    /// The reason declared in write-offs, from the registry's dictionary (not published; see
    /// `registry.report.write_off_reason`).
    pub write_off_reason: String,
    /// When set, the pass stops at the next wait and leaves everything resumable (the background
    /// runner's stop).
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            batch_size: 30_000,
            poll_interval: Duration::from_secs(2),
            report_timeout: Duration::from_secs(600),
            default_country: None,
            expiry_days: 3650,
            write_off_reason: "DEFECT".into(),
            cancel: None,
        }
    }
}

/// Progress, for a log line or the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SyncEvent {
    /// A report left open by an earlier pass was settled from the registry's word on its codes.
    Resolved {
        report: i64,
        applied: usize,
        requeued: usize,
    },
    Sent {
        report: i64,
        codes: usize,
    },
    Accepted {
        report: i64,
        codes: usize,
    },
    /// The registry refused a report; its codes are re-sent in smaller reports.
    Split {
        report: i64,
        codes: usize,
        reason: String,
    },
    /// A code the registry refused on its own: it is in front of a supervisor now.
    Refused {
        code: i64,
        reason: String,
    },
    /// A write-off of one code the registry refused: it waits for a supervisor.
    WriteOffRefused {
        code: i64,
        reason: String,
    },
    /// The registry has no write-off: these codes wait for a supervisor to withdraw them by hand.
    WriteOffUnsupported {
        codes: usize,
        reason: String,
    },
    /// A report whose answer was lost cannot be settled by asking this registry: a supervisor must.
    Unresolvable {
        report: i64,
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "codes of products with no country of origin cannot be reported: set the country of each product, or registry.report.default_country"
    )]
    NoCountry,
    #[error(
        "report #{report}: the registry has not decided after {waited_s} s; the next sync asks again"
    )]
    Undecided { report: i64, waited_s: u64 },
    #[error("sync stopped; it carries on where it left off when started again")]
    Cancelled,
}

impl SyncError {
    /// Whether the link (or the registry) is the problem: try again later.
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Registry(e) => e.is_transient() || e.maybe_committed(),
            SyncError::Undecided { .. } | SyncError::Cancelled => true,
            _ => false,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub reported: u64,
    pub refused: u64,
    pub resolved_reports: u64,
    /// Codes whose write-off the registry accepted.
    pub written_off: u64,
    /// Write-offs refused (one code each) or not supported by the registry: a supervisor's turn.
    pub write_off_refused: u64,
    /// Open reports only a supervisor can settle (their answer was lost on a registry that cannot be asked).
    pub unresolved_reports: u64,
    pub backlog: Backlog,
}

/// A sync: the ledger, the registry, and how to go about it.
pub struct Sync<'a> {
    pub ledger: &'a mut Ledger,
    pub registry: &'a mut dyn Registry,
    pub opts: SyncOptions,
    pub actor: &'a Actor,
}

impl Sync<'_> {
    /// One pass: settle open reports, then send the queues (application reports, then write-offs).
    pub fn once(&mut self, progress: &mut dyn FnMut(SyncEvent)) -> Result<SyncReport, SyncError> {
        let mut report = SyncReport::default();
        let result = self.pass(&mut report, progress);
        report.backlog = self.ledger.backlog()?;
        result.map(|()| report)
    }

    fn cancelled(&self) -> bool {
        self.opts
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }

    fn pass(
        &mut self,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<(), SyncError> {
        for open in self.ledger.open_reports()? {
            if self.cancelled() {
                return Err(SyncError::Cancelled);
            }
            match (open.status, open.registry_id.clone()) {
                (ReportStatus::Sent, Some(rid)) => {
                    self.await_outcome(open.id, open.kind, &rid, report, progress)?
                }
                _ => self.resolve(open, report, progress)?,
            }
        }
        let api = self.registry.api();
        let mut deferred = None;
        for kind in [ReportKind::Utilisation, ReportKind::WriteOff] {
            while let Some(batch) = self.ledger.start_report(kind, api, self.opts.batch_size)? {
                if self.cancelled() {
                    self.ledger.report_unsent(batch.id, "sync stopped")?;
                    return Err(SyncError::Cancelled);
                }
                match self.send(batch, report, progress) {
                    // The queue's head has no country: nothing of this kind can go before it is fixed,
                    // but write-offs need no country, so they still go.
                    Err(SyncError::NoCountry) => {
                        deferred = Some(SyncError::NoCountry);
                        break;
                    }
                    other => other?,
                }
            }
        }
        deferred.map_or(Ok(()), Err)
    }

    fn meta(&self, batch: &ReportBatch) -> Option<UtilisationMeta> {
        let country = batch
            .country
            .clone()
            .or_else(|| self.opts.default_country.clone())?;
        let today = SystemTime::now();
        let expiry = today + Duration::from_secs(u64::from(self.opts.expiry_days) * 86_400);
        Some(UtilisationMeta {
            country,
            production_date: date(today),
            expiration_date: date(expiry),
        })
    }

    fn send(
        &mut self,
        batch: ReportBatch,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<(), SyncError> {
        let codes: Vec<String> = batch
            .codes
            .iter()
            .map(|(_, c)| c.as_str().to_owned())
            .collect();
        let sent = match batch.kind {
            ReportKind::Utilisation => {
                let Some(meta) = self.meta(&batch) else {
                    self.ledger
                        .report_unsent(batch.id, "no country of origin")?;
                    return Err(SyncError::NoCountry);
                };
                self.registry.send_utilisation(&codes, &meta)
            }
            ReportKind::WriteOff => {
                let meta = WriteOffMeta {
                    date: date(SystemTime::now()),
                    reason: self.opts.write_off_reason.clone(),
                    reason_other: None,
                };
                self.registry.send_write_off(&codes, &meta)
            }
        };
        match sent {
            Ok(rid) => {
                self.ledger.report_sent(batch.id, &rid)?;
                progress(SyncEvent::Sent {
                    report: batch.id.0,
                    codes: codes.len(),
                });
                self.await_outcome(batch.id, batch.kind, &rid, report, progress)
            }
            // The answer is lost: the report may exist. It stays SENDING and is resolved, not re-sent.
            Err(e) if e.maybe_committed() => Err(e.into()),
            Err(e @ RegistryError::Unsupported { .. }) if batch.kind == ReportKind::WriteOff => {
                let reason = e.to_string();
                self.ledger.report_refused_all(batch.id, &reason)?;
                report.write_off_refused += codes.len() as u64;
                progress(SyncEvent::WriteOffUnsupported {
                    codes: codes.len(),
                    reason,
                });
                Ok(())
            }
            Err(e) if e.is_transient() => {
                self.ledger.report_unsent(batch.id, &e.to_string())?;
                Err(e.into())
            }
            // Refused outright (4xx other than auth): like a refused report, split to find the culprits.
            Err(RegistryError::Api { error, .. })
                if error.class() == super::wire::ErrorClass::Rejected =>
            {
                let reason = error.to_string();
                self.rejected(batch.id, batch.kind, codes.len(), &reason, report, progress)
            }
            Err(e) => {
                self.ledger.report_unsent(batch.id, &e.to_string())?;
                Err(e.into())
            }
        }
    }

    fn await_outcome(
        &mut self,
        id: ReportId,
        kind: ReportKind,
        rid: &str,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<(), SyncError> {
        let started = Instant::now();
        loop {
            let outcome = match kind {
                ReportKind::Utilisation => self.registry.report_outcome(rid)?,
                ReportKind::WriteOff => self.registry.write_off_outcome(rid)?,
            };
            match outcome {
                ReportOutcome::Accepted => {
                    let n = self.ledger.report(id)?.codes.len();
                    self.ledger.report_accepted(id, self.actor)?;
                    match kind {
                        ReportKind::Utilisation => report.reported += n as u64,
                        ReportKind::WriteOff => report.written_off += n as u64,
                    }
                    progress(SyncEvent::Accepted {
                        report: id.0,
                        codes: n,
                    });
                    return Ok(());
                }
                ReportOutcome::Rejected(reason) => {
                    let n = self.ledger.report(id)?.codes.len();
                    return self.rejected(id, kind, n, &reason, report, progress);
                }
                ReportOutcome::InProcess => {
                    if self.cancelled() {
                        return Err(SyncError::Cancelled);
                    }
                    if started.elapsed() >= self.opts.report_timeout {
                        return Err(SyncError::Undecided {
                            report: id.0,
                            waited_s: started.elapsed().as_secs(),
                        });
                    }
                    std::thread::sleep(self.opts.poll_interval);
                }
            }
        }
    }

    /// A refused report: a single code goes to review; more are re-sent in two halves.
    fn rejected(
        &mut self,
        id: ReportId,
        kind: ReportKind,
        n: usize,
        reason: &str,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<(), SyncError> {
        let single = self.ledger.report(id)?.codes.first().map(|(c, _)| *c);
        let requeued = self.ledger.report_rejected(id, reason, self.actor)?;
        if requeued.is_empty() {
            if let Some(code) = single {
                let (code, reason) = (code.0, reason.to_owned());
                match kind {
                    ReportKind::Utilisation => {
                        report.refused += 1;
                        progress(SyncEvent::Refused { code, reason });
                    }
                    ReportKind::WriteOff => {
                        report.write_off_refused += 1;
                        progress(SyncEvent::WriteOffRefused { code, reason });
                    }
                }
            }
            return Ok(());
        }
        progress(SyncEvent::Split {
            report: id.0,
            codes: n,
            reason: reason.to_owned(),
        });
        let (a, b) = requeued.split_at(requeued.len() / 2);
        for half in [a, b] {
            let batch = self
                .ledger
                .start_report_for(kind, self.registry.api(), half)?;
            self.send(batch, report, progress)?;
        }
        Ok(())
    }

    /// Settle a report whose answer was lost, from what the registry says of its codes.
    fn resolve(
        &mut self,
        open: ReportBatch,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<(), SyncError> {
        let codes: Vec<String> = open
            .codes
            .iter()
            .map(|(_, c)| c.as_str().to_owned())
            .collect();
        let states = match self.registry.code_states(&codes) {
            Ok(s) => s,
            Err(e @ RegistryError::Unsupported { .. }) => {
                let reason = format!(
                    "the answer to this report was lost and {e}; look the report's codes up in the registry's web cabinet, then settle it"
                );
                if self.ledger.report_note(open.id, &reason)? {
                    progress(SyncEvent::Unresolvable {
                        report: open.id.0,
                        reason,
                    });
                }
                report.unresolved_reports += 1;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let done_state = match open.kind {
            ReportKind::Utilisation => RegistryCodeState::Applied,
            ReportKind::WriteOff => RegistryCodeState::WrittenOff,
        };
        let done: Vec<CodeId> = open
            .codes
            .iter()
            .zip(&states)
            .filter(|(_, s)| **s == done_state)
            .map(|((id, _), _)| *id)
            .collect();
        self.ledger.report_resolved(open.id, &done, self.actor)?;
        report.resolved_reports += 1;
        match open.kind {
            ReportKind::Utilisation => report.reported += done.len() as u64,
            ReportKind::WriteOff => report.written_off += done.len() as u64,
        }
        progress(SyncEvent::Resolved {
            report: open.id.0,
            applied: done.len(),
            requeued: codes.len() - done.len(),
        });
        Ok(())
    }
}

/// `YYYY-MM-DD` (UTC) of a moment.
fn date(t: SystemTime) -> String {
    let s = humantime::format_rfc3339_seconds(t).to_string();
    s.get(..10).unwrap_or("1970-01-01").to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000);
        assert_eq!(super::date(t), "2026-11-18");
    }
}
