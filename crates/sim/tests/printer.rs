// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The virtual printer driven by the real Zebra driver over loopback TCP and a pseudo-terminal: jobs print
//! (full and stored formats), status answers follow its state, faults show as a real printer's would,
//! and every print is read back by the virtual scanner's image decoder.

use std::time::Duration;

use labelstation_codes::generate::{CodeGenerator, gtin_from_number};
use labelstation_printer::status::Problem;
use labelstation_printer::{JobOutcome, Printer, PrinterUri, ZebraPrinter, wait_until_done};
use labelstation_sim::printer::{PrinterSimConfig, VirtualPrinter, VirtualPrinterHandle};
use labelstation_sim::scanner::read_label;
use labelstation_zpl::template::{BuiltinTemplate, Template};
use labelstation_zpl::write::{LabelData, full_label, recall_label, stored_format};

struct Line {
    codes: CodeGenerator,
    gtin: labelstation_codes::Gtin,
    template: Template,
}

impl Line {
    fn new() -> Line {
        Line {
            codes: CodeGenerator::new(3).with_crypto_len(88),
            gtin: gtin_from_number(460_444_000_001),
            template: Template::builtin(BuiltinTemplate::Label58x40).unwrap(),
        }
    }
    /// A new code and its full-format ZPL (or its recall, when `stored`).
    fn job(&mut self, stored: bool) -> (String, String) {
        let code = self.codes.element_string(&self.gtin);
        let serial = code[18..31].to_owned();
        let gtin = self.gtin.to_string();
        let data = LabelData {
            code: &code,
            name: "Туфли женские",
            size: "38",
            gtin_text: &gtin,
            serial_text: &serial,
        };
        let zpl = if stored {
            recall_label(&self.template, &data)
        } else {
            full_label(&self.template, &data)
        }
        .unwrap();
        (code, zpl)
    }
}

fn done(p: &mut dyn Printer) -> JobOutcome {
    wait_until_done(p, Duration::from_secs(10), Duration::from_millis(10)).unwrap()
}

fn next_print(vp: &VirtualPrinter) -> labelstation_sim::printer::PrintedLabel {
    vp.printed()
        .recv_timeout(Duration::from_secs(10))
        .expect("a label came out")
}

#[test]
fn prints_over_tcp_and_reports_its_state() {
    let vp = VirtualPrinter::new(PrinterSimConfig {
        ips: Some(6.0),
        ..PrinterSimConfig::default()
    });
    let addr = vp.serve_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut p = ZebraPrinter::open(&PrinterUri::parse(&format!("tcp://{addr}")).unwrap()).unwrap();
    let mut line = Line::new();
    let id = p.identify().unwrap().unwrap();
    assert_eq!(id.dpi(), Some(203));

    // Full format, then the stored format and a recall: each prints exactly its code.
    let (code, zpl) = line.job(false);
    p.send(zpl.as_bytes()).unwrap();
    assert_eq!(done(&mut p), JobOutcome::Done);
    let read = read_label(&next_print(&vp).image).expect("readable");
    assert_eq!((read.aim, read.data.as_slice()), (*b"]d2", code.as_bytes()));
    p.send(stored_format(&line.template).as_bytes()).unwrap();
    let (code, zpl) = line.job(true);
    p.send(zpl.as_bytes()).unwrap();
    assert_eq!(done(&mut p), JobOutcome::Done);
    assert_eq!(
        read_label(&next_print(&vp).image).unwrap().data,
        code.as_bytes()
    );

    // Paper out: the printer goes silent to ~HS, ~HQES says why, nothing prints until it is fixed.
    for (set, expect) in [
        (
            VirtualPrinterHandle::set_paper_out as fn(&VirtualPrinterHandle, bool),
            Problem::PaperOut,
        ),
        (VirtualPrinterHandle::set_head_open, Problem::HeadOpen),
        (VirtualPrinterHandle::set_ribbon_out, Problem::RibbonOut),
        (VirtualPrinterHandle::set_paused, Problem::Paused),
    ] {
        set(&vp, true);
        let (code, zpl) = line.job(false);
        p.send(zpl.as_bytes()).unwrap();
        match done(&mut p) {
            JobOutcome::Blocked { problem, .. } => {
                assert_eq!(problem, expect);
                assert!(!problem.remedy().is_empty());
            }
            other => panic!("{expect:?}: {other:?}"),
        }
        assert!(
            vp.printed().try_recv().is_err(),
            "nothing prints while {expect:?}"
        );
        set(&vp, false);
        assert_eq!(done(&mut p), JobOutcome::Done);
        assert_eq!(
            read_label(&next_print(&vp).image).unwrap().data,
            code.as_bytes()
        );
    }
}

