// SPDX-License-Identifier: GPL-3.0-or-later
#![cfg(feature = "ui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every page rendered to PNG with the software renderer (no display), at 1024×600 and 1280×800, in the
//! three languages. With `UPDATE_SCREENSHOTS=1` the PNGs go to docs/screenshots/ (shown in the README);
//! otherwise to a temporary directory, checked only for being drawn. One #[test]: one platform per process.

#[path = "support/ui.rs"]
mod ui;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::mpsc::channel;
use std::time::Duration;

use labelstation::codes::generate::{CodeGenerator, gtin_from_number};
use labelstation::engine::{
    Counters, Event, LabelPhase, LineState, LinkStatus, LinkView, PoolView, PrinterState,
    PrinterView, ProductView, ScannerView, Severity,
};
use labelstation::ledger::{CodeId, CodeState};
use labelstation::ui::{
    AppWindow, AuditRow, Lang, Page, PrintRow, ReviewAdapter, ReviewRowData, SettingsAdapter, Ui,
    UiContext,
};
use labelstation::verdict::{MismatchKind, ScanVerdict};
use labelstation_zpl::template::{BuiltinTemplate, Template};
use labelstation_zpl::write::LabelData;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType, Rgb565Pixel};
use slint::platform::{Platform, PlatformError, WindowAdapter};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

struct Headless {
    window: Rc<MinimalSoftwareWindow>,
}

impl Platform for Headless {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        Ok(self.window.clone())
    }
    fn duration_since_start(&self) -> Duration {
        Duration::ZERO
    }
}

