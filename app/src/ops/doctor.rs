// SPDX-License-Identifier: GPL-3.0-or-later
//! `labelstation doctor`: is this station fit to run? Each check gives findings with a severity, what
//! was found and what to do. Doctor only reads: it never creates the ledger, changes a permission or
//! sends anything to the registry that changes state.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::mode_of;
use crate::config::{Config, ConfigError, Paths, RegistryApi};
use crate::ledger::{CodeState, Ledger};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warn,
    Fail,
}

impl Severity {
    fn tag(self) -> &'static str {
        match self {
            Severity::Ok => "  ok",
            Severity::Warn => "warn",
            Severity::Fail => "FAIL",
        }
    }
}

/// One thing doctor found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The area: config, permissions, ledger, clock, disk, printer, scanner, registry, backup.
    pub check: &'static str,
    pub severity: Severity,
    pub what: String,
    /// What to do; empty when nothing needs doing.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub remedy: String,
}

fn ok(check: &'static str, what: impl Into<String>) -> Finding {
    Finding {
        check,
        severity: Severity::Ok,
        what: what.into(),
        remedy: String::new(),
    }
}

fn warn(check: &'static str, what: impl Into<String>, remedy: impl Into<String>) -> Finding {
    Finding {
        check,
        severity: Severity::Warn,
        what: what.into(),
        remedy: remedy.into(),
    }
}

fn fail(check: &'static str, what: impl Into<String>, remedy: impl Into<String>) -> Finding {
    Finding {
        check,
        severity: Severity::Fail,
        what: what.into(),
        remedy: remedy.into(),
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub healthy: bool,
    pub findings: Vec<Finding>,
}

impl Report {
    /// Human-readable, one finding per line, the remedy indented below.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for f in &self.findings {
            s.push_str(&format!(
                "[{}] {:<11} {}\n",
                f.severity.tag(),
                f.check,
                f.what
            ));
            if !f.remedy.is_empty() {
                s.push_str(&format!("       {:<11} -> {}\n", "", f.remedy));
            }
        }
        let (w, x) = (self.count(Severity::Warn), self.count(Severity::Fail));
        s.push_str(&if self.healthy {
            format!("healthy ({w} warning(s))\n")
        } else {
            format!("NOT healthy: {x} failure(s), {w} warning(s)\n")
        });
        s
    }

    fn count(&self, sev: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == sev).count()
    }
}

/// Overrides and limits for one run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Check this printer instead of the configured one.
    pub printer: Option<String>,
    /// Check this scanner instead of the configured one.
    pub scanner: Option<String>,
    /// How long the registry may take to answer.
    pub registry_timeout: Duration,
    /// How long the printer may take to accept a connection and to answer `~HS`.
    pub printer_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            printer: None,
            scanner: None,
            registry_timeout: Duration::from_secs(5),
            printer_timeout: Duration::from_secs(3),
        }
    }
}

/// No clock earlier than this is believable: this program did not exist yet.
const EARLIEST_SANE_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
/// Free space below which the ledger may soon fail to commit.
const DISK_FAIL_BYTES: u64 = 100 * 1024 * 1024;
const DISK_WARN_BYTES: u64 = 1024 * 1024 * 1024;

/// Run every check.
pub fn run(paths: &Paths, opts: &Options) -> Report {
    let mut out = Vec::new();
    let config = Config::load(paths);
    check_config(paths, &config, &mut out);
    let config = config.ok();
    check_permissions(paths, config.as_ref(), &mut out);
    let newest_event = check_ledger(paths, config.as_ref(), &mut out);
    check_clock(newest_event, &mut out);
    check_disk(&paths.data_dir, &mut out);
    if let Some(c) = &config {
        check_backups(paths, c, &mut out);
    }
    // The station holds the printer and scanner while it runs; opening them here would disturb it.
    let station_running = station_running(&paths.data_dir);
    let printer = opts
        .printer
        .clone()
        .or_else(|| config.as_ref().and_then(|c| configured(c, "printer")));
    let scanner = opts
        .scanner
        .clone()
        .or_else(|| config.as_ref().and_then(|c| configured(c, "scanner")));
    if station_running {
        out.push(ok(
            "printer",
            "the station is running and holds the printer: its state is on the touchscreen (and the metrics endpoint)",
        ));
    } else {
        check_printer(printer.as_deref(), opts, &mut out);
    }
    check_scanner(scanner.as_deref(), &mut out);
    if let Some(c) = &config {
        check_registry(c, opts, &mut out);
    }
    let healthy = !out.iter().any(|f| f.severity == Severity::Fail);
    Report {
        healthy,
        findings: out,
    }
}

