// SPDX-License-Identifier: GPL-3.0-or-later
//! Registry documents as the ledger records them: the import notice that puts a consignment's applied
//! codes into circulation (and, later, aggregation documents).
//!
//! The protocol (the sync engine drives it), the same discipline as application reports:
//! 1. [`Ledger::submit_consignment`] writes QUEUED documents (at most `chunk` codes each) for the
//!    consignment's applied codes, with the declaration as it is then. A code is in at most one live
//!    document of a kind (the schema refuses a second), so no code is introduced twice.
//! 2. [`Ledger::document_sending`] marks one SENDING *before* its request leaves. From then on it may
//!    exist at the registry: its outcome is found by asking, never by sending it again.
//!    [`Ledger::document_sent`] records the registry's id; [`Ledger::document_unsent`] puts it back in
//!    the queue when the request certainly did not take effect; [`Ledger::document_lost`] when the
//!    answer was lost (it stays SENDING and is looked for by the registry's document search).
//! 3. [`Ledger::document_finished`] records the outcome per code: ACCEPTED (introduced), REFUSED (the
//!    registry named the code, with its error) or RETURNED (not introduced because the document was
//!    refused for other codes or for itself: a supervisor submits them again once the cause is fixed).
//! 4. A lost document the search cannot find after the settle window goes back to the queue, audited
//!    ([`Ledger::document_untraced`]).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::aggregation::{DocUnit, import_items, insert_document, units_of};
use super::consignments::Declaration;
pub use super::consignments::valid_date;
use super::{Actor, CodeId, Ledger, StoreError, audit, begin, code_row, now_ms};
use crate::codes::MarkingCode;

/// Row id of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct DocumentId(pub i64);

/// Which registry document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocumentKind {
    /// Import notice: the codes (or whole boxes) into circulation under a customs declaration.
    Import,
    /// Pairs into boxes (boxes onto pallets) under their SSCC.
    Aggregation,
    /// Boxes or pallets unpacked (transport-code disaggregation).
    Disaggregation,
}

impl DocumentKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Import => "IMPORT",
            DocumentKind::Aggregation => "AGGREGATION",
            DocumentKind::Disaggregation => "DISAGGREGATION",
        }
    }

    fn parse(s: &str) -> Option<DocumentKind> {
        match s {
            "IMPORT" => Some(DocumentKind::Import),
            "AGGREGATION" => Some(DocumentKind::Aggregation),
            "DISAGGREGATION" => Some(DocumentKind::Disaggregation),
            _ => None,
        }
    }
}

/// Where a document stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocumentStatus {
    /// Written, not sent yet.
    Queued,
    /// Its request left (or was about to): it may exist at the registry.
    Sending,
    /// The registry took it and gave its id; being processed.
    Sent,
    /// Every code taken.
    Success,
    /// Some codes refused, the others taken.
    Partial,
    /// Nothing taken.
    Error,
}

impl DocumentStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            DocumentStatus::Queued => "QUEUED",
            DocumentStatus::Sending => "SENDING",
            DocumentStatus::Sent => "SENT",
            DocumentStatus::Success => "SUCCESS",
            DocumentStatus::Partial => "PARTIAL",
            DocumentStatus::Error => "ERROR",
        }
    }

    fn parse(s: &str) -> Option<DocumentStatus> {
        Some(match s {
            "QUEUED" => DocumentStatus::Queued,
            "SENDING" => DocumentStatus::Sending,
            "SENT" => DocumentStatus::Sent,
            "SUCCESS" => DocumentStatus::Success,
            "PARTIAL" => DocumentStatus::Partial,
            "ERROR" => DocumentStatus::Error,
            _ => return None,
        })
    }

    /// Whether its outcome is still to come.
    pub const fn is_open(self) -> bool {
        matches!(
            self,
            DocumentStatus::Queued | DocumentStatus::Sending | DocumentStatus::Sent
        )
    }
}

