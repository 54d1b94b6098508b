// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Code pull against the registry simulator over real HTTP on loopback, with and without faults.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use labelstation::codes::CodeFormat;
use labelstation::registry::client::{
    RegistryError, RetryPolicy, XtraceClient, XtraceSettings, check_url,
};
use labelstation::registry::pull::{Pull, PullError, PullEvent, PullOptions};
use labelstation::registry::sim::{Faults, RegistrySim, SimConfig};
use labelstation::registry::wire::{ErrorClass, Secret};
use labelstation::store::orders::OrderStatus;
use support::*;

fn sim(cfg: SimConfig) -> RegistrySim {
    RegistrySim::start("127.0.0.1:0".parse().unwrap(), cfg).unwrap()
}

fn client(sim: &RegistrySim, password: &str) -> XtraceClient {
    XtraceClient::new(XtraceSettings {
        url: sim.url(),
        login: "station".into(),
        password: Secret::new(password),
        product_group: "shoes".into(),
        business_place_id: 7,
        timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            attempts: 6,
            base: Duration::from_millis(5),
            max: Duration::from_millis(50),
        },
    })
    .unwrap()
}

fn opts(pack: u32) -> PullOptions {
    PullOptions {
        pack_size: pack,
        poll_interval: Duration::from_millis(5),
        ready_timeout: Duration::from_secs(10),
        max_per_order: 150_000,
    }
}

/// Every code in the ledger (AVAILABLE or otherwise), as element strings.
fn ledger_codes(l: &labelstation::store::Ledger) -> HashSet<String> {
    l.connection()
        .prepare("SELECT code FROM codes")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn pull_orders_waits_takes_packs_and_closes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 0, 40);
    let s = sim(SimConfig {
        pending_polls: 2,
        crypto_len: 88,
        ..SimConfig::default()
    });
    let mut c = client(&s, "station");
    let mut events = Vec::new();
    let f = CodeFormat::default();
    let actor = system();
    let report = Pull {
        ledger: &mut l,
        registry: &mut c,
        format: &f,
        opts: PullOptions {
            max_per_order: 5,
            ..opts(2)
        },
        actor: &actor,
    }
    .run(&gtin, 12, &mut |e| events.push(e))
    .unwrap();
    assert_eq!(report.new_codes, 12);
    assert_eq!(report.orders.len(), 3, "12 codes at most 5 per order");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, PullEvent::Waiting { .. })),
        "the buffer was PENDING first"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, PullEvent::Closed { .. }))
            .count(),
        3
    );
    let snap = s.snapshot();
    assert_eq!((snap.issued, snap.orders, snap.open_orders), (12, 3, 0));
    assert_eq!(
        ledger_codes(&l),
        s.codes().keys().cloned().collect::<HashSet<_>>()
    );
    assert_eq!(l.balance().unwrap()[0].states["AVAILABLE"], 12);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn faults_lose_nothing_and_order_nothing_twice() {
    let (mut errors, mut dropped, mut runs) = (0, 0, 0);
    for seed in 1..=8 {
        let (e, d, r) = pull_under_faults(seed);
        (errors, dropped, runs) = (errors + e, dropped + d, runs + r);
    }
    println!(
        "faults: 8 pulls took {runs} runs; {errors} errors injected, {dropped} answers dropped after commit"
    );
    assert!(errors > 10 && dropped > 10, "the faults were not exercised");
}

