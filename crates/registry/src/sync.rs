// SPDX-License-Identifier: GPL-3.0-or-later
//! Sending application reports and write-offs: drain the ledger's outbox to the registry without losing
//! or repeating a code, whatever the link and the registry do.
//!
//! One pass ([`Syncer::once`]) loops until nothing more can be done now, or its time is up:
//! 1. settle the open reports that are due (each only at the registry it went to): a report whose id is
//!    known is asked for its status; one whose outcome is unknown (answer lost, any 5xx, a body that
//!    cannot be read) is looked for by the registry's search by type and time, then its codes are looked
//!    up in chunks. RECEIVED means "not yet", not "never": its codes are sent again only after the settle
//!    window passed with no trace of it, and that decision is audited. A report that cannot be settled
//!    now steps aside (looked at again later, less and less often) and the rest of the backlog flows;
//! 2. send the queue in reports of at most `batch_size` codes, one country of origin each: a few at a
//!    time (one at first, more as reports are accepted, at most `max_in_flight`).
//! 3. write-offs go the same way (a withdrawal document of type WRITE_OFF on xtrace). A registry without
//!    write-offs (oms-v2) gets none: those rows wait for a supervisor with a clear reason.
//!
//! A refused report: codes the registry names (a reason naming them, document errors by index) go to a
//! supervisor and the rest are sent again. A refusal naming no code is halved (see `ledger::reports`): a
//! half that succeeds proves the other holds the culprits, and a code refused alone after that goes to
//! review; both halves refused proves the registry refuses the report itself (balance, business place):
//! it is held for a supervisor with the registry's reason, no code goes to review, and no more reports of
//! that kind go to that registry until a supervisor sends it again (`Ledger::resend_held`).
//!
//! A pass stops at an error that needs the link back (transport, 5xx after retries, 429) and leaves
//! everything resumable, halving included; the next pass carries on. A report whose outcome is unknown
//! on a registry that cannot be asked (oms-v2) waits for a supervisor (`Ledger::settle_report`).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

pub use super::background::{Background, ClientFactory, LinkState, SyncState, record_pass};
use super::client::{
    Refusal, Registry, RegistryCodeState, RegistryError, ReportOutcome, UtilisationMeta,
    WriteOffMeta,
};
use crate::ledger::documents::DocumentKind;
use crate::ledger::reports::{ReportBatch, ReportId, ReportKind, ReportStatus};
use crate::ledger::{Actor, CodeId, Ledger, StoreError, now_ms};

#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Codes per report at most (the registry's documented maximum is 30 000).
    pub batch_size: u32,
    /// Pause between looks at a report being processed; it grows with each look, up to `check_max`.
    pub poll_interval: Duration,
    /// The longest pause between two looks at an unsettled report.
    pub check_max: Duration,
    /// How long one pass waits for outcomes before it steps aside (reports left open are looked at by
    /// the next pass).
    pub report_timeout: Duration,
    /// A report whose outcome is unknown and of which the registry shows no trace is sent again only
    /// after this long from when it was sent: the registry may still be processing it.
    pub settle_window: Duration,
    /// Codes per code lookup request (the registry's limit is not published; a lookup it refuses as too
    /// big is asked in halves).
    pub lookup_chunk: usize,
    /// Reports being processed by the registry at once, at most.
    pub max_in_flight: u32,
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
    /// How box codes go to the registry (`aggregation.sscc_form`).
    pub sscc_form: crate::codes::SsccForm,
    /// Aggregations name the consignment's importer as the codes' owner (`ownerTin`): the warehouse
    /// files them as its service provider (`aggregation.file_for_importer`).
    pub owner_is_importer: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            batch_size: 30_000,
            poll_interval: Duration::from_secs(2),
            check_max: Duration::from_secs(600),
            report_timeout: Duration::from_secs(120),
            settle_window: Duration::from_secs(6 * 3600),
            lookup_chunk: 1000,
            max_in_flight: 4,
            default_country: None,
            expiry_days: 3650,
            write_off_reason: "DEFECT".into(),
            cancel: None,
            sscc_form: crate::codes::SsccForm::WithAi,
            owner_is_importer: false,
        }
    }
}

