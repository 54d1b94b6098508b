// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The oms-v2 client against the oms-v2 simulator over real HTTP on loopback: pulls through lost blocks
//! and outages, application reports exactly once, write-offs refused with a clear reason.

use std::collections::HashSet;
use std::time::Duration;

use labelstation_codes::CodeFormat;
use labelstation_ledger::reports::ReportId;
use labelstation_ledger::{Actor, CodeState, Ledger};
use labelstation_registry::client::{RegistryError, RetryPolicy};
use labelstation_registry::oms_client::{OmsClient, OmsSettings};
use labelstation_registry::pull::{Pull, PullError, PullOptions};
use labelstation_registry::sync::{SyncEvent, SyncOptions, Syncer};
use labelstation_registry::wire::Secret;
use labelstation_sim::registry::{Faults, RegistrySim, SimApi, SimConfig};
use labelstation_testkit::*;

fn sim(cfg: SimConfig) -> RegistrySim {
    RegistrySim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig {
            api: SimApi::OmsV2,
            ..cfg
        },
    )
    .unwrap()
}

fn client_with(sim: &RegistrySim, token: &str) -> OmsClient {
    oms_client_with(sim, token)
}

fn client(sim: &RegistrySim) -> OmsClient {
    client_with(sim, &SimConfig::default().client_token)
}

fn pull_opts(pack: u32, per_order: u32) -> PullOptions {
    PullOptions {
        pack_size: pack,
        poll_interval: Duration::from_millis(2),
        ready_timeout: Duration::from_secs(10),
        max_per_order: per_order,
    }
}

fn sync_opts(batch: u32) -> SyncOptions {
    SyncOptions {
        batch_size: batch,
        poll_interval: Duration::from_millis(2),
        report_timeout: Duration::from_secs(10),
        check_max: Duration::from_millis(100),
        ..SyncOptions::default()
    }
}

