// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Packing on the line (`print --box-capacity`): verified pairs go into boxes under SSCCs the ledger
//! allocates, each full (or last, partly filled) box is closed, its GS1-128 label printed by the virtual
//! printer and scanned back by the virtual worker. Checked against what the virtual printer itself
//! printed (its sticker record, read from the ZPL it received) and what the virtual scanner read off
//! the rendered label (`]C1`, AI 00, the SSCC), not against the ledger's own sums. The box label's
//! hard cases come from the virtual devices: a label that does not read, an old box label scanned
//! instead, and a SIGKILL between the SSCC's allocation and its label's print.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use labelstation_codes::{CodeFormat, CompanyPrefix};
use labelstation_ledger::Ledger;
use labelstation_ledger::boxes::{BoxRecord, BoxState};
use labelstation_sim::printer::PrinterSimConfig;
use labelstation_sim::worker::{
    BoxLabelFault, BoxReading, Devices, VirtualLine, WorkerConfig, open_devices,
};
use labelstation_station::settings::{LineConfig, PrinterConfig};
use labelstation_station::{Event, Mode, Packing, Station};
use labelstation_testkit::boxes::{EXTENSION, PREFIX, assert_ours, ledger};
use labelstation_testkit::*;
use labelstation_zpl::template::{BuiltinTemplate, Dpi, Template};

type Events = Arc<Mutex<Vec<Event>>>;

fn packing(capacity: u32) -> Packing {
    Packing {
        capacity,
        prefix: CompanyPrefix::parse(PREFIX).unwrap(),
        extension: EXTENSION,
        label_mm: (105, 148),
        dpi: Dpi::D203,
    }
}

/// A station on the virtual line labelling for CN-1 and packing boxes of `capacity`.
fn station(
    ledger: Ledger,
    capacity: u32,
    faults: Vec<BoxLabelFault>,
) -> (Station, Events, VirtualLine) {
    let worker = WorkerConfig {
        apply_time: Duration::from_millis(30),
        box_label_faults: faults,
        ..WorkerConfig::default()
    };
    let Devices {
        printer,
        scanner,
        virtual_line,
    } = open_devices("sim:", "sim:", PrinterSimConfig::default(), worker).unwrap();
    let events: Events = Arc::default();
    let sink = {
        let events = events.clone();
        Arc::new(move |e: Event| events.lock().unwrap().push(e))
    };
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
        sink,
        system(),
    );
    st.label_for(Some("CN-1".into()));
    st.pack_boxes(Some(packing(capacity)));
    (st, events, virtual_line.unwrap())
}

/// The GS1-128 element strings of the box labels the virtual printer put out, in order.
fn printed_box_labels(line: &VirtualLine) -> Vec<String> {
    line.printer
        .stickers()
        .into_iter()
        .filter_map(|s| s.gs1_128)
        .collect()
}

fn notice_keys(events: &Events) -> Vec<&'static str> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::Notice(n) => Some(n.key()),
            _ => None,
        })
        .collect()
}