/// Whether a station process holds the data dir. Probes the existing lock file without creating it (a
/// lock file made by root would keep the station's user out) and releases it at once.
fn station_running(data_dir: &Path) -> bool {
    let Ok(file) = std::fs::File::open(data_dir.join("station.lock")) else {
        return false;
    };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

/// `printer.uri` / `scanner.uri` when the configuration has such a key (read through the serialised
/// form, so this works whichever sections this build's `Config` has).
fn configured(c: &Config, section: &str) -> Option<String> {
    let v = toml::Value::try_from(c).ok()?;
    let uri = v.get(section)?.get("uri")?.as_str()?.trim().to_owned();
    (!uri.is_empty()).then_some(uri)
}

fn check_config(paths: &Paths, config: &Result<Config, ConfigError>, out: &mut Vec<Finding>) {
    let file = &paths.config_file;
    match config {
        Ok(_) if file.exists() => out.push(ok(
            "config",
            format!("{} is valid (from {})", file.display(), paths.config_origin),
        )),
        Ok(_) => out.push(ok(
            "config",
            format!(
                "no config file at {}: the embedded defaults apply",
                file.display()
            ),
        )),
        Err(e) => out.push(fail(
            "config",
            e.to_string(),
            "fix the file (every key is documented in /usr/share/doc/labelstation/labelstation.example.toml or deploy/labelstation.example.toml), then run doctor again",
        )),
    }
    if let Ok(mode) = mode_of(file)
        && mode & 0o022 != 0
    {
        out.push(fail(
            "permissions",
            format!(
                "{} is writable by other users (mode {mode:04o}): they could point the station at another registry or printer",
                file.display()
            ),
            format!("chmod 644 {}", file.display()),
        ));
    }
}

fn check_permissions(paths: &Paths, config: Option<&Config>, out: &mut Vec<Finding>) {
    let dir = &paths.data_dir;
    match mode_of(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            out.push(warn(
                "permissions",
                format!("the data dir {} does not exist yet", dir.display()),
                "it is created (0700) on first use; if the station has run before, check --data-dir / LABELSTATION_DATA_DIR",
            ));
            return;
        }
        Err(e) => {
            out.push(fail(
                "permissions",
                format!("cannot inspect the data dir {}: {e}", dir.display()),
                "run doctor as the station's user (sudo -u labelstation labelstation doctor)",
            ));
            return;
        }
        Ok(mode) if mode & 0o077 != 0 => out.push(fail(
            "permissions",
            format!(
                "the data dir {} is mode {mode:04o}: other users can reach the ledger, which holds complete codes",
                dir.display()
            ),
            format!("chmod 700 {}", dir.display()),
        )),
        Ok(_) => out.push(ok(
            "permissions",
            format!("data dir {} is private (0700)", dir.display()),
        )),
    }
    let me = rustix::process::geteuid().as_raw();
    if let Ok(owner) = super::owner_of(dir)
        && owner != me
    {
        out.push(warn(
            "permissions",
            format!(
                "the data dir {} belongs to uid {owner}, not to the user running doctor (uid {me})",
                dir.display()
            ),
            "run doctor as the station's user: sudo -u labelstation labelstation doctor",
        ));
    }
    // Every file in the data dir holds codes or claims on it: ledger, -wal, -shm, locks, files set aside.
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    let backup_dir = config.map(|c| c.backup.dir_for(dir));
    if let Some(b) = &backup_dir
        && b.is_dir()
    {
        files.push(b.clone());
        files.extend(
            std::fs::read_dir(b)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path()),
        );
    }
    // Secrets the service reads (see deploy/systemd): the environment file with the registry password.
    let env_file = paths
        .config_file
        .parent()
        .map(|p| p.join("registry.env"))
        .filter(|p| p.exists());
    files.extend(env_file);
    files.sort();
    files.dedup();
    let mut open = 0;
    for f in &files {
        let Ok(mode) = mode_of(f) else { continue };
        let is_dir = f.is_dir();
        if mode & 0o077 != 0 {
            open += 1;
            let fix = if is_dir { "700" } else { "600" };
            out.push(fail(
                "permissions",
                format!(
                    "{} is mode {mode:04o}: other users can read or change it, and it holds marking codes or secrets",
                    f.display()
                ),
                format!("chmod {fix} {}", f.display()),
            ));
        }
    }
    if open == 0 && !files.is_empty() {
        out.push(ok(
            "permissions",
            format!(
                "{} file(s) with codes or secrets are private to their owner",
                files.len()
            ),
        ));
    }
}