#[test]
fn print_faults_and_a_serial_link() {
    let vp = VirtualPrinter::new(PrinterSimConfig {
        baud: Some(115_200),
        ..PrinterSimConfig::default()
    });
    let path = vp.serve_pty().unwrap();
    let uri = PrinterUri::parse(&format!("serial://{}?baud=115200", path.display())).unwrap();
    let mut p = ZebraPrinter::open(&uri).unwrap();
    let mut line = Line::new();

    let (code, zpl) = line.job(false);
    p.send(zpl.as_bytes()).unwrap();
    assert_eq!(done(&mut p), JobOutcome::Done);
    assert_eq!(
        read_label(&next_print(&vp).image).unwrap().data,
        code.as_bytes()
    );

    // An unreadable print: a real decoder cannot read it.
    vp.set_faults(1.0, 0.0, 0.0);
    p.send(line.job(false).1.as_bytes()).unwrap();
    assert_eq!(done(&mut p), JobOutcome::Done);
    let bad = next_print(&vp);
    assert!(bad.damaged && read_label(&bad.image).is_none());
    // An error that clears by itself cuts a label short: under ^JZY (a label without ^JZN) the printer
    // prints it again, a second copy of the same code; under the station's ^JZN only the partial one.
    vp.set_faults(0.0, 0.0, 1.0);
    let (code, zpl) = line.job(false);
    p.send(zpl.replace("^JZN", "^JZY").as_bytes()).unwrap();
    assert_eq!(done(&mut p), JobOutcome::Done);
    let partial = next_print(&vp);
    assert!(partial.partial && partial.copy == 1);
    let again = next_print(&vp);
    assert!(!again.partial && again.copy == 2);
    for label in [partial, again] {
        assert_eq!(read_label(&label.image).unwrap().data, code.as_bytes());
    }
    let (code, zpl) = line.job(false);
    assert!(zpl.contains("^JZN"));
    p.send(zpl.as_bytes()).unwrap();
    assert_eq!(done(&mut p), JobOutcome::Done);
    let only = next_print(&vp);
    assert!(only.partial);
    assert_eq!(read_label(&only.image).unwrap().data, code.as_bytes());
    assert!(
        vp.printed()
            .recv_timeout(Duration::from_millis(300))
            .is_err(),
        "^JZN: no second copy"
    );
    // A dropped job: the printer says done, nothing comes out (the scan will time out).
    vp.set_faults(0.0, 1.0, 0.0);
    p.send(line.job(false).1.as_bytes()).unwrap();
    assert_eq!(done(&mut p), JobOutcome::Done);
    assert!(
        vp.printed()
            .recv_timeout(Duration::from_millis(300))
            .is_err()
    );
    let c = vp.counts();
    assert_eq!(
        (c.jobs, c.dropped, c.duplicated, c.damaged, c.interrupted),
        (5, 1, 1, 1, 2)
    );
    // Its own record of every sticker, copies included.
    assert_eq!(vp.stickers().len(), 5);
}

/// The GS1 element string a sticker's symbol carries, for comparing with the printer's record.
fn codes_of(vp: &VirtualPrinter) -> Vec<(String, u32, bool)> {
    vp.stickers()
        .into_iter()
        .map(|s| (s.code.unwrap_or_default(), s.copy, s.partial))
        .collect()
}

