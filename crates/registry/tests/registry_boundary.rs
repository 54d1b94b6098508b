// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The registry boundary against a simulator as hard as the registry: reports processed seconds after
//! they are sent (a lookup says RECEIVED until then), answers lost or replaced after the registry
//! committed (by a proxy's 503/520/524, by an unreadable 2xx), lookups that echo codes without their
//! crypto tail, refusals of whole reports, 429 with Retry-After. Every outcome is compared with the
//! simulator's own record of what it applied, never with the station's counters.

use std::time::{Duration, Instant};

use labelstation_codes::CodeFormat;
use labelstation_ledger::reports::ReportKind;
use labelstation_ledger::{Actor, CodeState, Ledger};
use labelstation_registry::client::RetryPolicy;
use labelstation_registry::oms_client::{OmsClient, OmsSettings};
use labelstation_registry::pull::{Pull, PullOptions};
use labelstation_registry::sync::{SyncOptions, SyncReport, Syncer};
use labelstation_registry::wire::Secret;
use labelstation_sim::registry::{
    Faults, LookupEcho, LookupLayout, Refusal, RegistrySim, SimApi, SimConfig,
};
use labelstation_testkit::xtrace_client as client;
use labelstation_testkit::*;

fn sim(cfg: SimConfig) -> RegistrySim {
    RegistrySim::start("127.0.0.1:0".parse().unwrap(), cfg).unwrap()
}

fn opts(batch: u32) -> SyncOptions {
    SyncOptions {
        batch_size: batch,
        poll_interval: Duration::from_millis(20),
        report_timeout: Duration::from_secs(20),
        ..SyncOptions::default()
    }
}

/// A ledger with `n` codes pulled from `sim`, all printed and verified.
fn verified(dir: &std::path::Path, sim: &RegistrySim, n: u32) -> Ledger {
    let (mut l, gtin, _) = ledger_with_codes(dir, 0, 50);
    pull_from_sim(&mut l, sim, &gtin, n);
    print_and_verify_all(&mut l, &gtin);
    l
}

/// Codes the registry never issued (imported from a file), printed and verified like the others.
fn strangers(l: &mut Ledger, n: usize, seed: u64) -> Vec<labelstation_codes::MarkingCode> {
    let gtin = l.products().unwrap()[0].gtin.clone();
    let stray = codes(&gtin, n, seed);
    l.import_codes(
        &gtin,
        "stray.txt",
        code_file(&stray).as_bytes(),
        &CodeFormat::default(),
        &system(),
    )
    .unwrap();
    print_and_verify_all(l, &gtin);
    stray
}

/// One pass with a fresh client; its result as text when it failed.
fn pass(l: &mut Ledger, s: &RegistrySim, o: &SyncOptions) -> Result<SyncReport, String> {
    let mut c = client(s);
    Syncer {
        ledger: l,
        registry: &mut c,
        opts: o.clone(),
        actor: &system(),
    }
    .once(&mut |_| {})
    .map_err(|e| e.to_string())
}

/// Passes until nothing is queued or open (or `limit` passes), pausing `pause` after a failed pass.
fn drain(l: &mut Ledger, s: &RegistrySim, o: &SyncOptions, limit: u32, pause: Duration) -> u32 {
    for n in 1..=limit {
        match pass(l, s, o) {
            Ok(r)
                if r.backlog.utilisation_queued
                    + r.backlog.write_off_queued
                    + r.backlog.reports_open
                    == 0 =>
            {
                return n;
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(50)),
            Err(_) => std::thread::sleep(pause),
        }
    }
    panic!(
        "the backlog was not drained in {limit} passes: {:?}",
        l.backlog().unwrap()
    );
}

fn count(l: &Ledger, state: CodeState) -> usize {
    l.codes_in_state(state, 100_000).unwrap().len()
}

