// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The station engine end to end over the virtual line: the real Zebra driver over loopback TCP to the
//! virtual printer, the virtual worker scanning each printed label into a pseudo-terminal, the real serial
//! scanner driver reading it, and a real ledger file.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use labelstation_codes::CodeFormat;
use labelstation_ledger::{CodeState, Ledger};
use labelstation_sim::printer::PrinterSimConfig;
use labelstation_sim::worker::{Devices, VirtualLine, WorkerConfig, open_devices};
use labelstation_station::settings::{LineConfig, PrinterConfig};
use labelstation_station::{EngineError, Event, LineState, Mode, PinStore, Station};
use labelstation_testkit::sticker_record::check_stickers;
use labelstation_testkit::*;
use labelstation_zpl::template::{BuiltinTemplate, Template};

type Events = Arc<Mutex<Vec<Event>>>;

fn station(
    ledger: Ledger,
    worker: WorkerConfig,
    line: LineConfig,
) -> (Station, Events, VirtualLine) {
    station_with(ledger, PrinterSimConfig::default(), worker, line)
}

/// [`station`] with a virtual printer configured as given.
fn station_with(
    ledger: Ledger,
    sim: PrinterSimConfig,
    worker: WorkerConfig,
    line: LineConfig,
) -> (Station, Events, VirtualLine) {
    let Devices {
        printer,
        scanner,
        virtual_line,
    } = open_devices("sim:", "sim:", sim, worker).unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let events = events.clone();
        Arc::new(move |e: Event| events.lock().unwrap().push(e))
    };
    let st = station_over(ledger, line, printer, scanner, sink);
    (st, events, virtual_line.unwrap())
}

fn quick_worker(fault_rate: f64) -> WorkerConfig {
    WorkerConfig {
        apply_time: Duration::from_millis(30),
        fault_rate,
        ..WorkerConfig::default()
    }
}

/// A worker who never scans: every label times out.
fn never_scans() -> WorkerConfig {
    WorkerConfig {
        apply_time: Duration::from_secs(3600),
        ..quick_worker(0.0)
    }
}

/// A line with a one-second scan timeout that stops after `max_failures` in a row.
fn strict_line(max_failures: u32) -> LineConfig {
    LineConfig {
        scan_timeout_secs: 1,
        max_consecutive_failures: max_failures,
        ..LineConfig::default()
    }
}

/// A station over the given printer and scanner, with the 58x40 template.
fn station_over(
    ledger: Ledger,
    line: LineConfig,
    printer: Box<dyn labelstation_printer::Printer>,
    scanner: Box<dyn labelstation_scanner::Scanner>,
    sink: labelstation_station::Sink,
) -> Station {
    Station::new(
        ledger,
        line,
        PrinterConfig::default(),
        CodeFormat::default(),
        Template::builtin(BuiltinTemplate::Label58x40).unwrap(),
        printer,
        scanner,
        sink,
        system(),
    )
}

fn quick_line() -> LineConfig {
    LineConfig {
        scan_timeout_secs: 2,
        ..LineConfig::default()
    }
}

#[test]
fn inline_run_verifies_every_label() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 8, 1);
    let (mut st, _events, _dev) = station(ledger, quick_worker(0.0), quick_line());
    let s = st.run(&gtin, Mode::Inline, 5).unwrap();
    assert_eq!((s.printed, s.verified, s.rejected), (5, 5, 0), "{s:?}");
    let b = &st.ledger().balance().unwrap()[0].states;
    assert_eq!((b["VERIFIED"], b["AVAILABLE"], b["RESERVED"]), (5, 3, 0));
    accounted(&st, &_dev.printer.stickers());
}

/// The exact bytes of every label sent, in order.
fn sent_labels(st: &Station) -> Vec<Vec<u8>> {
    st.ledger()
        .connection()
        .prepare("SELECT zpl FROM print_attempts ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn states(st: &Station) -> std::collections::BTreeMap<&'static str, u64> {
    st.ledger().balance().unwrap()[0].states.clone()
}

/// What the virtual printer actually put out, copies included, against the ledger: every sticker's code
/// is one the ledger can explain, no code came out twice unless the ledger knows of a copy, every applied
/// code came from a sticker; nothing is left in flight, and the ledger's own checks hold.
fn accounted(st: &Station, stickers: &[labelstation_sim::printer::Sticker]) {
    let b = states(st);
    assert_eq!(b["RESERVED"] + b["SENT"], 0, "{b:?}");
    check_stickers(st.ledger(), stickers);
    assert_eq!(st.ledger().check_invariants().unwrap(), vec![]);
    assert!(st.ledger().verify_audit().unwrap().breaks.is_empty());
}

#[test]
fn batch_run_verifies_the_roll_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 10, 2);
    let (mut st, _events, _line) = station(ledger, quick_worker(0.0), quick_line());
    let s = st.run(&gtin, Mode::Batch, 6).unwrap();
    assert_eq!((s.printed, s.verified, s.waiting), (6, 6, 0), "{s:?}");
    assert_eq!(states(&st)["VERIFIED"], 6);
    accounted(&st, &_line.printer.stickers());
}

#[test]
fn no_verify_codes_stay_printed_until_scanned_later() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 6, 3);
    let (mut st, _events, _line) = station(ledger, quick_worker(0.0), quick_line());
    let s = st.run(&gtin, Mode::NoVerify, 4).unwrap();
    assert_eq!((s.printed, s.verified, s.waiting), (4, 0, 4), "{s:?}");
    assert_eq!(states(&st)["PRINTED"], 4);
    // The worker applies and scans them later; the station, idle, counts each once.
    let (verified, _) = st.take_scans(Duration::from_secs(2)).unwrap();
    assert_eq!(verified, 4);
    assert_eq!((states(&st)["PRINTED"], states(&st)["VERIFIED"]), (0, 4));
    accounted(&st, &_line.printer.stickers());
}

