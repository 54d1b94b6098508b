// SPDX-License-Identifier: GPL-3.0-or-later
//! What the station engine reads and records around the line: the supervisor's review queue (with each
//! code's print attempts), the stickers of finished rolls that still wait for a scan, the review moves
//! that are not the line's (send a refused verified code's application again, a roll sticker that cannot
//! be found), scans that did not match, and audit notes for actions that move no code (a PIN change, a
//! line unlock).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::state::Move;
use super::{
    CodeId, CodeState, JobId, Ledger, StoreError, apply, audit, begin, code_ident, corrupt_row,
    now_ms, set_reason_key,
};
use crate::Actor;

/// What happened to a code's label at a printer, one step of [`PrintEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintStep {
    /// The label was handed to the printer (recorded before the first byte left).
    Sent,
    /// The printer reported it done: a sticker exists.
    Printed,
    /// Printing or its scan failed: a sticker may exist.
    Rejected,
    /// The run or the station stopped while the label was out: a sticker may exist.
    Interrupted,
    /// A supervisor found the printed sticker missing.
    Missing,
}

impl PrintStep {
    /// A stable name, also the key screens word it by.
    pub const fn as_str(self) -> &'static str {
        match self {
            PrintStep::Sent => "sent",
            PrintStep::Printed => "printed",
            PrintStep::Rejected => "rejected",
            PrintStep::Interrupted => "interrupted",
            PrintStep::Missing => "missing",
        }
    }
}

/// One step of a code's life at a printer, from its history (`code_events`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrintEvent {
    pub at_ms: i64,
    pub step: PrintStep,
    /// The print job it belonged to.
    pub job: Option<i64>,
}

/// One code waiting for a supervisor (REJECTED or NEEDS_REVIEW), or a printed sticker of a finished roll
/// that no scan confirmed (PRINTED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewItem {
    pub id: CodeId,
    pub gtin: String,
    /// GTIN and serial only, never the crypto tail.
    pub masked: String,
    pub state: CodeState,
    /// Why, in English.
    pub reason: Option<String>,
    /// Why, as a key for screens to word in the reader's language (the engine's `words::REASON_KEYS`),
    /// None for reasons with no key (written before keys, or by hand).
    pub reason_key: Option<String>,
    /// The key's values.
    pub reason_args: Vec<String>,
    pub at_ms: i64,
    /// Who (or what) made the move that put the code here.
    pub actor: String,
    /// Whether the ledger keeps the exact label it last printed (for the label image).
    pub has_label: bool,
    /// How many times the code was sent to a printer.
    pub print_attempts: u32,
    /// When the code was verified, if ever: its sticker was scanned on an item, so it is never printed
    /// again (review offers "send again" or a write-off, not a reprint or a confirmation).
    pub verified_at_ms: Option<i64>,
    /// Its steps at a printer, oldest first: whether (and how often) a sticker of it may exist.
    pub prints: Vec<PrintEvent>,
}

/// Codes in review.
const IN_REVIEW: &str = "c.state IN ('REJECTED', 'NEEDS_REVIEW')";
/// PRINTED codes of finished (closed) batch and no-verify jobs: their stickers wait for a scan.
const ON_FINISHED_ROLLS: &str = "c.state = 'PRINTED' AND EXISTS (SELECT 1 FROM jobs j
     WHERE j.id = c.job_id AND j.closed_at IS NOT NULL AND j.mode IN ('BATCH', 'NO_VERIFY'))";

impl Ledger {
    /// The review queue, oldest first, at most `limit` items.
    pub fn review_queue(&self, limit: u32) -> Result<Vec<ReviewItem>, StoreError> {
        self.review_items(IN_REVIEW, limit)
    }

    /// Printed stickers of finished batch and no-verify runs that no scan has confirmed yet, oldest
    /// first, at most `limit`. A supervisor may send one whose sticker is missing to review
    /// ([`Ledger::sticker_missing`]).
    pub fn roll_waiting(&self, limit: u32) -> Result<Vec<ReviewItem>, StoreError> {
        self.review_items(ON_FINISHED_ROLLS, limit)
    }

