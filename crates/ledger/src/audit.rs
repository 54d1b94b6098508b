// SPDX-License-Identifier: GPL-3.0-or-later
//! The append-only, hash-chained audit log.
//!
//! Each entry's hash is SHA-256 over the previous entry's hash and the entry's own fields, serialised as a
//! JSON array (so no field can bleed into its neighbour). Triggers stop `UPDATE`/`DELETE` through SQL;
//! the chain makes an edit made around them (a patched file, dropped triggers) detectable by
//! [`verify`]. Entries name codes by their masked form or identification part, never the crypto tail.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::state::Role;

/// The hash the first entry chains to.
/// Every action the station writes to the log. The supervisor's screen words each in their language
/// (`Words.audit-action` in ui/words.slint; tests/ui_words.rs keeps the two in step); an action missing
/// here shows as written.
pub const ACTIONS: &[&str] = &[
    // A box (or pallet) opened under a newly allocated SSCC; closed (full or early).
    "box.close",
    // A box label scanned back: `]C1`, AI 00 and the box's SSCC (the reading and the labels printed).
    "box.label_verified",
    // A supervisor printed a box label again.
    "box.label_reprint",
    "box.open",
    // A box's (or pallet's) aggregation queued for the registry; its unpacking (disaggregation).
    "box.report",
    "box.unpack",
    "code.confirm_applied",
    "code.reprint",
    "code.send_again",
    "code.sticker_missing",
    "code.write_off",
    "codes.found_used",
    "codes.hold_release",
    "codes.import",
    "codes.pull",
    "consignment.declare",
    "consignment.import",
    "consignment.raise_line",
    "consignment.submit",
    // A registry document's outcome: every code taken, or some (or all) refused.
    "document.accepted",
    // A document of unknown outcome with no trace in the registry after the settle window: sent again.
    "document.no_trace",
    "document.refused",
    "ledger.recover",
    "ledger restore",
    "line.unlock",
    "order.request",
    // `order.` + the order's end state, lower case.
    "order.abandoned",
    "order.closed",
    "order.rejected",
    // The printer's odometer counted fewer labels out than its status did over a roll.
    "printer.odometer",
    "product.add",
    // A report the registry refused as a whole, held for a supervisor; sent again by one.
    "report.held",
    // A report of unknown outcome with no trace in the registry after the settle window: sent again.
    "report.no_trace",
    "report.resend",
    "report.settle",
    "station.settings",
    "sticker_alert.close",
    "supervisor.login",
    "supervisor.pin_refused",
    "supervisor.set_pin",
    "write_off.done_by_hand",
    "write_off.requeue",
];

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who acts on the ledger. `name` is a person's login or a component (`station-1`, `cli:root`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub name: String,
    pub role: Role,
}

impl Actor {
    pub fn system(name: impl Into<String>) -> Actor {
        Actor {
            name: name.into(),
            role: Role::System,
        }
    }
    pub fn operator(name: impl Into<String>) -> Actor {
        Actor {
            name: name.into(),
            role: Role::Operator,
        }
    }
    /// A supervisor. Only the engine, after checking the PIN, should make one.
    pub fn supervisor(name: impl Into<String>) -> Actor {
        Actor {
            name: name.into(),
            role: Role::Supervisor,
        }
    }
}

/// One audit entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of every field of `e` except `hash` itself.
fn entry_hash(e: &AuditEntry) -> String {
    let fields = serde_json::json!([
        e.seq,
        e.at_ms,
        e.actor,
        e.role,
        e.action,
        e.subject,
        e.detail,
        e.prev_hash
    ]);
    hex::encode(Sha256::digest(fields.to_string().as_bytes()))
}

/// Append an entry inside the caller's transaction (so the entry and the change it records commit together).
pub fn append(
    tx: &Transaction<'_>,
    at_ms: i64,
    actor: &Actor,
    action: &str,
    subject: &str,
    detail: &str,
) -> rusqlite::Result<i64> {
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS.to_owned()),
    };
    let mut e = AuditEntry {
        seq,
        at_ms,
        actor: actor.name.clone(),
        role: actor.role.as_str().to_owned(),
        action: action.to_owned(),
        subject: subject.to_owned(),
        detail: detail.to_owned(),
        prev_hash: prev,
        hash: String::new(),
    };
    e.hash = entry_hash(&e);
    tx.execute(
        "INSERT INTO audit_log (seq, at, actor, role, action, subject, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            e.seq,
            e.at_ms,
            e.actor,
            e.role,
            e.action,
            e.subject,
            e.detail,
            e.prev_hash,
            e.hash
        ],
    )?;
    Ok(seq)
}

/// Why the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("audit entry {seq} follows entry {prev_seq}: entries are missing")]
    Gap { seq: i64, prev_seq: i64 },
    #[error(
        "audit entry {seq} does not chain to the entry before it: an entry was removed or altered"
    )]
    BadLink { seq: i64 },
    #[error("audit entry {seq} does not match its hash: it was altered after it was written")]
    BadHash { seq: i64 },
}

/// The result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub entries: u64,
    pub breaks: Vec<ChainBreak>,
}

/// Walk the whole log and check every link and every hash.
pub fn verify(conn: &Connection) -> rusqlite::Result<ChainReport> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, actor, role, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut prev_seq = 0i64;
    let mut prev_hash = GENESIS.to_owned();
    let mut report = ChainReport {
        entries: 0,
        breaks: Vec::new(),
    };
    while let Some(r) = rows.next()? {
        let e = row_to_entry(r)?;
        report.entries += 1;
        if e.seq != prev_seq + 1 {
            report.breaks.push(ChainBreak::Gap {
                seq: e.seq,
                prev_seq,
            });
        }
        if e.prev_hash != prev_hash {
            report.breaks.push(ChainBreak::BadLink { seq: e.seq });
        }
        if entry_hash(&e) != e.hash {
            report.breaks.push(ChainBreak::BadHash { seq: e.seq });
        }
        prev_seq = e.seq;
        prev_hash = e.hash;
    }
    Ok(report)
}

/// The newest `limit` entries, newest first.
pub fn recent(conn: &Connection, limit: u32) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, actor, role, action, subject, detail, prev_hash, hash
         FROM audit_log ORDER BY seq DESC LIMIT ?1",
    )?;
    stmt.query_map([limit], row_to_entry)?.collect()
}

/// The entries written at or after `from` (ms), oldest first.
pub fn since(conn: &Connection, from: i64) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, actor, role, action, subject, detail, prev_hash, hash
         FROM audit_log WHERE at >= ?1 ORDER BY seq",
    )?;
    stmt.query_map([from], row_to_entry)?.collect()
}

fn row_to_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.get(0)?,
        at_ms: r.get(1)?,
        actor: r.get(2)?,
        role: r.get(3)?,
        action: r.get(4)?,
        subject: r.get(5)?,
        detail: r.get(6)?,
        prev_hash: r.get(7)?,
        hash: r.get(8)?,
    })
}
