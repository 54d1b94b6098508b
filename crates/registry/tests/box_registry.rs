// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Boxes through the registry simulator over real HTTP (issue 18): the aggregation of a box goes once
//! its pairs' application is accepted and reaches the registry once through lost answers; the
//! consignment then goes into circulation by its box codes and its loose pairs; a refused aggregation
//! waits for a supervisor; a pallet goes on after its boxes; an unpacked box's pairs go loose. Every
//! outcome is checked against the simulator's own record (its aggregates, codes in circulation, boxes
//! broken up by a pair declared alone), not against the ledger's sums.

use std::time::Duration;

use labelstation_codes::CompanyPrefix;
use labelstation_ledger::boxes::{BoxLevel, BoxState};
use labelstation_ledger::consignments::{ConsignmentStatus, Declaration};
use labelstation_ledger::documents::{DocumentKind, DocumentStatus};
use labelstation_ledger::{Actor, CodeId, Ledger, StoreError};
use labelstation_registry::client::XtraceClient;
use labelstation_registry::sync::{SyncEvent, SyncReport, Syncer};
use labelstation_sim::registry::{Faults, Refusal, RegistrySim, SimCodeState, SimConfig};
use labelstation_testkit::consignment::{labelled_consignment, quick_sync};
use labelstation_testkit::*;

const K: &str = "KZ-BOX-1";

fn sync(l: &mut Ledger, sim: &RegistrySim) -> (SyncReport, Vec<SyncEvent>) {
    let actor = system();
    let mut c = xtrace_client(sim);
    let mut events = Vec::new();
    let r = Syncer {
        ledger: l,
        registry: &mut c,
        opts: quick_sync(),
        actor: &actor,
    }
    .once(&mut |e| events.push(e))
    .unwrap();
    (r, events)
}

fn sup() -> Actor {
    Actor::supervisor("sup")
}

