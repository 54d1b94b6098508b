// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every scanner fault, end to end over a real pseudo-terminal: the code is rendered on a label, the
//! virtual scanner reads the image with a real decoder and sends what it saw like a USB-CDC scanner, the
//! station's serial scanner driver frames it, and the verdict is decided against the ledger.

use std::time::Duration;

use labelstation_codes::CodeFormat;
use labelstation_ledger::{Actor, CodeRecord, CodeState, JobMode, Ledger, ScanProof};
use labelstation_scanner::serial::{SerialConfig, open_serial};
use labelstation_scanner::virtual_cdc::Fault;
use labelstation_scanner::{Scanner, ScannerEvent};
use labelstation_sim::scanner::VirtualScanner;
use labelstation_station::verdict::{MismatchKind, ScanVerdict, decide};
use labelstation_testkit::*;
use labelstation_zpl::render::Bitmap;
use labelstation_zpl::template::{BuiltinTemplate, Template};
use labelstation_zpl::write::LabelData;

/// The label the virtual printer would print for `r`.
fn label(r: &CodeRecord) -> Bitmap {
    let t = Template::builtin(BuiltinTemplate::Label58x40).unwrap();
    let gtin = r.code.gtin().to_string();
    labelstation_zpl::preview(
        &t,
        &LabelData {
            code: r.code.as_str(),
            name: "Ботинки мужские / Ер адамдар бәтеңкесі",
            size: "42",
            gtin_text: &gtin,
            serial_text: r.code.serial(),
        },
    )
    .unwrap()
}

/// The next scan the station receives, or `None` when nothing arrives in time (a TIMEOUT verdict).
fn next_scan(scanner: &mut dyn Scanner) -> Option<Vec<u8>> {
    let deadline = std::time::Instant::now() + Duration::from_millis(700);
    while std::time::Instant::now() < deadline {
        if let Some(ScannerEvent::Scan(s)) = scanner.next_event(Duration::from_millis(100)).unwrap()
        {
            return Some(s.bytes);
        }
    }
    None
}

#[test]
fn every_fault_gets_its_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 6, 60);
    let op = Actor::operator("op");
    let job = l.open_job(&gtin, JobMode::Batch, &op).unwrap();
    let mut printed = Vec::new();
    for _ in 0..4 {
        let r = l.reserve(job, &op).unwrap();
        l.mark_sent(r.id, job, "sim:", b"", false, &op).unwrap();
        l.mark_printed(r.id, job, &op).unwrap();
        printed.push(l.code(r.id).unwrap());
    }
    let mut eye = VirtualScanner::pty(7).unwrap();
    let mut station = open_serial(SerialConfig::new(eye.path())).unwrap();
    let f = CodeFormat::default();
    let (a, b) = (&printed[0], &printed[1]);
    let img = label(a);
    let verdict = |l: &Ledger, raw: Option<Vec<u8>>, expected: &CodeRecord| match raw {
        Some(raw) => decide(l, &raw, &f, Some(expected), None).unwrap(),
        None => ScanVerdict::Timeout,
    };

    // A clean read: the sticker carries exactly its code, with ]d2.
    eye.scan_label(&img, &Fault::None).unwrap();
    let raw = next_scan(&mut station).unwrap();
    assert!(raw.starts_with(b"]d2"));
    assert_eq!(verdict(&l, Some(raw), a), ScanVerdict::Match { code: a.id });

    type Expect = Box<dyn Fn(&ScanVerdict) -> bool>;
    let cases: Vec<(Fault, Expect)> = vec![
        (Fault::NoRead, Box::new(|v| *v == ScanVerdict::Timeout)),
        (
            Fault::GsDropped,
            Box::new(|v| {
                matches!(
                    v,
                    ScanVerdict::Mismatch {
                        kind: MismatchKind::SeparatorsMissing,
                        ..
                    }
                )
            }),
        ),
        (
            Fault::WrongSymbology(*b"]d1"),
            Box::new(|v| matches!(v, ScanVerdict::NotGs1 { .. })),
        ),
        (
            Fault::WrongSymbology(*b"]Q3"),
            Box::new(|v| matches!(v, ScanVerdict::NotGs1 { .. })),
        ),
        (Fault::NoiseBurst { len: 12 }, Box::new(|v| !v.is_match())),
        (
            Fault::Misread { count: 2 },
            Box::new(|v| {
                matches!(
                    v,
                    ScanVerdict::Unreadable { .. }
                        | ScanVerdict::Mismatch {
                            kind: MismatchKind::Foreign,
                            ..
                        }
                )
            }),
        ),
        (
            Fault::Neighbour(b.code.as_str().as_bytes().to_vec()),
            Box::new(|v| {
                matches!(
                    v,
                    ScanVerdict::Mismatch {
                        kind: MismatchKind::OurOther {
                            state: CodeState::Printed,
                            ..
                        },
                        ..
                    }
                )
            }),
        ),
    ];
    for (fault, expect) in cases {
        eye.scan_label(&img, &fault).unwrap();
        let v = verdict(&l, next_scan(&mut station), a);
        assert!(expect(&v), "{fault:?} gave {v:?}");
        assert!(!v.message().is_empty());
    }

    // A double scan: the first read counts, the second is a warning, never a second count.
    eye.scan_label(&img, &Fault::DoubleScan).unwrap();
    let first = next_scan(&mut station).unwrap();
    assert!(decide(&l, &first, &f, Some(a), None).unwrap().is_match());
    l.verify(
        a.id,
        job,
        &ScanProof {
            raw: &first,
            aim: Some("]d2"),
        },
        &op,
    )
    .unwrap();
    let second = next_scan(&mut station).unwrap();
    let a_now = l.code(a.id).unwrap();
    let v = decide(&l, &second, &f, Some(&a_now), None).unwrap();
    assert!(
        matches!(
            v,
            ScanVerdict::Mismatch {
                kind: MismatchKind::AlreadyVerified { .. },
                ..
            }
        ),
        "{v:?}"
    );

    // A code from elsewhere, and the box's own retail barcode.
    let foreign = codes(&gtin, 1, 4242).remove(0);
    eye.scan_text(*b"]d2", foreign.as_str().as_bytes()).unwrap();
    let v = verdict(&l, next_scan(&mut station), b);
    assert!(
        matches!(
            v,
            ScanVerdict::Mismatch {
                kind: MismatchKind::Foreign,
                ..
            }
        ),
        "{v:?}"
    );
    eye.scan_text(*b"]E0", &gtin.as_str().as_bytes()[1..])
        .unwrap();
    let v = verdict(&l, next_scan(&mut station), b);
    assert_eq!(
        v,
        ScanVerdict::Retail {
            gtin: gtin.to_string()
        }
    );

    // Batch mode: the rest of the roll verifies in any order.
    for r in printed[1..].iter().rev() {
        eye.scan_label(&label(r), &Fault::None).unwrap();
        let raw = next_scan(&mut station).unwrap();
        assert_eq!(
            decide(&l, &raw, &f, None, Some(job)).unwrap(),
            ScanVerdict::Match { code: r.id }
        );
        l.verify(
            r.id,
            job,
            &ScanProof {
                raw: &raw,
                aim: Some("]d2"),
            },
            &op,
        )
        .unwrap();
    }
    assert_eq!(l.balance().unwrap()[0].states["VERIFIED"], 4);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}
