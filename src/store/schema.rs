// SPDX-License-Identifier: GPL-3.0-or-later
//! Ledger schema and its migrations.
//!
//! `PRAGMA user_version` holds the number of migrations applied. Each migration runs in its own
//! transaction together with the version bump, so a crash during an upgrade leaves either the old or the
//! new schema. Migrations are append-only: never edit one that has shipped, add the next.
//!
//! What the schema itself guarantees (beyond what the Rust API checks first):
//! - a code's state is one of the nine, and only moves listed in `code_transitions` are accepted;
//! - a code in flight (RESERVED/SENT/PRINTED) belongs to exactly one job, and no other code state has one;
//! - a code is verified at most once (`verified_at` is written once and never changes);
//! - codes, their events and the audit log are never deleted; events and audit entries never change;
//! - each code has at most one application report and one write-off in the outbox.

use rusqlite::{Transaction, params};

use super::state::{CodeState, TRANSITIONS};

pub const MIGRATIONS: &[&str] = &[
    // 1: the ledger.
    r#"
CREATE TABLE products (
    gtin        TEXT PRIMARY KEY CHECK (length(gtin) = 14 AND gtin NOT GLOB '*[^0-9]*'),
    name        TEXT NOT NULL CHECK (length(trim(name)) > 0),
    size        TEXT,
    colour      TEXT,
    model       TEXT,
    country     TEXT CHECK (country IS NULL OR (length(country) = 2 AND country NOT GLOB '*[^A-Z]*')),
    created_at  INTEGER NOT NULL
) STRICT;

-- Where a batch of codes came from: a file import or a registry order.
CREATE TABLE code_sources (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('IMPORT', 'ORDER')),
    reference   TEXT NOT NULL,
    sha256      TEXT,
    gtin        TEXT NOT NULL REFERENCES products(gtin),
    count       INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    at          INTEGER NOT NULL
) STRICT;

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    station     TEXT NOT NULL,
    gtin        TEXT NOT NULL REFERENCES products(gtin),
    mode        TEXT NOT NULL CHECK (mode IN ('INLINE', 'BATCH', 'NO_VERIFY', 'REPRINT')),
    actor       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER
) STRICT;

CREATE TABLE code_transitions (
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    PRIMARY KEY (from_state, to_state)
) STRICT, WITHOUT ROWID;

CREATE TABLE codes (
    id          INTEGER PRIMARY KEY,
    -- The exact issued element string, GS separators included. Printed and compared byte for byte.
    code        TEXT NOT NULL UNIQUE,
    -- 01+GTIN+21+serial: what documents carry; unique, so two crypto tails for one item cannot coexist.
    ident       TEXT NOT NULL UNIQUE,
    gtin        TEXT NOT NULL REFERENCES products(gtin),
    serial      TEXT NOT NULL,
    source_id   INTEGER NOT NULL REFERENCES code_sources(id),
    state       TEXT NOT NULL DEFAULT 'AVAILABLE' CHECK (state IN (
                    'AVAILABLE', 'RESERVED', 'SENT', 'PRINTED', 'VERIFIED', 'REPORTED',
                    'REJECTED', 'NEEDS_REVIEW', 'WRITTEN_OFF')),
    job_id      INTEGER REFERENCES jobs(id),
    state_at    INTEGER NOT NULL,
    reason      TEXT,
    added_at    INTEGER NOT NULL,
    verified_at INTEGER,
    expires_at  INTEGER,
    CHECK ((state IN ('RESERVED', 'SENT', 'PRINTED')) = (job_id IS NOT NULL)),
    CHECK (state NOT IN ('VERIFIED', 'REPORTED') OR verified_at IS NOT NULL)
) STRICT;
CREATE INDEX codes_pool ON codes (gtin, state, id);
CREATE INDEX codes_job ON codes (job_id) WHERE job_id IS NOT NULL;

