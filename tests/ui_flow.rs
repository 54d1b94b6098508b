// SPDX-License-Identifier: GPL-3.0-or-later
#![cfg(feature = "ui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The touchscreen driven headless (Slint's testing backend, no display) against a real engine on the
//! virtual line: print → MATCH; a sticker reported unreadable → rejected; the supervisor's PIN (a wrong
//! one refused, the right one opens the review); a write-off empties the queue; the language switch.
//! The engine's own sentences too: a notice, a rejection reason read back from the ledger, a printer
//! out of paper and the line it pauses, in Russian and in English.
//! One #[test]: the testing backend is once per process.

#[path = "support/ui.rs"]
mod ui;

use std::time::Duration;

use i_slint_backend_testing::ElementHandle;
use labelstation::compose::Overrides;
use labelstation::ui::demo::StationUi;
use labelstation::ui::{
    AppWindow, DevicesAdapter, LineAdapter, LineKind, PinErrorKind, ReviewAdapter, SettingsAdapter,
    Ui,
};
use slint::{ComponentHandle, Model};
use ui::{label_of, pin, press};

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn print_review_and_language() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let (paths, config) = ui::demo_dir(dir.path(), true);
    // No faults; the worker takes a moment, so the test can report a sticker unreadable in time.
    let overrides = Overrides {
        printer: Some("sim:".into()),
        scanner: Some("sim:".into()),
        fault_rate: Some(0.0),
        apply_time: Some(Duration::from_millis(1500)),
        ..Overrides::default()
    };
    let (engine, events, mut ctx, guard) = StationUi::open(&paths, &config, &overrides, None)
        .unwrap()
        .into_parts();
    ctx.language = Some("en".into());
    let ui = Ui::new(engine.commands(), events, ctx).unwrap();
    let app = &ui.app;
    app.window().set_size(slint::PhysicalSize::new(1024, 600));

    // Choose the first product from the list.
    press(app, "OperatorPage::change-product");
    assert!(ui.pump(
        WAIT,
        |a| a.global::<LineAdapter>().get_products().row_count() == 3
    ));
    // Search with the on-screen keyboard (no keyboard at the station): "КР" finds only the trainers,
    // Delete leaves "К" (in all three names), Clear shows all.
    press(app, "ProductChooser::keyboard-toggle");
    let key = |label: &str| {
        ElementHandle::find_by_accessible_label(app, label)
            .next()
            .unwrap_or_else(|| panic!("no key {label} on screen"))
            .invoke_accessible_default_action();
    };
    let shown = |a: &AppWindow| a.global::<LineAdapter>().get_products().row_count();
    key("К");
    key("Р");
    assert_eq!(app.global::<LineAdapter>().get_product_filter(), "КР");
    assert_eq!(shown(app), 1);
    key("Delete");
    assert_eq!(app.global::<LineAdapter>().get_product_filter(), "К");
    assert_eq!(shown(app), 3);
    key("Б");
    assert_eq!(shown(app), 0);
    key("Clear");
    assert_eq!(shown(app), 3);
    press(app, "ProductChooser::keyboard-toggle");
    press(app, "ProductChooser::product-row");
    assert!(ui.pump(WAIT, |a| a.global::<LineAdapter>().get_has_product()));
    assert_eq!(
        label_of(app, "OperatorPage::product-name"),
        "Ботинки мужские"
    );

    // Print one: the banner says MATCH and the preview shows the label.
    press(app, "OperatorPage::print-button");
    assert!(
        ui.pump(WAIT, |a| a.global::<LineAdapter>().get_verdict_kind()
            == "match"),
        "no MATCH: {}",
        app.global::<LineAdapter>().get_verdict_message()
    );
    assert!(label_of(app, "VerdictBanner::title").starts_with("MATCH"));
    assert!(app.global::<LineAdapter>().get_has_preview());
    assert!(
        !app.global::<LineAdapter>()
            .get_preview_code()
            .contains('\u{1d}')
    );

    // The run's notice comes with its key: English, then Russian, from the same event.
    assert!(ui.pump(WAIT, |a| a.global::<LineAdapter>().get_notice_key()
        == "run-finished"));
    assert_eq!(
        label_of(app, "OperatorPage::notice"),
        "Run finished: printed 1, good 1, rejected 0, waiting for a scan 0"
    );
    press(app, "AppWindow::lang-ru");
    assert_eq!(
        label_of(app, "OperatorPage::notice"),
        "Готово: напечатано 1, годных 1, отклонено 0, ждут скана 0"
    );
    press(app, "AppWindow::lang-en");

    // Print one more and report it unreadable before the worker scans it: rejected, queued for review.
    assert!(ui.pump(WAIT, |a| a.global::<LineAdapter>().get_line_kind()
        == LineKind::Idle));
    press(app, "OperatorPage::print-button");
    assert!(ui.pump(WAIT, |a| a.global::<LineAdapter>().get_line_kind()
        == LineKind::AwaitingScan));
    press(app, "OperatorPage::unreadable");
    assert!(
        ui.pump(WAIT, |a| a.global::<LineAdapter>().get_waiting_review()
            == 1)
    );
    assert!(ui.pump(WAIT, |a| a.global::<LineAdapter>().get_line_kind()
        == LineKind::Idle));

    // The supervisor page asks for the PIN; a wrong one is refused.
    press(app, "AppWindow::supervisor-tab");
    pin(app, "9999");
    assert!(
        ui.pump(WAIT, |a| a.global::<ReviewAdapter>().get_pin_error_kind()
            == PinErrorKind::Wrong)
    );
    assert!(!app.global::<ReviewAdapter>().get_active());
    pin(app, "4821");
    assert!(ui.pump(WAIT, |a| a.global::<ReviewAdapter>().get_active()));
    assert!(ui.pump(
        WAIT,
        |a| a.global::<ReviewAdapter>().get_queue().row_count() == 1
    ));
    let row = app
        .global::<ReviewAdapter>()
        .get_queue()
        .row_data(0)
        .unwrap();
    assert!(row.reason.contains("unreadable"), "{}", row.reason);
    assert_eq!(row.reason_key, "worker-unreadable");
    assert!(
        row.masked.contains("****") && !row.masked.contains('\u{1d}'),
        "masked code only: {}",
        row.masked
    );

    // Select it (its label image loads), write it off: the queue empties.
    press(app, "SupervisorPage::review-row");
    assert!(ui.pump(WAIT, |a| {
        a.global::<ReviewAdapter>().get_has_selected_image()
    }));
    // Its reason, read back from the ledger, in the supervisor's language.
    assert_eq!(
        label_of(app, "SupervisorPage::current-reason"),
        "The worker reported the sticker unreadable"
    );
    press(app, "AppWindow::lang-ru");
    assert_eq!(
        label_of(app, "SupervisorPage::current-reason"),
        "Работник отметил стикер как нечитаемый"
    );
    press(app, "AppWindow::lang-en");
    press(app, "SupervisorPage::write-off");
    press(app, "WriteOffChooser::reason");
    assert!(ui.pump(
        WAIT,
        |a| a.global::<ReviewAdapter>().get_queue().row_count() == 0
    ));
    assert!(
        ui.pump(WAIT, |a| a.global::<LineAdapter>().get_waiting_review()
            == 0)
    );

    // Language: the Print button speaks Russian, then Kazakh, and the choice is remembered.
    press(app, "AppWindow::work-tab");
    assert_eq!(label_of(app, "OperatorPage::print-button"), "PRINT");
    press(app, "AppWindow::lang-ru");
    assert_eq!(label_of(app, "OperatorPage::print-button"), "ПЕЧАТЬ");
    press(app, "AppWindow::lang-kk");
    assert_eq!(label_of(app, "OperatorPage::print-button"), "БАСЫП ШЫҒАРУ");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ui-language")).unwrap(),
        "kk"
    );

    // The printer runs out of paper: the red bar says so in Russian, and in English.
    press(app, "AppWindow::lang-ru");
    let panel = guard.printer().expect("the virtual printer").clone();
    panel.set_paper_out(true);
    assert!(
        ui.pump(WAIT, |a| a.global::<DevicesAdapter>().get_printer_key()
            == "paper-out")
    );
    assert_eq!(
        label_of(app, "AppWindow::printer-alert"),
        "Принтер: Закончились этикетки — Вставьте новый рулон этикеток и нажмите FEED"
    );
    press(app, "AppWindow::lang-en");
    assert_eq!(
        label_of(app, "AppWindow::printer-alert"),
        "Printer: Paper out — Load a new roll of labels and press FEED"
    );

    // Printing now pauses the line with the printer's remedy, in Russian; loading paper resumes it.
    press(app, "AppWindow::lang-ru");
    press(app, "OperatorPage::print-button");
    assert!(ui.pump(WAIT, |a| a.global::<LineAdapter>().get_line_kind()
        == LineKind::Paused));
    let line_reason = label_of(app, "OperatorPage::line-reason");
    assert!(
        line_reason == "Закончились этикетки: Вставьте новый рулон этикеток и нажмите FEED"
            || line_reason.starts_with("Принтер не отвечает:"),
        "{line_reason}"
    );
    panel.set_paper_out(false);
    assert!(ui.pump(WAIT, |a| a.global::<LineAdapter>().get_line_kind()
        == LineKind::Idle));
    press(app, "AppWindow::lang-en");

    // Settings: another label, applied by the engine at once and then saved (the supervisor is signed in).
    press(app, "AppWindow::settings-tab");
    app.global::<SettingsAdapter>().set_template("43x25".into());
    press(app, "SettingsPage::save");
    assert!(
        ui.pump(WAIT, |a| a.global::<SettingsAdapter>().get_save_key()
            == "settings-saved"),
        "{}",
        app.global::<SettingsAdapter>().get_save_result()
    );
    let saved = std::fs::read_to_string(&paths.config_file).unwrap();
    assert!(saved.contains("template = \"43x25\""), "{saved}");
    press(app, "AppWindow::lang-ru");
    assert!(
        label_of(app, "SettingsPage::save-result").starts_with("Применено и сохранено в"),
        "{}",
        label_of(app, "SettingsPage::save-result")
    );
    press(app, "AppWindow::lang-en");
    drop(ui);
    engine.shutdown();
    drop(guard);
}
