// SPDX-License-Identifier: GPL-3.0-or-later
//! Named reads that screens, ops, the engine and the CLI ask of the ledger (exports, the shift report,
//! metrics, the audit list, doctor's figures), so none of them writes SQL of its own.

use super::*;

/// One code as the ledger export lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRow {
    pub id: i64,
    pub gtin: String,
    pub serial: String,
    /// The complete code, crypto tail included.
    pub code: String,
    pub state: String,
    pub job: Option<i64>,
    pub state_at: i64,
    pub reason: Option<String>,
    pub added_at: i64,
    pub verified_at: Option<i64>,
}

/// One product's line of the shift report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ShiftLine {
    pub gtin: String,
    pub product: String,
    pub printed: i64,
    pub verified: i64,
    pub rejected: i64,
    pub written_off: i64,
}

/// How many times codes of one product entered one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveCount {
    pub gtin: String,
    pub to_state: String,
    pub n: i64,
}

impl Ledger {
    /// Every code in id order, handed to `each` one at a time (a ledger may hold millions).
    pub fn each_code<E: From<StoreError>>(
        &self,
        mut each: impl FnMut(CodeRow) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, gtin, serial, code, state, job_id, state_at, reason, added_at, verified_at
                 FROM codes ORDER BY id",
            )
            .map_err(StoreError::from)?;
        let mut rows = stmt.query([]).map_err(StoreError::from)?;
        let read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<CodeRow> {
            Ok(CodeRow {
                id: r.get(0)?,
                gtin: r.get(1)?,
                serial: r.get(2)?,
                code: r.get(3)?,
                state: r.get(4)?,
                job: r.get(5)?,
                state_at: r.get(6)?,
                reason: r.get(7)?,
                added_at: r.get(8)?,
                verified_at: r.get(9)?,
            })
        };
        while let Some(r) = rows.next().map_err(StoreError::from)? {
            each(read(r).map_err(StoreError::from)?)?;
        }
        Ok(())
    }

    /// Per product, the codes that reached PRINTED, VERIFIED, REJECTED and WRITTEN_OFF in `[from, to)`
    /// (milliseconds), from the code events.
    pub fn shift_lines(&self, from: i64, to: i64) -> Result<Vec<ShiftLine>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT c.gtin, ifnull(p.name, ''),
                    sum(e.to_state = 'PRINTED'), sum(e.to_state = 'VERIFIED'),
                    sum(e.to_state = 'REJECTED'), sum(e.to_state = 'WRITTEN_OFF')
             FROM code_events e JOIN codes c ON c.id = e.code_id LEFT JOIN products p ON p.gtin = c.gtin
             WHERE e.at >= ?1 AND e.at < ?2
               AND e.to_state IN ('PRINTED', 'VERIFIED', 'REJECTED', 'WRITTEN_OFF')
             GROUP BY c.gtin ORDER BY c.gtin",
        )?;
        let lines = stmt
            .query_map([from, to], |r| {
                Ok(ShiftLine {
                    gtin: r.get(0)?,
                    product: r.get(1)?,
                    printed: r.get(2)?,
                    verified: r.get(3)?,
                    rejected: r.get(4)?,
                    written_off: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(lines)
    }

    /// How many times codes entered each state, per product, ordered by product and state.
    pub fn moves_by_state(&self) -> Result<Vec<MoveCount>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT c.gtin, e.to_state, count(*) FROM code_events e JOIN codes c ON c.id = e.code_id
             GROUP BY c.gtin, e.to_state ORDER BY c.gtin, e.to_state",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(MoveCount {
                    gtin: r.get(0)?,
                    to_state: r.get(1)?,
                    n: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The one number a `SELECT count(*) ...` gives.
    pub(super) fn count(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row(sql, params, |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// How many codes are in `state`.
    pub fn count_in_state(&self, state: CodeState) -> Result<u64, StoreError> {
        self.count(
            "SELECT count(*) FROM codes WHERE state = ?1",
            [state.as_str()],
        )
    }

    /// The printed stickers of `job` that still wait for a scan.
    pub fn waiting_in_job(&self, job: JobId) -> Result<u64, StoreError> {
        self.count(
            "SELECT count(*) FROM codes WHERE job_id = ?1 AND state = 'PRINTED'",
            [job.0],
        )
    }

    /// The code whose identification part (GTIN and serial, no crypto tail) is `ident` or whose complete
    /// code is `code`, if the ledger has one.
    pub fn find_code_text(&self, ident: &str, code: &str) -> Result<Option<CodeId>, StoreError> {
        match self.conn.query_row(
            "SELECT id FROM codes WHERE ident = ?1 OR code = ?2",
            params![ident, code],
            |r| r.get(0),
        ) {
            Ok(id) => Ok(Some(CodeId(id))),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The time (ms) of the newest code event or audit entry, if any: the ledger's idea of "now" for the
    /// clock check.
    pub fn newest_entry_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT max(m) FROM (SELECT max(at) AS m FROM code_events UNION ALL SELECT max(at) FROM audit_log)",
            [],
            |r| r.get(0),
        )?)
    }

    /// The newest `limit` audit entries, newest first.
    pub fn recent_audit(&self, limit: u32) -> Result<Vec<audit::AuditEntry>, StoreError> {
        Ok(audit::recent(&self.conn, limit)?)
    }

    /// The audit entries written at or after `from` (ms), oldest first.
    pub fn audit_since(&self, from: i64) -> Result<Vec<audit::AuditEntry>, StoreError> {
        Ok(audit::since(&self.conn, from)?)
    }

    /// Write the ledger's pages to disk without fsync (`false`) or with it (`true`, the default). Only
    /// for a throw-away bench ledger: without fsync a power cut can lose committed moves.
    pub fn set_durable(&self, durable: bool) -> Result<(), StoreError> {
        self.conn.execute_batch(if durable {
            "PRAGMA synchronous = FULL"
        } else {
            "PRAGMA synchronous = OFF"
        })?;
        Ok(())
    }
}

// The ledger's basic reads: one code, its events, codes by state, the balance, the checks.
impl Ledger {
    pub fn code(&self, id: CodeId) -> Result<CodeRecord, StoreError> {
        code_row(&self.conn, id)
    }

    /// Look a code up by its exact element string.
    pub fn find_code(&self, code: &MarkingCode) -> Result<Option<CodeRecord>, StoreError> {
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM codes WHERE code = ?1",
                [code.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        id.map(|id| code_row(&self.conn, CodeId(id))).transpose()
    }

    /// A code's history, oldest first.
    pub fn events(&self, id: CodeId) -> Result<Vec<CodeEvent>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT at, move, from_state, to_state, job_id, actor, reason FROM code_events
             WHERE code_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([id.0], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (at_ms, mv, from, to, job, actor, reason) = r?;
            let parse = |s: &str| {
                s.parse::<CodeState>()
                    .map_err(|e| corrupt_row(&self.path, e))
            };
            out.push(CodeEvent {
                at_ms,
                mv,
                from: from.as_deref().map(parse).transpose()?,
                to: parse(&to)?,
                job,
                actor,
                reason,
            });
        }
        Ok(out)
    }

    /// Codes in `state`, oldest change first (e.g. the review queue).
    pub fn codes_in_state(
        &self,
        state: CodeState,
        limit: u32,
    ) -> Result<Vec<CodeRecord>, StoreError> {
        let ids: Vec<i64> = self
            .conn
            .prepare("SELECT id FROM codes WHERE state = ?1 ORDER BY state_at, id LIMIT ?2")?
            .query_map(params![state.as_str(), limit], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.into_iter()
            .map(|id| code_row(&self.conn, CodeId(id)))
            .collect()
    }

    /// Counts by state for every registered product (products with no codes show zeros).
    pub fn balance(&self) -> Result<Vec<GtinBalance>, StoreError> {
        let mut out: BTreeMap<String, GtinBalance> = BTreeMap::new();
        let empty = || {
            CodeState::ALL
                .iter()
                .map(|s| (s.as_str(), 0u64))
                .collect::<BTreeMap<_, _>>()
        };
        let mut stmt = self.conn.prepare("SELECT gtin, name FROM products")?;
        for r in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (gtin, name) = r?;
            out.insert(
                gtin.clone(),
                GtinBalance {
                    gtin,
                    name: Some(name),
                    states: empty(),
                },
            );
        }
        let mut stmt = self
            .conn
            .prepare("SELECT gtin, state, count(*) FROM codes GROUP BY gtin, state")?;
        for r in stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })? {
            let (gtin, state, n) = r?;
            let state: CodeState = state.parse().map_err(|e| corrupt_row(&self.path, e))?;
            let entry = out.entry(gtin.clone()).or_insert_with(|| GtinBalance {
                gtin,
                name: None,
                states: empty(),
            });
            entry
                .states
                .insert(state.as_str(), u64::try_from(n).unwrap_or(0));
        }
        Ok(out.into_values().collect())
    }

    /// Check the audit chain.
    pub fn verify_audit(&self) -> Result<audit::ChainReport, StoreError> {
        Ok(audit::verify(&self.conn)?)
    }

    /// Check every ledger invariant; an empty list means the ledger is consistent.
    pub fn check_invariants(&self) -> Result<Vec<invariants::Violation>, StoreError> {
        invariants::check(&self.conn)
    }
}
