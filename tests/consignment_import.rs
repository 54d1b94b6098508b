// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A consignment from packing list to goods in circulation, through the binary, against the simulated
//! registry with a 2 s processing delay and a fifth of the answers lost after the change was made:
//! packing list (a quoted Cyrillic name with a comma), codes ordered for it, pairs labelled on the
//! virtual line, application reported as IMPORT, the declaration recorded, the import notice filed and
//! followed to its outcome, the hand-over exported. What the station says is compared with what the
//! simulator actually did.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use labelstation::codes::generate::gtin_from_number;
use labelstation::registry::sim::{Faults, RegistrySim, SimCodeState, SimConfig};
use serde_json::Value;
use support::*;

const PIN: &str = "2468";

fn station(data: &Path, cfg: &Path) -> Command {
    station_with(data, cfg, PIN)
}

fn show(data: &Path, cfg: &Path, id: &str) -> Value {
    let out = run(station(data, cfg).args(["consignment", "show", id, "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn a_consignment_goes_from_packing_list_to_circulation_through_lost_answers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let sim = RegistrySim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig {
            pending_polls: 0,
            ..SimConfig::default()
        },
    )
    .unwrap();
    let cfg = dir.path().join("station.toml");
    std::fs::write(
        &cfg,
        format!(
            "[registry]\napi = \"xtrace\"\nurl = \"{}\"\n[registry.xtrace]\nlogin = \"station\"\nbusiness_place_id = 5\n\
             [registry.report]\nwait_secs = 20\nimport_document_size = 7\n\
             [line]\nscan_timeout_secs = 5\nmax_consecutive_failures = 1000\n",
            sim.url()
        ),
    )
    .unwrap();
    let a = gtin_from_number(460_222_000_051);
    let b = gtin_from_number(460_222_000_052);
    let list = dir.path().join("packing.csv");
    std::fs::write(
        &list,
        format!(
            "gtin,name,size,quantity\r\n{a},\"Кеды детские, синие\",38,12\r\n{b},Сапоги,41,8\r\n"
        ),
    )
    .unwrap();
    let out = run(station(&data, &cfg).args([
        "consignment",
        "import",
        list.to_str().unwrap(),
        "--id",
        "CN-0177",
        "--importer-bin",
        "123456789012",
        "--importer-name",
        "ТОО «Обувь»",
        "--country",
        "CN",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(station(&data, &cfg).args(["codes", "pull", "--consignment", "CN-0177"]));
    assert!(out.status.success(), "{}", stderr(&out));

    for (g, n) in [(&a, "12"), (&b, "8")] {
        let out = run(station(&data, &cfg).args([
            "print",
            "--consignment",
            "CN-0177",
            "--gtin",
            g.as_str(),
            "--count",
            n,
            "--batch",
        ]));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    // A 13th pair of the first line: refused with the numbers.
    let out = run(station(&data, &cfg).args([
        "print",
        "--consignment",
        "CN-0177",
        "--gtin",
        a.as_str(),
        "--count",
        "1",
        "--batch",
    ]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("0 left, 1 asked"), "{}", stderr(&out));

    // From here on the registry is slow and loses a fifth of its answers after doing the work.
    sim.set_processing_delay(Duration::from_secs(2));
    sim.set_faults(Faults {
        drop_after_commit_rate: 0.2,
        ..Faults::default()
    });

    // Submitting before the declaration, or before the application is reported, says what to do.
    let out = run(station(&data, &cfg)
        .args(["supervisor", "set-pin"])
        .env("LABELSTATION_NEW_PIN", PIN));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(station(&data, &cfg).args(["consignment", "submit", "CN-0177"]));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("consignment declare CN-0177"),
        "{}",
        stderr(&out)
    );
    let declare = |date: &str| {
        run(station(&data, &cfg).args([
            "consignment",
            "declare",
            "CN-0177",
            "--number",
            "55201/071226/0001234",
            "--date",
            date,
            "--customs-office",
            "55201",
        ]))
    };
    let out = declare("2026-02-30");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("YYYY-MM-DD"), "{}", stderr(&out));
    let out = declare("2026-12-07");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(station(&data, &cfg).args(["consignment", "submit", "CN-0177", "--no-send"]));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("wait for the registry to accept their application"),
        "{}",
        stderr(&out)
    );

    let reported = |c: &Value| -> u64 {
        c["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["reported"].as_u64().unwrap())
            .sum()
    };
    sync_until(
        || station(&data, &cfg),
        "application reported",
        || reported(&show(&data, &cfg, "CN-0177")) == 20,
    );

    let out = run(station(&data, &cfg).args(["consignment", "submit", "CN-0177"]));
    // The sync pass after writing the documents may stop at a lost answer; the documents are written.
    assert!(
        stdout(&out).contains("20 code(s) in 3 import document(s)"),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let introduced = |c: &Value| -> Vec<u64> {
        c["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["introduced"].as_u64().unwrap())
            .collect()
    };
    sync_until(
        || station(&data, &cfg),
        "introduced",
        || show(&data, &cfg, "CN-0177")["status"] == "INTRODUCED",
    );
    let c = show(&data, &cfg, "CN-0177");
    assert_eq!(introduced(&c), vec![12, 8], "{c:#}");
    for l in c["lines"].as_array().unwrap() {
        assert_eq!(l["declared"], l["introduced"], "{l}");
        assert_eq!(l["refused"], 0);
    }
    assert_eq!(c["declaration"]["number"], "55201/071226/0001234");
    let docs = c["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 3, "{c:#}");
    assert!(docs.iter().all(|d| d["status"] == "SUCCESS"), "{c:#}");

    // Submitting again files nothing: every code is in circulation.
    let out = run(station(&data, &cfg).args(["consignment", "submit", "CN-0177", "--no-send"]));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no applied code waits"),
        "{}",
        stderr(&out)
    );

    // What the registry did, on its own record.
    let snap = sim.snapshot();
    assert!(snap.answers_dropped > 0, "no answer was lost: {snap:?}");
    assert_eq!(snap.introduced_twice, 0, "{snap:?}");
    assert_eq!(snap.documents_unsorted, 0, "{snap:?}");
    assert_eq!(snap.documents_with_tails, 0, "{snap:?}");
    assert_eq!(snap.reported_twice, 0, "{snap:?}");
    let ours: BTreeSet<String> = {
        let l = labelstation::ledger::Ledger::open(
            &data.join(labelstation::ledger::LEDGER_FILE),
            "station-1",
        )
        .unwrap();
        l.introduced_idents("CN-0177")
            .unwrap()
            .into_iter()
            .map(|(_, i)| i)
            .collect()
    };
    let in_circulation: BTreeSet<String> = sim
        .codes()
        .into_iter()
        .filter(|(_, st)| *st == SimCodeState::Introduced)
        .map(|(c, _)| c.split('\u{1d}').next().unwrap().to_owned())
        .collect();
    assert_eq!(in_circulation.len(), 20);
    assert_eq!(ours, in_circulation);
    for r in sim.reports() {
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["releaseType"], "IMPORT", "{body}");
        assert_eq!(body["manufacturerCountry"], "CN", "{body}");
    }

    // The hand-over: the 20 identification codes, a CSV per line, a summary; never overwritten.
    let out_dir = dir.path().join("handover");
    let out = run(station(&data, &cfg)
        .args(["consignment", "export", "CN-0177", "--out"])
        .arg(&out_dir));
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = std::fs::read_to_string(out_dir.join("CN-0177-import-codes.csv")).unwrap();
    let exported: BTreeSet<String> = csv.lines().map(str::to_owned).collect();
    assert_eq!(exported, in_circulation);
    assert!(!csv.contains('\u{1d}'));
    let line1 = std::fs::read_to_string(out_dir.join(format!("CN-0177-line-2-{a}.csv"))).unwrap();
    assert_eq!(line1.lines().count(), 13, "{line1}");
    assert!(
        line1
            .lines()
            .skip(1)
            .all(|l| l.ends_with(",IN_CIRCULATION")),
        "{line1}"
    );
    let html = std::fs::read_to_string(out_dir.join("CN-0177-summary.html")).unwrap();
    assert!(html.contains("55201/071226/0001234") && html.contains("INTRODUCED"));
    assert!(html.contains("ТОО «Обувь»"));
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(out_dir.join("CN-0177-summary.html"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let out = run(station(&data, &cfg)
        .args(["consignment", "export", "CN-0177", "--out"])
        .arg(&out_dir));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("exists already"), "{}", stderr(&out));

    assert!(
        run(station(&data, &cfg).args(["ledger", "check"]))
            .status
            .success()
    );
}

/// The older platform has no import document: `submit` says so and points to the export, before asking
/// for anything.
#[test]
fn submit_on_the_older_platform_points_to_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = dir.path().join("station.toml");
    std::fs::write(
        &cfg,
        "[registry]\napi = \"oms-v2\"\nurl = \"http://127.0.0.1:9\"\n[registry.oms]\noms_id = \"cc7e2a41-5f3b-4d0e-9a57-3d1c0b6a2e10\"\n",
    )
    .unwrap();
    let out =
        run(cli(&data)
            .env("LABELSTATION_CONFIG", &cfg)
            .args(["consignment", "submit", "CN-1"]));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("no import document"), "{err}");
    assert!(err.contains("labelstation consignment export"), "{err}");
}