#[test]
fn faults_end_as_verified_or_rejected_never_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 40, 4);
    let (mut st, events, vline) = station(ledger, quick_worker(0.5), strict_line(1000));
    let s = st.run(&gtin, Mode::Inline, 30).unwrap();
    assert_eq!(s.verified + s.rejected, 30, "{s:?}");
    assert!(s.rejected > 0 && s.verified > 0, "{s:?}");
    let b = states(&st);
    assert_eq!(
        (b["VERIFIED"], b["REJECTED"]),
        (u64::from(s.verified), u64::from(s.rejected))
    );
    accounted(&st, &vline.printer.stickers());
    // Every rejected code carries a reason a supervisor can act on, and is in the review queue.
    let queue = st.ledger().review_queue(100).unwrap();
    assert_eq!(queue.len() as u32, s.rejected);
    assert!(
        queue
            .iter()
            .all(|r| r.reason.as_deref().is_some_and(|t| !t.is_empty()))
    );
    assert!(queue.iter().all(|r| !r.masked.contains('\u{1d}')));
    // The counters the screen shows add up with the ledger.
    let c = st.counters();
    assert_eq!(
        (c.verified, c.rejected),
        (u64::from(s.verified), u64::from(s.rejected))
    );
    assert!(
        vline
            .counts
            .faulty_scans
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    let verdicts = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, Event::Verdict { .. }))
        .count();
    assert!(verdicts >= 30, "{verdicts}");
}

#[test]
fn paper_out_pauses_the_line_with_the_remedy_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 4, 5);
    let (mut st, events, vline) = station(ledger, quick_worker(0.0), quick_line());
    vline.printer.set_paper_out(true);
    let panel = vline.printer.clone();
    let fixer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1200));
        panel.set_paper_out(false);
    });
    let s = st.run(&gtin, Mode::Inline, 2).unwrap();
    fixer.join().unwrap();
    assert_eq!((s.printed, s.verified), (2, 2), "{s:?}");
    let paused = events.lock().unwrap().iter().find_map(|e| match e {
        Event::Line {
            line:
                LineState::Paused {
                    reason,
                    remedy,
                    key,
                    ..
                },
        } => Some((reason.clone(), remedy.clone(), *key)),
        _ => None,
    });
    let (reason, remedy, key) = paused.expect("the line paused");
    assert!(
        reason.to_lowercase().contains("paper") || reason.to_lowercase().contains("status"),
        "{reason}"
    );
    assert!(!remedy.is_empty());
    // The screen words the pause from its key: the printer's own problem, or its silence.
    assert!(
        ["paper-out", "no-status-reply", "no-status"].contains(&key),
        "{key}"
    );
    accounted(&st, &vline.printer.stickers());
}

#[test]
fn consecutive_failures_stop_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 10, 6);
    let (mut st, _events, _vline) = station(ledger, never_scans(), strict_line(2));
    let err = st.run(&gtin, Mode::Inline, 5).unwrap_err();
    assert!(
        matches!(err, EngineError::LineStopped { count: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("supervisor"));
    assert_eq!(states(&st)["REJECTED"], 2);
    // Still stopped: a new run is refused until a supervisor unlocks the line.
    assert!(matches!(
        st.run(&gtin, Mode::Inline, 1),
        Err(EngineError::LineStopped { .. })
    ));
    let pins = PinStore::new(dir.path());
    pins.set("2468").unwrap();
    let sup = pins.check("2468", "lead").unwrap();
    st.unlock(&sup).unwrap();
    assert!(!st.is_stopped());
    accounted(&st, &_vline.printer.stickers());
}

#[test]
fn supervisor_reprints_and_writes_off_rejected_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 6, 7);
    let line = strict_line(10);
    let (mut st, _events, _vline) = station(ledger, never_scans(), line.clone());
    let s = st.run(&gtin, Mode::Inline, 2).unwrap();
    assert_eq!(s.rejected, 2);
    let mut stickers = _vline.printer.stickers();
    drop(st);
    drop(_vline);
    let queue_ids: Vec<_> = {
        let l = Ledger::open(&ledger_path(dir.path()), "station-test").unwrap();
        l.review_queue(10)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect()
    };
    assert_eq!(queue_ids.len(), 2);
    // A prompt worker now.
    let l = Ledger::open(&ledger_path(dir.path()), "station-test").unwrap();
    let (mut st, _events, _vline) = station(l, quick_worker(0.0), line);
    let pins = PinStore::new(dir.path());
    pins.set("2468").unwrap();
    assert!(matches!(
        pins.check("1111", "x"),
        Err(labelstation_station::PinError::Wrong)
    ));
    let sup = pins.check("2468", "lead").unwrap();
    let r = st
        .reprint(&sup, queue_ids[0], "sticker torn before applying", true)
        .unwrap();
    assert_eq!((r.printed, r.verified), (1, 1), "{r:?}");
    st.write_off(&sup, queue_ids[1], "sticker lost").unwrap();
    assert_eq!(
        st.ledger().code(queue_ids[0]).unwrap().state,
        CodeState::Verified
    );
    assert_eq!(
        st.ledger().code(queue_ids[1]).unwrap().state,
        CodeState::WrittenOff
    );
    assert!(st.ledger().review_queue(10).unwrap().is_empty());
    // Both actions are in the audit log under the supervisor's name.
    let actors: Vec<String> = st
        .ledger()
        .connection()
        .prepare("SELECT actor FROM audit_log WHERE action IN ('code.reprint', 'code.write_off')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(actors.len(), 2, "{actors:?}");
    assert!(actors.iter().all(|a| a.contains("lead")), "{actors:?}");
    // Both printers' stickers: the reprinted code came out twice, and the ledger knows it went twice.
    stickers.extend(_vline.printer.stickers());
    accounted(&st, &stickers);
}

