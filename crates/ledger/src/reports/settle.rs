// SPDX-License-Identifier: GPL-3.0-or-later
//! A report whose outcome is unknown, settled: from the registry's word on each code, after the settle
//! window with no trace of it, or by a supervisor from the registry's web cabinet (an API that cannot be
//! asked).

use rusqlite::params;

use super::{ReportBatch, ReportId, ReportKind, ReportStatus, need_supervisor, set_report};
use crate::state::Move;
use crate::{Actor, CodeId, Ledger, StoreError, apply, audit, begin, now_ms};

impl Ledger {
    /// Settle a report whose fate was unknown from the registry's word on each code: `applied` codes were
    /// reported (REPORTED now), the others were not (queued again, in the same place).
    pub fn report_resolved(
        &mut self,
        id: ReportId,
        applied: &[CodeId],
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let batch = self.report(id)?;
        let tx = begin(&mut self.conn)?;
        resolve(&tx, batch, applied, actor, at)?;
        tx.commit()?;
        Ok(())
    }

    /// The settle window passed with no trace of the report in the registry beyond `applied`: those are
    /// REPORTED, the others queued to be sent again. The decision is audited.
    pub fn report_untraced(
        &mut self,
        id: ReportId,
        applied: &[CodeId],
        waited_s: u64,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let batch = self.report(id)?;
        let detail = serde_json::json!({
            "report": id.0, "kind": batch.kind.as_str(), "codes": batch.codes.len(),
            "applied": applied.len(), "waited_s": waited_s,
        });
        let tx = begin(&mut self.conn)?;
        resolve(&tx, batch, applied, actor, at)?;
        audit::append(
            &tx,
            at,
            actor,
            "report.no_trace",
            &format!("report #{}", id.0),
            &detail.to_string(),
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
    /// queued to be sent again). A report is processed as a whole, so there is no partial answer. Call it
    /// only while holding the sync claim (`StationLock::acquire_sync`): no pass may be sending it.
    pub fn settle_report(
        &mut self,
        id: ReportId,
        in_registry: bool,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        need_supervisor(actor, "settle report")?;
        let batch = self.report(id)?;
        if !matches!(batch.status, ReportStatus::Sending | ReportStatus::Sent) {
            return Err(StoreError::ReportState {
                id: id.0,
                detail: format!(
                    "it is {:?}; only a report whose outcome is unknown can be settled by hand",
                    batch.status
                ),
            });
        }
        let applied: Vec<CodeId> = if in_registry {
            batch.codes.iter().map(|(c, _)| *c).collect()
        } else {
            Vec::new()
        };
        let at = now_ms();
        let detail = serde_json::json!({ "report": id.0, "kind": batch.kind.as_str(), "codes": batch.codes.len(), "in_registry": in_registry });
        let tx = begin(&mut self.conn)?;
        resolve(&tx, batch, &applied, actor, at)?;
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
}

/// Settle `batch` (open) as RESOLVED: `applied` codes reported, the others queued again.
fn resolve(
    tx: &rusqlite::Transaction<'_>,
    batch: ReportBatch,
    applied: &[CodeId],
    actor: &Actor,
    at: i64,
) -> Result<(), StoreError> {
    set_report(
        tx,
        batch.id,
        &["SENDING", "SENT"],
        "RESOLVED",
        None,
        None,
        at,
    )?;
    for (c, _) in &batch.codes {
        if applied.contains(c) {
            if batch.kind == ReportKind::Utilisation {
                apply(
                    tx,
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
                params![c.0, batch.id.0],
            )?;
        } else {
            tx.execute(
                "UPDATE outbox SET status = 'QUEUED', report = NULL WHERE code_id = ?1 AND report = ?2",
                params![c.0, batch.id.0],
            )?;
        }
    }
    Ok(())
}
