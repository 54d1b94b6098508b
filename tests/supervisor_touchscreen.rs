// SPDX-License-Identifier: GPL-3.0-or-later
#![cfg(feature = "ui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The supervisor's page on the touchscreen (Slint's testing backend, no display): a report the registry
//! refused as a whole is listed on the Registry card with the registry's reason, in the supervisor's
//! language; a second-sticker alert stands above the review queue and is closed with what was found,
//! audited. One #[test]: the testing backend is once per process.

mod support;
#[path = "support/ui.rs"]
mod ui;

use std::time::Duration;

use labelstation::compose::Overrides;
use labelstation::store::reports::{AfterRefusal, ReportKind};
use labelstation::store::stickers::StickerAlertId;
use labelstation::store::{CodeId, Ledger};
use labelstation::ui::demo::StationUi;
use labelstation::ui::{DevicesAdapter, ReviewAdapter, Ui};
use slint::{ComponentHandle, Model};
use ui::{label_of, pin, press};

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn held_reports_and_second_sticker_alerts_on_the_supervisor_page() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let (paths, config) = ui::demo_dir(dir.path(), true);
    {
        // Three verified codes in a report the registry refused as a whole.
        let mut l = Ledger::open(&paths.ledger(), "station-1").unwrap();
        let gtin = l.products().unwrap()[0].gtin.clone();
        support::print_and_verify(&mut l, &gtin, 3);
        let r = l
            .start_report(ReportKind::Utilisation, "xtrace", 3)
            .unwrap()
            .unwrap();
        l.report_refused(
            r.id,
            "insufficient balance on the personal account",
            true,
            &[],
            AfterRefusal::Hold(r.id),
            &support::system(),
        )
        .unwrap();
        assert_eq!(l.held_reports().unwrap().len(), 1);
        // One of them scanned again from what may be another sticker.
        let applied: i64 = l
            .connection()
            .query_row(
                "SELECT min(id) FROM codes WHERE verified_at IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let alert = l
            .second_sticker(CodeId(applied), b"scan", Some("]d2"), None, false)
            .unwrap();
        assert_eq!(alert, StickerAlertId(1));
    }
    let overrides = Overrides {
        printer: Some("sim:".into()),
        scanner: Some("sim:".into()),
        fault_rate: Some(0.0),
        ..Overrides::default()
    };
    let (engine, events, mut ctx, _guard) = StationUi::open(&paths, &config, &overrides, None)
        .unwrap()
        .into_parts();
    ctx.language = Some("en".into());
    let ui = Ui::new(engine.commands(), events, ctx).unwrap();
    let app = &ui.app;
    app.window().set_size(slint::PhysicalSize::new(1024, 600));

    press(app, "AppWindow::supervisor-tab");
    pin(app, ui::PIN);
    assert!(ui.pump(WAIT, |a| a.global::<ReviewAdapter>().get_active()));
    press(app, "SupervisorPage::pool-tab");
    assert!(ui.pump(
        WAIT,
        |a| a.global::<DevicesAdapter>().get_held_reports().row_count() == 1
    ));
    let line = label_of(app, "SupervisorPage::held-line");
    assert!(
        line.starts_with("Report #1 (3 codes) refused as a whole by the registry on "),
        "{line}"
    );
    assert!(
        line.ends_with(": insufficient balance on the personal account"),
        "{line}"
    );

    // The second-sticker alert, above the review queue; closed with what was found.
    press(app, "SupervisorPage::review-tab");
    assert!(ui.pump(
        WAIT,
        |a| a.global::<ReviewAdapter>().get_sticker_alerts().row_count() == 1
    ));
    let line = label_of(app, "SupervisorPage::sticker-alert");
    assert!(line.starts_with("Second sticker of "), "{line}");
    assert!(line.contains("a code already applied"), "{line}");
    press(app, "SupervisorPage::close-alert");
    // The first choice: found and destroyed.
    press(app, "FoundChooser::found");
    assert!(ui.pump(
        WAIT,
        |a| a.global::<ReviewAdapter>().get_sticker_alerts().row_count() == 0
    ));
    {
        let l = Ledger::open(&paths.ledger(), "station-1").unwrap();
        let closed = l.sticker_alert(StickerAlertId(1)).unwrap();
        assert_eq!(
            closed.outcome.as_deref(),
            Some("second sticker found and destroyed")
        );
        assert_eq!(closed.closed_by.as_deref(), Some("supervisor"));
        assert!(l.open_sticker_alerts().unwrap().is_empty());
    }

    press(app, "SupervisorPage::pool-tab");
    press(app, "AppWindow::lang-ru");
    let line = label_of(app, "SupervisorPage::held-line");
    assert!(
        line.starts_with("Отчёт №1 (кодов: 3) целиком отклонён реестром "),
        "{line}"
    );
    drop(ui);
    engine.shutdown();
}
