// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Issue 18's whole way through the binary, against the simulated registry that answers late and loses
//! every answer after doing the work: 8 pairs printed with `--box-capacity 4` make two boxes on the
//! virtual line; the sync reports the pairs' application, then both boxes' aggregation, posted once;
//! `consignment submit` puts the 8 pairs into circulation by the two box codes. What the station says
//! is compared with what the simulator did (its aggregates, the codes in circulation, the document it
//! stored).

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use labelstation::codes::Sscc;
use labelstation::codes::generate::gtin_from_number;
use labelstation::registry::sim::{Faults, RegistrySim, SimCodeState, SimConfig};
use serde_json::Value;
use support::*;

const PIN: &str = "2468";
const K: &str = "CN-0218";

fn station(data: &Path, cfg: &Path) -> Command {
    station_with(data, cfg, PIN)
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

fn boxes(data: &Path, cfg: &Path) -> Vec<Value> {
    let out = ok(station(data, cfg).args(["box", "list", "--consignment", K, "--json"]));
    serde_json::from_str(&out).unwrap()
}

#[test]
fn eight_pairs_in_boxes_of_four_go_into_circulation_by_their_two_box_codes() {
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
             [registry.report]\nwait_secs = 20\n\
             [line]\nscan_timeout_secs = 5\nmax_consecutive_failures = 1000\n\
             [aggregation]\ncompany_prefix = \"4870001\"\nextension_digit = 3\n",
            sim.url()
        ),
    )
    .unwrap();
    let g = gtin_from_number(460_222_000_061);
    let list = dir.path().join("packing.csv");
    std::fs::write(&list, format!("gtin,name,size,quantity\n{g},Кеды,40,8\n")).unwrap();
    ok(station(&data, &cfg).args([
        "consignment",
        "import",
        list.to_str().unwrap(),
        "--id",
        K,
        "--importer-bin",
        "123456789012",
        "--country",
        "CN",
    ]));
    ok(station(&data, &cfg).args(["codes", "pull", "--consignment", K]));
    ok(station(&data, &cfg).args([
        "print",
        "--consignment",
        K,
        "--gtin",
        g.as_str(),
        "--count",
        "8",
        "--box-capacity",
        "4",
    ]));
    // Two full boxes, their labels verified, under SSCCs of the configured prefix and extension.
    let b = boxes(&data, &cfg);
    assert_eq!(b.len(), 2, "{b:?}");
    let mut ssccs = Vec::new();
    for x in &b {
        let sscc = x["sscc"].as_str().unwrap().to_owned();
        assert!(Sscc::parse(&sscc).is_ok(), "{sscc}");
        assert!(sscc.starts_with("34870001"), "{sscc}");
        assert_eq!(
            (
                x["count"].as_u64(),
                x["capacity"].as_u64(),
                x["level"].as_u64()
            ),
            (Some(4), Some(4), Some(1))
        );
        assert_eq!(x["state"], "LABEL_VERIFIED", "{x}");
        ssccs.push(sscc);
    }

    // From here on the registry is slow and loses every answer after doing the work.
    sim.set_processing_delay(Duration::from_millis(500));
    sim.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    let before = sim.snapshot().documents_received;
    sync_until(
        || station(&data, &cfg),
        "the boxes reported",
        || boxes(&data, &cfg).iter().all(|x| x["state"] == "REPORTED"),
    );
    let snap = sim.snapshot();
    assert_eq!(
        (
            snap.aggregates,
            snap.aggregated_twice,
            snap.documents_received - before
        ),
        (2, 0, 1),
        "both boxes in one aggregation document, posted once"
    );

    ok(station(&data, &cfg)
        .args(["supervisor", "set-pin"])
        .env("LABELSTATION_NEW_PIN", PIN));
    ok(station(&data, &cfg).args([
        "consignment",
        "declare",
        K,
        "--number",
        "55201/071226/0000218",
        "--date",
        "2026-12-07",
    ]));
    let out = ok(station(&data, &cfg).args(["consignment", "submit", K, "--no-send"]));
    assert!(
        out.contains("8 code(s) (8 of them in 2 box(es) declared by their SSCC) in 1 import"),
        "{out}"
    );
    sync_until(
        || station(&data, &cfg),
        "the consignment introduced",
        || {
            let out = ok(station(&data, &cfg).args(["consignment", "show", K, "--json"]));
            let v: Value = serde_json::from_str(&out).unwrap();
            v["status"] == "INTRODUCED"
        },
    );
    let snap = sim.snapshot();
    assert_eq!(
        (
            snap.introduced,
            snap.introduced_twice,
            snap.aggregates_broken
        ),
        (8, 0, 0)
    );
    let in_circulation = sim
        .codes()
        .values()
        .filter(|s| **s == SimCodeState::Introduced)
        .count();
    assert_eq!(in_circulation, 8);
    // The import notice the registry stored names the two boxes and nothing else.
    let out = ok(station(&data, &cfg).args(["consignment", "show", K, "--json"]));
    let v: Value = serde_json::from_str(&out).unwrap();
    let import = v["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "IMPORT")
        .expect("an import document")
        .clone();
    let rid = import["registry_id"].as_str().unwrap();
    let mut stored = xtrace_client(&sim).document_codes(rid).unwrap();
    stored.sort();
    let mut want: Vec<String> = ssccs.iter().map(|s| format!("00{s}")).collect();
    want.sort();
    assert_eq!(stored, want);

    // The hand-over lists the SSCC hierarchy: a row per pair, under its box.
    let out_dir = dir.path().join("handover");
    ok(station(&data, &cfg).args([
        "consignment",
        "export",
        K,
        "--out",
        out_dir.to_str().unwrap(),
    ]));
    let csv = std::fs::read_to_string(out_dir.join(format!("{K}-boxes.csv"))).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 8, "{csv}");
    for s in &ssccs {
        assert_eq!(
            rows.iter().filter(|r| r.starts_with(s.as_str())).count(),
            4,
            "{csv}"
        );
    }
    assert!(rows.iter().all(|r| r.contains(",REPORTED,")), "{csv}");
    ok(station(&data, &cfg).args(["ledger", "check"]));
}
