// SPDX-License-Identifier: GPL-3.0-or-later
//! Whole-ledger consistency checks: what "every code is accounted for" means, as queries.
//!
//! Used by tests (property and crash tests), by `labelstation ledger check`, and by start-up diagnostics.
//! Each check is independent of the Rust code that makes the changes, so a bug there shows up here.

use rusqlite::Connection;
use serde::Serialize;

use super::{StoreError, audit};

/// One broken rule, with the rows it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub rule: &'static str,
    pub detail: String,
}

/// (rule, query returning one text column per offending row). Every query must return no rows.
const RULES: &[(&str, &str)] = &[
    (
        "every code has a history",
        "SELECT 'code #' || id FROM codes c WHERE NOT EXISTS (SELECT 1 FROM code_events e WHERE e.code_id = c.id)",
    ),
    (
        "a code's history starts with its arrival in the pool",
        "SELECT 'code #' || code_id FROM code_events e
         WHERE e.id = (SELECT min(id) FROM code_events WHERE code_id = e.code_id)
           AND NOT (e.from_state IS NULL AND e.to_state = 'AVAILABLE')",
    ),
    (
        "each event starts where the previous one ended",
        "SELECT 'code #' || code_id || ' event #' || id FROM (
             SELECT code_id, id, from_state,
                    LAG(to_state) OVER (PARTITION BY code_id ORDER BY id) AS prev,
                    ROW_NUMBER() OVER (PARTITION BY code_id ORDER BY id) AS n
             FROM code_events)
         WHERE n > 1 AND from_state IS NOT prev",
    ),
    (
        "every recorded move is a legal transition",
        "SELECT 'code #' || code_id || ' ' || from_state || '->' || to_state FROM code_events e
         WHERE from_state IS NOT NULL AND NOT EXISTS (
             SELECT 1 FROM code_transitions t WHERE t.from_state = e.from_state AND t.to_state = e.to_state)",
    ),
    (
        "a code's state is where its history ends",
        "SELECT 'code #' || c.id || ' is ' || c.state || ', history says ' || e.to_state FROM codes c
         JOIN code_events e ON e.id = (SELECT max(id) FROM code_events WHERE code_id = c.id)
         WHERE e.to_state <> c.state",
    ),
    (
        "a code is verified at most once",
        "SELECT 'code #' || code_id || ' verified ' || count(*) || ' times' FROM code_events
         WHERE to_state = 'VERIFIED' AND move <> 'send_again' GROUP BY code_id HAVING count(*) > 1",
    ),
    (
        "only a verified code is sent again",
        "SELECT 'code #' || e.code_id || ' event #' || e.id FROM code_events e
         WHERE e.move = 'send_again' AND NOT EXISTS (SELECT 1 FROM code_events v
             WHERE v.code_id = e.code_id AND v.id < e.id AND v.to_state = 'VERIFIED')",
    ),
    (
        "a code in flight belongs to one open job of its product (a PRINTED code waits outside an open job only on a batch or no-verify roll)",
        "SELECT 'code #' || c.id || ' ' || c.state || CASE
                    WHEN j.id IS NULL THEN ' in no job'
                    WHEN j.gtin <> c.gtin THEN ' in job #' || j.id || ' of another product'
                    ELSE ' in closed ' || j.mode || ' job #' || j.id END
         FROM codes c LEFT JOIN jobs j ON j.id = c.job_id
         WHERE c.state IN ('RESERVED', 'SENT', 'PRINTED')
           AND (j.id IS NULL OR j.gtin <> c.gtin
                OR (j.closed_at IS NOT NULL
                    AND NOT (c.state = 'PRINTED' AND j.mode IN ('BATCH', 'NO_VERIFY'))))",
    ),
    (
        "a code out of flight belongs to no job",
        "SELECT 'code #' || id FROM codes WHERE state NOT IN ('RESERVED', 'SENT', 'PRINTED') AND job_id IS NOT NULL",
    ),
    (
        "verified codes carry their verification time",
        "SELECT 'code #' || id FROM codes WHERE (verified_at IS NULL) = EXISTS (
             SELECT 1 FROM code_events e WHERE e.code_id = codes.id AND e.to_state = 'VERIFIED')",
    ),
    (
        "every verified code owes exactly one application report, and no other code owes one",
        "SELECT 'code #' || c.id FROM codes c
         WHERE (c.verified_at IS NOT NULL) <> EXISTS (
             SELECT 1 FROM outbox o WHERE o.code_id = c.id AND o.kind = 'UTILISATION')",
    ),
    (
        "every written-off code owes exactly one write-off, and no other code owes one",
        "SELECT 'code #' || c.id FROM codes c
         WHERE (c.state = 'WRITTEN_OFF') <> EXISTS (
             SELECT 1 FROM outbox o WHERE o.code_id = c.id AND o.kind = 'WRITE_OFF')",
    ),
    (
        "a reported code's report was accepted",
        "SELECT 'code #' || c.id FROM codes c WHERE c.state = 'REPORTED' AND NOT EXISTS (
             SELECT 1 FROM outbox o WHERE o.code_id = c.id AND o.kind = 'UTILISATION' AND o.status = 'ACCEPTED')",
    ),
    (
        "every code came from a recorded import or order, and each source's codes are all present",
        "SELECT 'source #' || s.id || ' recorded ' || s.count || ' codes, ledger has ' ||
                (SELECT count(*) FROM codes c WHERE c.source_id = s.id)
         FROM code_sources s WHERE s.count <> (SELECT count(*) FROM codes c WHERE c.source_id = s.id)",
    ),
    (
        "an order's progress is the sum of its stored packs",
        "SELECT 'order #' || o.id || ' says ' || o.received || ', packs hold ' ||
                (SELECT coalesce(sum(quantity), 0) FROM packs p WHERE p.order_id = o.id)
         FROM orders o WHERE o.received <> (SELECT coalesce(sum(quantity), 0) FROM packs p WHERE p.order_id = o.id)",
    ),
    (
        "a held code is in the pool",
        "SELECT 'code #' || h.code_id || ' is ' || c.state FROM code_holds h JOIN codes c ON c.id = h.code_id
         WHERE h.ended_at IS NULL AND c.state <> 'AVAILABLE'",
    ),
    (
        "an abandoned order took no pack after it was abandoned",
        "SELECT 'order #' || o.id || ' pack ' || p.pack_id FROM orders o JOIN packs p ON p.order_id = o.id
         WHERE o.status = 'ABANDONED' AND p.received_at > o.closed_at",
    ),
    (
        "a queued outbox row is in no report, a sent or accepted one is in a report",
        "SELECT 'outbox #' || id || ' ' || status FROM outbox
         WHERE (status = 'QUEUED' AND report IS NOT NULL) OR (status IN ('SENT', 'ACCEPTED') AND report IS NULL)",
    ),
    (
        "a code goes into circulation only after its application was accepted",
        "SELECT 'code #' || d.code_id || ' is ' || c.state FROM document_codes d JOIN codes c ON c.id = d.code_id
         WHERE d.kind = 'IMPORT' AND d.outcome IN ('PENDING', 'ACCEPTED') AND c.state <> 'REPORTED'",
    ),
    (
        "an import document carries codes of its own consignment only",
        "SELECT 'document #' || d.document || ' code #' || d.code_id FROM document_codes d
         JOIN documents x ON x.id = d.document
         WHERE d.kind = 'IMPORT' AND NOT EXISTS (SELECT 1 FROM consignment_codes k
               WHERE k.code_id = d.code_id AND k.consignment = x.consignment)",
    ),
    (
        "a document's codes match its count, and a finished document has no pending code",
        "SELECT 'document #' || x.id || ' ' || x.status FROM documents x
         WHERE x.codes <> (SELECT count(*) FROM document_codes d WHERE d.document = x.id)
                        + (SELECT count(*) FROM document_units u WHERE u.document = x.id)
            OR (x.status IN ('SUCCESS', 'PARTIAL', 'ERROR')
                AND (EXISTS (SELECT 1 FROM document_codes d WHERE d.document = x.id AND d.outcome = 'PENDING')
                     OR EXISTS (SELECT 1 FROM document_units u WHERE u.document = x.id AND u.outcome = 'PENDING')))
            OR (x.status IN ('QUEUED', 'SENDING', 'SENT')
                AND (EXISTS (SELECT 1 FROM document_codes d WHERE d.document = x.id AND d.outcome <> 'PENDING')
                     OR EXISTS (SELECT 1 FROM document_units u WHERE u.document = x.id AND u.outcome <> 'PENDING')))",
    ),
    (
        "a boxed pair goes into circulation with its box (or its pallet), never alone",
        "SELECT 'document #' || d.document || ' code #' || d.code_id || ' is in box ' || i.sscc
         FROM document_codes d JOIN box_items i ON i.code_id = d.code_id JOIN boxes b ON b.sscc = i.sscc
         WHERE d.kind = 'IMPORT'
           AND NOT EXISTS (SELECT 1 FROM document_units u WHERE u.document = d.document
                             AND u.sscc IN (b.sscc, b.parent))
           AND NOT EXISTS (SELECT 1 FROM document_units u JOIN documents x ON x.id = u.document
                             WHERE u.sscc = b.sscc AND u.kind = 'DISAGGREGATION' AND u.outcome = 'ACCEPTED'
                               AND x.finished_at <= (SELECT created_at FROM documents WHERE id = d.document))",
    ),
    (
        "a document's units are of its consignment, and an aggregation lists exactly its boxes' pairs",
        "SELECT 'document #' || u.document || ' unit ' || u.sscc FROM document_units u
         JOIN documents x ON x.id = u.document JOIN boxes b ON b.sscc = u.sscc
         WHERE b.consignment IS NOT x.consignment
            OR (u.kind = 'AGGREGATION' AND b.level = 1 AND
                (SELECT count(*) FROM box_items i WHERE i.sscc = u.sscc) <>
                (SELECT count(*) FROM document_codes d JOIN box_items i ON i.code_id = d.code_id
                 WHERE d.document = u.document AND i.sscc = u.sscc))",
    ),
    (
        "a box is reported only when the registry accepted its aggregation",
        "SELECT 'box ' || b.sscc FROM boxes b WHERE b.state = 'REPORTED'
           AND NOT EXISTS (SELECT 1 FROM document_units u WHERE u.sscc = b.sscc
                             AND u.kind = 'AGGREGATION' AND u.outcome = 'ACCEPTED')",
    ),
    (
        "a report's codes are all in the outbox under it",
        "SELECT 'report #' || r.id FROM reports r
         WHERE r.status IN ('SENDING', 'SENT', 'ACCEPTED')
           AND r.codes <> (SELECT count(*) FROM outbox o WHERE o.report = r.id)",
    ),
];

/// Run every check. An empty list means the ledger is consistent.
pub fn check(conn: &Connection) -> Result<Vec<Violation>, StoreError> {
    let mut out = Vec::new();
    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if integrity != ["ok"] {
        out.push(Violation {
            rule: "the database file is intact",
            detail: integrity.join("; "),
        });
    }
    for (rule, sql) in RULES {
        let rows: Vec<String> = conn
            .prepare(sql)?
            .query_map([], |r| r.get(0))?
            .take(20)
            .collect::<rusqlite::Result<_>>()?;
        if !rows.is_empty() {
            out.push(Violation {
                rule,
                detail: rows.join(", "),
            });
        }
    }
    let chain = audit::verify(conn)?;
    for b in chain.breaks {
        out.push(Violation {
            rule: "the audit log chain holds",
            detail: b.to_string(),
        });
    }
    Ok(out)
}
