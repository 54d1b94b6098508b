// SPDX-License-Identifier: GPL-3.0-or-later
//! Stickers beyond the one the ledger counts.
//!
//! A code is counted once, from one sticker. Two things can put another sticker of it into the world:
//! the printer was stopped (paper, ribbon, head, silence, a lost link) while the label was in it, which
//! may leave a partial sticker and, on a printer that reprints after an error (`^JZY`), a second whole
//! one; or the printer did that without the station seeing it. The first is recorded on the print
//! attempt ([`Ledger::print_interrupted`]); the second is only found when an applied code is scanned
//! again from what may be another sticker: an alert a supervisor must close
//! ([`Ledger::second_sticker`], [`Ledger::close_sticker_alert`]).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{CodeId, JobId, Ledger, StoreError, audit, begin, code_ident, now_ms};
use crate::Actor;
use crate::state::Role;

/// Row id of a second-sticker alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct StickerAlertId(pub i64);

/// An applied code scanned again from what may be another sticker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StickerAlert {
    pub id: StickerAlertId,
    pub code: CodeId,
    /// GTIN and serial only, never the crypto tail.
    pub masked: String,
    pub at_ms: i64,
    /// The ledger already knew a copy may exist (an interrupted print, a second print) when the scan came.
    pub copy_known: bool,
    /// What the supervisor found, once closed.
    pub outcome: Option<String>,
    pub closed_by: Option<String>,
    pub closed_at_ms: Option<i64>,
}

impl StickerAlert {
    /// What a supervisor does about it, in English.
    pub fn instruction(&self) -> &'static str {
        if self.copy_known {
            "a second sticker of an applied code exists (the printer was stopped while printing it): find and destroy it"
        } else {
            "a second sticker of an applied code exists: find and destroy it"
        }
    }
}

/// The newest scan this station recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastScan {
    /// The code it was about, if any.
    pub code: Option<CodeId>,
    pub at_ms: i64,
}

impl Ledger {
    /// The printer was stopped (`trouble`: its key, e.g. `paper-out`) while the code's latest print
    /// attempt was in it: a partial sticker, or a second whole one after the fault, may exist.
    pub fn print_interrupted(&mut self, id: CodeId, trouble: &str) -> Result<(), StoreError> {
        // The first trouble of an attempt is kept; later ones add nothing.
        self.conn.execute(
            "INSERT OR IGNORE INTO print_interruptions (attempt_id, code_id, trouble, at)
             SELECT max(id), ?1, ?2, ?3 FROM print_attempts WHERE code_id = ?1 HAVING count(*) > 0",
            params![id.0, trouble, now_ms()],
        )?;
        Ok(())
    }

