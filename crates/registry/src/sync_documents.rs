// SPDX-License-Identifier: GPL-3.0-or-later
//! The sync's document step: send the ledger's queued registry documents (import notices) and follow
//! each to its outcome, exactly once through lost answers (see `store::documents`).
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

use super::client::{DocumentOutcome, ImportMeta, Refusal, RegistryError};
use super::documents::SEARCH_SLACK;
use super::sync::{Sync, SyncError, SyncEvent, SyncReport};
use super::wire::ErrorClass;
use crate::store::documents::{Document, DocumentResult, DocumentStatus};
use crate::store::now_ms;

impl Sync<'_> {
    /// Follow the open documents that are due, then send the queued ones. Returns whether anything
    /// moved. Errors only when the link is the problem (the pass stops, everything resumable).
    pub(super) fn documents(
        &mut self,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent),
    ) -> Result<bool, SyncError> {
        let api = self.registry.api();
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
        let Some(decl) = doc.declaration.clone() else {
            // Written by `submit` with the declaration; a document without one cannot be filed.
            return Err(SyncError::Store(crate::store::StoreError::DocumentState {
                id: doc.id.0,
                detail: "has no customs declaration".into(),
            }));
        };
        let doc = self.ledger.document_sending(doc.id)?;
        let codes: Vec<String> = doc
            .codes
            .iter()
            .map(|(_, c)| c.as_str().to_owned())
            .collect();
        let meta = ImportMeta {
            number: decl.number,
            date: decl.date,
            customs_office: decl.customs_office,
        };
        match self.registry.send_import(&codes, &meta) {
            Ok(rid) => {
                self.ledger.document_sent(doc.id, &rid)?;
                progress(SyncEvent::DocumentSent {
                    document: doc.id.0,
                    codes: codes.len(),
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
                report.import_refused += codes.len() as u64;
                progress(SyncEvent::DocumentRefused {
                    document: doc.id.0,
                    accepted: 0,
                    refused: 0,
                    returned: codes.len(),
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
        let codes: Vec<String> = doc
            .codes
            .iter()
            .map(|(_, c)| c.as_str().to_owned())
            .collect();
        match self.registry.find_import(&codes, (from, to)) {
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
        let n = doc.codes.len();
        let refused_codes = |r: &Refusal| -> Vec<(usize, String)> {
            r.named
                .iter()
                .filter(|&&i| i < n)
                .map(|&i| (i, r.reason.clone()))
                .collect()
        };
        let result = match self.registry.import_outcome(&rid) {
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
        match &result {
            DocumentResult::Success => {
                report.introduced += n as u64;
                progress(SyncEvent::DocumentAccepted {
                    document: doc.id.0,
                    codes: n,
                });
            }
            DocumentResult::Partial { reason, refused }
            | DocumentResult::Error { reason, refused } => {
                let partial = matches!(result, DocumentResult::Partial { .. });
                let accepted = if partial { n - refused.len() } else { 0 };
                let returned = if partial { 0 } else { n - refused.len() };
                report.introduced += accepted as u64;
                report.import_refused += (refused.len() + returned) as u64;
                progress(SyncEvent::DocumentRefused {
                    document: doc.id.0,
                    accepted,
                    refused: refused.len(),
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