/// Returns the time of the newest ledger event (ms), for the clock check.
fn check_ledger(paths: &Paths, config: Option<&Config>, out: &mut Vec<Finding>) -> Option<i64> {
    let path = paths.ledger();
    if !path.exists() {
        out.push(warn(
            "ledger",
            format!("no ledger at {} yet", path.display()),
            "normal before the first products and codes are added; otherwise check the data dir, or restore the newest backup",
        ));
        return None;
    }
    let station = config.map_or("doctor", |c| c.station.id.as_str());
    let ledger = match Ledger::open(&path, station) {
        Ok(l) => l,
        Err(e) => {
            out.push(fail(
                "ledger",
                e.to_string(),
                "stop the station, keep a copy of the data dir, then `labelstation restore BACKUP` (README: Operations)",
            ));
            return None;
        }
    };
    match ledger.integrity_check() {
        Ok(v) if v == ["ok"] => out.push(ok("ledger", "SQLite integrity check passed")),
        Ok(v) => out.push(fail(
            "ledger",
            format!("SQLite integrity check: {}", v.join("; ")),
            "stop the station, keep a copy of the data dir, then `labelstation restore BACKUP`",
        )),
        Err(e) => out.push(fail(
            "ledger",
            format!("SQLite integrity check could not run: {e}"),
            "stop the station, keep a copy of the data dir, then `labelstation restore BACKUP`",
        )),
    }
    match ledger.check_invariants() {
        Ok(v) if v.is_empty() => out.push(ok("ledger", "every ledger invariant holds")),
        Ok(v) => {
            for x in v.iter().take(10) {
                out.push(fail(
                    "ledger",
                    format!("invariant broken: {}: {}", x.rule, x.detail),
                    "stop the station, keep a copy of the data dir, and restore the newest backup that passes `labelstation doctor`",
                ));
            }
        }
        Err(e) => out.push(fail(
            "ledger",
            format!("invariant checks could not run: {e}"),
            "",
        )),
    }
    match ledger.verify_audit() {
        Ok(r) if r.breaks.is_empty() => out.push(ok(
            "ledger",
            format!("audit chain intact ({} entries)", r.entries),
        )),
        Ok(r) => out.push(fail(
            "ledger",
            format!(
                "audit chain broken: {}",
                r.breaks
                    .iter()
                    .take(3)
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            "keep the file as evidence and tell the site security officer",
        )),
        Err(e) => out.push(fail(
            "ledger",
            format!("audit chain check could not run: {e}"),
            "",
        )),
    }
    if let Ok(n) = ledger.count_in_state(CodeState::NeedsReview)
        && n > 0
    {
        out.push(warn(
            "ledger",
            format!("{n} code(s) wait in NEEDS_REVIEW (their stickers' fate is unknown)"),
            "a supervisor scans or writes them off on the review screen",
        ));
    }
    if let Ok(held) = ledger.held_products() {
        let n: u64 = held.iter().map(|h| h.held).sum();
        if n > 0 {
            out.push(warn(
                "ledger",
                format!(
                    "{n} code(s) of {} product(s) held since a ledger restore: a station may have printed them after the backup, and none is printed until cleared",
                    held.len()
                ),
                "`labelstation codes held` lists them; `labelstation codes held check` asks the registry; a supervisor releases the rest (README: Restore)",
            ));
        }
    }
    if let Ok(orders) = ledger.unfinished_orders() {
        for o in orders.iter().filter(|o| o.last_error.is_some()) {
            out.push(warn(
                "registry",
                format!(
                    "order #{} for GTIN {} cannot be finished: {}",
                    o.id.0,
                    o.gtin,
                    o.last_error.as_deref().unwrap_or("")
                ),
                "`labelstation codes pull --gtin G --quantity 0` tries again; a supervisor abandons it with `labelstation codes orders abandon ORDER --reason ...`",
            ));
        }
    }
    if let Ok(b) = ledger.backlog()
        && (b.utilisation_queued > 0 || b.reports_open > 0)
    {
        out.push(ok(
            "ledger",
            format!(
                "registry backlog: {} code(s) queued, {} report(s) awaiting an answer",
                b.utilisation_queued, b.reports_open
            ),
        ));
    }
    ledger.newest_entry_ms().ok().flatten()
}

fn check_clock(newest_event: Option<i64>, out: &mut Vec<Finding>) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let fix =
        "set the clock (timedatectl set-ntp true, or set the BIOS clock), then run doctor again";
    if now < EARLIEST_SANE_MS {
        out.push(fail(
            "clock",
            format!(
                "the system clock says {}, before this program was built",
                crate::ledger::format_ms(now)
            ),
            fix,
        ));
    } else if let Some(t) = newest_event
        && now + 60_000 < t
    {
        out.push(fail(
            "clock",
            format!(
                "the system clock ({}) is behind the newest ledger entry ({}): reports and shift exports would carry wrong times",
                crate::ledger::format_ms(now),
                crate::ledger::format_ms(t)
            ),
            fix,
        ));
    } else {
        out.push(ok(
            "clock",
            format!("system time {} (UTC)", crate::ledger::format_ms(now)),
        ));
    }
}

