// SPDX-License-Identifier: GPL-3.0-or-later
//! Reports to the registry, as the ledger records them: what the sync engine may send, and what it did.
//!
//! The protocol (the sync engine drives it):
//! 1. [`Ledger::start_report`] takes queued outbox rows into a new report, status SENDING, *before* the
//!    request is sent. Those codes are no longer queued, so no other report can carry them.
//! 2. The registry's answer: [`Ledger::report_sent`] (its report id), or [`Ledger::report_unsent`] when
//!    the request certainly did not take effect (the codes are queued again).
//! 3. Its outcome: [`Ledger::report_accepted`] (codes REPORTED) or [`Ledger::report_rejected`] (codes
//!    queued again to be re-sent in smaller reports; a code refused on its own goes to a supervisor).
//! 4. A report left SENDING (lost answer, crash) is unknown. [`Ledger::report_resolved`] settles it from
//!    what the registry says of each code: applied ones are REPORTED, the others queued again.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::state::Move;
use super::{Actor, CodeId, Ledger, StoreError, apply, begin, code_row, now_ms};
use crate::codes::MarkingCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ReportId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ReportKind {
    /// Application ("нанесение") of verified codes.
    Utilisation,
    /// Withdrawal of written-off codes.
    WriteOff,
}

impl ReportKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            ReportKind::Utilisation => "UTILISATION",
            ReportKind::WriteOff => "WRITE_OFF",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ReportStatus {
    Sending,
    Sent,
    Accepted,
    Rejected,
    Unsent,
    Resolved,
}

impl ReportStatus {
    fn parse(s: &str) -> Option<ReportStatus> {
        Some(match s {
            "SENDING" => ReportStatus::Sending,
            "SENT" => ReportStatus::Sent,
            "ACCEPTED" => ReportStatus::Accepted,
            "REJECTED" => ReportStatus::Rejected,
            "UNSENT" => ReportStatus::Unsent,
            "RESOLVED" => ReportStatus::Resolved,
            _ => return None,
        })
    }
}

/// A report and its codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportBatch {
    pub id: ReportId,
    pub kind: ReportKind,
    pub status: ReportStatus,
    pub registry_id: Option<String>,
    /// Country of origin shared by the batch's products (one report per country), if recorded.
    pub country: Option<String>,
    pub codes: Vec<(CodeId, MarkingCode)>,
}

/// How much is waiting for the registry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Backlog {
    pub utilisation_queued: u64,
    pub write_off_queued: u64,
    /// Reports sent (or being sent) whose outcome is not known yet.
    pub reports_open: u64,
}

