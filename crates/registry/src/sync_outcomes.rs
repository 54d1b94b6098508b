// SPDX-License-Identifier: GPL-3.0-or-later
//! What the registry's answer to a report does to the ledger: accepted (and what that proves about a
//! halved report's other half), refused (codes named go to a supervisor, a refusal naming none is
//! halved or held; see the `sync` module docs), or refused for codes the registry already has applied.

use super::client::{Refusal, RegistryCodeState};
use super::sync::{PassState, SyncError, SyncEvent, SyncReport, Syncer};
use super::wire::IdentMatcher;
use crate::ledger::CodeId;
use crate::ledger::reports::{AfterRefusal, ReportBatch, ReportId, ReportKind, Sibling};

impl Syncer<'_> {
    pub(super) fn accepted(
        &mut self,
        open: ReportBatch,
        st: &mut PassState,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<(), SyncError> {
        let n = open.codes.len();
        self.ledger.report_accepted(open.id, self.actor)?;
        match open.kind {
            ReportKind::Utilisation => report.reported += n as u64,
            ReportKind::WriteOff => report.written_off += n as u64,
        }
        progress(SyncEvent::Accepted {
            report: open.id.0,
            codes: n,
        });
        self.after_acceptance(open.id, st, report, progress)
    }

    /// A report was accepted: the registry takes reports again (one more may be in process at once),
    /// and a code kept aside in the other half of its parent is proved at fault.
    pub(super) fn after_acceptance(
        &mut self,
        id: ReportId,
        st: &mut PassState,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<(), SyncError> {
        st.in_flight = (st.in_flight + 1).min(self.opts.max_in_flight.max(1));
        let kind = self.ledger.report(id)?.kind;
        for (code, reason) in self.ledger.refuse_waiting_sibling(id, self.actor)? {
            refused_event(kind, code, reason, report, progress);
        }
        Ok(())
    }

    /// The registry refused a report. See the module docs for what becomes of its codes.
    pub(super) fn refused(
        &mut self,
        open: ReportBatch,
        refusal: Refusal,
        st: &mut PassState,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<(), SyncError> {
        st.in_flight = 1;
        let reason = refusal.reason.clone();
        let named = self.named(&open, &refusal);
        if !named.is_empty() {
            let (applied, culprits) = self.already_applied(&open, named);
            self.ledger.report_refused(
                open.id,
                &reason,
                false,
                &culprits,
                AfterRefusal::Requeue,
                self.actor,
            )?;
            if !applied.is_empty() {
                // The registry shows these applied already: an earlier report of them went through.
                tracing::warn!(
                    "registry sync: report #{}: {} code(s) refused as already applied; the registry shows them applied",
                    open.id.0,
                    applied.len()
                );
                self.mark_applied(&applied)?;
                report.reported += applied.len() as u64;
            }
            for c in culprits {
                refused_event(open.kind, c, reason.clone(), report, progress);
            }
            return Ok(());
        }
        let n = open.codes.len();
        let sibling = self.ledger.sibling(open.id)?;
        let then = match (sibling, n) {
            // The other half succeeded: the fault is in this one.
            (Sibling::Accepted, 1) => {
                let code = open.codes[0].0;
                self.ledger.report_refused(
                    open.id,
                    &reason,
                    false,
                    &[code],
                    AfterRefusal::Requeue,
                    self.actor,
                )?;
                refused_event(open.kind, code, reason, report, progress);
                return Ok(());
            }
            (Sibling::Accepted, _) => AfterRefusal::Split,
            // Both halves refused without naming a code: the registry refuses the report.
            (Sibling::RefusedWhole, _) => AfterRefusal::Hold(open.parent.unwrap_or(open.id)),
            (Sibling::Pending, 1) => AfterRefusal::Wait,
            (Sibling::Pending, _) => AfterRefusal::Split,
            (Sibling::None, 1) => AfterRefusal::Hold(open.id),
            (Sibling::None, _) => AfterRefusal::Split,
        };
        self.ledger
            .report_refused(open.id, &reason, true, &[], then, self.actor)?;
        match then {
            AfterRefusal::Split => progress(SyncEvent::Split {
                report: open.id.0,
                codes: n,
                reason,
            }),
            AfterRefusal::Hold(root) => {
                let codes = self
                    .ledger
                    .held_reports()?
                    .into_iter()
                    .find(|h| h.id == root)
                    .map_or(0, |h| h.codes);
                tracing::warn!(
                    "registry sync: the registry refuses report #{} as a whole ({reason}); its {codes} code(s) are held for a supervisor",
                    root.0
                );
                report.held += codes;
                progress(SyncEvent::Held {
                    report: root.0,
                    codes,
                    reason,
                });
            }
            AfterRefusal::Wait | AfterRefusal::Requeue => {}
        }
        Ok(())
    }

    /// The codes of `open` the refusal names: by position (document errors), or in its reason's text.
    pub(super) fn named(&self, open: &ReportBatch, refusal: &Refusal) -> Vec<CodeId> {
        open.codes
            .iter()
            .enumerate()
            .filter(|(i, (_, c))| {
                refusal.named.contains(i) || IdentMatcher::named_in(&refusal.reason, c.as_str())
            })
            .map(|(_, (id, _))| *id)
            .collect()
    }

    /// Split named application codes into those the registry shows applied already and the rest.
    /// Write-offs, and a registry that cannot be asked, keep every named code a culprit.
    pub(super) fn already_applied(
        &mut self,
        open: &ReportBatch,
        named: Vec<CodeId>,
    ) -> (Vec<CodeId>, Vec<CodeId>) {
        if open.kind != ReportKind::Utilisation {
            return (Vec::new(), named);
        }
        let codes: Vec<String> = open
            .codes
            .iter()
            .filter(|(id, _)| named.contains(id))
            .map(|(_, c)| c.as_str().to_owned())
            .collect();
        let mut states = Vec::new();
        for chunk in codes.chunks(self.opts.lookup_chunk.max(1)) {
            match self.registry.code_states(chunk) {
                Ok(s) => states.extend(s),
                Err(_) => return (Vec::new(), named),
            }
        }
        let (applied, culprits): (Vec<_>, Vec<_>) = named
            .into_iter()
            .zip(states)
            .partition(|(_, s)| *s == RegistryCodeState::Applied);
        (
            applied.into_iter().map(|(c, _)| c).collect(),
            culprits.into_iter().map(|(c, _)| c).collect(),
        )
    }

    /// Codes found applied in the registry although their report was refused: REPORTED, as a report
    /// of their own settled from the registry's word.
    pub(super) fn mark_applied(&mut self, codes: &[CodeId]) -> Result<(), SyncError> {
        let api = self.registry.api();
        let batch = self
            .ledger
            .start_report_for(ReportKind::Utilisation, api, codes)?;
        self.ledger
            .report_lost(batch.id, "refused as already applied")?;
        self.ledger.report_resolved(batch.id, codes, self.actor)?;
        Ok(())
    }
}

pub(super) fn refused_event(
    kind: ReportKind,
    code: CodeId,
    reason: String,
    report: &mut SyncReport,
    progress: &mut dyn FnMut(SyncEvent),
) {
    match kind {
        ReportKind::Utilisation => {
            report.refused += 1;
            progress(SyncEvent::Refused {
                code: code.0,
                reason,
            });
        }
        ReportKind::WriteOff => {
            report.write_off_refused += 1;
            progress(SyncEvent::WriteOffRefused {
                code: code.0,
                reason,
            });
        }
    }
}