#[test]
fn engine_thread_takes_commands_and_publishes_events() {
    use labelstation_station::{Command, Engine, Severity};
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 6, 8);
    let (st, _unused, _vline) = station(ledger, quick_worker(0.0), quick_line());
    let (engine, events) = Engine::spawn(st, None, None);
    // Starting without a product is refused with what to do.
    engine.send(Command::Start {
        count: 1,
        mode: Mode::Inline,
    });
    engine.send(Command::SelectProduct(gtin.clone()));
    engine.send(Command::Start {
        count: 3,
        mode: Mode::Inline,
    });
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let Ok(e) = events.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        let done = matches!(
            &e,
            Event::Notice(labelstation_station::Notice::RunFinished { .. })
        );
        seen.push(e);
        if done {
            break;
        }
    }
    let notices: Vec<String> = seen
        .iter()
        .filter_map(|e| match e {
            Event::Notice(n) => Some(format!("{:?}: {}", n.severity(), n.text())),
            _ => None,
        })
        .collect();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("Choose the product first")),
        "{notices:?}"
    );
    assert!(
        notices
            .iter()
            .any(|n| n.contains("3 printed, 3 verified, 0 rejected")),
        "{notices:?}"
    );
    assert!(
        seen.iter()
            .any(|e| matches!(e, Event::Product { product: Some(p) } if p.gtin == gtin.as_str()))
    );
    assert!(seen.iter().any(|e| matches!(
        e,
        Event::Verdict {
            severity: Severity::Ok,
            ..
        }
    )));
    assert!(seen.iter().any(|e| matches!(e, Event::Printer { .. })));
    // Events serialise without the crypto tail.
    for e in &seen {
        let json = serde_json::to_string(e).unwrap();
        assert!(
            !json.contains("\\u001d92") && !json.contains("\u{1d}92"),
            "{json}"
        );
    }
    engine.shutdown();
}

#[test]
fn stored_format_mode_prints_scannable_labels_and_resends_after_printer_trouble() {
    use labelstation_station::settings::LabelMode;
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 6, 9);
    let line = LineConfig {
        label_mode: LabelMode::Stored,
        ..quick_line()
    };
    let (mut st, _events, vline) = station(ledger, quick_worker(0.0), line);
    let s = st.run(&gtin, Mode::Inline, 2).unwrap();
    assert_eq!(s.verified, 2, "{s:?}");
    // Only the first label of the product carries the ^DF format.
    let sent = sent_labels(&st);
    let has_df = |z: &Vec<u8>| z.windows(3).any(|w| w == b"^DF");
    assert!(has_df(&sent[0]) && !has_df(&sent[1]));
    // After the printer had trouble it may have restarted: the format goes again.
    vline.printer.set_head_open(true);
    let panel = vline.printer.clone();
    let fixer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        panel.set_head_open(false);
    });
    let s = st.run(&gtin, Mode::Inline, 2).unwrap();
    fixer.join().unwrap();
    assert_eq!(s.verified, 2, "{s:?}");
    let sent = sent_labels(&st);
    assert!(
        has_df(&sent[3]),
        "the label after the head was closed re-sends the format"
    );
    accounted(&st, &vline.printer.stickers());
}

/// What the scripted worker does with one printed label.
#[derive(Clone, Copy, Debug)]
enum Act {
    /// A code of another company first (an alert), then the right sticker.
    ForeignThenRight,
    /// Three reads of a plain (non-GS1) Data Matrix.
    PlainDataMatrix,
    /// Three reads of noise.
    Garbage,
    /// Three reads without the GS separators.
    GsDropped,
    /// Nothing at all.
    Nothing,
    /// The right sticker, twice.
    RightTwice,
}

