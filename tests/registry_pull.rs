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

// ---- orders that cannot be finished, on both APIs ------------------------------------------------

use labelstation::codes::Gtin;
use labelstation::codes::generate::gtin_from_number;
use labelstation::registry::client::Registry;
use labelstation::registry::oms_client::{OmsClient, OmsSettings};
use labelstation::registry::sim::{OrderFaults, OrderSearch, SimApi};

const APIS: [SimApi; 2] = [SimApi::Xtrace, SimApi::OmsV2];

fn sim_for(api: SimApi, cfg: SimConfig) -> RegistrySim {
    sim(SimConfig { api, ..cfg })
}

fn client_for(s: &RegistrySim, api: SimApi) -> Box<dyn Registry> {
    match api {
        SimApi::Xtrace => Box::new(client(s, "station")),
        SimApi::OmsV2 => Box::new(
            OmsClient::new(OmsSettings {
                url: s.url(),
                oms_id: SimConfig::default().oms_id,
                client_token: Secret::new(SimConfig::default().client_token),
                extension: "shoes".into(),
                contact_person: "Склад №3".into(),
                participant_id: String::new(),
                timeout: Duration::from_secs(5),
                retry: RetryPolicy {
                    attempts: 3,
                    base: Duration::from_millis(5),
                    max: Duration::from_millis(20),
                },
            })
            .unwrap(),
        ),
    }
}

/// A ledger with two products and no codes.
fn two_products(dir: &std::path::Path, seed: u64) -> (labelstation::store::Ledger, Gtin, Gtin) {
    let (mut l, a, _) = ledger_with_codes(dir, 0, seed);
    let b = gtin_from_number(460_700_100_000 + seed);
    l.add_product(product(&b), &system()).unwrap();
    (l, a, b)
}

fn pull_with(
    l: &mut labelstation::store::Ledger,
    r: &mut dyn Registry,
    gtin: &Gtin,
    n: u32,
    opts: PullOptions,
) -> Result<labelstation::registry::pull::PullReport, PullError> {
    let f = CodeFormat::default();
    let actor = system();
    Pull {
        ledger: l,
        registry: r,
        format: &f,
        opts,
        actor: &actor,
    }
    .run(gtin, n, &mut |_| {})
}

/// The codes of the ledger that came from registry orders, by GTIN, must be exactly the codes the
/// registry handed out for orders carrying one of the ledger's keys.
fn only_our_orders_codes(l: &labelstation::store::Ledger, s: &RegistrySim) {
    let keys: HashSet<String> = l
        .connection()
        .prepare("SELECT order_key FROM orders")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let ours: u32 = s
        .orders()
        .iter()
        .filter(|o| o.key.as_ref().is_some_and(|k| keys.contains(k)))
        .map(|o| o.issued)
        .sum();
    assert_eq!(ledger_codes(l).len() as u32, ours);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn an_order_refused_for_a_reason_unrelated_to_its_gtin_blocks_no_other_product() {
    for (i, api) in APIS.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let (mut l, a, b) = two_products(dir.path(), 50 + i as u64);
        let s = sim_for(api, SimConfig::default());
        // The registry refuses every order now: the balance is spent.
        s.set_order_faults(OrderFaults {
            refuse: vec!["insufficient balance on the personal account".into(); 5],
            ..OrderFaults::default()
        });
        let mut c = client_for(&s, api);
        let e = pull_with(&mut l, c.as_mut(), &a, 4, opts(5)).unwrap_err();
        assert!(
            e.to_string().contains("insufficient balance"),
            "{api:?}: {e}"
        );
        // The balance is topped up; product B's pull goes through, and A's refused order is not sent
        // again behind the operator's back.
        s.set_order_faults(OrderFaults::default());
        let r = pull_with(&mut l, c.as_mut(), &b, 3, opts(5));
        assert!(r.is_ok(), "{api:?}: {:?}", r.err().map(|e| e.to_string()));
        let available = |l: &labelstation::store::Ledger, g: &Gtin| {
            l.balance()
                .unwrap()
                .iter()
                .find(|x| x.gtin == g.as_str())
                .unwrap()
                .states["AVAILABLE"]
        };
        assert_eq!(available(&l, &b), 3, "{api:?}");
        assert_eq!(available(&l, &a), 0, "{api:?}");
        assert!(
            s.orders().iter().all(|o| o.gtin != a.as_str()),
            "{api:?}: the refused order was sent again"
        );
        // The refused order is over (the registry never made it) and says why.
        let first = l.order(labelstation::store::orders::OrderId(1)).unwrap();
        assert_eq!(first.status, OrderStatus::Rejected, "{api:?}");
        assert!(
            first
                .reason
                .as_deref()
                .unwrap_or("")
                .contains("insufficient balance"),
            "{api:?}: {first:?}"
        );
        // Ordering A again is possible and places a new order.
        pull_with(&mut l, c.as_mut(), &a, 2, opts(5)).unwrap();
        only_our_orders_codes(&l, &s);
    }
}

