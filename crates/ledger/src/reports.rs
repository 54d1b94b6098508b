// SPDX-License-Identifier: GPL-3.0-or-later
//! Reports to the registry, as the ledger records them: what the sync engine may send, and what it did.
//!
//! The protocol (the sync engine drives it):
//! 1. [`Ledger::start_report`] takes queued outbox rows into a new report, status SENDING, *before* the
//!    request is sent. Those codes are no longer queued, so no other report can carry them.
//! 2. The registry's answer: [`Ledger::report_sent`] (its report id), [`Ledger::report_unsent`] when the
//!    request certainly did not take effect (the codes are queued again, in the same place), or
//!    [`Ledger::report_lost`] when its outcome is unknown (answer lost, any 5xx, a body that cannot be
//!    read): the report stays SENDING, and is never sent again while the registry may be processing it.
//! 3. Its outcome: [`Ledger::report_accepted`] (codes REPORTED), or [`Ledger::report_refused`]: codes the
//!    registry named (or that halving proved) go to a supervisor, the others are queued again, split in
//!    halves to find out whether the registry refused codes or the report; a report refused whole is
//!    held for a supervisor ([`Ledger::held_reports`], [`Ledger::resend_held`]), and no code of it goes
//!    to review.
//! 4. A report whose outcome is unknown is settled from the registry's evidence
//!    ([`Ledger::report_resolved`]: applied codes REPORTED, the others queued again), looked at no sooner
//!    than [`Ledger::report_check_later`] says. Its codes are queued again without a trace of it only
//!    after the settle window ([`Ledger::report_untraced`], audited). A registry that cannot be asked
//!    (oms-v2) leaves it to a supervisor: [`Ledger::report_note`] says so on the report and
//!    [`Ledger::settle_report`] records what the supervisor found in the registry's cabinet.
//!
//! Halving (the "descent"): the codes of a report refused without naming any are queued again as two
//! halves (`split_of` the refused report, `half` 0 or 1). A half is sent only once the other half of
//! its own parent succeeded (or it is the first split): a half that succeeds proves the other holds the
//! culprits; both halves refused without naming codes proves the registry refuses the report, which is
//! then held. Everything is in the ledger, so a transient error or a restart midway resumes the descent
//! where it was, never from the top.
//!
//! Write-offs travel the same way (kind WRITE_OFF; their codes are WRITTEN_OFF already and do not move).
//! A write-off the registry refuses, or cannot take at all ([`Ledger::report_refused_all`]), stays
//! REJECTED in the outbox with its reason until a supervisor requeues it or marks it done
//! ([`Ledger::write_off_requeue`], [`Ledger::write_off_done`]); it is never retried on its own.
//!
//! This file holds the report types and the protocol's steps 1 to 3 with the halving; by job beside it:
//! `held.rs` (reports held for a supervisor), `settle.rs` (step 4: a report whose outcome is unknown,
//! settled), `write_offs.rs` (write-offs waiting for a supervisor) and `backlog.rs` (what waits for the
//! registry, and how the sync last went).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::state::{Move, Role};
use super::{
    Actor, CodeId, Ledger, StoreError, apply, audit, begin, code_row, now_ms, set_reason_key,
};
use crate::codes::MarkingCode;

