// SPDX-License-Identifier: GPL-3.0-or-later
//! Reports held for a supervisor: refused by the registry as a whole (balance, business place, the
//! registry account), sent again only once the cause was fixed.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{ReportId, ReportKind, need_supervisor};
use crate::{Actor, Ledger, StoreError, audit, begin, now_ms};

/// A report refused as a whole, held for a supervisor: the cause (balance, business place, the
/// registry account) must be fixed before it is sent again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldReport {
    pub id: ReportId,
    pub kind: ReportKind,
    pub api: String,
    pub codes: u64,
    /// The registry's words.
    pub reason: String,
    pub held_ms: i64,
}

/// The sentence keys a held report is worded by on the touchscreen (`Words.held-report` in
/// ui/words.slint; a test keeps the two in step).
pub const HELD_KEYS: &[&str] = &["held-application", "held-write-off"];

impl HeldReport {
    /// Its sentence key (one of [`HELD_KEYS`]); the values are the report's number, its codes and the
    /// day it was held, the registry's reason goes beside them.
    pub const fn key(&self) -> &'static str {
        match self.kind {
            ReportKind::Utilisation => "held-application",
            ReportKind::WriteOff => "held-write-off",
        }
    }
}

impl Ledger {
    /// A held report of `kind` for `api` not re-sent yet, if any: while one is, the registry refuses
    /// reports as a whole and nothing more of that kind is sent to it.
    pub fn held_report_of(
        &self,
        kind: ReportKind,
        api: &str,
    ) -> Result<Option<ReportId>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM reports WHERE kind = ?1 AND api = ?2 AND held_at IS NOT NULL AND released_at IS NULL
                 ORDER BY id LIMIT 1",
                params![kind.as_str(), api],
                |r| r.get(0),
            )
            .optional()?
            .map(ReportId))
    }

    /// Reports held for a supervisor (refused as a whole), oldest first.
    pub fn held_reports(&self) -> Result<Vec<HeldReport>, StoreError> {
        let rows: Vec<(i64, String, String, Option<String>, i64, i64)> = self
            .conn
            .prepare(
                "SELECT r.id, r.kind, r.api, r.reason, r.held_at,
                        (SELECT count(*) FROM outbox o WHERE o.report = r.id AND o.status = 'REJECTED')
                 FROM reports r WHERE r.held_at IS NOT NULL AND r.released_at IS NULL ORDER BY r.id",
            )?
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, api, reason, held_ms, codes)| HeldReport {
                id: ReportId(id),
                kind: ReportKind::parse(&kind).unwrap_or(ReportKind::Utilisation),
                api,
                codes: u64::try_from(codes).unwrap_or(0),
                reason: reason.unwrap_or_else(|| "refused by the registry".into()),
                held_ms,
            })
            .collect())
    }

    /// Supervisor: send held reports again (`None`: all of them), after the cause was fixed. Their
    /// codes are queued again as new reports. Returns the codes queued; audited.
    pub fn resend_held(
        &mut self,
        which: Option<ReportId>,
        actor: &Actor,
    ) -> Result<u64, StoreError> {
        need_supervisor(actor, "send a held report again")?;
        let held: Vec<HeldReport> = self
            .held_reports()?
            .into_iter()
            .filter(|h| which.is_none_or(|w| w == h.id))
            .collect();
        if let (Some(w), true) = (which, held.is_empty()) {
            return Err(StoreError::ReportState {
                id: w.0,
                detail: "it is not held: only a report the registry refused as a whole can be sent again".into(),
            });
        }
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let mut total = 0u64;
        for h in &held {
            let n = tx.execute(
                "UPDATE outbox SET status = 'QUEUED', report = NULL, split_of = NULL, half = NULL
                 WHERE report = ?1 AND status = 'REJECTED'",
                [h.id.0],
            )?;
            tx.execute(
                "UPDATE reports SET released_at = ?2 WHERE id = ?1",
                params![h.id.0, at],
            )?;
            let detail = serde_json::json!({ "report": h.id.0, "kind": h.kind.as_str(), "codes": n, "reason": h.reason });
            audit::append(
                &tx,
                at,
                actor,
                "report.resend",
                &format!("report #{}", h.id.0),
                &detail.to_string(),
            )?;
            total += n as u64;
        }
        tx.commit()?;
        Ok(total)
    }
}