CREATE TRIGGER codes_legal_transition BEFORE UPDATE OF state ON codes
WHEN OLD.state <> NEW.state AND NOT EXISTS (
    SELECT 1 FROM code_transitions WHERE from_state = OLD.state AND to_state = NEW.state)
BEGIN SELECT RAISE(ABORT, 'illegal code state transition'); END;

CREATE TRIGGER codes_verified_once BEFORE UPDATE OF verified_at ON codes
WHEN OLD.verified_at IS NOT NULL AND NEW.verified_at IS NOT OLD.verified_at
BEGIN SELECT RAISE(ABORT, 'code already verified'); END;

CREATE TRIGGER codes_identity_fixed BEFORE UPDATE OF code, ident, gtin, serial, source_id, added_at ON codes
BEGIN SELECT RAISE(ABORT, 'a code''s identity never changes'); END;

CREATE TRIGGER codes_no_delete BEFORE DELETE ON codes
BEGIN SELECT RAISE(ABORT, 'codes are never deleted'); END;

-- Every state change, in order: the ledger can explain how each code got where it is.
CREATE TABLE code_events (
    id          INTEGER PRIMARY KEY,
    code_id     INTEGER NOT NULL REFERENCES codes(id),
    at          INTEGER NOT NULL,
    move        TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    job_id      INTEGER REFERENCES jobs(id),
    actor       TEXT NOT NULL,
    reason      TEXT
) STRICT;
CREATE INDEX code_events_code ON code_events (code_id, id);
CREATE TRIGGER code_events_append_only_u BEFORE UPDATE ON code_events
BEGIN SELECT RAISE(ABORT, 'code events are append-only'); END;
CREATE TRIGGER code_events_append_only_d BEFORE DELETE ON code_events
BEGIN SELECT RAISE(ABORT, 'code events are append-only'); END;

CREATE TABLE print_attempts (
    id          INTEGER PRIMARY KEY,
    code_id     INTEGER NOT NULL REFERENCES codes(id),
    job_id      INTEGER NOT NULL REFERENCES jobs(id),
    printer     TEXT NOT NULL,
    zpl_sha256  TEXT NOT NULL,
    zpl         BLOB,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    outcome     TEXT
) STRICT;
CREATE INDEX print_attempts_code ON print_attempts (code_id);

CREATE TABLE scans (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    station     TEXT NOT NULL,
    raw         BLOB NOT NULL,
    aim         TEXT,
    verdict     TEXT NOT NULL,
    code_id     INTEGER REFERENCES codes(id),
    job_id      INTEGER REFERENCES jobs(id)
) STRICT;
CREATE INDEX scans_code ON scans (code_id) WHERE code_id IS NOT NULL;

-- Reports owed to the registry. A row is written in the same transaction as the state change that owes
-- it, so a confirmation is never lost; UNIQUE makes a second report of the same code impossible.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('UTILISATION', 'WRITE_OFF')),
    code_id     INTEGER NOT NULL REFERENCES codes(id),
    created_at  INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'QUEUED'
                CHECK (status IN ('QUEUED', 'SENT', 'UNKNOWN', 'ACCEPTED', 'REJECTED')),
    report_id   TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    UNIQUE (code_id, kind)
) STRICT;
CREATE INDEX outbox_pending ON outbox (status, kind, id);
CREATE TRIGGER outbox_no_delete BEFORE DELETE ON outbox
BEGIN SELECT RAISE(ABORT, 'outbox rows are never deleted'); END;

-- Who did what, when. Each entry's hash covers the previous entry's hash: see store::audit.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    role        TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE
) STRICT;
CREATE TRIGGER audit_log_append_only_u BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_append_only_d BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#,
    // 2: registry orders and the packs (blocks) received for them.
    r#"
