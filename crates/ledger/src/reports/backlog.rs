// SPDX-License-Identifier: GPL-3.0-or-later
//! What waits for the registry, and how the sync last went (readable from any process).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::{Ledger, StoreError, begin, now_ms};

/// How much is waiting for the registry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Backlog {
    pub utilisation_queued: u64,
    pub write_off_queued: u64,
    /// Reports sent (or being sent) whose outcome is not known yet.
    pub reports_open: u64,
    /// Write-offs the registry refused or cannot take: a supervisor's turn.
    pub write_off_refused: u64,
    /// Reports the registry refused as a whole, held for a supervisor, and the codes in them.
    pub reports_held: u64,
    pub codes_held: u64,
    /// Registry documents (import notices) queued, being sent or being processed.
    pub documents_open: u64,
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
            "SELECT count(*) FROM outbox o WHERE o.status = 'REJECTED' AND o.kind = 'WRITE_OFF'
             AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.id = o.report AND r.held_at IS NOT NULL)",
            [],
            |r| r.get(0),
        )?;
        let (held, held_codes): (i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum((SELECT count(*) FROM outbox o WHERE o.report = r.id AND o.status = 'REJECTED')), 0)
             FROM reports r WHERE r.held_at IS NOT NULL AND r.released_at IS NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let documents_open: i64 = self.conn.query_row(
            "SELECT count(*) FROM documents WHERE status IN ('QUEUED', 'SENDING', 'SENT')",
            [],
            |r| r.get(0),
        )?;
        Ok(Backlog {
            documents_open: u64::try_from(documents_open).unwrap_or(0),
            utilisation_queued: q("UTILISATION")?,
            write_off_queued: q("WRITE_OFF")?,
            reports_open: u64::try_from(open).unwrap_or(0),
            write_off_refused: u64::try_from(refused).unwrap_or(0),
            reports_held: u64::try_from(held).unwrap_or(0),
            codes_held: u64::try_from(held_codes).unwrap_or(0),
        })
    }

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
                params![crate::codes::clean_message(e), at],
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