fn shoot(window: &MinimalSoftwareWindow, out: &Path, name: &str, (w, h): (u32, u32)) {
    window.set_size(slint::PhysicalSize::new(w, h));
    let mut buf = vec![Rgb565Pixel::default(); (w * h) as usize];
    window.request_redraw();
    let drawn = RefCell::new(false);
    window.draw_if_needed(|r| {
        r.render(&mut buf, w as usize);
        *drawn.borrow_mut() = true;
    });
    assert!(*drawn.borrow(), "{name}: nothing drawn");
    let rgb: Vec<u8> = buf
        .iter()
        .flat_map(|p| {
            let v = p.0;
            let r = ((v >> 11) & 0x1f) as u8;
            let g = ((v >> 5) & 0x3f) as u8;
            let b = (v & 0x1f) as u8;
            [
                (r << 3) | (r >> 2),
                (g << 2) | (g >> 4),
                (b << 3) | (b >> 2),
            ]
        })
        .collect();
    // Not blank: a page has many colours.
    let distinct: std::collections::HashSet<_> = rgb.chunks(3).take(200_000).collect();
    assert!(distinct.len() > 8, "{name}: looks blank");
    let path = out.join(format!("{name}-{w}x{h}.png"));
    let file = std::fs::File::create(&path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(&rgb).unwrap();
}

/// A masked code as the ledger shows it: GTIN and serial, the crypto tail starred.
fn masked(seed: u64) -> String {
    CodeGenerator::new(seed)
        .code(&gtin_from_number(460_700_000_001))
        .masked()
}

fn label(gtin_n: u64) -> slint::Image {
    let gtin = gtin_from_number(460_700_000_000 + gtin_n);
    let code = CodeGenerator::new(5).code(&gtin);
    let gtin_text = gtin.to_string();
    let bitmap = labelstation_zpl::preview(
        &Template::builtin(BuiltinTemplate::Label58x40).unwrap(),
        &LabelData {
            code: code.as_str(),
            name: "Ботинки мужские",
            size: "42",
            gtin_text: &gtin_text,
            serial_text: code.serial(),
        },
    )
    .unwrap();
    labelstation::ui::image(&bitmap)
}

#[test]
fn every_page_at_both_sizes() {
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(Headless {
        window: window.clone(),
    }))
    .unwrap();
    let out: PathBuf = if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
    } else {
        std::env::temp_dir().join(format!("labelstation-shots-{}", std::process::id()))
    };
    std::fs::create_dir_all(&out).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (paths, config) = ui::demo_dir(dir.path(), false);
    let (commands, _engine_inbox) = channel();
    let (events, inbox) = channel();
    let ui = Ui::new(
        commands,
        inbox,
        UiContext {
            data_dir: dir.path().to_path_buf(),
            config,
            config_file: Some(paths.config_file.clone()),
            demo_hint: None,
            registry_test: None,
            language: Some("en".into()),
        },
    )
    .unwrap();
    let app: &AppWindow = &ui.app;
    app.show().unwrap();
    let gtin = gtin_from_number(460_700_000_001).to_string();
    let send = |e: Event| events.send(e).unwrap();
    send(Event::Product {
        product: Some(ProductView {
            gtin: gtin.clone(),
            name: "Ботинки мужские".into(),
            size: Some("42".into()),
            available: 287,
        }),
    });
    send(Event::Printer {
        printer: PrinterView {
            device: "tcp://192.168.1.40:9100".into(),
            state: PrinterState::Ready,
            detail: None,
            remedy: None,
            key: None,
            args: Vec::new(),
        },
    });
    send(Event::Scanner {
        scanner: ScannerView {
            device: "serial:/dev/ttyACM0".into(),
            connected: true,
            detail: "connected".into(),
        },
    });
    send(Event::Link {
        link: LinkView {
            state: LinkStatus::Up,
            backlog: 3,
            last_success_ms: Some(labelstation::ledger::now_ms()),
            last_error: None,
        },
    });
    send(Event::Pool {
        pool: vec![
            PoolView {
                gtin: gtin.clone(),
                available: 287,
                low: false,
                expiring: 0,
            },
            PoolView {
                gtin: gtin_from_number(460_700_000_003).to_string(),
                available: 12,
                low: true,
                expiring: 12,
            },
        ],
    });
    send(Event::Counters {
        counters: Counters {
            sent: 13,
            printed: 13,
            verified: 12,
            rejected: 1,
            ..Counters::default()
        },
    });
    send(Event::Label {
        code: CodeId(13),
        masked: masked(5),
        phase: LabelPhase::Printed,
        preview: None,
    });
    send(Event::Verdict {
        verdict: ScanVerdict::Match { code: CodeId(13) },
        message: "OK: sticker matches its code".into(),
        severity: Severity::Ok,
    });
    send(Event::Line {
        line: LineState::Idle,
    });
    assert!(ui.pump(Duration::from_secs(10), |a| {
        a.global::<labelstation::ui::LineAdapter>()
            .get_verdict_kind()
            == "match"
    }));
    // Let the reader's answers (product list, empty review queue) land too.
    ui.pump(Duration::from_millis(500), |_| false);
    let line = app.global::<labelstation::ui::LineAdapter>();
    line.set_preview(label(1));
    line.set_has_preview(true);
    line.set_preview_code(masked(5).into());
    line.set_count(10);

    let sizes = [(1024, 600), (1280, 800)];
    let lang = |l: &str| app.global::<Lang>().invoke_select(l.into());
    for size in sizes {
        lang("en");
        app.set_page(Page::Work);
        shoot(&window, &out, "operator-en", size);
    }

    // The product chooser with its on-screen keyboard (Kazakh letters when the screen speaks Kazakh).
    line.set_choosing_product(true);
    ui.pump(Duration::from_millis(200), |_| false);
    i_slint_backend_testing::ElementHandle::find_by_element_id(
        app,
        "ProductChooser::keyboard-toggle",
    )
    .next()
    .expect("the keyboard button")
    .invoke_accessible_default_action();
    for size in sizes {
        lang("kk");
        app.set_page(Page::Work);
        shoot(&window, &out, "products-keyboard-kk", size);
    }
    line.set_choosing_product(false);

    // A bad sticker and a printer out of paper, in Russian.
    send(Event::Verdict {
        verdict: ScanVerdict::Mismatch {
            expected: Some(CodeId(14)),
            scanned: masked(6),
            kind: MismatchKind::OurOther {
                code: CodeId(2),
                state: CodeState::Printed,
            },
        },
        message: "Wrong sticker".into(),
        severity: Severity::Alert,
    });
    send(Event::Printer {
        printer: PrinterView {
            device: "tcp://192.168.1.40:9100".into(),
            state: PrinterState::Problem,
            detail: Some("Paper out".into()),
            remedy: Some("Load a new roll of labels and press FEED".into()),
            key: Some("paper-out"),
            args: Vec::new(),
        },
    });
    send(Event::Line {
        line: LineState::Paused {
            reason: "Paper out".into(),
            remedy: "Load a new roll of labels and press FEED".into(),
            key: "paper-out",
            args: Vec::new(),
        },
    });
    ui.pump(Duration::from_millis(300), |_| false);
    for size in sizes {
        lang("ru");
        app.set_page(Page::Work);
        shoot(&window, &out, "operator-alert-ru", size);
    }
    send(Event::Printer {
        printer: PrinterView {
            device: "tcp://192.168.1.40:9100".into(),
            state: PrinterState::Ready,
            detail: None,
            remedy: None,
            key: None,
            args: Vec::new(),
        },
    });
    send(Event::Line {
        line: LineState::Idle,
    });
    ui.pump(Duration::from_millis(300), |_| false);

    // The PIN pad, in Kazakh.
    for size in sizes {
        lang("kk");
        app.set_page(Page::Supervisor);
        shoot(&window, &out, "pin-kk", size);
    }

    // The review queue (signed in), in Russian.
    let review = app.global::<ReviewAdapter>();
    review.set_active(true);
    review.set_supervisor_name("supervisor".into());
    let rows: Vec<ReviewRowData> = [
        (
            6,
            "the worker reported the sticker unreadable",
            "worker-unreadable",
            vec![],
            "10:42",
        ),
        (
            7,
            "Not counted: separators missing",
            "rescans-failed",
            vec!["separators"],
            "10:57",
        ),
        (
            8,
            "printer error while printing: Paper out",
            "printer-error",
            vec!["paper-out", "", "Paper out"],
            "11:13",
        ),
        (
            9,
            "code not in received state",
            "registry-refused",
            vec!["code not in received state"],
            "11:20",
        ),
    ]
    .iter()
    .enumerate()
    .map(|(i, (s, r, k, a, t))| ReviewRowData {
        id: i as i32 + 1,
        masked: masked(*s).into(),
        reason: (*r).into(),
        reason_key: (*k).into(),
        reason_args: ModelRc::new(VecModel::from(
            a.iter().map(|x| SharedString::from(*x)).collect::<Vec<_>>(),
        )),
        time: format!("24.11 {t}").into(),
        actor: "station-1:screen".into(),
        // The last one was verified, then refused by the registry: it is never reprinted.
        state: if *s == 9 { "NEEDS_REVIEW" } else { "REJECTED" }.into(),
        verified: *s == 9,
        sends: 1,
        prints: ModelRc::new(VecModel::from(
            ["sent", "printed", "rejected"]
                .iter()
                .take(if *s == 9 { 2 } else { 3 })
                .map(|step| PrintRow {
                    step: (*step).into(),
                    time: format!("24.11 {t}").into(),
                    job: 40 + *s as i32,
                })
                .collect::<Vec<_>>(),
        )),
    })
    .collect();
    review.set_review_count(rows.len() as i32);
    review.set_queue(ModelRc::new(VecModel::from(rows)));
    review.set_selected(0);
    review.set_selected_image(label(1));
    review.set_has_selected_image(true);
    review.set_audit(ModelRc::new(VecModel::from(vec![AuditRow {
        time: "24.11 11:13".into(),
        actor: "supervisor".into(),
        action: "code.write_off".into(),
        subject: masked(8).into(),
    }])));
    for size in sizes {
        lang("ru");
        app.set_page(Page::Supervisor);
        shoot(&window, &out, "review-ru", size);
    }
    // A verified code the registry refused: no Reprint, no Confirm; "Send the application again".
    review.set_selected(3);
    for size in sizes {
        lang("en");
        app.set_page(Page::Supervisor);
        shoot(&window, &out, "review-verified-en", size);
    }

    // Settings, in English.
    let settings = app.global::<SettingsAdapter>();
    let choices = |v: &[(&str, &str)]| {
        ModelRc::new(VecModel::from(
            v.iter()
                .map(|(k, l)| labelstation::ui::Choice {
                    key: (*k).into(),
                    label: (*l).into(),
                })
                .collect::<Vec<_>>(),
        ))
    };
    settings.set_printers(choices(&[
        (
            "serial:/dev/serial/by-id/usb-Zebra_ZD421-if00",
            "Zebra ZD421 (USB serial)",
        ),
        ("tcp://192.168.1.40:9100", "Zebra ZT231 (network)"),
    ]));
    settings.set_printer_uri("tcp://192.168.1.40:9100".into());
    settings.set_scanners(choices(&[(
        "serial:/dev/serial/by-id/usb-Honeywell_1950g-if00",
        "Honeywell 1950g (USB-COM)",
    )]));
    settings.set_scanner_uri("serial:/dev/serial/by-id/usb-Honeywell_1950g-if00".into());
    settings.set_scan_test_result(format!("Marking code {}", masked(6)).into());
    settings.set_registry_test_result("Registry: connected (sim)".into());
    for size in sizes {
        lang("en");
        app.set_page(Page::Settings);
        shoot(&window, &out, "settings-en", size);
    }
}
