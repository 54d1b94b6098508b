// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `labelstation doctor` against a good set-up and broken ones, through the real binary.

mod support;

use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use support::*;

/// Run doctor --json; returns (exit success, findings).
fn doctor(data: &Path, extra: &[&str]) -> (bool, Vec<Value>) {
    let out = run(cli(data).arg("doctor").arg("--json").args(extra));
    let v: Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("doctor --json: {e}\n{}\n{}", stdout(&out), stderr(&out)));
    assert_eq!(
        v["healthy"].as_bool(),
        Some(out.status.success()),
        "the exit status follows `healthy`"
    );
    (
        out.status.success(),
        v["findings"].as_array().cloned().unwrap_or_default(),
    )
}

fn failures<'a>(findings: &'a [Value], check: &str) -> Vec<&'a Value> {
    findings
        .iter()
        .filter(|f| f["check"] == check && f["severity"] == "fail")
        .collect()
}

fn all_fails(findings: &[Value]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f["severity"] == "fail")
        .map(|f| format!("{}: {}", f["check"], f["what"]))
        .collect()
}

/// A virtual Zebra on loopback TCP, run as its own process like a real printer.
fn virtual_printer(data: &Path) -> (KillOnDrop, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_labelstation"))
        .env("LABELSTATION_DATA_DIR", data)
        .args(["printer-sim", "--listen", "tcp://127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let uri = line
        .split_whitespace()
        .find(|w| w.starts_with("tcp://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    (child, uri)
}

#[test]
fn a_good_station_is_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(ledger_with_codes(&data, 5, 1));
    let (_printer, uri) = virtual_printer(dir.path());
    let (ok, findings) = doctor(&data, &["--printer", &uri]);
    assert!(ok, "{:?}", all_fails(&findings));
    for check in [
        "config",
        "permissions",
        "ledger",
        "clock",
        "disk",
        "printer",
    ] {
        assert!(
            findings
                .iter()
                .any(|f| f["check"] == check && f["severity"] == "ok"),
            "no ok finding for {check}: {findings:#?}"
        );
    }
    let printer: Vec<_> = findings
        .iter()
        .filter(|f| f["check"] == "printer")
        .collect();
    assert!(
        printer[0]["what"].as_str().unwrap().contains("ready"),
        "{printer:?}"
    );
    // The simulator and the missing backup are worth a warning, not a failure; each says what to do.
    for f in findings.iter().filter(|f| f["severity"] == "warn") {
        assert!(!f["remedy"].as_str().unwrap_or("").is_empty(), "{f}");
    }
    // The human form says the same.
    let out = run(cli(&data).args(["doctor", "--printer", &uri]));
    assert!(out.status.success());
    assert!(stdout(&out).contains("healthy"), "{}", stdout(&out));
}

#[test]
fn a_world_readable_ledger_or_data_dir_fails() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(ledger_with_codes(&data, 3, 2));
    let ledger = ledger_path(&data);
    std::fs::set_permissions(&ledger, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, findings) = doctor(&data, &[]);
    assert!(!ok);
    let f = failures(&findings, "permissions");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0]["what"].as_str().unwrap().contains("ledger.sqlite3"));
    assert_eq!(
        f[0]["remedy"].as_str().unwrap(),
        format!("chmod 600 {}", ledger.display())
    );

    std::fs::set_permissions(&ledger, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (ok, findings) = doctor(&data, &[]);
    assert!(!ok);
    let f = failures(&findings, "permissions");
    assert!(
        f.iter()
            .any(|f| f["remedy"] == format!("chmod 700 {}", data.display())),
        "{f:?}"
    );

    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let (ok, findings) = doctor(&data, &[]);
    assert!(ok, "{:?}", all_fails(&findings));
}

#[test]
fn a_corrupt_ledger_fails() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(ledger_with_codes(&data, 50, 3));
    let ledger = ledger_path(&data);
    let len = std::fs::metadata(&ledger).unwrap().len();
    assert!(len > 3 * 4096, "ledger too small to damage a page: {len}");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&ledger)
        .unwrap();
    f.seek(SeekFrom::Start(2 * 4096)).unwrap();
    f.write_all(&[0xA5; 4096]).unwrap();
    f.sync_all().unwrap();
    drop(f);
    let (ok, findings) = doctor(&data, &[]);
    assert!(!ok);
    let f = failures(&findings, "ledger");
    assert!(!f.is_empty(), "{findings:#?}");
    assert!(
        f[0]["remedy"].as_str().unwrap().contains("restore"),
        "{f:?}"
    );
}

#[test]
fn a_bad_config_fails_but_the_other_checks_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(ledger_with_codes(&data, 1, 4));
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[station]\nid = \"post-7\"\n[codes]\nserial_lenght = 13\n",
    )
    .unwrap();
    let (ok, findings) = doctor(&data, &["--config", config.to_str().unwrap()]);
    assert!(!ok);
    let f = failures(&findings, "config");
    assert_eq!(f.len(), 1);
    assert!(
        f[0]["what"].as_str().unwrap().contains("serial_lenght"),
        "{f:?}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f["check"] == "ledger" && f["severity"] == "ok"),
        "the ledger is still checked: {findings:#?}"
    );

    // A config other users may write is refused too, even when valid.
    std::fs::write(&config, "[station]\nid = \"post-7\"\n").unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (ok, findings) = doctor(&data, &["--config", config.to_str().unwrap()]);
    assert!(!ok);
    assert_eq!(failures(&findings, "permissions").len(), 1, "{findings:#?}");
}

