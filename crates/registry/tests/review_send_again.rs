// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! "Send the application again" against the registry simulator over real HTTP (issue 14): a verified code
//! the registry refused waits for a supervisor and is never re-sent by itself; once the cause is fixed and
//! the supervisor sends it again, the registry applies it exactly once, as the simulator's own record
//! shows.

use std::time::Duration;

use labelstation_codes::CodeFormat;
use labelstation_ledger::{Actor, CodeState, Ledger};
use labelstation_registry::pull::{Pull, PullOptions};
use labelstation_registry::sync::{SyncOptions, Syncer};
use labelstation_sim::registry::{RegistrySim, SimCodeState, SimConfig};
use labelstation_testkit::xtrace_client as client;
use labelstation_testkit::*;

fn sync(l: &mut Ledger, sim: &RegistrySim) -> labelstation_registry::sync::SyncReport {
    let actor = system();
    let mut c = client(sim);
    Syncer {
        ledger: l,
        registry: &mut c,
        opts: SyncOptions {
            batch_size: 30,
            poll_interval: Duration::from_millis(2),
            report_timeout: Duration::from_secs(10),
            ..SyncOptions::default()
        },
        actor: &actor,
    }
    .once(&mut |_| {})
    .unwrap()
}

#[test]
fn a_refused_verified_code_sent_again_is_applied_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("registry-sim.json");
    let cfg = SimConfig {
        state_file: Some(state.clone()),
        ..SimConfig::default()
    };
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), cfg.clone()).unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 0, 61);
    let actor = system();
    Pull {
        ledger: &mut l,
        registry: &mut client(&sim),
        format: &CodeFormat::default(),
        opts: PullOptions {
            poll_interval: Duration::from_millis(1),
            ..PullOptions::default()
        },
        actor: &actor,
    }
    .run(&gtin, 5, &mut |_| {})
    .unwrap();
    // One code the registry has not issued to this participant yet (it came in a file).
    let stranger = codes(&gtin, 1, 997).remove(0);
    l.import_codes(
        &gtin,
        "transfer.txt",
        code_file(std::slice::from_ref(&stranger)).as_bytes(),
        &CodeFormat::default(),
        &system(),
    )
    .unwrap();
    print_and_verify_all(&mut l, &gtin);
    let r = sync(&mut l, &sim);
    assert_eq!((r.reported, r.refused), (5, 1));
    let id = l.find_code(&stranger).unwrap().unwrap().id;
    let rec = l.code(id).unwrap();
    assert_eq!(rec.state, CodeState::NeedsReview);
    assert!(rec.verified_at_ms.is_some());

    // The cause is fixed in the registry: the code is issued to this participant now.
    drop(sim);
    let mut saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    saved["codes"][stranger.as_str()] = serde_json::json!("Received");
    std::fs::write(&state, serde_json::to_vec(&saved).unwrap()).unwrap();
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), cfg).unwrap();
    assert_eq!(sim.codes()[stranger.as_str()], SimCodeState::Received);

    // Nothing is sent again by itself: a refused code waits for the supervisor.
    let r = sync(&mut l, &sim);
    assert_eq!((r.reported, r.refused), (0, 0));
    assert_eq!(sim.codes()[stranger.as_str()], SimCodeState::Received);

    // The supervisor sends it again: one report, applied once.
    l.send_again(id, &Actor::supervisor("boss")).unwrap();
    assert_eq!(l.backlog().unwrap().utilisation_queued, 1);
    let r = sync(&mut l, &sim);
    assert_eq!((r.reported, r.refused), (1, 0));
    assert_eq!(sim.codes()[stranger.as_str()], SimCodeState::Applied);
    let snap = sim.snapshot();
    assert_eq!(snap.reported_twice, 0, "no code reported twice");
    // The simulator's record and the ledger agree: six codes applied, six reported.
    assert_eq!(snap.applied, 6);
    assert_eq!(l.balance().unwrap()[0].states["REPORTED"], 6);
    assert_eq!(l.code(id).unwrap().state, CodeState::Reported);
    // And never again.
    let r = sync(&mut l, &sim);
    assert_eq!((r.reported, r.refused), (0, 0));
    assert_eq!(sim.snapshot().reported_twice, 0);
    let utilisation_rows: i64 = l
        .connection()
        .query_row(
            "SELECT count(*) FROM outbox WHERE code_id = ?1 AND kind = 'UTILISATION'",
            [id.0],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(utilisation_rows, 1);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}