/// One pull of 60 codes through faults; returns (errors injected, answers dropped, runs needed).
fn pull_under_faults(seed: u64) -> (u64, u64, u32) {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 0, 41);
    let s = sim(SimConfig {
        token_ttl: Duration::from_millis(400),
        seed,
        ..SimConfig::default()
    });
    s.set_faults(Faults {
        error_rate: 0.25,
        latency: Duration::from_millis(1),
        drop_after_commit_rate: 0.3,
        ..Faults::default()
    });
    let f = CodeFormat::default();
    let actor = system();
    // Run the pull again after each failure, as the station does when the link comes back, asking only
    // for what is not ordered yet (an unfinished order is resumed by the run itself).
    let ordered = |l: &labelstation::store::Ledger| -> u32 {
        l.connection()
            .query_row(
                "SELECT coalesce(sum(quantity), 0) FROM orders WHERE status <> 'REJECTED'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs < 200, "the pull never completed");
        if runs % 3 == 0 {
            s.expire_tokens();
        }
        let want = 60 - ordered(&l);
        let mut c = client(&s, "station");
        let result = Pull {
            ledger: &mut l,
            registry: &mut c,
            format: &f,
            opts: PullOptions {
                max_per_order: 25,
                ..opts(7)
            },
            actor: &actor,
        }
        .run(&gtin, want, &mut |_| {});
        match result {
            Ok(_) if ordered(&l) == 60 => break,
            Ok(_) => {}
            Err(PullError::Registry(e)) => assert!(e.is_transient() || e.maybe_committed(), "{e}"),
            Err(e) => panic!("run {runs}: {e}"),
        }
    }
    s.set_faults(Faults::default());
    let snap = s.snapshot();
    let ours = ledger_codes(&l);
    assert_eq!(ours.len(), 60, "exactly the codes asked for");
    assert_eq!(
        ours,
        s.codes().keys().cloned().collect::<HashSet<_>>(),
        "every issued code is in the ledger"
    );
    let orders: i64 = l
        .connection()
        .query_row(
            "SELECT count(*) FROM orders WHERE status = 'CLOSED'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(snap.orders as i64, orders, "no order was placed twice");
    assert_eq!(snap.open_orders, 0);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    (snap.errors_injected, snap.answers_dropped, runs)
}

#[test]
fn refusals_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 0, 42);
    let s = sim(SimConfig {
        known_gtins: Some(HashSet::from(["04600000000000".to_owned()])),
        ..SimConfig::default()
    });
    let f = CodeFormat::default();
    let actor = system();
    let mut c = client(&s, "station");
    let e = Pull {
        ledger: &mut l,
        registry: &mut c,
        format: &f,
        opts: opts(5),
        actor: &actor,
    }
    .run(&gtin, 3, &mut |_| {})
    .unwrap_err();
    assert!(matches!(e, PullError::Rejected { .. }), "{e}");
    assert!(
        e.to_string().contains("not found in the GTIN registry"),
        "{e}"
    );
    let o = l.order(labelstation::store::orders::OrderId(1)).unwrap();
    assert_eq!(o.status, OrderStatus::Rejected);

    let mut bad = client(&s, "wrong");
    let e = Pull {
        ledger: &mut l,
        registry: &mut bad,
        format: &f,
        opts: opts(5),
        actor: &actor,
    }
    .run(&gtin, 3, &mut |_| {})
    .unwrap_err();
    let PullError::Registry(RegistryError::Api { error, .. }) = &e else {
        panic!("{e}")
    };
    assert_eq!(error.class(), ErrorClass::Unauthorized);
    assert!(e.to_string().contains("password_env"), "{e}");
    // The order written before the refused request waits, REQUESTED, for the next run.
    assert_eq!(l.unfinished_orders().unwrap().len(), 1);

    // The registry's 406 when Accept is missing, as documented: empty body.
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/api/users/authenticate", s.url()))
        .header("Accept", "application/json")
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 406);
    assert!(r.bytes().unwrap().is_empty());

    // Plain HTTP only to this machine.
    assert!(check_url("http://127.0.0.1:9").is_ok() && check_url("http://[::1]:9").is_ok());
    assert!(check_url("https://prod.markirovka.kz").is_ok());
    let e = check_url("http://prod.markirovka.kz").unwrap_err();
    assert!(e.to_string().contains("use https://"), "{e}");
}