/// Progress, for a log line or the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SyncEvent {
    /// A report whose outcome was unknown was settled from the registry's evidence.
    Resolved {
        report: i64,
        applied: usize,
        requeued: usize,
    },
    /// The settle window passed with no trace of a report: its codes are sent again.
    NoTrace {
        report: i64,
        applied: usize,
        requeued: usize,
    },
    Sent {
        report: i64,
        codes: usize,
    },
    /// The outcome of a report is unknown (answer lost, 5xx, unreadable): it is settled from the
    /// registry's evidence, not sent again.
    Unknown {
        report: i64,
        reason: String,
    },
    /// The registry's search found a report whose answer was lost.
    Found {
        report: i64,
    },
    Accepted {
        report: i64,
        codes: usize,
    },
    /// The registry refused a report without naming codes; its codes are sent again in two halves.
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
    /// The registry refuses the report itself (both halves refused naming nothing): held for a
    /// supervisor, who sends it again once the cause is fixed.
    Held {
        report: i64,
        codes: u64,
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
    /// A report whose outcome is unknown cannot be settled by asking this registry: a supervisor must.
    Unresolvable {
        report: i64,
        reason: String,
    },
    /// A registry document (import notice, aggregation, disaggregation) was sent and taken for
    /// processing; `codes` entries (codes and boxes as sent).
    DocumentSent {
        document: i64,
        kind: DocumentKind,
        codes: usize,
    },
    /// The outcome of sending a document is unknown: it is looked for, never sent again.
    DocumentUnknown {
        document: i64,
        reason: String,
    },
    /// The registry's search found a document whose answer was lost.
    DocumentFound {
        document: i64,
    },
    /// Every entry of a document was taken (an import notice: its codes in circulation; an
    /// aggregation: its boxes reported).
    DocumentAccepted {
        document: i64,
        kind: DocumentKind,
        codes: usize,
    },
    /// A document was refused in part or whole: `accepted` codes taken, `refused` named by the
    /// registry, `returned` to be submitted again.
    DocumentRefused {
        document: i64,
        accepted: usize,
        refused: usize,
        returned: usize,
        reason: String,
    },
    /// The settle window passed with no trace of a lost document: it is sent again.
    DocumentNoTrace {
        document: i64,
    },
    /// A document cannot be sent to this registry now; it waits in the queue.
    DocumentWaits {
        document: i64,
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
    #[error("sync stopped; it carries on where it left off when started again")]
    Cancelled,
}

impl SyncError {
    /// Whether the link (or the registry) is the problem: try again later.
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Registry(e) => e.is_transient() || e.maybe_committed(),
            SyncError::Cancelled => true,
            _ => false,
        }
    }

    /// How long the registry asked to be left alone.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SyncError::Registry(e) => e.retry_after(),
            _ => None,
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
    /// Open reports only a supervisor can settle (their outcome is unknown on a registry that cannot be
    /// asked).
    pub unresolved_reports: u64,
    /// Codes held for a supervisor in reports the registry refused as a whole.
    pub held: u64,
    /// Codes put into circulation by import documents.
    pub introduced: u64,
    /// Codes of import documents refused (by name, or returned with their refused document).
    pub import_refused: u64,
    /// Boxes and pallets whose aggregation the registry accepted.
    pub boxes_reported: u64,
    /// Boxes and pallets whose aggregation (or disaggregation) the registry refused.
    pub boxes_refused: u64,
    pub backlog: crate::ledger::reports::Backlog,
}

/// A sync: the ledger, the registry, and how to go about it (`Syncer`: `Sync` is std's marker trait).
pub struct Syncer<'a> {
    pub ledger: &'a mut Ledger,
    pub registry: &'a mut dyn Registry,
    pub opts: SyncOptions,
    pub actor: &'a Actor,
}

/// What a pass keeps between its steps.
pub(super) struct PassState {
    /// Reports it may have in process at once now (slow start: one, more as reports are accepted).
    pub(super) in_flight: u32,
    /// Reports that could not be looked at in this pass (an error): not waited for again.
    pub(super) stuck: HashSet<ReportId>,
    /// Kinds that cannot be sent in this pass (no country, paused).
    pub(super) blocked: HashSet<&'static str>,
    /// The registry answered a look at a report with an error: check it answers before sending more.
    pub(super) doubtful: bool,
    pub(super) deferred: Option<SyncError>,
}

