// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Application reports against the registry simulator over real HTTP: every verified code is reported
//! exactly once, through errors, lost answers, refusals and restarts.

use std::time::Duration;

use labelstation_codes::CodeFormat;
use labelstation_ledger::{Actor, CodeState, Ledger};
use labelstation_registry::client::{Registry, UtilisationMeta, WriteOffMeta};
use labelstation_registry::sync::{SyncError, SyncEvent, SyncOptions, Syncer};
use labelstation_sim::registry::{Faults, RegistrySim, SimConfig};
use labelstation_testkit::xtrace_client as client;
use labelstation_testkit::*;

fn opts(batch: u32) -> SyncOptions {
    SyncOptions {
        batch_size: batch,
        poll_interval: Duration::from_millis(2),
        report_timeout: Duration::from_secs(10),
        // The simulator processes at once: a report of unknown outcome with no trace after this long
        // never reached it (a 503 before anything was done).
        settle_window: Duration::from_millis(300),
        check_max: Duration::from_millis(100),
        ..SyncOptions::default()
    }
}

/// A ledger with `n` codes pulled from `sim` and all of them printed and verified.
fn verified_ledger(dir: &std::path::Path, sim: &RegistrySim, n: u32) -> Ledger {
    let (mut l, gtin, _) = ledger_with_codes(dir, 0, 50);
    pull_from_sim(&mut l, sim, &gtin, n);
    print_and_verify_all(&mut l, &gtin);
    l
}

fn states(l: &Ledger) -> std::collections::BTreeMap<&'static str, u64> {
    l.balance().unwrap()[0].states.clone()
}

#[test]
fn every_verified_code_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = RegistrySim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig {
            report_polls: 2,
            ..SimConfig::default()
        },
    )
    .unwrap();
    let mut l = verified_ledger(dir.path(), &s, 40);
    let actor = system();
    let mut c = client(&s);
    let mut events = Vec::new();
    let r = Syncer {
        ledger: &mut l,
        registry: &mut c,
        opts: opts(16),
        actor: &actor,
    }
    .once(&mut |e| events.push(e))
    .unwrap();
    assert_eq!(r.reported, 40);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, SyncEvent::Accepted { .. }))
            .count(),
        3,
        "16 + 16 + 8"
    );
    assert_eq!(r.backlog.utilisation_queued + r.backlog.reports_open, 0);
    assert_eq!(states(&l)["REPORTED"], 40);
    let snap = s.snapshot();
    assert_eq!((snap.applied, snap.reported_twice), (40, 0));
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    // A second pass has nothing to do.
    let again = Syncer {
        ledger: &mut l,
        registry: &mut c,
        opts: opts(16),
        actor: &actor,
    }
    .once(&mut |_| {})
    .unwrap();
    assert_eq!(again.reported, 0);
}