#[test]
fn a_printer_on_a_closed_port_fails() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(ledger_with_codes(&data, 1, 5));
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let uri = format!("tcp://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let (ok, findings) = doctor(&data, &["--printer", &uri]);
    assert!(!ok);
    let f = failures(&findings, "printer");
    assert_eq!(f.len(), 1, "{findings:#?}");
    assert!(
        f[0]["what"].as_str().unwrap().contains("cannot reach"),
        "{f:?}"
    );
    assert!(!f[0]["remedy"].as_str().unwrap().is_empty());
    assert!(started.elapsed().as_secs() < 15, "doctor must not hang");
}

/// A printer that is a file of labels: `--printer file://labels.zpl` is the file in the current
/// directory (as for `print`), reported as "written to this file, not printed", and never created by
/// the check; a file in a directory that does not exist fails.
#[test]
fn a_file_printer_is_a_file_of_labels_checked_without_creating_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(ledger_with_codes(&data, 1, 5));
    let out = run(cli(&data).current_dir(dir.path()).args([
        "doctor",
        "--json",
        "--printer",
        "file://labels.zpl",
    ]));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let printer: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "printer")
        .collect();
    assert_eq!(printer.len(), 1, "{v:#}");
    assert_eq!(printer[0]["severity"], "warn", "{v:#}");
    let what = printer[0]["what"].as_str().unwrap();
    let file = dir.path().join("labels.zpl");
    assert!(
        what.contains(&format!("file://{}", file.display())),
        "{what}"
    );
    assert!(what.contains("not printed"), "{what}");
    assert!(!file.exists(), "doctor created {}", file.display());

    let (ok, findings) = doctor(&data, &["--printer", "file:///nonexistent-dir/labels.zpl"]);
    assert!(!ok);
    let f = failures(&findings, "printer");
    assert_eq!(f.len(), 1, "{findings:#?}");
    assert!(
        f[0]["what"].as_str().unwrap().contains("/nonexistent-dir"),
        "{f:?}"
    );
}

#[test]
fn a_running_station_keeps_its_printer() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(ledger_with_codes(&data, 1, 6));
    let _station = labelstation::ledger::StationLock::acquire(&data).unwrap();
    // Even a printer address that would fail is not opened while the station holds the devices.
    let (ok, findings) = doctor(&data, &["--printer", "tcp://127.0.0.1:1"]);
    assert!(ok, "{:?}", all_fails(&findings));
    let p: Vec<_> = findings
        .iter()
        .filter(|f| f["check"] == "printer")
        .collect();
    assert!(
        p[0]["what"]
            .as_str()
            .unwrap()
            .contains("station is running"),
        "{p:?}"
    );
}

#[test]
fn no_printer_configured_lists_what_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, findings) = doctor(&data, &[]);
    // No data dir, no ledger, no printer: all warnings, nothing broken.
    assert!(ok, "{:?}", all_fails(&findings));
    let p: Vec<_> = findings
        .iter()
        .filter(|f| f["check"] == "printer")
        .collect();
    // No [printer] section (or, where the config has one, its default: the virtual printer).
    let what = p[0]["what"].as_str().unwrap();
    assert!(
        p[0]["severity"] == "warn"
            && (what.contains("no printer configured") || what.contains("virtual printer")),
        "{p:?}"
    );
    assert!(!data.exists(), "doctor never creates the data dir");
}

#[test]
fn registry_credentials_are_checked_when_not_simulated() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("config.toml");
    // A registry URL on a closed loopback port, and no password in the environment.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    std::fs::write(
        &config,
        format!(
            "[registry]\napi = \"xtrace\"\nurl = \"http://127.0.0.1:{port}\"\n[registry.xtrace]\nlogin = \"station\"\npassword_env = \"LS_DOCTOR_TEST_PW\"\n"
        ),
    )
    .unwrap();
    let (ok, findings) = doctor(&data, &["--config", config.to_str().unwrap()]);
    assert!(!ok);
    let f = failures(&findings, "registry");
    assert!(
        f[0]["what"].as_str().unwrap().contains("LS_DOCTOR_TEST_PW"),
        "{f:?}"
    );

    // With the password set, the closed port is a link problem: a warning (the station works offline).
    let out = run(cli(&data).env("LS_DOCTOR_TEST_PW", "secret-pw").args([
        "doctor",
        "--json",
        "--config",
        config.to_str().unwrap(),
    ]));
    let text = stdout(&out);
    assert!(!text.contains("secret-pw"), "the password never appears");
    let v: Value = serde_json::from_str(&text).unwrap();
    let reg: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "registry")
        .collect();
    assert_eq!(reg[0]["severity"], "warn", "{reg:?}");
}