/// Each code's moves, in order, as the ledger recorded them.
fn moves(l: &Ledger) -> Vec<Vec<String>> {
    let c = l.connection();
    let mut stmt = c
        .prepare("SELECT code_id, move FROM code_events ORDER BY code_id, id")
        .unwrap();
    let rows: Vec<(i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out: Vec<(i64, Vec<String>)> = Vec::new();
    for (id, m) in rows {
        match out.last_mut() {
            Some((last, ms)) if *last == id => ms.push(m),
            _ => out.push((id, vec![m])),
        }
    }
    out.into_iter().map(|(_, m)| m).collect()
}

#[test]
fn eight_pairs_in_boxes_of_four_make_two_verified_boxes_whose_labels_decode() {
    let dir = tempfile::tempdir().unwrap();
    let (l, gtin) = ledger(dir.path(), 10);
    let (mut st, events, line) = station(l, 4, Vec::new());
    let s = st.run(&gtin, Mode::Inline, 8).unwrap();
    assert_eq!((s.printed, s.verified, s.rejected), (8, 8, 0), "{s:?}");

    let boxes: Vec<BoxRecord> = st.ledger().boxes(Some("CN-1")).unwrap();
    assert_eq!(boxes.len(), 2, "{boxes:?}");
    for b in &boxes {
        assert_eq!(
            (b.state, b.count, b.capacity),
            (BoxState::LabelVerified, 4, 4)
        );
        assert_ours(&b.sscc);
    }
    assert_ne!(boxes[0].sscc, boxes[1].sscc);
    // The pairs in them are the 8 verified ones, each in one box.
    let mut inside: Vec<_> = boxes
        .iter()
        .flat_map(|b| st.ledger().box_items(&b.sscc).unwrap())
        .collect();
    inside.sort();
    inside.dedup();
    assert_eq!(inside.len(), 8);

    // What the printer printed: one box label each, read from the ZPL it received, after the box's
    // fourth pair.
    let want: Vec<String> = boxes.iter().map(|b| format!("00{}", b.sscc)).collect();
    assert_eq!(printed_box_labels(&line), want);
    let stickers = line.printer.stickers();
    let order: Vec<bool> = stickers.iter().map(|s| s.gs1_128.is_some()).collect();
    let mut expected = vec![false; 4];
    expected.push(true);
    expected.extend([false; 4]);
    expected.push(true);
    assert_eq!(order, expected);
    // What the virtual scanner read off the rendered labels: GS1-128 with AI 00 and the SSCC.
    let read = line.counts.box_labels.lock().unwrap().clone();
    assert_eq!(
        read,
        want.iter()
            .map(|w| Some(BoxReading {
                aim: "]C1".into(),
                data: w.clone(),
            }))
            .collect::<Vec<_>>()
    );
    // The pairs' records are those of a line without boxes: import, reserve, send, print, verify.
    let used: Vec<Vec<String>> = moves(st.ledger())
        .into_iter()
        .filter(|m| m.len() > 1)
        .collect();
    assert_eq!(used.len(), 8);
    for m in used {
        assert_eq!(m, ["import", "reserve", "send", "print", "verify"]);
    }
    assert_eq!(
        notice_keys(&events)
            .iter()
            .filter(|k| **k == "box-label-verified")
            .count(),
        2
    );
}

#[test]
fn a_box_label_that_does_not_read_is_printed_again_and_an_old_one_is_not_taken() {
    let dir = tempfile::tempdir().unwrap();
    let (l, gtin) = ledger(dir.path(), 10);
    // The first box's label does not read; for the second, the worker scans the first box's label.
    let (mut st, events, line) = station(
        l,
        2,
        vec![
            BoxLabelFault::NoRead,
            BoxLabelFault::Clean,
            BoxLabelFault::OldLabel,
        ],
    );
    let s = st.run(&gtin, Mode::Inline, 4).unwrap();
    assert_eq!(s.verified, 4, "{s:?}");
    let boxes = st.ledger().boxes(Some("CN-1")).unwrap();
    assert_eq!(boxes.len(), 2);
    for b in &boxes {
        assert_eq!((b.state, b.count), (BoxState::LabelVerified, 2), "{b:?}");
    }
    // Each box's label came out twice: the one not read (or not scanned) and the one verified.
    let (a, b) = (
        format!("00{}", boxes[0].sscc),
        format!("00{}", boxes[1].sscc),
    );
    assert_eq!(
        printed_box_labels(&line),
        vec![a.clone(), a.clone(), b.clone(), b.clone()]
    );
    // The scanner read nothing off the first label; for the second box it read the first box's label,
    // which was not taken; then the second box's own.
    let read: Vec<Option<String>> = line
        .counts
        .box_labels
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.as_ref().map(|r| r.data.clone()))
        .collect();
    assert_eq!(
        read,
        vec![None, Some(a.clone()), Some(a.clone()), Some(b.clone())]
    );
    let keys = notice_keys(&events);
    assert!(keys.contains(&"box-label-unread"), "{keys:?}");
    assert!(keys.contains(&"box-label-wrong"), "{keys:?}");
    assert_eq!(
        keys.iter().filter(|k| **k == "box-label-verified").count(),
        2
    );
    // The log keeps what verified each box, and how many labels it took.
    let c = st.ledger().connection();
    let details: Vec<String> = c
        .prepare("SELECT detail FROM audit_log WHERE action = 'box.label_verified' ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(details.len(), 2);
    for (d, want) in details.iter().zip([&a, &b]) {
        let v: serde_json::Value = serde_json::from_str(d).unwrap();
        assert_eq!(
            (v["aim"].as_str(), v["read"].as_str()),
            (Some("]C1"), Some(want.as_str()))
        );
        assert_eq!(v["labels"], 2);
    }
}

// ---- through the binary -----------------------------------------------------------------------------