#[test]
fn a_refused_code_is_isolated_and_the_rest_reported() {
    let dir = tempfile::tempdir().unwrap();
    let s = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let mut l = verified_ledger(dir.path(), &s, 20);
    // One code the registry never issued (imported from a file), verified like the others.
    let gtin = l.products().unwrap()[0].gtin.clone();
    let stranger = codes(&gtin, 1, 999);
    l.import_codes(
        &gtin,
        "stray.txt",
        code_file(&stranger).as_bytes(),
        &CodeFormat::default(),
        &system(),
    )
    .unwrap();
    print_and_verify_all(&mut l, &gtin);
    let actor = system();
    let mut c = client(&s);
    let mut events = Vec::new();
    let r = Syncer {
        ledger: &mut l,
        registry: &mut c,
        opts: opts(30),
        actor: &actor,
    }
    .once(&mut |e| events.push(e))
    .unwrap();
    assert_eq!((r.reported, r.refused), (20, 1));
    // The registry's reason names the code: it is isolated at once, no halving.
    assert!(
        !events.iter().any(|e| matches!(e, SyncEvent::Split { .. })),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SyncEvent::Refused { .. }))
    );
    assert_eq!(
        s.snapshot().reports_received,
        2,
        "the report, then the rest"
    );
    let refused = l.find_code(&stranger[0]).unwrap().unwrap();
    assert_eq!(refused.state, CodeState::NeedsReview);
    assert!(
        refused
            .reason
            .unwrap()
            .contains("not issued to this participant")
    );
    assert_eq!(states(&l)["REPORTED"], 20);
    assert_eq!(s.snapshot().reported_twice, 0);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn lost_answers_and_outages_neither_lose_nor_repeat_a_report() {
    for seed in 1..=4 {
        let dir = tempfile::tempdir().unwrap();
        let s = RegistrySim::start(
            "127.0.0.1:0".parse().unwrap(),
            SimConfig {
                seed,
                ..SimConfig::default()
            },
        )
        .unwrap();
        let mut l = verified_ledger(dir.path(), &s, 60);
        s.set_faults(Faults {
            error_rate: 0.2,
            latency: Duration::ZERO,
            drop_after_commit_rate: 0.4,
            ..Faults::default()
        });
        let actor = system();
        let mut passes = 0;
        loop {
            passes += 1;
            assert!(passes < 300, "sync never finished");
            // A new client each pass, and now and then a restart of the station (a new ledger handle).
            if passes % 4 == 0 {
                drop(l);
                l = Ledger::open(&ledger_path(dir.path()), "station-test").unwrap();
            }
            let mut c = client(&s);
            match (Syncer {
                ledger: &mut l,
                registry: &mut c,
                opts: opts(7),
                actor: &actor,
            })
            .once(&mut |_| {})
            {
                Ok(r) if r.backlog.utilisation_queued + r.backlog.reports_open == 0 => break,
                Ok(_) => {}
                Err(e) => assert!(e.is_transient(), "{e}"),
            }
        }
        let snap = s.snapshot();
        assert!(
            snap.answers_dropped > 0 && snap.errors_injected > 0,
            "faults not exercised"
        );
        assert_eq!(
            snap.reported_twice, 0,
            "seed {seed}: a code was reported twice"
        );
        assert_eq!(
            snap.applied, 60,
            "seed {seed}: every code applied in the registry"
        );
        assert_eq!(states(&l)["REPORTED"], 60, "seed {seed}");
        assert_eq!(l.check_invariants().unwrap(), vec![]);
        let resolved: i64 = l
            .connection()
            .query_row(
                "SELECT count(*) FROM reports WHERE status = 'RESOLVED'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        println!(
            "seed {seed}: {passes} passes, {resolved} reports resolved by lookup, {} dropped answers",
            snap.answers_dropped
        );
    }
}

#[test]
fn codes_without_a_country_wait_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let s = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let mut l = verified_ledger(dir.path(), &s, 3);
    l.connection()
        .execute("UPDATE products SET country = NULL", [])
        .unwrap();
    let actor = system();
    let mut c = client(&s);
    let e = Syncer {
        ledger: &mut l,
        registry: &mut c,
        opts: opts(10),
        actor: &actor,
    }
    .once(&mut |_| {})
    .unwrap_err();
    assert!(matches!(e, SyncError::NoCountry), "{e}");
    assert_eq!(
        l.backlog().unwrap().utilisation_queued,
        3,
        "nothing lost: still queued"
    );
    let r = Syncer {
        ledger: &mut l,
        registry: &mut c,
        opts: SyncOptions {
            default_country: Some("CN".into()),
            ..opts(10)
        },
        actor: &actor,
    }
    .once(&mut |_| {})
    .unwrap();
    assert_eq!(r.reported, 3);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

/// A ledger with `n` codes pulled from `sim`, nothing printed yet.
fn pulled_ledger(dir: &std::path::Path, sim: &RegistrySim, n: u32) -> Ledger {
    let (mut l, gtin, _) = ledger_with_codes(dir, 0, 50);
    pull_from_sim(&mut l, sim, &gtin, n);
    l
}

