// SPDX-License-Identifier: GPL-3.0-or-later
//! Boxes and pallets in registry documents (issue 18): the aggregation that ties a box's pairs (a
//! pallet's boxes) to its SSCC, the import that declares a whole box by its SSCC, and the transport-code
//! disaggregation that unpacks one.
//!
//! The same discipline as every document (`ledger::documents`): written QUEUED in one transaction with
//! what it carries, sent once, its lost answer found by the registry's search. A unit (box or pallet) is
//! in at most one live document of a kind, as a code is (`document_units_live`), so no box is aggregated
//! twice and no box is declared twice.
//!
//! - **Aggregation** is queued by [`Ledger::queue_aggregations`], which the sync calls on every pass:
//!   a box whose label was verified, whose pairs' application the registry accepted, and which was never
//!   in an aggregation document; a pallet likewise once every box on it is reported. Its pairs are listed
//!   in `document_codes` (kind AGGREGATION), so a pair is aggregated once. When the registry accepts it,
//!   the box becomes REPORTED. A refused one waits for a supervisor: [`Ledger::report_box_again`].
//! - **Import by box**: [`import_items`] picks, for `submit`, the consignment's reported boxes (a
//!   reported pallet instead of its boxes) and the loose pairs. A pair in a box goes only with its box:
//!   declared alone, the registry would break the box up.
//! - **Unpack**: [`Ledger::unpack_box`] queues the disaggregation of a reported box. Once accepted, the
//!   box is unpacked: its pairs are loose again for the registry (the ledger keeps what was in it).

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::boxes::{BoxLevel, BoxState};
use super::documents::DocumentId;
use super::{Actor, CodeId, Ledger, StoreError, audit, begin, now_ms};

/// A box or pallet as a document carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocUnit {
    /// The 18 digits.
    pub sscc: String,
    pub level: BoxLevel,
    pub capacity: u32,
    /// Its pairs (a pallet's: those in its boxes), in packing order.
    pub pairs: Vec<CodeId>,
    /// A pallet's boxes (18 digits each), in the order they went on; empty for a box.
    pub boxes: Vec<String>,
    /// When it was closed: the packing date an aggregation declares.
    pub closed_ms: Option<i64>,
}

/// What `submit` declares for a consignment: whole boxes (or pallets) and loose pairs.
#[derive(Debug, Default)]
pub(super) struct ImportItems {
    /// Units with their pairs, in SSCC order.
    pub units: Vec<(String, Vec<i64>)>,
    /// Loose pairs, in GTIN and code order.
    pub loose: Vec<i64>,
    /// Units or pairs left out because the registry refused them by name before.
    pub refused_before: u64,
    /// Pairs in boxes whose aggregation the registry has not accepted yet (or still open).
    pub boxed_waiting: u64,
}

/// A box with an accepted disaggregation: its pairs are loose again.
const UNPACKED: &str = "EXISTS (SELECT 1 FROM document_units u WHERE u.sscc = {b}.sscc
                        AND u.kind = 'DISAGGREGATION' AND u.outcome = 'ACCEPTED')";

fn unpacked(alias: &str) -> String {
    UNPACKED.replace("{b}", alias)
}