    /// Whether the ledger knows a sticker of the code may exist beyond the one it counts: a print attempt
    /// was interrupted, or the code went to a printer more than once.
    pub fn copy_may_exist(&self, id: CodeId) -> Result<bool, StoreError> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) > 1 FROM print_attempts WHERE code_id = ?1)
                 OR EXISTS (SELECT 1 FROM print_interruptions WHERE code_id = ?1)",
            [id.0],
            |r| r.get(0),
        )?)
    }

    /// The newest scan this station recorded (any verdict).
    pub fn last_scan(&self) -> Result<Option<LastScan>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT code_id, at FROM scans WHERE station = ?1 ORDER BY id DESC LIMIT 1",
                [&self.station],
                |r| {
                    Ok(LastScan {
                        code: r.get::<_, Option<i64>>(0)?.map(CodeId),
                        at_ms: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// An applied code was scanned again from what may be another sticker: keep the scan as evidence and
    /// open an alert for a supervisor, together.
    pub fn second_sticker(
        &mut self,
        id: CodeId,
        raw: &[u8],
        aim: Option<&str>,
        job: Option<JobId>,
        copy_known: bool,
    ) -> Result<StickerAlertId, StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        tx.execute(
            "INSERT INTO scans (at, station, raw, aim, verdict, code_id, job_id)
             VALUES (?1, ?2, ?3, ?4, 'SECOND_STICKER', ?5, ?6)",
            params![at, self.station, raw, aim, id.0, job.map(|j| j.0)],
        )?;
        let scan = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO sticker_alerts (code_id, scan_id, at, station, copy_known)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id.0, scan, at, self.station, copy_known],
        )?;
        let alert = StickerAlertId(tx.last_insert_rowid());
        tx.commit()?;
        Ok(alert)
    }

    /// Open second-sticker alerts, oldest first.
    pub fn open_sticker_alerts(&self) -> Result<Vec<StickerAlert>, StoreError> {
        self.sticker_alerts("WHERE closed_at IS NULL")
    }

    /// One alert, open or closed.
    pub fn sticker_alert(&self, id: StickerAlertId) -> Result<StickerAlert, StoreError> {
        let mut found = self.sticker_alerts(&format!("WHERE id = {}", id.0))?;
        found.pop().ok_or(StoreError::StickerAlert {
            id: id.0,
            detail: "no such alert".into(),
        })
    }

    /// A code's second-sticker alerts, open or closed, oldest first.
    pub fn sticker_alerts_of(&self, code: CodeId) -> Result<Vec<StickerAlert>, StoreError> {
        self.sticker_alerts(&format!("WHERE code_id = {}", code.0))
    }

    /// How many second-sticker alerts wait for a supervisor.
    pub fn open_sticker_alert_count(&self) -> Result<u64, StoreError> {
        self.count(
            "SELECT count(*) FROM sticker_alerts WHERE closed_at IS NULL",
            [],
        )
    }

    fn sticker_alerts(&self, filter: &str) -> Result<Vec<StickerAlert>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, code_id, at, copy_known, outcome, closed_by, closed_at FROM sticker_alerts
             {filter} ORDER BY id"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<i64>>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, code, at_ms, copy_known, outcome, closed_by, closed_at_ms) = row?;
            out.push(StickerAlert {
                id: StickerAlertId(id),
                code: CodeId(code),
                masked: self.code(CodeId(code))?.code.masked(),
                at_ms,
                copy_known,
                outcome,
                closed_by,
                closed_at_ms,
            });
        }
        Ok(out)
    }

    /// Supervisor: close an alert with what was found (e.g. "second sticker found on the bench and
    /// destroyed", or "only the sticker on the pair: the same one scanned again"). Audited.
    pub fn close_sticker_alert(
        &mut self,
        id: StickerAlertId,
        outcome: &str,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        if actor.role == Role::Operator {
            return Err(StoreError::NeedsSupervisor {
                mv: "close_sticker_alert",
                actor: actor.name.clone(),
                role: actor.role.as_str(),
            });
        }
        let outcome = outcome.trim();
        if outcome.is_empty() {
            return Err(StoreError::StickerAlert {
                id: id.0,
                detail: "say what was found (the second sticker destroyed, or only one sticker)"
                    .into(),
            });
        }
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let code: Option<(i64, Option<i64>)> = tx
            .query_row(
                "SELECT code_id, closed_at FROM sticker_alerts WHERE id = ?1",
                [id.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((code, closed)) = code else {
            return Err(StoreError::StickerAlert {
                id: id.0,
                detail: "no such alert".into(),
            });
        };
        if closed.is_some() {
            return Err(StoreError::StickerAlert {
                id: id.0,
                detail: "already closed".into(),
            });
        }
        tx.execute(
            "UPDATE sticker_alerts SET closed_at = ?2, closed_by = ?3, outcome = ?4 WHERE id = ?1",
            params![id.0, at, actor.name, outcome],
        )?;
        let ident = code_ident(&tx, CodeId(code))?;
        let detail = serde_json::json!({ "alert": id.0, "code_id": code, "outcome": outcome });
        audit::append(
            &tx,
            at,
            actor,
            "sticker_alert.close",
            &ident,
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(())
    }
}
