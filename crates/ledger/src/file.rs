// SPDX-License-Identifier: GPL-3.0-or-later
//! The ledger as a file: opening it to read only, checking a file without changing it, copying it with
//! SQLite's online backup API, and telling what a ledger holds beyond a copy of it. Backups and restores
//! (`ops::backup`) and readers in other processes or threads (metrics, the UI's reader) use these, so
//! no SQL and no raw connection leave the ledger.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::{Ledger, StoreError, audit, invariants, schema};

/// The ledger's file name inside the data dir (the ledger owns it: backups, restores and readers beside
/// the station find the file by it).
pub const LEDGER_FILE: &str = "ledger.sqlite3";

/// What a ledger file holds, from the checks a copy must pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileCheck {
    pub schema: i64,
    pub codes: i64,
    pub events: i64,
    pub audit_entries: u64,
    /// Id of the newest code event (0: none); events are append-only, so a newer ledger has higher ids.
    pub last_event_id: i64,
    /// Timestamp (ms) of the newest code event, if any.
    pub newest_event_ms: Option<i64>,
}

/// SQLite's full integrity check: `["ok"]` when the file is sound, else the problems it found.
fn integrity_check(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    conn.prepare("PRAGMA integrity_check").and_then(|mut s| {
        s.query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()
    })
}

/// Check a ledger file without changing it: SQLite's full integrity check, the schema version, every
/// ledger invariant and the audit chain. `Err` lists what is wrong.
pub fn check_file(path: &Path) -> Result<FileCheck, String> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open it: {e}"))?;
    let sql = |e: rusqlite::Error| e.to_string();
    let integrity =
        integrity_check(&conn).map_err(|e| format!("integrity check failed to run: {e}"))?;
    if integrity != ["ok"] {
        return Err(format!(
            "integrity check: {}",
            integrity
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    let schema: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql)?;
    let known = schema::MIGRATIONS.len() as i64;
    if schema == 0 {
        return Err("it holds no labelstation ledger (schema version 0)".into());
    }
    if schema > known {
        return Err(format!(
            "it was written by a newer labelstation (schema {schema}; this one knows up to {known})"
        ));
    }
    let mut problems = Vec::new();
    match invariants::check(&conn) {
        Ok(v) => problems.extend(v.iter().map(|v| format!("{}: {}", v.rule, v.detail))),
        Err(e) => problems.push(format!("invariant checks failed to run: {e}")),
    }
    let audit_entries = match audit::verify(&conn) {
        Ok(r) => {
            problems.extend(r.breaks.iter().map(|b| b.to_string()));
            r.entries
        }
        Err(e) => {
            problems.push(format!("audit chain check failed to run: {e}"));
            0
        }
    };
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let (codes, events, last_event_id, newest_event_ms) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM codes), (SELECT count(*) FROM code_events),
                    (SELECT ifnull(max(id), 0) FROM code_events), (SELECT max(at) FROM code_events)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .map_err(sql)?;
    Ok(FileCheck {
        schema,
        codes,
        events,
        audit_entries,
        last_event_id,
        newest_event_ms,
    })
}

/// A copy of a ledger file could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{what} {path}: {source}")]
    Sqlite {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The copy stayed in WAL mode, so it is not one self-contained file.
    #[error("{path}: could not leave WAL mode (got {mode})")]
    StillWal { path: PathBuf, mode: String },
}