#[test]
fn every_reject_path_with_a_scripted_worker() {
    use labelstation_printer::PrinterUri;
    use labelstation_scanner::ScannerUri;
    use labelstation_sim::printer::open_printer;
    use labelstation_station::Command;

    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 10, 10);
    let foreign = labelstation_codes::generate::CodeGenerator::new(999).code(&gtin);
    let (printer, vp) = open_printer(&PrinterUri::Sim, PrinterSimConfig::default()).unwrap();
    let vp = vp.unwrap();
    let panel = vp.handle();
    let opened = labelstation_scanner::open(&ScannerUri::Sim {
        name: "script".into(),
    })
    .unwrap();
    let hand = opened.sim.unwrap();
    let script = [
        Act::ForeignThenRight,
        Act::PlainDataMatrix,
        Act::Garbage,
        Act::GsDropped,
        Act::Nothing,
        Act::RightTwice,
    ];
    let worker = std::thread::spawn(move || {
        for act in script {
            let label = vp.printed().recv_timeout(Duration::from_secs(10)).unwrap();
            let r = labelstation_sim::scanner::read_label(&label.image).unwrap();
            let right = [b"]d2".as_slice(), &r.data].concat();
            std::thread::sleep(Duration::from_millis(50));
            match act {
                Act::ForeignThenRight => {
                    hand.scan([b"]d2".as_slice(), foreign.as_str().as_bytes()].concat());
                    hand.scan(right);
                }
                Act::PlainDataMatrix => (0..3).for_each(|_| {
                    hand.scan([b"]d1".as_slice(), &r.data].concat());
                }),
                Act::Garbage => (0..3).for_each(|_| {
                    hand.scan(b"%%noise%%".to_vec());
                }),
                Act::GsDropped => (0..3).for_each(|_| {
                    hand.scan(
                        right
                            .iter()
                            .copied()
                            .filter(|b| *b != 0x1d)
                            .collect::<Vec<u8>>(),
                    );
                }),
                Act::Nothing => {}
                Act::RightTwice => {
                    hand.scan(right.clone());
                    hand.scan(right);
                }
            }
        }
        // The printer jams on the next label; the worker cancels it at the screen.
        (vp, hand)
    });
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let events = events.clone();
        Arc::new(move |e: Event| events.lock().unwrap().push(e))
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let mut st = station_over(
        ledger,
        strict_line(100),
        Box::new(printer),
        opened.scanner,
        sink,
    )
    .with_commands(rx);
    let s = st.run(&gtin, Mode::Inline, script.len() as u32).unwrap();
    let (_vp, _hand) = worker.join().unwrap();
    assert_eq!((s.verified, s.rejected), (2, 4), "{s:?}");
    let reasons: Vec<String> = st
        .ledger()
        .review_queue(10)
        .unwrap()
        .into_iter()
        .map(|r| r.reason.unwrap())
        .collect();
    assert!(reasons[0].contains("Not a GS1 DataMatrix"), "{reasons:?}");
    assert!(reasons[1].contains("Unreadable"), "{reasons:?}");
    assert!(reasons[2].contains("Separators missing"), "{reasons:?}");
    assert!(reasons[3].contains("no scan within 1 s"), "{reasons:?}");
    let c = st.counters();
    assert_eq!(c.alerts, 1, "the foreign code is an alert: {c:?}");
    // The second read of the verified sticker arrives after its label is done: judged as a warning
    // when the station next listens, never a second count.
    let (verified, _) = st.take_scans(Duration::from_millis(500)).unwrap();
    assert_eq!(verified, 0);
    assert_eq!(st.counters().warnings, 1);

    // A printer error mid-job that the worker cancels: the code is rejected, never reused.
    panel.set_paper_out(true);
    let cancel = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        tx.send(Command::CancelLabel).unwrap();
        tx
    });
    let s = st.run(&gtin, Mode::Inline, 1).unwrap();
    let _tx = cancel.join().unwrap();
    assert_eq!((s.printed, s.rejected), (0, 1), "{s:?}");
    let last = st.ledger().review_queue(10).unwrap().pop().unwrap();
    assert!(last.reason.unwrap().contains("printer error"));
    assert_eq!(last.reason_key.as_deref(), Some("printer-cancelled"));
    // Scans of all kinds were kept as evidence.
    let scans: i64 = st
        .ledger()
        .connection()
        .query_row(
            "SELECT count(*) FROM scans WHERE verdict <> 'MATCH'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(scans >= 10, "{scans}");
    accounted(&st, &panel.stickers());
}

#[test]
fn paper_runs_out_mid_batch_and_the_roll_completes() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 10, 11);
    let (mut st, events, vline) = station(ledger, quick_worker(0.0), quick_line());
    let panel = vline.printer.clone();
    let fault = std::thread::spawn(move || {
        while panel.counts().printed < 2 {
            std::thread::sleep(Duration::from_millis(5));
        }
        panel.set_paper_out(true);
        std::thread::sleep(Duration::from_millis(900));
        panel.set_paper_out(false);
    });
    let s = st.run(&gtin, Mode::Batch, 6).unwrap();
    fault.join().unwrap();
    assert_eq!((s.printed, s.verified, s.rejected), (6, 6, 0), "{s:?}");
    assert!(events.lock().unwrap().iter().any(|e| matches!(
        e,
        Event::Line {
            line: LineState::Paused { .. }
        }
    )));
    accounted(&st, &vline.printer.stickers());
}

/// The real driver, with the link failing once in the middle of a send (as a cable pulled out would).
struct LinkFailsOnce {
    inner: Box<dyn labelstation_printer::Printer>,
    failed: bool,
}

impl labelstation_printer::Printer for LinkFailsOnce {
    fn send(&mut self, job: &[u8]) -> Result<(), labelstation_printer::PrinterError> {
        if !self.failed {
            self.failed = true;
            // Half the label reaches the printer, then the link drops.
            let _ = self.inner.send(&job[..job.len() / 2]);
            return Err(labelstation_printer::TransportError::Io {
                device: "test".into(),
                operation: "write",
                source: std::io::Error::from(std::io::ErrorKind::BrokenPipe),
            }
            .into());
        }
        self.inner.send(job)
    }
    fn host_status(
        &mut self,
    ) -> Result<labelstation_printer::status::StatusReply, labelstation_printer::PrinterError> {
        self.inner.host_status()
    }
    fn extended_status(
        &mut self,
    ) -> Result<
        Option<labelstation_printer::status::ExtendedStatus>,
        labelstation_printer::PrinterError,
    > {
        self.inner.extended_status()
    }
    fn identify(
        &mut self,
    ) -> Result<
        Option<labelstation_printer::status::HostIdentification>,
        labelstation_printer::PrinterError,
    > {
        self.inner.identify()
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[test]
fn a_label_whose_send_failed_is_rejected_never_counted_printed() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 5, 12);
    let Devices {
        printer,
        scanner,
        virtual_line,
    } = open_devices(
        "sim:",
        "sim:",
        PrinterSimConfig::default(),
        quick_worker(0.0),
    )
    .unwrap();
    let mut st = station_over(
        ledger,
        // Not about timeouts: room for the virtual worker's scan when every test of this file runs at
        // once on a loaded machine (2 s was seen to run out there).
        LineConfig {
            scan_timeout_secs: 10,
            ..quick_line()
        },
        Box::new(LinkFailsOnce {
            inner: printer,
            failed: false,
        }),
        scanner,
        Arc::new(|_: Event| {}),
    );
    let s = st.run(&gtin, Mode::Inline, 2).unwrap();
    let virtual_line = virtual_line.unwrap();
    let stickers = virtual_line.printer.stickers();
    drop(virtual_line);
    let q = st.ledger().review_queue(5).unwrap();
    let reasons: Vec<_> = q.iter().map(|r| r.reason.clone()).collect();
    assert_eq!(
        (s.printed, s.verified, s.rejected),
        (1, 1, 1),
        "{s:?} {reasons:?}"
    );
    assert_eq!(q.len(), 1);
    assert!(
        q[0].reason
            .as_deref()
            .unwrap()
            .contains("may not have reached the printer")
    );
    accounted(&st, &stickers);
}

