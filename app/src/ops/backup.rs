// SPDX-License-Identifier: GPL-3.0-or-later
//! Backups of the ledger, copied with SQLite's online backup API (`ledger::file`), and restore.
//!
//! A backup is a consistent snapshot taken while the station may be running. It is written under a
//! temporary name, switched to a self-contained rollback-journal file (no `-wal` beside it), checked as
//! thoroughly as `ledger check` checks the live ledger, and only then renamed to
//! `ledger-<station>-<UTC time>.sqlite3`. Old backups are deleted only after the new one passed.
//!
//! A restore never deletes anything: the current ledger (with its `-wal`/`-shm`) is renamed aside, and
//! the backup is installed only after a copy of it passed the same checks.
//!
//! A restore never returns used codes to the pool silently. Over a healthy current ledger with moves the
//! backup lacks, or over a missing or unreadable one (which cannot say what it lacks), it needs `force`.
//! Before the copy is installed, codes the current ledger shows used since the backup go to NEEDS_REVIEW
//! and every other AVAILABLE code is held (`ledger::holds`): a station may have printed them after the
//! backup. Held codes are never reserved until the registry or a supervisor clears them.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::{file_safe, file_stamp, mode_of, private_dir, private_file, sync_dir};
use crate::ledger::file::{CopyError, CopyFrom, copy_file, moves_since};
pub use crate::ledger::file::{FileCheck, check_file};
use crate::ledger::{Actor, LEDGER_FILE, StationLock, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "there is no ledger at {0}: nothing to back up. Check --data-dir / LABELSTATION_DATA_DIR."
    )]
    NoLedger(PathBuf),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} {path}: {source}")]
    Sqlite {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the copy {path} failed its checks, so it was not kept: {problems}. The ledger itself may be damaged: run `labelstation doctor`."
    )]
    CopyBroken { path: PathBuf, problems: String },
    #[error(
        "{path} is not a sound labelstation ledger ({problems}); nothing was changed. Pick another backup (`ls` the backup directory, newest last)."
    )]
    SourceBroken { path: PathBuf, problems: String },
    #[error(
        "the backup directory {path} is open to other users (mode {mode:04o}), and backups hold complete codes: use a directory only the station's user can open (chmod 700 it, or name a new one: it is created 0700)."
    )]
    OpenDir { path: PathBuf, mode: u32 },
    #[error(
        "another labelstation process is using {0}: stop the station (`systemctl stop labelstation`) and any `sync` or `codes pull`, then restore again. Nothing was changed."
    )]
    StationRunning(PathBuf),
    #[error(
        "the current ledger has {newer} code move(s) the backup lacks (the newest at {newest}). Restoring would undo them, and codes printed since the backup would look unused and could be printed twice. \
         Restore only if the current ledger is damaged or you have accounted for those codes; then add --force (the current ledger is kept aside, never deleted). Nothing was changed."
    )]
    WouldUndo { newer: i64, newest: String },
    #[error(
        "the current ledger {path} {why}, so this restore cannot tell which codes were printed since the backup: restored, those codes would look unused. \
         Restore only if the ledger is lost or damaged beyond repair; then add --force. Every AVAILABLE code of the backup is then held until checked against the registry or released by a supervisor (README: Restore). Nothing was changed."
    )]
    CurrentUnknown { path: PathBuf, why: String },
    #[error(
        "{path} belongs to uid {owner}, but this runs as uid {me}: files written now would lock the station out. Run it as the station's user (on a packaged install: sudo labelstation-admin ...)."
    )]
    WrongUser { path: PathBuf, owner: u32, me: u32 },
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Refuse to write into `dir` (the data dir) as another user than its owner: a backup dir or a restored
/// ledger owned by root would leave the station unable to open or prune them.
fn same_user(dir: &Path) -> Result<(), BackupError> {
    let me = rustix::process::geteuid().as_raw();
    match super::owner_of(dir) {
        Ok(owner) if owner != me => Err(BackupError::WrongUser {
            path: dir.to_path_buf(),
            owner,
            me,
        }),
        _ => Ok(()),
    }
}

impl From<CopyError> for BackupError {
    fn from(e: CopyError) -> Self {
        match e {
            CopyError::Sqlite { what, path, source } => BackupError::Sqlite { what, path, source },
            CopyError::Io { what, path, source } => BackupError::Io { what, path, source },
            CopyError::StillWal { path, mode } => BackupError::CopyBroken {
                path,
                problems: format!("could not leave WAL mode (got {mode})"),
            },
        }
    }
}

/// Copy `from` into the new private file `to` with the ledger's online copy.
fn snapshot(from: CopyFrom<'_>, to: &Path) -> Result<(), BackupError> {
    private_file(to).map_err(|source| BackupError::Io {
        what: "cannot create",
        path: to.to_path_buf(),
        source,
    })?;
    Ok(copy_file(from, to)?)
}