#[test]
fn an_order_the_registry_has_not_made_yet_blocks_no_other_product() {
    for (i, api) in APIS.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let (mut l, a, b) = two_products(dir.path(), 60 + i as u64);
        let s = sim_for(
            api,
            SimConfig {
                pending_polls: 1_000_000,
                ..SimConfig::default()
            },
        );
        let mut c = client_for(&s, api);
        let short = PullOptions {
            ready_timeout: Duration::from_millis(30),
            ..opts(5)
        };
        let e = pull_with(&mut l, c.as_mut(), &a, 4, short).unwrap_err();
        assert!(matches!(e, PullError::NotReady { .. }), "{api:?}: {e}");
        // Product B's pull is not held up by A's order (whose codes are still being made)...
        let mut c2 = client_for(&s, api);
        let e = pull_with(&mut l, c2.as_mut(), &b, 3, short).unwrap_err();
        // ...here B's own order is slow too; it is B's order that says so, not A's.
        match e {
            PullError::NotReady { order, .. } => {
                assert_ne!(order, 1, "{api:?}: A's order held B up")
            }
            e => panic!("{api:?}: {e}"),
        }
        assert_eq!(l.unfinished_orders().unwrap().len(), 2, "{api:?}");
    }
}

#[test]
fn an_order_search_that_answers_someone_elses_order_is_not_taken() {
    /// What becomes of B's order whose creation answer was lost.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Then {
        /// The other order does not show its key and is for another GTIN: not found, ordered again.
        OrderedAgain,
        /// The answer claims the station's key for an order of another GTIN: the order waits for a
        /// supervisor rather than taking a guess.
        Stuck,
        /// Every order is listed with its own key: B's is found among them.
        Found,
    }
    let cases = [
        (
            SimApi::Xtrace,
            OrderSearch::Misdirected,
            false,
            Then::OrderedAgain,
        ),
        (SimApi::Xtrace, OrderSearch::Misdirected, true, Then::Stuck),
        (SimApi::Xtrace, OrderSearch::IgnoresKey, true, Then::Found),
        (SimApi::OmsV2, OrderSearch::Misdirected, true, Then::Stuck),
    ];
    for (i, (api, search, echo, then)) in cases.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let (mut l, a, b) = two_products(dir.path(), 70 + i as u64);
        let s = sim_for(api, SimConfig::default());
        let mut c = client_for(&s, api);
        // Another order exists in the registry (product A, finished normally).
        pull_with(&mut l, c.as_mut(), &a, 3, opts(5)).unwrap();
        // B's order is made, its answer lost; the search then answers A's order.
        s.set_order_faults(OrderFaults {
            lose_create_answers: 1,
            search,
            echo_po_number: echo,
            ..OrderFaults::default()
        });
        let case = format!("{api:?} {search:?} echo={echo}");
        for _ in 0..3 {
            let _ = pull_with(&mut l, c.as_mut(), &b, 2, opts(5));
            if l.unfinished_orders().unwrap().is_empty() {
                break;
            }
        }
        let a_order = &s.orders()[0];
        let taken: Vec<Option<String>> = l
            .connection()
            .prepare("SELECT registry_id FROM orders WHERE gtin = ?1")
            .unwrap()
            .query_map([b.as_str()], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            !taken.iter().flatten().any(|id| *id == a_order.id),
            "{case}: B's order took A's registry order"
        );
        only_our_orders_codes(&l, &s);
        let first_b = l.order(labelstation::store::orders::OrderId(2)).unwrap();
        let registry_b: Vec<_> = s
            .orders()
            .into_iter()
            .filter(|o| o.key.as_deref() == Some(first_b.order_key.as_str()))
            .collect();
        match then {
            Then::OrderedAgain => {
                assert_eq!(first_b.status, OrderStatus::Closed, "{case}");
                assert_eq!(
                    registry_b.len(),
                    2,
                    "{case}: the lost one and the one sent again"
                );
            }
            Then::Stuck => {
                assert_eq!(first_b.status, OrderStatus::Requested, "{case}");
                assert!(
                    first_b
                        .last_error
                        .as_deref()
                        .unwrap_or("")
                        .contains("not the order the station made"),
                    "{case}: {first_b:?}"
                );
                assert_eq!(registry_b.len(), 1, "{case}: sent twice");
            }
            Then::Found => {
                assert_eq!(first_b.status, OrderStatus::Closed, "{case}");
                assert_eq!(registry_b.len(), 1, "{case}: sent twice");
                assert_eq!(
                    first_b.registry_id.as_deref(),
                    Some(registry_b[0].id.as_str())
                );
            }
        }
    }
}