#[test]
fn settings_apply_while_running_and_a_bad_choice_changes_nothing() {
    use labelstation_sim::worker::LineOpener;
    use labelstation_station::settings::LabelConfig;
    use labelstation_station::{DeviceChoice, SwitchError};
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 13, 31);
    let (st, _events, vline) = station(ledger, quick_worker(0.0), quick_line());
    let first = DeviceChoice {
        printer: "sim:".into(),
        scanner: "sim:".into(),
        label: LabelConfig::default(),
    };
    let mut st = st.with_choice(
        first.clone(),
        Box::new(LineOpener {
            worker: quick_worker(0.0),
            ..LineOpener::default()
        }),
    );
    let pins = PinStore::new(dir.path());
    pins.set("2468").unwrap();
    let sup = pins.check("2468", "lead").unwrap();
    assert_eq!(st.run(&gtin, Mode::Inline, 2).unwrap().verified, 2);
    // A printer that is not there: refused with the reason, and the station keeps what it had.
    let missing = DeviceChoice {
        printer: "serial:///dev/labelstation-no-such-printer".into(),
        scanner: "serial:///dev/labelstation-no-such-scanner".into(),
        ..first.clone()
    };
    let err = st.apply_settings(&sup, &missing).unwrap_err();
    assert!(matches!(err, SwitchError::Device(_)), "{err:?}");
    assert!(err.to_string().contains("no-such-printer"), "{err}");
    assert_eq!(st.device_choice(), first);
    assert_eq!(st.run(&gtin, Mode::Inline, 1).unwrap().verified, 1);
    // A printer that opens (a network printer on loopback) with a scanner address that does not parse:
    // the printer that did open is let go again, and the station still runs on what it had.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let half = DeviceChoice {
        printer: format!("tcp://{}", listener.local_addr().unwrap()),
        scanner: "bogus://scanner".into(),
        ..first.clone()
    };
    let err = st.apply_settings(&sup, &half).unwrap_err();
    assert!(err.to_string().contains("bogus"), "{err}");
    assert_eq!(st.device_choice(), first);
    assert_eq!(st.run(&gtin, Mode::Inline, 1).unwrap().verified, 1);
    // A bad template file: refused, nothing changed.
    let bad_label = DeviceChoice {
        label: LabelConfig {
            template: dir.path().join("no-template.toml").display().to_string(),
            dpi: 203,
        },
        ..first.clone()
    };
    let err = st.apply_settings(&sup, &bad_label).unwrap_err();
    assert!(matches!(err, SwitchError::Template(_)), "{err:?}");
    assert_eq!(st.device_choice(), first);
    // Another label and resolution: a new virtual printer at 300 dpi, no restart; the next labels print
    // on it with the small template and still verify.
    let first_stickers = vline.printer.stickers();
    drop(vline);
    let small = DeviceChoice {
        label: LabelConfig {
            template: "43x25".into(),
            dpi: 300,
        },
        ..first.clone()
    };
    let done = st.apply_settings(&sup, &small).unwrap();
    assert!(done.printer && done.scanner && done.label, "{done:?}");
    assert_eq!(st.device_choice(), small);
    assert_eq!(st.run(&gtin, Mode::Inline, 2).unwrap().verified, 2);
    let labels = sent_labels(&st);
    let last = String::from_utf8_lossy(labels.last().unwrap()).to_string();
    // 43 mm at 300 dpi is 508 dots wide (^PW); the first labels were 58 mm at 203 dpi (464 dots).
    assert!(last.contains("^PW508"), "{last}");
    let first_label = String::from_utf8_lossy(&labels[0]).to_string();
    assert!(first_label.contains("^PW464"), "{first_label}");
    // The change is in the audit log under the supervisor's name.
    let who: String = st
        .ledger()
        .connection()
        .query_row(
            "SELECT actor FROM audit_log WHERE action = 'station.settings'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(who.contains("lead"), "{who}");
    // Both virtual printers' stickers, against the ledger.
    let mut stickers = first_stickers;
    stickers.extend(
        st.own_line()
            .and_then(|l| l.downcast_ref::<VirtualLine>())
            .unwrap()
            .printer
            .stickers(),
    );
    accounted(&st, &stickers);
}

/// The events of one kind, in order.
fn paused_keys(events: &Events) -> Vec<&'static str> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::Line {
                line: LineState::Paused { key, .. },
            } => Some(*key),
            _ => None,
        })
        .collect()
}