/// The consignment's verified pairs, in code order.
fn pairs(l: &Ledger) -> Vec<CodeId> {
    l.connection()
        .prepare("SELECT code_id FROM consignment_codes WHERE consignment = ?1 ORDER BY code_id")
        .unwrap()
        .query_map([K], |r| Ok(CodeId(r.get(0)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Open a box (or pallet) of `capacity`, fill it with `items` (pairs, or boxes for a pallet), and take
/// it to LABEL_VERIFIED as the line does. Returns its SSCC.
fn packed(
    l: &mut Ledger,
    level: BoxLevel,
    capacity: u32,
    pairs: &[CodeId],
    boxes: &[&str],
) -> String {
    let op = Actor::operator("op");
    let prefix = CompanyPrefix::parse("4870001").unwrap();
    let b = l.open_box(K, level, capacity, &prefix, 0, &op).unwrap();
    for p in pairs {
        l.add_to_box(&b.sscc, *p, &op).unwrap();
    }
    for x in boxes {
        l.put_on_pallet(x, &b.sscc).unwrap();
    }
    for s in [
        BoxState::Closed,
        BoxState::LabelPrinted,
        BoxState::LabelVerified,
    ] {
        l.box_step(&b.sscc, s, &op).unwrap();
    }
    b.sscc
}

fn declare(l: &mut Ledger) {
    l.declare_consignment(
        K,
        &Declaration {
            number: "55201/071226/0000042".into(),
            date: "2026-12-07".into(),
            customs_office: Some("55201".into()),
        },
        &sup(),
    )
    .unwrap();
}

fn client(sim: &RegistrySim) -> XtraceClient {
    xtrace_client(sim)
}

/// The entries of the registry's stored copy of a ledger document, as the client reads them back.
fn stored_entries(l: &Ledger, sim: &RegistrySim, id: i64) -> Vec<String> {
    let rid = l
        .documents_of(K)
        .unwrap()
        .into_iter()
        .find(|d| d.id == id)
        .and_then(|d| d.registry_id)
        .expect("the document has its registry id");
    client(sim).document_codes(&rid).unwrap()
}

#[test]
fn boxes_are_aggregated_once_through_lost_answers_and_the_consignment_goes_in_by_its_box_codes() {
    let dir = tempfile::tempdir().unwrap();
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let mut l = labelled_consignment(dir.path(), &sim, K, 10, 0);
    let p = pairs(&l);
    // Packed as the line packs: verified pairs, before their application is reported.
    let a = packed(&mut l, BoxLevel::Box, 4, &p[..4], &[]);
    let b = packed(&mut l, BoxLevel::Box, 4, &p[4..8], &[]);
    // The registry answers late and loses every answer after committing.
    sim.set_processing_delay(Duration::from_millis(150));
    sim.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    let before = sim.snapshot().documents_received;
    let (r, events) = sync(&mut l, &sim);
    assert_eq!(r.reported, 10, "{events:?}");
    assert_eq!(r.boxes_reported, 2, "{events:?}");
    let snap = sim.snapshot();
    assert_eq!(
        (
            snap.aggregates,
            snap.aggregated_twice,
            snap.documents_received - before
        ),
        (2, 0, 1),
        "both boxes in one aggregation, posted once"
    );
    for s in [&a, &b] {
        assert_eq!(l.box_record(s).unwrap().state, BoxState::Reported);
    }
    // What the registry stored: each box's SSCC as `00` + 18 digits, then its four pairs.
    let agg = l.documents_of(K).unwrap();
    assert_eq!(agg.len(), 1);
    assert_eq!(
        (agg[0].kind, agg[0].units, agg[0].codes),
        (DocumentKind::Aggregation, 2, 8)
    );
    let stored = stored_entries(&l, &sim, agg[0].id);
    assert_eq!(stored.len(), 10, "{stored:?}");
    assert_eq!(stored[0], format!("00{a}"));
    assert_eq!(stored[5], format!("00{b}"));
    // Another pass files nothing again.
    sim.set_faults(Faults::default());
    let _ = sync(&mut l, &sim);
    assert_eq!(sim.snapshot().documents_received - before, 1);

    // The import: two boxes by their codes and the two loose pairs, the answer lost again.
    declare(&mut l);
    let done = l
        .submit_consignment(K, "xtrace", 100, false, false, &sup())
        .unwrap();
    assert_eq!((done.documents.len(), done.boxes, done.codes), (1, 2, 10));
    sim.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    let (r, events) = sync(&mut l, &sim);
    assert_eq!(r.introduced, 10, "{events:?}");
    let snap = sim.snapshot();
    assert_eq!(
        (
            snap.introduced,
            snap.introduced_twice,
            snap.aggregates_broken
        ),
        (10, 0, 0)
    );
    assert_eq!(snap.documents_received - before, 2);
    let stored = stored_entries(&l, &sim, done.documents[0]);
    assert_eq!(stored.len(), 4, "two loose pairs and two boxes: {stored:?}");
    assert_eq!(&stored[2..], [format!("00{a}"), format!("00{b}")]);
    let c = l.consignment(K).unwrap();
    assert_eq!(
        (c.status, c.lines[0].introduced),
        (ConsignmentStatus::Introduced, 10)
    );
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    // A box is never declared twice: the schema refuses a second live import unit.
    let second = l.connection().execute(
        "INSERT INTO document_units (document, pos, kind, sscc) VALUES (?1, 9, 'IMPORT', ?2)",
        rusqlite::params![done.documents[0], a],
    );
    assert!(
        second.is_err(),
        "a box went into a second live import document"
    );
}

#[test]
fn a_boxed_pair_waits_for_its_box_and_is_never_declared_alone() {
    let dir = tempfile::tempdir().unwrap();
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let mut l = labelled_consignment(dir.path(), &sim, K, 6, 0);
    let p = pairs(&l);
    // A box still open: its pairs' application is accepted, the box is not aggregated.
    let op = Actor::operator("op");
    let open = l
        .open_box(
            K,
            BoxLevel::Box,
            4,
            &CompanyPrefix::parse("4870001").unwrap(),
            0,
            &op,
        )
        .unwrap();
    for x in &p[..3] {
        l.add_to_box(&open.sscc, *x, &op).unwrap();
    }
    let (r, _) = sync(&mut l, &sim);
    assert_eq!((r.reported, r.boxes_reported), (6, 0));
    declare(&mut l);
    let e = l
        .submit_consignment(K, "xtrace", 100, false, false, &sup())
        .unwrap_err();
    assert!(
        matches!(e, StoreError::BoxesPending { waiting: 3, .. }),
        "{e}"
    );
    // --partial: the three loose pairs only.
    let done = l
        .submit_consignment(K, "xtrace", 100, true, false, &sup())
        .unwrap();
    assert_eq!((done.boxes, done.codes, done.waiting), (0, 3, 3));
    let _ = sync(&mut l, &sim);
    // The box is finished and aggregated; its pairs then go with it.
    for s in [
        BoxState::Closed,
        BoxState::LabelPrinted,
        BoxState::LabelVerified,
    ] {
        l.box_step(&open.sscc, s, &op).unwrap();
    }
    let (r, _) = sync(&mut l, &sim);
    assert_eq!(r.boxes_reported, 1);
    let done = l
        .submit_consignment(K, "xtrace", 100, false, false, &sup())
        .unwrap();
    assert_eq!((done.boxes, done.codes), (1, 3));
    let _ = sync(&mut l, &sim);
    let snap = sim.snapshot();
    assert_eq!(
        (
            snap.introduced,
            snap.introduced_twice,
            snap.aggregates_broken
        ),
        (6, 0, 0)
    );
    // A box is reported by the registry's word only.
    let e = l.box_step(&open.sscc, BoxState::Reported, &op).unwrap_err();
    assert!(e.to_string().contains("not by hand"), "{e}");
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn a_refused_aggregation_waits_for_a_supervisor_and_goes_again_once_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let mut l = labelled_consignment(dir.path(), &sim, K, 4, 0);
    let p = pairs(&l);
    let (r, _) = sync(&mut l, &sim);
    assert_eq!(r.reported, 4);
    sim.set_refusal(Some(Refusal::when_processed(
        "the service provider has no power of attorney from the owner",
    )));
    let a = packed(&mut l, BoxLevel::Box, 4, &p, &[]);
    let before = sim.snapshot().documents_received;
    let (r, _) = sync(&mut l, &sim);
    assert_eq!((r.boxes_reported, r.boxes_refused), (0, 1));
    let docs = l.documents_of(K).unwrap();
    assert_eq!(docs[0].status, DocumentStatus::Error);
    assert!(
        docs[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("power of attorney"),
        "{docs:?}"
    );
    assert_eq!(l.box_record(&a).unwrap().state, BoxState::LabelVerified);
    // Not sent again by itself.
    sim.set_refusal(None);
    let _ = sync(&mut l, &sim);
    assert_eq!(sim.snapshot().documents_received - before, 1);
    assert_eq!(sim.snapshot().aggregates, 0);
    // A supervisor sends it again once the cause is fixed.
    l.report_box_again(&a, "xtrace", &sup()).unwrap();
    let e = l.report_box_again(&a, "xtrace", &sup()).unwrap_err();
    assert!(e.to_string().contains("being sent"), "{e}");
    let (r, _) = sync(&mut l, &sim);
    assert_eq!(r.boxes_reported, 1);
    assert_eq!(sim.snapshot().aggregates, 1);
    assert_eq!(l.box_record(&a).unwrap().state, BoxState::Reported);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn a_pallet_goes_after_its_boxes_and_the_import_declares_the_pallet() {
    let dir = tempfile::tempdir().unwrap();
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let mut l = labelled_consignment(dir.path(), &sim, K, 8, 0);
    let p = pairs(&l);
    let a = packed(&mut l, BoxLevel::Box, 4, &p[..4], &[]);
    let b = packed(&mut l, BoxLevel::Box, 4, &p[4..], &[]);
    let pallet = packed(&mut l, BoxLevel::Pallet, 2, &[], &[&a, &b]);
    let (r, _) = sync(&mut l, &sim);
    assert_eq!(r.boxes_reported, 3);
    let snap = sim.snapshot();
    assert_eq!((snap.aggregates, snap.aggregated_twice), (3, 0));
    // The boxes first, then (once the registry took them) the pallet, in a document of its own.
    let docs = l.documents_of(K).unwrap();
    assert_eq!((docs.len(), docs[0].units, docs[1].units), (2, 2, 1));
    let stored = stored_entries(&l, &sim, docs[1].id);
    assert_eq!(
        stored,
        [format!("00{pallet}"), format!("00{a}"), format!("00{b}")]
    );
    declare(&mut l);
    let done = l
        .submit_consignment(K, "xtrace", 100, false, false, &sup())
        .unwrap();
    assert_eq!((done.boxes, done.codes), (1, 8));
    let _ = sync(&mut l, &sim);
    let snap = sim.snapshot();
    assert_eq!((snap.introduced, snap.introduced_twice), (8, 0));
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn an_unpacked_box_is_gone_from_the_registry_and_its_pairs_go_in_loose() {
    let dir = tempfile::tempdir().unwrap();
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let mut l = labelled_consignment(dir.path(), &sim, K, 4, 0);
    let p = pairs(&l);
    let a = packed(&mut l, BoxLevel::Box, 4, &p, &[]);
    let e = l.unpack_box(&a, "xtrace", &sup()).unwrap_err();
    assert!(e.to_string().contains("LABEL_VERIFIED"), "{e}");
    let (r, _) = sync(&mut l, &sim);
    assert_eq!(r.boxes_reported, 1);
    assert_eq!(sim.snapshot().aggregates, 1);
    // The disaggregation's answer is lost: found by the search, sent once.
    sim.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    l.unpack_box(&a, "xtrace", &sup()).unwrap();
    let before = sim.snapshot().documents_received;
    let _ = sync(&mut l, &sim);
    sim.set_faults(Faults::default());
    assert_eq!(sim.snapshot().documents_received - before, 1);
    assert_eq!(sim.snapshot().aggregates, 0, "the registry unpacked it");
    assert!(l.box_unpacked(&a).unwrap());
    let e = l.unpack_box(&a, "xtrace", &sup()).unwrap_err();
    assert!(e.to_string().contains("unpacked already"), "{e}");
    declare(&mut l);
    let done = l
        .submit_consignment(K, "xtrace", 100, false, false, &sup())
        .unwrap();
    assert_eq!((done.boxes, done.codes), (0, 4));
    let _ = sync(&mut l, &sim);
    let in_circulation = sim
        .codes()
        .values()
        .filter(|s| **s == SimCodeState::Introduced)
        .count();
    assert_eq!(in_circulation, 4);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    let audit = labelstation_ledger::audit::recent(l.connection(), 50).unwrap();
    for action in ["box.report", "box.unpack", "document.accepted"] {
        assert!(audit.iter().any(|e| e.action == action), "{action}");
    }
}

/// oms-v2: the aggregation report (`POST /api/v2/shoes/aggregation`) reaches the registry once through
/// a lost answer: the API has no report search, so the box lookup finds it; the report's status stops at
/// SENT (Kazakhstan's enum), so the lookup also tells that it went through.
#[test]
fn on_the_older_platform_boxes_are_aggregated_once_and_found_by_the_box_lookup() {
    use labelstation_registry::pull::{Pull, PullOptions};
    use labelstation_sim::registry::SimApi;
    let dir = tempfile::tempdir().unwrap();
    let sim = RegistrySim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig {
            api: SimApi::OmsV2,
            report_polls: 1,
            ..SimConfig::default()
        },
    )
    .unwrap();
    let token = SimConfig::default().client_token;
    let mut l = labelstation_testkit::consignment::labelled_consignment_with(
        dir.path(),
        K,
        8,
        0,
        |l, gtin| {
            let mut c = oms_client_with(&sim, &token);
            Pull {
                ledger: l,
                registry: &mut c,
                format: &labelstation_codes::CodeFormat::default(),
                opts: PullOptions {
                    poll_interval: Duration::from_millis(2),
                    ..PullOptions::default()
                },
                actor: &system(),
            }
            .run(gtin, 8, &mut |_| {})
            .unwrap();
        },
    );
    let oms_sync = |l: &mut Ledger| {
        let mut c = oms_client_with(&sim, &token);
        Syncer {
            ledger: l,
            registry: &mut c,
            opts: quick_sync(),
            actor: &system(),
        }
        .once(&mut |_| {})
        .unwrap()
    };
    let r = oms_sync(&mut l);
    assert_eq!(r.reported, 8);
    let p = pairs(&l);
    let a = packed(&mut l, BoxLevel::Box, 4, &p[..4], &[]);
    let b = packed(&mut l, BoxLevel::Box, 4, &p[4..], &[]);
    sim.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    let before = sim.snapshot().reports_received;
    let mut passes = 0;
    while l.box_record(&b).unwrap().state != BoxState::Reported {
        passes += 1;
        assert!(passes < 20, "the aggregation never settled");
        let _ = oms_sync(&mut l);
        sim.set_faults(Faults::default());
    }
    let snap = sim.snapshot();
    assert_eq!(
        (
            snap.aggregates,
            snap.aggregated_twice,
            snap.reports_received - before
        ),
        (2, 0, 1),
        "one aggregation report, posted once"
    );
    assert_eq!(l.box_record(&a).unwrap().state, BoxState::Reported);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn an_unpacked_pallet_leaves_its_boxes_to_go_in_by_their_own_codes() {
    let dir = tempfile::tempdir().unwrap();
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let mut l = labelled_consignment(dir.path(), &sim, K, 8, 0);
    let p = pairs(&l);
    let a = packed(&mut l, BoxLevel::Box, 4, &p[..4], &[]);
    let b = packed(&mut l, BoxLevel::Box, 4, &p[4..], &[]);
    let pallet = packed(&mut l, BoxLevel::Pallet, 2, &[], &[&a, &b]);
    let (r, _) = sync(&mut l, &sim);
    assert_eq!(r.boxes_reported, 3);
    l.unpack_box(&pallet, "xtrace", &sup()).unwrap();
    let _ = sync(&mut l, &sim);
    assert!(l.box_unpacked(&pallet).unwrap());
    assert_eq!(
        sim.snapshot().aggregates,
        2,
        "the boxes stay, the pallet is gone"
    );
    declare(&mut l);
    let done = l
        .submit_consignment(K, "xtrace", 100, false, false, &sup())
        .unwrap();
    assert_eq!((done.boxes, done.codes), (2, 8));
    let _ = sync(&mut l, &sim);
    let snap = sim.snapshot();
    assert_eq!(
        (
            snap.introduced,
            snap.introduced_twice,
            snap.aggregates_broken
        ),
        (8, 0, 0)
    );
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}
