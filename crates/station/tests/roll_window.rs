// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Rolls (no-verify and batch) keep a window of labels in the printer: the real Zebra driver over
//! loopback TCP to the virtual printer printing at 6 ips, a real ledger file. Every outcome is compared
//! with the virtual printer's own record of what came out, stickers cut short and copies included.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use labelstation_codes::CodeFormat;
use labelstation_ledger::Ledger;
use labelstation_sim::printer::{Fault, Interruption, PrinterSimConfig, Sticker};
use labelstation_sim::worker::{Devices, VirtualLine, WorkerConfig, open_devices};
use labelstation_station::settings::{LineConfig, PrinterConfig};
use labelstation_station::{Command, EngineError, Event, Mode, Station};
use labelstation_testkit::sticker_record::check_stickers;
use labelstation_testkit::*;
use labelstation_zpl::template::{BuiltinTemplate, Template};

fn sim_config() -> PrinterSimConfig {
    PrinterSimConfig {
        ips: Some(6.0),
        ..PrinterSimConfig::default()
    }
}

fn station(ledger: Ledger, line: LineConfig) -> (Station, VirtualLine) {
    station_with(ledger, line, sim_config())
}

fn station_with(ledger: Ledger, line: LineConfig, sim: PrinterSimConfig) -> (Station, VirtualLine) {
    let worker = WorkerConfig {
        apply_time: Duration::from_millis(30),
        ..WorkerConfig::default()
    };
    let Devices {
        printer,
        scanner,
        virtual_line,
    } = open_devices("sim:", "sim:", sim, worker).unwrap();
    let events: Arc<Mutex<Vec<Event>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::new(move |e: Event| events.lock().unwrap().push(e));
    let st = Station::new(
        ledger,
        line,
        PrinterConfig::default(),
        CodeFormat::default(),
        Template::builtin(BuiltinTemplate::Label58x40).unwrap(),
        printer,
        scanner,
        sink,
        system(),
    );
    (st, virtual_line.unwrap())
}

fn line() -> LineConfig {
    LineConfig {
        scan_timeout_secs: 2,
        roll_window: 4,
        ..LineConfig::default()
    }
}