fn check_disk(dir: &Path, out: &mut Vec<Finding>) {
    // The data dir may not exist yet: measure the nearest existing ancestor.
    let probe = dir.ancestors().find(|p| p.exists()).unwrap_or(dir);
    match rustix::fs::statvfs(probe) {
        Ok(s) => {
            let free = s.f_bavail.saturating_mul(s.f_frsize);
            let mib = free / (1024 * 1024);
            let what = format!("{mib} MiB free on the disk of {}", probe.display());
            let remedy = "free space on that disk (old logs, exports, backups kept elsewhere): the ledger refuses changes when the disk is full";
            if free < DISK_FAIL_BYTES {
                out.push(fail("disk", what, remedy));
            } else if free < DISK_WARN_BYTES {
                out.push(warn("disk", what, remedy));
            } else {
                out.push(ok("disk", what));
            }
        }
        Err(e) => out.push(warn(
            "disk",
            format!("cannot measure free space on {}: {e}", probe.display()),
            "",
        )),
    }
}

fn check_backups(paths: &Paths, c: &Config, out: &mut Vec<Finding>) {
    let dir = c.backup.dir_for(&paths.data_dir);
    if !paths.ledger().exists() {
        return;
    }
    let newest = super::backup::list_backups(&dir, &c.station.id)
        .into_iter()
        .filter_map(|p| {
            let t = std::fs::metadata(&p).and_then(|m| m.modified()).ok()?;
            Some((t, p))
        })
        .max();
    let limit = Duration::from_secs(u64::from(c.backup.interval_hours) * 3600 * 2);
    match newest {
        None => out.push(warn(
            "backup",
            format!("no backup of this station in {}", dir.display()),
            "run `labelstation backup` now, and enable the timer: systemctl enable --now labelstation-backup.timer",
        )),
        Some((t, p)) => {
            let age = SystemTime::now().duration_since(t).unwrap_or_default();
            let hours = age.as_secs() / 3600;
            if age > limit {
                out.push(warn(
                    "backup",
                    format!("the newest backup {} is {hours} h old", p.display()),
                    "check the timer: systemctl status labelstation-backup.timer; journalctl -u labelstation-backup",
                ));
            } else {
                out.push(ok(
                    "backup",
                    format!("newest backup {} ({hours} h old)", p.display()),
                ));
            }
        }
    }
}

