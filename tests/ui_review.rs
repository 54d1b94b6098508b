// SPDX-License-Identifier: GPL-3.0-or-later
#![cfg(feature = "ui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The supervisor's review on the touchscreen, driven headless against a real engine on the virtual line
//! (issue 14): a verified code the registry refused shows no Reprint and no Confirm, only "Send the
//! application again" (and Write off), which queues its one report again; Reprint of a code never
//! verified asks first and says what becomes of the old sticker; each code shows its print attempts; a
//! printed sticker of a finished roll that cannot be found goes to review.
//! One #[test]: the testing backend is once per process.

#[path = "support/ui.rs"]
mod ui;

use std::time::Duration;

use i_slint_backend_testing::ElementHandle;
use labelstation::compose::Overrides;
use labelstation::ledger::{Actor, CodeId, CodeState, JobMode, LEDGER_FILE, Ledger, ScanProof};
use labelstation::ui::demo::StationUi;
use labelstation::ui::{AppWindow, ReviewAdapter, Ui};
use slint::{ComponentHandle, Model};
use ui::{find, label_of, pin, press};

const WAIT: Duration = Duration::from_secs(20);

/// Tap the queue's row of `masked`.
fn select(app: &AppWindow, masked: &str) {
    ElementHandle::find_by_element_id(app, "SupervisorPage::review-row")
        .find(|e| e.accessible_label().is_some_and(|l| l == masked))
        .unwrap_or_else(|| panic!("no row {masked} in the queue"))
        .invoke_accessible_default_action();
}

fn count(app: &AppWindow) -> i32 {
    app.global::<ReviewAdapter>().get_review_count()
}

fn state(ledger: &Ledger, id: CodeId) -> CodeState {
    ledger.code(id).unwrap().state
}

fn attempts(ledger: &Ledger, id: CodeId) -> u32 {
    ledger.print_attempts(id).unwrap()
}

