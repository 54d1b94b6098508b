// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The background sync runner against the simulator over loopback: drains a backlog, notices the link
//! going down and coming back (the simulator restarted on the same port, its state kept), answers a
//! nudge, holds the sync claim, and stops promptly.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use labelstation_codes::CodeFormat;
use labelstation_ledger::{Actor, CodeState, JobMode, Ledger, ScanProof, StationLock};
use labelstation_registry::client::{Registry, RetryPolicy, XtraceClient, XtraceSettings};
use labelstation_registry::pull::{Pull, PullOptions};
use labelstation_registry::sync::{Background, LinkState, SyncOptions, SyncState};
use labelstation_registry::wire::Secret;
use labelstation_sim::registry::{RegistrySim, SimConfig};
use labelstation_testkit::*;

fn factory(url: String) -> labelstation_registry::sync::ClientFactory {
    Box::new(move || {
        let c = XtraceClient::new(XtraceSettings {
            url: url.clone(),
            login: "station".into(),
            password: Secret::new("station"),
            product_group: "shoes".into(),
            business_place_id: 7,
            timeout: Duration::from_secs(2),
            retry: RetryPolicy {
                attempts: 2,
                base: Duration::from_millis(5),
                max: Duration::from_millis(20),
            },
        })?;
        Ok(Box::new(c) as Box<dyn Registry>)
    })
}