/// The backup directory: created 0700 when missing; an existing one must already be private (it is never
/// chmod-ed: `--to /tmp` must not change /tmp).
fn prepare_dir(dir: &Path) -> Result<(), BackupError> {
    private_dir(dir).map_err(|source| BackupError::Io {
        what: "cannot create the backup directory",
        path: dir.to_path_buf(),
        source,
    })?;
    let mode = mode_of(dir).map_err(|source| BackupError::Io {
        what: "cannot inspect",
        path: dir.to_path_buf(),
        source,
    })?;
    if mode & 0o077 != 0 {
        return Err(BackupError::OpenDir {
            path: dir.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// This station's backups in `dir`, oldest first.
pub fn list_backups(dir: &Path, station: &str) -> Vec<PathBuf> {
    let prefix = format!("ledger-{}-", file_safe(station));
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".sqlite3"))
        })
        .collect();
    // The UTC stamp in the name sorts in time order; a same-second backup's suffix (`-002`) sorts after it
    // once the extension is left out.
    out.sort_by_key(|p| p.to_string_lossy().trim_end_matches(".sqlite3").to_owned());
    out
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupReport {
    pub file: PathBuf,
    pub bytes: u64,
    pub codes: i64,
    pub events: i64,
    pub audit_entries: u64,
    /// Older backups deleted to keep `[backup] keep`.
    pub pruned: Vec<PathBuf>,
}

/// Back up the ledger at `ledger` into `dir`, verify the copy, then keep the newest `keep` (0: all).
pub fn backup(
    ledger: &Path,
    dir: &Path,
    station: &str,
    keep: u32,
) -> Result<BackupReport, BackupError> {
    if !ledger.is_file() {
        return Err(BackupError::NoLedger(ledger.to_path_buf()));
    }
    if let Some(data_dir) = ledger.parent() {
        same_user(data_dir)?;
    }
    prepare_dir(dir)?;
    let stamp = file_stamp(SystemTime::now());
    let base = format!("ledger-{}-{stamp}", file_safe(station));
    let mut file = dir.join(format!("{base}.sqlite3"));
    let mut n = 2;
    while file.exists() {
        file = dir.join(format!("{base}-{n:03}.sqlite3"));
        n += 1;
    }
    let partial = dir.join(format!(
        ".{}.partial",
        file.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("backup")
    ));
    let _ = std::fs::remove_file(&partial);

    let result = snapshot(CopyFrom::Ledger(ledger), &partial).and_then(|()| {
        check_file(&partial).map_err(|problems| BackupError::CopyBroken {
            path: partial.clone(),
            problems,
        })
    });
    let check = match result {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            let _ = std::fs::remove_file(partial.with_extension("partial-journal"));
            return Err(e);
        }
    };
    std::fs::rename(&partial, &file).map_err(|source| BackupError::Io {
        what: "cannot rename the verified copy to",
        path: file.clone(),
        source,
    })?;
    sync_dir(dir).map_err(|source| BackupError::Io {
        what: "cannot flush the directory",
        path: dir.to_path_buf(),
        source,
    })?;
    let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let mut pruned = Vec::new();
    if keep > 0 {
        let all = list_backups(dir, station);
        let excess = all.len().saturating_sub(keep as usize);
        for old in all.into_iter().take(excess) {
            if old != file && std::fs::remove_file(&old).is_ok() {
                pruned.push(old);
            }
        }
    }
    tracing::info!(file = %file.display(), codes = check.codes, "backup written and verified");
    Ok(BackupReport {
        file,
        bytes,
        codes: check.codes,
        events: check.events,
        audit_entries: check.audit_entries,
        pruned,
    })
}

