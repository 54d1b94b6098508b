// SPDX-License-Identifier: GPL-3.0-or-later
//! Ledger schema and its migrations.
//!
//! `PRAGMA user_version` holds the number of migrations applied. Each migration runs in its own
//! transaction together with the version bump, so a crash during an upgrade leaves either the old or the
//! new schema. Migrations are append-only: never edit one that has shipped, add the next.
//!
//! What the schema itself guarantees (beyond what the Rust API checks first):
//! - a code's state is one of the nine, and only moves listed in `code_transitions` are accepted, each
//!   for codes never verified or verified before as [`TRANSITIONS`](super::state::TRANSITIONS) says (a verified code is never
//!   reserved for a printer again);
//! - a code in flight (RESERVED/SENT/PRINTED) belongs to exactly one job, and no other code state has one;
//! - a code is verified at most once (`verified_at` is written once and never changes);
//! - codes, their events and the audit log are never deleted; events and audit entries never change;
//! - each code has at most one application report and one write-off in the outbox.

use rusqlite::{Transaction, params};

use super::state::allowed_triples;

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
    // 8 (issue 14, review rules): a move is allowed for codes never verified, verified before, or
    // either (`TRANSITIONS`), so the trigger refuses reprinting a verified code whatever its state, and
    // lets "send again" take a refused verified code back to VERIFIED. The table is made anew (filled
    // from `TRANSITIONS` by `sync_transitions` in the same transaction) and the trigger reads the code's
    // `verified_at`. Written to run again on a ledger that has it already.
    r#"
