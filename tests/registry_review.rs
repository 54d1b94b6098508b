// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A supervisor's registry commands through the binary: `review registry`, `review settle`,
//! `review write-off-fix` and `review resend` take the sync claim (the one `labelstation sync` and the
//! station's background sync hold), so they never race a pass; a report being sent right now is not
//! called lost.

mod support;

use labelstation::ledger::reports::ReportKind;
use labelstation::ledger::{Ledger, StationLock};
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
    let out = run(sup(&data).args(["review", "settle", &report.0.to_string(), "--applied"]));
    assert!(
        !out.status.success(),
        "settled while a sync ran: {}",
        stdout(&out)
    );
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

/// Done when (issue 14): while the registry refuses whole reports, the station sends at most a few and
/// no code goes to review; once the cause is fixed, `review resend --all` gets every code applied once.
#[test]
fn done_when_a_registry_refusing_whole_reports_gets_few_and_resend_applies_all() {
    use labelstation::registry::sim::{Refusal, RegistrySim, SimConfig};
    let sim_cfg = SimConfig {
        processing_delay: std::time::Duration::from_millis(300),
        password: "pw-refusal".into(),
        ..SimConfig::default()
    };
    let sim = RegistrySim::start(([127, 0, 0, 1], 0).into(), sim_cfg.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = dir.path().join("station.toml");
    std::fs::write(
        &cfg,
        format!(
            "[registry]\napi = \"xtrace\"\nurl = \"{}\"\n[registry.xtrace]\nlogin = \"{}\"\npassword_env = \"LS_TEST_REGISTRY_PW\"\nbusiness_place_id = 5\n[registry.report]\nbatch_size = 40\ndefault_country = \"CN\"\nwait_secs = 20\n",
            sim.url(),
            sim_cfg.login
        ),
    )
    .unwrap();
    let cmd = || {
        let mut c = cli(&data);
        c.env("LABELSTATION_CONFIG", &cfg)
            .env("LS_TEST_REGISTRY_PW", &sim_cfg.password)
            .env("LABELSTATION_SUPERVISOR_PIN", PIN);
        c
    };
    let gtin = labelstation::codes::generate::gtin_from_number(460_800_000_014);
    for args in [
        vec![
            "products",
            "add",
            "--gtin",
            gtin.as_str(),
            "--name",
            "Туфли",
            "--country",
            "CN",
        ],
        vec![
            "codes",
            "pull",
            "--gtin",
            gtin.as_str(),
            "--quantity",
            "100",
        ],
    ] {
        let out = run(cmd().args(&args));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = run(cmd()
        .args(["supervisor", "set-pin"])
        .env("LABELSTATION_NEW_PIN", PIN));
    assert!(out.status.success(), "{}", stderr(&out));
    {
        let mut l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
        print_and_verify_all(&mut l, &gtin);
    }
    sim.set_refusal(Some(Refusal::when_processed(
        "insufficient balance on the personal account",
    )));
    for _ in 0..3 {
        let _ = run(cmd().args(["sync", "--once"]));
    }
    let snap = sim.snapshot();
    assert!(
        snap.reports_received <= 3,
        "{} reports sent to a registry refusing every report",
        snap.reports_received
    );
    assert_eq!(snap.applied, 0);
    let out = run(cmd().args(["review", "list"]));
    assert!(
        stdout(&out).contains("nothing to review"),
        "{}",
        stdout(&out)
    );
    let out = run(cmd().args(["review", "registry"]));
    let text = stdout(&out);
    assert!(text.contains("REFUSED AS A WHOLE"), "{text}");
    assert!(text.contains("insufficient balance"), "{text}");
    assert!(text.contains("review resend"), "{text}");
    let l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
    assert_eq!(
        l.backlog().unwrap().codes_held + l.backlog().unwrap().utilisation_queued,
        100
    );
    drop(l);
    // The balance is topped up; the supervisor sends it again.
    sim.set_refusal(None);
    let out = run(cmd()
        .args(["review", "resend", "--all"])
        .env("LABELSTATION_SUPERVISOR_PIN", "0000"));
    assert!(!out.status.success(), "a wrong PIN re-sends nothing");
    let out = run(cmd().args(["review", "resend", "--all"]));
    assert!(out.status.success(), "{}", stderr(&out));
    for _ in 0..5 {
        let out = run(cmd().args(["sync", "--once"]));
        let l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
        let b = l.backlog().unwrap();
        if out.status.success() && b.utilisation_queued + b.reports_open + b.reports_held == 0 {
            break;
        }
    }
    let l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
    let reported = l
        .codes_in_state(labelstation::ledger::CodeState::Reported, 1000)
        .unwrap();
    assert_eq!(reported.len(), 100);
    let apps = sim.applications();
    for c in &reported {
        assert_eq!(
            apps.get(c.code.as_str()),
            Some(&1),
            "{} applied once",
            c.code.masked()
        );
    }
    let snap = sim.snapshot();
    assert_eq!(
        (snap.applied, snap.reported_twice, snap.resent_while_pending),
        (100, 0, 0)
    );
    assert!(l.review_queue(10).unwrap().is_empty());
    let audit: Vec<String> = labelstation::ledger::audit::recent(l.connection(), 50)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(audit.iter().any(|a| a == "report.held"), "{audit:?}");
    assert!(audit.iter().any(|a| a == "report.resend"), "{audit:?}");
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn held_report_sentences_are_worded_on_the_touchscreen() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/ui/words.slint");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text
        .find("public pure function held-report(")
        .expect("Words.held-report in ui/words.slint");
    let body = &text[start..];
    let body = &body[..body[1..]
        .find("public pure function ")
        .map_or(body.len(), |e| e + 1)];
    let worded: std::collections::BTreeSet<&str> = body
        .split("key == \"")
        .skip(1)
        .map(|p| &p[..p.find('"').unwrap()])
        .collect();
    let listed: std::collections::BTreeSet<&str> = labelstation::ledger::reports::HELD_KEYS
        .iter()
        .copied()
        .collect();
    assert_eq!(worded, listed);
}
