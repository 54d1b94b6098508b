// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Import documents against the registry simulator over real HTTP: a consignment's applied codes go
//! into circulation exactly once through lost answers, codes the registry refuses are named and the
//! rest introduced, a document refused whole returns its codes for a supervisor, and the simulator
//! refuses what the registry refuses (keys out of order, crypto tails).

use std::time::Duration;

use labelstation_ledger::consignments::{ConsignmentStatus, Declaration};
use labelstation_ledger::documents::DocumentStatus;
use labelstation_ledger::{Actor, Ledger, StoreError};
use labelstation_registry::client::XtraceClient;
use labelstation_registry::sync::{SyncEvent, SyncOptions, SyncReport, Syncer};
use labelstation_sim::registry::{Faults, Refusal, RegistrySim, SimCodeState, SimConfig};
use labelstation_testkit::xtrace_client as client;
use labelstation_testkit::*;

const K: &str = "KZ-IMP-1";

fn opts() -> SyncOptions {
    labelstation_testkit::consignment::quick_sync()
}

fn sync(l: &mut Ledger, sim: &RegistrySim, events: &mut Vec<SyncEvent>) -> SyncReport {
    let actor = system();
    let mut c = client(sim);
    Syncer {
        ledger: l,
        registry: &mut c,
        opts: opts(),
        actor: &actor,
    }
    .once(&mut |e| events.push(e))
    .unwrap()
}

fn supervisor() -> Actor {
    Actor::supervisor("sup")
}

fn applied_consignment(dir: &std::path::Path, sim: &RegistrySim, n: u32, stray: usize) -> Ledger {
    labelstation_testkit::consignment::applied_consignment(dir, sim, K, n, stray)
}

fn introduced_in_sim(sim: &RegistrySim) -> usize {
    sim.codes()
        .values()
        .filter(|s| **s == SimCodeState::Introduced)
        .count()
}

#[test]
fn lost_answers_are_found_by_the_search_and_never_posted_again() {
    let dir = tempfile::tempdir().unwrap();
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let mut l = applied_consignment(dir.path(), &sim, 30, 0);
    let docs_before = sim.snapshot().documents_received;
    let done = l
        .submit_consignment(K, "xtrace", 12, false, false, &supervisor())
        .unwrap();
    assert_eq!((done.documents.len(), done.codes), (3, 30));
    // Every answer to a document lost after the registry took it.
    sim.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    sim.set_processing_delay(Duration::from_millis(200));
    let mut events = Vec::new();
    let r = sync(&mut l, &sim, &mut events);
    let found = events
        .iter()
        .filter(|e| matches!(e, SyncEvent::DocumentFound { .. }))
        .count();
    assert_eq!(found, 3, "{events:?}");
    assert_eq!(r.introduced, 30, "{events:?}");
    let snap = sim.snapshot();
    assert_eq!(
        snap.documents_received - docs_before,
        3,
        "each document posted once"
    );
    assert_eq!((snap.introduced, snap.introduced_twice), (30, 0));
    let c = l.consignment(K).unwrap();
    assert_eq!(c.status, ConsignmentStatus::Introduced);
    assert_eq!(c.lines[0].introduced, 30);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    // The schema itself refuses a second live import entry for a code.
    let err = l.connection().execute(
        "INSERT INTO document_codes (document, pos, kind, code_id)
         SELECT d.id, 99, 'IMPORT', (SELECT code_id FROM document_codes LIMIT 1) FROM documents d LIMIT 1",
        [],
    );
    assert!(
        err.is_err(),
        "a code went into a second live import document"
    );
    // The ledger's own check notices a document that lost a code behind its back.
    l.connection()
        .execute(
            "UPDATE documents SET codes = codes + 1 WHERE id = (SELECT min(id) FROM documents)",
            [],
        )
        .unwrap();
    let v = l.check_invariants().unwrap();
    assert!(
        v.iter()
            .any(|v| v.rule.starts_with("a document's codes match its count")),
        "{v:?}"
    );
}

