// SPDX-License-Identifier: GPL-3.0-or-later
#![cfg(feature = "ui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The box panel on the work card (Slint's testing backend, no display), on the virtual line packing
//! boxes (`run --box-capacity`): the open box shows as `(00) …` with its pairs of its capacity, "Close
//! box" closes it partly filled mid-run (its label printed and scanned back), the run's last box is
//! closed when it ends, and "Reprint box label" asks the supervisor PIN, then the virtual printer prints
//! that box's label again (its own record) and the log has it. One #[test]: the testing backend is once
//! per process.

mod support;
#[path = "support/ui.rs"]
mod ui;

use std::time::Duration;

use labelstation::compose::Overrides;
use labelstation::engine::Command;
use labelstation::ledger::Ledger;
use labelstation::ledger::boxes::BoxState;
use labelstation::ui::demo::StationUi;
use labelstation::ui::{LineAdapter, LineKind, Ui};
use slint::ComponentHandle;
use ui::{label_of, pin, press};

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn the_work_card_shows_the_open_box_closes_it_and_reprints_a_label_with_the_pin() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let (paths, mut config) = ui::demo_dir(dir.path(), true);
    config.aggregation.company_prefix = "4870001".into();
    config.aggregation.extension_digit = 1;
    config.line.scan_timeout_secs = 10;
    let gtin = {
        let mut l = Ledger::open(&paths.ledger(), "station-1").unwrap();
        let gtin = l.products().unwrap()[0].gtin.clone();
        labelstation_testkit::consignment::take_in_consignment(&mut l, "CN-9", &gtin, 10);
        gtin
    };
    let overrides = Overrides {
        printer: Some("sim:".into()),
        scanner: Some("sim:".into()),
        fault_rate: Some(0.0),
        // Slow hands: "Close box" is pressed while the second pair's sticker is being applied.
        apply_time: Some(Duration::from_millis(1500)),
        box_capacity: Some(5),
        ..Overrides::default()
    };
    let (engine, events, mut ctx, guard) = StationUi::open(&paths, &config, &overrides, None)
        .unwrap()
        .into_parts();
    ctx.language = Some("en".into());
    let ui = Ui::new(engine.commands(), events, ctx).unwrap();
    let app = &ui.app;
    app.window().set_size(slint::PhysicalSize::new(1024, 600));

    engine.send(Command::SelectProduct(gtin));
    engine.send(Command::LabelFor(Some("CN-9".into())));
    assert!(ui.pump(WAIT, |a| {
        let l = a.global::<LineAdapter>();
        l.get_packing() && l.get_has_product()
    }));
    assert_eq!(
        label_of(app, "OperatorPage::box-line"),
        "No box open: the next pair opens one"
    );

    app.global::<LineAdapter>().set_count(3);
    press(app, "OperatorPage::print-button");
    assert!(ui.pump(WAIT, |a| a.global::<LineAdapter>().get_box_count() == 1));
    let first = app.global::<LineAdapter>().get_box_sscc().to_string();
    assert_eq!(
        label_of(app, "OperatorPage::box-line"),
        format!("Box (00) {first}: 1 of 5 pairs")
    );
    press(app, "OperatorPage::close-box");
    // The first box closes with the pair being applied; the third pair opens the second box, which
    // the run's end closes.
    assert!(ui.pump(WAIT, |a| {
        let l = a.global::<LineAdapter>();
        l.get_line_kind() == LineKind::Idle
            && l.get_last_box_state() == "LABEL_VERIFIED"
            && l.get_last_box_sscc() != first.as_str()
    }));
    let second = app.global::<LineAdapter>().get_last_box_sscc().to_string();
    assert_eq!(
        label_of(app, "OperatorPage::last-box"),
        format!("Last box (00) {second}: label verified")
    );
    {
        let l = Ledger::open(&paths.ledger(), "station-1").unwrap();
        let boxes: Vec<(String, u64, BoxState)> = l
            .boxes(Some("CN-9"))
            .unwrap()
            .into_iter()
            .map(|b| (b.sscc, b.count, b.state))
            .collect();
        assert_eq!(
            boxes,
            vec![
                (first.clone(), 2, BoxState::LabelVerified),
                (second.clone(), 1, BoxState::LabelVerified)
            ]
        );
    }
    let box_labels = || -> Vec<String> {
        guard
            .printer()
            .unwrap()
            .stickers()
            .into_iter()
            .filter_map(|s| s.gs1_128)
            .collect()
    };
    assert_eq!(
        box_labels(),
        vec![format!("00{first}"), format!("00{second}")]
    );

    // Reprint with a wrong PIN: refused by the engine, nothing printed.
    press(app, "OperatorPage::reprint-box");
    assert!(ui.pump(WAIT, |a| a.global::<LineAdapter>().get_asking_box_pin()));
    pin(app, "0000");
    assert!(ui.pump(WAIT, |a| a.global::<LineAdapter>().get_notice_key()
        == "box-reprint-needs-pin"));
    assert_eq!(box_labels().len(), 2);

    // Reprint: the PIN pad, then the second box's label again.
    press(app, "OperatorPage::reprint-box");
    assert!(ui.pump(WAIT, |a| a.global::<LineAdapter>().get_asking_box_pin()));
    pin(app, ui::PIN);
    assert!(ui.pump(WAIT, |a| a.global::<LineAdapter>().get_notice_key()
        == "box-label-reprinted"));
    assert_eq!(
        box_labels(),
        vec![
            format!("00{first}"),
            format!("00{second}"),
            format!("00{second}")
        ]
    );
    let l = Ledger::open(&paths.ledger(), "station-1").unwrap();
    let (subject, actor): (String, String) = l
        .connection()
        .query_row(
            "SELECT subject, actor FROM audit_log WHERE action = 'box.label_reprint'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(subject, second);
    assert_eq!(actor, "supervisor");
}