fn ledger_codes(l: &Ledger) -> HashSet<String> {
    l.connection()
        .prepare("SELECT code FROM codes")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn ordered(l: &Ledger) -> u32 {
    l.connection()
        .query_row(
            "SELECT coalesce(sum(quantity), 0) FROM orders WHERE status <> 'REJECTED'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

/// Pull `n` codes, running the pull again after each failure as the station does.
fn pull_until_done(l: &mut Ledger, s: &RegistrySim, n: u32) -> u32 {
    let gtin = l.products().unwrap()[0].gtin.clone();
    let actor = system();
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs < 200, "the pull never completed");
        let want = n - ordered(l);
        let mut c = client(s);
        match (Pull {
            ledger: l,
            registry: &mut c,
            format: &CodeFormat::default(),
            opts: pull_opts(7, 25),
            actor: &actor,
        })
        .run(&gtin, want, &mut |_| {})
        {
            Ok(_) if ordered(l) == n && l.unfinished_orders().unwrap().is_empty() => return runs,
            Ok(_) => {}
            Err(PullError::Registry(e)) => assert!(e.is_transient() || e.maybe_committed(), "{e}"),
            Err(e) => panic!("run {runs}: {e}"),
        }
    }
}

#[test]
fn pull_takes_blocks_and_closes_orders() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, _, _) = ledger_with_codes(dir.path(), 0, 60);
    let s = sim(SimConfig {
        pending_polls: 2,
        crypto_len: 88,
        ..SimConfig::default()
    });
    assert_eq!(pull_until_done(&mut l, &s, 40), 1);
    let snap = s.snapshot();
    assert_eq!((snap.issued, snap.orders, snap.open_orders), (40, 2, 0));
    assert_eq!(
        ledger_codes(&l),
        s.codes().keys().cloned().collect::<HashSet<_>>()
    );
    let api: String = l
        .connection()
        .query_row("SELECT DISTINCT api FROM orders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(api, "oms-v2");
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn pull_through_faults_loses_no_block_and_orders_nothing_twice() {
    let (mut errors, mut dropped) = (0, 0);
    for seed in 1..=6 {
        let dir = tempfile::tempdir().unwrap();
        let (mut l, _, _) = ledger_with_codes(dir.path(), 0, 61);
        let s = sim(SimConfig {
            seed,
            ..SimConfig::default()
        });
        s.set_faults(Faults {
            error_rate: 0.25,
            latency: Duration::from_millis(1),
            drop_after_commit_rate: 0.3,
            ..Faults::default()
        });
        pull_until_done(&mut l, &s, 60);
        s.set_faults(Faults::default());
        let snap = s.snapshot();
        assert_eq!(ledger_codes(&l).len(), 60, "seed {seed}");
        assert_eq!(
            ledger_codes(&l),
            s.codes().keys().cloned().collect::<HashSet<_>>(),
            "seed {seed}: every issued code is in the ledger"
        );
        let closed: i64 = l
            .connection()
            .query_row(
                "SELECT count(*) FROM orders WHERE status = 'CLOSED'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(snap.orders as i64, closed, "seed {seed}: no order twice");
        assert_eq!(snap.open_orders, 0);
        assert_eq!(l.check_invariants().unwrap(), vec![]);
        (errors, dropped) = (
            errors + snap.errors_injected,
            dropped + snap.answers_dropped,
        );
    }
    assert!(errors > 10 && dropped > 10, "faults not exercised");
}

#[test]
fn reports_reach_the_registry_once_even_when_a_supervisor_must_settle_a_lost_answer() {
    for seed in 1..=3 {
        let dir = tempfile::tempdir().unwrap();
        let (mut l, gtin, _) = ledger_with_codes(dir.path(), 0, 62);
        let s = sim(SimConfig {
            seed,
            report_polls: 1,
            ..SimConfig::default()
        });
        pull_until_done(&mut l, &s, 50);
        print_and_verify_all(&mut l, &gtin);
        s.set_faults(Faults {
            error_rate: 0.2,
            latency: Duration::ZERO,
            drop_after_commit_rate: 0.3,
            ..Faults::default()
        });
        let actor = system();
        let sup = Actor::supervisor("sup");
        let (mut passes, mut settled) = (0, 0);
        loop {
            passes += 1;
            assert!(passes < 300, "sync never finished");
            if passes % 4 == 0 {
                drop(l);
                l = Ledger::open(&ledger_path(dir.path()), "station-test").unwrap();
            }
            let mut c = client(&s);
            let mut unresolvable = Vec::new();
            let r = Syncer {
                ledger: &mut l,
                registry: &mut c,
                opts: sync_opts(8),
                actor: &actor,
            }
            .once(&mut |e| {
                if let SyncEvent::Unresolvable { report, .. } = e {
                    unresolvable.push(report)
                }
            });
            // The supervisor looks each unresolvable report up in the cabinet (here: the simulator).
            for report in l.open_reports().unwrap() {
                let noted: Option<String> = l
                    .connection()
                    .query_row(
                        "SELECT reason FROM reports WHERE id = ?1",
                        [report.id.0],
                        |r| r.get(0),
                    )
                    .unwrap();
                // Only what the sync handed over (its note says so); a report just found lost is the
                // sync's to look at first.
                if report.registry_id.is_some() || !noted.is_some_and(|n| n.contains("web cabinet"))
                {
                    continue;
                }
                let first = report.codes[0].1.as_str().to_owned();
                let applied =
                    s.codes()[&first] == labelstation_sim::registry::SimCodeState::Applied;
                assert!(
                    l.settle_report(ReportId(report.id.0), applied, &actor)
                        .is_err(),
                    "a supervisor's move"
                );
                l.settle_report(ReportId(report.id.0), applied, &sup)
                    .unwrap();
                settled += 1;
            }
            match r {
                Ok(r) if r.backlog.utilisation_queued + r.backlog.reports_open == 0 => break,
                Ok(_) => {}
                Err(e) => assert!(e.is_transient(), "{e}"),
            }
        }
        let snap = s.snapshot();
        assert_eq!(snap.reported_twice, 0, "seed {seed}");
        assert_eq!(snap.applied, 50, "seed {seed}");
        assert_eq!(l.balance().unwrap()[0].states["REPORTED"], 50);
        assert_eq!(l.check_invariants().unwrap(), vec![]);
        println!("seed {seed}: {passes} passes, {settled} reports settled by a supervisor");
    }
}

#[test]
fn write_offs_are_refused_once_with_a_clear_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 0, 63);
    let s = sim(SimConfig::default());
    pull_until_done(&mut l, &s, 6);
    let sup = Actor::supervisor("sup");
    for c in l.codes_in_state(CodeState::Available, 2).unwrap() {
        l.write_off(c.id, "torn", &sup).unwrap();
    }
    print_and_verify_all(&mut l, &gtin);
    let actor = system();
    let mut c = client(&s);
    let mut events = Vec::new();
    let r = Syncer {
        ledger: &mut l,
        registry: &mut c,
        opts: sync_opts(30),
        actor: &actor,
    }
    .once(&mut |e| events.push(e))
    .unwrap();
    assert_eq!((r.reported, r.write_off_refused), (4, 2));
    let problems = l.write_off_problems(10).unwrap();
    assert_eq!(problems.len(), 2);
    let msg = problems[0].error.clone().unwrap();
    assert_eq!(
        msg,
        "write-off is not supported by this registry (oms-v2): withdraw the code in the registry's web cabinet, then mark it done"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SyncEvent::WriteOffUnsupported { codes: 2, .. }))
    );
    // No hot loop: the next pass sends nothing for them.
    let before = s.snapshot().requests;
    let again = Syncer {
        ledger: &mut l,
        registry: &mut c,
        opts: sync_opts(30),
        actor: &actor,
    }
    .once(&mut |_| {})
    .unwrap();
    assert_eq!(
        (again.write_off_refused, s.snapshot().requests),
        (0, before)
    );
    assert_eq!(again.backlog.write_off_refused, 2);
    for p in problems {
        l.write_off_done(p.code, "withdrawn in the cabinet", &sup)
            .unwrap();
    }
    assert_eq!(l.backlog().unwrap().write_off_refused, 0);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn refusals_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 0, 64);
    let s = sim(SimConfig {
        known_gtins: Some(HashSet::from(["04600000000000".to_owned()])),
        ..SimConfig::default()
    });
    let actor = system();
    let mut c = client(&s);
    let e = Pull {
        ledger: &mut l,
        registry: &mut c,
        format: &CodeFormat::default(),
        opts: pull_opts(5, 150_000),
        actor: &actor,
    }
    .run(&gtin, 3, &mut |_| {})
    .unwrap_err();
    assert!(
        e.to_string().contains("not found in the GTIN registry"),
        "{e}"
    );
    let mut bad = client_with(&s, "stolen");
    let e = Pull {
        ledger: &mut l,
        registry: &mut bad,
        format: &CodeFormat::default(),
        opts: pull_opts(5, 150_000),
        actor: &actor,
    }
    .run(&gtin, 3, &mut |_| {})
    .unwrap_err();
    assert!(
        matches!(&e, PullError::Registry(RegistryError::Config(m)) if m.contains("client_token_env")),
        "{e}"
    );
    assert!(!e.to_string().contains("stolen"), "the token never shows");
    assert!(
        OmsClient::new(OmsSettings {
            url: "http://omscloud.example.kz".into(),
            oms_id: "x".into(),
            client_token: Secret::new("t"),
            extension: "shoes".into(),
            contact_person: "p".into(),
            participant_id: String::new(),
            timeout: Duration::from_secs(1),
            retry: RetryPolicy::default(),
        })
        .is_err(),
        "plain HTTP to another machine"
    );
}
