// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Fault suite for the station's storage: the disk filling up mid-line. SQLite reports a full disk the same
//! way whether the file system or `max_page_count` is the limit, so the limit is set on the station's own
//! connection. The run must stop with a clear error, lose nothing, and recover on the next start.

mod support;

use std::sync::Arc;
use std::time::Duration;

use labelstation::codes::CodeFormat;
use labelstation::config::{LineConfig, PrinterConfig};
use labelstation::engine::{EngineError, Event, Mode, Station};
use labelstation::store::{Ledger, StoreError};
use labelstation::virtual_printer::PrinterSimConfig;
use labelstation::worker::{Devices, VirtualLine, WorkerConfig, open_devices};
use labelstation_zpl::template::{BuiltinTemplate, Template};
use support::*;

/// A station on the virtual line with a quick worker and a two-second scan timeout.
fn station_on_the_virtual_line(ledger: Ledger) -> (Station, VirtualLine) {
    let Devices {
        printer,
        scanner,
        virtual_line,
    } = open_devices(
        "sim:",
        "sim:",
        PrinterSimConfig::default(),
        WorkerConfig {
            apply_time: Duration::from_millis(10),
            ..WorkerConfig::default()
        },
    )
    .unwrap();
    let st = Station::new(
        ledger,
        LineConfig {
            scan_timeout_secs: 2,
            ..LineConfig::default()
        },
        PrinterConfig::default(),
        CodeFormat::default(),
        Template::builtin(BuiltinTemplate::Label58x40).unwrap(),
        printer,
        scanner,
        Arc::new(|_: Event| {}),
        system(),
    );
    (st, virtual_line.unwrap())
}

#[test]
fn disk_full_mid_line_stops_with_a_clear_error_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 400, 21);
    let (mut st, virtual_line) = station_on_the_virtual_line(ledger);
    let s = st.run(&gtin, Mode::Inline, 3).unwrap();
    assert_eq!(s.verified, 3);
    // The disk is now full: the database may not grow by a page.
    let c = st.ledger().connection();
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    let _: i64 = c
        .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
            r.get(0)
        })
        .unwrap();
    let err = st.run(&gtin, Mode::Inline, 300).unwrap_err();
    assert!(
        matches!(err, EngineError::Store(StoreError::DiskFull)),
        "{err:?}"
    );
    assert!(err.to_string().to_lowercase().contains("disk"), "{err}");
    drop(st);
    // What the printer actually put out, copies included.
    std::thread::sleep(Duration::from_millis(200));
    let stickers = virtual_line.printer.stickers();
    drop(virtual_line);
    // Space is back: the next start recovers, and every code is where the ledger can explain it.
    let (l, _lock, _report) = Ledger::open_station(dir.path(), "station-test", &system()).unwrap();
    let b = &l.balance().unwrap()[0].states;
    assert_eq!(b.values().sum::<u64>(), 400, "{b:?}");
    assert_eq!(b["RESERVED"] + b["SENT"], 0, "{b:?}");
    assert!(b["VERIFIED"] >= 3, "{b:?}");
    // Every sticker that came out is one the recovered ledger can explain; none of its codes is back in
    // the pool, and none came out twice unknown.
    let check = labelstation_testkit::sticker_record::check_stickers(&l, &stickers);
    assert!(check.printed.len() >= 3, "{check:?}");
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    assert!(l.verify_audit().unwrap().breaks.is_empty());
}

#[test]
fn read_only_ledger_mid_line_stops_with_a_clear_error_and_loses_nothing() {
    // The station's own connection stops accepting writes, as SQLite does when the file or its file system
    // turns read-only under it (SQLITE_READONLY).
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 100, 22);
    let (mut st, virtual_line) = station_on_the_virtual_line(ledger);
    let handle = virtual_line.printer.clone();
    assert_eq!(st.run(&gtin, Mode::Inline, 2).unwrap().verified, 2);
    st.ledger()
        .connection()
        .execute_batch("PRAGMA query_only = ON")
        .unwrap();
    let err = st.run(&gtin, Mode::Inline, 50).unwrap_err();
    assert!(
        matches!(err, EngineError::Store(StoreError::ReadOnly)),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("read-only") && text.contains("nothing was changed"),
        "{text}"
    );
    drop(st);
    drop(virtual_line);
    // Not one label left the printer without the ledger knowing it was sent.
    let printed = handle.counts().printed;
    assert_eq!(printed, 2, "labels printed while the ledger was read-only");
    let (l, _lock, _report) = Ledger::open_station(dir.path(), "station-test", &system()).unwrap();
    let b = &l.balance().unwrap()[0].states;
    assert_eq!(b.values().sum::<u64>(), 100, "{b:?}");
    assert_eq!((b["VERIFIED"], b["AVAILABLE"]), (2, 98), "{b:?}");
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    assert!(l.verify_audit().unwrap().breaks.is_empty());
}

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