/// Waits until `cond` holds, for at most `secs`.
fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            std::time::Instant::now() < until,
            "timed out waiting: {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_label_cancelled_while_the_printer_is_out_of_paper_never_comes_out() {
    use labelstation_station::Command;
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 4, 40);
    // A link with latency: what the station sends reaches the printer a while later, so a `~JA` handed
    // to the link is not yet a label dropped (under load the same happened by chance, once).
    let sim = PrinterSimConfig {
        latency: Some(Duration::from_millis(300)),
        ..PrinterSimConfig::default()
    };
    let (st, events, vline) = station_with(ledger, sim, quick_worker(0.0), quick_line());
    let (tx, rx) = std::sync::mpsc::channel();
    let mut st = st.with_commands(rx);
    // The printer takes the label into its buffer and stops: out of paper.
    vline.printer.set_paper_out(true);
    let canceller = {
        let events = events.clone();
        std::thread::spawn(move || {
            wait_for(20, "the line pauses", || !paused_keys(&events).is_empty());
            tx.send(Command::CancelLabel).unwrap();
            tx
        })
    };
    let s = st.run(&gtin, Mode::Inline, 1).unwrap();
    let _tx = canceller.join().unwrap();
    assert_eq!((s.printed, s.rejected), (0, 1), "{s:?}");
    // Paper loaded as soon as the station is done: the printer must not print the rejected code's label
    // it held. A test label sent now comes out behind anything the printer still holds, so once it is
    // out the printer has had every chance to print the rejected one.
    vline.printer.set_paper_out(false);
    assert!(matches!(
        st.test_print(),
        Ok(labelstation_printer::JobOutcome::Done)
    ));
    let stickers = vline.printer.stickers();
    assert_eq!(
        stickers.iter().filter(|s| s.code.is_some()).count(),
        0,
        "a sticker of a rejected code came out after the paper was loaded: {stickers:?}"
    );
    assert_eq!(stickers.len(), 1, "the test label: {stickers:?}");
    assert_eq!(vline.printer.buffered(), 0);
    // The reason says a sticker may still come out and who gets it, in the worker's language too.
    let item = st.ledger().review_queue(5).unwrap().remove(0);
    assert_eq!(item.reason_key.as_deref(), Some("printer-cancelled"));
    let reason = item.reason.unwrap();
    assert!(
        reason.contains("may still come out") && reason.contains("supervisor"),
        "{reason}"
    );
    assert_eq!(item.reason_args[0], "paper-out");
    accounted(&st, &vline.printer.stickers());
}

#[test]
fn a_cancel_the_printer_does_not_confirm_in_time_is_an_alert() {
    use labelstation_station::Command;
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 4, 44);
    // A link slower than the driver's reply timeout (1 s): no answer behind the `~JA` comes in time.
    let sim = PrinterSimConfig {
        latency: Some(Duration::from_millis(1500)),
        ..PrinterSimConfig::default()
    };
    let (st, events, vline) = station_with(ledger, sim, quick_worker(0.0), quick_line());
    let (tx, rx) = std::sync::mpsc::channel();
    let mut st = st.with_commands(rx);
    vline.printer.set_paper_out(true);
    let canceller = {
        let events = events.clone();
        std::thread::spawn(move || {
            wait_for(30, "the line pauses", || !paused_keys(&events).is_empty());
            tx.send(Command::CancelLabel).unwrap();
            tx
        })
    };
    let s = st.run(&gtin, Mode::Inline, 1).unwrap();
    let _tx = canceller.join().unwrap();
    assert_eq!((s.printed, s.rejected), (0, 1), "{s:?}");
    // The station does not claim the label is gone: the worker and the supervisor are told.
    let alerts: Vec<(&'static str, Vec<String>)> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::Notice(n) if n.severity() == labelstation_station::Severity::Alert => {
                Some((n.key(), n.args()))
            }
            _ => None,
        })
        .collect();
    let rejected = st.ledger().review_queue(5).unwrap().remove(0);
    assert_eq!(
        alerts,
        vec![("cancel-not-confirmed", vec![rejected.masked.clone()])],
        "{alerts:?}"
    );
    vline.printer.set_paper_out(false);
    accounted(&st, &vline.printer.stickers());
}

#[test]
fn a_label_reprinted_after_an_error_is_a_known_copy_and_its_scan_an_alert() {
    use labelstation_sim::printer::Interruption;
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 4, 41);
    // Firmware that reprints a label cut short by an error whatever ^JZ says.
    let sim = PrinterSimConfig {
        ignore_jz: true,
        ..PrinterSimConfig::default()
    };
    let (mut st, events, vline) = station_with(ledger, sim, quick_worker(0.0), quick_line());
    vline.printer.interrupt_next_label(Interruption::PaperOut);
    let panel = vline.printer.clone();
    let fixer = std::thread::spawn(move || {
        wait_for(20, "the label is cut short", || {
            panel.counts().interrupted == 1
        });
        std::thread::sleep(Duration::from_millis(800));
        panel.set_paper_out(false);
    });
    let s = st.run(&gtin, Mode::Inline, 2).unwrap();
    fixer.join().unwrap();
    assert_eq!((s.verified, s.rejected), (2, 0), "{s:?}");
    // The printer's record: the first code came out twice (a partial sticker, then the reprint).
    let stickers = vline.printer.stickers();
    let first = stickers[0].code.clone().unwrap();
    let copies: Vec<_> = stickers
        .iter()
        .filter(|x| x.code.as_deref() == Some(first.as_str()))
        .collect();
    assert_eq!(copies.len(), 2, "{stickers:?}");
    assert!(copies[0].partial && copies[1].copy == 2, "{copies:?}");
    // The ledger knows a copy may exist, and the scan of the second sticker is an alert a supervisor
    // sees in the review queue, not a passing warning.
    let id = st
        .ledger()
        .connection()
        .query_row("SELECT id FROM codes WHERE code = ?1", [&first], |r| {
            r.get(0)
        })
        .map(labelstation_ledger::CodeId)
        .unwrap();
    assert!(st.ledger().copy_may_exist(id).unwrap());
    // The worker scans the reprint after the station verified the first sticker.
    wait_for(10, "the alert", || {
        let _ = st.take_scans(Duration::from_millis(50));
        !st.ledger().open_sticker_alerts().unwrap().is_empty()
    });
    let alerts = st.ledger().open_sticker_alerts().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].code, id);
    assert!(alerts[0].copy_known);
    assert!(alerts[0].instruction().contains("find and destroy it"));
    assert!(st.counters().alerts >= 1);
    let notices: Vec<&str> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::Notice(n) => Some(n.key()),
            _ => None,
        })
        .collect();
    assert!(notices.contains(&"label-interrupted"), "{notices:?}");
    assert!(notices.contains(&"second-sticker"), "{notices:?}");
    accounted(&st, &vline.printer.stickers());
}