-- One row per (order, GTIN) the station asked the registry for. `order_key` is made by the station and
-- written before the create request is sent (xTrace poNumber, OMS productionOrderId), so an order whose
-- answer was lost is found again by its key instead of being ordered twice.
CREATE TABLE orders (
    id              INTEGER PRIMARY KEY,
    api             TEXT NOT NULL,
    order_key       TEXT NOT NULL UNIQUE,
    registry_id     TEXT,
    gtin            TEXT NOT NULL REFERENCES products(gtin),
    quantity        INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 150000),
    received        INTEGER NOT NULL DEFAULT 0,
    last_pack_id    TEXT,
    status          TEXT NOT NULL DEFAULT 'REQUESTED'
                    CHECK (status IN ('REQUESTED', 'OPEN', 'CLOSED', 'REJECTED')),
    reason          TEXT,
    created_at      INTEGER NOT NULL,
    closed_at       INTEGER,
    CHECK (status = 'REQUESTED' OR status = 'REJECTED' OR registry_id IS NOT NULL),
    CHECK (received <= quantity)
) STRICT;
CREATE UNIQUE INDEX orders_registry ON orders (api, registry_id, gtin) WHERE registry_id IS NOT NULL;

-- A pack is stored in the same transaction as its codes: a pack id present here means its codes are in
-- the ledger, so asking for the next pack (or recovering a lost answer) never loses or repeats one.
CREATE TABLE packs (
    id              INTEGER PRIMARY KEY,
    order_id        INTEGER NOT NULL REFERENCES orders(id),
    pack_id         TEXT NOT NULL,
    quantity        INTEGER NOT NULL,
    source_id       INTEGER NOT NULL REFERENCES code_sources(id),
    received_at     INTEGER NOT NULL,
    UNIQUE (order_id, pack_id)
) STRICT;
CREATE TRIGGER packs_no_delete BEFORE DELETE ON packs
BEGIN SELECT RAISE(ABORT, 'packs are never deleted'); END;
"#,
    // 3: reports sent to the registry, and which outbox rows each carries.
    r#"
-- A report is written SENDING, with its codes taken off the queue, before the request goes out. If the
-- answer is lost (or the station stops) it stays SENDING: unknown, and resolved by asking the registry
-- about its codes, never by sending it again.
CREATE TABLE reports (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('UTILISATION', 'WRITE_OFF')),
    api             TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'SENDING'
                    CHECK (status IN ('SENDING', 'SENT', 'ACCEPTED', 'REJECTED', 'UNSENT', 'RESOLVED')),
    registry_id     TEXT,
    codes           INTEGER NOT NULL,
    reason          TEXT,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    CHECK (status NOT IN ('SENT', 'ACCEPTED') OR registry_id IS NOT NULL OR status = 'ACCEPTED')
) STRICT;
CREATE INDEX reports_open ON reports (status) WHERE status IN ('SENDING', 'SENT');
ALTER TABLE outbox ADD COLUMN report INTEGER REFERENCES reports(id);
"#,
    // 4: how the registry sync last went, for `status` in another process (one row).
    r#"
CREATE TABLE sync_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    link            TEXT NOT NULL CHECK (link IN ('UNKNOWN', 'UP', 'DOWN')),
    link_since      INTEGER,
    last_attempt_at INTEGER,
    last_success_at INTEGER,
    last_error      TEXT,
    last_error_at   INTEGER
) STRICT;
"#,
    // 5: the pool index follows `reserve`'s order (nearest expiry first, then oldest), so taking the next
    // code reads one index entry instead of sorting every AVAILABLE code of the product (150 000 after a
    // full order).
    r#"
CREATE INDEX codes_pool_next ON codes (gtin, state, expires_at IS NULL, expires_at, id);
"#,
    // 6: why a code waits for review, as a key and its values (a JSON array of strings) beside the English
    // `reason`, so the review screen words it in the supervisor's language. Cleared with `reason` when the
    // code moves on. Codes already waiting are keyed from the engine's fixed English sentences; any other
    // reason keeps no key and shows in English.
    r#"
ALTER TABLE codes ADD COLUMN reason_key TEXT;
ALTER TABLE codes ADD COLUMN reason_args TEXT;
UPDATE codes SET reason_key = 'worker-unreadable', reason_args = '[]'
    WHERE state IN ('REJECTED', 'NEEDS_REVIEW') AND reason = 'the worker reported the sticker unreadable';