#[test]
fn a_label_cut_short_by_an_error_comes_out_again_under_jzy_and_not_under_jzn() {
    use labelstation_sim::printer::Interruption;
    let vp = VirtualPrinter::new(PrinterSimConfig::default());
    let addr = vp.serve_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut p = ZebraPrinter::open(&PrinterUri::parse(&format!("tcp://{addr}")).unwrap()).unwrap();
    let mut line = Line::new();

    // ^JZY, the firmware default: paper runs out as the label starts. A partial sticker comes out (its
    // symbol readable), the label stays in the buffer, and prints whole once paper is loaded.
    let (code, zpl) = line.job(false);
    vp.interrupt_next_label(Interruption::PaperOut);
    p.send(zpl.replace("^JZN", "").as_bytes()).unwrap();
    let partial = next_print(&vp);
    assert!(partial.partial);
    assert_eq!(read_label(&partial.image).unwrap().data, code.as_bytes());
    assert!(matches!(
        done(&mut p),
        JobOutcome::Blocked {
            problem: Problem::PaperOut,
            ..
        }
    ));
    assert_eq!(vp.buffered(), 1);
    vp.set_paper_out(false);
    assert_eq!(done(&mut p), JobOutcome::Done);
    let again = next_print(&vp);
    assert_eq!((again.copy, again.partial), (2, false));
    assert_eq!(read_label(&again.image).unwrap().data, code.as_bytes());
    assert_eq!(
        codes_of(&vp),
        vec![(code.clone(), 1, true), (code.clone(), 2, false)]
    );

    // ^JZN (the station's labels): the head opens mid-label; once closed nothing more comes out.
    let (code2, zpl) = line.job(false);
    assert!(zpl.contains("^JZN"));
    vp.interrupt_next_label(Interruption::HeadOpen);
    p.send(zpl.as_bytes()).unwrap();
    assert!(next_print(&vp).partial);
    assert!(matches!(
        done(&mut p),
        JobOutcome::Blocked {
            problem: Problem::HeadOpen,
            ..
        }
    ));
    assert_eq!(vp.buffered(), 0);
    vp.set_head_open(false);
    assert_eq!(done(&mut p), JobOutcome::Done);
    assert!(
        vp.printed()
            .recv_timeout(Duration::from_millis(300))
            .is_err()
    );
    assert_eq!(codes_of(&vp)[2..], [(code2.clone(), 1, true)]);

    // Firmware that ignores ^JZ reprints anyway.
    let vp = VirtualPrinter::new(PrinterSimConfig {
        ignore_jz: true,
        ..PrinterSimConfig::default()
    });
    let addr = vp.serve_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut p = ZebraPrinter::open(&PrinterUri::parse(&format!("tcp://{addr}")).unwrap()).unwrap();
    let (code3, zpl) = line.job(false);
    vp.interrupt_next_label(Interruption::RibbonOut);
    p.send(zpl.as_bytes()).unwrap();
    assert!(next_print(&vp).partial);
    vp.set_ribbon_out(false);
    assert_eq!(done(&mut p), JobOutcome::Done);
    assert_eq!(next_print(&vp).copy, 2);
    assert_eq!(
        codes_of(&vp),
        vec![(code3.clone(), 1, true), (code3, 2, false)]
    );
}

