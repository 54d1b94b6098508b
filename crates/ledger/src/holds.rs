// SPDX-License-Identifier: GPL-3.0-or-later
//! Codes held after a restore.
//!
//! A restored ledger shows the pool as it was at the backup. A station that printed after the backup took
//! codes from the head of each product's pool, in `reserve`'s order (nearest expiry first, then oldest),
//! so any AVAILABLE code of the restored ledger may already be on a shoe. Right after a restore:
//! - codes the ledger kept aside at the restore shows used (printed, verified, rejected, written off) go
//!   to NEEDS_REVIEW by the move `found_used`: they are known used;
//! - every other AVAILABLE code is held. `reserve` skips held codes, and a trigger refuses to reserve one.
//!
//! A hold ends when the registry shows the code used (it goes to review), when a supervisor releases it
//! having checked, or when the code leaves the pool otherwise (a write-off). Every hold row is kept.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::{
    Actor, CodeId, CodeRecord, Ledger, Move, StoreError, apply, audit, begin, code_row, now_ms,
};
use crate::codes::Gtin;

/// The pool's order, as `reserve` takes codes: a held code's place in it says which codes a station
/// would have printed first.
const POOL_ORDER: &str = "expires_at IS NULL, expires_at, id";

/// A held code, with its place in its product's pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldCode {
    pub id: CodeId,
    pub gtin: String,
    /// The code as people may see it (crypto tail masked).
    pub masked: String,
    /// 1 for the code `reserve` would take first, among the product's AVAILABLE codes (held or not).
    pub position: u64,
    pub held_at_ms: i64,
    /// Why it is held (the restore).
    pub note: String,
    /// The registry's answer the last time it was asked (`RECEIVED` proves nothing either way).
    pub registry_state: Option<String>,
    pub registry_checked_at_ms: Option<i64>,
}

/// Held codes of one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldProduct {
    pub gtin: String,
    pub held: u64,
    /// When the oldest of its holds began.
    pub since_ms: i64,
}

/// What holding codes after a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RestoreHolds {
    /// Codes the kept ledger shows used since the backup: moved to NEEDS_REVIEW.
    pub used: u64,
    /// AVAILABLE codes now held.
    pub held: u64,
    /// Codes of the kept ledger that the restored one lacks (pulled or imported after the backup).
    pub not_in_backup: u64,
}

/// Which held codes a supervisor releases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    /// Every held code.
    All,
    /// The held codes of one product.
    Product(Gtin),
    /// The last sticker a station printed of its product, found by the supervisor: held codes of that
    /// product before it in the pool's order (and itself) were printed and go to review; those after it
    /// are released.
    After(CodeId),
}

/// What a release did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Released {
    pub released: u64,
    /// Held codes that came before the last sticker found: moved to NEEDS_REVIEW.
    pub to_review: u64,
}

/// The ledger set aside by a restore, read to learn which codes were used after the backup. It may be
/// damaged: whatever it answers is evidence of use, and whatever it cannot answer stays held.
pub struct KeptLedger {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for KeptLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeptLedger")
            .field("path", &self.path)
            .finish()
    }
}

/// A code's state in the kept ledger.
struct KeptState {
    state: String,
    at_ms: i64,
    /// Ever handed to a printer (a RESERVED code never sent has no sticker).
    sent: bool,
}

impl KeptLedger {
    /// Open the ledger file at `path` read-only. `Err` says why it cannot be read.
    pub fn open(path: &Path) -> Result<KeptLedger, String> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| e.to_string())?;
        let has_codes: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'codes')",
                [],
                |r| r.get(0),
            )
            .map_err(|e| e.to_string())?;
        if !has_codes {
            return Err("it holds no labelstation ledger".into());
        }
        Ok(KeptLedger {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn state_of(&self, ident: &str) -> rusqlite::Result<Option<KeptState>> {
        self.conn
            .prepare_cached(
                "SELECT state, state_at, EXISTS (SELECT 1 FROM print_attempts p WHERE p.code_id = c.id)
                 FROM codes c WHERE ident = ?1",
            )?
            .query_row([ident], |r| {
                Ok(KeptState {
                    state: r.get(0)?,
                    at_ms: r.get(1)?,
                    sent: r.get(2)?,
                })
            })
            .optional()
    }

    /// Identification parts of every code it holds, in batches (it may hold millions).
    fn idents(&self, mut each: impl FnMut(&str) -> rusqlite::Result<()>) -> rusqlite::Result<()> {
        let mut stmt = self.conn.prepare("SELECT ident FROM codes")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            each(&r.get::<_, String>(0)?)?;
        }
        Ok(())
    }
}

impl KeptState {
    /// Whether this state in the kept ledger means a sticker of the code may exist.
    fn used(&self) -> bool {
        match self.state.as_str() {
            "AVAILABLE" => false,
            "RESERVED" => self.sent,
            _ => true,
        }
    }
}