impl Syncer<'_> {
    /// One pass: settle what is due, send the queues (application reports, then write-offs), and wait
    /// for outcomes while there is time.
    pub fn once(&mut self, progress: &mut dyn FnMut(SyncEvent)) -> Result<SyncReport, SyncError> {
        let mut report = SyncReport::default();
        let result = self.pass(&mut report, progress);
        report.backlog = self.ledger.backlog()?;
        result.map(|()| report)
    }

    pub(super) fn cancelled(&self) -> bool {
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
        let api = self.registry.api();
        let started = Instant::now();
        let mut st = PassState {
            in_flight: 1,
            stuck: HashSet::new(),
            blocked: HashSet::new(),
            doubtful: false,
            deferred: None,
        };
        loop {
            if self.cancelled() {
                return Err(SyncError::Cancelled);
            }
            let mut progressed = false;
            for open in self.ledger.open_reports_due(api, now_ms())? {
                if st.stuck.contains(&open.id) {
                    continue;
                }
                progressed |= self.check(open, &mut st, report, progress)?;
            }
            for kind in ReportKind::ALL {
                progressed |= self.send_queue(kind, &mut st, report, progress)?;
            }
            progressed |= self.documents(report, progress)?;
            if progressed {
                continue;
            }
            let stuck: Vec<ReportId> = st.stuck.iter().copied().collect();
            let next = match (
                self.ledger.next_check(api, &stuck)?,
                self.ledger.next_document_check(api)?,
            ) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let left = self.opts.report_timeout.saturating_sub(started.elapsed());
            match next.map(|at| Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0))) {
                // Something is due within the time this pass has left: wait for it.
                Some(wait) if wait < left => self.sleep(wait.max(Duration::from_millis(5)))?,
                // Nothing due soon: what is open is left for the next pass.
                _ => break,
            }
        }
        st.deferred.map_or(Ok(()), Err)
    }

    fn sleep(&self, d: Duration) -> Result<(), SyncError> {
        let until = Instant::now() + d;
        while Instant::now() < until {
            if self.cancelled() {
                return Err(SyncError::Cancelled);
            }
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(100)));
        }
        Ok(())
    }

    /// Send reports of `kind` while the registry may take more. Returns whether anything was sent.
    fn send_queue(
        &mut self,
        kind: ReportKind,
        st: &mut PassState,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<bool, SyncError> {
        let api = self.registry.api();
        if st.blocked.contains(kind.as_str()) {
            return Ok(false);
        }
        if let Some(held) = self.ledger.held_report_of(kind, api)? {
            // The registry refuses reports of this kind as a whole: more would be refused the same way.
            tracing::debug!(
                "registry sync: {} reports wait while report #{} is held for a supervisor",
                kind.as_str(),
                held.0
            );
            st.blocked.insert(kind.as_str());
            return Ok(false);
        }
        let mut sent = false;
        loop {
            let stuck: Vec<ReportId> = st.stuck.iter().copied().collect();
            if self.ledger.reports_in_process(api, &stuck)? >= st.in_flight {
                break;
            }
            if self.cancelled() {
                return Err(SyncError::Cancelled);
            }
            if !self.ledger.has_sendable(kind, api)? {
                break;
            }
            if st.doubtful {
                // A report sent to a registry that fails would only add one more of unknown outcome.
                self.registry.ping()?;
                st.doubtful = false;
            }
            let Some(batch) = self.ledger.start_report(kind, api, self.opts.batch_size)? else {
                break;
            };
            match self.send(batch, st, report, progress) {
                Ok(()) => sent = true,
                // The queue's head has no country: nothing of this kind can go before it is fixed, but
                // write-offs need no country, so they still go.
                Err(SyncError::NoCountry) => {
                    st.deferred = Some(SyncError::NoCountry);
                    st.blocked.insert(kind.as_str());
                    break;
                }
                Err(e) => return Err(e),
            }
            if self.ledger.held_report_of(kind, api)?.is_some() {
                st.blocked.insert(kind.as_str());
                break;
            }
        }
        Ok(sent)
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
        st: &mut PassState,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<(), SyncError> {
        let codes = code_strings(&batch);
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
                self.ledger
                    .report_check_later(batch.id, self.next_look(0), None)?;
                progress(SyncEvent::Sent {
                    report: batch.id.0,
                    codes: codes.len(),
                });
                Ok(())
            }
            // The registry may have taken it: it stays open and is settled from the registry's evidence.
            Err(e) if e.maybe_committed() => {
                let reason = e.to_string();
                tracing::warn!(
                    "registry sync: report #{}: outcome unknown: {reason}",
                    batch.id.0
                );
                self.ledger.report_lost(batch.id, &reason)?;
                self.ledger
                    .report_check_later(batch.id, self.next_look(0), None)?;
                progress(SyncEvent::Unknown {
                    report: batch.id.0,
                    reason,
                });
                Ok(())
            }
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
            // Refused outright (4xx other than auth): a refusal like one after processing.
            Err(RegistryError::Api { error, .. })
                if error.class() == super::wire::ErrorClass::Rejected =>
            {
                let refusal = Refusal {
                    reason: error.to_string(),
                    named: Vec::new(),
                };
                self.refused(batch, refusal, st, report, progress)
            }
            // Certainly not taken (429, no connection, a client-side problem): queued again in the same
            // place; the pass stops if the link is the problem.
            Err(e) => {
                self.ledger.report_unsent(batch.id, &e.to_string())?;
                Err(e.into())
            }
        }
    }

    /// When to look at a report again after `checks` looks: a little later each time, up to the most.
    pub(super) fn next_look(&self, checks: u32) -> i64 {
        let d = self
            .opts
            .poll_interval
            .saturating_mul(checks.saturating_add(1))
            .min(self.opts.check_max.max(self.opts.poll_interval));
        now_ms().saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    /// Look at an open report once. Returns whether it was settled (or found). Errors only when the link
    /// is the problem (the pass stops); anything else leaves the report aside.
    fn check(
        &mut self,
        open: ReportBatch,
        st: &mut PassState,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<bool, SyncError> {
        match (open.status, open.registry_id.clone()) {
            (ReportStatus::Sent, Some(rid)) => {
                let outcome = match open.kind {
                    ReportKind::Utilisation => self.registry.report_outcome(&rid),
                    ReportKind::WriteOff => self.registry.write_off_outcome(&rid),
                };
                match outcome {
                    Ok(ReportOutcome::Accepted) => {
                        self.accepted(open, st, report, progress)?;
                        Ok(true)
                    }
                    Ok(ReportOutcome::Rejected(refusal)) => {
                        self.refused(open, refusal, st, report, progress)?;
                        Ok(true)
                    }
                    Ok(ReportOutcome::InProcess) => {
                        self.ledger.report_check_later(
                            open.id,
                            self.next_look(open.checks),
                            None,
                        )?;
                        Ok(false)
                    }
                    Ok(ReportOutcome::Forwarded) => {
                        let note = self.past_window(&open).then_some(
                            "the registry passed the report on but has not confirmed it processed; check it in the registry's web cabinet and settle it by hand if it stays so",
                        );
                        self.ledger.report_check_later(
                            open.id,
                            self.next_look(open.checks),
                            note,
                        )?;
                        Ok(false)
                    }
                    // The registry does not know the id it gave: settle from its evidence instead.
                    Ok(ReportOutcome::NotFound) => {
                        self.ledger.report_lost(
                            open.id,
                            &format!("the registry does not know report id {rid}"),
                        )?;
                        self.code_evidence(open, st, report, progress)
                    }
                    Err(e) => self.aside(&open, e, st),
                }
            }
            _ => {
                if open.lost_ms.is_none() {
                    // Left SENDING by a sync that stopped mid-request (this pass holds the sync claim,
                    // so no one is sending it now): its outcome is unknown.
                    self.ledger
                        .report_lost(open.id, "the sync stopped while sending it")?;
                }
                self.evidence(open, st, report, progress)
            }
        }
    }

    /// An error looking at `open`: the report steps aside until later, and the rest of the backlog goes
    /// on. Only the link down (nothing answers) or the registry asking to be left alone (429) stop the
    /// pass; a registry error here makes the pass check that the registry answers before it sends more.
    fn aside(
        &mut self,
        open: &ReportBatch,
        e: RegistryError,
        st: &mut PassState,
    ) -> Result<bool, SyncError> {
        st.stuck.insert(open.id);
        self.ledger.report_check_later(
            open.id,
            self.next_look(open.checks.max(3)),
            Some(&format!("cannot be settled now: {e}")),
        )?;
        if matches!(e, RegistryError::Transport { .. }) || e.retry_after().is_some() {
            return Err(e.into());
        }
        tracing::warn!("registry sync: report #{} waits: {e}", open.id.0);
        st.doubtful |= e.is_transient();
        Ok(false)
    }

    fn past_window(&self, open: &ReportBatch) -> bool {
        let window = i64::try_from(self.opts.settle_window.as_millis()).unwrap_or(i64::MAX);
        now_ms() >= open.created_ms.saturating_add(window)
    }

    /// Settle a report whose outcome is unknown from the registry's evidence: the report itself found
    /// by the search, or each of its codes' state.
    fn evidence(
        &mut self,
        open: ReportBatch,
        st: &mut PassState,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<bool, SyncError> {
        let codes = code_strings(&open);
        let sent = UNIX_EPOCH + Duration::from_millis(u64::try_from(open.created_ms).unwrap_or(0));
        let window = (
            sent.checked_sub(super::documents::SEARCH_SLACK)
                .unwrap_or(sent),
            SystemTime::now() + super::documents::SEARCH_SLACK,
        );
        match self.registry.find_report(open.kind, &codes, window) {
            Ok(Some(rid)) => {
                tracing::info!(
                    "registry sync: report #{} found in the registry as {rid}",
                    open.id.0
                );
                self.ledger.report_sent(open.id, &rid)?;
                progress(SyncEvent::Found { report: open.id.0 });
                let found = self.ledger.report(open.id)?;
                return self.check(found, st, report, progress).map(|_| true);
            }
            Ok(None) | Err(RegistryError::Unsupported { .. }) => {}
            Err(e) if e.is_transient() => return self.aside(&open, e, st),
            Err(e) => tracing::debug!("registry sync: report #{}: search failed: {e}", open.id.0),
        }
        self.code_evidence(open, st, report, progress)
    }

    /// Settle a report whose outcome is unknown from what the registry says of each of its codes
    /// (looked up in chunks): all done, settled; otherwise "not yet" until the settle window passed.
    fn code_evidence(
        &mut self,
        open: ReportBatch,
        st: &mut PassState,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<bool, SyncError> {
        let codes = code_strings(&open);
        let mut states = Vec::with_capacity(codes.len());
        for chunk in codes.chunks(self.opts.lookup_chunk.max(1)) {
            match self.registry.code_states(chunk) {
                Ok(s) => states.extend(s),
                Err(e @ RegistryError::Unsupported { .. }) => {
                    let reason = format!(
                        "the outcome of this report is unknown and {e}; look its codes up in the registry's web cabinet, then settle it"
                    );
                    if self.ledger.report_note(open.id, &reason)? {
                        progress(SyncEvent::Unresolvable {
                            report: open.id.0,
                            reason,
                        });
                    }
                    report.unresolved_reports += 1;
                    st.stuck.insert(open.id);
                    self.ledger
                        .report_check_later(open.id, self.next_look(u32::MAX), None)?;
                    return Ok(false);
                }
                Err(e) => return self.aside(&open, e, st),
            }
        }
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
        let n = open.codes.len();
        let tally = |r: &mut SyncReport, k: usize| match open.kind {
            ReportKind::Utilisation => r.reported += k as u64,
            ReportKind::WriteOff => r.written_off += k as u64,
        };
        if done.len() == n {
            self.ledger.report_resolved(open.id, &done, self.actor)?;
            report.resolved_reports += 1;
            tally(report, n);
            progress(SyncEvent::Resolved {
                report: open.id.0,
                applied: n,
                requeued: 0,
            });
            self.after_acceptance(open.id, st, report, progress)?;
            return Ok(true);
        }
        if self.past_window(&open) {
            let waited = u64::try_from(now_ms() - open.created_ms).unwrap_or(0) / 1000;
            tracing::warn!(
                "registry sync: report #{}: no trace of it {waited} s after it was sent (settle window {} s); its {} code(s) not found done are sent again",
                open.id.0,
                self.opts.settle_window.as_secs(),
                n - done.len()
            );
            self.ledger
                .report_untraced(open.id, &done, waited, self.actor)?;
            report.resolved_reports += 1;
            tally(report, done.len());
            progress(SyncEvent::NoTrace {
                report: open.id.0,
                applied: done.len(),
                requeued: n - done.len(),
            });
            return Ok(true);
        }
        // Not yet: the registry may still be processing it.
        self.ledger.report_check_later(
            open.id,
            self.next_look(open.checks),
            Some("outcome unknown; the registry shows no trace of it yet"),
        )?;
        Ok(false)
    }
}

fn code_strings(b: &ReportBatch) -> Vec<String> {
    b.codes.iter().map(|(_, c)| c.as_str().to_owned()).collect()
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
