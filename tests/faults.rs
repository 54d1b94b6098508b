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
use labelstation::engine::virtual_worker::{Devices, WorkerConfig, open_devices};
use labelstation::engine::{EngineError, Event, Mode, Station};
use labelstation::store::{Ledger, StoreError};
use labelstation::virtual_printer::PrinterSimConfig;
use labelstation_zpl::template::{BuiltinTemplate, Template};
use support::*;

#[test]
fn disk_full_mid_line_stops_with_a_clear_error_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 400, 21);
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
    let mut st = Station::new(
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
    drop(virtual_line);
    // Space is back: the next start recovers, and every code is where the ledger can explain it.
    let (l, _lock, _report) = Ledger::open_station(dir.path(), "station-test", &system()).unwrap();
    let b = &l.balance().unwrap()[0].states;
    assert_eq!(b.values().sum::<u64>(), 400, "{b:?}");
    assert_eq!(b["RESERVED"] + b["SENT"], 0, "{b:?}");
    assert!(b["VERIFIED"] >= 3, "{b:?}");
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    assert!(l.verify_audit().unwrap().breaks.is_empty());
}