/// Every code of the ledger applied in the simulator exactly once, none twice, none sent again while
/// a report carrying it was still being processed; the ledger says REPORTED for each.
fn applied_exactly_once(l: &Ledger, s: &RegistrySim, n: usize) {
    let snap = s.snapshot();
    assert_eq!(
        snap.resent_while_pending, 0,
        "codes sent again while the registry still processed them: {snap:?}"
    );
    assert_eq!(snap.reported_twice, 0, "{snap:?}");
    let apps = s.applications();
    let reported = l.codes_in_state(CodeState::Reported, 100_000).unwrap();
    assert_eq!(reported.len(), n, "REPORTED in the ledger");
    for c in &reported {
        assert_eq!(
            apps.get(c.code.as_str()),
            Some(&1),
            "{} applied once in the registry",
            c.code.masked()
        );
    }
    assert_eq!(apps.len(), n, "the registry applied no other code");
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn a_lost_answer_is_not_sent_again_while_the_registry_still_processes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(SimConfig {
        processing_delay: Duration::from_millis(1500),
        report_polls: 0,
        lookup_layout: LookupLayout::Wrapped,
        ..SimConfig::default()
    });
    let mut l = verified(dir.path(), &s, 24);
    s.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    // Passes while every answer is lost and the first report is still being processed.
    let until = Instant::now() + Duration::from_millis(1200);
    while Instant::now() < until {
        let _ = pass(&mut l, &s, &opts(24));
    }
    s.set_faults(Faults::default());
    drain(&mut l, &s, &opts(24), 40, Duration::from_millis(100));
    applied_exactly_once(&l, &s, 24);
    assert_eq!(l.review_queue(100).unwrap().len(), 0);
}

#[test]
fn a_lookup_that_echoes_codes_without_their_tail_settles_a_lost_answer() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(SimConfig {
        lookup_echo: LookupEcho::Identification,
        lookup_layout: LookupLayout::Wrapped,
        search_lists_utilisation: false,
        ..SimConfig::default()
    });
    let mut l = verified(dir.path(), &s, 20);
    s.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    let _ = pass(&mut l, &s, &opts(20));
    s.set_faults(Faults::default());
    drain(&mut l, &s, &opts(20), 20, Duration::from_millis(50));
    applied_exactly_once(&l, &s, 20);
    assert_eq!(l.review_queue(100).unwrap().len(), 0, "no code refused");
    assert_eq!(
        s.snapshot().reports_received,
        1,
        "one report, settled by the lookup"
    );
}

#[test]
fn any_5xx_after_the_registry_committed_is_an_unknown_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(SimConfig {
        lookup_layout: LookupLayout::Wrapped,
        ..SimConfig::default()
    });
    let mut l = verified(dir.path(), &s, 24);
    // A proxy's 503, a CDN's 520 and 524, each after the registry took the report.
    s.set_faults(Faults {
        error_after_commit_rate: 1.0,
        after_commit_statuses: vec![503, 520, 524],
        ..Faults::default()
    });
    for _ in 0..3 {
        let _ = pass(&mut l, &s, &opts(8));
    }
    s.set_faults(Faults::default());
    drain(&mut l, &s, &opts(8), 30, Duration::from_millis(50));
    assert!(s.snapshot().answers_garbled >= 3, "{:?}", s.snapshot());
    applied_exactly_once(&l, &s, 24);
    assert_eq!(l.review_queue(100).unwrap().len(), 0);
}

#[test]
fn a_2xx_that_cannot_be_read_is_an_unknown_outcome_not_a_reason_to_send_again() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(SimConfig {
        lookup_layout: LookupLayout::Wrapped,
        ..SimConfig::default()
    });
    let mut l = verified(dir.path(), &s, 30);
    // A numeric reportId, an empty 201, a proxy's HTML page with 200: each after the registry took it.
    s.set_faults(Faults {
        garbled_after_commit_rate: 1.0,
        ..Faults::default()
    });
    for _ in 0..3 {
        let _ = pass(&mut l, &s, &opts(10));
    }
    s.set_faults(Faults::default());
    drain(&mut l, &s, &opts(10), 30, Duration::from_millis(50));
    assert!(s.snapshot().answers_garbled >= 3);
    applied_exactly_once(&l, &s, 30);
    assert_eq!(l.review_queue(100).unwrap().len(), 0);
}