fn check_printer(uri: Option<&str>, opts: &Options, out: &mut Vec<Finding>) {
    use labelstation_printer::status::StatusReply;
    use labelstation_printer::{Printer, PrinterUri, TransportConfig, ZebraPrinter};
    let Some(text) = uri else {
        let found = labelstation_printer::list_candidates();
        let list = if found.is_empty() {
            "none detected (no serial port, /dev/usb/lp* or Zebra USB device)".to_owned()
        } else {
            found
                .iter()
                .map(|c| format!("{} ({})", c.uri, c.description))
                .collect::<Vec<_>>()
                .join("; ")
        };
        out.push(warn(
            "printer",
            format!("no printer configured; detected: {list}"),
            "set [printer] uri in the config to one of these (or tcp://HOST:9100 for a network printer)",
        ));
        return;
    };
    let uri = match PrinterUri::parse(text) {
        Ok(u) => u,
        Err(e) => {
            out.push(fail(
                "printer",
                format!("printer address {text:?}: {e}"),
                "fix [printer] uri in the config",
            ));
            return;
        }
    };
    if uri == PrinterUri::Sim {
        out.push(warn(
            "printer",
            "the virtual printer (sim:) is configured: nothing is printed on paper",
            "for production set [printer] uri to the real printer",
        ));
        return;
    }
    if let PrinterUri::File { path } = &uri
        && !labelstation_printer::transport::is_device_path(path)
    {
        check_label_file(&uri, path, out);
        return;
    }
    let config = TransportConfig {
        connect_timeout: opts.printer_timeout,
        ..TransportConfig::default()
    };
    let transport = match labelstation_printer::transport::open_with(&uri, &config) {
        Ok(t) => t,
        Err(e) => {
            out.push(fail(
                "printer",
                format!("cannot reach the printer: {e}"),
                "check that the printer is on, the cable or network is connected and the address is right; \
                 a serial or USB printer needs the station user in the dialout / plugdev group (see deploy/udev)",
            ));
            return;
        }
    };
    let mut p = ZebraPrinter::new(transport).with_reply_timeout(opts.printer_timeout);
    match p.host_status() {
        Ok(StatusReply::NoReply) => {
            let detail = match p.extended_status() {
                Ok(Some(es)) => format!(" (~HQES: {es:?})"),
                _ => String::new(),
            };
            out.push(fail(
                "printer",
                format!("{uri}: the printer does not answer ~HS{detail}"),
                labelstation_printer::status::Problem::NoStatusReply.remedy(),
            ));
        }
        Ok(reply) => {
            let problems = reply.problems();
            if problems.is_empty() {
                out.push(ok("printer", format!("{uri}: ready")));
            }
            for pr in problems {
                if pr.is_blocking() {
                    out.push(fail("printer", format!("{uri}: {pr}"), pr.remedy()));
                } else {
                    out.push(warn("printer", format!("{uri}: {pr}"), pr.remedy()));
                }
            }
        }
        Err(labelstation_printer::PrinterError::NoStatusChannel { device }) => out.push(warn(
            "printer",
            format!("{device} opens, but cannot report its status over this link"),
            "prefer serial, tcp:// or usb://, so a label's completion can be confirmed",
        )),
        Err(e) => out.push(fail(
            "printer",
            format!("{uri}: {e}"),
            "check the printer is in ZPL mode and the serial settings match (9600 8N1 XON/XOFF by default)",
        )),
    }
}

/// A printer address that is a plain file (`file:///…/labels.zpl`, not a device node): the labels are
/// written there, not printed. Checked without creating or touching the file.
fn check_label_file(uri: &labelstation_printer::PrinterUri, path: &Path, out: &mut Vec<Finding>) {
    let dir = path.parent().unwrap_or(Path::new("/"));
    let problem = match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Some(format!("{} is a directory", path.display())),
        Ok(m) if m.permissions().readonly() => Some(format!("{} is read-only", path.display())),
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::metadata(dir) {
            Ok(d) if d.is_dir() => None,
            Ok(_) => Some(format!("{} is not a directory", dir.display())),
            Err(e) => Some(format!("its directory {}: {e}", dir.display())),
        },
        Err(e) => Some(format!("{}: {e}", path.display())),
    };
    match problem {
        Some(p) => out.push(fail(
            "printer",
            format!("{uri}: labels cannot be written there: {p}"),
            "point [printer] uri at a file in an existing directory the station's user can write, or at the real printer",
        )),
        None => out.push(warn(
            "printer",
            format!(
                "{uri}: labels are written to this file (created on the first label), not printed on paper"
            ),
            "for production set [printer] uri to the real printer",
        )),
    }
}