mod backlog;
mod held;
mod settle;
mod write_offs;
pub use backlog::{Backlog, SyncStatus};
pub use held::{HELD_KEYS, HeldReport};
pub use write_offs::WriteOffProblem;

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
    pub const ALL: [ReportKind; 2] = [ReportKind::Utilisation, ReportKind::WriteOff];

    pub const fn as_str(self) -> &'static str {
        match self {
            ReportKind::Utilisation => "UTILISATION",
            ReportKind::WriteOff => "WRITE_OFF",
        }
    }

    fn parse(s: &str) -> Option<ReportKind> {
        match s {
            "UTILISATION" => Some(ReportKind::Utilisation),
            "WRITE_OFF" => Some(ReportKind::WriteOff),
            _ => None,
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
    /// The registry API it went to (`xtrace`, `oms-v2`, `manual`): it is asked about there only.
    pub api: String,
    pub registry_id: Option<String>,
    /// Country of origin shared by the batch's codes (one report per country), if recorded: the
    /// consignment's for a code labelled for one, else the product's.
    pub country: Option<String>,
    /// When it was taken from the queue, just before it was sent (ms since the epoch).
    pub created_ms: i64,
    /// When its outcome was found unknown (lost answer, 5xx, unreadable body, or left SENDING by a
    /// stopped sync). `None` on a SENDING report: it is being sent right now.
    pub lost_ms: Option<i64>,
    /// Times it was looked at without being settled.
    pub checks: u32,
    /// The refused report this one is a half of, and which half.
    pub parent: Option<ReportId>,
    pub half: Option<u8>,
    /// The registry's reason (refused), or why it waits (open).
    pub reason: Option<String>,
    pub codes: Vec<(CodeId, MarkingCode)>,
}

/// What becomes of a refused report's codes besides those at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterRefusal {
    /// Queued again in the same place (the registry named the culprits; the rest go again).
    Requeue,
    /// Queued again as two halves of this report, to find out what the registry refuses.
    Split,
    /// Kept aside (UNKNOWN) until the other half of its parent is decided.
    Wait,
    /// The registry refuses the report: hold the codes of this report (a half of it, or itself) for a
    /// supervisor.
    Hold(ReportId),
}

/// Where the other half of a report's parent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sibling {
    /// No parent: the report is a root.
    None,
    /// Not decided yet (queued, being sent, or its outcome unknown).
    Pending,
    /// Some of its codes were accepted: the parent's refusal lies in this half.
    Accepted,
    /// Refused without naming codes.
    RefusedWhole,
}

