// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The virtual printer driven by the real Zebra driver over loopback TCP and a pseudo-terminal: jobs print
//! (full and stored formats), status answers follow its state, faults show as a real printer's would,
//! and every print is read back by the virtual scanner's image decoder.

use std::time::Duration;

use labelstation::codes::generate::{CodeGenerator, gtin_from_number};
use labelstation::virtual_printer::{PrinterSimConfig, VirtualPrinter, VirtualPrinterHandle};
use labelstation::virtual_scanner::read_label;
use labelstation_printer::status::Problem;
use labelstation_printer::{JobOutcome, Printer, PrinterUri, ZebraPrinter, wait_until_done};
use labelstation_zpl::template::{BuiltinTemplate, Template};
use labelstation_zpl::write::{LabelData, full_label, recall_label, stored_format};

struct Line {
    codes: CodeGenerator,
    gtin: labelstation::codes::Gtin,
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

fn next_print(vp: &VirtualPrinter) -> labelstation::virtual_printer::PrintedLabel {
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
    // A second copy of the same label (the reprint after an error).
    vp.set_faults(0.0, 0.0, 1.0);
    let (code, zpl) = line.job(false);
    p.send(zpl.as_bytes()).unwrap();
    assert_eq!(done(&mut p), JobOutcome::Done);
    for _ in 0..2 {
        assert_eq!(
            read_label(&next_print(&vp).image).unwrap().data,
            code.as_bytes()
        );
    }
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
    assert_eq!((c.jobs, c.dropped, c.duplicated, c.damaged), (4, 1, 1, 1));
}

#[test]
fn sim_uri_opens_an_in_process_virtual_printer_through_the_real_driver() {
    let (mut p, vp) =
        labelstation::virtual_printer::open_printer(&PrinterUri::Sim, PrinterSimConfig::default())
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