#[test]
fn a_held_label_prints_when_the_fault_clears_unless_cancel_all_came_first() {
    let vp = VirtualPrinter::new(PrinterSimConfig::default());
    let addr = vp.serve_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut p = ZebraPrinter::open(&PrinterUri::parse(&format!("tcp://{addr}")).unwrap()).unwrap();
    let mut line = Line::new();
    for (set, name) in [
        (
            VirtualPrinterHandle::set_paper_out as fn(&VirtualPrinterHandle, bool),
            "paper out",
        ),
        (VirtualPrinterHandle::set_paused, "paused"),
        (VirtualPrinterHandle::set_head_open, "head open"),
    ] {
        // Held, then printed when the fault clears.
        set(&vp, true);
        let (code, zpl) = line.job(false);
        p.send(zpl.as_bytes()).unwrap();
        assert!(matches!(done(&mut p), JobOutcome::Blocked { .. }), "{name}");
        assert_eq!(vp.buffered(), 1, "{name}");
        set(&vp, false);
        assert_eq!(done(&mut p), JobOutcome::Done, "{name}");
        assert_eq!(
            read_label(&next_print(&vp).image).unwrap().data,
            code.as_bytes()
        );
        // Held, then cancelled (~JA): nothing comes out when the fault clears.
        set(&vp, true);
        p.send(line.job(false).1.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(vp.buffered(), 1, "{name}");
        p.send(b"~JA").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(vp.buffered(), 0, "{name}");
        set(&vp, false);
        assert_eq!(done(&mut p), JobOutcome::Done, "{name}");
        assert!(
            vp.printed()
                .recv_timeout(Duration::from_millis(300))
                .is_err(),
            "{name}: a cancelled label came out"
        );
    }
    assert_eq!(vp.counts().cancelled, 3);
    assert_eq!(vp.stickers().len(), 3);

    // ~JA lets the label under the head finish, and drops the rest.
    let vp = VirtualPrinter::new(PrinterSimConfig {
        ips: Some(1.0),
        ..PrinterSimConfig::default()
    });
    let addr = vp.serve_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut p = ZebraPrinter::open(&PrinterUri::parse(&format!("tcp://{addr}")).unwrap()).unwrap();
    let (code, first) = line.job(false);
    p.send(first.as_bytes()).unwrap();
    p.send(line.job(false).1.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    p.send(b"~JA").unwrap();
    assert_eq!(done(&mut p), JobOutcome::Done);
    assert_eq!(
        read_label(&next_print(&vp).image).unwrap().data,
        code.as_bytes()
    );
    assert_eq!((vp.stickers().len(), vp.counts().cancelled), (1, 1));
}

#[test]
fn a_link_that_goes_down_closes_and_the_driver_reopens_it_when_it_is_back() {
    use labelstation_printer::{LinkState, Reconnect};
    let vp = VirtualPrinter::new(PrinterSimConfig::default());
    let addr = vp.serve_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut p = ZebraPrinter::open(&PrinterUri::parse(&format!("tcp://{addr}")).unwrap()).unwrap();
    let mut line = Line::new();
    vp.set_paper_out(true);
    let (code, zpl) = line.job(false);
    p.send(zpl.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    // The cable is pulled: the connection closes, and a new one is dropped at once.
    vp.set_link_down(true);
    std::thread::sleep(Duration::from_millis(150));
    assert!(p.probe().unwrap_err().is_disconnect());
    assert!(matches!(p.link(), LinkState::Lost { .. }));
    assert_eq!(p.reconnect().unwrap(), Reconnect::Reopened);
    let err = p.host_status().unwrap_err();
    assert!(err.is_disconnect(), "{err}");
    assert!(matches!(p.reconnect().unwrap(), Reconnect::NotYet { .. }));
    // Back: the printer kept the label it held, and prints it when paper is loaded.
    vp.set_link_down(false);
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while p.reconnect().is_err() || !matches!(p.link(), LinkState::Up) {
        assert!(
            std::time::Instant::now() < until,
            "the link never came back"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    vp.set_paper_out(false);
    assert_eq!(done(&mut p), JobOutcome::Done);
    assert_eq!(
        read_label(&next_print(&vp).image).unwrap().data,
        code.as_bytes()
    );
}

#[test]
fn sim_uri_opens_an_in_process_virtual_printer_through_the_real_driver() {
    let (mut p, vp) =
        labelstation_sim::printer::open_printer(&PrinterUri::Sim, PrinterSimConfig::default())
            .unwrap();
    let vp = vp.expect("sim: returns the virtual printer");
    let mut line = Line::new();
    let (code, zpl) = line.job(false);
    p.send(zpl.as_bytes()).unwrap();
    assert_eq!(done(&mut p), JobOutcome::Done);
    assert_eq!(
        read_label(&next_print(&vp).image).unwrap().data,
        code.as_bytes()
    );
    assert!(p.describe().contains("127.0.0.1"), "{}", p.describe());
}

/// Wait (without a time limit that decides anything) until `what` holds of the printer.
fn until(vp: &VirtualPrinter, what: impl Fn(&VirtualPrinter) -> bool) {
    for _ in 0..2000 {
        if what(vp) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the printer never got there");
}

fn host(p: &mut ZebraPrinter) -> labelstation_printer::status::StatusReply {
    p.host_status().unwrap()
}

#[test]
fn a_full_receive_buffer_holds_a_fast_sender_back() {
    use std::io::Write;
    let mut line = Line::new();
    let jobs: Vec<(String, String)> = (0..8).map(|_| line.job(false)).collect();
    let len = jobs[0].1.len();
    // Room for two labels waiting behind the one under the head.
    let vp = VirtualPrinter::new(PrinterSimConfig {
        ips: Some(12.0),
        buffer_bytes: 2 * len + len / 2,
        ..PrinterSimConfig::default()
    });
    let addr = vp.serve_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
    // The whole roll in one write, as fast as the link takes it.
    let mut raw = std::net::TcpStream::connect(addr).unwrap();
    let roll: String = jobs.iter().map(|(_, zpl)| zpl.as_str()).collect();
    raw.write_all(roll.as_bytes()).unwrap();
    until(&vp, |vp| vp.stickers().len() == jobs.len());
    let c = vp.counts();
    assert!(c.buffer_full > 0, "the buffer never filled: {c:?}");
    assert!(
        (2..=3).contains(&c.most_buffered),
        "the buffer held {} labels at once",
        c.most_buffered
    );
    // Everything came out once, in order.
    let printed: Vec<String> = vp.stickers().into_iter().filter_map(|s| s.code).collect();
    let sent: Vec<String> = jobs.into_iter().map(|(code, _)| code).collect();
    assert_eq!(printed, sent);
}

#[test]
fn host_status_counts_what_the_buffer_holds_and_faults_strike_mid_roll() {
    use labelstation_printer::status::StatusReply;
    use labelstation_sim::printer::{Fault, Interruption};
    let mut line = Line::new();
    let vp = VirtualPrinter::new(PrinterSimConfig {
        ips: Some(2.0),
        ..PrinterSimConfig::default()
    });
    let addr = vp.serve_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut p = ZebraPrinter::open(&PrinterUri::parse(&format!("tcp://{addr}")).unwrap()).unwrap();
    // Paper runs out as the second label of four starts.
    vp.fault_at_label(2, Fault::Interrupt(Interruption::PaperOut));
    let jobs: Vec<(String, String)> = (0..4).map(|_| line.job(false)).collect();
    for (_, zpl) in &jobs {
        p.send(zpl.as_bytes()).unwrap();
    }
    // While the first prints: one label under the head, three formats behind it.
    until(&vp, |vp| vp.counts().jobs == 4);
    loop {
        match host(&mut p) {
            StatusReply::Host(s) if s.labels_remaining == 0 => assert_eq!(s.formats_in_buffer, 4),
            StatusReply::Host(s) => {
                assert_eq!((s.labels_remaining, s.formats_in_buffer), (1, 3), "{s:?}");
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    until(&vp, |vp| vp.stickers().len() == 2);
    // Silent while the paper is out; the two behind the cut label wait (it carries ^JZN: it is not
    // printed again).
    assert!(matches!(host(&mut p), StatusReply::NoReply));
    assert_eq!(vp.buffered(), 2);
    vp.set_paper_out(false);
    match host(&mut p) {
        StatusReply::Host(s) => assert_eq!(s.labels_remaining + s.formats_in_buffer, 2, "{s:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(done(&mut p), JobOutcome::Done);
    let code = |i: usize| jobs[i].0.clone();
    assert_eq!(
        codes_of(&vp),
        vec![
            (code(0), 1, false),
            (code(1), 1, true),
            (code(2), 1, false),
            (code(3), 1, false),
        ]
    );

    // The link goes away as the second label of three starts: the printer prints what it holds.
    let vp = VirtualPrinter::new(PrinterSimConfig {
        ips: Some(6.0),
        ..PrinterSimConfig::default()
    });
    let addr = vp.serve_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut p = ZebraPrinter::open(&PrinterUri::parse(&format!("tcp://{addr}")).unwrap()).unwrap();
    vp.fault_at_label(2, Fault::LinkDown);
    for _ in 0..3 {
        p.send(line.job(false).1.as_bytes()).unwrap();
    }
    until(&vp, |vp| vp.stickers().len() == 3);
    assert!(vp.link_is_down());
    assert!(p.host_status().is_err(), "a closed link answers nothing");
}

#[test]
fn the_odometer_counts_what_came_out_and_a_lost_label_only_there() {
    use labelstation_sim::printer::{DEFAULT_ODOMETER, Fault, Interruption};
    let vp = VirtualPrinter::new(PrinterSimConfig::default());
    let addr = vp.serve_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut p = ZebraPrinter::open(&PrinterUri::parse(&format!("tcp://{addr}")).unwrap()).unwrap();
    let mut line = Line::new();
    assert_eq!(p.odometer().unwrap(), Some(DEFAULT_ODOMETER));

    // A label cut short under ^JZY comes out twice: the odometer counts both stickers.
    let (_, zpl) = line.job(false);
    vp.interrupt_next_label(Interruption::PaperOut);
    p.send(zpl.replace("^JZN", "").as_bytes()).unwrap();
    assert!(next_print(&vp).partial);
    vp.set_paper_out(false);
    assert_eq!(done(&mut p), JobOutcome::Done);
    assert!(!next_print(&vp).partial);
    assert_eq!(p.odometer().unwrap(), Some(DEFAULT_ODOMETER + 2));

    // The next label is lost inside the printer: `~HS` says it is done, nothing came out, and the
    // odometer did not move.
    vp.fault_at_label(2, Fault::Lost);
    let (_, zpl) = line.job(false);
    p.send(zpl.as_bytes()).unwrap();
    assert_eq!(done(&mut p), JobOutcome::Done);
    assert!(
        vp.printed()
            .recv_timeout(Duration::from_millis(300))
            .is_err()
    );
    assert_eq!(vp.stickers().len(), 2);
    assert_eq!(p.odometer().unwrap(), Some(DEFAULT_ODOMETER + 2));
    assert_eq!(vp.odometer(), Some(DEFAULT_ODOMETER + 2));

    // Firmware without an odometer answers "?": the driver says there is none.
    let old = VirtualPrinter::new(PrinterSimConfig {
        odometer: None,
        ..PrinterSimConfig::default()
    });
    let addr = old.serve_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut p = ZebraPrinter::open(&PrinterUri::parse(&format!("tcp://{addr}")).unwrap()).unwrap();
    assert_eq!(p.odometer().unwrap(), None);
    // And the link is fine for the next query.
    assert!(matches!(
        p.host_status().unwrap(),
        labelstation_printer::status::StatusReply::Host(_)
    ));
}

#[test]
fn a_gs1_128_barcode_renders_and_reads_as_c1_with_gs_separators() {
    use labelstation_sim::scanner::read_gs1_128;
    use labelstation_zpl::interpret::Interpreter;
    use labelstation_zpl::render::render;
    // FNC1, AI 00 and an SSCC in subset C; then, after a second FNC1, AI 10 (a lot) in subset B: the
    // separator comes out as GS.
    let zpl =
        "^XA^PW1000^LL400^FO60,40^BY2^BCN,200,N,N,N,N^FD>;>800376104250021234569>8>610AB-12^FS^XZ";
    let job = Interpreter::new().read(zpl.as_bytes()).unwrap();
    let label = job.labels().next().unwrap();
    let c = label.code128s().next().unwrap();
    assert_eq!(
        c.gs1_element_string().unwrap(),
        b"00376104250021234569\x1d10AB-12".to_vec()
    );
    let read = read_gs1_128(&render(label).unwrap()).expect("the barcode reads");
    assert_eq!(&read.aim, b"]C1");
    assert_eq!(read.data, b"00376104250021234569\x1d10AB-12".to_vec());
    // Without FNC1 first it is plain Code 128: no ]C1.
    let zpl = "^XA^PW800^LL400^FO60,40^BY3^BCN,200,Y,N,N,A^FDBOX 12^FS^XZ";
    let job = Interpreter::new().read(zpl.as_bytes()).unwrap();
    let label = job.labels().next().unwrap();
    let read = read_gs1_128(&render(label).unwrap()).expect("the barcode reads");
    assert_eq!(
        (&read.aim, read.data.as_slice()),
        (b"]C0", b"BOX 12".as_slice())
    );
}
