// SPDX-License-Identifier: GPL-3.0-or-later
//! The sync's document step: send the ledger's queued registry documents (import notices) and follow
//! each to its outcome, exactly once through lost answers (see `ledger::documents`).
//!
//! A document is marked SENDING before its request leaves. A lost or unreadable answer leaves it
//! SENDING: it is looked for by the registry's document search (type and time, then its codes read
//! back), never sent again while it may exist; only after the settle window with no trace is it queued
//! again (audited). A document the registry refuses at once (400) was not taken: its codes come back
//! to be submitted again, with the registry's words; one refused for the account (401, 403) or the
//! address (404) stays queued, and the pass stops with the registry's words. Its outcome is recorded
//! per code: introduced,
//! refused by name, or returned (the document was refused for other codes or for itself).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::client::{AggregateSpec, AggregationMeta};
use super::client::{DocumentOutcome, ImportMeta, Refusal, RegistryError};
use super::documents::SEARCH_SLACK;
use super::sync::{SyncError, SyncEvent, SyncReport, Syncer};
use super::wire::ErrorClass;
use crate::codes::{Sscc, SsccForm};
use crate::ledger::boxes::BoxLevel;
use crate::ledger::documents::{Document, DocumentKind, DocumentResult, DocumentStatus};
use crate::ledger::now_ms;

