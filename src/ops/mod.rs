// SPDX-License-Identifier: GPL-3.0-or-later
//! Running a station on a warehouse PC: health checks (`doctor`), backups and restore, CSV exports,
//! logs and the metrics endpoint.
//!
//! The ledger holds complete codes, crypto tails included, so everything here that writes a copy of it
//! (backups, full exports, the file set aside by a restore) creates files `0600` in directories `0700`.

pub mod backup;
pub mod cmd;
pub mod doctor;
pub mod export;
pub mod logging;
pub mod metrics;

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// `[backup]`: where and how often the ledger is copied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Directory for backups; "" means `backups/` inside the data dir.
    pub dir: String,
    /// Backups of this station kept; older ones are deleted after a new one is verified. 0 keeps all.
    pub keep: u32,
    /// Hours between scheduled backups (`labelstation backup --if-due`, run hourly by the timer).
    pub interval_hours: u32,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            dir: String::new(),
            keep: 14,
            interval_hours: 24,
        }
    }
}

impl BackupConfig {
    /// The backup directory for a data dir.
    pub fn dir_for(&self, data_dir: &Path) -> PathBuf {
        if self.dir.trim().is_empty() {
            data_dir.join("backups")
        } else {
            PathBuf::from(self.dir.trim())
        }
    }
}

/// `[log]`: where log lines go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// "" logs to standard error only (journald under systemd); a directory adds daily files there.
    pub dir: String,
    /// Daily log files kept in `dir`.
    pub keep_files: u32,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            dir: String::new(),
            keep_files: 14,
        }
    }
}

/// `[metrics]`: the Prometheus endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// "" (off), or an address such as "127.0.0.1:9464". A non-loopback address exposes the station's
    /// counts to the network and is logged as a warning.
    pub listen: String,
}

impl MetricsConfig {
    /// The address to listen on, if the endpoint is on.
    pub fn address(&self) -> Result<Option<std::net::SocketAddr>, String> {
        let l = self.listen.trim();
        if l.is_empty() {
            return Ok(None);
        }
        l.parse().map(Some).map_err(|e| {
            format!("metrics.listen = {l:?}: {e}; use an address with a port such as \"127.0.0.1:9464\", or \"\" for off")
        })
    }
}

/// Checks of the sections this module owns; called from [`crate::config::Config::from_toml`].
pub fn validate_config(c: &crate::config::Config) -> Result<(), String> {
    if c.backup.interval_hours == 0 {
        return Err("backup.interval_hours must be at least 1".into());
    }
    if !c.backup.dir.trim().is_empty() && !Path::new(c.backup.dir.trim()).is_absolute() {
        return Err(format!(
            "backup.dir = {:?}: use an absolute path (or \"\" for backups/ in the data dir)",
            c.backup.dir
        ));
    }
    if !c.log.dir.trim().is_empty() && !Path::new(c.log.dir.trim()).is_absolute() {
        return Err(format!(
            "log.dir = {:?}: use an absolute path (or \"\" for standard error / journald)",
            c.log.dir
        ));
    }
    if c.log.keep_files == 0 {
        return Err("log.keep_files must be at least 1".into());
    }
    c.metrics.address()?;
    Ok(())
}

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