#[test]
fn the_printer_link_lost_and_back_the_line_resumes_and_the_unsent_label_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 8, 42);
    let line = LineConfig {
        pause_timeout_secs: 20,
        ..quick_line()
    };
    // A worker slow enough that the link is gone before the next label.
    let worker = WorkerConfig {
        apply_time: Duration::from_millis(800),
        ..quick_worker(0.0)
    };
    let (mut st, events, vline) = station(ledger, worker, line);
    let panel = vline.printer.clone();
    let cable = std::thread::spawn(move || {
        wait_for(20, "the first sticker", || panel.counts().printed == 1);
        // After the station saw the label done (it polls every 100 ms), while the worker applies it.
        std::thread::sleep(Duration::from_millis(250));
        panel.set_link_down(true);
        std::thread::sleep(Duration::from_millis(1500));
        panel.set_link_down(false);
    });
    let s = st.run(&gtin, Mode::Inline, 3).unwrap();
    cable.join().unwrap();
    assert_eq!((s.printed, s.verified, s.rejected), (3, 3, 0), "{s:?}");
    // The line showed the link down, and went on by itself.
    assert!(
        paused_keys(&events).contains(&"link-down"),
        "{:?}",
        paused_keys(&events)
    );
    // The label prepared while the link was gone never left the station: its code went back to the pool
    // (the release move), and nothing is in review as a "printer error".
    let released: i64 = st
        .ledger()
        .connection()
        .query_row(
            "SELECT count(*) FROM code_events WHERE move = 'release'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(released >= 1, "{released}");
    assert!(st.ledger().review_queue(10).unwrap().is_empty());
    assert_eq!(vline.printer.stickers().len(), 3);
    accounted(&st, &vline.printer.stickers());
}

#[test]
fn a_second_sticker_of_a_verified_code_is_an_alert_in_batch_mode_and_when_idle() {
    use labelstation_printer::PrinterUri;
    use labelstation_scanner::ScannerUri;
    use labelstation_sim::printer::open_printer;

    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 6, 43);
    // Every label is cut short by an error that clears by itself, on firmware that reprints anyway: the
    // station sees no error, and each code comes out twice.
    let sim = PrinterSimConfig {
        duplicate_rate: 1.0,
        ignore_jz: true,
        ..PrinterSimConfig::default()
    };
    let (printer, vp) = open_printer(&PrinterUri::Sim, sim).unwrap();
    let vp = vp.unwrap();
    let panel = vp.handle();
    let opened = labelstation_scanner::open(&ScannerUri::Sim {
        name: "hand".into(),
    })
    .unwrap();
    let hand = opened.sim.unwrap();
    let (go_idle_tx, go_idle_rx) = std::sync::mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        let mut roll = Vec::new();
        for _ in 0..6 {
            let label = vp.printed().recv_timeout(Duration::from_secs(10)).unwrap();
            let r = labelstation_sim::scanner::read_label(&label.image).unwrap();
            roll.push([b"]d2".as_slice(), &r.data].concat());
        }
        // The roll: a partial and a whole sticker of each code, in print order.
        let scan = |bytes: &Vec<u8>| {
            hand.scan(bytes.clone());
            std::thread::sleep(Duration::from_millis(100));
        };
        scan(&roll[0]);
        scan(&roll[2]);
        // The first code's second sticker, while the roll is still being scanned: another code was
        // scanned since its own, so it is another sticker.
        scan(&roll[1]);
        scan(&roll[4]);
        // The station is idle now; the two other second stickers turn up later.
        go_idle_rx.recv().unwrap();
        scan(&roll[3]);
        scan(&roll[5]);
        (vp, hand)
    });
    let mut st = station_over(
        ledger,
        quick_line(),
        Box::new(printer),
        opened.scanner,
        Arc::new(|_: Event| {}),
    );
    let s = st.run(&gtin, Mode::Batch, 3).unwrap();
    assert_eq!((s.printed, s.verified), (3, 3), "{s:?}");
    let in_batch = st.ledger().open_sticker_alerts().unwrap();
    assert_eq!(in_batch.len(), 1, "{in_batch:?}");
    go_idle_tx.send(()).unwrap();
    let (verified, _) = st.take_scans(Duration::from_secs(2)).unwrap();
    assert_eq!(verified, 0);
    let (_vp, _hand) = worker.join().unwrap();
    // One alert per code, each a review record a supervisor sees, none of them counted twice.
    let alerts = st.ledger().open_sticker_alerts().unwrap();
    assert_eq!(alerts.len(), 3, "{alerts:?}");
    assert!(alerts.iter().all(|a| !a.copy_known));
    assert_eq!(states(&st)["VERIFIED"], 3);
    let scans: i64 = st
        .ledger()
        .connection()
        .query_row(
            "SELECT count(*) FROM scans WHERE verdict = 'SECOND_STICKER'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(scans, 3);
    // A supervisor closes one with what was found; it leaves the open list, audited.
    let pins = PinStore::new(dir.path());
    pins.set("2468").unwrap();
    let sup = pins.check("2468", "lead").unwrap();
    let mut l = Ledger::open(&ledger_path(dir.path()), "station-test").unwrap();
    assert!(
        l.close_sticker_alert(
            alerts[0].id,
            "found",
            &labelstation_ledger::Actor::operator("op")
        )
        .is_err(),
        "an operator cannot close an alert"
    );
    l.close_sticker_alert(
        alerts[0].id,
        "second sticker found on the bench, destroyed",
        sup.actor(),
    )
    .unwrap();
    assert!(
        l.close_sticker_alert(alerts[0].id, "again", sup.actor())
            .is_err()
    );
    assert_eq!(l.open_sticker_alerts().unwrap().len(), 2);
    accounted(&st, &panel.stickers());
}