/// Write off the first `n` AVAILABLE codes (a supervisor's move), then print and verify the rest.
fn write_off_some_verify_rest(l: &mut Ledger, n: u32) {
    let sup = Actor::supervisor("sup");
    for c in l.codes_in_state(CodeState::Available, n).unwrap() {
        l.write_off(c.id, "sticker torn", &sup).unwrap();
    }
    let gtin = l.products().unwrap()[0].gtin.clone();
    print_and_verify_all(l, &gtin);
}

#[test]
fn write_offs_reach_the_registry_once_beside_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let s = RegistrySim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig {
            report_polls: 2,
            ..SimConfig::default()
        },
    )
    .unwrap();
    let mut l = pulled_ledger(dir.path(), &s, 30);
    write_off_some_verify_rest(&mut l, 10);
    assert_eq!(l.backlog().unwrap().write_off_queued, 10);
    let actor = system();
    let mut c = client(&s);
    let r = Syncer {
        ledger: &mut l,
        registry: &mut c,
        opts: opts(4),
        actor: &actor,
    }
    .once(&mut |_| {})
    .unwrap();
    assert_eq!(
        (r.reported, r.written_off, r.write_off_refused),
        (20, 10, 0)
    );
    assert_eq!(r.backlog.write_off_queued + r.backlog.reports_open, 0);
    let snap = s.snapshot();
    assert_eq!((snap.applied, snap.written_off), (20, 10));
    assert_eq!(
        (
            snap.reported_twice,
            snap.written_off_twice,
            snap.reported_after_write_off
        ),
        (0, 0, 0)
    );
    let accepted: i64 = l
        .connection()
        .query_row(
            "SELECT count(*) FROM outbox WHERE kind = 'WRITE_OFF' AND status = 'ACCEPTED'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(accepted, 10);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn a_refused_write_off_waits_for_a_supervisor_and_is_never_retried_alone() {
    let dir = tempfile::tempdir().unwrap();
    let s = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let mut l = pulled_ledger(dir.path(), &s, 6);
    // A code the registry never issued, written off with the others.
    let gtin = l.products().unwrap()[0].gtin.clone();
    let stranger = codes(&gtin, 1, 4242);
    l.import_codes(
        &gtin,
        "stray.txt",
        code_file(&stranger).as_bytes(),
        &CodeFormat::default(),
        &system(),
    )
    .unwrap();
    write_off_some_verify_rest(&mut l, 7);
    let actor = system();
    let mut c = client(&s);
    let mut events = Vec::new();
    let r = Syncer {
        ledger: &mut l,
        registry: &mut c,
        opts: opts(30),
        actor: &actor,
    }
    .once(&mut |e| events.push(e))
    .unwrap();
    assert_eq!((r.written_off, r.write_off_refused), (6, 1));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SyncEvent::WriteOffRefused { .. }))
    );
    let problems = l.write_off_problems(10).unwrap();
    assert_eq!(problems.len(), 1);
    let stray = l.find_code(&stranger[0]).unwrap().unwrap();
    assert_eq!(problems[0].code, stray.id);
    assert!(
        problems[0]
            .error
            .as_deref()
            .unwrap()
            .contains("CODE_NOT_FOUND"),
        "{:?}",
        problems[0].error
    );
    assert!(!problems[0].ident.contains('\u{1d}'), "no crypto tail");
    assert_eq!(r.backlog.write_off_refused, 1);
    // Another pass leaves it alone.
    let before = s.snapshot().requests;
    let again = Syncer {
        ledger: &mut l,
        registry: &mut c,
        opts: opts(30),
        actor: &actor,
    }
    .once(&mut |_| {})
    .unwrap();
    assert_eq!((again.written_off, again.write_off_refused), (0, 0));
    assert!(s.snapshot().requests - before <= 1, "nothing re-sent");
    // Only a supervisor may settle it; done by hand in the cabinet, it is accounted for.
    assert!(
        l.write_off_done(stray.id, "withdrawn in the cabinet", &actor)
            .is_err()
    );
    l.write_off_done(
        stray.id,
        "withdrawn in the cabinet",
        &Actor::supervisor("sup"),
    )
    .unwrap();
    assert!(l.write_off_problems(10).unwrap().is_empty());
    assert_eq!(l.backlog().unwrap().write_off_refused, 0);
    assert_eq!(s.snapshot().written_off_twice, 0);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn write_offs_survive_lost_answers_and_outages() {
    for seed in 1..=3 {
        let dir = tempfile::tempdir().unwrap();
        let s = RegistrySim::start(
            "127.0.0.1:0".parse().unwrap(),
            SimConfig {
                seed,
                ..SimConfig::default()
            },
        )
        .unwrap();
        let mut l = pulled_ledger(dir.path(), &s, 50);
        write_off_some_verify_rest(&mut l, 20);
        s.set_faults(Faults {
            error_rate: 0.2,
            latency: Duration::ZERO,
            drop_after_commit_rate: 0.4,
            ..Faults::default()
        });
        let actor = system();
        let mut passes = 0;
        loop {
            passes += 1;
            assert!(passes < 300, "sync never finished");
            if passes % 3 == 0 {
                drop(l);
                l = Ledger::open(&ledger_path(dir.path()), "station-test").unwrap();
            }
            let mut c = client(&s);
            match (Syncer {
                ledger: &mut l,
                registry: &mut c,
                opts: opts(6),
                actor: &actor,
            })
            .once(&mut |_| {})
            {
                Ok(r)
                    if r.backlog.utilisation_queued
                        + r.backlog.write_off_queued
                        + r.backlog.reports_open
                        == 0 =>
                {
                    break;
                }
                Ok(_) => {}
                Err(e) => assert!(e.is_transient(), "{e}"),
            }
        }
        let snap = s.snapshot();
        assert!(snap.answers_dropped > 0, "faults not exercised");
        assert_eq!(
            (
                snap.reported_twice,
                snap.written_off_twice,
                snap.reported_after_write_off
            ),
            (0, 0, 0),
            "seed {seed}"
        );
        assert_eq!((snap.applied, snap.written_off), (30, 20), "seed {seed}");
        assert_eq!(l.backlog().unwrap().write_off_refused, 0, "seed {seed}");
        assert_eq!(l.check_invariants().unwrap(), vec![]);
    }
}