fn wait_for(bg: &Background, what: &str, ok: impl Fn(&SyncState) -> bool) -> SyncState {
    let start = Instant::now();
    loop {
        let st = bg.state();
        if ok(&st) {
            return st;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{what}: {st:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Verify up to `n` AVAILABLE codes (a batch job whose scans all match).
fn verify(l: &mut Ledger, n: usize) {
    let gtin = l.products().unwrap()[0].gtin.clone();
    let op = Actor::operator("op");
    let job = l.open_job(&gtin, JobMode::Batch, &op).unwrap();
    for _ in 0..n {
        let r = l.reserve(job, &op).unwrap();
        l.mark_sent(r.id, job, "sim:", b"", false, &op).unwrap();
        l.mark_printed(r.id, job, &op).unwrap();
        let raw = r.code.as_str().as_bytes().to_vec();
        l.verify(
            r.id,
            job,
            &ScanProof {
                raw: &raw,
                aim: None,
            },
            &op,
        )
        .unwrap();
    }
}

#[test]
fn the_runner_drains_notices_the_link_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("sim.json");
    let sim_cfg = || SimConfig {
        state_file: Some(state_file.clone()),
        report_polls: 1,
        ..SimConfig::default()
    };
    let s = RegistrySim::start("127.0.0.1:0".parse().unwrap(), sim_cfg()).unwrap();
    let addr: SocketAddr = s.addr();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 0, 80);
    let mut c = factory(s.url())().unwrap();
    Pull {
        ledger: &mut l,
        registry: c.as_mut(),
        format: &CodeFormat::default(),
        opts: PullOptions {
            poll_interval: Duration::from_millis(1),
            ..PullOptions::default()
        },
        actor: &system(),
    }
    .run(&gtin, 60, &mut |_| {})
    .unwrap();
    verify(&mut l, 40);

    let opts = SyncOptions {
        batch_size: 16,
        poll_interval: Duration::from_millis(5),
        report_timeout: Duration::from_secs(5),
        ..SyncOptions::default()
    };
    let mut bg = Background::spawn(
        &ledger_path(dir.path()),
        "station-test",
        factory(s.url()),
        opts,
        Duration::from_millis(200),
    )
    .unwrap();
    let st = wait_for(&bg, "drained", |st| {
        st.link == LinkState::Up && st.backlog == 0 && st.in_flight_reports == 0 && st.passes > 0
    });
    assert!(st.last_success_ms.is_some());
    assert_eq!(s.snapshot().applied, 40);
    // The claim is the runner's during a pass only: between passes a supervisor's `review settle` or
    // `review resend` may take it, and the runner waits for it while it is taken.
    let claim = StationLock::acquire_sync(dir.path()).expect("free between passes");
    let before = bg.state().passes;
    bg.nudge();
    std::thread::sleep(Duration::from_millis(600));
    let st = bg.state();
    assert!(
        st.passes > before
            && st
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("another labelstation process")),
        "{st:?}"
    );
    drop(claim);
    wait_for(&bg, "runs again once free", |st| {
        st.passes > before + 1 && st.link == LinkState::Up
    });
    // Another process sees how it went.
    let status = Ledger::open(&ledger_path(dir.path()), "other")
        .unwrap()
        .sync_status()
        .unwrap();
    assert_eq!(status.link, "UP");
    assert!(status.last_success_ms.is_some());

    // The registry goes away; codes verified meanwhile wait.
    drop(s);
    verify(&mut l, 10);
    bg.nudge();
    let st = wait_for(&bg, "link down", |st| {
        matches!(st.link, LinkState::Down { .. })
    });
    assert!(
        st.last_error
            .as_deref()
            .unwrap()
            .contains("no usable answer"),
        "{st:?}"
    );
    let status = Ledger::open(&ledger_path(dir.path()), "other")
        .unwrap()
        .sync_status()
        .unwrap();
    assert_eq!(status.link, "DOWN");
    assert_eq!(
        status.backlog.utilisation_queued + status.backlog.reports_open,
        10
    );

    // It comes back on the same port, with its state: the runner drains the rest.
    let s = RegistrySim::start(addr, sim_cfg()).unwrap();
    wait_for(&bg, "link up and drained", |st| {
        st.link == LinkState::Up && st.backlog == 0 && st.in_flight_reports == 0
    });
    assert_eq!(s.snapshot().applied, 50);

    // A nudge runs a pass long before the interval would.
    bg.stop();
    let mut bg = Background::spawn(
        &ledger_path(dir.path()),
        "station-test",
        factory(s.url()),
        SyncOptions {
            poll_interval: Duration::from_millis(5),
            ..SyncOptions::default()
        },
        Duration::from_secs(3600),
    )
    .unwrap();
    wait_for(&bg, "first pass", |st| st.passes >= 1);
    verify(&mut l, 10);
    bg.nudge();
    wait_for(&bg, "nudged pass", |st| {
        st.passes >= 2 && st.backlog == 0 && st.in_flight_reports == 0
    });
    assert_eq!(s.snapshot().applied, 60);
    assert_eq!(s.snapshot().reported_twice, 0);

    // stop() joins promptly and releases the claim.
    let t = Instant::now();
    bg.stop();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    drop(StationLock::acquire_sync(dir.path()).unwrap());
    drop(bg);
    assert_eq!(l.balance().unwrap()[0].states["REPORTED"], 60);
    assert_eq!(l.codes_in_state(CodeState::Verified, 10).unwrap().len(), 0);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn a_runner_waits_while_another_process_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let s = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let (_l, _, _) = ledger_with_codes(dir.path(), 0, 81);
    let held = StationLock::acquire_sync(dir.path()).unwrap();
    let bg = Background::spawn(
        &ledger_path(dir.path()),
        "station-test",
        factory(s.url()),
        SyncOptions::default(),
        Duration::from_millis(50),
    )
    .unwrap();
    let st = wait_for(&bg, "busy", |st| st.last_error.is_some());
    assert!(
        st.last_error
            .unwrap()
            .contains("another labelstation process")
    );
    drop(held);
    wait_for(&bg, "runs once free", |st| st.link == LinkState::Up);
}

#[test]
fn an_error_that_is_not_the_link_backs_off_too() {
    let dir = tempfile::tempdir().unwrap();
    let s = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let (mut l, _, _) = ledger_with_codes(dir.path(), 30, 82);
    verify(&mut l, 5);
    // The product has no country and there is no default: every pass fails the same way, and the
    // registry is not to blame.
    l.connection()
        .execute("UPDATE products SET country = NULL", [])
        .unwrap();
    drop(l);
    let bg = Background::spawn(
        &ledger_path(dir.path()),
        "station-test",
        factory(s.url()),
        SyncOptions::default(),
        Duration::from_millis(40),
    )
    .unwrap();
    let first = wait_for(&bg, "first failure", |st| st.last_error.is_some());
    assert!(first.last_error.unwrap().contains("country"));
    std::thread::sleep(Duration::from_millis(2000));
    let st = bg.state();
    // 2 s at a 40 ms interval is 50 passes without backoff; doubling from 20 ms to 320 ms is about 12.
    assert!(
        st.passes < 20,
        "{} passes in 2 s: the same error repeated at the normal interval",
        st.passes
    );
    // Not the link's fault: the link state is not claimed down.
    assert!(!matches!(st.link, LinkState::Down { .. }), "{st:?}");
}