UPDATE codes SET reason_key = 'cancelled', reason_args = '[]'
    WHERE state IN ('REJECTED', 'NEEDS_REVIEW') AND reason = 'the label was cancelled at the station';
UPDATE codes SET reason_key = 'maybe-not-sent', reason_args = '[]'
    WHERE state IN ('REJECTED', 'NEEDS_REVIEW')
      AND reason = 'the label may not have reached the printer (the link failed while sending): if a sticker came out, set it aside for the supervisor';
UPDATE codes SET reason_key = 'no-scan', reason_args = json_array(substr(reason, 16, length(reason) - 17))
    WHERE state IN ('REJECTED', 'NEEDS_REVIEW') AND reason GLOB 'no scan within [0-9]* s'
      AND substr(reason, 16, length(reason) - 17) NOT GLOB '*[^0-9]*';
UPDATE codes SET reason_key = 'station-stopped',
                 reason_args = json_array(substr(reason, 41, instr(reason, ':') - 41))
    WHERE state IN ('REJECTED', 'NEEDS_REVIEW')
      AND reason GLOB 'the station stopped while this code was [A-Z]*: check whether its sticker was printed or applied';
"#,
    // 7 (issue 14, registry boundary): what the sync knows of a report besides its status, and where a
    // refused report's codes stand while halving finds out whether the registry refused codes or the
    // report. A report whose outcome is unknown (SENDING with `lost_at`) is settled from the registry's
    // evidence, looked at again no sooner than `next_check_at`. A report refused whole is REJECTED with
    // `refusal` 'REPORT'; held for a supervisor (`held_at`) until re-sent (`released_at`). Outbox rows
    // re-queued as one half of a refused report carry `split_of` and `half`; a row whose fault depends
    // on the other half's fate is UNKNOWN. (`parent` and `split_of` name reports; no REFERENCES, so the
    // columns can be dropped again: SQLite cannot drop a column under a foreign key.)
    r#"
ALTER TABLE reports ADD COLUMN lost_at INTEGER;
ALTER TABLE reports ADD COLUMN next_check_at INTEGER;
ALTER TABLE reports ADD COLUMN checks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN parent INTEGER;
ALTER TABLE reports ADD COLUMN half INTEGER CHECK (half IN (0, 1));
ALTER TABLE reports ADD COLUMN refusal TEXT CHECK (refusal IN ('CODES', 'REPORT'));
ALTER TABLE reports ADD COLUMN held_at INTEGER;
ALTER TABLE reports ADD COLUMN released_at INTEGER;
ALTER TABLE outbox ADD COLUMN split_of INTEGER;
ALTER TABLE outbox ADD COLUMN half INTEGER CHECK (half IN (0, 1));
CREATE INDEX outbox_descent ON outbox (split_of, half) WHERE split_of IS NOT NULL;
"#,
];

/// Bring `code_transitions` in line with [`TRANSITIONS`]. Runs inside the migration transaction, so the
/// table always matches the program that last upgraded the schema.
pub fn sync_transitions(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let mut pairs: Vec<(CodeState, CodeState)> =
        TRANSITIONS.iter().map(|(_, f, t)| (*f, *t)).collect();
    pairs.sort();
    pairs.dedup();
    let stored: Vec<(String, String)> = tx
        .prepare("SELECT from_state, to_state FROM code_transitions ORDER BY from_state, to_state")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut wanted: Vec<(String, String)> = pairs
        .iter()
        .map(|(f, t)| (f.as_str().to_owned(), t.as_str().to_owned()))
        .collect();
    wanted.sort();
    if stored == wanted {
        return Ok(());
    }
    tx.execute("DELETE FROM code_transitions", [])?;
    let mut ins =
        tx.prepare("INSERT INTO code_transitions (from_state, to_state) VALUES (?1, ?2)")?;
    for (f, t) in &wanted {
        ins.execute(params![f, t])?;
    }
    Ok(())
}