impl Syncer<'_> {
    /// Follow the open documents that are due, then send the queued ones. Returns whether anything
    /// moved. Errors only when the link is the problem (the pass stops, everything resumable).
    pub(super) fn documents(
        &mut self,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<bool, SyncError> {
        let api = self.registry.api();
        // Boxes whose pairs' application was accepted are aggregated now, before anything is imported.
        self.ledger
            .queue_aggregations(api, self.opts.batch_size, self.actor)?;
        let mut progressed = false;
        for doc in self.ledger.open_documents_due(api, now_ms())? {
            progressed |= self.look_at_document(doc, report, progress)?;
        }
        while let Some(doc) = self.ledger.next_queued_document(api)? {
            if self.cancelled() {
                return Err(SyncError::Cancelled);
            }
            if !self.send_document(doc, report, progress)? {
                break;
            }
            progressed = true;
        }
        Ok(progressed)
    }

    /// Send one queued document. Returns whether it left the queue.
    fn send_document(
        &mut self,
        doc: Document,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<bool, SyncError> {
        if doc.kind == DocumentKind::Import && doc.declaration.is_none() {
            // Written by `submit` with the declaration; a document without one cannot be filed.
            return Err(SyncError::Store(crate::ledger::StoreError::DocumentState {
                id: doc.id.0,
                detail: "has no customs declaration".into(),
            }));
        }
        let owner = match (&doc.consignment, doc.kind, self.opts.owner_is_importer) {
            (Some(c), DocumentKind::Aggregation, true) => {
                Some(self.ledger.consignment(c)?.importer_bin)
            }
            _ => None,
        };
        let doc = self.ledger.document_sending(doc.id)?;
        let out = Outgoing::of(&doc, self.opts.sscc_form, owner);
        let entries = doc.entries();
        let sent = match &out {
            Outgoing::Import { entries, meta } => self.registry.send_import(entries, meta),
            Outgoing::Aggregation { units, meta } => self
                .registry
                .send_aggregation(&Outgoing::specs(units), meta),
            Outgoing::Disaggregation { ssccs, date_time } => {
                self.registry.send_disaggregation(ssccs, date_time)
            }
        };
        match sent {
            Ok(rid) => {
                self.ledger.document_sent(doc.id, &rid)?;
                progress(SyncEvent::DocumentSent {
                    document: doc.id.0,
                    kind: doc.kind,
                    codes: entries,
                });
                Ok(true)
            }
            Err(e) if e.maybe_committed() => {
                let reason = crate::codes::clean_message(&e.to_string());
                self.ledger.document_lost(doc.id, &reason)?;
                self.ledger
                    .document_check_later(doc.id, self.next_look(0), None)?;
                progress(SyncEvent::DocumentUnknown {
                    document: doc.id.0,
                    reason,
                });
                Ok(true)
            }
            Err(e @ (RegistryError::Transport { .. } | RegistryError::Api { .. }))
                if e.is_transient() =>
            {
                self.ledger.document_unsent(doc.id, &e.to_string())?;
                Err(e.into())
            }
            Err(e @ RegistryError::Api { .. }) if !matches!(&e, RegistryError::Api { error, .. } if error.class() == ErrorClass::Rejected) =>
            {
                // The account (401, 403) or the address (404) is at fault, not the document: it waits
                // in the queue and the pass stops with the registry's words, to go once that is fixed.
                self.ledger.document_unsent(doc.id, &e.to_string())?;
                Err(e.into())
            }
            Err(e @ RegistryError::Api { .. }) => {
                // Refused at once (400): not taken, nothing introduced.
                let reason = crate::codes::clean_message(&e.to_string());
                self.ledger
                    .document_refused_at_send(doc.id, &reason, self.actor)?;
                if doc.kind == DocumentKind::Import {
                    report.import_refused += doc.codes.len() as u64;
                } else {
                    report.boxes_refused += doc.units.len() as u64;
                }
                progress(SyncEvent::DocumentRefused {
                    document: doc.id.0,
                    accepted: 0,
                    refused: 0,
                    returned: entries,
                    reason,
                });
                Ok(true)
            }
            Err(e) => {
                // Unsupported, configuration: nothing was sent; it waits where it was.
                self.ledger.document_unsent(doc.id, &e.to_string())?;
                progress(SyncEvent::DocumentWaits {
                    document: doc.id.0,
                    reason: crate::codes::clean_message(&e.to_string()),
                });
                Ok(false)
            }
        }
    }

    /// Look at an open document once: a lost one is looked for, a sent one asked for its outcome.
    fn look_at_document(
        &mut self,
        doc: Document,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<bool, SyncError> {
        match doc.status {
            DocumentStatus::Sending => self.find_lost_document(doc, progress),
            DocumentStatus::Sent => self.document_outcome(doc, report, progress),
            _ => Ok(false),
        }
    }

    fn find_lost_document(
        &mut self,
        doc: Document,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<bool, SyncError> {
        let sent = doc.sending_ms.unwrap_or(doc.created_ms);
        let from = at_ms(sent).checked_sub(SEARCH_SLACK).unwrap_or(UNIX_EPOCH);
        let to = SystemTime::now() + SEARCH_SLACK;
        let window = (from, to);
        let out = Outgoing::of(&doc, self.opts.sscc_form, None);
        let found = match &out {
            Outgoing::Import { entries, .. } => self.registry.find_import(entries, window),
            Outgoing::Aggregation { units, .. } => self
                .registry
                .find_aggregation(&Outgoing::specs(units), window),
            Outgoing::Disaggregation { ssccs, .. } => {
                self.registry.find_disaggregation(ssccs, window)
            }
        };
        match found {
            Ok(Some(rid)) => {
                self.ledger.document_sent(doc.id, &rid)?;
                progress(SyncEvent::DocumentFound { document: doc.id.0 });
                Ok(true)
            }
            Ok(None) => {
                let window = i64::try_from(self.opts.settle_window.as_millis()).unwrap_or(i64::MAX);
                if now_ms() >= sent.saturating_add(window) {
                    self.ledger.document_untraced(doc.id, self.actor)?;
                    progress(SyncEvent::DocumentNoTrace { document: doc.id.0 });
                    return Ok(true);
                }
                self.ledger.document_check_later(
                    doc.id,
                    self.next_look(doc.checks),
                    Some("its answer was lost; the registry shows no trace of it yet"),
                )?;
                Ok(false)
            }
            Err(e) if e.is_transient() => Err(e.into()),
            Err(e) => {
                let reason = crate::codes::clean_message(&format!(
                    "its answer was lost and the registry cannot be searched for it ({e})"
                ));
                self.ledger.document_check_later(
                    doc.id,
                    self.next_look(doc.checks),
                    Some(&reason),
                )?;
                progress(SyncEvent::DocumentUnknown {
                    document: doc.id.0,
                    reason,
                });
                Ok(false)
            }
        }
    }

    fn document_outcome(
        &mut self,
        doc: Document,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<bool, SyncError> {
        let Some(rid) = doc.registry_id.clone() else {
            return Ok(false);
        };
        let n = doc.entries();
        let refused_codes = |r: &Refusal| -> Vec<(usize, String)> {
            r.named
                .iter()
                .filter(|&&i| i < n)
                .map(|&i| (i, r.reason.clone()))
                .collect()
        };
        let outcome = match doc.kind {
            DocumentKind::Import => self.registry.import_outcome(&rid),
            DocumentKind::Aggregation | DocumentKind::Disaggregation => {
                self.registry.aggregation_outcome(&rid)
            }
        };
        let result = match outcome {
            Ok(DocumentOutcome::InProcess) => {
                self.ledger
                    .document_check_later(doc.id, self.next_look(doc.checks), None)?;
                return Ok(false);
            }
            Ok(DocumentOutcome::NotFound) => {
                self.ledger.document_check_later(
                    doc.id,
                    self.next_look(doc.checks),
                    Some("the registry does not show this document yet"),
                )?;
                return Ok(false);
            }
            Ok(DocumentOutcome::Success) => DocumentResult::Success,
            Ok(DocumentOutcome::Partial(r)) => DocumentResult::Partial {
                refused: refused_codes(&r),
                reason: r.reason,
            },
            Ok(DocumentOutcome::Error(r)) => DocumentResult::Error {
                refused: refused_codes(&r),
                reason: r.reason,
            },
            Err(e) if e.is_transient() => return Err(e.into()),
            Err(e) => {
                self.ledger.document_check_later(
                    doc.id,
                    self.next_look(doc.checks),
                    Some(&crate::codes::clean_message(&e.to_string())),
                )?;
                return Ok(false);
            }
        };
        self.ledger.document_finished(doc.id, &result, self.actor)?;
        // What the registry took, counted the way the ledger recorded it.
        let t = self.ledger.document_tally(doc.id)?;
        let (accepted, refused, returned) = match doc.kind {
            DocumentKind::Import => (t.codes[0], t.codes[1], t.codes[2]),
            _ => (t.units[0], t.units[1], t.units[2]),
        };
        match doc.kind {
            DocumentKind::Import => {
                report.introduced += t.codes[0];
                report.import_refused += t.codes[1] + t.codes[2];
            }
            DocumentKind::Aggregation => {
                report.boxes_reported += t.units[0];
                report.boxes_refused += t.units[1] + t.units[2];
            }
            DocumentKind::Disaggregation => {}
        }
        let (accepted, refused, returned) =
            (accepted as usize, refused as usize, returned as usize);
        match &result {
            DocumentResult::Success => progress(SyncEvent::DocumentAccepted {
                document: doc.id.0,
                kind: doc.kind,
                codes: n,
            }),
            DocumentResult::Partial { reason, .. } | DocumentResult::Error { reason, .. } => {
                progress(SyncEvent::DocumentRefused {
                    document: doc.id.0,
                    accepted,
                    refused,
                    returned,
                    reason: reason.clone(),
                });
            }
        }
        Ok(true)
    }
}

fn at_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// What a document sends, as the registry client takes it.
enum Outgoing {
    /// Loose codes (full; the client cuts the tails), then the boxes' SSCCs.
    Import {
        entries: Vec<String>,
        meta: ImportMeta,
    },
    /// Each unit: its SSCC as sent, capacity, contents (pairs' full codes, or a pallet's boxes' SSCCs).
    Aggregation {
        units: Vec<(String, u32, Vec<String>)>,
        meta: AggregationMeta,
    },
    Disaggregation {
        ssccs: Vec<String>,
        date_time: String,
    },
}

impl Outgoing {
    fn of(doc: &Document, form: SsccForm, owner: Option<String>) -> Outgoing {
        let sscc =
            |s: &str| Sscc::parse(s).map_or_else(|_| s.to_owned(), |x| x.registry_form(form));
        match doc.kind {
            DocumentKind::Import => {
                let mut entries: Vec<String> = doc
                    .loose_codes()
                    .iter()
                    .map(|(_, c)| c.as_str().to_owned())
                    .collect();
                entries.extend(doc.units.iter().map(|u| sscc(&u.sscc)));
                let decl = doc.declaration.clone().unwrap_or_default();
                Outgoing::Import {
                    entries,
                    meta: ImportMeta {
                        number: decl.number,
                        date: decl.date,
                        customs_office: decl.customs_office,
                    },
                }
            }
            DocumentKind::Aggregation => {
                let code_of = |id| {
                    doc.codes
                        .iter()
                        .find(|(c, _)| *c == id)
                        .map(|(_, m)| m.as_str().to_owned())
                };
                let units = doc
                    .units
                    .iter()
                    .map(|u| {
                        let contents = match u.level {
                            BoxLevel::Box => u.pairs.iter().filter_map(|&p| code_of(p)).collect(),
                            BoxLevel::Pallet => u.boxes.iter().map(|b| sscc(b)).collect(),
                        };
                        (sscc(&u.sscc), u.capacity, contents)
                    })
                    .collect();
                // The packing date: when the last of its units was closed.
                let packed = doc
                    .units
                    .iter()
                    .filter_map(|u| u.closed_ms)
                    .max()
                    .unwrap_or(doc.created_ms);
                Outgoing::Aggregation {
                    units,
                    meta: AggregationMeta {
                        date_time: rfc3339(packed),
                        owner_tin: owner,
                    },
                }
            }
            DocumentKind::Disaggregation => Outgoing::Disaggregation {
                ssccs: doc.units.iter().map(|u| sscc(&u.sscc)).collect(),
                date_time: rfc3339(doc.created_ms),
            },
        }
    }

    fn specs(units: &[(String, u32, Vec<String>)]) -> Vec<AggregateSpec<'_>> {
        units
            .iter()
            .map(|(sscc, capacity, codes)| AggregateSpec {
                sscc,
                capacity: *capacity,
                codes,
                unbundle: false,
            })
            .collect()
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds), as document dates go to the registry.
fn rfc3339(ms: i64) -> String {
    humantime::format_rfc3339_seconds(at_ms(ms)).to_string()
}