    /// How many printed stickers of finished batch and no-verify runs still wait for a scan.
    pub fn roll_waiting_count(&self) -> Result<u64, StoreError> {
        self.count(
            &format!("SELECT count(*) FROM codes c WHERE {ON_FINISHED_ROLLS}"),
            [],
        )
    }

    /// How many codes wait for a supervisor (REJECTED or NEEDS_REVIEW).
    pub fn review_len(&self) -> Result<u64, StoreError> {
        self.count(
            &format!("SELECT count(*) FROM codes c WHERE {IN_REVIEW}"),
            [],
        )
    }

    /// A code's steps at a printer (sent, printed, rejected, interrupted, missing), oldest first.
    pub fn print_history(&self, id: CodeId) -> Result<Vec<PrintEvent>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, move, from_state, job_id FROM code_events
             WHERE code_id = ?1 AND (move IN ('send', 'print', 'reject', 'sticker_missing')
                   OR (move = 'recover' AND from_state IN ('SENT', 'PRINTED')))
             ORDER BY id",
        )?;
        let rows = stmt.query_map([id.0], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (at_ms, mv, _, job) = row?;
            let step = match mv.as_str() {
                "send" => PrintStep::Sent,
                "print" => PrintStep::Printed,
                "reject" => PrintStep::Rejected,
                "recover" => PrintStep::Interrupted,
                _ => PrintStep::Missing,
            };
            out.push(PrintEvent { at_ms, step, job });
        }
        Ok(out)
    }

    fn review_items(&self, filter: &str, limit: u32) -> Result<Vec<ReviewItem>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT c.id, c.gtin, c.state, c.reason, c.state_at,
                    (SELECT e.actor FROM code_events e WHERE e.code_id = c.id ORDER BY e.id DESC LIMIT 1),
                    (SELECT count(*) FROM print_attempts p WHERE p.code_id = c.id AND p.zpl IS NOT NULL),
                    (SELECT count(*) FROM print_attempts p WHERE p.code_id = c.id),
                    c.reason_key, c.reason_args, c.verified_at
             FROM codes c WHERE {filter}
             ORDER BY c.state_at, c.id LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<String>>(9)?,
                r.get::<_, Option<i64>>(10)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, gtin, state, reason, at_ms, actor, with_zpl, attempts, key, args, verified_at) =
                row?;
            // Values that do not parse only cost the translation: the English reason stays.
            let reason_args = args
                .and_then(|a| serde_json::from_str::<Vec<String>>(&a).ok())
                .unwrap_or_default();
            let state: CodeState = state.parse().map_err(|e| corrupt_row(&self.path, e))?;
            let masked = self.code(CodeId(id))?.code.masked();
            out.push(ReviewItem {
                id: CodeId(id),
                gtin,
                masked,
                state,
                reason,
                reason_key: key.filter(|k| !k.is_empty()),
                reason_args,
                at_ms,
                actor: actor.unwrap_or_default(),
                has_label: with_zpl > 0,
                print_attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                verified_at_ms: verified_at,
                prints: self.print_history(CodeId(id))?,
            });
        }
        Ok(out)
    }

    /// Supervisor: the registry refused a verified code (its sticker is on an item) and the cause is
    /// fixed: the code is VERIFIED again and its one application report queued again, to be sent with
    /// the next report. Refused for a code never verified (reprint, confirm or write it off instead) and
    /// for one whose application report is not a refused one.
    pub fn send_again(&mut self, id: CodeId, actor: &Actor) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let from = apply(&tx, id, Move::SendAgain, actor, None, None, at)?;
        // Queue the code's one application row again (UNIQUE (code_id, kind): there is exactly one).
        let status: Option<String> = tx
            .query_row(
                "SELECT status FROM outbox WHERE code_id = ?1 AND kind = 'UTILISATION'",
                [id.0],
                |r| r.get(0),
            )
            .optional()?;
        if status.as_deref() != Some("REJECTED") {
            return Err(StoreError::ReviewState {
                id: id.0,
                detail: format!(
                    "its application report is {}, not refused by the registry: there is nothing to send again",
                    status.as_deref().unwrap_or("missing")
                ),
            });
        }
        tx.execute(
            "UPDATE outbox SET status = 'QUEUED', report = NULL
             WHERE code_id = ?1 AND kind = 'UTILISATION' AND status = 'REJECTED'",
            [id.0],
        )?;
        let ident = code_ident(&tx, id)?;
        let detail = serde_json::json!({ "code_id": id.0, "from": from });
        audit::append(
            &tx,
            at,
            actor,
            "code.send_again",
            &ident,
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Supervisor: the printed sticker of a finished batch or no-verify run cannot be found. The code
    /// goes to review (to be written off, or confirmed if the sticker turns up on an item). Refused while
    /// its run is still open: the line may yet scan it.
    pub fn sticker_missing(
        &mut self,
        id: CodeId,
        note: &str,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let open_job: Option<i64> = tx
            .query_row(
                "SELECT j.id FROM codes c JOIN jobs j ON j.id = c.job_id
                 WHERE c.id = ?1 AND c.state = 'PRINTED' AND j.closed_at IS NULL",
                [id.0],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(job) = open_job {
            return Err(StoreError::JobStillOpen { id: id.0, job });
        }
        let note = note.trim();
        let reason = if note.is_empty() {
            "its printed sticker cannot be found".to_owned()
        } else {
            format!("its printed sticker cannot be found: {note}")
        };
        let from = apply(
            &tx,
            id,
            Move::StickerMissing,
            actor,
            None,
            Some(&reason),
            at,
        )?;
        set_reason_key(&tx, id, "sticker-missing", &[])?;
        let ident = code_ident(&tx, id)?;
        let detail = serde_json::json!({ "code_id": id.0, "from": from, "note": note });
        audit::append(
            &tx,
            at,
            actor,
            "code.sticker_missing",
            &ident,
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The exact ZPL last sent for a code, if the ledger kept it.
    pub fn last_label(&self, id: CodeId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT zpl FROM print_attempts WHERE code_id = ?1 AND zpl IS NOT NULL ORDER BY id DESC LIMIT 1",
                [id.0],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// How many times a code was handed to a printer.
    pub fn print_attempts(&self, id: CodeId) -> Result<u32, StoreError> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM print_attempts WHERE code_id = ?1",
            [id.0],
            |r| r.get(0),
        )?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Keep a scan that did not confirm a code (a mismatch, an unreadable read, a repeat): the evidence a
    /// supervisor looks at. `verdict` is a short upper-case name.
    pub fn record_scan(
        &mut self,
        raw: &[u8],
        aim: Option<&str>,
        verdict: &str,
        code: Option<CodeId>,
        job: Option<JobId>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO scans (at, station, raw, aim, verdict, code_id, job_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![now_ms(), self.station, raw, aim, verdict, code.map(|c| c.0), job.map(|j| j.0)],
        )?;
        Ok(())
    }

    /// Append an audit entry for an action that moves no code (`detail` is JSON).
    pub fn audit_note(
        &mut self,
        actor: &Actor,
        action: &str,
        subject: &str,
        detail: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let tx = begin(&mut self.conn)?;
        audit::append(&tx, now_ms(), actor, action, subject, &detail.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// AVAILABLE codes per GTIN that the line can take (held ones are not counted), and how many
    /// AVAILABLE codes expire before `before_ms`.
    pub fn pool_levels(&self, before_ms: i64) -> Result<Vec<(String, u64, u64)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT p.gtin,
                    (SELECT count(*) FROM codes c WHERE c.gtin = p.gtin AND c.state = 'AVAILABLE'
                        AND NOT EXISTS (SELECT 1 FROM code_holds h WHERE h.code_id = c.id AND h.ended_at IS NULL)),
                    (SELECT count(*) FROM codes c WHERE c.gtin = p.gtin AND c.state = 'AVAILABLE'
                        AND c.expires_at IS NOT NULL AND c.expires_at < ?1)
             FROM products p ORDER BY p.gtin",
        )?;
        let rows = stmt.query_map([before_ms], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        rows.map(|r| {
            let (g, a, e) = r?;
            Ok((g, a.max(0) as u64, e.max(0) as u64))
        })
        .collect()
    }
}