/// The units a document carries, by position, with their contents.
pub(super) fn units_of(
    conn: &rusqlite::Connection,
    document: i64,
) -> Result<Vec<DocUnit>, StoreError> {
    let rows: Vec<(String, i64, i64, Option<i64>)> = conn
        .prepare_cached(
            "SELECT u.sscc, b.level, b.capacity, b.closed_at FROM document_units u
             JOIN boxes b ON b.sscc = u.sscc WHERE u.document = ?1 ORDER BY u.pos",
        )?
        .query_map([document], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (sscc, level, capacity, closed_ms) in rows {
        let level = if level == 2 {
            BoxLevel::Pallet
        } else {
            BoxLevel::Box
        };
        let boxes: Vec<String> = if level == BoxLevel::Pallet {
            conn.prepare_cached(
                "SELECT sscc FROM boxes WHERE parent = ?1 ORDER BY closed_at, sscc",
            )?
            .query_map([&sscc], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
        } else {
            Vec::new()
        };
        let pairs: Vec<CodeId> = conn
            .prepare_cached(
                "SELECT i.code_id FROM box_items i JOIN boxes b ON b.sscc = i.sscc
                 WHERE i.sscc = ?1 OR b.parent = ?1 ORDER BY i.at, i.code_id",
            )?
            .query_map([&sscc], |r| Ok(CodeId(r.get(0)?)))?
            .collect::<rusqlite::Result<_>>()?;
        out.push(DocUnit {
            sscc,
            level,
            capacity: u32::try_from(capacity).unwrap_or(u32::MAX),
            pairs,
            boxes,
            closed_ms,
        });
    }
    Ok(out)
}

/// Pick what an import of `consignment` declares (see the module docs).
pub(super) fn import_items(
    tx: &Transaction<'_>,
    consignment: &str,
    retry_refused: bool,
) -> Result<ImportItems, StoreError> {
    // Pairs in boxes not unpacked whose box (or its pallet) cannot be declared yet.
    let boxed_waiting = u64::try_from(tx.query_row(
        &format!(
            "SELECT count(*) FROM box_items i JOIN boxes b ON b.sscc = i.sscc
             LEFT JOIN boxes p ON p.sscc = b.parent
             WHERE b.consignment = ?1 AND NOT {}
               AND (b.state <> 'REPORTED' OR (p.sscc IS NOT NULL AND p.state <> 'REPORTED'))",
            unpacked("b")
        ),
        [consignment],
        |r| r.get::<_, i64>(0),
    )?)
    .unwrap_or(0);
    let mut items = ImportItems {
        boxed_waiting,
        ..ImportItems::default()
    };
    // Declarable units: reported pallets, and reported boxes on no pallet (or on an unpacked one); not
    // in a live import, with every pair applied and in no live import.
    let units: Vec<(String, bool)> = tx
        .prepare(&format!(
            "SELECT b.sscc, EXISTS (SELECT 1 FROM document_units r WHERE r.sscc = b.sscc
                                      AND r.kind = 'IMPORT' AND r.outcome = 'REFUSED')
             FROM boxes b
             WHERE b.consignment = ?1 AND b.state = 'REPORTED' AND NOT {}
               AND (b.level = 2 OR b.parent IS NULL OR EXISTS (SELECT 1 FROM document_units p
                      WHERE p.sscc = b.parent AND p.kind = 'DISAGGREGATION' AND p.outcome = 'ACCEPTED'))
               AND NOT EXISTS (SELECT 1 FROM document_units d WHERE d.sscc = b.sscc
                                 AND d.kind = 'IMPORT' AND d.outcome IN ('PENDING', 'ACCEPTED'))
             ORDER BY b.sscc",
            unpacked("b")
        ))?
        .query_map([consignment], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (sscc, refused) in units {
        let pairs: Vec<(i64, String, bool)> = tx
            .prepare_cached(
                "SELECT c.id, c.state, EXISTS (SELECT 1 FROM document_codes d WHERE d.code_id = c.id
                          AND d.kind = 'IMPORT' AND d.outcome IN ('PENDING', 'ACCEPTED'))
                 FROM box_items i JOIN boxes b ON b.sscc = i.sscc JOIN codes c ON c.id = i.code_id
                 WHERE i.sscc = ?1 OR b.parent = ?1 ORDER BY i.at, i.code_id",
            )?
            .query_map([&sscc], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if pairs.is_empty()
            || pairs
                .iter()
                .any(|(_, state, live)| state != "REPORTED" || *live)
        {
            // A pair of it not applied (written off after packing?) or declared already: the box
            // cannot go whole; it waits for a supervisor (`box list` shows it).
            items.boxed_waiting += pairs.len() as u64;
            continue;
        }
        if refused && !retry_refused {
            items.refused_before += 1;
            continue;
        }
        items
            .units
            .push((sscc, pairs.into_iter().map(|(id, _, _)| id).collect()));
    }
    // Loose pairs: applied, in no live import, in no box (or in an unpacked one).
    let loose: Vec<(i64, bool)> = tx
        .prepare(&format!(
            "SELECT c.id, EXISTS (SELECT 1 FROM document_codes r WHERE r.code_id = c.id
                                    AND r.kind = 'IMPORT' AND r.outcome = 'REFUSED')
             FROM consignment_codes k JOIN codes c ON c.id = k.code_id
             WHERE k.consignment = ?1 AND c.state = 'REPORTED'
               AND NOT EXISTS (SELECT 1 FROM document_codes d WHERE d.code_id = c.id
                                 AND d.kind = 'IMPORT' AND d.outcome IN ('PENDING', 'ACCEPTED'))
               AND NOT EXISTS (SELECT 1 FROM box_items i JOIN boxes b ON b.sscc = i.sscc
                                 WHERE i.code_id = c.id AND NOT {})
             ORDER BY c.gtin, c.id",
            unpacked("b")
        ))?
        .query_map([consignment], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, refused) in loose {
        if refused && !retry_refused {
            items.refused_before += 1;
        } else {
            items.loose.push(id);
        }
    }
    Ok(items)
}

/// Write one document of `kind` for `consignment` carrying `units` (their pairs listed after `loose`)
/// and the loose pairs. Returns its id.
#[allow(clippy::too_many_arguments)]
pub(super) fn insert_document(
    tx: &Transaction<'_>,
    kind: &str,
    api: &str,
    consignment: &str,
    declaration: Option<(&str, &str, Option<&str>)>,
    loose: &[i64],
    units: &[(String, Vec<i64>)],
    code_kind: bool,
    at: i64,
    actor: &Actor,
) -> Result<i64, StoreError> {
    let pairs: usize = units.iter().map(|(_, p)| p.len()).sum();
    let listed = if code_kind { loose.len() + pairs } else { 0 };
    let count = listed + units.len();
    let (number, date, office) = declaration.unwrap_or(("", "", None));
    tx.execute(
        "INSERT INTO documents (kind, api, consignment, declaration_number, declaration_date,
             customs_office, codes, created_at, actor)
         VALUES (?1, ?2, ?3, nullif(?4, ''), nullif(?5, ''), ?6, ?7, ?8, ?9)",
        params![
            kind,
            api,
            consignment,
            number,
            date,
            office,
            count as i64,
            at,
            actor.name
        ],
    )?;
    let doc = tx.last_insert_rowid();
    if code_kind {
        let mut ins = tx.prepare_cached(
            "INSERT INTO document_codes (document, pos, kind, code_id) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let all = loose.iter().chain(units.iter().flat_map(|(_, p)| p.iter()));
        for (pos, c) in all.enumerate() {
            ins.execute(params![doc, pos as i64, kind, c])?;
        }
    }
    let mut ins = tx.prepare_cached(
        "INSERT INTO document_units (document, pos, kind, sscc) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (pos, (sscc, _)) in units.iter().enumerate() {
        ins.execute(params![doc, pos as i64, kind, sscc])?;
    }
    Ok(doc)
}

/// A finished document's outcomes: `[accepted, refused, returned]` of its codes and of its units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub codes: [u64; 3],
    pub units: [u64; 3],
}