/// Held codes of `gtin` (for the pool-empty message).
pub(super) fn held_of(conn: &Connection, gtin: &Gtin) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM code_holds h JOIN codes c ON c.id = h.code_id
         WHERE h.ended_at IS NULL AND c.gtin = ?1",
        [gtin.as_str()],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Move one held code to NEEDS_REVIEW because it was found used, ending its hold with `actor`'s name.
fn found_used(
    tx: &Transaction<'_>,
    id: CodeId,
    reason: &str,
    actor: &Actor,
    at: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE code_holds SET ended_at = ?2, ended_by = ?3, outcome = 'NEEDS_REVIEW'
         WHERE code_id = ?1 AND ended_at IS NULL",
        params![id.0, at, actor.name],
    )?;
    apply(tx, id, Move::FoundUsed, actor, None, Some(reason), at)?;
    Ok(())
}

impl Ledger {
    /// Right after a restore, on the restored ledger: codes `kept` shows used go to NEEDS_REVIEW, every
    /// other AVAILABLE code is held. `note` says which restore (it is kept with each hold).
    pub fn hold_after_restore(
        &mut self,
        kept: Option<&KeptLedger>,
        note: &str,
        actor: &Actor,
    ) -> Result<RestoreHolds, StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let mut out = RestoreHolds::default();
        if let Some(kept) = kept {
            let pool: Vec<(i64, String)> = tx
                .prepare("SELECT id, ident FROM codes WHERE state = 'AVAILABLE' ORDER BY id")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            for (id, ident) in pool {
                // A kept ledger that fails to answer for a code leaves that code held.
                let Ok(Some(k)) = kept.state_of(&ident) else {
                    continue;
                };
                if k.used() {
                    let what_to_do = if k.state == "WRITTEN_OFF" {
                        "Write it off here too (its write-off may have reached the registry already: if the registry refuses it as done, settle it in the registry review)"
                    } else {
                        "Its sticker exists: confirm it by scanning, or write it off; never print it again"
                    };
                    let reason = format!(
                        "used after the backup: the ledger kept aside at the restore shows it {} since {}. {what_to_do}",
                        k.state,
                        super::format_ms(k.at_ms)
                    );
                    found_used(&tx, CodeId(id), &reason, actor, at)?;
                    out.used += 1;
                }
            }
            let mut exists = tx.prepare("SELECT EXISTS (SELECT 1 FROM codes WHERE ident = ?1)")?;
            // Counting what the backup lacks is advice only: a kept ledger that stops answering halfway
            // leaves the count short, never the pool wrong.
            let _ = kept.idents(|ident| {
                if !exists.query_row([ident], |r| r.get::<_, bool>(0))? {
                    out.not_in_backup += 1;
                }
                Ok(())
            });
        }
        out.held = u64::try_from(tx.execute(
            "INSERT INTO code_holds (code_id, held_at, note)
             SELECT id, ?1, ?2 FROM codes c WHERE state = 'AVAILABLE'
               AND NOT EXISTS (SELECT 1 FROM code_holds h WHERE h.code_id = c.id AND h.ended_at IS NULL)",
            params![at, note],
        )?)
        .unwrap_or(0);
        tx.commit()?;
        Ok(out)
    }

    /// Held codes per product.
    pub fn held_products(&self) -> Result<Vec<HeldProduct>, StoreError> {
        let rows = self
            .conn
            .prepare(
                "SELECT c.gtin, count(*), min(h.held_at) FROM code_holds h JOIN codes c ON c.id = h.code_id
                 WHERE h.ended_at IS NULL GROUP BY c.gtin ORDER BY c.gtin",
            )?
            .query_map([], |r| {
                Ok(HeldProduct {
                    gtin: r.get(0)?,
                    held: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    since_ms: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Held codes in the pool's order per product (`gtin`: of one product only), at most `limit`.
    pub fn held_codes(&self, gtin: Option<&Gtin>, limit: u32) -> Result<Vec<HeldCode>, StoreError> {
        let mut rows: Vec<HeldCode> = self
            .conn
            .prepare(&format!(
                "SELECT p.id, p.gtin, p.position, h.held_at, h.note, h.registry_state, h.registry_checked_at
                 FROM (SELECT id, gtin, ROW_NUMBER() OVER (PARTITION BY gtin ORDER BY {POOL_ORDER}) AS position
                       FROM codes WHERE state = 'AVAILABLE' AND (?1 IS NULL OR gtin = ?1)) p
                 JOIN code_holds h ON h.code_id = p.id AND h.ended_at IS NULL
                 ORDER BY p.gtin, p.position LIMIT ?2"
            ))?
            .query_map(params![gtin.map(Gtin::as_str), limit], |r| {
                Ok(HeldCode {
                    id: CodeId(r.get(0)?),
                    gtin: r.get(1)?,
                    masked: String::new(),
                    position: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                    held_at_ms: r.get(3)?,
                    note: r.get(4)?,
                    registry_state: r.get(5)?,
                    registry_checked_at_ms: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        for h in &mut rows {
            h.masked = code_row(&self.conn, h.id)?.code.masked();
        }
        Ok(rows)
    }

    /// The full records of held codes, at most `limit` after code id `after` (for asking the registry).
    pub fn held_records(&self, after: CodeId, limit: u32) -> Result<Vec<CodeRecord>, StoreError> {
        let ids: Vec<i64> = self
            .conn
            .prepare(
                "SELECT code_id FROM code_holds WHERE ended_at IS NULL AND code_id > ?1
                 ORDER BY code_id LIMIT ?2",
            )?
            .query_map(params![after.0, limit], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.into_iter()
            .map(|id| code_row(&self.conn, CodeId(id)))
            .collect()
    }

    /// Record what the registry answered for held codes that stay held (`RECEIVED`, unknown, ...).
    pub fn held_checked(&mut self, answers: &[(CodeId, String)]) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        {
            let mut upd = tx.prepare(
                "UPDATE code_holds SET registry_state = ?2, registry_checked_at = ?3
                 WHERE code_id = ?1 AND ended_at IS NULL",
            )?;
            for (id, state) in answers {
                upd.execute(params![id.0, state, at])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Held codes found used elsewhere (the registry shows them applied or written off): each goes to
    /// NEEDS_REVIEW with its reason, in one transaction with one audit entry saying where from.
    pub fn held_found_used(
        &mut self,
        found: &[(CodeId, String)],
        source: &str,
        actor: &Actor,
    ) -> Result<u64, StoreError> {
        if found.is_empty() {
            return Ok(0);
        }
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let mut n = 0u64;
        for (id, reason) in found {
            let held: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM code_holds WHERE code_id = ?1 AND ended_at IS NULL)",
                [id.0],
                |r| r.get(0),
            )?;
            if held {
                found_used(&tx, *id, reason, actor, at)?;
                n += 1;
            }
        }
        let detail = serde_json::json!({ "codes": n, "source": source });
        audit::append(
            &tx,
            at,
            actor,
            "codes.found_used",
            source,
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Supervisor: release held codes, having checked what `checked` says. Audited.
    pub fn release_held(
        &mut self,
        what: &Release,
        checked: &str,
        actor: &Actor,
    ) -> Result<Released, StoreError> {
        if actor.role != super::Role::Supervisor {
            return Err(StoreError::NeedsSupervisor {
                mv: "release held codes",
                actor: actor.name.clone(),
                role: actor.role.as_str(),
            });
        }
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let mut out = Released::default();
        // A code's place in the pool's order, as a key that sorts like `POOL_ORDER`.
        let pool_key =
            |no_expiry: bool, expires: Option<i64>, id: i64| (no_expiry, expires.unwrap_or(0), id);
        let (subject, gtin, last) = match what {
            Release::All => ("all".to_owned(), None, None),
            Release::Product(g) => (g.to_string(), Some(g.as_str().to_owned()), None),
            Release::After(id) => {
                let (gtin, ident, expires): (String, String, Option<i64>) = tx
                    .query_row(
                        "SELECT gtin, ident, expires_at FROM codes WHERE id = ?1",
                        [id.0],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()?
                    .ok_or(StoreError::NoSuchCode(id.0))?;
                (
                    ident,
                    Some(gtin),
                    Some(pool_key(expires.is_none(), expires, id.0)),
                )
            }
        };
        let held: Vec<(i64, Option<i64>)> = tx
            .prepare(
                "SELECT c.id, c.expires_at FROM code_holds h JOIN codes c ON c.id = h.code_id
                 WHERE h.ended_at IS NULL AND (?1 IS NULL OR c.gtin = ?1)",
            )?
            .query_map(params![gtin], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if held.is_empty() {
            return Err(StoreError::NothingHeld(subject));
        }
        for (id, expires) in held {
            let before_last = last.is_some_and(|l| pool_key(expires.is_none(), expires, id) <= l);
            if before_last {
                let reason = format!(
                    "printed after the backup the ledger was restored from: the supervisor found {subject} as the last sticker printed, and this code comes before it in the pool. \
                     Its sticker exists: confirm it by scanning, or write it off; never print it again"
                );
                found_used(&tx, CodeId(id), &reason, actor, at)?;
                out.to_review += 1;
            } else {
                tx.execute(
                    "UPDATE code_holds SET ended_at = ?2, ended_by = ?3, outcome = 'RELEASED'
                     WHERE code_id = ?1 AND ended_at IS NULL",
                    params![id, at, actor.name],
                )?;
                out.released += 1;
            }
        }
        let detail = serde_json::json!({
            "released": out.released,
            "to_review": out.to_review,
            "last_sticker": matches!(what, Release::After(_)),
            "checked": checked,
        });
        audit::append(
            &tx,
            at,
            actor,
            "codes.hold_release",
            &subject,
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(out)
    }
}
