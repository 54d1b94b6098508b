// SPDX-License-Identifier: GPL-3.0-or-later
//! Write-offs waiting for a supervisor: refused by the registry, or not supported by its API; sent
//! again or recorded as done by hand in the registry's web cabinet.

use rusqlite::params;
use serde::Serialize;

use super::{ReportId, ReportKind, need_supervisor, set_report};
use crate::{Actor, CodeId, Ledger, StoreError, audit, begin, code_ident, now_ms};

/// A write-off waiting for a supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteOffProblem {
    pub code: CodeId,
    /// The identification part (no crypto tail), to find the code in the registry's cabinet.
    pub ident: String,
    pub error: Option<String>,
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

    /// Write-offs waiting for a supervisor (refused, or not supported by the registry), oldest first.
    pub fn write_off_problems(&self, limit: u32) -> Result<Vec<WriteOffProblem>, StoreError> {
        let rows: Vec<(i64, Option<String>)> = self
            .conn
            .prepare(
                "SELECT o.code_id, o.last_error FROM outbox o WHERE o.kind = 'WRITE_OFF' AND o.status = 'REJECTED'
                   AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.id = o.report AND r.held_at IS NOT NULL)
                 ORDER BY o.id LIMIT ?1",
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
            "UPDATE outbox SET status = 'QUEUED', report = NULL, split_of = NULL, half = NULL
             WHERE code_id = ?1 AND kind = 'WRITE_OFF' AND status = 'REJECTED'
               AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.id = outbox.report AND r.held_at IS NOT NULL)",
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
