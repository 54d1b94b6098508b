// SPDX-License-Identifier: GPL-3.0-or-later
#![cfg(feature = "ui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The touchscreen headless against the engine on the virtual line, when the printer stops on a label:
//! the operator page offers "Cancel this label" (in the worker's language); tapping it clears the label
//! from the printer before the code is rejected, so nothing comes out when paper is loaded, and the
//! rejection says a sticker may still come out. One #[test]: the testing backend is once per process.

#[path = "support/ui.rs"]
mod ui;

use std::time::Duration;

use i_slint_backend_testing::ElementHandle;
use labelstation::compose::Overrides;
use labelstation::ledger::Ledger;
use labelstation::ui::demo::StationUi;
use labelstation::ui::{LineAdapter, LineKind, Ui};
use slint::{ComponentHandle, Model};
use ui::{label_of, press};

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn cancel_a_label_the_printer_stopped_on() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let (paths, config) = ui::demo_dir(dir.path(), false);
    let overrides = Overrides {
        printer: Some("sim:".into()),
        scanner: Some("sim:".into()),
        fault_rate: Some(0.0),
        ..Overrides::default()
    };
    let (engine, events, mut ctx, guard) = StationUi::open(&paths, &config, &overrides, None)
        .unwrap()
        .into_parts();
    ctx.language = Some("ru".into());
    let ui = Ui::new(engine.commands(), events, ctx).unwrap();
    let app = &ui.app;
    app.window().set_size(slint::PhysicalSize::new(1024, 600));
    press(app, "OperatorPage::change-product");
    assert!(ui.pump(
        WAIT,
        |a| a.global::<LineAdapter>().get_products().row_count() > 0
    ));
    press(app, "ProductChooser::product-row");
    assert!(ui.pump(WAIT, |a| a.global::<LineAdapter>().get_has_product()));

    // Out of paper: the label waits in the printer, the line pauses, and the page offers to cancel it.
    let panel = guard.printer().expect("the virtual printer").clone();
    panel.set_paper_out(true);
    assert!(
        ElementHandle::find_by_element_id(app, "OperatorPage::cancel-label")
            .next()
            .is_none()
    );
    press(app, "OperatorPage::print-button");
    assert!(ui.pump(WAIT, |a| a.global::<LineAdapter>().get_line_kind()
        == LineKind::Paused));
    assert_eq!(
        label_of(app, "OperatorPage::cancel-label"),
        "Отменить эту этикетку"
    );
    press(app, "OperatorPage::cancel-label");
    assert!(ui.pump(WAIT, |a| a.global::<LineAdapter>().get_line_kind()
        == LineKind::Idle));
    assert_eq!(app.global::<LineAdapter>().get_verdict_kind(), "rejected");

    // Paper loaded: the cancelled label never comes out.
    panel.set_paper_out(false);
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(panel.stickers(), vec![]);
    drop(ui);
    engine.shutdown();
    drop(guard);
    let ledger = Ledger::open(&paths.ledger(), "t").unwrap();
    let item = ledger.review_queue(5).unwrap().remove(0);
    assert_eq!(item.reason_key.as_deref(), Some("printer-cancelled"));
}
