// SPDX-License-Identifier: GPL-3.0-or-later
//! Keyboard-wedge decoding from recorded `input_event` streams (see fixtures/README.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use labelstation_scanner::evdev::{InputEvent, WedgeDecoder};
use labelstation_scanner::{GsKey, ScannerEvent, ScannerState};

/// The sample code in make_evdev_fixtures.py.
const CODE: &[u8] = b"]d2010460000000001721aB3!\"%&'*+,-./:;<=>?_z\x1d91EE11\x1d92dGVzdA==";

fn fixture(name: &str) -> Vec<InputEvent> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        bytes.len() % 24,
        0,
        "{name} holds whole input_event records"
    );
    InputEvent::parse_records(&bytes)
}

fn decode(name: &str, gs: GsKey) -> Vec<ScannerEvent> {
    let mut d = WedgeDecoder::new(gs, "evdev:///dev/input/by-id/usb-scanner-event-kbd");
    let mut out: Vec<ScannerEvent> = fixture(name)
        .into_iter()
        .filter_map(|e| d.feed(e))
        .collect();
    out.extend(d.finish());
    out
}

fn only_scan(events: Vec<ScannerEvent>) -> Vec<u8> {
    match &events[..] {
        [ScannerEvent::Scan(s)] => s.bytes.clone(),
        other => panic!("expected one scan, got {other:?}"),
    }
}

#[test]
fn ctrl_bracket_gives_the_code_byte_for_byte() {
    assert_eq!(
        only_scan(decode("wedge_ctrl_bracket.evdev", GsKey::CtrlBracket)),
        CODE
    );
}

#[test]
fn f8_substitute_gives_the_code_byte_for_byte() {
    let events = decode("wedge_f8.evdev", GsKey::F(8));
    match &events[..] {
        [ScannerEvent::Scan(s)] => {
            assert_eq!(s.bytes, CODE);
            assert_eq!(s.aim, Some(*b"]d2"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn f8_without_configuration_is_flagged_not_dropped() {
    match &decode("wedge_f8.evdev", GsKey::CtrlBracket)[..] {
        [ScannerEvent::UnmappedKeys { keys, .. }] => assert_eq!(keys, &[66, 66], "F8 twice"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn dropped_gs_is_delivered_as_sent_for_the_app_to_reject() {
    let want: Vec<u8> = CODE.iter().copied().filter(|b| *b != 0x1d).collect();
    assert_eq!(
        only_scan(decode("wedge_gs_dropped.evdev", GsKey::CtrlBracket)),
        want
    );
}

#[test]
fn autorepeat_adds_nothing_and_back_to_back_scans_split_at_enter() {
    let events = decode("wedge_repeat_two_scans.evdev", GsKey::CtrlBracket);
    let bytes: Vec<&[u8]> = events
        .iter()
        .map(|e| match e {
            ScannerEvent::Scan(s) => s.bytes.as_slice(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(bytes, vec![&b"701"[..], b"]d1X"]);
}

#[test]
fn alt_numpad_typing_is_flagged() {
    match &decode("wedge_alt_numpad.evdev", GsKey::CtrlBracket)[..] {
        [
            ScannerEvent::Scan(first),
            ScannerEvent::UnmappedKeys { scan, keys },
        ] => {
            assert_eq!(first.bytes, b"01");
            assert_eq!(scan.bytes, b"abc");
            assert_eq!(keys, &[82, 80, 73]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn chunked_feeding_matches_whole() {
    // The reader hands events over in batches of any size; decoding is per event.
    let events = fixture("wedge_ctrl_bracket.evdev");
    for batch in [1, 7, 64] {
        let mut d = WedgeDecoder::new(GsKey::CtrlBracket, "t");
        let mut out = Vec::new();
        for chunk in events.chunks(batch) {
            out.extend(chunk.iter().filter_map(|e| d.feed(*e)));
        }
        assert_eq!(only_scan(out), CODE);
    }
}

#[test]
fn absent_input_device_is_reported_and_retried() {
    let uri = labelstation_scanner::ScannerUri::parse(
        "evdev:///nonexistent/by-id/usb-scanner-event-kbd?gs=f8",
    )
    .unwrap();
    let mut opened = labelstation_scanner::open(&uri).unwrap();
    let scanner = &mut opened.scanner;
    match scanner.next_event(Duration::from_secs(10)).unwrap() {
        Some(ScannerEvent::State(ScannerState::Disconnected { reason })) => {
            assert!(
                reason.contains("/nonexistent/by-id/usb-scanner-event-kbd"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        scanner.next_event(Duration::from_secs(10)).unwrap(),
        Some(ScannerEvent::State(ScannerState::Reconnecting {
            attempt: 1,
            ..
        }))
    ));
}
