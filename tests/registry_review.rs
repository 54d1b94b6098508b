// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A supervisor's registry commands through the binary: `review registry`, `review settle`,
//! `review write-off-fix` and `review resend` take the sync claim (the one `labelstation sync` and the
//! station's background sync hold), so they never race a pass; a report being sent right now is not
//! called lost.

mod support;

use labelstation::store::reports::ReportKind;
use labelstation::store::{Ledger, StationLock};
use support::*;

const PIN: &str = "2468";

/// A data dir with a supervisor PIN and `n` verified codes of one product.
fn data_dir(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let data = dir.join("data");
    let gtin = labelstation::codes::generate::gtin_from_number(460_900_000_014);
    cli_product_with_codes(&data, &gtin, "Ботинки", n + 5, 14);
    let out = run(cli(&data)
        .args(["supervisor", "set-pin"])
        .env("LABELSTATION_NEW_PIN", PIN));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
    print_and_verify(&mut l, &gtin, n);
    data
}

fn sup(data: &std::path::Path) -> std::process::Command {
    let mut c = cli(data);
    c.env("LABELSTATION_SUPERVISOR_PIN", PIN);
    c
}

#[test]
fn settling_by_hand_waits_for_the_sync_claim() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_dir(dir.path(), 4);
    let report = {
        let mut l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
        l.start_report(ReportKind::Utilisation, "oms-v2", 10)
            .unwrap()
            .unwrap()
            .id
    };
    // A sync pass is running (another process holds the claim): the report may be being sent now.
    let held = StationLock::acquire_sync(&data).unwrap();
    let out = run(sup(&data).args([
        "review",
        "settle",
        &report.0.to_string(),
        "--applied",
    ]));
    assert!(!out.status.success(), "settled while a sync ran: {}", stdout(&out));
    assert!(stderr(&out).contains("sync"), "{}", stderr(&out));
    let l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
    assert_eq!(l.backlog().unwrap().reports_open, 1, "left as it was");
    drop(held);
}

#[test]
fn a_report_being_sent_right_now_is_not_called_lost() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_dir(dir.path(), 3);
    {
        let mut l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
        l.start_report(ReportKind::Utilisation, "xtrace", 10)
            .unwrap()
            .unwrap();
    }
    let held = StationLock::acquire_sync(&data).unwrap();
    let out = run(cli(&data).args(["review", "registry"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("lost"), "{text}");
    assert!(text.contains("being sent"), "{text}");
    drop(held);
}