#[test]
fn review_never_reprints_a_verified_code() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let (paths, config) = ui::demo_dir(dir.path(), true);

    // Before the station starts: a verified code the registry refused, a rejected label, and a finished
    // no-verify roll whose sticker will not be found.
    let (refused, rejected, on_roll) = {
        let mut l = Ledger::open(&dir.path().join(LEDGER_FILE), "station-test").unwrap();
        let gtin = l.products().unwrap()[0].gtin.clone();
        let op = Actor::operator("op");
        let job = l.open_job(&gtin, JobMode::Inline, &op).unwrap();
        let a = l.reserve(job, &op).unwrap();
        l.mark_sent(a.id, job, "sim:", b"^XA^XZ", true, &op)
            .unwrap();
        l.mark_printed(a.id, job, &op).unwrap();
        let raw = a.code.as_str().as_bytes().to_vec();
        l.verify(
            a.id,
            job,
            &ScanProof {
                raw: &raw,
                aim: Some("]d2"),
            },
            &op,
        )
        .unwrap();
        let b = l.reserve(job, &op).unwrap();
        l.mark_sent(b.id, job, "sim:", b"^XA^XZ", true, &op)
            .unwrap();
        l.reject(b.id, job, "scan mismatch", &op).unwrap();
        l.close_job(job).unwrap();
        l.registry_refused(a.id, "code not in received state", &Actor::system("sync"))
            .unwrap();
        let roll = l.open_job(&gtin, JobMode::NoVerify, &op).unwrap();
        let c = l.reserve(roll, &op).unwrap();
        l.mark_sent(c.id, roll, "sim:", b"^XA^XZ", true, &op)
            .unwrap();
        l.mark_printed(c.id, roll, &op).unwrap();
        l.close_job(roll).unwrap();
        (
            (a.id, a.code.masked()),
            (b.id, b.code.masked()),
            (c.id, c.code.masked()),
        )
    };

    let overrides = Overrides {
        printer: Some("sim:".into()),
        scanner: Some("sim:".into()),
        fault_rate: Some(0.0),
        ..Overrides::default()
    };
    let (engine, events, mut ctx, guard) = StationUi::open(&paths, &config, &overrides, None)
        .unwrap()
        .into_parts();
    ctx.language = Some("en".into());
    let ui = Ui::new(engine.commands(), events, ctx).unwrap();
    let app = &ui.app;
    app.window().set_size(slint::PhysicalSize::new(1024, 600));
    let reader = Ledger::open(&dir.path().join(LEDGER_FILE), "reader").unwrap();

    press(app, "AppWindow::supervisor-tab");
    pin(app, ui::PIN);
    assert!(ui.pump(WAIT, |a| a.global::<ReviewAdapter>().get_active()));
    // Two codes wait for review; the roll sticker is listed after them, not counted as review.
    assert!(ui.pump(
        WAIT,
        |a| a.global::<ReviewAdapter>().get_queue().row_count() == 3
    ));
    assert_eq!(count(app), 2);
    assert_eq!(label_of(app, "SupervisorPage::review-tab"), "Review (2)");

    // The verified code: no Reprint, no Confirm; why, and "Send the application again".
    select(app, &refused.1);
    assert!(
        find(app, "SupervisorPage::reprint").is_none(),
        "Reprint shown for a verified code"
    );
    assert!(
        find(app, "SupervisorPage::confirm").is_none(),
        "Confirm shown for a verified code"
    );
    assert!(label_of(app, "SupervisorPage::verified-note").contains("never printed again"));
    assert!(find(app, "SupervisorPage::write-off").is_some());
    // Its print attempts: sent and printed once.
    let row = app
        .global::<ReviewAdapter>()
        .get_queue()
        .iter()
        .find(|r| i64::from(r.id) == refused.0.0)
        .unwrap();
    assert_eq!(
        (row.verified, row.sends, row.prints.row_count()),
        (true, 1, 2)
    );
    assert!(find(app, "SupervisorPage::print-attempts").is_some());
    assert_eq!(
        label_of(app, "SupervisorPage::send-again"),
        "Send the application again"
    );
    press(app, "AppWindow::lang-ru");
    assert_eq!(
        label_of(app, "SupervisorPage::send-again"),
        "Отправить сведения о нанесении повторно"
    );
    press(app, "AppWindow::lang-en");
    press(app, "SupervisorPage::send-again");
    assert!(ui.pump(WAIT, |_| state(&reader, refused.0) == CodeState::Verified));
    assert!(ui.pump(WAIT, |a| count(a) == 1));
    let outbox: (String, Option<i64>) = reader
        .connection()
        .query_row(
            "SELECT status, report FROM outbox WHERE code_id = ?1 AND kind = 'UTILISATION'",
            [refused.0.0],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(outbox, ("QUEUED".to_owned(), None));
    assert_eq!(attempts(&reader, refused.0), 1, "nothing printed");

    // A code never verified: Reprint asks first and says what becomes of the old sticker.
    select(app, &rejected.1);
    assert!(find(app, "SupervisorPage::send-again").is_none());
    assert!(find(app, "SupervisorPage::confirm").is_some());
    press(app, "SupervisorPage::reprint");
    let warning = label_of(app, "ReprintConfirm::warning");
    assert!(
        warning.contains("same code") && warning.contains("only if it is written off"),
        "{warning}"
    );
    press(app, "ReprintConfirm::cancel");
    assert!(find(app, "ReprintConfirm::warning").is_none());
    assert_eq!(attempts(&reader, rejected.0), 1, "cancel prints nothing");
    press(app, "SupervisorPage::reprint");
    press(app, "ReprintConfirm::go");
    assert!(ui.pump(WAIT, |_| state(&reader, rejected.0) == CodeState::Verified));
    assert_eq!(attempts(&reader, rejected.0), 2);
    assert!(ui.pump(WAIT, |a| count(a) == 0));

    // The roll sticker that cannot be found goes to review.
    select(app, &on_roll.1);
    assert!(find(app, "SupervisorPage::reprint").is_none());
    assert!(find(app, "SupervisorPage::write-off").is_none());
    press(app, "SupervisorPage::sticker-missing");
    assert!(ui.pump(WAIT, |_| state(&reader, on_roll.0)
        == CodeState::NeedsReview));
    assert!(ui.pump(WAIT, |a| count(a) == 1));
    assert_eq!(reader.roll_waiting_count().unwrap(), 0);
    assert_eq!(reader.check_invariants().unwrap(), vec![]);
    let actions: Vec<String> = labelstation::ledger::audit::recent(reader.connection(), 20)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in ["code.send_again", "code.reprint", "code.sticker_missing"] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} missing from {actions:?}"
        );
    }
    drop(ui);
    engine.shutdown();
    drop(guard);
}
