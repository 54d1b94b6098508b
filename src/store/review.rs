// SPDX-License-Identifier: GPL-3.0-or-later
//! What the station engine reads and records around the line: the supervisor's review queue, scans that
//! did not match, and audit notes for actions that move no code (a PIN change, a line unlock).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{CodeId, CodeState, JobId, Ledger, StoreError, audit, begin, corrupt_row, now_ms};
use crate::store::Actor;

/// One code waiting for a supervisor (REJECTED or NEEDS_REVIEW).
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
}

impl Ledger {
    /// The review queue, oldest first, at most `limit` items.
    pub fn review_queue(&self, limit: u32) -> Result<Vec<ReviewItem>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT c.id, c.gtin, c.state, c.reason, c.state_at,
                    (SELECT e.actor FROM code_events e WHERE e.code_id = c.id ORDER BY e.id DESC LIMIT 1),
                    (SELECT count(*) FROM print_attempts p WHERE p.code_id = c.id AND p.zpl IS NOT NULL),
                    (SELECT count(*) FROM print_attempts p WHERE p.code_id = c.id),
                    c.reason_key, c.reason_args
             FROM codes c WHERE c.state IN ('REJECTED', 'NEEDS_REVIEW')
             ORDER BY c.state_at, c.id LIMIT ?1",
        )?;
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
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, gtin, state, reason, at_ms, actor, with_zpl, attempts, key, args) = row?;
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
            });
        }
        Ok(out)
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