#[test]
fn a_document_whose_fate_is_unknown_waits_for_the_search_and_goes_again_only_after_the_settle_window()
 {
    let dir = tempfile::tempdir().unwrap();
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let mut l = applied_consignment(dir.path(), &sim, 6, 0);
    l.submit_consignment(K, "xtrace", 100, false, false, &supervisor())
        .unwrap();
    // Every document endpoint answers 503: the station cannot tell a proxy's 503 after the registry
    // took the document from one before, so the document may exist. It is not sent again while the
    // search cannot say.
    sim.set_unavailable(&["/public/api/v1/doc/"]);
    for _ in 0..3 {
        let _ = sync_result(&mut l, &sim);
        assert_eq!(
            l.documents_of(K).unwrap()[0].status,
            DocumentStatus::Sending
        );
    }
    assert_eq!(sim.snapshot().documents_received, 0);
    // The search answers and finds nothing: once the settle window has passed since it was sent, the
    // document goes again (audited), and its codes go into circulation once.
    sim.set_unavailable(&[]);
    std::thread::sleep(Duration::from_millis(350));
    let mut events = Vec::new();
    let r = sync(&mut l, &sim, &mut events);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SyncEvent::DocumentNoTrace { .. })),
        "{events:?}"
    );
    assert_eq!(r.introduced, 6);
    let snap = sim.snapshot();
    assert_eq!(
        (
            snap.documents_received,
            snap.introduced,
            snap.introduced_twice
        ),
        (1, 6, 0)
    );
    assert_eq!(
        l.consignment(K).unwrap().status,
        ConsignmentStatus::Introduced
    );
    let audit = labelstation_ledger::audit::recent(l.connection(), 20).unwrap();
    assert!(audit.iter().any(|e| e.action == "document.no_trace"));
}

fn sync_result(
    l: &mut Ledger,
    sim: &RegistrySim,
) -> Result<SyncReport, labelstation_registry::sync::SyncError> {
    let actor = system();
    let mut c = client(sim);
    Syncer {
        ledger: l,
        registry: &mut c,
        opts: SyncOptions {
            report_timeout: Duration::from_millis(500),
            ..opts()
        },
        actor: &actor,
    }
    .once(&mut |_| {})
}

