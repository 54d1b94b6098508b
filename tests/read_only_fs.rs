// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The station's storage on a read-only file system, through the binary: refused at start with what to
//! do, the ledger intact (the disk filling up mid-line is `crates/station/tests/faults.rs`).

mod support;

use labelstation::ledger::Ledger;
use support::*;

/// Runs `script` as `sh -c` in a private mount namespace (so a read-only bind mount made there touches
/// nothing outside), or returns None when this machine does not allow one (not root, no `unshare`).
fn in_mount_namespace(
    script: &str,
    envs: &[(&str, &std::path::Path)],
) -> Option<std::process::Output> {
    let probe = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .output()
        .ok()?;
    if !probe.status.success() {
        return None;
    }
    let mut c = std::process::Command::new("unshare");
    c.args(["--mount", "--propagation", "private", "sh", "-c", script])
        .env("LABELSTATION", env!("CARGO_BIN_EXE_labelstation"))
        .env_remove("LABELSTATION_CONFIG")
        .env_remove("RUST_LOG");
    for (k, v) in envs {
        c.env(k, v);
    }
    Some(c.output().unwrap())
}

#[test]
fn read_only_file_system_refuses_with_what_to_do_and_the_ledger_survives() {
    // The data dir's file system is read-only when the station starts (a disk the kernel remounted
    // read-only after I/O errors). The kernel refuses to remount a file system read-only while a file on it
    // is open for writing, so the mid-line case is the in-process test above.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gtin = labelstation::codes::generate::gtin_from_number(460_700_000_321);
    cli_product_with_codes(&data, &gtin, "Ботинки", 40, 23);
    let cfg = dir.path().join("station.toml");
    std::fs::write(&cfg, "[line]\nscan_timeout_secs = 2\n").unwrap();
    let out = run(cli(&data).env("LABELSTATION_CONFIG", &cfg).args([
        "print",
        "--gtin",
        gtin.as_str(),
        "--count",
        "2",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let before = std::fs::read(data.join("ledger.sqlite3")).unwrap();
    let envs = [
        ("LABELSTATION_DATA_DIR", data.as_path()),
        ("LABELSTATION_CONFIG", cfg.as_path()),
        ("XDG_CONFIG_HOME", dir.path()),
    ];
    let script = format!(
        r#"mount --bind "$LABELSTATION_DATA_DIR" "$LABELSTATION_DATA_DIR" || exit 90
mount -o remount,bind,ro "$LABELSTATION_DATA_DIR" || exit 90
touch "$LABELSTATION_DATA_DIR/probe" 2>/dev/null && exit 91
"$LABELSTATION" print --gtin {gtin} --count 3
echo "exit=$?" >&2
"#,
        gtin = gtin.as_str()
    );
    let Some(out) = in_mount_namespace(&script, &envs) else {
        eprintln!(
            "skipped: no private mount namespace here (needs root and unshare); the in-process read-only test still ran"
        );
        return;
    };
    if matches!(out.status.code(), Some(90 | 91)) {
        eprintln!(
            "skipped: no read-only bind mount in the namespace: {}",
            stderr(&out)
        );
        return;
    }
    let err = stderr(&out);
    assert!(err.contains("exit=1"), "{err}");
    assert!(
        err.contains("cannot be written") && err.contains("read-only") && !err.contains("panicked"),
        "{err}"
    );
    // Nothing was changed, and once the disk is writable again the station carries on.
    assert_eq!(std::fs::read(data.join("ledger.sqlite3")).unwrap(), before);
    let out = run(cli(&data).env("LABELSTATION_CONFIG", &cfg).args([
        "print",
        "--gtin",
        gtin.as_str(),
        "--count",
        "1",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let (l, _lock, _report) = Ledger::open_station(&data, "station-test", &system()).unwrap();
    let b = &l.balance().unwrap()[0].states;
    assert_eq!(b.values().sum::<u64>(), 40, "{b:?}");
    assert_eq!((b["VERIFIED"], b["AVAILABLE"]), (3, 37), "{b:?}");
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    assert!(l.verify_audit().unwrap().breaks.is_empty());
}