impl Ledger {
    /// Take the next codes of `kind` due to go to registry `api` into a new SENDING report: first the
    /// halves of refused reports whose turn it is (see the module docs), then up to `limit` queued codes
    /// (oldest first, all of one country of origin). `None` when nothing may go now.
    pub fn start_report(
        &mut self,
        kind: ReportKind,
        api: &str,
        limit: u32,
    ) -> Result<Option<ReportBatch>, StoreError> {
        if let Some((parent, half)) = self.next_half(kind, api)? {
            let ids: Vec<i64> = self
                .conn
                .prepare(
                    "SELECT code_id FROM outbox WHERE status = 'QUEUED' AND kind = ?1 AND split_of = ?2 AND half = ?3
                     ORDER BY id LIMIT ?4",
                )?
                .query_map(params![kind.as_str(), parent, half, limit.max(1)], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let ids: Vec<CodeId> = ids.into_iter().map(CodeId).collect();
            let batch = self.start_report_for(kind, api, &ids)?;
            self.conn.execute(
                "UPDATE reports SET parent = ?2, half = ?3 WHERE id = ?1",
                params![batch.id.0, parent, half],
            )?;
            return self.report(batch.id).map(Some);
        }
        let first: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT coalesce(k.country, p.country)
                 FROM outbox o JOIN codes c ON c.id = o.code_id JOIN products p ON p.gtin = c.gtin
                 LEFT JOIN consignment_codes kc ON kc.code_id = c.id
                 LEFT JOIN consignments k ON k.id = kc.consignment
                 WHERE o.status = 'QUEUED' AND o.kind = ?1 AND o.split_of IS NULL ORDER BY o.id LIMIT 1",
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
                 LEFT JOIN consignment_codes kc ON kc.code_id = c.id
                 LEFT JOIN consignments k ON k.id = kc.consignment
                 WHERE o.status = 'QUEUED' AND o.kind = ?1 AND o.split_of IS NULL
                   AND coalesce(k.country, p.country) IS ?2
                 ORDER BY o.id LIMIT ?3",
            )?
            .query_map(params![kind.as_str(), country, limit.max(1)], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let ids: Vec<CodeId> = ids.into_iter().map(CodeId).collect();
        self.start_report_for(kind, api, &ids).map(Some)
    }

    /// Whether codes of `kind` wait to be sent to `api` and may go now.
    pub fn has_sendable(&self, kind: ReportKind, api: &str) -> Result<bool, StoreError> {
        if self.next_half(kind, api)?.is_some() {
            return Ok(true);
        }
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE status = 'QUEUED' AND kind = ?1 AND split_of IS NULL)",
            [kind.as_str()],
            |r| r.get(0),
        )?)
    }

    /// The half of a refused report to send next: the oldest refusal first, half 0 before half 1, and
    /// only when the refused report is a root or the other half of its own parent succeeded.
    fn next_half(&self, kind: ReportKind, api: &str) -> Result<Option<(i64, i64)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT o.split_of, o.half FROM outbox o JOIN reports x ON x.id = o.split_of
                 WHERE o.status = 'QUEUED' AND o.kind = ?1 AND o.split_of IS NOT NULL AND x.api = ?2
                   AND (x.parent IS NULL OR EXISTS (
                        SELECT 1 FROM outbox s WHERE s.split_of = x.parent AND s.half = 1 - x.half
                          AND s.status = 'ACCEPTED'))
                 ORDER BY o.split_of, o.half LIMIT 1",
                params![kind.as_str(), api],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// A new SENDING report carrying exactly these queued codes.
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
        type Row = (
            String,
            String,
            Option<String>,
            String,
            i64,
            Option<i64>,
            i64,
            Option<i64>,
            Option<i64>,
            Option<String>,
        );
        let (kind, status, registry_id, api, created_ms, lost_ms, checks, parent, half, reason): Row =
            self.conn
                .query_row(
                    "SELECT kind, status, registry_id, api, created_at, lost_at, checks, parent, half, reason
                     FROM reports WHERE id = ?1",
                    [id.0],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                            r.get(8)?,
                            r.get(9)?,
                        ))
                    },
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
        let kind = ReportKind::parse(&kind).ok_or_else(|| bad(format!("kind {kind}")))?;
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
                "SELECT coalesce(k.country, p.country) FROM codes c JOIN products p ON p.gtin = c.gtin
                 LEFT JOIN consignment_codes kc ON kc.code_id = c.id
                 LEFT JOIN consignments k ON k.id = kc.consignment WHERE c.id = ?1",
                [c.0],
                |r| r.get(0),
            )?,
            None => None,
        };
        Ok(ReportBatch {
            id,
            kind,
            status,
            api,
            registry_id,
            country,
            created_ms,
            lost_ms,
            checks: u32::try_from(checks).unwrap_or(u32::MAX),
            parent: parent.map(ReportId),
            half: half.and_then(|h| u8::try_from(h).ok()),
            reason,
            codes,
        })
    }

    /// Reports whose outcome is not known: SENDING (maybe sent) and SENT (being processed), oldest first.
    pub fn open_reports(&self) -> Result<Vec<ReportBatch>, StoreError> {
        self.reports_where("status IN ('SENDING', 'SENT')", params![])
    }

    /// Open reports that went to `api` and are due to be looked at (`next_check_at` passed), oldest first.
    pub fn open_reports_due(&self, api: &str, now_ms: i64) -> Result<Vec<ReportBatch>, StoreError> {
        self.reports_where(
            "status IN ('SENDING', 'SENT') AND api = ?1 AND coalesce(next_check_at, 0) <= ?2",
            params![api, now_ms],
        )
    }

    /// When the next open report of `api` is due to be looked at (ms since the epoch), leaving out
    /// `except`.
    pub fn next_check(&self, api: &str, except: &[ReportId]) -> Result<Option<i64>, StoreError> {
        let due: Vec<(i64, i64)> = self
            .conn
            .prepare(
                "SELECT id, coalesce(next_check_at, 0) FROM reports
                 WHERE status IN ('SENDING', 'SENT') AND api = ?1",
            )?
            .query_map([api], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(due
            .into_iter()
            .filter(|(id, _)| !except.contains(&ReportId(*id)))
            .map(|(_, at)| at)
            .min())
    }

    /// Reports of `api` sent whose outcome the registry is working on (SENT), leaving out `except`.
    pub fn reports_in_process(&self, api: &str, except: &[ReportId]) -> Result<u32, StoreError> {
        let ids: Vec<i64> = self
            .conn
            .prepare("SELECT id FROM reports WHERE status = 'SENT' AND api = ?1")?
            .query_map([api], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let n = ids
            .iter()
            .filter(|i| !except.contains(&ReportId(**i)))
            .count();
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn reports_where(
        &self,
        filter: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<ReportBatch>, StoreError> {
        let ids: Vec<i64> = self
            .conn
            .prepare(&format!(
                "SELECT id FROM reports WHERE {filter} ORDER BY id"
            ))?
            .query_map(args, |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.into_iter().map(|i| self.report(ReportId(i))).collect()
    }

    /// The registry took the report (or its search found it) under `registry_id`; its outcome comes later.
    pub fn report_sent(&mut self, id: ReportId, registry_id: &str) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        set_report(&tx, id, &["SENDING"], "SENT", Some(registry_id), None, at)?;
        tx.execute(
            "UPDATE reports SET checks = 0, next_check_at = NULL WHERE id = ?1",
            [id.0],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The report's outcome is unknown: its answer was lost, came as a 5xx, or could not be read. It
    /// stays open (SENDING) and is settled from the registry's evidence, never sent again blindly.
    pub fn report_lost(&mut self, id: ReportId, why: &str) -> Result<(), StoreError> {
        let at = now_ms();
        // SENDING again if it was SENT: the id the registry gave is not to be trusted (it does not know
        // it), so the report is settled from the registry's evidence like one whose answer was lost.
        let n = self.conn.execute(
            "UPDATE reports SET status = 'SENDING', lost_at = coalesce(lost_at, ?2), reason = ?3
             WHERE id = ?1 AND status IN ('SENDING', 'SENT')",
            params![id.0, at, crate::codes::clean_message(why)],
        )?;
        if n != 1 {
            return Err(StoreError::ReportState {
                id: id.0,
                detail: "only an open report can have an unknown outcome".into(),
            });
        }
        Ok(())
    }

    /// Look at the open report again no sooner than `at_ms` (counted as one more look); `note` says why
    /// it waits.
    pub fn report_check_later(
        &mut self,
        id: ReportId,
        at_ms: i64,
        note: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE reports SET next_check_at = ?2, checks = checks + 1, reason = coalesce(?3, reason)
             WHERE id = ?1 AND status IN ('SENDING', 'SENT')",
            params![id.0, at_ms, note.map(crate::codes::clean_message)],
        )?;
        Ok(())
    }

    /// The request certainly did not take effect (refused before processing, 429, no connection): queue
    /// the codes again, in the same place (a half stays that half).
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

    /// The registry refused the report (`whole`: without naming any code). `culprits` are the codes at
    /// fault (named by the registry, or proved by halving): application codes go to a supervisor with the
    /// reason, write-offs wait for one. The other codes go as `then` says.
    pub fn report_refused(
        &mut self,
        id: ReportId,
        reason: &str,
        whole: bool,
        culprits: &[CodeId],
        then: AfterRefusal,
        actor: &Actor,
    ) -> Result<(), StoreError> {
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
        tx.execute(
            "UPDATE reports SET refusal = ?2 WHERE id = ?1",
            params![id.0, if whole { "REPORT" } else { "CODES" }],
        )?;
        for c in culprits {
            refuse_code(&tx, id, batch.kind, *c, reason, actor, at)?;
        }
        let rest: Vec<CodeId> = batch
            .codes
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| !culprits.contains(c))
            .collect();
        match then {
            AfterRefusal::Requeue => {
                tx.execute(
                    "UPDATE outbox SET status = 'QUEUED', report = NULL, last_error = ?2
                     WHERE report = ?1 AND status = 'SENT'",
                    params![id.0, reason],
                )?;
            }
            AfterRefusal::Split => {
                let mid = rest.len() / 2;
                let mut q = tx.prepare_cached(
                    "UPDATE outbox SET status = 'QUEUED', report = NULL, last_error = ?3, split_of = ?4, half = ?5
                     WHERE code_id = ?1 AND kind = ?2",
                )?;
                for (i, c) in rest.iter().enumerate() {
                    q.execute(params![
                        c.0,
                        batch.kind.as_str(),
                        reason,
                        id.0,
                        i64::from(i >= mid)
                    ])?;
                }
            }
            AfterRefusal::Wait => {
                tx.execute(
                    "UPDATE outbox SET status = 'UNKNOWN', last_error = ?2 WHERE report = ?1 AND status = 'SENT'",
                    params![id.0, reason],
                )?;
            }
            AfterRefusal::Hold(root) => {
                // Every code of `root`'s descent still undecided: this report's, the queued halves and
                // those waiting on the other half.
                tx.execute(
                    "WITH RECURSIVE tree(id) AS (SELECT ?1 UNION SELECT r.id FROM reports r JOIN tree ON r.parent = tree.id)
                     UPDATE outbox SET status = 'REJECTED', report = ?1, split_of = NULL, half = NULL, last_error = ?2
                     WHERE (status = 'QUEUED' AND split_of IN tree)
                        OR (status IN ('UNKNOWN', 'SENT') AND report IN tree)",
                    params![root.0, reason],
                )?;
                tx.execute(
                    "UPDATE reports SET held_at = ?2, refusal = 'REPORT', reason = ?3 WHERE id = ?1",
                    params![root.0, at, reason],
                )?;
                let codes: i64 = tx.query_row(
                    "SELECT count(*) FROM outbox WHERE report = ?1 AND status = 'REJECTED'",
                    [root.0],
                    |r| r.get(0),
                )?;
                let detail = serde_json::json!({ "report": root.0, "kind": batch.kind.as_str(), "codes": codes, "reason": reason });
                audit::append(
                    &tx,
                    at,
                    actor,
                    "report.held",
                    &format!("report #{}", root.0),
                    &detail.to_string(),
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Where the other half of `id`'s parent stands.
    pub fn sibling(&self, id: ReportId) -> Result<Sibling, StoreError> {
        let b = self.report(id)?;
        let (Some(parent), Some(half)) = (b.parent, b.half) else {
            return Ok(Sibling::None);
        };
        let other = 1 - i64::from(half);
        let accepted: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE split_of = ?1 AND half = ?2 AND status = 'ACCEPTED')
                 OR EXISTS (SELECT 1 FROM reports r JOIN outbox o ON o.report = r.id
                            WHERE r.parent = ?1 AND r.half = ?2 AND o.status = 'ACCEPTED')",
            params![parent.0, other],
            |r| r.get(0),
        )?;
        if accepted {
            return Ok(Sibling::Accepted);
        }
        let refused: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM reports WHERE parent = ?1 AND half = ?2 AND status = 'REJECTED'
                            AND refusal = 'REPORT')",
            params![parent.0, other],
            |r| r.get(0),
        )?;
        Ok(if refused {
            Sibling::RefusedWhole
        } else {
            Sibling::Pending
        })
    }

    /// `id` was accepted: a code of the other half of its parent that was kept aside (refused alone,
    /// naming nothing) is now proved at fault and goes to a supervisor with the registry's reason.
    /// Returns those codes.
    pub fn refuse_waiting_sibling(
        &mut self,
        id: ReportId,
        actor: &Actor,
    ) -> Result<Vec<(CodeId, String)>, StoreError> {
        let b = self.report(id)?;
        let (Some(parent), Some(half)) = (b.parent, b.half) else {
            return Ok(Vec::new());
        };
        let waiting: Vec<(i64, i64, String, String)> = self
            .conn
            .prepare(
                "SELECT o.code_id, r.id, r.kind, coalesce(r.reason, 'refused by the registry') FROM outbox o
                 JOIN reports r ON r.id = o.report
                 WHERE o.status = 'UNKNOWN' AND r.parent = ?1 AND r.half = ?2",
            )?
            .query_map(params![parent.0, 1 - i64::from(half)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let mut out = Vec::new();
        for (code, report, kind, reason) in waiting {
            let kind = ReportKind::parse(&kind).unwrap_or(ReportKind::Utilisation);
            refuse_code(
                &tx,
                ReportId(report),
                kind,
                CodeId(code),
                &reason,
                actor,
                at,
            )?;
            out.push((CodeId(code), reason));
        }
        tx.commit()?;
        Ok(out)
    }
}

/// A code at fault in a refused report: an application code goes to a supervisor with the reason, a
/// write-off waits for one (REJECTED in the outbox).
fn refuse_code(
    tx: &rusqlite::Transaction<'_>,
    report: ReportId,
    kind: ReportKind,
    code: CodeId,
    reason: &str,
    actor: &Actor,
    at: i64,
) -> Result<(), StoreError> {
    if kind == ReportKind::Utilisation {
        apply(
            tx,
            code,
            Move::RegistryRefuse,
            actor,
            None,
            Some(reason),
            at,
        )?;
        set_reason_key(tx, code, "registry-refused", &[reason.to_owned()])?;
    }
    tx.execute(
        "UPDATE outbox SET status = 'REJECTED', report = ?3, split_of = NULL, half = NULL, last_error = ?4
         WHERE code_id = ?1 AND kind = ?2",
        params![code.0, kind.as_str(), report.0, reason],
    )?;
    Ok(())
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
