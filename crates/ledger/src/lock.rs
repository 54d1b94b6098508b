// SPDX-License-Identifier: GPL-3.0-or-later
//! Claims on a data dir (the station, a pull, a sync), and the data dir itself, created private.

use super::*;

/// An exclusive claim on one activity in a data dir (running the station, pulling codes); released when
/// dropped or when the process dies, so a crash never leaves it held.
#[derive(Debug)]
pub struct StationLock {
    _file: File,
}

impl StationLock {
    /// Claim `data_dir` for one station process.
    pub fn acquire(data_dir: &Path) -> Result<StationLock, StoreError> {
        Self::acquire_for(data_dir, "station.lock", "running the station")
    }

    /// Claim `data_dir` for one code pull (two pulls must not resume the same order).
    pub fn acquire_pull(data_dir: &Path) -> Result<StationLock, StoreError> {
        Self::acquire_for(data_dir, "pull.lock", "pulling codes")
    }

    /// Claim `data_dir` for one sync (two syncs must not settle the same report).
    pub fn acquire_sync(data_dir: &Path) -> Result<StationLock, StoreError> {
        Self::acquire_for(data_dir, "sync.lock", "sending reports to the registry")
    }

    fn acquire_for(
        data_dir: &Path,
        file_name: &str,
        what: &'static str,
    ) -> Result<StationLock, StoreError> {
        ensure_dir(data_dir)?;
        let path = data_dir.join(file_name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| StoreError::open(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(StationLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Busy { path, what }),
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::open(&path, e)),
        }
    }
}

pub(super) fn ensure_dir(dir: &Path) -> Result<(), StoreError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| StoreError::DataDir {
            path: dir.to_path_buf(),
            source,
        })
}
