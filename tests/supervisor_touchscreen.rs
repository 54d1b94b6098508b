// SPDX-License-Identifier: GPL-3.0-or-later
#![cfg(feature = "ui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The supervisor's page on the touchscreen (Slint's testing backend, no display): a report the registry
//! refused as a whole is listed on the Registry card with the registry's reason, in the supervisor's
//! language; a second-sticker alert stands above the review queue and is closed with what was found,
//! audited; the worker labels for a consignment and sees the product's line of it, and the supervisor
//! records its customs declaration and files its import notice with the PIN. One #[test]: the testing
//! backend is once per process.

mod support;
#[path = "support/ui.rs"]
mod ui;

use std::time::Duration;

use labelstation::compose::Overrides;
use labelstation::ledger::consignments::{DeclaredLine, NewConsignment};
use labelstation::ledger::documents::DocumentStatus;
use labelstation::ledger::reports::{AfterRefusal, ReportKind};
use labelstation::ledger::stickers::StickerAlertId;
use labelstation::ledger::{CodeId, Ledger};
use labelstation::ui::demo::StationUi;
use labelstation::ui::{DevicesAdapter, LineAdapter, ReviewAdapter, Ui};
use slint::{ComponentHandle, Model};
use ui::{label_of, pin, press, press_labelled};

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

        // A consignment of three pairs of the product: two labelled for it, their application accepted.
        l.import_consignment(
            &NewConsignment {
                id: "CN-9".into(),
                importer_bin: "123456789012".into(),
                importer_name: Some("ТОО «Обувь»".into()),
                country: "CN".into(),
                invoice: None,
            },
            &[DeclaredLine {
                line: 2,
                gtin: gtin.clone(),
                name: "Кеды".into(),
                size: None,
                quantity: 3,
            }],
            &"a".repeat(64),
            &support::system(),
        )
        .unwrap();
        let op = labelstation::ledger::Actor::operator("op");
        let job = l
            .open_job_for(
                &gtin,
                labelstation::ledger::JobMode::Batch,
                Some("CN-9"),
                &op,
            )
            .unwrap();
        for _ in 0..2 {
            let r = l.reserve(job, &op).unwrap();
            l.mark_sent(r.id, job, "sim:", b"", false, &op).unwrap();
            l.mark_printed(r.id, job, &op).unwrap();
            let raw = r.code.as_str().as_bytes().to_vec();
            l.verify(
                r.id,
                job,
                &labelstation::ledger::ScanProof {
                    raw: &raw,
                    aim: Some("]d2"),
                },
                &op,
            )
            .unwrap();
            l.mark_reported(
                r.id,
                "accepted",
                &labelstation::ledger::Actor::supervisor("sup"),
            )
            .unwrap();
        }
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

    // The worker labels for the consignment: its line of the chosen product, declared vs labelled.
    press(app, "AppWindow::work-tab");
    press(app, "OperatorPage::change-product");
    assert!(ui.pump(
        WAIT,
        |a| a.global::<LineAdapter>().get_consignments().row_count() == 1
    ));
    press_labelled(app, "ProductChooser::consignment-chip", "CN-9");
    press(app, "ProductChooser::product-row");
    assert!(ui.pump(WAIT, |a| {
        let l = a.global::<LineAdapter>();
        l.get_consignment_id() == "CN-9" && l.get_has_product() && l.get_consignment_listed()
    }));
    let line = label_of(app, "OperatorPage::consignment-line");
    assert_eq!(line, "Consignment CN-9: 2 of 3 labelled");

    // The supervisor records the declaration with the on-screen keys and files the import notice.
    press(app, "AppWindow::supervisor-tab");
    press(app, "SupervisorPage::consignments-tab");
    press(app, "SupervisorPage::declare");
    for k in "55201/071226/0000099".chars() {
        press_labelled(app, "DeclareDialog::key", &k.to_string());
    }
    press(app, "DeclareDialog::date-field");
    for k in "2026-12-07".chars() {
        press_labelled(app, "DeclareDialog::key", &k.to_string());
    }
    press(app, "DeclareDialog::record-declaration");
    assert!(ui.pump(WAIT, |a| {
        let rows = a.global::<LineAdapter>().get_consignments();
        rows.row_count() == 1 && !rows.row_data(0).unwrap().declaration.is_empty()
    }));
    press(app, "SupervisorPage::submit");
    assert!(ui.pump(WAIT, |a| {
        let rows = a.global::<LineAdapter>().get_consignments();
        rows.row_data(0)
            .is_some_and(|r| r.submitted == 2 && r.status == "SUBMITTED")
    }));
    {
        let l = Ledger::open(&paths.ledger(), "station-1").unwrap();
        let c = l.consignment("CN-9").unwrap();
        let d = c.declaration.unwrap();
        assert_eq!(
            (d.number.as_str(), d.date.as_str()),
            ("55201/071226/0000099", "2026-12-07")
        );
        let docs = l.documents_of("CN-9").unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!((docs[0].codes, docs[0].status), (2, DocumentStatus::Queued));
        let audit = labelstation::ledger::audit::recent(l.connection(), 10).unwrap();
        for action in ["consignment.declare", "consignment.submit"] {
            let e = audit.iter().find(|e| e.action == action).unwrap();
            assert_eq!(e.actor, "supervisor", "{action}");
        }
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
