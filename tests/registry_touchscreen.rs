// SPDX-License-Identifier: GPL-3.0-or-later
#![cfg(feature = "ui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A report the registry refused as a whole, on the touchscreen (Slint's testing backend, no display):
//! the supervisor's Registry card lists it with the registry's reason, in the supervisor's language.
//! One #[test]: the testing backend is once per process.

mod support;

use std::time::Duration;

use i_slint_backend_testing::ElementHandle;
use labelstation::compose::Overrides;
use labelstation::config::{Config, Origin, Paths};
use labelstation::store::Ledger;
use labelstation::store::reports::{AfterRefusal, ReportKind};
use labelstation::ui::demo::{StationUi, seed_demo};
use labelstation::ui::{AppWindow, DevicesAdapter, ReviewAdapter, Ui};
use slint::{ComponentHandle, Model};

const WAIT: Duration = Duration::from_secs(20);

fn press(app: &AppWindow, id: &str) {
    ElementHandle::find_by_element_id(app, id)
        .next()
        .unwrap_or_else(|| panic!("no element {id} on screen"))
        .invoke_accessible_default_action();
}

fn label_of(app: &AppWindow, id: &str) -> String {
    ElementHandle::find_by_element_id(app, id)
        .next()
        .unwrap_or_else(|| panic!("no element {id} on screen"))
        .accessible_label()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_held_report_shows_on_the_supervisor_page_with_the_registrys_reason() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths {
        data_dir: dir.path().to_path_buf(),
        data_dir_origin: Origin::Flag,
        config_file: dir.path().join("labelstation.toml"),
        config_origin: Origin::Flag,
    };
    let config = Config::default();
    seed_demo(&paths, &config).unwrap();
    labelstation::engine::PinStore::new(dir.path())
        .set("4821")
        .unwrap();
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
    for d in "4821".chars() {
        press(app, &format!("PinPad::k{d}"));
    }
    press(app, "PinPad::ok");
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
    press(app, "AppWindow::lang-ru");
    let line = label_of(app, "SupervisorPage::held-line");
    assert!(
        line.starts_with("Отчёт №1 (кодов: 3) целиком отклонён реестром "),
        "{line}"
    );
    drop(ui);
    engine.shutdown();
}