fn supervisor() -> labelstation::store::Actor {
    labelstation::store::Actor::supervisor("sup")
}

fn close_abandoned(l: &mut labelstation::store::Ledger, r: &mut dyn Registry) -> Vec<PullEvent> {
    let f = CodeFormat::default();
    let actor = system();
    let mut events = Vec::new();
    Pull {
        ledger: l,
        registry: r,
        format: &f,
        opts: opts(5),
        actor: &actor,
    }
    .close_abandoned(&mut |e| events.push(e))
    .unwrap();
    events
}

#[test]
fn a_stuck_order_holds_up_its_product_until_abandoned_and_its_codes_never_arrive() {
    use labelstation::store::orders::OrderId;
    for (i, api) in APIS.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let (mut l, a, b) = two_products(dir.path(), 80 + i as u64);
        let s = sim_for(api, SimConfig::default());
        let mut c = client_for(&s, api);
        let short = PullOptions {
            ready_timeout: Duration::from_millis(30),
            ..opts(5)
        };
        // The registry takes its time making A's codes.
        s.set_order_faults(OrderFaults {
            hold_pending: true,
            ..OrderFaults::default()
        });
        assert!(matches!(
            pull_with(&mut l, c.as_mut(), &a, 4, short).unwrap_err(),
            PullError::NotReady { .. }
        ));
        // More of A is not ordered while A's order is stuck.
        let e = pull_with(&mut l, c.as_mut(), &a, 2, short).unwrap_err();
        assert!(
            matches!(e, PullError::Stuck { order: 1, .. }),
            "{api:?}: {e}"
        );
        assert!(e.to_string().contains("abandons it"), "{e}");
        let o1 = l.order(OrderId(1)).unwrap();
        assert!(
            o1.last_error
                .as_deref()
                .unwrap_or("")
                .contains("not made the codes"),
            "{o1:?}"
        );
        // Only a supervisor abandons.
        assert!(
            l.order_abandoned(OrderId(1), "registry too slow", &system())
                .is_err()
        );
        let o = l
            .order_abandoned(OrderId(1), "registry too slow", &supervisor())
            .unwrap();
        assert_eq!(o.status, OrderStatus::Abandoned);
        // While the registry still makes the codes, xTrace refuses to close a PENDING order: the
        // abandoned order stays watched.
        let events = close_abandoned(&mut l, c.as_mut());
        let a_order = s
            .orders()
            .into_iter()
            .find(|o| o.gtin == a.as_str())
            .unwrap();
        match api {
            SimApi::Xtrace => {
                assert!(
                    events
                        .iter()
                        .any(|e| matches!(e, PullEvent::AbandonedOpen { order: 1, .. })),
                    "{events:?}"
                );
                assert!(!a_order.closed);
                assert_eq!(l.order(OrderId(1)).unwrap().registry_closed_at_ms, None);
            }
            SimApi::OmsV2 => {
                assert!(a_order.closed, "{events:?}");
            }
        }
        // The registry finishes A's codes; the next pull (for B) closes the abandoned order first, and
        // none of its codes is taken.
        s.set_order_faults(OrderFaults::default());
        let r = pull_with(&mut l, c.as_mut(), &b, 3, opts(5)).unwrap();
        assert_eq!(r.new_codes, 3);
        let a_order = s
            .orders()
            .into_iter()
            .find(|o| o.gtin == a.as_str())
            .unwrap();
        assert!(
            a_order.closed,
            "{api:?}: the abandoned registry order is still open"
        );
        assert_eq!(
            a_order.issued, 0,
            "{api:?}: codes of the abandoned order were handed out"
        );
        assert!(l.order(OrderId(1)).unwrap().registry_closed_at_ms.is_some());
        // A pack for it is refused.
        let pack = vec!["not even a code: the order is checked first".to_owned()];
        assert!(
            l.store_pack(OrderId(1), "late", &pack, &CodeFormat::default(), &system())
                .is_err()
        );
        // A is ordered again as a new order.
        let r = pull_with(&mut l, c.as_mut(), &a, 2, opts(5)).unwrap();
        assert_eq!(r.new_codes, 2);
        only_our_orders_codes(&l, &s);
    }
}