/// A scanner that works until the first label is printed, then fails for good.
struct ScannerFailsAfter {
    inner: Box<dyn labelstation_scanner::Scanner>,
    printer: labelstation_sim::printer::VirtualPrinterHandle,
}

impl labelstation_scanner::Scanner for ScannerFailsAfter {
    fn source(&self) -> &str {
        self.inner.source()
    }
    fn state(&self) -> &labelstation_scanner::ScannerState {
        self.inner.state()
    }
    fn next_event(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<labelstation_scanner::ScannerEvent>, labelstation_scanner::ScannerError>
    {
        if self.printer.counts().printed > 0 {
            return Err(labelstation_scanner::ScannerError::Stopped {
                scanner: "test".into(),
            });
        }
        self.inner.next_event(timeout)
    }
}

#[test]
fn an_engine_error_mid_label_puts_the_code_in_review_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 4, 44);
    let Devices {
        printer,
        scanner,
        virtual_line,
    } = open_devices("sim:", "sim:", PrinterSimConfig::default(), never_scans()).unwrap();
    let vline = virtual_line.unwrap();
    let scanner = Box::new(ScannerFailsAfter {
        inner: scanner,
        printer: vline.printer.clone(),
    });
    let mut st = station_over(
        ledger,
        quick_line(),
        printer,
        scanner,
        Arc::new(|_: Event| {}),
    );
    let err = st.run(&gtin, Mode::Inline, 2).unwrap_err();
    assert!(matches!(err, EngineError::Scanner(_)), "{err}");
    // No restart: the printed code is in the review queue now, with the reason.
    let queue = st.ledger().review_queue(10).unwrap();
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!(queue[0].state, CodeState::NeedsReview);
    assert_eq!(queue[0].reason_key.as_deref(), Some("line-error"));
    assert_eq!(queue[0].reason_args[0], "PRINTED");
    assert!(
        queue[0].reason.as_deref().unwrap().contains("scanner"),
        "{queue:?}"
    );
    let b = states(&st);
    assert_eq!(
        (b["PRINTED"], b["AVAILABLE"]),
        (0, 3),
        "the label reserved ahead went back: {b:?}"
    );
    accounted(&st, &vline.printer.stickers());
}

#[test]
fn a_pool_held_after_a_restore_is_told_as_such_and_nothing_prints() {
    let dir = tempfile::tempdir().unwrap();
    let (mut ledger, gtin, _) = ledger_with_codes(dir.path(), 4, 7);
    let held = ledger
        .hold_after_restore(None, "restore of a test backup", &system())
        .unwrap();
    assert_eq!(held.held, 4);
    let (mut st, events, dev) = station(ledger, quick_worker(0.0), quick_line());
    let err = st.run(&gtin, Mode::Inline, 2).unwrap_err();
    assert!(
        matches!(&err, EngineError::PoolHeld { held: 4, .. }),
        "{err:?}"
    );
    assert_eq!(err.key(), "pool-held");
    assert!(
        err.to_string().contains("held after a ledger restore"),
        "{err}"
    );
    assert!(dev.printer.stickers().is_empty(), "nothing may print");
    let b = &st.ledger().balance().unwrap()[0].states;
    assert_eq!(b["AVAILABLE"], 4, "the held codes stay in the pool, held");
    drop(events);
}

#[test]
fn without_a_device_opener_only_the_label_changes_and_a_device_change_is_refused() {
    use labelstation_station::settings::LabelConfig;
    use labelstation_station::{DeviceChoice, SwitchError};
    let dir = tempfile::tempdir().unwrap();
    let (ledger, gtin, _) = ledger_with_codes(dir.path(), 6, 32);
    // Opened without `with_choice`: the station has no way to open other devices.
    let (mut st, _events, _vline) = station(ledger, quick_worker(0.0), quick_line());
    let pins = PinStore::new(dir.path());
    pins.set("2468").unwrap();
    let sup = pins.check("2468", "lead").unwrap();
    let running = st.device_choice();
    let other_printer = DeviceChoice {
        printer: "tcp://127.0.0.1:9".into(),
        ..running.clone()
    };
    let err = st.apply_settings(&sup, &other_printer).unwrap_err();
    assert!(matches!(err, SwitchError::NoOpener), "{err:?}");
    assert!(err.to_string().contains("restart"), "{err}");
    assert_eq!(st.device_choice(), running);
    // Another template needs no device: it applies, and the next label is the new size.
    let small = DeviceChoice {
        label: LabelConfig {
            template: "43x25".into(),
            dpi: 203,
        },
        ..running.clone()
    };
    let done = st.apply_settings(&sup, &small).unwrap();
    assert!(done.label && !done.printer && !done.scanner, "{done:?}");
    assert_eq!(st.run(&gtin, Mode::Inline, 1).unwrap().verified, 1);
    let last = String::from_utf8_lossy(sent_labels(&st).last().unwrap()).to_string();
    assert!(!last.contains("^PW464"), "still the 58 mm label: {last}");
}
