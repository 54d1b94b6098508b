// SPDX-License-Identifier: GPL-3.0-or-later
//! Running a station on a warehouse PC: health checks (`doctor`), backups and restore, CSV exports,
//! logs and the metrics endpoint.
//!
//! The ledger holds complete codes, crypto tails included, so everything here that writes a copy of it
//! (backups, full exports, the file set aside by a restore) creates files `0600` in directories `0700`.

pub mod backup;
pub mod doctor;
pub mod export;
pub mod logging;
pub mod metrics;

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::SystemTime;

/// Create `dir` (and its parents) `0700`; an existing directory keeps its mode (doctor reports it).
pub fn private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Create a new file `0600` (fails if it exists).
pub fn private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Permission bits of `path` (without following a final symlink).
pub fn mode_of(path: &Path) -> io::Result<u32> {
    Ok(std::fs::symlink_metadata(path)?.permissions().mode() & 0o7777)
}

/// Owner uid of `path`.
pub fn owner_of(path: &Path) -> io::Result<u32> {
    Ok(std::fs::symlink_metadata(path)?.uid())
}

/// Make the rename or creation of an entry in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A UTC timestamp for file names: `20261124T184200Z`.
pub fn file_stamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect()
}

/// A station id made safe for a file name (anything but letters, digits, '.', '_' and '-' becomes '_').
pub fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_and_names() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_545_720);
        assert_eq!(file_stamp(t), "20261124T184200Z");
        assert_eq!(file_safe("post 7/а"), "post_7__");
    }
}