#[test]
fn a_refusal_of_the_whole_report_sends_no_code_to_review_and_few_reports() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(SimConfig::default());
    let mut l = verified(dir.path(), &s, 40);
    s.set_refusal(Some(Refusal::when_processed(
        "insufficient balance on the personal account",
    )));
    for _ in 0..3 {
        let _ = pass(&mut l, &s, &opts(40));
    }
    let snap = s.snapshot();
    assert!(
        snap.reports_received <= 3,
        "{} reports sent to a registry that refuses every report",
        snap.reports_received
    );
    assert_eq!(
        l.review_queue(100).unwrap().len(),
        0,
        "no code goes to review for a refusal of the report"
    );
    assert_eq!(
        count(&l, CodeState::Verified),
        40,
        "every code still waits to be reported"
    );
    assert_eq!(snap.applied, 0);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn a_transient_error_in_the_middle_of_a_descent_does_not_start_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(SimConfig {
        refusals_name_codes: false,
        ..SimConfig::default()
    });
    let mut l = verified(dir.path(), &s, 16);
    let stray = strangers(&mut l, 1, 777);
    // The root (17) is refused naming no code; then 8 accepted, 9 refused, then a 429 on the next.
    s.throttle_report(4);
    drain(&mut l, &s, &opts(17), 40, Duration::from_millis(1100));
    let refused: Vec<Vec<String>> = s
        .reports()
        .into_iter()
        .filter(|r| matches!(r.outcome, Some(Err(_))))
        .map(|r| {
            let mut c = r.codes;
            c.sort();
            c
        })
        .collect();
    let mut unique = refused.clone();
    unique.dedup();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        refused.len(),
        "a refused set of codes was sent again: the descent restarted"
    );
    assert_eq!(s.snapshot().retry_after_ignored, 0);
    let code = l.find_code(&stray[0]).unwrap().unwrap();
    assert_eq!(
        code.state,
        CodeState::NeedsReview,
        "the stranger found by halving"
    );
    assert_eq!(s.snapshot().applied, 16);
    assert_eq!(s.snapshot().reported_twice, 0);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn the_code_lookup_is_asked_in_chunks_the_registry_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(SimConfig {
        lookup_max: 10,
        lookup_layout: LookupLayout::Wrapped,
        search_lists_utilisation: false,
        ..SimConfig::default()
    });
    let mut l = verified(dir.path(), &s, 30);
    s.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    let _ = pass(&mut l, &s, &opts(30));
    s.set_faults(Faults::default());
    drain(&mut l, &s, &opts(30), 10, Duration::from_millis(50));
    applied_exactly_once(&l, &s, 30);
    assert_eq!(s.snapshot().reports_received, 1);
}

#[test]
fn a_report_that_cannot_be_settled_steps_aside_and_the_rest_flows() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(SimConfig::default());
    let mut l = verified(dir.path(), &s, 10);
    // Nothing can tell what becomes of the first report: its answer is lost, and the lookup and the
    // document storage are down.
    s.set_unavailable(&["/public/api/cod/", "/public/api/v1/doc/storage/"]);
    s.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    let _ = pass(&mut l, &s, &opts(10));
    s.set_faults(Faults::default());
    let gtin = l.products().unwrap()[0].gtin.clone();
    let mut c = client(&s);
    Pull {
        ledger: &mut l,
        registry: &mut c,
        format: &CodeFormat::default(),
        opts: PullOptions {
            poll_interval: Duration::from_millis(1),
            ..PullOptions::default()
        },
        actor: &system(),
    }
    .run(&gtin, 12, &mut |_| {})
    .unwrap();
    print_and_verify_all(&mut l, &gtin);
    for _ in 0..3 {
        let _ = pass(&mut l, &s, &opts(10));
    }
    assert_eq!(
        count(&l, CodeState::Reported),
        12,
        "the later codes were reported past the stuck report"
    );
    assert_eq!(
        l.backlog().unwrap().reports_open,
        1,
        "the stuck report waits, neither lost nor sent again"
    );
    assert_eq!(s.snapshot().applied, 22);
    assert_eq!(s.snapshot().reported_twice, 0);
    // Once the registry can be asked again, it is settled from its evidence.
    s.set_unavailable(&[]);
    drain(&mut l, &s, &opts(10), 20, Duration::from_millis(50));
    applied_exactly_once(&l, &s, 22);
}