/// Codes in `state`.
fn in_state(st: &Station, state: &str) -> BTreeSet<String> {
    st.ledger()
        .connection()
        .prepare("SELECT code FROM codes WHERE state = ?1")
        .unwrap()
        .query_map([state], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Codes whose sticker came out whole (`partial` false) or cut short (`partial` true).
fn came_out(stickers: &[Sticker], partial: bool) -> BTreeSet<String> {
    stickers
        .iter()
        .filter(|s| s.partial == partial)
        .filter_map(|s| s.code.clone())
        .collect()
}

/// Codes in review, each with its reason key.
fn in_review(st: &Station) -> Vec<(String, Option<String>)> {
    st.ledger()
        .connection()
        .prepare("SELECT code, reason_key FROM codes WHERE state IN ('REJECTED', 'NEEDS_REVIEW')")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Nothing in flight, every sticker explained, the ledger's own checks hold.
fn accounted(st: &Station, stickers: &[Sticker]) {
    assert!(in_state(st, "RESERVED").is_empty() && in_state(st, "SENT").is_empty());
    check_stickers(st.ledger(), stickers);
    assert_eq!(st.ledger().check_invariants().unwrap(), vec![]);
}

/// Waits until `cond` holds, for at most `secs`.
fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(std::time::Instant::now() < until, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_roll_keeps_more_than_one_label_in_the_printer() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 12, 61);
    let (mut st, vline) = station(ledger, line());
    let s = st.run(&gtin, Mode::NoVerify, 10).unwrap();
    assert_eq!((s.printed, s.rejected, s.waiting), (10, 0, 10), "{s:?}");
    // Seen from the printer: it held several labels at once, never more than the window.
    let most = vline.printer.counts().most_buffered;
    assert!((2..=4).contains(&most), "the printer held {most} at most");
    // What came out is exactly what the ledger counts PRINTED, each once.
    let stickers = vline.printer.stickers();
    assert_eq!(stickers.len(), 10);
    assert_eq!(came_out(&stickers, false), in_state(&st, "PRINTED"));
    accounted(&st, &stickers);
}

#[test]
fn paper_out_mid_window_not_fixed_leaves_printed_ones_printed_and_the_rest_in_review() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 12, 62);
    let (mut st, vline) = station(
        ledger,
        LineConfig {
            pause_timeout_secs: 1,
            ..line()
        },
    );
    // Paper runs out as the third label starts, and nobody loads more.
    vline
        .printer
        .fault_at_label(3, Fault::Interrupt(Interruption::PaperOut));
    let e = st.run(&gtin, Mode::NoVerify, 10).unwrap_err();
    assert!(matches!(e, EngineError::PrinterNotFixed { .. }), "{e}");
    // The printer was told to drop what it held: loading paper brings nothing more out.
    assert_eq!(vline.printer.buffered(), 0);
    vline.printer.set_paper_out(false);
    std::thread::sleep(Duration::from_millis(500));
    let stickers = vline.printer.stickers();
    // Two whole stickers and the third cut short, as the printer's own record says.
    assert_eq!(came_out(&stickers, false).len(), 2, "{stickers:?}");
    assert_eq!(came_out(&stickers, true).len(), 1, "{stickers:?}");
    // PRINTED only what came out whole. (The second label may have finished while the printer, out of
    // paper, answered nothing: then its fate is unknown to the station and it waits in review too.)
    let printed = in_state(&st, "PRINTED");
    assert!(!printed.is_empty() && printed.is_subset(&came_out(&stickers, false)));
    // Every other label the printer took waits in review, saying a sticker may exist: the one cut short
    // and those it held behind it.
    let review = in_review(&st);
    let taken = vline.printer.counts().jobs as usize;
    assert_eq!(review.len(), taken - printed.len(), "{review:?}");
    assert!(
        review.len() >= 2,
        "the printer held only the cut label: {review:?}"
    );
    assert!(
        review
            .iter()
            .all(|(_, key)| key.as_deref() == Some("printer-cancelled")),
        "{review:?}"
    );
    let cut = came_out(&stickers, true);
    assert!(cut.iter().all(|c| review.iter().any(|(r, _)| r == c)));
    accounted(&st, &stickers);
}

#[test]
fn paper_out_mid_window_fixed_the_roll_goes_on_from_the_printers_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 12, 63);
    let (mut st, vline) = station(ledger, line());
    vline
        .printer
        .fault_at_label(3, Fault::Interrupt(Interruption::PaperOut));
    let panel = vline.printer.clone();
    let worker = std::thread::spawn(move || {
        wait_for(20, "the cut sticker", || {
            panel.stickers().iter().any(|s| s.partial)
        });
        std::thread::sleep(Duration::from_millis(600));
        panel.set_paper_out(false);
    });
    let s = st.run(&gtin, Mode::NoVerify, 8).unwrap();
    worker.join().unwrap();
    assert_eq!((s.printed, s.rejected), (8, 0), "{s:?}");
    let stickers = vline.printer.stickers();
    // The label cut short (^JZN: not printed again) counts as printed, and the ledger knows a partial
    // sticker of it exists.
    let cut = came_out(&stickers, true);
    assert_eq!(cut.len(), 1, "{stickers:?}");
    let whole = came_out(&stickers, false);
    assert_eq!(whole.len(), 7);
    let printed = in_state(&st, "PRINTED");
    assert_eq!(printed, whole.union(&cut).cloned().collect());
    let flagged: i64 = st
        .ledger()
        .connection()
        .query_row(
            "SELECT count(*) FROM print_interruptions i JOIN codes c ON c.id = i.code_id WHERE c.code = ?1",
            [cut.iter().next().unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(flagged, 1);
    accounted(&st, &stickers);
}

#[test]
fn a_lost_link_mid_window_puts_the_unknown_labels_in_review() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 16, 64);
    let (mut st, vline) = station(
        ledger,
        LineConfig {
            pause_timeout_secs: 20,
            ..line()
        },
    );
    // The cable goes as the third label starts; the printer prints on what it holds.
    vline.printer.fault_at_label(3, Fault::LinkDown);
    let panel = vline.printer.clone();
    let cable = std::thread::spawn(move || {
        wait_for(20, "the link down", || panel.link_is_down());
        std::thread::sleep(Duration::from_millis(1500));
        panel.set_link_down(false);
    });
    let s = st.run(&gtin, Mode::NoVerify, 10).unwrap();
    cable.join().unwrap();
    assert_eq!(s.printed + s.rejected, 10, "{s:?}");
    let stickers = vline.printer.stickers();
    let whole = came_out(&stickers, false);
    let printed = in_state(&st, "PRINTED");
    assert!(printed.is_subset(&whole), "PRINTED without a sticker");
    // The labels in the printer when the link went are in review, and the printer did print some of
    // them: that is why they never go back to the pool.
    let review = in_review(&st);
    assert!(!review.is_empty());
    assert!(
        review
            .iter()
            .all(|(_, key)| key.as_deref() == Some("printer-cancelled")),
        "{review:?}"
    );
    assert!(
        review.iter().any(|(c, _)| whole.contains(c)),
        "no label in review came out: {review:?}"
    );
    // Everything that came out is PRINTED or in review; nothing else.
    let explained: BTreeSet<String> = printed
        .iter()
        .cloned()
        .chain(review.iter().map(|(c, _)| c.clone()))
        .collect();
    assert!(whole.is_subset(&explained));
    accounted(&st, &stickers);
}

