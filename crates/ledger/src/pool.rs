// SPDX-License-Identifier: GPL-3.0-or-later
//! How codes join the pool, whether they come from a file or from the registry: checked against what the
//! ledger holds, then added as AVAILABLE with the record of where they came from and their first event.

use rusqlite::{OptionalExtension, Transaction, params};

use super::Actor;
use crate::codes::{Gtin, MarkingCode};

/// Incoming codes sorted against the ledger.
pub(super) struct Sorted<'c> {
    /// Codes the ledger does not hold.
    pub fresh: Vec<&'c MarkingCode>,
    /// Codes the ledger holds already, byte for byte.
    pub already: usize,
    /// Positions (in the input order) of codes whose serial the ledger holds with other key/crypto bytes.
    pub conflicts: Vec<usize>,
}

pub(super) fn sort<'c>(
    tx: &Transaction<'_>,
    codes: impl IntoIterator<Item = &'c MarkingCode>,
) -> rusqlite::Result<Sorted<'c>> {
    let mut by_ident = tx.prepare_cached("SELECT code FROM codes WHERE ident = ?1")?;
    let mut out = Sorted {
        fresh: Vec::new(),
        already: 0,
        conflicts: Vec::new(),
    };
    for (i, code) in codes.into_iter().enumerate() {
        let existing: Option<String> = by_ident
            .query_row([code.identification()], |r| r.get(0))
            .optional()?;
        match existing {
            None => out.fresh.push(code),
            Some(c) if c == code.as_str() => out.already += 1,
            Some(_) => out.conflicts.push(i),
        }
    }
    Ok(out)
}

/// What to say of a code whose serial the ledger holds with other key/crypto bytes.
pub(super) fn conflict_message(code: &MarkingCode) -> String {
    format!(
        "the ledger already holds serial {} with a different verification/crypto part: \
         one of them is damaged; ask the registry which is valid",
        code.serial()
    )
}

/// Where a batch of codes came from.
pub(super) struct Source<'a> {
    /// `IMPORT` or `ORDER` (the `code_sources.kind` values).
    pub kind: &'static str,
    pub reference: &'a str,
    pub sha256: Option<&'a str>,
    pub gtin: &'a Gtin,
    /// The move recorded as each code's first event (`import`, `pull`).
    pub first_move: &'static str,
}

/// Record `source` and add `fresh` to the pool as AVAILABLE, each with its first event. Returns the
/// source's row id.
pub(super) fn add(
    tx: &Transaction<'_>,
    source: &Source<'_>,
    fresh: &[&MarkingCode],
    actor: &Actor,
    at: i64,
) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO code_sources (kind, reference, sha256, gtin, count, actor, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            source.kind,
            source.reference,
            source.sha256,
            source.gtin.as_str(),
            fresh.len() as i64,
            actor.name,
            at
        ],
    )?;
    let source_id = tx.last_insert_rowid();
    let mut ins = tx.prepare_cached(
        "INSERT INTO codes (code, ident, gtin, serial, source_id, state, state_at, added_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'AVAILABLE', ?6, ?6)",
    )?;
    let mut ev = tx.prepare_cached(
        "INSERT INTO code_events (code_id, at, move, from_state, to_state, actor)
         VALUES (?1, ?2, ?3, NULL, 'AVAILABLE', ?4)",
    )?;
    for code in fresh {
        ins.execute(params![
            code.as_str(),
            code.identification(),
            source.gtin.as_str(),
            code.serial(),
            source_id,
            at
        ])?;
        ev.execute(params![
            tx.last_insert_rowid(),
            at,
            source.first_move,
            actor.name
        ])?;
    }
    Ok(source_id)
}