impl Ledger {
    /// How a document's codes and units came out.
    pub fn document_tally(&self, id: DocumentId) -> Result<Tally, StoreError> {
        let mut t = Tally::default();
        for (table, into) in [
            ("document_codes", &mut t.codes),
            ("document_units", &mut t.units),
        ] {
            let row: (i64, i64, i64) = self.conn.query_row(
                &format!(
                    "SELECT coalesce(sum(outcome = 'ACCEPTED'), 0), coalesce(sum(outcome = 'REFUSED'), 0),
                            coalesce(sum(outcome = 'RETURNED'), 0) FROM {table} WHERE document = ?1"
                ),
                [id.0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            *into = [row.0, row.1, row.2].map(|v| u64::try_from(v).unwrap_or(0));
        }
        Ok(t)
    }

    /// Queue aggregation documents for `api`: every box whose label was verified and whose pairs'
    /// application the registry accepted, never in an aggregation before; every pallet likewise once
    /// all its boxes are reported. One document per consignment and level, `max_codes` pairs (boxes, for
    /// pallets) at most each. Returns the documents written.
    pub fn queue_aggregations(
        &mut self,
        api: &str,
        max_codes: u32,
        actor: &Actor,
    ) -> Result<Vec<DocumentId>, StoreError> {
        let ready: Vec<(String, String, i64)> = self
            .conn
            .prepare(
                "SELECT b.sscc, b.consignment, b.level FROM boxes b
                 WHERE b.state = 'LABEL_VERIFIED'
                   AND NOT EXISTS (SELECT 1 FROM document_units u WHERE u.sscc = b.sscc AND u.kind = 'AGGREGATION')
                   AND CASE b.level
                       WHEN 1 THEN EXISTS (SELECT 1 FROM box_items i WHERE i.sscc = b.sscc)
                            AND NOT EXISTS (SELECT 1 FROM box_items i JOIN codes c ON c.id = i.code_id
                                            WHERE i.sscc = b.sscc AND c.state <> 'REPORTED')
                       ELSE EXISTS (SELECT 1 FROM boxes x WHERE x.parent = b.sscc)
                            AND NOT EXISTS (SELECT 1 FROM boxes x WHERE x.parent = b.sscc AND x.state <> 'REPORTED')
                       END
                 ORDER BY b.consignment, b.level, b.closed_at, b.sscc",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if ready.is_empty() {
            return Ok(Vec::new());
        }
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let mut written = Vec::new();
        let mut group: Vec<(String, Vec<i64>)> = Vec::new();
        let mut size = 0usize;
        let mut key: Option<(String, i64)> = None;
        let flush = |tx: &Transaction<'_>,
                     key: &Option<(String, i64)>,
                     group: &mut Vec<(String, Vec<i64>)>,
                     written: &mut Vec<DocumentId>|
         -> Result<(), StoreError> {
            if let (Some((consignment, level)), false) = (key, group.is_empty()) {
                let doc = insert_document(
                    tx,
                    "AGGREGATION",
                    api,
                    consignment,
                    None,
                    &[],
                    group,
                    *level == 1,
                    at,
                    actor,
                )?;
                let ssccs: Vec<&str> = group.iter().map(|(s, _)| s.as_str()).collect();
                audit::append(
                    tx,
                    at,
                    actor,
                    "box.report",
                    &format!("document #{doc}"),
                    &serde_json::json!({ "consignment": consignment, "level": level, "units": ssccs })
                        .to_string(),
                )?;
                written.push(DocumentId(doc));
                group.clear();
            }
            Ok(())
        };
        for (sscc, consignment, level) in ready {
            let contents: Vec<i64> = if level == 1 {
                tx.prepare_cached(
                    "SELECT code_id FROM box_items WHERE sscc = ?1 ORDER BY at, code_id",
                )?
                .query_map([&sscc], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
            } else {
                Vec::new()
            };
            let weight = if level == 1 { contents.len() } else { 1 };
            let this = Some((consignment, level));
            if this != key || (size + weight > max_codes.max(1) as usize && !group.is_empty()) {
                flush(&tx, &key, &mut group, &mut written)?;
                size = 0;
                key = this;
            }
            size += weight;
            group.push((sscc, contents));
        }
        flush(&tx, &key, &mut group, &mut written)?;
        tx.commit()?;
        Ok(written)
    }

    /// Queue a box's (or pallet's) aggregation again after the registry refused it, once the cause is
    /// fixed. Audited.
    pub fn report_box_again(
        &mut self,
        sscc: &str,
        api: &str,
        actor: &Actor,
    ) -> Result<DocumentId, StoreError> {
        let b = self.box_record(sscc)?;
        let bad = |detail: String| StoreError::BoxState {
            sscc: sscc.to_owned(),
            detail,
        };
        if b.state != BoxState::LabelVerified {
            return Err(bad(format!(
                "is {}: its aggregation goes once its label is verified, and only until it is reported",
                b.state.as_str()
            )));
        }
        let live: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM document_units WHERE sscc = ?1 AND kind = 'AGGREGATION'
                              AND outcome IN ('PENDING', 'ACCEPTED'))",
            [sscc],
            |r| r.get(0),
        )?;
        if live {
            return Err(bad(
                "its aggregation is being sent or processed: wait for its outcome".into(),
            ));
        }
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let contents: Vec<i64> = tx
            .prepare("SELECT code_id FROM box_items WHERE sscc = ?1 ORDER BY at, code_id")?
            .query_map([sscc], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let pallet = b.level == BoxLevel::Pallet;
        let doc = insert_document(
            &tx,
            "AGGREGATION",
            api,
            &b.consignment,
            None,
            &[],
            &[(sscc.to_owned(), contents)],
            !pallet,
            at,
            actor,
        )?;
        audit::append(
            &tx,
            at,
            actor,
            "box.report",
            &format!("document #{doc}"),
            &serde_json::json!({ "consignment": b.consignment, "level": b.level.number(), "units": [sscc], "again": true })
                .to_string(),
        )?;
        tx.commit()?;
        Ok(DocumentId(doc))
    }

    /// Queue the transport-code disaggregation of a reported box or pallet (unpacking it in the
    /// registry). Audited.
    pub fn unpack_box(
        &mut self,
        sscc: &str,
        api: &str,
        actor: &Actor,
    ) -> Result<DocumentId, StoreError> {
        let b = self.box_record(sscc)?;
        let bad = |detail: String| StoreError::BoxState {
            sscc: sscc.to_owned(),
            detail,
        };
        if b.state != BoxState::Reported {
            return Err(bad(format!(
                "is {}: only a box the registry knows (its aggregation accepted) is unpacked there; \
                 a box not reported yet is simply not reported",
                b.state.as_str()
            )));
        }
        let (disagg, importing): (bool, bool) = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM document_units WHERE sscc = ?1 AND kind = 'DISAGGREGATION'
                              AND outcome IN ('PENDING', 'ACCEPTED')),
                    EXISTS (SELECT 1 FROM document_units WHERE sscc = ?1 AND kind = 'IMPORT'
                              AND outcome = 'PENDING')",
            [sscc],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if disagg {
            return Err(bad("is unpacked already, or being unpacked".into()));
        }
        if importing {
            return Err(bad(
                "is in an import document being processed: wait for its outcome".into(),
            ));
        }
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let doc = insert_document(
            &tx,
            "DISAGGREGATION",
            api,
            &b.consignment,
            None,
            &[],
            &[(sscc.to_owned(), Vec::new())],
            false,
            at,
            actor,
        )?;
        audit::append(
            &tx,
            at,
            actor,
            "box.unpack",
            sscc,
            &serde_json::json!({ "document": doc, "count": b.count }).to_string(),
        )?;
        tx.commit()?;
        Ok(DocumentId(doc))
    }

    /// Whether a box was unpacked (its disaggregation accepted).
    pub fn box_unpacked(&self, sscc: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM document_units WHERE sscc = ?1 AND kind = 'DISAGGREGATION' AND outcome = 'ACCEPTED'",
                [sscc],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}