#[test]
fn cancel_with_a_paused_printer_clears_its_buffer_first() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 12, 65);
    let (st, vline) = station(ledger, line());
    let (tx, rx) = std::sync::mpsc::channel();
    let mut st = st.with_commands(rx);
    let panel = vline.printer.clone();
    let worker = std::thread::spawn(move || {
        wait_for(20, "the first sticker", || !panel.stickers().is_empty());
        panel.set_paused(true);
        // The printer holds labels behind the one it finishes before pausing (the test goes on if it
        // never does: the assertions below tell).
        for _ in 0..400 {
            if panel.buffered() >= 2 && panel.stickers().len() >= 2 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(500));
        tx.send(Command::CancelLabel).unwrap();
        tx.send(Command::Stop).unwrap();
        tx
    });
    let s = st.run(&gtin, Mode::NoVerify, 10).unwrap();
    let _tx = worker.join().unwrap();
    // Several labels were in the printer when the worker cancelled; all of them are rejected.
    assert!(s.rejected >= 2, "{s:?}");
    // The printer dropped what it held, and nothing comes out when it is resumed.
    assert_eq!(vline.printer.buffered(), 0);
    assert!(vline.printer.counts().cancelled >= 1);
    let before = vline.printer.stickers().len();
    vline.printer.set_paused(false);
    // A test label comes out behind anything the printer still holds: once it is out, nothing else did.
    assert!(matches!(
        st.test_print(),
        Ok(labelstation_printer::JobOutcome::Done)
    ));
    let stickers = vline.printer.stickers();
    assert_eq!(stickers.len(), before + 1, "{stickers:?}");
    assert_eq!(stickers.last().and_then(|s| s.code.clone()), None);
    assert_eq!(came_out(&stickers, false), in_state(&st, "PRINTED"));
    let review = in_review(&st);
    assert_eq!(review.len() as u32, s.rejected);
    assert!(
        review
            .iter()
            .all(|(c, _)| !came_out(&stickers, false).contains(c))
    );
    accounted(&st, &stickers);
}