/// A document and its codes, in the order they are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: DocumentId,
    pub kind: DocumentKind,
    pub api: String,
    pub consignment: Option<String>,
    pub status: DocumentStatus,
    pub registry_id: Option<String>,
    pub declaration: Option<Declaration>,
    pub created_ms: i64,
    /// When it was marked SENDING (just before its request left).
    pub sending_ms: Option<i64>,
    /// When its answer was found lost.
    pub lost_ms: Option<i64>,
    pub checks: u32,
    pub reason: Option<String>,
    /// Every code it accounts for, by position: an import's loose pairs first, then the pairs of the
    /// boxes it declares; an aggregation's pairs, box by box.
    pub codes: Vec<(CodeId, MarkingCode)>,
    /// The boxes or pallets it carries, by position.
    pub units: Vec<DocUnit>,
}

impl Document {
    /// An import's pairs declared one by one (not in a box it declares), by position: the first
    /// entries of what is sent, before the boxes.
    pub fn loose_codes(&self) -> &[(CodeId, MarkingCode)] {
        let boxed: usize = self.units.iter().map(|u| u.pairs.len()).sum();
        match self.kind {
            DocumentKind::Import => &self.codes[..self.codes.len().saturating_sub(boxed)],
            _ => &[],
        }
    }

    /// How many entries go to the registry: an import's loose codes and boxes; an aggregation's or
    /// disaggregation's units.
    pub fn entries(&self) -> usize {
        match self.kind {
            DocumentKind::Import => self.loose_codes().len() + self.units.len(),
            _ => self.units.len(),
        }
    }
}

/// A document as a consignment shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentSummary {
    pub id: i64,
    pub kind: DocumentKind,
    pub status: DocumentStatus,
    /// The registry's document id, once known.
    pub registry_id: Option<String>,
    /// Codes it accounts for (an import's include those of the boxes it declares).
    pub codes: u64,
    /// Boxes or pallets it carries.
    pub units: u64,
    pub accepted: u64,
    pub refused: u64,
    pub returned: u64,
    /// The registry's words when it refused codes or the document, or why it waits.
    pub reason: Option<String>,
    pub created_ms: i64,
    pub finished_ms: Option<i64>,
}

/// A document's outcome, as the registry gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentResult {
    /// Every code taken.
    Success,
    /// The codes at these positions were refused (with their error); the others taken.
    Partial {
        reason: String,
        refused: Vec<(usize, String)>,
    },
    /// Nothing taken. The codes at these positions were refused; the others come back to be submitted
    /// again (all of them when none is named: the document itself was refused).
    Error {
        reason: String,
        refused: Vec<(usize, String)>,
    },
}

/// What `submit` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Submitted {
    pub documents: Vec<i64>,
    /// Codes declared, whether one by one or in their boxes.
    pub codes: u64,
    /// Boxes (or pallets) declared by their SSCC.
    pub boxes: u64,
    /// Codes declared through those boxes.
    pub in_boxes: u64,
    /// Pairs verified for the consignment whose application the registry has not accepted yet, or in
    /// a box whose aggregation it has not accepted yet: left out (only with `partial`).
    pub waiting: u64,
    /// Codes the registry refused by name before: left out unless asked for.
    pub refused_before: u64,
}

const DOC_COLUMNS: &str = "id, kind, api, consignment, status, registry_id, declaration_number,
     declaration_date, customs_office, created_at, sending_at, lost_at, checks, reason";

