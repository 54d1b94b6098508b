// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `consignment submit` through the binary against the registry simulator: killed at any moment with
//! the sync passes that follow, it never files a document twice; with a running station's sync holding
//! its claim, it leaves the documents to it. The import documents' own rules, without the binary, are
//! `crates/registry/tests/registry_import.rs`.

mod support;

use std::time::Duration;

use labelstation::ledger::Ledger;
use labelstation::ledger::consignments::ConsignmentStatus;
use labelstation::ledger::documents::DocumentStatus;
use labelstation::registry::sim::{Faults, RegistrySim, SimConfig};
use support::*;

const K: &str = "KZ-IMP-1";

fn applied_consignment(dir: &std::path::Path, sim: &RegistrySim, n: u32, stray: usize) -> Ledger {
    support::consignment::applied_consignment(dir, sim, K, n, stray)
}

/// Crash suite: `consignment submit` and the sync passes that follow it are killed with SIGKILL at a
/// different moment of each round while the registry is slow and loses a tenth of its answers after
/// doing the work; then the link stays up until every code is in circulation. No document is filed
/// twice, no code introduced twice, and the ledger's invariants hold after every kill.
#[test]
fn sigkill_during_submit_and_its_follow_up_never_files_a_document_twice() {
    let rounds: u64 = std::env::var("LABELSTATION_IMPORT_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let dir = tempfile::tempdir().unwrap();
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let n = 60;
    let l = applied_consignment(dir.path(), &sim, n, 0);
    drop(l);
    sim.set_processing_delay(Duration::from_millis(300));
    sim.set_faults(Faults {
        latency: Duration::from_millis(15),
        drop_after_commit_rate: 0.1,
        ..Faults::default()
    });
    let cfg = station_config(
        dir.path(),
        &sim,
        "[registry.report]\nimport_document_size = 5\nsettle_window_secs = 3\nwait_secs = 10\n",
    );
    let cmd = || station_with(dir.path(), &cfg, "2468");
    let documents = || {
        Ledger::open(&ledger_path(dir.path()), "station-1")
            .unwrap()
            .documents_of(K)
            .unwrap()
    };
    let mut interrupted = 0;
    for round in 0..rounds {
        let args: &[&str] = if documents().is_empty() {
            &["consignment", "submit", K]
        } else {
            &["sync", "--once"]
        };
        let mut child = cmd()
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(30 + (round * 89) % 500));
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        let l = Ledger::open(&ledger_path(dir.path()), "station-1").unwrap();
        assert_eq!(l.check_invariants().unwrap(), vec![], "round {round}");
        let snap = sim.snapshot();
        assert_eq!(snap.introduced_twice, 0, "round {round}");
    }
    eprintln!("import crash suite: {interrupted} of {rounds} runs killed mid-way");
    assert!(
        interrupted * 2 >= rounds,
        "only {interrupted} of {rounds} kills hit a running command"
    );
    sim.set_faults(Faults::default());
    for _ in 0..20 {
        if documents().is_empty() {
            let out = run(cmd().args(["consignment", "submit", K, "--no-send"]));
            assert!(out.status.success(), "{}", stderr(&out));
        }
        let _ = run(cmd().args(["sync", "--once"]));
        let l = Ledger::open(&ledger_path(dir.path()), "station-1").unwrap();
        if l.consignment(K).unwrap().status == ConsignmentStatus::Introduced {
            break;
        }
        // A document lost with no trace goes again only after the settle window.
        std::thread::sleep(Duration::from_millis(500));
    }
    let l = Ledger::open(&ledger_path(dir.path()), "station-1").unwrap();
    let c = l.consignment(K).unwrap();
    assert_eq!(c.status, ConsignmentStatus::Introduced, "{c:?}");
    assert_eq!(c.lines[0].introduced, u64::from(n));
    let snap = sim.snapshot();
    assert_eq!((snap.introduced, snap.introduced_twice), (n as usize, 0));
    // Each document the ledger holds was taken by the registry once: as many documents received as
    // the ledger has registry ids, and those ids all different.
    let docs = l.documents_of(K).unwrap();
    let ids: std::collections::BTreeSet<&str> = docs
        .iter()
        .filter_map(|d| d.registry_id.as_deref())
        .collect();
    assert_eq!(ids.len(), docs.len(), "{docs:?}");
    assert_eq!(snap.documents_received, docs.len() as u64, "{docs:?}");
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

/// While the running station's sync holds its claim, `consignment submit` writes the documents and
/// leaves them to it: it says so and succeeds, and nothing reaches the registry from it.
#[test]
fn submit_leaves_the_documents_to_a_running_station() {
    let dir = tempfile::tempdir().unwrap();
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    drop(applied_consignment(dir.path(), &sim, 4, 0));
    let cfg = station_config(dir.path(), &sim, "");
    let cmd = || station_with(dir.path(), &cfg, "2468");
    let _claim = labelstation::ledger::StationLock::acquire_sync(dir.path()).unwrap();
    let out = run(cmd().args(["consignment", "submit", K]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("the running station's sync sends the documents"),
        "{}",
        stdout(&out)
    );
    let l = Ledger::open(&ledger_path(dir.path()), "station-1").unwrap();
    let docs = l.documents_of(K).unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!((docs[0].codes, docs[0].status), (4, DocumentStatus::Queued));
    assert_eq!(sim.snapshot().documents_received, 0);
}

/// A station config in `dir` pointed at `sim` (business place 7, then `extra` TOML), with the supervisor
/// PIN 2468 set through the binary.
fn station_config(dir: &std::path::Path, sim: &RegistrySim, extra: &str) -> std::path::PathBuf {
    let cfg = dir.join("station.toml");
    std::fs::write(
        &cfg,
        format!(
            "[registry]\napi = \"xtrace\"\nurl = \"{}\"\n[registry.xtrace]\nlogin = \"station\"\nbusiness_place_id = 7\n{extra}",
            sim.url()
        ),
    )
    .unwrap();
    let out = run(station_with(dir, &cfg, "2468")
        .args(["supervisor", "set-pin"])
        .env("LABELSTATION_NEW_PIN", "2468"));
    assert!(out.status.success(), "{}", stderr(&out));
    cfg
}
