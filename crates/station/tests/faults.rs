// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Fault suite for the station's storage: the disk filling up mid-line. SQLite reports a full disk the same
//! way whether the file system or `max_page_count` is the limit, so the limit is set on the station's own
//! connection. The run must stop with a clear error, lose nothing, and recover on the next start. (A
//! read-only file system at start, through the binary, is `tests/read_only_fs.rs`.)

use std::sync::Arc;
use std::time::Duration;

use labelstation_codes::CodeFormat;
use labelstation_ledger::{Ledger, StoreError};
use labelstation_sim::printer::PrinterSimConfig;
use labelstation_sim::worker::{Devices, VirtualLine, WorkerConfig, open_devices};
use labelstation_station::settings::{LineConfig, PrinterConfig};
use labelstation_station::{EngineError, Event, Mode, Station};
use labelstation_testkit::*;
use labelstation_zpl::template::{BuiltinTemplate, Template};

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