#[test]
fn an_abandoned_order_whose_creation_surfaces_late_is_found_and_closed() {
    use labelstation::store::orders::OrderId;
    for (i, api) in APIS.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let (mut l, a, b) = two_products(dir.path(), 90 + i as u64);
        let s = sim_for(api, SimConfig::default());
        let mut c = client_for(&s, api);
        // The registry makes A's order, the answer is lost, and the order shows in searches only later.
        s.set_order_faults(OrderFaults {
            lose_create_answers: 1,
            search_lag: Duration::from_millis(600),
            echo_po_number: true,
            ..OrderFaults::default()
        });
        let e = pull_with(&mut l, c.as_mut(), &a, 4, opts(5)).unwrap_err();
        assert!(e.stops_every_order(), "{api:?}: {e}");
        assert_eq!(l.order(OrderId(1)).unwrap().status, OrderStatus::Requested);
        l.order_abandoned(OrderId(1), "ordered by mistake", &supervisor())
            .unwrap();
        let events = close_abandoned(&mut l, c.as_mut());
        assert!(
            events
                .iter()
                .any(|e| matches!(e, PullEvent::AbandonedOpen { order: 1, .. })),
            "{api:?}: {events:?}"
        );
        std::thread::sleep(Duration::from_millis(700));
        pull_with(&mut l, c.as_mut(), &b, 2, opts(5)).unwrap();
        let a_order = s
            .orders()
            .into_iter()
            .find(|o| o.gtin == a.as_str())
            .unwrap();
        let o1 = l.order(OrderId(1)).unwrap();
        assert_eq!(
            o1.registry_id.as_deref(),
            Some(a_order.id.as_str()),
            "{api:?}"
        );
        assert!(
            a_order.closed && a_order.issued == 0,
            "{api:?}: {a_order:?}"
        );
        assert!(o1.registry_closed_at_ms.is_some());
        only_our_orders_codes(&l, &s);
    }
}