#[test]
fn refused_codes_are_named_and_the_others_introduced() {
    let dir = tempfile::tempdir().unwrap();
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let mut l = applied_consignment(dir.path(), &sim, 8, 2);
    let done = l
        .submit_consignment(K, "xtrace", 100, false, false, &supervisor())
        .unwrap();
    assert_eq!(done.codes, 10);
    let mut events = Vec::new();
    let r = sync(&mut l, &sim, &mut events);
    assert_eq!((r.introduced, r.import_refused), (8, 2), "{events:?}");
    let c = l.consignment(K).unwrap();
    assert_eq!((c.lines[0].introduced, c.lines[0].refused), (8, 2));
    assert_eq!(c.status, ConsignmentStatus::Problems);
    let docs = l.documents_of(K).unwrap();
    assert_eq!(docs[0].status, DocumentStatus::Partial);
    assert!(
        docs[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("CODE_NOT_FOUND"),
        "{docs:?}"
    );
    assert_eq!(introduced_in_sim(&sim), 8);
    // Submitting again files nothing unless asked to retry the refused ones.
    match l.submit_consignment(K, "xtrace", 100, false, false, &supervisor()) {
        Err(StoreError::NothingToSubmit { refused_before, .. }) => assert_eq!(refused_before, 2),
        other => panic!("{other:?}"),
    }
    let again = l
        .submit_consignment(K, "xtrace", 100, false, true, &supervisor())
        .unwrap();
    assert_eq!(again.codes, 2);
    let r = sync(&mut l, &sim, &mut Vec::new());
    assert_eq!((r.introduced, r.import_refused), (0, 2));
    let snap = sim.snapshot();
    assert_eq!((snap.introduced, snap.introduced_twice), (8, 0));
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn a_document_refused_whole_returns_its_codes_and_goes_again_once_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let mut l = applied_consignment(dir.path(), &sim, 5, 0);
    l.submit_consignment(K, "xtrace", 100, false, false, &supervisor())
        .unwrap();
    sim.set_refusal(Some(Refusal::when_processed(
        "the customs declaration is not registered",
    )));
    let r = sync(&mut l, &sim, &mut Vec::new());
    assert_eq!((r.introduced, r.import_refused), (0, 5));
    let c = l.consignment(K).unwrap();
    assert_eq!(
        (c.lines[0].returned, c.status),
        (5, ConsignmentStatus::Problems)
    );
    let docs = l.documents_of(K).unwrap();
    assert_eq!(docs[0].status, DocumentStatus::Error);
    assert!(
        docs[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("not registered")
    );
    assert_eq!(introduced_in_sim(&sim), 0);
    // Refused at once (400) this time: nothing taken either, the codes come back again.
    sim.set_refusal(Some(Refusal {
        reason: "businessPlaceId is not the participant's".into(),
        at_send: true,
    }));
    l.submit_consignment(K, "xtrace", 100, false, false, &supervisor())
        .unwrap();
    let r = sync(&mut l, &sim, &mut Vec::new());
    assert_eq!(r.import_refused, 5);
    assert_eq!(l.documents_of(K).unwrap()[1].status, DocumentStatus::Error);
    // The cause fixed: a supervisor files them again; all five go into circulation once.
    sim.set_refusal(None);
    l.submit_consignment(K, "xtrace", 100, false, false, &supervisor())
        .unwrap();
    let r = sync(&mut l, &sim, &mut Vec::new());
    assert_eq!(r.introduced, 5);
    assert_eq!(
        l.consignment(K).unwrap().status,
        ConsignmentStatus::Introduced
    );
    let snap = sim.snapshot();
    assert_eq!((snap.introduced, snap.introduced_twice), (5, 0));
    // The declaration a document was filed under stays.
    let err = l
        .declare_consignment(
            K,
            &Declaration {
                number: "55201/071226/0000043".into(),
                date: "2026-12-07".into(),
                customs_office: None,
            },
            &supervisor(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("cannot change now"), "{err}");
}

#[test]
fn the_simulator_refuses_unsorted_keys_and_crypto_tails() {
    use base64::Engine as _;
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let (http, token) = signed_in(&sim);
    let post = |doc: &str| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(doc);
        http.post(format!("{}/public/api/v1/doc/import", sim.url()))
            .header("Accept", "*/*")
            .bearer_auth(&token)
            .json(&serde_json::json!({ "documentBody": b64 }))
            .send()
            .unwrap()
    };
    let decl = r#""customsDeclaration":{"date":"2026-12-07T00:00:00Z","number":"1"}"#;
    let r = post(&format!(
        r#"{{"codes":["0104600000000017215Ab3dE7gH9jK1"],"businessPlaceId":7,{decl}}}"#
    ));
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("A-Z order"));
    let r = post(&format!(
        r#"{{"businessPlaceId":7,"codes":["0104600000000017215Ab3dE7gH9jK1\u001d91EE06"],{decl}}}"#
    ));
    assert_eq!(r.status(), 400);
    let snap = sim.snapshot();
    assert_eq!((snap.documents_unsorted, snap.documents_with_tails), (1, 1));
    assert_eq!(snap.documents_received, 0);
}

/// Applied codes of the consignment, as full codes (the client cuts their tails).
fn applied_codes(l: &Ledger) -> Vec<String> {
    l.connection()
        .prepare("SELECT code FROM codes WHERE state = 'REPORTED' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn outcome_when_done(
    c: &mut XtraceClient,
    id: &str,
) -> labelstation_registry::client::DocumentOutcome {
    use labelstation_registry::client::{DocumentOutcome, Registry};
    for _ in 0..50 {
        match c.aggregation_outcome(id).unwrap() {
            DocumentOutcome::InProcess => std::thread::sleep(Duration::from_millis(20)),
            done => return done,
        }
    }
    panic!("document {id} still in process");
}

/// Aggregation against the simulator: eight applied pairs into two boxes of four under valid SSCCs,
/// a lost answer found again by the boxes' SSCCs, then the consignment imported by the two boxes; and
/// what the registry refuses: a wrong check digit, a count that differs from the codes or exceeds the
/// capacity, a pair already in a box, an SSCC used before, a crypto tail.
#[test]
fn boxes_are_aggregated_once_and_imported_by_their_sscc() {
    use labelstation_registry::client::{
        AggregateSpec, AggregationMeta, DocumentOutcome, ImportMeta, Registry,
    };
    let dir = tempfile::tempdir().unwrap();
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let l = applied_consignment(dir.path(), &sim, 8, 0);
    let codes = applied_codes(&l);
    assert_eq!(codes.len(), 8);
    let mut c = client(&sim);
    let meta = AggregationMeta {
        date_time: "2026-12-07T10:15:00Z".into(),
        owner_tin: Some("123456789012".into()),
    };
    let (a, b) = ("00048700010000001230", "00048700010000001247");
    let spec = |sscc: &'static str, part: &'static [String]| AggregateSpec {
        sscc,
        capacity: 4,
        codes: part,
        unbundle: false,
    };
    let codes: &'static [String] = Box::leak(codes.into_boxed_slice());
    // Refused whole, nothing recorded: a wrong check digit; five in a box of four; a count that
    // differs from the codes listed is impossible through the client, so it is sent by hand below.
    for (units, why) in [
        (
            vec![spec("00048700010000001231", &codes[..4])],
            "INVALID_SSCC",
        ),
        (
            vec![AggregateSpec {
                capacity: 4,
                ..spec(a, &codes[..5])
            }],
            "CAPACITY_EXCEEDED",
        ),
        (
            vec![spec(a, &codes[..4]), spec(b, &codes[3..7])],
            "DUPLICATE_IN_DOCUMENT",
        ),
    ] {
        let id = c.send_aggregation(&units, &meta).unwrap();
        match outcome_when_done(&mut c, &id) {
            DocumentOutcome::Error(r) => assert!(r.reason.contains(why), "{why}: {r:?}"),
            other => panic!("{why}: {other:?}"),
        }
    }
    assert_eq!(sim.snapshot().aggregates, 0);

    // Two boxes; the answer lost after the registry took the document: found by the boxes' SSCCs.
    sim.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    let sent = std::time::SystemTime::now();
    assert!(
        c.send_aggregation(&[spec(a, &codes[..4]), spec(b, &codes[4..])], &meta)
            .unwrap_err()
            .maybe_committed()
    );
    sim.set_faults(Faults::default());
    let found = c
        .find_aggregation(
            &[spec(a, &codes[..4]), spec(b, &codes[4..])],
            (
                sent - Duration::from_secs(60),
                sent + Duration::from_secs(60),
            ),
        )
        .unwrap()
        .expect("the lost aggregation is found by its boxes");
    assert_eq!(outcome_when_done(&mut c, &found), DocumentOutcome::Success);
    let snap = sim.snapshot();
    assert_eq!((snap.aggregates, snap.aggregated_twice), (2, 0));

    // A pair already in a box, put into another without unbundling: refused and counted; the same
    // SSCC again: refused.
    let c3 = "00048700010000000011";
    let id = c.send_aggregation(&[spec(c3, &codes[..1])], &meta).unwrap();
    assert!(
        matches!(outcome_when_done(&mut c, &id), DocumentOutcome::Error(r) if r.reason.contains("ALREADY_AGGREGATED"))
    );
    assert_eq!(sim.snapshot().aggregated_twice, 1);
    let id = c.send_aggregation(&[spec(a, &codes[..1])], &meta).unwrap();
    assert!(
        matches!(outcome_when_done(&mut c, &id), DocumentOutcome::Error(r) if r.reason.contains("SSCC_ALREADY_USED"))
    );

    // The consignment goes into circulation by its two boxes.
    let id = c
        .send_import(
            &[a.to_owned(), b.to_owned()],
            &ImportMeta {
                number: "55201/071226/0000042".into(),
                date: "2026-12-07".into(),
                customs_office: None,
            },
        )
        .unwrap();
    loop {
        match c.import_outcome(&id).unwrap() {
            DocumentOutcome::InProcess => std::thread::sleep(Duration::from_millis(20)),
            DocumentOutcome::Success => break,
            other => panic!("{other:?}"),
        }
    }
    let snap = sim.snapshot();
    assert_eq!((snap.introduced, snap.introduced_twice), (8, 0));

    // Unpacking a box: its pairs may go into a new box.
    let id = c
        .send_disaggregation(&[b.to_owned()], "2026-12-07T11:00:00Z")
        .unwrap();
    assert_eq!(outcome_when_done(&mut c, &id), DocumentOutcome::Success);
    let id = c
        .send_aggregation(&[spec(c3, &codes[4..6])], &meta)
        .unwrap();
    assert_eq!(outcome_when_done(&mut c, &id), DocumentOutcome::Success);
    assert_eq!(sim.snapshot().aggregates, 2);
}

/// A count that differs from the codes listed, and a crypto tail: what only a careless client sends.
#[test]
fn the_simulator_refuses_a_box_whose_count_differs_from_its_codes() {
    use base64::Engine as _;
    let sim = RegistrySim::start("127.0.0.1:0".parse().unwrap(), SimConfig::default()).unwrap();
    let (http, token) = signed_in(&sim);
    let post = |doc: &str| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(doc);
        http.post(format!("{}/public/api/v1/doc/aggregation", sim.url()))
            .header("Accept", "*/*")
            .bearer_auth(&token)
            .json(&serde_json::json!({ "documentBody": b64 }))
            .send()
            .unwrap()
    };
    let r = post(
        r#"{"aggregationUnits":[{"aggregationItemsCount":2,"aggregationUnitCapacity":4,"codes":["0104600000000017215Ab3dE7gH9jK1"],"shouldBeUnbundled":false,"unitSerialNumber":"00048700010000001230"}],"businessPlaceId":7,"documentDate":"2026-12-07T10:15:00Z"}"#,
    );
    assert_eq!(r.status(), 200);
    let id = r.json::<serde_json::Value>().unwrap()["documentId"]
        .as_str()
        .unwrap()
        .to_owned();
    let errors: serde_json::Value = http
        .get(format!(
            "{}/public/api/v1/doc/storage/errors/{id}",
            sim.url()
        ))
        .header("Accept", "*/*")
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let text = errors.to_string();
    assert!(text.contains("COUNT_MISMATCH"), "{text}");
    let r = post(
        r#"{"aggregationUnits":[{"aggregationItemsCount":1,"aggregationUnitCapacity":4,"codes":["0104600000000017215Ab3dE7gH9jK1\u001d91EE06"],"shouldBeUnbundled":false,"unitSerialNumber":"00048700010000001230"}],"businessPlaceId":7,"documentDate":"2026-12-07T10:15:00Z"}"#,
    );
    assert_eq!(r.status(), 400);
    assert_eq!(sim.snapshot().documents_with_tails, 1);
}

/// A plain HTTP client signed in to the simulator, for requests the station's client would never make.
fn signed_in(sim: &RegistrySim) -> (reqwest::blocking::Client, String) {
    let http = reqwest::blocking::Client::new();
    let token: serde_json::Value = http
        .post(format!("{}/api/users/authenticate", sim.url()))
        .header("Accept", "*/*")
        .json(&serde_json::json!({"login": "station", "password": "station"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = token["accessToken"].as_str().unwrap().to_owned();
    (http, token)
}