DROP TRIGGER IF EXISTS codes_legal_transition;
DROP TABLE code_transitions;
CREATE TABLE code_transitions (
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    verified    INTEGER NOT NULL CHECK (verified IN (0, 1)),
    PRIMARY KEY (from_state, to_state, verified)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER codes_legal_transition BEFORE UPDATE OF state ON codes
WHEN OLD.state <> NEW.state AND NOT EXISTS (
    SELECT 1 FROM code_transitions WHERE from_state = OLD.state AND to_state = NEW.state
        AND verified = (OLD.verified_at IS NOT NULL))
BEGIN SELECT RAISE(ABORT, 'illegal code state transition'); END;
"#,
    // 9 (issue 14, printer and line): stickers beyond the one the ledger counts. A print attempt the printer
    // was stopped on (paper, ribbon, head, silence, a lost link) may have left a partial sticker and, on a
    // printer that reprints after an error, a second whole one: `print_interruptions` keeps the printer's
    // trouble. An applied code scanned again from what may be another sticker is an alert a supervisor
    // closes with what was found. Both are never deleted; an alert is closed once. (New tables only, and
    // IF NOT EXISTS: safe to run again on a ledger an older build rolled back.)
    r#"
CREATE TABLE IF NOT EXISTS print_interruptions (
    attempt_id  INTEGER PRIMARY KEY REFERENCES print_attempts(id),
    code_id     INTEGER NOT NULL REFERENCES codes(id),
    trouble     TEXT NOT NULL,
    at          INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS print_interruptions_code ON print_interruptions (code_id);
CREATE TRIGGER IF NOT EXISTS print_interruptions_append_only_u BEFORE UPDATE ON print_interruptions
BEGIN SELECT RAISE(ABORT, 'print interruptions are append-only'); END;
CREATE TRIGGER IF NOT EXISTS print_interruptions_append_only_d BEFORE DELETE ON print_interruptions
BEGIN SELECT RAISE(ABORT, 'print interruptions are append-only'); END;
CREATE TABLE IF NOT EXISTS sticker_alerts (
    id          INTEGER PRIMARY KEY,
    code_id     INTEGER NOT NULL REFERENCES codes(id),
    scan_id     INTEGER NOT NULL UNIQUE REFERENCES scans(id),
    at          INTEGER NOT NULL,
    station     TEXT NOT NULL,
    -- The ledger already knew a copy may exist (an interrupted print, a second print) when the scan came.
    copy_known  INTEGER NOT NULL CHECK (copy_known IN (0, 1)),
    closed_at   INTEGER,
    closed_by   TEXT,
    outcome     TEXT,
    CHECK ((closed_at IS NULL) = (closed_by IS NULL) AND (closed_at IS NULL) = (outcome IS NULL))
) STRICT;
CREATE INDEX IF NOT EXISTS sticker_alerts_open ON sticker_alerts (id) WHERE closed_at IS NULL;
CREATE TRIGGER IF NOT EXISTS sticker_alerts_no_delete BEFORE DELETE ON sticker_alerts
BEGIN SELECT RAISE(ABORT, 'sticker alerts are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS sticker_alerts_closed_once BEFORE UPDATE ON sticker_alerts
WHEN OLD.closed_at IS NOT NULL OR NEW.code_id IS NOT OLD.code_id OR NEW.scan_id IS NOT OLD.scan_id
  OR NEW.at IS NOT OLD.at OR NEW.station IS NOT OLD.station OR NEW.copy_known IS NOT OLD.copy_known
BEGIN SELECT RAISE(ABORT, 'a sticker alert is closed once and otherwise never changes'); END;
"#,
    // 10 (issue 14, orders and restore): an order a supervisor abandoned, an order's last failure, and
    // whether an abandoned order is closed in the registry (the status CHECK changes, so `orders` and the
    // `packs` that refer to it are rebuilt: SQLite cannot alter a CHECK, and rebuilding both keeps the
    // foreign key valid at every step). Codes held after a restore: AVAILABLE in the restored ledger, but a
    // station may have printed them after the backup; the pool skips them until the registry or a
    // supervisor clears them, and a trigger refuses to reserve one. (Run again on a ledger whose version
    // was set back by hand, as a test does, it still succeeds: the rebuild copies the orders, dropping
    // only their last failures, and the rest exists already.)
    r#"
CREATE TABLE orders_new (
    id              INTEGER PRIMARY KEY,
    api             TEXT NOT NULL,
    order_key       TEXT NOT NULL UNIQUE,
    registry_id     TEXT,
    gtin            TEXT NOT NULL REFERENCES products(gtin),
    quantity        INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 150000),
    received        INTEGER NOT NULL DEFAULT 0,
    last_pack_id    TEXT,
    status          TEXT NOT NULL DEFAULT 'REQUESTED'
                    CHECK (status IN ('REQUESTED', 'OPEN', 'CLOSED', 'REJECTED', 'ABANDONED')),
    reason          TEXT,
    created_at      INTEGER NOT NULL,
    closed_at       INTEGER,
    last_error      TEXT,
    last_error_at   INTEGER,
    registry_closed_at INTEGER,
    CHECK (status IN ('REQUESTED', 'REJECTED', 'ABANDONED') OR registry_id IS NOT NULL),
    CHECK (received <= quantity)
) STRICT;
INSERT INTO orders_new (id, api, order_key, registry_id, gtin, quantity, received, last_pack_id, status,
                        reason, created_at, closed_at)
    SELECT id, api, order_key, registry_id, gtin, quantity, received, last_pack_id, status, reason,
           created_at, closed_at FROM orders;
CREATE TABLE packs_new (
    id              INTEGER PRIMARY KEY,
    order_id        INTEGER NOT NULL REFERENCES orders_new(id),
    pack_id         TEXT NOT NULL,
    quantity        INTEGER NOT NULL,
    source_id       INTEGER NOT NULL REFERENCES code_sources(id),
    received_at     INTEGER NOT NULL,
    UNIQUE (order_id, pack_id)
) STRICT;
INSERT INTO packs_new SELECT id, order_id, pack_id, quantity, source_id, received_at FROM packs;
DROP TABLE packs;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
ALTER TABLE packs_new RENAME TO packs;
CREATE UNIQUE INDEX orders_registry ON orders (api, registry_id, gtin) WHERE registry_id IS NOT NULL;
CREATE TRIGGER packs_no_delete BEFORE DELETE ON packs
BEGIN SELECT RAISE(ABORT, 'packs are never deleted'); END;

CREATE TABLE IF NOT EXISTS code_holds (
    id              INTEGER PRIMARY KEY,
    code_id         INTEGER NOT NULL REFERENCES codes(id),
    held_at         INTEGER NOT NULL,
    -- Why: the restore that put it on hold.
    note            TEXT NOT NULL,
    -- The registry's answer the last time it was asked (RECEIVED is no proof either way).
    registry_state  TEXT,
    registry_checked_at INTEGER,
    ended_at        INTEGER,
    ended_by        TEXT,
    -- RELEASED (a supervisor cleared it), or the state the code moved to while held.
    outcome         TEXT,
    CHECK ((ended_at IS NULL) = (outcome IS NULL))
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS code_holds_open ON code_holds (code_id) WHERE ended_at IS NULL;
CREATE TRIGGER IF NOT EXISTS code_holds_no_delete BEFORE DELETE ON code_holds
BEGIN SELECT RAISE(ABORT, 'holds are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS codes_held_not_reserved BEFORE UPDATE OF state ON codes
WHEN NEW.state = 'RESERVED'
 AND EXISTS (SELECT 1 FROM code_holds WHERE code_id = OLD.id AND ended_at IS NULL)
BEGIN SELECT RAISE(ABORT, 'the code is held after a restore until it is checked or released'); END;
-- A held code that leaves the pool otherwise (written off, found used) is no longer held.
CREATE TRIGGER IF NOT EXISTS codes_hold_ends AFTER UPDATE OF state ON codes
WHEN OLD.state = 'AVAILABLE' AND NEW.state <> 'AVAILABLE'
BEGIN
    UPDATE code_holds SET ended_at = NEW.state_at, ended_by = 'ledger', outcome = NEW.state
    WHERE code_id = NEW.id AND ended_at IS NULL;
END;
-- A code found used after a restore (the kept ledger or the registry says so) has a sticker somewhere:
-- a supervisor confirms it (scan) or writes it off, never prints it again.
CREATE TRIGGER IF NOT EXISTS codes_found_used_not_reprinted BEFORE UPDATE OF state ON codes
WHEN OLD.state = 'NEEDS_REVIEW' AND NEW.state = 'RESERVED'
 AND (SELECT move FROM code_events WHERE code_id = OLD.id ORDER BY id DESC LIMIT 1) = 'found_used'
BEGIN SELECT RAISE(ABORT, 'the code was used after the backup the ledger was restored from: its sticker exists; confirm or write it off, never print it again'); END;
"#,
    // 11 (issue 17): consignments under customs control. The packing list's declared lines (one per
    // GTIN), later the customs declaration. A job may label for a consignment (`consignment_jobs`); each
    // code it sends to a printer is linked to that consignment for good (`consignment_codes`, written
    // once, never changed). Nothing here is ever deleted. (New tables only, and IF NOT EXISTS: safe to
    // run again on a ledger whose version was set back.)
    r#"
CREATE TABLE IF NOT EXISTS consignments (
    id                  TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64 AND length(trim(id)) = length(id)),
    importer_bin        TEXT NOT NULL CHECK (length(importer_bin) = 12 AND importer_bin NOT GLOB '*[^0-9]*'),
    importer_name       TEXT,
    country             TEXT NOT NULL CHECK (length(country) = 2 AND country NOT GLOB '*[^A-Z]*'),
    invoice             TEXT,
    -- The packing list file as imported.
    source_sha256       TEXT NOT NULL,
    declaration_number  TEXT,
    declaration_date    TEXT CHECK (declaration_date IS NULL OR declaration_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    customs_office      TEXT,
    declared_at         INTEGER,
    created_at          INTEGER NOT NULL,
    actor               TEXT NOT NULL,
    CHECK ((declaration_number IS NULL) = (declaration_date IS NULL)),
    CHECK ((declaration_number IS NULL) = (declared_at IS NULL))
) STRICT;
CREATE TABLE IF NOT EXISTS consignment_lines (
    consignment TEXT NOT NULL REFERENCES consignments(id),
    gtin        TEXT NOT NULL REFERENCES products(gtin),
    -- Its line in the packing list, and the name and size it gave.
    line        INTEGER NOT NULL,
    name        TEXT NOT NULL,
    size        TEXT,
    declared    INTEGER NOT NULL CHECK (declared > 0),
    PRIMARY KEY (consignment, gtin)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS consignment_jobs (
    job_id      INTEGER PRIMARY KEY REFERENCES jobs(id),
    consignment TEXT NOT NULL REFERENCES consignments(id)
) STRICT;
CREATE TABLE IF NOT EXISTS consignment_codes (
    code_id     INTEGER PRIMARY KEY REFERENCES codes(id),
    consignment TEXT NOT NULL REFERENCES consignments(id),
    at          INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS consignment_codes_of ON consignment_codes (consignment);
CREATE TRIGGER IF NOT EXISTS consignments_no_delete BEFORE DELETE ON consignments
BEGIN SELECT RAISE(ABORT, 'consignments are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS consignment_lines_no_delete BEFORE DELETE ON consignment_lines
BEGIN SELECT RAISE(ABORT, 'consignment lines are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS consignment_jobs_fixed_u BEFORE UPDATE ON consignment_jobs
BEGIN SELECT RAISE(ABORT, 'a job labels for one consignment'); END;
CREATE TRIGGER IF NOT EXISTS consignment_jobs_fixed_d BEFORE DELETE ON consignment_jobs
BEGIN SELECT RAISE(ABORT, 'a job labels for one consignment'); END;
CREATE TRIGGER IF NOT EXISTS consignment_codes_fixed_u BEFORE UPDATE ON consignment_codes
BEGIN SELECT RAISE(ABORT, 'a code stays with the consignment it was labelled for'); END;
CREATE TRIGGER IF NOT EXISTS consignment_codes_fixed_d BEFORE DELETE ON consignment_codes
BEGIN SELECT RAISE(ABORT, 'a code stays with the consignment it was labelled for'); END;
"#,
    // 12 (issue 17): registry documents (the import notice today; aggregation and disaggregation
    // later) and the codes each carries, by position as sent. A document is written QUEUED with its
    // codes; SENDING before its request leaves (then it may exist: it is found again by the document
    // search, never sent twice); SENT with the registry's id; then its outcome. A code is in at most one
    // live (PENDING or ACCEPTED) document of a kind: the schema refuses a second, so no code is
    // introduced twice. Nothing here is ever deleted.
    r#"
CREATE TABLE IF NOT EXISTS documents (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('IMPORT', 'AGGREGATION', 'DISAGGREGATION')),
    api             TEXT NOT NULL,
    consignment     TEXT REFERENCES consignments(id),
    status          TEXT NOT NULL DEFAULT 'QUEUED'
                    CHECK (status IN ('QUEUED', 'SENDING', 'SENT', 'SUCCESS', 'PARTIAL', 'ERROR')),
    registry_id     TEXT,
    -- The declaration it was filed under (import), as it was when the document was written.
    declaration_number TEXT,
    declaration_date   TEXT,
    customs_office     TEXT,
    codes           INTEGER NOT NULL CHECK (codes > 0),
    created_at      INTEGER NOT NULL,
    sending_at      INTEGER,
    lost_at         INTEGER,
    checks          INTEGER NOT NULL DEFAULT 0,
    next_check_at   INTEGER,
    reason          TEXT,
    finished_at     INTEGER,
    actor           TEXT NOT NULL,
    -- ERROR without an id: refused at once when sent (nothing was taken).
    CHECK (status NOT IN ('SENT', 'SUCCESS', 'PARTIAL') OR registry_id IS NOT NULL),
    CHECK (status = 'QUEUED' OR sending_at IS NOT NULL)
) STRICT;
CREATE INDEX IF NOT EXISTS documents_open ON documents (status) WHERE status IN ('QUEUED', 'SENDING', 'SENT');
CREATE UNIQUE INDEX IF NOT EXISTS documents_registry ON documents (api, registry_id) WHERE registry_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS document_codes (
    document    INTEGER NOT NULL REFERENCES documents(id),
    pos         INTEGER NOT NULL CHECK (pos >= 0),
    kind        TEXT NOT NULL,
    code_id     INTEGER NOT NULL REFERENCES codes(id),
    outcome     TEXT NOT NULL DEFAULT 'PENDING'
                CHECK (outcome IN ('PENDING', 'ACCEPTED', 'REFUSED', 'RETURNED')),
    error       TEXT,
    PRIMARY KEY (document, pos)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS document_codes_live ON document_codes (kind, code_id)
    WHERE outcome IN ('PENDING', 'ACCEPTED');
CREATE INDEX IF NOT EXISTS document_codes_code ON document_codes (code_id);
CREATE TRIGGER IF NOT EXISTS documents_no_delete BEFORE DELETE ON documents
BEGIN SELECT RAISE(ABORT, 'documents are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS document_codes_no_delete BEFORE DELETE ON document_codes
BEGIN SELECT RAISE(ABORT, 'document codes are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS document_codes_outcome_once BEFORE UPDATE OF outcome ON document_codes
WHEN OLD.outcome <> 'PENDING'
BEGIN SELECT RAISE(ABORT, 'a document code''s outcome is written once'); END;
CREATE TRIGGER IF NOT EXISTS document_codes_fixed BEFORE UPDATE OF document, pos, kind, code_id ON document_codes
BEGIN SELECT RAISE(ABORT, 'a document''s codes never change'); END;
"#,
    // 13 (issue 18): boxes and pallets under an SSCC the station composes. `sscc_counters` keeps the last
    // serial taken per company prefix and extension digit; it only goes forward (a sidecar file beside the
    // ledger carries the same high-water mark through a restore, see `store::boxes`). A box's life goes
    // forward one step at a time: OPEN → CLOSED → LABEL_PRINTED → LABEL_VERIFIED → REPORTED. A pair is in
    // one box only, a box holds one consignment and no more than its capacity, and only an OPEN box takes
    // pairs; a pallet (level 2) takes boxes (level 1) of its consignment through `parent`. Nothing is
    // deleted. (New tables only, and IF NOT EXISTS: safe to run again on a ledger whose version was set
    // back.)
    r#"
CREATE TABLE IF NOT EXISTS sscc_counters (
    company_prefix  TEXT NOT NULL CHECK (length(company_prefix) BETWEEN 7 AND 10 AND company_prefix NOT GLOB '*[^0-9]*'),
    extension_digit INTEGER NOT NULL CHECK (extension_digit BETWEEN 0 AND 9),
    last_serial     INTEGER NOT NULL CHECK (last_serial >= 0),
    PRIMARY KEY (company_prefix, extension_digit)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS sscc_counters_forward BEFORE UPDATE ON sscc_counters
WHEN NEW.last_serial <= OLD.last_serial OR NEW.company_prefix IS NOT OLD.company_prefix
  OR NEW.extension_digit IS NOT OLD.extension_digit
BEGIN SELECT RAISE(ABORT, 'an SSCC serial is never taken twice: its counter only goes forward'); END;
CREATE TRIGGER IF NOT EXISTS sscc_counters_no_delete BEFORE DELETE ON sscc_counters
BEGIN SELECT RAISE(ABORT, 'an SSCC serial is never taken twice: its counter is never deleted'); END;
CREATE TABLE IF NOT EXISTS boxes (
    sscc              TEXT PRIMARY KEY CHECK (length(sscc) = 18 AND sscc NOT GLOB '*[^0-9]*'),
    level             INTEGER NOT NULL CHECK (level IN (1, 2)),
    consignment       TEXT NOT NULL REFERENCES consignments(id),
    capacity          INTEGER NOT NULL CHECK (capacity > 0),
    state             TEXT NOT NULL DEFAULT 'OPEN'
                      CHECK (state IN ('OPEN', 'CLOSED', 'LABEL_PRINTED', 'LABEL_VERIFIED', 'REPORTED')),
    -- The pallet a box is on.
    parent            TEXT REFERENCES boxes(sscc),
    created_at        INTEGER NOT NULL,
    closed_at         INTEGER,
    label_printed_at  INTEGER,
    label_verified_at INTEGER,
    reported_at       INTEGER,
    actor             TEXT NOT NULL,
    CHECK (parent IS NULL OR level = 1)
) STRICT;
CREATE INDEX IF NOT EXISTS boxes_of ON boxes (consignment);
CREATE TABLE IF NOT EXISTS box_items (
    code_id INTEGER PRIMARY KEY REFERENCES codes(id),
    sscc    TEXT NOT NULL REFERENCES boxes(sscc),
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS box_items_of ON box_items (sscc);
CREATE TRIGGER IF NOT EXISTS boxes_no_delete BEFORE DELETE ON boxes
BEGIN SELECT RAISE(ABORT, 'boxes are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS boxes_fixed BEFORE UPDATE OF sscc, level, consignment, capacity, created_at ON boxes
BEGIN SELECT RAISE(ABORT, 'a box keeps its SSCC, level, consignment and capacity'); END;
CREATE TRIGGER IF NOT EXISTS boxes_forward BEFORE UPDATE OF state ON boxes
WHEN (CASE NEW.state WHEN 'OPEN' THEN 0 WHEN 'CLOSED' THEN 1 WHEN 'LABEL_PRINTED' THEN 2
      WHEN 'LABEL_VERIFIED' THEN 3 ELSE 4 END)
  != (CASE OLD.state WHEN 'OPEN' THEN 0 WHEN 'CLOSED' THEN 1 WHEN 'LABEL_PRINTED' THEN 2
      WHEN 'LABEL_VERIFIED' THEN 3 ELSE 4 END) + 1
BEGIN SELECT RAISE(ABORT, 'a box goes forward one step at a time: open, closed, label printed, label verified, reported'); END;
CREATE TRIGGER IF NOT EXISTS boxes_onto_pallet BEFORE UPDATE OF parent ON boxes
WHEN OLD.parent IS NOT NULL OR NEW.parent IS NULL
  OR (SELECT level FROM boxes WHERE sscc = NEW.parent) IS NOT 2
  OR (SELECT state FROM boxes WHERE sscc = NEW.parent) IS NOT 'OPEN'
  OR (SELECT consignment FROM boxes WHERE sscc = NEW.parent) IS NOT OLD.consignment
  OR (SELECT count(*) FROM boxes WHERE parent = NEW.parent) >= (SELECT capacity FROM boxes WHERE sscc = NEW.parent)
BEGIN SELECT RAISE(ABORT, 'a box goes onto one open pallet of its consignment, with room'); END;
CREATE TRIGGER IF NOT EXISTS box_items_fit BEFORE INSERT ON box_items
WHEN (SELECT level FROM boxes WHERE sscc = NEW.sscc) IS NOT 1
  OR (SELECT state FROM boxes WHERE sscc = NEW.sscc) IS NOT 'OPEN'
  OR (SELECT count(*) FROM box_items WHERE sscc = NEW.sscc) >= (SELECT capacity FROM boxes WHERE sscc = NEW.sscc)
  OR (SELECT consignment FROM consignment_codes WHERE code_id = NEW.code_id)
     IS NOT (SELECT consignment FROM boxes WHERE sscc = NEW.sscc)
  OR (SELECT state FROM codes WHERE id = NEW.code_id) NOT IN ('VERIFIED', 'REPORTED')
BEGIN SELECT RAISE(ABORT, 'a pair goes into an open box of its consignment, with room, once its sticker is verified'); END;
CREATE TRIGGER IF NOT EXISTS box_items_fixed_u BEFORE UPDATE ON box_items
BEGIN SELECT RAISE(ABORT, 'a pair is in one box only'); END;
CREATE TRIGGER IF NOT EXISTS box_items_fixed_d BEFORE DELETE ON box_items
BEGIN SELECT RAISE(ABORT, 'a pair is in one box only'); END;
"#,
    // 14 (issue 18): the boxes and pallets a registry document carries. An aggregation document lists
    // its units (boxes, or pallets) here and the pairs of its boxes in `document_codes`; an import
    // document declares whole boxes (or pallets) here and their pairs in `document_codes` beside the
    // loose pairs; a disaggregation lists the units it unpacks. Which unit a pair goes under follows
    // from `box_items`, which never changes. A unit is in at most one live (PENDING or ACCEPTED)
    // document of a kind, as a code is; a box with an accepted disaggregation is unpacked. A document's
    // `codes` counts its rows in both tables. (New tables only, IF NOT EXISTS: safe to run again.)
    r#"
CREATE TABLE IF NOT EXISTS document_units (
    document    INTEGER NOT NULL REFERENCES documents(id),
    pos         INTEGER NOT NULL CHECK (pos >= 0),
    kind        TEXT NOT NULL,
    sscc        TEXT NOT NULL REFERENCES boxes(sscc),
    outcome     TEXT NOT NULL DEFAULT 'PENDING'
                CHECK (outcome IN ('PENDING', 'ACCEPTED', 'REFUSED', 'RETURNED')),
    error       TEXT,
    PRIMARY KEY (document, pos)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS document_units_live ON document_units (kind, sscc)
    WHERE outcome IN ('PENDING', 'ACCEPTED');
CREATE INDEX IF NOT EXISTS document_units_sscc ON document_units (sscc);
CREATE TRIGGER IF NOT EXISTS document_units_no_delete BEFORE DELETE ON document_units
BEGIN SELECT RAISE(ABORT, 'document units are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS document_units_outcome_once BEFORE UPDATE OF outcome ON document_units
WHEN OLD.outcome <> 'PENDING'
BEGIN SELECT RAISE(ABORT, 'a document unit''s outcome is written once'); END;
CREATE TRIGGER IF NOT EXISTS document_units_fixed BEFORE UPDATE OF document, pos, kind, sscc ON document_units
BEGIN SELECT RAISE(ABORT, 'a document''s units never change'); END;
"#,
];

/// Bring `code_transitions` in line with [`TRANSITIONS`](super::state::TRANSITIONS). Runs inside the migration transaction, so the
/// table always matches the program that last upgraded the schema. Before migration 8 the table has no
/// `verified` column: it then holds every (from, to) pair, as the schema of that time expects.
pub fn sync_transitions(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let with_verified: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('code_transitions') WHERE name = 'verified')",
        [],
        |r| r.get(0),
    )?;
    let mut wanted: Vec<(String, String, i64)> = allowed_triples()
        .into_iter()
        .map(|(f, t, v)| {
            (
                f.as_str().to_owned(),
                t.as_str().to_owned(),
                if with_verified { i64::from(v) } else { 0 },
            )
        })
        .collect();
    wanted.sort();
    wanted.dedup();
    let stored: Vec<(String, String, i64)> = if with_verified {
        tx.prepare(
            "SELECT from_state, to_state, verified FROM code_transitions
             ORDER BY from_state, to_state, verified",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?
    } else {
        tx.prepare(
            "SELECT from_state, to_state, 0 FROM code_transitions ORDER BY from_state, to_state",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?
    };
    if stored == wanted {
        return Ok(());
    }
    tx.execute("DELETE FROM code_transitions", [])?;
    if with_verified {
        let mut ins = tx.prepare(
            "INSERT INTO code_transitions (from_state, to_state, verified) VALUES (?1, ?2, ?3)",
        )?;
        for (f, t, v) in &wanted {
            ins.execute(params![f, t, v])?;
        }
    } else {
        let mut ins =
            tx.prepare("INSERT INTO code_transitions (from_state, to_state) VALUES (?1, ?2)")?;
        for (f, t, _) in &wanted {
            ins.execute(params![f, t])?;
        }
    }
    Ok(())
}