#[test]
fn the_simulator_counts_a_second_write_off_and_a_report_after_write_off() {
    let dir = tempfile::tempdir().unwrap();
    let s = RegistrySim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig {
            report_polls: 0,
            ..SimConfig::default()
        },
    )
    .unwrap();
    let l = pulled_ledger(dir.path(), &s, 2);
    let code = l.codes_in_state(CodeState::Available, 1).unwrap()[0]
        .code
        .as_str()
        .to_owned();
    let mut c = client(&s);
    let meta = WriteOffMeta {
        date: "2026-01-31".into(),
        reason: "DEFECT".into(),
        reason_other: None,
    };
    let first = c
        .send_write_off(std::slice::from_ref(&code), &meta)
        .unwrap();
    assert_eq!(
        c.write_off_outcome(&first).unwrap(),
        labelstation_registry::client::ReportOutcome::Accepted
    );
    let second = c
        .send_write_off(std::slice::from_ref(&code), &meta)
        .unwrap();
    let outcome = c.write_off_outcome(&second).unwrap();
    assert!(
        matches!(&outcome, labelstation_registry::client::ReportOutcome::Rejected(r) if r.reason.contains("CODE_ALREADY_WRITTEN_OFF") && r.named == vec![0]),
        "{outcome:?}"
    );
    let util = UtilisationMeta {
        country: "CN".into(),
        production_date: "2026-01-31".into(),
        expiration_date: "2036-01-31".into(),
    };
    c.send_utilisation(std::slice::from_ref(&code), &util)
        .unwrap();
    let snap = s.snapshot();
    assert_eq!(
        (
            snap.written_off,
            snap.written_off_twice,
            snap.reported_after_write_off
        ),
        (1, 1, 1)
    );
}