fn check_scanner(uri: Option<&str>, out: &mut Vec<Finding>) {
    use labelstation_scanner::{HidTarget, ScannerUri};
    let Some(text) = uri else {
        let found = labelstation_scanner::list_candidates();
        if found.is_empty() {
            out.push(warn(
                "scanner",
                "no scanner configured and none detected (no serial, keyboard or hidraw device)",
                "plug the scanner in (USB-CDC mode preferred, see README: Hardware) and set [scanner] uri",
            ));
        } else {
            let list: Vec<String> = found
                .iter()
                .map(|c| format!("{} ({})", c.uri, c.label))
                .collect();
            out.push(warn(
                "scanner",
                format!("no scanner configured; detected: {}", list.join("; ")),
                "set [scanner] uri in the config to the scanner's serial:// address (or evdev:// for a keyboard wedge)",
            ));
        }
        return;
    };
    let uri = match ScannerUri::parse(text) {
        Ok(u) => u,
        Err(e) => {
            out.push(fail(
                "scanner",
                format!("scanner address {text:?}: {e}"),
                "fix [scanner] uri in the config",
            ));
            return;
        }
    };
    let path = match &uri {
        ScannerUri::Serial { path, .. } | ScannerUri::Evdev { path, .. } => Some(path.clone()),
        ScannerUri::HidPos(HidTarget::Path(p)) => Some(p.clone()),
        ScannerUri::HidPos(_) => None,
        ScannerUri::Stdin => {
            out.push(warn(
                "scanner",
                "stdin: scans are typed by hand",
                "for production set [scanner] uri to the scanner",
            ));
            return;
        }
        ScannerUri::Sim { .. } => {
            out.push(warn(
                "scanner",
                "the virtual scanner (sim:) is configured",
                "for production set [scanner] uri to the real scanner",
            ));
            return;
        }
    };
    match path {
        Some(p) if !p.exists() => out.push(fail(
            "scanner",
            format!("{uri}: {} is not there", p.display()),
            "plug the scanner in and check its mode (USB-CDC gives /dev/ttyACM*; see README: Hardware)",
        )),
        Some(p) => {
            let mode = if matches!(uri, ScannerUri::Serial { .. }) {
                rustix::fs::Access::READ_OK | rustix::fs::Access::WRITE_OK
            } else {
                rustix::fs::Access::READ_OK
            };
            match rustix::fs::access(&p, mode) {
                Ok(()) => out.push(ok("scanner", format!("{uri}: present"))),
                Err(e) => out.push(fail(
                    "scanner",
                    format!("{uri}: {} is present but not accessible: {e}", p.display()),
                    "add the station user to the device's group (dialout for serial, input for keyboards; see deploy/udev) and log in again",
                )),
            }
        }
        None => {
            let any_hid = labelstation_scanner::list_candidates()
                .iter()
                .any(|c| c.kind == labelstation_scanner::CandidateKind::HidRaw);
            if any_hid {
                out.push(ok(
                    "scanner",
                    format!("{uri}: hidraw devices present (opened by id at start-up)"),
                ));
            } else {
                out.push(fail(
                    "scanner",
                    format!("{uri}: no hidraw device present"),
                    "plug the scanner in and check it is in HID-POS mode",
                ));
            }
        }
    }
}

fn check_registry(c: &Config, opts: &Options, out: &mut Vec<Finding>) {
    use crate::registry::client::{Registry, RetryPolicy, XtraceClient, XtraceSettings};
    let r = &c.registry;
    match r.api {
        RegistryApi::Sim => out.push(warn(
            "registry",
            "the built-in registry simulator is configured (api = \"sim\"): no code reaches markirovka.kz",
            "for production set [registry] api = \"xtrace\" with url, login and business_place_id",
        )),
        RegistryApi::OmsV2 => out.push(fail(
            "registry",
            "api = \"oms-v2\": that client is not in this build",
            "use api = \"xtrace\"",
        )),
        RegistryApi::Xtrace => {
            let var = &r.xtrace.password_env;
            let Ok(password) = std::env::var(var) else {
                out.push(fail(
                    "registry",
                    format!("the registry password is not set: environment variable {var} is empty"),
                    format!(
                        "put {var}=... into /etc/labelstation/registry.env (mode 0600); the service reads it. Run doctor with the same environment"
                    ),
                ));
                return;
            };
            let client = XtraceClient::new(XtraceSettings {
                url: r.url.clone(),
                login: r.xtrace.login.clone(),
                password: crate::registry::wire::Secret::new(password),
                product_group: r.xtrace.product_group.clone(),
                business_place_id: r.xtrace.business_place_id,
                timeout: opts.registry_timeout,
                retry: RetryPolicy {
                    attempts: 1,
                    base: Duration::from_millis(100),
                    max: Duration::from_millis(100),
                },
            });
            let mut client = match client {
                Ok(c) => c,
                Err(e) => {
                    out.push(fail(
                        "registry",
                        e.to_string(),
                        "fix [registry] in the config",
                    ));
                    return;
                }
            };
            // A read-only query that needs a valid login.
            match client.ping() {
                Ok(_) => out.push(ok(
                    "registry",
                    format!("{} answers and accepts the login {:?}", r.url, r.xtrace.login),
                )),
                Err(e) if e.is_transient() => out.push(warn(
                    "registry",
                    e.to_string(),
                    "the station works offline and reports later; check the network if this lasts",
                )),
                Err(e) => out.push(fail(
                    "registry",
                    e.to_string(),
                    "check registry.url, registry.xtrace.login and the password",
                )),
            }
        }
    }
}
