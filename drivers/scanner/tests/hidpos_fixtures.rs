// SPDX-License-Identifier: GPL-3.0-or-later
//! HID POS reassembly from captured report streams (see fixtures/README.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use labelstation_scanner::ScannerEvent;
use labelstation_scanner::hidpos::{HidPosAssembler, HidPosLayout};

/// The code in make_hidpos_fixtures.py (129 bytes, 3 reports).
fn code() -> Vec<u8> {
    let crypto =
        b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODkrLz0h";
    [
        &b"0104600000000017"[..],
        b"21",
        b"aB3!\"%&'*+,-.",
        b"\x1d91EE11\x1d92",
        crypto,
    ]
    .concat()
}

fn reports(name: &str) -> Vec<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(bytes.len() % 64, 0);
    bytes.chunks(64).map(<[u8]>::to_vec).collect()
}

fn assemble(name: &str) -> Vec<ScannerEvent> {
    let mut a = HidPosAssembler::new(HidPosLayout::ACCESS_IS, "hidpos:///dev/hidraw1");
    let mut out: Vec<ScannerEvent> = reports(name).iter().filter_map(|r| a.feed(r)).collect();
    out.extend(a.finish());
    out
}

#[test]
fn three_reports_make_one_scan_byte_for_byte() {
    assert_eq!(reports("hidpos_129_bytes_3_reports.bin").len(), 3);
    match &assemble("hidpos_129_bytes_3_reports.bin")[..] {
        [ScannerEvent::Scan(s)] => {
            assert_eq!(s.bytes, [&b"]d2"[..], &code()].concat());
            assert_eq!(s.aim, Some(*b"]d2"));
            assert_eq!(s.source, "hidpos:///dev/hidraw1");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn other_report_ids_are_skipped_between_scans() {
    match &assemble("hidpos_two_scans_other_report_between.bin")[..] {
        [ScannerEvent::Scan(a), ScannerEvent::Scan(b)] => {
            assert_eq!(a.bytes, b"]d1plain datamatrix");
            assert_eq!(b.bytes, [&b"]d2"[..], &code()[..60]].concat());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unplug_mid_scan_is_incomplete() {
    let mut a = HidPosAssembler::new(HidPosLayout::ACCESS_IS, "t");
    let r = reports("hidpos_129_bytes_3_reports.bin");
    assert_eq!(a.feed(&r[0]), None);
    assert_eq!(a.feed(&r[1]), None);
    assert!(matches!(a.finish(), Some(ScannerEvent::Incomplete(s)) if s.bytes.len() == 3 + 112));
}