impl Ledger {
    /// Write the import documents for a consignment's applied codes (application accepted, not in a
    /// live import document), `chunk` codes at most each, to go to registry `api`. Refused when the
    /// consignment has no declaration, or (unless `partial`) while verified pairs still wait for their
    /// application to be accepted. Codes the registry refused by name before go again only with
    /// `retry_refused`. Audited.
    pub fn submit_consignment(
        &mut self,
        id: &str,
        api: &str,
        chunk: u32,
        partial: bool,
        retry_refused: bool,
        actor: &Actor,
    ) -> Result<Submitted, StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let decl: Option<(Option<String>, Option<String>, Option<String>)> = tx
            .query_row(
                "SELECT declaration_number, declaration_date, customs_office FROM consignments WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((number, date, office)) = decl else {
            return Err(StoreError::NoSuchConsignment(id.to_owned()));
        };
        let (Some(number), Some(date)) = (number, date) else {
            return Err(StoreError::NotDeclared(id.to_owned()));
        };
        let waiting: i64 = tx.query_row(
            "SELECT count(*) FROM consignment_codes k JOIN codes c ON c.id = k.code_id
             WHERE k.consignment = ?1 AND c.state = 'VERIFIED'",
            [id],
            |r| r.get(0),
        )?;
        let waiting = u64::try_from(waiting).unwrap_or(0);
        if waiting > 0 && !partial {
            return Err(StoreError::ApplicationPending {
                consignment: id.to_owned(),
                waiting,
            });
        }
        // Applied codes of the consignment not in a live import document: whole boxes by their SSCC,
        // loose pairs by their code; those refused by name before are counted apart.
        let items = import_items(&tx, id, retry_refused)?;
        let refused_before = items.refused_before;
        if items.boxed_waiting > 0 && !partial {
            return Err(StoreError::BoxesPending {
                consignment: id.to_owned(),
                waiting: items.boxed_waiting,
            });
        }
        if items.units.is_empty() && items.loose.is_empty() {
            return Err(StoreError::NothingToSubmit {
                consignment: id.to_owned(),
                refused_before,
            });
        }
        // At most `chunk` codes a document; a box is never split (a bigger one goes alone).
        let chunk = chunk.max(1) as usize;
        let mut documents = Vec::new();
        let mut loose: &[i64] = &items.loose;
        let mut units: &[(String, Vec<i64>)] = &items.units;
        let decl = Some((number.as_str(), date.as_str(), office.as_deref()));
        while !loose.is_empty() || !units.is_empty() {
            let take_loose = loose.len().min(chunk);
            let mut room = chunk - take_loose;
            let mut take_units = 0;
            while take_units < units.len()
                && (units[take_units].1.len() <= room || (take_loose == 0 && take_units == 0))
            {
                room = room.saturating_sub(units[take_units].1.len());
                take_units += 1;
            }
            let doc = insert_document(
                &tx,
                "IMPORT",
                api,
                id,
                decl,
                &loose[..take_loose],
                &units[..take_units],
                true,
                at,
                actor,
            )?;
            documents.push(doc);
            loose = &loose[take_loose..];
            units = &units[take_units..];
        }
        let boxes = items.units.len() as u64;
        let in_boxes: u64 = items.units.iter().map(|(_, p)| p.len() as u64).sum();
        let codes = items.loose.len() as u64 + in_boxes;
        let detail = serde_json::json!({
            "documents": documents, "codes": codes, "boxes": boxes, "declaration": number,
            "waiting": waiting, "boxed_waiting": items.boxed_waiting,
            "refused_before": refused_before, "retry_refused": retry_refused,
        });
        audit::append(
            &tx,
            at,
            actor,
            "consignment.submit",
            id,
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(Submitted {
            documents,
            codes,
            boxes,
            in_boxes,
            waiting: waiting + items.boxed_waiting,
            refused_before,
        })
    }

    pub fn document(&self, id: DocumentId) -> Result<Document, StoreError> {
        let sql = format!("SELECT {DOC_COLUMNS} FROM documents WHERE id = ?1");
        let row = self
            .conn
            .query_row(&sql, [id.0], doc_row)
            .optional()?
            .ok_or(StoreError::DocumentState {
                id: id.0,
                detail: "no such document".into(),
            })?;
        self.with_codes(row)
    }