impl Ledger {
    pub fn backlog(&self) -> Result<Backlog, StoreError> {
        let q = |kind: &str| -> Result<u64, StoreError> {
            let n: i64 = self.conn.query_row(
                "SELECT count(*) FROM outbox WHERE status = 'QUEUED' AND kind = ?1",
                [kind],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        let open: i64 = self.conn.query_row(
            "SELECT count(*) FROM reports WHERE status IN ('SENDING', 'SENT')",
            [],
            |r| r.get(0),
        )?;
        Ok(Backlog {
            utilisation_queued: q("UTILISATION")?,
            write_off_queued: q("WRITE_OFF")?,
            reports_open: u64::try_from(open).unwrap_or(0),
        })
    }

    /// Take up to `limit` queued codes of `kind` (oldest first, all of one country of origin) into a new
    /// SENDING report. `None` when nothing is queued.
    pub fn start_report(
        &mut self,
        kind: ReportKind,
        api: &str,
        limit: u32,
    ) -> Result<Option<ReportBatch>, StoreError> {
        let first: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT p.country FROM outbox o JOIN codes c ON c.id = o.code_id JOIN products p ON p.gtin = c.gtin
                 WHERE o.status = 'QUEUED' AND o.kind = ?1 ORDER BY o.id LIMIT 1",
                [kind.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(country) = first else {
            return Ok(None);
        };
        let ids: Vec<i64> = self
            .conn
            .prepare(
                "SELECT o.code_id FROM outbox o JOIN codes c ON c.id = o.code_id JOIN products p ON p.gtin = c.gtin
                 WHERE o.status = 'QUEUED' AND o.kind = ?1 AND p.country IS ?2 ORDER BY o.id LIMIT ?3",
            )?
            .query_map(params![kind.as_str(), country, limit.max(1)], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let ids: Vec<CodeId> = ids.into_iter().map(CodeId).collect();
        self.start_report_for(kind, api, &ids).map(Some)
    }

    /// A new SENDING report carrying exactly these queued codes (to re-send part of a refused report).
    pub fn start_report_for(
        &mut self,
        kind: ReportKind,
        api: &str,
        codes: &[CodeId],
    ) -> Result<ReportBatch, StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        tx.execute(
            "INSERT INTO reports (kind, api, codes, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![kind.as_str(), api, codes.len() as i64, at],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut take = tx.prepare_cached(
                "UPDATE outbox SET status = 'SENT', report = ?3, attempts = attempts + 1
                 WHERE code_id = ?1 AND kind = ?2 AND status = 'QUEUED'",
            )?;
            for c in codes {
                if take.execute(params![c.0, kind.as_str(), id])? != 1 {
                    return Err(StoreError::ReportState {
                        id,
                        detail: format!(
                            "code #{} is not queued for a {} report",
                            c.0,
                            kind.as_str()
                        ),
                    });
                }
            }
        }
        tx.commit()?;
        self.report(ReportId(id))
    }

    pub fn report(&self, id: ReportId) -> Result<ReportBatch, StoreError> {
        let (kind, status, registry_id): (String, String, Option<String>) = self
            .conn
            .query_row(
                "SELECT kind, status, registry_id FROM reports WHERE id = ?1",
                [id.0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or(StoreError::ReportState {
                id: id.0,
                detail: "no such report".into(),
            })?;
        let bad = |what: String| StoreError::Corrupt {
            path: self.path.clone(),
            detail: format!("report #{}: {what}", id.0),
        };
        let kind = match kind.as_str() {
            "UTILISATION" => ReportKind::Utilisation,
            "WRITE_OFF" => ReportKind::WriteOff,
            other => return Err(bad(format!("kind {other}"))),
        };
        let status = ReportStatus::parse(&status).ok_or_else(|| bad(format!("status {status}")))?;
        let ids: Vec<i64> = self
            .conn
            .prepare("SELECT code_id FROM outbox WHERE report = ?1 ORDER BY id")?
            .query_map([id.0], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut codes = Vec::with_capacity(ids.len());
        for c in ids {
            codes.push((CodeId(c), code_row(&self.conn, CodeId(c))?.code));
        }
        let country: Option<String> = match codes.first() {
            Some((c, _)) => self.conn.query_row(
                "SELECT p.country FROM codes c JOIN products p ON p.gtin = c.gtin WHERE c.id = ?1",
                [c.0],
                |r| r.get(0),
            )?,
            None => None,
        };
        Ok(ReportBatch {
            id,
            kind,
            status,
            registry_id,
            country,
            codes,
        })
    }

    /// Reports whose outcome is not known: SENDING (maybe sent) and SENT (being processed), oldest first.
    pub fn open_reports(&self) -> Result<Vec<ReportBatch>, StoreError> {
        let ids: Vec<i64> = self
            .conn
            .prepare("SELECT id FROM reports WHERE status IN ('SENDING', 'SENT') ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.into_iter().map(|i| self.report(ReportId(i))).collect()
    }

    /// The registry took the report under `registry_id`; its outcome comes later.
    pub fn report_sent(&mut self, id: ReportId, registry_id: &str) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        set_report(&tx, id, &["SENDING"], "SENT", Some(registry_id), None, at)?;
        tx.commit()?;
        Ok(())
    }

    /// The request certainly did not take effect (refused before processing): queue the codes again.
    pub fn report_unsent(&mut self, id: ReportId, reason: &str) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        set_report(&tx, id, &["SENDING"], "UNSENT", None, Some(reason), at)?;
        tx.execute(
            "UPDATE outbox SET status = 'QUEUED', report = NULL, last_error = ?2 WHERE report = ?1",
            params![id.0, reason],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The registry accepted the report: its codes are REPORTED (application) or settled (write-off).
    pub fn report_accepted(&mut self, id: ReportId, actor: &Actor) -> Result<(), StoreError> {
        let at = now_ms();
        let batch = self.report(id)?;
        let tx = begin(&mut self.conn)?;
        set_report(&tx, id, &["SENDING", "SENT"], "ACCEPTED", None, None, at)?;
        if batch.kind == ReportKind::Utilisation {
            for (c, _) in &batch.codes {
                apply(&tx, *c, Move::Report, actor, None, None, at)?;
            }
        }
        tx.execute(
            "UPDATE outbox SET status = 'ACCEPTED', report_id = (SELECT registry_id FROM reports WHERE id = ?1)
             WHERE report = ?1",
            [id.0],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The registry refused the whole report. A report of one code refuses that code: it goes to a
    /// supervisor with the reason. Otherwise the codes are queued again and returned, to be re-sent in
    /// smaller reports until the refused ones stand alone.
    pub fn report_rejected(
        &mut self,
        id: ReportId,
        reason: &str,
        actor: &Actor,
    ) -> Result<Vec<CodeId>, StoreError> {
        let at = now_ms();
        let batch = self.report(id)?;
        let tx = begin(&mut self.conn)?;
        set_report(
            &tx,
            id,
            &["SENDING", "SENT"],
            "REJECTED",
            None,
            Some(reason),
            at,
        )?;
        let ids: Vec<CodeId> = batch.codes.iter().map(|(c, _)| *c).collect();
        if let [only] = ids.as_slice() {
            if batch.kind == ReportKind::Utilisation {
                apply(
                    &tx,
                    *only,
                    Move::RegistryRefuse,
                    actor,
                    None,
                    Some(reason),
                    at,
                )?;
            }
            tx.execute(
                "UPDATE outbox SET status = 'REJECTED', last_error = ?2 WHERE report = ?1",
                params![id.0, reason],
            )?;
            tx.commit()?;
            return Ok(Vec::new());
        }
        tx.execute(
            "UPDATE outbox SET status = 'QUEUED', report = NULL, last_error = ?2 WHERE report = ?1",
            params![id.0, reason],
        )?;
        tx.commit()?;
        Ok(ids)
    }

    /// Settle a report whose fate was unknown from the registry's word on each code: `applied` codes were
    /// reported (REPORTED now), the others were not (queued again).
    pub fn report_resolved(
        &mut self,
        id: ReportId,
        applied: &[CodeId],
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let batch = self.report(id)?;
        let tx = begin(&mut self.conn)?;
        set_report(&tx, id, &["SENDING", "SENT"], "RESOLVED", None, None, at)?;
        for (c, _) in &batch.codes {
            if applied.contains(c) {
                if batch.kind == ReportKind::Utilisation {
                    apply(
                        &tx,
                        *c,
                        Move::Report,
                        actor,
                        None,
                        Some("found applied in the registry"),
                        at,
                    )?;
                }
                tx.execute(
                    "UPDATE outbox SET status = 'ACCEPTED' WHERE code_id = ?1 AND report = ?2",
                    params![c.0, id.0],
                )?;
            } else {
                tx.execute(
                    "UPDATE outbox SET status = 'QUEUED', report = NULL WHERE code_id = ?1 AND report = ?2",
                    params![c.0, id.0],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// Move a report from one of `from` to `to`, in the caller's transaction.
fn set_report(
    tx: &rusqlite::Transaction<'_>,
    id: ReportId,
    from: &[&str],
    to: &str,
    registry_id: Option<&str>,
    reason: Option<&str>,
    at: i64,
) -> Result<(), StoreError> {
    let status: Option<String> = tx
        .query_row("SELECT status FROM reports WHERE id = ?1", [id.0], |r| {
            r.get(0)
        })
        .optional()?;
    match status {
        Some(s) if from.contains(&s.as_str()) => {}
        other => {
            return Err(StoreError::ReportState {
                id: id.0,
                detail: format!(
                    "it is {}, expected {}",
                    other.as_deref().unwrap_or("missing"),
                    from.join(" or ")
                ),
            });
        }
    }
    let done = matches!(to, "ACCEPTED" | "REJECTED" | "UNSENT" | "RESOLVED");
    tx.execute(
        "UPDATE reports SET status = ?2, registry_id = coalesce(?3, registry_id), reason = coalesce(?4, reason),
             finished_at = CASE WHEN ?5 THEN ?6 ELSE finished_at END
         WHERE id = ?1",
        params![id.0, to, registry_id, reason, done, at],
    )?;
    Ok(())
}