#[test]
fn a_lost_write_off_is_not_sent_again_while_the_registry_processes_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(SimConfig {
        processing_delay: Duration::from_millis(1500),
        report_polls: 0,
        lookup_layout: LookupLayout::Wrapped,
        ..SimConfig::default()
    });
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 0, 50);
    let mut c = client(&s);
    Pull {
        ledger: &mut l,
        registry: &mut c,
        format: &CodeFormat::default(),
        opts: PullOptions {
            poll_interval: Duration::from_millis(1),
            ..PullOptions::default()
        },
        actor: &system(),
    }
    .run(&gtin, 12, &mut |_| {})
    .unwrap();
    let sup = Actor::supervisor("sup");
    for code in l.codes_in_state(CodeState::Available, 12).unwrap() {
        l.write_off(code.id, "sticker torn", &sup).unwrap();
    }
    s.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    let until = Instant::now() + Duration::from_millis(1200);
    while Instant::now() < until {
        let _ = pass(&mut l, &s, &opts(12));
    }
    s.set_faults(Faults::default());
    drain(&mut l, &s, &opts(12), 40, Duration::from_millis(100));
    let snap = s.snapshot();
    assert_eq!(
        (snap.written_off, snap.written_off_twice),
        (12, 0),
        "{snap:?}"
    );
    assert_eq!(
        snap.documents_received, 1,
        "one withdrawal document, found again by its evidence"
    );
    assert_eq!(l.backlog().unwrap().write_off_refused, 0);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn retry_after_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(SimConfig {
        report_polls: 2,
        lookup_layout: LookupLayout::Wrapped,
        ..SimConfig::default()
    });
    let mut l = verified(dir.path(), &s, 20);
    s.set_faults(Faults {
        throttle_rate: 0.3,
        retry_after: Duration::from_secs(1),
        ..Faults::default()
    });
    drain(&mut l, &s, &opts(5), 60, Duration::from_millis(1100));
    let snap = s.snapshot();
    assert!(snap.throttled > 0, "throttling not exercised");
    assert_eq!(
        snap.retry_after_ignored, 0,
        "a request came back before its Retry-After: {snap:?}"
    );
    applied_exactly_once(&l, &s, 20);
}

#[test]
fn an_open_report_is_asked_about_only_at_the_registry_it_went_to() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(SimConfig::default());
    let mut l = verified(dir.path(), &s, 12);
    // Two codes went to the older platform (oms-v2) before the station was switched to xtrace.
    let other = l
        .start_report(ReportKind::Utilisation, "oms-v2", 2)
        .unwrap()
        .unwrap();
    l.report_sent(other.id, "oms-report-17").unwrap();
    let r =
        pass(&mut l, &s, &opts(10)).expect("the pass goes on past a report of another registry");
    assert_eq!(r.reported, 10);
    assert_eq!(s.snapshot().applied, 10);
    let still = l.report(other.id).unwrap();
    assert_eq!(
        format!("{:?}", still.status),
        "Sent",
        "left for its own registry"
    );
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn an_oms_report_only_forwarded_is_not_counted_as_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(SimConfig {
        api: SimApi::OmsV2,
        processing_delay: Duration::from_millis(800),
        report_polls: 0,
        ..SimConfig::default()
    });
    let mut c = OmsClient::new(OmsSettings {
        url: s.url(),
        oms_id: SimConfig::default().oms_id,
        client_token: Secret::new("sim-client-token"),
        extension: "shoes".into(),
        contact_person: "Склад".into(),
        participant_id: String::new(),
        timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(5),
            max: Duration::from_millis(20),
        },
    })
    .unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 0, 50);
    Pull {
        ledger: &mut l,
        registry: &mut c,
        format: &CodeFormat::default(),
        opts: PullOptions {
            poll_interval: Duration::from_millis(1),
            ..PullOptions::default()
        },
        actor: &system(),
    }
    .run(&gtin, 6, &mut |_| {})
    .unwrap();
    print_and_verify_all(&mut l, &gtin);
    // The registry forwards the report (SENT) and refuses it when it processes it.
    s.set_refusal(Some(Refusal::when_processed(
        "business place 7 is not registered",
    )));
    let _ = Syncer {
        ledger: &mut l,
        registry: &mut c,
        opts: SyncOptions {
            report_timeout: Duration::from_secs(5),
            ..opts(6)
        },
        actor: &system(),
    }
    .once(&mut |_| {});
    assert_eq!(s.snapshot().applied, 0);
    assert_eq!(
        count(&l, CodeState::Reported),
        0,
        "SENT only means forwarded: nothing is reported"
    );
    assert_eq!(l.review_queue(100).unwrap().len(), 0);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

