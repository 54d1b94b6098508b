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
//!    what the registry says of each code: applied ones are REPORTED, the others queued again. A registry
//!    that cannot be asked (oms-v2) leaves it to a supervisor: [`Ledger::report_note`] says so on the
//!    report and [`Ledger::settle_report`] records what the supervisor found in the registry's cabinet.
//!
//! Write-offs travel the same way (kind WRITE_OFF; their codes are WRITTEN_OFF already and do not move).
//! A write-off the registry refuses, or cannot take at all ([`Ledger::report_refused_all`]), stays
//! REJECTED in the outbox with its reason until a supervisor requeues it or marks it done
//! ([`Ledger::write_off_requeue`], [`Ledger::write_off_done`]); it is never retried on its own.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::state::{Move, Role};
use super::{Actor, CodeId, Ledger, StoreError, apply, audit, begin, code_ident, code_row, now_ms};
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
    /// Write-offs the registry refused or cannot take: a supervisor's turn.
    pub write_off_refused: u64,
}

/// A write-off waiting for a supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteOffProblem {
    pub code: CodeId,
    /// The identification part (no crypto tail), to find the code in the registry's cabinet.
    pub ident: String,
    pub error: Option<String>,
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
        let refused: i64 = self.conn.query_row(
            "SELECT count(*) FROM outbox WHERE status = 'REJECTED' AND kind = 'WRITE_OFF'",
            [],
            |r| r.get(0),
        )?;
        Ok(Backlog {
            utilisation_queued: q("UTILISATION")?,
            write_off_queued: q("WRITE_OFF")?,
            reports_open: u64::try_from(open).unwrap_or(0),
            write_off_refused: u64::try_from(refused).unwrap_or(0),
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

impl Ledger {
    /// A write-off report the registry cannot take at all (its API has no write-off): every code in it
    /// waits for a supervisor with `reason`, and none is retried by itself.
    pub fn report_refused_all(&mut self, id: ReportId, reason: &str) -> Result<(), StoreError> {
        let at = now_ms();
        let batch = self.report(id)?;
        if batch.kind != ReportKind::WriteOff {
            return Err(StoreError::ReportState {
                id: id.0,
                detail: "only a write-off can be refused as a whole without review".into(),
            });
        }
        let tx = begin(&mut self.conn)?;
        set_report(&tx, id, &["SENDING"], "REJECTED", None, Some(reason), at)?;
        tx.execute(
            "UPDATE outbox SET status = 'REJECTED', last_error = ?2 WHERE report = ?1",
            params![id.0, reason],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Write a note on an open report (why it waits). Returns whether the note changed.
    pub fn report_note(&mut self, id: ReportId, note: &str) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE reports SET reason = ?2 WHERE id = ?1 AND status IN ('SENDING', 'SENT') AND reason IS NOT ?2",
            params![id.0, note],
        )?;
        Ok(n > 0)
    }

    /// Supervisor: settle a report whose fate the registry cannot be asked about, from what the supervisor
    /// saw in the registry's web cabinet: `in_registry` (it arrived and was accepted) or not (its codes are
    /// queued to be sent again). A report is processed as a whole, so there is no partial answer.
    pub fn settle_report(
        &mut self,
        id: ReportId,
        in_registry: bool,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        need_supervisor(actor, "settle report")?;
        let batch = self.report(id)?;
        if batch.status != ReportStatus::Sending {
            return Err(StoreError::ReportState {
                id: id.0,
                detail: format!(
                    "it is {:?}; only a report whose answer was lost can be settled by hand",
                    batch.status
                ),
            });
        }
        let applied: Vec<CodeId> = if in_registry {
            batch.codes.iter().map(|(c, _)| *c).collect()
        } else {
            Vec::new()
        };
        self.report_resolved(id, &applied, actor)?;
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let detail = serde_json::json!({ "report": id.0, "kind": batch.kind.as_str(), "codes": batch.codes.len(), "in_registry": in_registry });
        audit::append(
            &tx,
            at,
            actor,
            "report.settle",
            &format!("report #{}", id.0),
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Write-offs waiting for a supervisor (refused, or not supported by the registry), oldest first.
    pub fn write_off_problems(&self, limit: u32) -> Result<Vec<WriteOffProblem>, StoreError> {
        let rows: Vec<(i64, Option<String>)> = self
            .conn
            .prepare(
                "SELECT code_id, last_error FROM outbox WHERE kind = 'WRITE_OFF' AND status = 'REJECTED'
                 ORDER BY id LIMIT ?1",
            )?
            .query_map([limit], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .map(|(c, error)| {
                Ok(WriteOffProblem {
                    code: CodeId(c),
                    ident: code_ident(&self.conn, CodeId(c))?,
                    error,
                })
            })
            .collect()
    }

    /// Supervisor: a refused write-off is to be sent again (e.g. after the cause was fixed).
    pub fn write_off_requeue(&mut self, code: CodeId, actor: &Actor) -> Result<(), StoreError> {
        need_supervisor(actor, "requeue write-off")?;
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let n = tx.execute(
            "UPDATE outbox SET status = 'QUEUED', report = NULL
             WHERE code_id = ?1 AND kind = 'WRITE_OFF' AND status = 'REJECTED'",
            [code.0],
        )?;
        if n != 1 {
            return Err(StoreError::ReportState {
                id: 0,
                detail: format!("code #{} has no refused write-off", code.0),
            });
        }
        let ident = code_ident(&tx, code)?;
        audit::append(
            &tx,
            at,
            actor,
            "write_off.requeue",
            &ident,
            &serde_json::json!({ "code_id": code.0 }).to_string(),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Supervisor: a refused or unsupported write-off was done by hand in the registry's web cabinet.
    /// Recorded as a report of its own (api `manual`), so the outbox stays consistent.
    pub fn write_off_done(
        &mut self,
        code: CodeId,
        note: &str,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        need_supervisor(actor, "mark write-off done")?;
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let refused: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE code_id = ?1 AND kind = 'WRITE_OFF' AND status = 'REJECTED')",
            [code.0],
            |r| r.get(0),
        )?;
        if !refused {
            return Err(StoreError::ReportState {
                id: 0,
                detail: format!("code #{} has no refused write-off", code.0),
            });
        }
        tx.execute(
            "INSERT INTO reports (kind, api, status, codes, reason, created_at, finished_at)
             VALUES ('WRITE_OFF', 'manual', 'ACCEPTED', 1, ?1, ?2, ?2)",
            params![note, at],
        )?;
        let report = tx.last_insert_rowid();
        tx.execute(
            "UPDATE outbox SET status = 'ACCEPTED', report = ?2 WHERE code_id = ?1 AND kind = 'WRITE_OFF'",
            params![code.0, report],
        )?;
        let ident = code_ident(&tx, code)?;
        let detail = serde_json::json!({ "code_id": code.0, "report": report, "note": note });
        audit::append(
            &tx,
            at,
            actor,
            "write_off.done_by_hand",
            &ident,
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(())
    }
}

/// How the registry sync last went, as recorded in the ledger (readable from any process).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    /// `UNKNOWN` (never ran), `UP` or `DOWN`.
    pub link: String,
    pub link_since_ms: Option<i64>,
    pub last_attempt_ms: Option<i64>,
    pub last_success_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
    pub backlog: Backlog,
}

impl Ledger {
    /// Record one sync pass: `Ok` (the registry answered) or the error, and whether the link is down.
    pub fn record_sync(&mut self, outcome: Result<(), (&str, bool)>) -> Result<(), StoreError> {
        let at = now_ms();
        let (link, error) = match outcome {
            Ok(()) => ("UP", None),
            Err((e, true)) => ("DOWN", Some(e)),
            Err((e, false)) => ("UP", Some(e)),
        };
        let tx = begin(&mut self.conn)?;
        tx.execute(
            "INSERT INTO sync_state (id, link, link_since, last_attempt_at) VALUES (1, ?1, ?2, ?2)
             ON CONFLICT (id) DO UPDATE SET
                 link_since = CASE WHEN link = ?1 THEN link_since ELSE ?2 END,
                 link = ?1, last_attempt_at = ?2",
            params![link, at],
        )?;
        match error {
            None => tx.execute(
                "UPDATE sync_state SET last_success_at = ?1 WHERE id = 1",
                [at],
            )?,
            Some(e) => tx.execute(
                "UPDATE sync_state SET last_error = ?1, last_error_at = ?2 WHERE id = 1",
                params![crate::registry::wire::clean(e), at],
            )?,
        };
        tx.commit()?;
        Ok(())
    }

    /// The last recorded sync pass and the current backlog.
    pub fn sync_status(&self) -> Result<SyncStatus, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT link, link_since, last_attempt_at, last_success_at, last_error, last_error_at
                 FROM sync_state WHERE id = 1",
                [],
                |r| {
                    Ok(SyncStatus {
                        link: r.get(0)?,
                        link_since_ms: r.get(1)?,
                        last_attempt_ms: r.get(2)?,
                        last_success_ms: r.get(3)?,
                        last_error: r.get(4)?,
                        last_error_ms: r.get(5)?,
                        backlog: Backlog::default(),
                    })
                },
            )
            .optional()?;
        let mut st = row.unwrap_or_else(|| SyncStatus {
            link: "UNKNOWN".into(),
            ..SyncStatus::default()
        });
        st.backlog = self.backlog()?;
        Ok(st)
    }
}

fn need_supervisor(actor: &Actor, what: &'static str) -> Result<(), StoreError> {
    if actor.role == Role::Supervisor {
        Ok(())
    } else {
        Err(StoreError::NeedsSupervisor {
            mv: what,
            actor: actor.name.clone(),
            role: actor.role.as_str(),
        })
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