/// Whether a scheduled backup is due: no backup of this station in `dir` younger than `interval`.
pub fn due(dir: &Path, station: &str, interval: Duration) -> bool {
    let newest = list_backups(dir, station)
        .iter()
        .filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .max();
    match newest {
        Some(t) => SystemTime::now()
            .duration_since(t)
            .map(|age| age >= interval)
            .unwrap_or(false),
        None => true,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    pub restored_from: PathBuf,
    pub ledger: PathBuf,
    /// The files of the replaced ledger, renamed (never deleted).
    pub set_aside: Vec<PathBuf>,
    pub codes: i64,
    /// Code moves in the replaced ledger that the backup lacks (restored with --force).
    pub undone_moves: i64,
    /// Why the replaced ledger could not be read (missing or damaged), if so.
    pub current_unreadable: Option<String>,
    /// Codes used since the backup, as the replaced ledger shows, and codes now held.
    pub holds: crate::ledger::holds::RestoreHolds,
}

/// Install the backup `from` as the ledger of `data_dir`. Refuses while any labelstation process
/// (station, pull, sync) holds the data dir, and when the current ledger is healthy and newer than the
/// backup unless `force`.
pub fn restore(
    data_dir: &Path,
    from: &Path,
    force: bool,
    actor: &Actor,
) -> Result<RestoreReport, BackupError> {
    let busy = |e: StoreError| match e {
        StoreError::Busy { .. } => BackupError::StationRunning(data_dir.to_path_buf()),
        other => BackupError::Store(other),
    };
    same_user(data_dir)?;
    let _station = StationLock::acquire(data_dir).map_err(busy)?;
    let _pull = StationLock::acquire_pull(data_dir).map_err(busy)?;
    let _sync = StationLock::acquire_sync(data_dir).map_err(busy)?;

    if !from.is_file() {
        return Err(BackupError::Io {
            what: "cannot read the backup",
            path: from.to_path_buf(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    // Check the backup as it is first, without touching it, then work on a private copy.
    check_file(from).map_err(|problems| BackupError::SourceBroken {
        path: from.to_path_buf(),
        problems,
    })?;
    let stamp = file_stamp(SystemTime::now());
    let staged = data_dir.join(format!(".restore-{stamp}.sqlite3"));
    let _ = std::fs::remove_file(&staged);
    let staged_check = snapshot(CopyFrom::Backup(from), &staged).and_then(|()| {
        check_file(&staged).map_err(|problems| BackupError::CopyBroken {
            path: staged.clone(),
            problems,
        })
    });
    let staged_check = match staged_check {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            return Err(e);
        }
    };

    let ledger = data_dir.join(LEDGER_FILE);
    let current = match moves_since(&ledger, staged_check.last_event_id) {
        Ok(m) => Ok(m),
        Err(why) if force => Err(why),
        Err(why) => {
            let _ = std::fs::remove_file(&staged);
            return Err(BackupError::CurrentUnknown { path: ledger, why });
        }
    };
    let undone_moves = match &current {
        Ok((n, newest)) if *n > 0 && !force => {
            let _ = std::fs::remove_file(&staged);
            return Err(BackupError::WouldUndo {
                newer: *n,
                newest: newest.map(crate::ledger::format_ms).unwrap_or_default(),
            });
        }
        Ok((n, _)) => *n,
        Err(_) => 0,
    };
    // rename() replaces an existing file, so the name for the set-aside ledger must be new.
    let mut aside_base = format!("{LEDGER_FILE}.before-restore-{stamp}");
    let mut n = 2;
    while ["", "-wal", "-shm", "-journal"]
        .iter()
        .any(|sfx| data_dir.join(format!("{aside_base}{sfx}")).exists())
    {
        aside_base = format!("{LEDGER_FILE}.before-restore-{stamp}-{n:03}");
        n += 1;
    }
    let aside = if ledger.exists() {
        data_dir.join(&aside_base).display().to_string()
    } else {
        "none (there was no ledger)".into()
    };
    // Hold the pool and record the restore in the copy, before it is installed: an installed ledger
    // never lacks its holds.
    let holds =
        hold_in_copy(&staged, &ledger, from, &aside, undone_moves, actor).inspect_err(|_| {
            for sfx in ["", "-wal", "-shm", "-journal"] {
                let _ = std::fs::remove_file(format!("{}{sfx}", staged.display()));
            }
        })?;
    let mut set_aside = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let f = data_dir.join(format!("{LEDGER_FILE}{suffix}"));
        if f.exists() {
            let to = data_dir.join(format!("{aside_base}{suffix}"));
            std::fs::rename(&f, &to).map_err(|source| BackupError::Io {
                what: "cannot set the current ledger aside as",
                path: to.clone(),
                source,
            })?;
            set_aside.push(to);
        }
    }
    std::fs::rename(&staged, &ledger).map_err(|source| BackupError::Io {
        what: "cannot install the backup as",
        path: ledger.clone(),
        source,
    })?;
    sync_dir(data_dir).map_err(|source| BackupError::Io {
        what: "cannot flush the directory",
        path: data_dir.to_path_buf(),
        source,
    })?;
    tracing::warn!(from = %from.display(), aside = %aside, undone_moves, held = holds.held, used = holds.used, "ledger restored from a backup");
    Ok(RestoreReport {
        restored_from: from.to_path_buf(),
        ledger,
        set_aside,
        codes: staged_check.codes,
        undone_moves,
        current_unreadable: current.err(),
        holds,
    })
}

/// On the verified copy `staged`, before it is installed: hold the pool against what the current ledger
/// (`current`, read if it can be) shows used, and record the restore in the audit log. The copy is left
/// a self-contained file again.
fn hold_in_copy(
    staged: &Path,
    current: &Path,
    from: &Path,
    aside: &str,
    undone_moves: i64,
    actor: &Actor,
) -> Result<crate::ledger::holds::RestoreHolds, BackupError> {
    let kept = crate::ledger::holds::KeptLedger::open(current).ok();
    let mut l = crate::ledger::Ledger::open(staged, "restore")?;
    let note = format!(
        "restored from {} at {}",
        from.display(),
        crate::ledger::format_ms(crate::ledger::now_ms())
    );
    let holds = l.hold_after_restore(kept.as_ref(), &note, actor)?;
    drop(kept);
    l.audit_note(
        actor,
        "ledger restore",
        &from.display().to_string(),
        &serde_json::json!({
            "previous_ledger": aside,
            "moves_not_in_backup": undone_moves,
            "used_since_backup": holds.used,
            "held": holds.held,
            "codes_not_in_backup": holds.not_in_backup,
        }),
    )?;
    // Back to a rollback-journal file, so the rename installs one complete file.
    l.close_as_one_file()?;
    Ok(holds)
}