/// Done when (issue 14): against a registry with a 3 s processing delay, 20 % of answers lost after it
/// committed, 20 % replaced by a 5xx, 10 % unreadable, and lookups that echo codes without their
/// tail, reports of 40: 250 codes verified are all applied exactly once and none goes to review; 3 codes
/// the registry never issued are isolated for review.
#[test]
fn done_when_250_codes_reach_a_hard_registry_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(SimConfig {
        processing_delay: Duration::from_secs(3),
        report_polls: 0,
        lookup_echo: LookupEcho::Identification,
        search_lists_utilisation: false,
        seed: 14,
        ..SimConfig::default()
    });
    let mut l = verified(dir.path(), &s, 250);
    let stray = strangers(&mut l, 3, 4242);
    s.set_faults(Faults {
        drop_after_commit_rate: 0.2,
        error_after_commit_rate: 0.2,
        garbled_after_commit_rate: 0.1,
        ..Faults::default()
    });
    let o = SyncOptions {
        report_timeout: Duration::from_secs(30),
        poll_interval: Duration::from_millis(200),
        ..opts(40)
    };
    drain(&mut l, &s, &o, 40, Duration::from_millis(200));
    let snap = s.snapshot();
    assert!(
        snap.answers_dropped + snap.answers_garbled > 0,
        "faults not exercised: {snap:?}"
    );
    let applied = l.codes_in_state(CodeState::Reported, 1000).unwrap();
    assert_eq!(applied.len(), 250);
    let apps = s.applications();
    for c in &applied {
        assert_eq!(
            apps.get(c.code.as_str()),
            Some(&1),
            "{} applied once",
            c.code.masked()
        );
    }
    assert_eq!(
        (snap.applied, snap.reported_twice, snap.resent_while_pending),
        (250, 0, 0),
        "{snap:?}"
    );
    let review = l.review_queue(100).unwrap();
    assert_eq!(
        review.len(),
        3,
        "only the three strangers wait for a supervisor"
    );
    for st in &stray {
        assert_eq!(
            l.find_code(st).unwrap().unwrap().state,
            CodeState::NeedsReview
        );
    }
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn halving_finds_a_culprit_the_registry_does_not_name_wherever_it_sits() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(SimConfig {
        refusals_name_codes: false,
        ..SimConfig::default()
    });
    // Five good codes, a stranger, five good codes: the stranger sits first in the second half, so a
    // half of one is refused before the other half of its parent is decided, and waits for it.
    let mut l = verified(dir.path(), &s, 5);
    let stray = strangers(&mut l, 1, 991);
    let gtin = l.products().unwrap()[0].gtin.clone();
    let mut c = client(&s);
    Pull {
        ledger: &mut l,
        registry: &mut c,
        format: &CodeFormat::default(),
        opts: PullOptions {
            poll_interval: Duration::from_millis(1),
            ..PullOptions::default()
        },
        actor: &system(),
    }
    .run(&gtin, 5, &mut |_| {})
    .unwrap();
    print_and_verify_all(&mut l, &gtin);
    drain(&mut l, &s, &opts(11), 10, Duration::from_millis(50));
    let code = l.find_code(&stray[0]).unwrap().unwrap();
    assert_eq!(code.state, CodeState::NeedsReview);
    assert!(
        code.reason.unwrap().contains("cannot be applied"),
        "the registry's reason"
    );
    assert_eq!(count(&l, CodeState::Reported), 10);
    let snap = s.snapshot();
    assert_eq!((snap.applied, snap.reported_twice), (10, 0));
    // 11 → 5 ✓ | 6 ✗ → 3 ✗ | 3 ✓ → 1 ✗ | 2 ✓: seven reports.
    assert_eq!(snap.reports_received, 7, "{:?}", s.reports());
    assert_eq!(l.held_reports().unwrap(), vec![]);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn a_report_refused_when_sent_for_a_reason_naming_no_code_is_held_too() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(SimConfig::default());
    let mut l = verified(dir.path(), &s, 30);
    s.set_refusal(Some(Refusal {
        reason: "businessPlaceId 7 does not belong to the participant".into(),
        at_send: true,
    }));
    for _ in 0..3 {
        let _ = pass(&mut l, &s, &opts(30));
    }
    let snap = s.snapshot();
    assert_eq!(
        snap.refused_whole, 3,
        "the report and its two halves, nothing more"
    );
    assert_eq!(snap.reports_received, 0);
    let held = l.held_reports().unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].codes, 30);
    assert!(
        held[0].reason.contains("businessPlaceId 7"),
        "{}",
        held[0].reason
    );
    assert!(l.review_queue(100).unwrap().is_empty());
    s.set_refusal(None);
    assert_eq!(l.resend_held(None, &Actor::supervisor("sup")).unwrap(), 30);
    assert!(
        l.resend_held(None, &system()).is_err(),
        "only a supervisor sends a held report again"
    );
    drain(&mut l, &s, &opts(30), 10, Duration::from_millis(50));
    applied_exactly_once(&l, &s, 30);
}