#[test]
fn a_label_lost_inside_the_printer_is_told_by_its_odometer_and_waits_in_review() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 12, 66);
    let (mut st, vline) = station(ledger, line());
    // The fourth label never comes out (jammed inside), yet the printer counts it done: its `~HS`
    // counts say it is out like the others.
    vline.printer.fault_at_label(4, Fault::Lost);
    let s = st.run(&gtin, Mode::NoVerify, 8).unwrap();
    assert_eq!(s.printed + s.rejected, 8, "{s:?}");
    let stickers = vline.printer.stickers();
    let whole = came_out(&stickers, false);
    assert_eq!((whole.len(), stickers.len()), (7, 7), "{stickers:?}");
    // The label that did not come out, from the printer's own record: the ledger's eight less the
    // seven stickers.
    let taken: BTreeSet<String> = ["PRINTED", "REJECTED", "NEEDS_REVIEW"]
        .iter()
        .flat_map(|state| in_state(&st, state))
        .collect();
    assert_eq!(taken.len(), 8);
    let lost: Vec<&String> = taken.difference(&whole).collect();
    assert_eq!(lost.len(), 1);
    // Nothing is PRINTED without a sticker: the odometer (7 more labels) disagreed with the counts
    // (8), and the labels it cannot tell apart wait in review saying a sticker may exist.
    let printed = in_state(&st, "PRINTED");
    assert!(
        !printed.contains(lost[0]),
        "the lost label is PRINTED: only the ~HS counts were believed"
    );
    assert!(printed.is_subset(&whole));
    let review = in_review(&st);
    assert!(review.iter().any(|(c, _)| c == lost[0]), "{review:?}");
    assert!(
        review
            .iter()
            .all(|(_, key)| key.as_deref() == Some("odometer-disagrees")),
        "{review:?}"
    );
    assert_eq!(printed.len() + review.len(), 8);
    // The disagreement is in the audit, with both counts.
    let detail: String = st
        .ledger()
        .connection()
        .query_row(
            "SELECT detail FROM audit_log WHERE action = 'printer.odometer'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(
        (detail["odometer"].as_u64(), detail["counted"].as_u64()),
        (Some(7), Some(8)),
        "{detail}"
    );
    accounted(&st, &stickers);
}

#[test]
fn a_printer_without_an_odometer_goes_on_counts_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 12, 67);
    let sim = PrinterSimConfig {
        odometer: None,
        ..sim_config()
    };
    let (mut st, vline) = station_with(ledger, line(), sim);
    let s = st.run(&gtin, Mode::NoVerify, 6).unwrap();
    assert_eq!((s.printed, s.rejected), (6, 0), "{s:?}");
    let stickers = vline.printer.stickers();
    assert_eq!(came_out(&stickers, false), in_state(&st, "PRINTED"));
    // A second roll does not ask again (it was told once) and ends the same.
    let s = st.run(&gtin, Mode::NoVerify, 4).unwrap();
    assert_eq!((s.printed, s.rejected), (4, 0), "{s:?}");
    let stickers = vline.printer.stickers();
    assert_eq!(came_out(&stickers, false), in_state(&st, "PRINTED"));
    accounted(&st, &stickers);
}

#[test]
fn a_label_lost_before_paper_runs_out_is_still_told_when_the_roll_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 14, 68);
    let (mut st, vline) = station(ledger, line());
    // The second label is lost inside the printer; paper runs out as the fifth starts and is loaded
    // again: the printer kept its buffer and goes on, and its ~HS counts alone would call the lost one
    // printed.
    vline.printer.fault_at_label(2, Fault::Lost);
    vline
        .printer
        .fault_at_label(5, Fault::Interrupt(Interruption::PaperOut));
    let panel = vline.printer.clone();
    let worker = std::thread::spawn(move || {
        wait_for(20, "the cut sticker", || {
            panel.stickers().iter().any(|s| s.partial)
        });
        std::thread::sleep(Duration::from_millis(600));
        panel.set_paper_out(false);
    });
    let s = st.run(&gtin, Mode::NoVerify, 8).unwrap();
    worker.join().unwrap();
    assert_eq!(s.printed + s.rejected, 8, "{s:?}");
    let stickers = vline.printer.stickers();
    let out: BTreeSet<String> = stickers.iter().filter_map(|s| s.code.clone()).collect();
    let taken: BTreeSet<String> = ["PRINTED", "REJECTED", "NEEDS_REVIEW"]
        .iter()
        .flat_map(|state| in_state(&st, state))
        .collect();
    let lost: Vec<&String> = taken.difference(&out).collect();
    assert_eq!(lost.len(), 1, "{stickers:?}");
    // The lost one is not PRINTED: it waits in review because the odometer disagreed.
    let printed = in_state(&st, "PRINTED");
    assert!(printed.is_subset(&out), "PRINTED without a sticker");
    let review = in_review(&st);
    assert!(
        review
            .iter()
            .any(|(c, key)| c == lost[0] && key.as_deref() == Some("odometer-disagrees")),
        "{review:?}"
    );
    accounted(&st, &stickers);
}