    /// The oldest QUEUED document for registry `api`, if any.
    pub fn next_queued_document(&self, api: &str) -> Result<Option<Document>, StoreError> {
        let sql = format!(
            "SELECT {DOC_COLUMNS} FROM documents WHERE status = 'QUEUED' AND api = ?1 ORDER BY id LIMIT 1"
        );
        match self.conn.query_row(&sql, [api], doc_row).optional()? {
            Some(row) => self.with_codes(row).map(Some),
            None => Ok(None),
        }
    }

    /// Documents for `api` whose outcome is to be asked for now: SENDING (their answer lost, or left by
    /// a stopped sync) and SENT, due (`next_check_at` passed), oldest first.
    pub fn open_documents_due(&self, api: &str, now: i64) -> Result<Vec<Document>, StoreError> {
        let sql = format!(
            "SELECT {DOC_COLUMNS} FROM documents WHERE status IN ('SENDING', 'SENT') AND api = ?1
               AND coalesce(next_check_at, 0) <= ?2 ORDER BY id"
        );
        let rows: Vec<DocRow> = self
            .conn
            .prepare(&sql)?
            .query_map(params![api, now], doc_row)?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter().map(|r| self.with_codes(r)).collect()
    }

    /// When the next open document of `api` is due to be looked at.
    pub fn next_document_check(&self, api: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT min(coalesce(next_check_at, 0)) FROM documents WHERE status IN ('SENDING', 'SENT') AND api = ?1",
            [api],
            |r| r.get(0),
        )?)
    }

    /// Mark a QUEUED document SENDING: its request is about to leave.
    pub fn document_sending(&mut self, id: DocumentId) -> Result<Document, StoreError> {
        let n = self.conn.execute(
            "UPDATE documents SET status = 'SENDING', sending_at = ?2, lost_at = NULL
             WHERE id = ?1 AND status = 'QUEUED'",
            params![id.0, now_ms()],
        )?;
        if n != 1 {
            return Err(StoreError::DocumentState {
                id: id.0,
                detail: "is not queued".into(),
            });
        }
        self.document(id)
    }

    /// The registry took the document (or the search found it): its id.
    pub fn document_sent(&mut self, id: DocumentId, registry_id: &str) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "UPDATE documents SET status = 'SENT', registry_id = ?2, lost_at = NULL, reason = NULL,
                 checks = 0, next_check_at = NULL
             WHERE id = ?1 AND status IN ('SENDING', 'SENT')",
            params![id.0, registry_id],
        )?;
        if n != 1 {
            return Err(StoreError::DocumentState {
                id: id.0,
                detail: "is not being sent".into(),
            });
        }
        Ok(())
    }

    /// The request certainly did not take effect (refused before anything was done): queued again.
    pub fn document_unsent(&mut self, id: DocumentId, why: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE documents SET status = 'QUEUED', sending_at = NULL, lost_at = NULL, reason = ?2
             WHERE id = ?1 AND status = 'SENDING'",
            params![id.0, why],
        )?;
        Ok(())
    }

    /// The answer was lost: the document may exist. It stays SENDING and is looked for.
    pub fn document_lost(&mut self, id: DocumentId, why: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE documents SET lost_at = coalesce(lost_at, ?2), reason = ?3
             WHERE id = ?1 AND status = 'SENDING'",
            params![id.0, now_ms(), why],
        )?;
        Ok(())
    }

    /// Look at an open document again no sooner than `at`.
    pub fn document_check_later(
        &mut self,
        id: DocumentId,
        at: i64,
        why: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE documents SET checks = checks + 1, next_check_at = ?2, reason = coalesce(?3, reason)
             WHERE id = ?1 AND status IN ('SENDING', 'SENT')",
            params![id.0, at, why],
        )?;
        Ok(())
    }

    /// A lost document of which the registry shows no trace after the settle window: queued again
    /// (audited). Its codes stay in it.
    pub fn document_untraced(&mut self, id: DocumentId, actor: &Actor) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let n = tx.execute(
            "UPDATE documents SET status = 'QUEUED', sending_at = NULL, lost_at = NULL, checks = 0,
                 next_check_at = NULL, reason = 'sent again: no trace in the registry after the settle window'
             WHERE id = ?1 AND status = 'SENDING'",
            [id.0],
        )?;
        if n != 1 {
            return Err(StoreError::DocumentState {
                id: id.0,
                detail: "is not being sent".into(),
            });
        }
        audit::append(
            &tx,
            at,
            actor,
            "document.no_trace",
            &format!("document #{}", id.0),
            "{}",
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The registry refused a SENDING document at once (400): nothing was taken, its codes come back
    /// to be submitted again. Audited.
    pub fn document_refused_at_send(
        &mut self,
        id: DocumentId,
        reason: &str,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let n = tx.execute(
            "UPDATE documents SET status = 'ERROR', reason = ?2, finished_at = ?3, lost_at = NULL
             WHERE id = ?1 AND status = 'SENDING'",
            params![id.0, reason, at],
        )?;
        if n != 1 {
            return Err(StoreError::DocumentState {
                id: id.0,
                detail: "is not being sent".into(),
            });
        }
        let returned = tx.execute(
            "UPDATE document_codes SET outcome = 'RETURNED', error = ?2 WHERE document = ?1 AND outcome = 'PENDING'",
            params![id.0, reason],
        )?;
        tx.execute(
            "UPDATE document_units SET outcome = 'RETURNED', error = ?2 WHERE document = ?1 AND outcome = 'PENDING'",
            params![id.0, reason],
        )?;
        let detail = serde_json::json!({
            "status": "ERROR", "accepted": 0, "refused": 0, "returned": returned,
            "reason": reason, "at_send": true,
        });
        audit::append(
            &tx,
            at,
            actor,
            "document.refused",
            &format!("document #{}", id.0),
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The registry's outcome of a SENT document, per code and unit. The positions refused are those of
    /// the entries as sent ([`Document::entries`]): an import's loose codes, then its boxes; an
    /// aggregation's or disaggregation's units. An accepted aggregation makes its boxes REPORTED.
    /// Audited.
    pub fn document_finished(
        &mut self,
        id: DocumentId,
        result: &DocumentResult,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let doc = self.document(id)?;
        if doc.status != DocumentStatus::Sent {
            return Err(StoreError::DocumentState {
                id: id.0,
                detail: format!("is {}, not SENT", doc.status.as_str()),
            });
        }
        let loose = doc.loose_codes().len();
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let (new_status, reason, refused, others) = match result {
            DocumentResult::Success => ("SUCCESS", None, &[][..], "ACCEPTED"),
            DocumentResult::Partial { reason, refused } => {
                ("PARTIAL", Some(reason.as_str()), &refused[..], "ACCEPTED")
            }
            DocumentResult::Error { reason, refused } => {
                ("ERROR", Some(reason.as_str()), &refused[..], "RETURNED")
            }
        };
        for (pos, error) in refused {
            let pos = *pos;
            let unit = match doc.kind {
                DocumentKind::Import if pos < loose => {
                    tx.execute(
                        "UPDATE document_codes SET outcome = 'REFUSED', error = ?3
                         WHERE document = ?1 AND pos = ?2 AND outcome = 'PENDING'",
                        params![id.0, pos as i64, error],
                    )?;
                    continue;
                }
                DocumentKind::Import => pos - loose,
                _ => pos,
            };
            let Some(u) = doc.units.get(unit) else {
                continue;
            };
            tx.execute(
                "UPDATE document_units SET outcome = 'REFUSED', error = ?3
                 WHERE document = ?1 AND pos = ?2 AND outcome = 'PENDING'",
                params![id.0, unit as i64, error],
            )?;
            let mut refuse = tx.prepare_cached(
                "UPDATE document_codes SET outcome = 'REFUSED', error = ?3
                 WHERE document = ?1 AND code_id = ?2 AND outcome = 'PENDING'",
            )?;
            for c in &u.pairs {
                refuse.execute(params![id.0, c.0, error])?;
            }
        }
        let returned_why = (others == "RETURNED").then_some(reason.unwrap_or_default());
        tx.execute(
            "UPDATE document_codes SET outcome = ?2, error = ?3 WHERE document = ?1 AND outcome = 'PENDING'",
            params![id.0, others, returned_why],
        )?;
        tx.execute(
            "UPDATE document_units SET outcome = ?2, error = ?3 WHERE document = ?1 AND outcome = 'PENDING'",
            params![id.0, others, returned_why],
        )?;
        if doc.kind == DocumentKind::Aggregation {
            tx.execute(
                "UPDATE boxes SET state = 'REPORTED', reported_at = ?2
                 WHERE state = 'LABEL_VERIFIED' AND sscc IN
                     (SELECT sscc FROM document_units WHERE document = ?1 AND outcome = 'ACCEPTED')",
                params![id.0, at],
            )?;
        }
        tx.execute(
            "UPDATE documents SET status = ?2, reason = ?3, finished_at = ?4, next_check_at = NULL
             WHERE id = ?1",
            params![id.0, new_status, reason, at],
        )?;
        let (accepted, refused_n, returned): (i64, i64, i64) = tx.query_row(
            "SELECT coalesce(sum(outcome = 'ACCEPTED'), 0), coalesce(sum(outcome = 'REFUSED'), 0),
                    coalesce(sum(outcome = 'RETURNED'), 0)
             FROM (SELECT outcome FROM document_codes WHERE document = ?1
                   UNION ALL SELECT outcome FROM document_units WHERE document = ?1
                     AND NOT EXISTS (SELECT 1 FROM document_codes WHERE document = ?1))",
            [id.0],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let units: Vec<&str> = doc.units.iter().map(|u| u.sscc.as_str()).collect();
        let detail = serde_json::json!({
            "kind": doc.kind.as_str(), "status": new_status, "accepted": accepted,
            "refused": refused_n, "returned": returned, "reason": reason, "units": units,
        });
        let action = if new_status == "SUCCESS" {
            "document.accepted"
        } else {
            "document.refused"
        };
        audit::append(
            &tx,
            at,
            actor,
            action,
            &format!("document #{}", id.0),
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// A consignment's documents, oldest first.
    pub fn documents_of(&self, consignment: &str) -> Result<Vec<DocumentSummary>, StoreError> {
        let rows: Vec<DocumentSummary> = self
            .conn
            .prepare(
                "SELECT d.id, d.kind, d.status, d.registry_id,
                        (SELECT count(*) FROM document_codes c WHERE c.document = d.id),
                        (SELECT count(*) FROM document_codes c WHERE c.document = d.id AND c.outcome = 'ACCEPTED'),
                        (SELECT count(*) FROM document_codes c WHERE c.document = d.id AND c.outcome = 'REFUSED'),
                        (SELECT count(*) FROM document_codes c WHERE c.document = d.id AND c.outcome = 'RETURNED'),
                        d.reason, d.created_at, d.finished_at,
                        (SELECT count(*) FROM document_units u WHERE u.document = d.id)
                 FROM documents d WHERE d.consignment = ?1 ORDER BY d.id",
            )?
            .query_map([consignment], |r| {
                let kind: String = r.get(1)?;
                let status: String = r.get(2)?;
                Ok(DocumentSummary {
                    id: r.get(0)?,
                    kind: DocumentKind::parse(&kind).unwrap_or(DocumentKind::Import),
                    status: DocumentStatus::parse(&status).unwrap_or(DocumentStatus::Error),
                    registry_id: r.get(3)?,
                    codes: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                    accepted: u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
                    refused: u64::try_from(r.get::<_, i64>(6)?).unwrap_or(0),
                    returned: u64::try_from(r.get::<_, i64>(7)?).unwrap_or(0),
                    reason: r.get(8)?,
                    created_ms: r.get(9)?,
                    finished_ms: r.get(10)?,
                    units: u64::try_from(r.get::<_, i64>(11)?).unwrap_or(0),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The identification codes of a consignment's codes in circulation (accepted by an import
    /// document), per GTIN in code order: what the hand-over lists.
    pub fn introduced_idents(
        &self,
        consignment: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .conn
            .prepare(
                "SELECT c.gtin, c.ident FROM document_codes d JOIN codes c ON c.id = d.code_id
                 JOIN consignment_codes k ON k.code_id = c.id
                 WHERE k.consignment = ?1 AND d.kind = 'IMPORT' AND d.outcome = 'ACCEPTED'
                 ORDER BY c.gtin, c.id",
            )?
            .query_map([consignment], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The identification codes of a consignment's applied codes (application accepted), per GTIN in
    /// code order, with their import outcome if any: what the registry's web cabinet takes for an
    /// import notice filed by hand.
    pub fn applied_idents(
        &self,
        consignment: &str,
    ) -> Result<Vec<(String, String, Option<String>)>, StoreError> {
        Ok(self
            .conn
            .prepare(
                "SELECT c.gtin, c.ident,
                        (SELECT d.outcome FROM document_codes d WHERE d.code_id = c.id AND d.kind = 'IMPORT'
                         ORDER BY d.document DESC LIMIT 1)
                 FROM consignment_codes k JOIN codes c ON c.id = k.code_id
                 WHERE k.consignment = ?1 AND c.state = 'REPORTED'
                 ORDER BY c.gtin, c.id",
            )?
            .query_map([consignment], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn with_codes(&self, row: DocRow) -> Result<Document, StoreError> {
        let bad = |what: String| StoreError::Corrupt {
            path: self.path.clone(),
            detail: format!("document #{}: {what}", row.id),
        };
        let kind =
            DocumentKind::parse(&row.kind).ok_or_else(|| bad(format!("kind {}", row.kind)))?;
        let status = DocumentStatus::parse(&row.status)
            .ok_or_else(|| bad(format!("status {}", row.status)))?;
        let ids: Vec<i64> = self
            .conn
            .prepare("SELECT code_id FROM document_codes WHERE document = ?1 ORDER BY pos")?
            .query_map([row.id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut codes = Vec::with_capacity(ids.len());
        for c in ids {
            codes.push((CodeId(c), code_row(&self.conn, CodeId(c))?.code));
        }
        Ok(Document {
            id: DocumentId(row.id),
            kind,
            api: row.api,
            consignment: row.consignment,
            status,
            registry_id: row.registry_id,
            declaration: match (row.number, row.date) {
                (Some(number), Some(date)) => Some(Declaration {
                    number,
                    date,
                    customs_office: row.office,
                }),
                _ => None,
            },
            created_ms: row.created_ms,
            sending_ms: row.sending_ms,
            lost_ms: row.lost_ms,
            checks: u32::try_from(row.checks).unwrap_or(u32::MAX),
            reason: row.reason,
            codes,
            units: units_of(&self.conn, row.id)?,
        })
    }
}

struct DocRow {
    id: i64,
    kind: String,
    api: String,
    consignment: Option<String>,
    status: String,
    registry_id: Option<String>,
    number: Option<String>,
    date: Option<String>,
    office: Option<String>,
    created_ms: i64,
    sending_ms: Option<i64>,
    lost_ms: Option<i64>,
    checks: i64,
    reason: Option<String>,
}

fn doc_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DocRow> {
    Ok(DocRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        api: r.get(2)?,
        consignment: r.get(3)?,
        status: r.get(4)?,
        registry_id: r.get(5)?,
        number: r.get(6)?,
        date: r.get(7)?,
        office: r.get(8)?,
        created_ms: r.get(9)?,
        sending_ms: r.get(10)?,
        lost_ms: r.get(11)?,
        checks: r.get(12)?,
        reason: r.get(13)?,
    })
}