/// Where a copy is taken from.
#[derive(Debug, Clone, Copy)]
pub enum CopyFrom<'a> {
    /// The live ledger, which a station may be writing: opened read-write (without creating it), so
    /// the copy waits for the station's writes.
    Ledger(&'a Path),
    /// A backup file, opened read-only.
    Backup(&'a Path),
}

/// Copy the database at `from` into `to` (a new, empty file the caller created private) with the online
/// backup API, then make `to` a self-contained rollback-journal file, flushed to disk.
pub fn copy_file(from: CopyFrom<'_>, to: &Path) -> Result<(), CopyError> {
    let sqlite = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| CopyError::Sqlite { what, path, source }
    };
    let (from_path, flags, what) = match from {
        CopyFrom::Ledger(p) => (
            p,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            "cannot open the ledger",
        ),
        CopyFrom::Backup(p) => (
            p,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            "cannot open the backup",
        ),
    };
    let src = Connection::open_with_flags(from_path, flags).map_err(sqlite(what, from_path))?;
    if let CopyFrom::Ledger(_) = from {
        let _ = src.busy_timeout(Duration::from_secs(10));
    }
    let mut dst = Connection::open(to).map_err(sqlite("cannot open", to))?;
    {
        let backup = Backup::new(&src, &mut dst).map_err(sqlite("cannot read", from_path))?;
        let mut waits = 0;
        loop {
            // All pages in one step: one read transaction, so the copy is one consistent snapshot.
            match backup.step(-1).map_err(sqlite("cannot copy", from_path))? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked => {
                    waits += 1;
                    if waits > 300 {
                        return Err(CopyError::Sqlite {
                            what: "stayed locked for a minute",
                            path: from_path.to_path_buf(),
                            source: rusqlite::Error::SqliteFailure(
                                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                                None,
                            ),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }
    drop(src);
    let mode = rollback_journal(&dst).map_err(sqlite("cannot finish", to))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(CopyError::StillWal {
            path: to.to_path_buf(),
            mode,
        });
    }
    dst.close()
        .map_err(|(_, e)| sqlite("cannot close", to)(e))?;
    flush(to)
}

/// Switch a connection's file to rollback-journal mode; returns the mode SQLite reports.
fn rollback_journal(conn: &Connection) -> rusqlite::Result<String> {
    conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
}

fn flush(path: &Path) -> Result<(), CopyError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|source| CopyError::Io {
            what: "cannot flush",
            path: path.to_path_buf(),
            source,
        })
}

/// What the ledger at `path` holds that a copy (whose newest event is `copy_last_event`) lacks: the
/// number of code moves and the time of the newest. The ledger is checkpointed first, so its main file
/// is complete on its own. `Err` says why it cannot be told: no ledger, or one that cannot be read or
/// fails SQLite's check.
pub fn moves_since(path: &Path, copy_last_event: i64) -> Result<(i64, Option<i64>), String> {
    if !path.exists() {
        return Err("is missing".into());
    }
    let unreadable = |e: &dyn std::fmt::Display| format!("cannot be read ({e})");
    let cur = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| unreadable(&e))?;
    let _ = cur.busy_timeout(Duration::from_secs(5));
    let check: String = cur
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| unreadable(&e))?;
    if check != "ok" {
        return Err(format!("is damaged (integrity check: {check})"));
    }
    let _ = cur.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    cur.query_row(
        "SELECT count(*), max(at) FROM code_events WHERE id > ?1",
        [copy_last_event],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .map_err(|e| unreadable(&e))
}

impl Ledger {
    /// Open an existing ledger to read only, for a process or thread beside the station (metrics, the
    /// UI's reader): never creates or migrates the file, never writes it (`query_only`), and reads a
    /// WAL-mode ledger whether or not the station has it open. Waits `busy` for a writer.
    pub fn open_read_only(
        path: &Path,
        station: &str,
        busy: Duration,
    ) -> Result<Ledger, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(busy)?;
        conn.execute_batch("PRAGMA query_only = ON")?;
        Ok(Ledger {
            conn,
            path: path.to_path_buf(),
            station: station.to_owned(),
        })
    }

    /// SQLite's full integrity check of the ledger: `["ok"]` when sound, else the problems it found.
    pub fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        Ok(integrity_check(&self.conn)?)
    }

    /// Leave WAL mode, so the file is one self-contained file (a copy about to be installed), and flush
    /// it. Closes the ledger.
    pub fn close_as_one_file(self) -> Result<(), CopyError> {
        let path = self.path.clone();
        let mode = rollback_journal(&self.conn).map_err(|source| CopyError::Sqlite {
            what: "cannot finish",
            path: path.clone(),
            source,
        })?;
        drop(self);
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(CopyError::StillWal { path, mode });
        }
        flush(&path)
    }
}
