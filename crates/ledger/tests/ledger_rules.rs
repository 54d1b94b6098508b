// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The ledger's rules, through its API and around it (raw SQL), on real SQLite files.

use std::os::unix::fs::PermissionsExt;

use labelstation_codes::CodeFormat;
use labelstation_ledger::import::ImportError;
use labelstation_ledger::{Actor, CodeState, JobMode, Ledger, ScanProof, StationLock, StoreError};
use labelstation_testkit::*;
use rusqlite::Connection;

fn scan(raw: &[u8]) -> ScanProof<'_> {
    ScanProof {
        raw,
        aim: Some("]d2"),
    }
}

#[test]
fn a_code_goes_from_pool_to_reported_and_its_history_explains_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, codes) = ledger_with_codes(dir.path(), 3, 1);
    let op = Actor::operator("aigerim");
    let job = l.open_job(&gtin, JobMode::Inline, &op).unwrap();
    let rec = l.reserve(job, &op).unwrap();
    assert_eq!(rec.state, CodeState::Reserved);
    assert_eq!(rec.job, Some(job));
    assert_eq!(rec.code, codes[0], "oldest code first");
    l.mark_sent(rec.id, job, "sim:", b"^XA^XZ", true, &op)
        .unwrap();
    l.mark_printed(rec.id, job, &op).unwrap();
    l.verify(rec.id, job, &scan(rec.code.as_str().as_bytes()), &op)
        .unwrap();
    let v = l.code(rec.id).unwrap();
    assert_eq!(v.state, CodeState::Verified);
    assert_eq!(v.job, None, "a verified code belongs to no job");
    assert!(v.verified_at_ms.is_some());
    l.mark_reported(rec.id, "report-1", &system()).unwrap();
    assert_eq!(l.code(rec.id).unwrap().state, CodeState::Reported);

    let moves: Vec<(Option<CodeState>, CodeState)> = l
        .events(rec.id)
        .unwrap()
        .iter()
        .map(|e| (e.from, e.to))
        .collect();
    use CodeState::*;
    assert_eq!(
        moves,
        vec![
            (None, Available),
            (Some(Available), Reserved),
            (Some(Reserved), Sent),
            (Some(Sent), Printed),
            (Some(Printed), Verified),
            (Some(Verified), Reported)
        ]
    );
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    let outbox: (String, String) = l
        .connection()
        .query_row(
            "SELECT kind, status FROM outbox WHERE code_id = ?1",
            [rec.id.0],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(outbox, ("UTILISATION".into(), "ACCEPTED".into()));
    let zpl: Vec<u8> = l
        .connection()
        .query_row(
            "SELECT zpl FROM print_attempts WHERE code_id = ?1",
            [rec.id.0],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(zpl, b"^XA^XZ");
}

#[test]
fn illegal_moves_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 2, 2);
    let op = Actor::operator("op");
    let job = l.open_job(&gtin, JobMode::Inline, &op).unwrap();
    let rec = l.reserve(job, &op).unwrap();
    // Cannot print what was never sent, nor verify what was never printed.
    let e = l.mark_printed(rec.id, job, &op).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::IllegalMove {
                state: CodeState::Reserved,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "code #{} is RESERVED; 'print' needs it to be SENT",
            rec.id.0
        )
    );
    let e = l.verify(rec.id, job, &scan(b"x"), &op).unwrap_err();
    assert!(matches!(e, StoreError::IllegalMove { .. }), "{e}");
    // A reported code is done for good.
    l.mark_sent(rec.id, job, "sim:", b"", false, &op).unwrap();
    l.mark_printed(rec.id, job, &op).unwrap();
    l.verify(rec.id, job, &scan(b"x"), &op).unwrap();
    l.mark_reported(rec.id, "r", &system()).unwrap();
    let sup = Actor::supervisor("boss");
    assert!(l.write_off(rec.id, "spoiled", &sup).is_err());
    assert_eq!(l.code(rec.id).unwrap().state, CodeState::Reported);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn the_schema_refuses_what_the_api_would_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let (l, _, _) = ledger_with_codes(dir.path(), 2, 3);
    let raw = Connection::open(l.path()).unwrap();
    let err = |sql: &str| raw.execute(sql, []).unwrap_err().to_string();
    assert!(
        err("UPDATE codes SET state = 'VERIFIED', verified_at = 1 WHERE id = 1")
            .contains("illegal code state transition")
    );
    assert!(
        err("UPDATE codes SET state = 'RESERVED' WHERE id = 1").contains("CHECK"),
        "in flight needs a job"
    );
    assert!(
        err("UPDATE codes SET state = 'BOGUS' WHERE id = 1")
            .contains("illegal code state transition")
    );
    assert!(err("DELETE FROM codes WHERE id = 1").contains("never deleted"));
    assert!(err("UPDATE codes SET code = 'x' WHERE id = 1").contains("identity"));
    assert!(err("DELETE FROM code_events").contains("append-only"));
    assert!(err("UPDATE audit_log SET actor = 'x'").contains("append-only"));
    assert!(err("DELETE FROM audit_log").contains("append-only"));
    assert!(
        err("INSERT INTO outbox (kind, code_id, created_at) VALUES ('UTILISATION', 1, 0), ('UTILISATION', 1, 0)")
            .contains("UNIQUE"),
        "one report per code"
    );
}

#[test]
fn a_code_is_verified_once_and_a_refused_code_cannot_be_verified_again() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 1, 4);
    let op = Actor::operator("op");
    let sup = Actor::supervisor("boss");
    let job = l.open_job(&gtin, JobMode::Inline, &op).unwrap();
    let rec = l.reserve(job, &op).unwrap();
    l.mark_sent(rec.id, job, "sim:", b"", false, &op).unwrap();
    l.mark_printed(rec.id, job, &op).unwrap();
    l.verify(rec.id, job, &scan(b"x"), &op).unwrap();
    assert!(matches!(
        l.verify(rec.id, job, &scan(b"x"), &op),
        Err(StoreError::IllegalMove { .. })
    ));
    l.registry_refused(rec.id, "code not in received state", &system())
        .unwrap();
    let r = l.code(rec.id).unwrap();
    assert_eq!(r.state, CodeState::NeedsReview);
    assert_eq!(r.reason.as_deref(), Some("code not in received state"));
    let e = l.confirm_applied(rec.id, &scan(b"x"), &sup).unwrap_err();
    assert!(matches!(e, StoreError::AlreadyVerified(_)), "{e}");
    l.write_off(rec.id, "registry refused", &sup).unwrap();
    assert_eq!(l.code(rec.id).unwrap().state, CodeState::WrittenOff);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn supervisor_moves_need_a_supervisor() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 2, 5);
    let op = Actor::operator("op");
    let job = l.open_job(&gtin, JobMode::Inline, &op).unwrap();
    let rec = l.reserve(job, &op).unwrap();
    l.mark_sent(rec.id, job, "sim:", b"", false, &op).unwrap();
    l.mark_printed(rec.id, job, &op).unwrap();
    l.reject(rec.id, job, "scan mismatch", &op).unwrap();
    for actor in [op.clone(), system()] {
        let e = l.write_off(rec.id, "spoiled", &actor).unwrap_err();
        assert!(matches!(e, StoreError::NeedsSupervisor { .. }), "{e}");
        let job2 = l.open_job(&gtin, JobMode::Reprint, &actor).unwrap();
        assert!(matches!(
            l.reprint(rec.id, job2, "torn", &actor),
            Err(StoreError::NeedsSupervisor { .. })
        ));
        assert!(matches!(
            l.confirm_applied(rec.id, &scan(b"x"), &actor),
            Err(StoreError::NeedsSupervisor { .. })
        ));
    }
    assert_eq!(l.code(rec.id).unwrap().state, CodeState::Rejected);
    // A supervisor reprints it under a new job; it can then be verified normally.
    let sup = Actor::supervisor("boss");
    let job3 = l.open_job(&gtin, JobMode::Reprint, &sup).unwrap();
    l.reprint(rec.id, job3, "sticker torn before application", &sup)
        .unwrap();
    let r = l.code(rec.id).unwrap();
    assert_eq!((r.state, r.job), (CodeState::Reserved, Some(job3)));
    l.mark_sent(rec.id, job3, "sim:", b"", false, &op).unwrap();
    l.mark_printed(rec.id, job3, &op).unwrap();
    l.verify(rec.id, job3, &scan(b"x"), &op).unwrap();
    let actions: Vec<String> = labelstation_ledger::audit::recent(l.connection(), 10)
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.actor, e.action))
        .collect();
    assert!(
        actions.contains(&"boss code.reprint".to_string()),
        "{actions:?}"
    );
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn a_code_belongs_to_one_job_and_the_pool_runs_dry_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 2, 6);
    let op = Actor::operator("op");
    let a = l.open_job(&gtin, JobMode::Inline, &op).unwrap();
    let b = l.open_job(&gtin, JobMode::Batch, &op).unwrap();
    let ra = l.reserve(a, &op).unwrap();
    let rb = l.reserve(b, &op).unwrap();
    assert_ne!(ra.id, rb.id);
    let e = l.mark_sent(ra.id, b, "sim:", b"", false, &op).unwrap_err();
    assert!(matches!(e, StoreError::WrongJob { .. }), "{e}");
    let e = l.reserve(a, &op).unwrap_err();
    assert!(matches!(e, StoreError::PoolEmpty(_)), "{e}");
    assert!(e.to_string().contains("pull or import more codes"));
    // Releasing a reservation whose label never left returns it to the pool.
    l.release(ra.id, a, &op).unwrap();
    assert_eq!(l.reserve(a, &op).unwrap().id, ra.id);
    l.close_job(b).unwrap();
    assert!(matches!(l.reserve(b, &op), Err(StoreError::JobClosed(_))));
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn recovery_sends_unknown_fates_to_review_and_leaves_the_roll_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 6, 7);
    let op = Actor::operator("op");
    let inline = l.open_job(&gtin, JobMode::Inline, &op).unwrap();
    let batch = l.open_job(&gtin, JobMode::Batch, &op).unwrap();
    let reserved = l.reserve(inline, &op).unwrap().id;
    let sent = l.reserve(inline, &op).unwrap().id;
    l.mark_sent(sent, inline, "sim:", b"", false, &op).unwrap();
    let printed = l.reserve(inline, &op).unwrap().id;
    l.mark_sent(printed, inline, "sim:", b"", false, &op)
        .unwrap();
    l.mark_printed(printed, inline, &op).unwrap();
    let on_roll = l.reserve(batch, &op).unwrap().id;
    l.mark_sent(on_roll, batch, "sim:", b"", false, &op)
        .unwrap();
    l.mark_printed(on_roll, batch, &op).unwrap();
    drop(l);

    let (mut l, _lock, report) =
        Ledger::open_station(dir.path(), "station-test", &system()).unwrap();
    assert_eq!(
        report.to_review,
        vec![(sent, CodeState::Sent), (printed, CodeState::Printed)]
    );
    assert_eq!(report.printed_waiting, 1);
    assert_eq!(report.jobs_closed, 1);
    // Never sent to a printer: no sticker can exist, so the code goes back to the pool.
    assert_eq!(report.released, 1);
    assert_eq!(l.code(reserved).unwrap().state, CodeState::Available);
    for id in [sent, printed] {
        let r = l.code(id).unwrap();
        assert_eq!(r.state, CodeState::NeedsReview);
        assert!(r.reason.unwrap().contains("the station stopped"));
    }
    // The review screen words the reason from its key: the state the code was left in.
    let queue = l.review_queue(10).unwrap();
    let keyed: Vec<(Option<&str>, Vec<String>)> = queue
        .iter()
        .map(|i| (i.reason_key.as_deref(), i.reason_args.clone()))
        .collect();
    assert_eq!(
        keyed,
        vec![
            (Some("station-stopped"), vec!["SENT".to_owned()]),
            (Some("station-stopped"), vec!["PRINTED".to_owned()]),
        ]
    );
    assert_eq!(l.code(on_roll).unwrap().state, CodeState::Printed);
    // The roll's sticker can still be verified after the restart.
    l.verify(on_roll, batch, &scan(b"x"), &op).unwrap();
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    // Recovery is idempotent.
    assert_eq!(l.recover(&system()).unwrap().to_review, vec![]);
}

#[test]
fn only_one_station_process_drives_a_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let _held = StationLock::acquire(dir.path()).unwrap();
    let e = Ledger::open_station(dir.path(), "s", &system()).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::Busy {
                what: "running the station",
                ..
            }
        ),
        "{e}"
    );
    // Pulling is a separate activity with its own claim.
    let _pull = StationLock::acquire_pull(dir.path()).unwrap();
    assert!(
        StationLock::acquire_pull(dir.path())
            .unwrap_err()
            .to_string()
            .contains("pulling codes")
    );
}

#[test]
fn tampering_with_the_audit_log_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 3, 8);
    let sup = Actor::supervisor("boss");
    let id = l.codes_in_state(CodeState::Available, 1).unwrap()[0].id;
    l.write_off(id, "damaged roll", &sup).unwrap();
    let _ = gtin;
    assert!(l.verify_audit().unwrap().breaks.is_empty());
    assert_eq!(l.verify_audit().unwrap().entries, 3);
    let raw = Connection::open(l.path()).unwrap();
    raw.execute_batch(
        "DROP TRIGGER audit_log_append_only_u; DROP TRIGGER audit_log_append_only_d;
         UPDATE audit_log SET detail = replace(detail, 'damaged roll', 'nothing') WHERE seq = 3;",
    )
    .unwrap();
    let breaks = l.verify_audit().unwrap().breaks;
    assert_eq!(breaks.len(), 1, "{breaks:?}");
    assert!(
        breaks[0]
            .to_string()
            .contains("entry 3 does not match its hash")
    );
    raw.execute("DELETE FROM audit_log WHERE seq = 2", [])
        .unwrap();
    let text: Vec<String> = l
        .verify_audit()
        .unwrap()
        .breaks
        .iter()
        .map(|b| b.to_string())
        .collect();
    assert!(
        text.iter().any(|t| t.contains("entries are missing")),
        "{text:?}"
    );
    assert!(!l.check_invariants().unwrap().is_empty());
}

#[test]
fn import_is_atomic_idempotent_and_names_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, codes) = ledger_with_codes(dir.path(), 3, 9);
    let f = CodeFormat::default();
    let s = system();
    let fresh = labelstation_testkit::codes(&gtin, 3, 99);
    // Same file again, plus new codes in other transport forms, with a repeat: only the new ones count.
    let mut text = code_file(&codes);
    text.push_str(&format!("]d2{}\r\n", fresh[0].as_str()));
    text.push_str(&format!(
        "{}\n\n",
        fresh[1].as_str().replace('\u{1d}', "<GS>")
    ));
    text.push_str(&format!("{}\n", fresh[2].as_str().replace('\u{1d}', "")));
    text.push_str(&format!("{}\n", fresh[2].as_str()));
    let r = l
        .import_codes(&gtin, "more.txt", text.as_bytes(), &f, &s)
        .unwrap();
    assert_eq!(
        (r.imported, r.already_in_ledger, r.repeated_lines),
        (3, 3, 1)
    );
    assert_eq!(
        l.find_code(&fresh[2]).unwrap().unwrap().state,
        CodeState::Available
    );

    // A bad line anywhere: nothing imported, every bad line named.
    let other = labelstation_testkit::codes(&gtin, 2, 100);
    let wrong_gtin =
        labelstation_testkit::codes(&labelstation_codes::generate::gtin_from_number(1), 1, 1);
    let bad = format!(
        "{}\nnot a code\n{}\n{}\n",
        other[0].as_str(),
        wrong_gtin[0].as_str(),
        other[1].as_str()
    );
    let Err(ImportError::Lines(errs)) = l.import_codes(&gtin, "bad.txt", bad.as_bytes(), &f, &s)
    else {
        panic!("bad file imported");
    };
    let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 3]);
    assert!(
        errs[1].message.contains("is for GTIN"),
        "{}",
        errs[1].message
    );
    assert!(
        l.find_code(&other[0]).unwrap().is_none(),
        "atomic: the good lines were not imported"
    );

    // Same serial, different crypto: the file and the ledger disagree.
    let mut forged = codes[0].as_str().to_owned();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let Err(ImportError::Lines(errs)) =
        l.import_codes(&gtin, "forged.txt", forged.as_bytes(), &f, &s)
    else {
        panic!("conflicting code imported");
    };
    assert!(
        errs[0]
            .message
            .contains("different verification/crypto part"),
        "{}",
        errs[0].message
    );

    // Unknown product and empty file.
    let g2 = labelstation_codes::generate::gtin_from_number(5);
    assert!(matches!(
        l.import_codes(&g2, "x", b"", &f, &s),
        Err(ImportError::Store(StoreError::UnknownProduct(_)))
    ));
    assert!(matches!(
        l.import_codes(&gtin, "x", b"\n \n", &f, &s),
        Err(ImportError::Empty)
    ));
    let balance = l.balance().unwrap();
    assert_eq!(balance[0].states["AVAILABLE"], 6);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn files_are_private_and_damage_is_reported_not_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = data.join("ledger.sqlite3");
    drop(Ledger::open(&path, "s").unwrap());
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let junk = dir.path().join("junk.sqlite3");
    let bytes: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&junk, &bytes).unwrap();
    let e = Ledger::open(&junk, "s").unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("restore the newest backup"), "{e}");
    assert_eq!(
        std::fs::read(&junk).unwrap(),
        bytes,
        "a damaged file is left as it was"
    );

    let raw = Connection::open(&path).unwrap();
    raw.pragma_update(None, "user_version", 99).unwrap();
    drop(raw);
    let e = Ledger::open(&path, "s").unwrap_err();
    assert!(matches!(e, StoreError::TooNew { found: 99, .. }), "{e}");
}

#[test]
fn products_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(&dir.path().join("l.sqlite3"), "s").unwrap();
    let g = labelstation_codes::generate::gtin_from_number(42);
    let p = l.add_product(product(&g), &system()).unwrap();
    assert_eq!(p.country.as_deref(), Some("CN"));
    assert!(matches!(
        l.add_product(product(&g), &system()),
        Err(StoreError::ProductExists(_))
    ));
    let g2 = labelstation_codes::generate::gtin_from_number(43);
    let mut bad = product(&g2);
    bad.country = Some("China".into());
    assert!(
        l.add_product(bad, &system())
            .unwrap_err()
            .to_string()
            .contains("ISO 3166")
    );
    let mut blank = product(&g2);
    blank.name = "  ".into();
    assert!(l.add_product(blank, &system()).is_err());
    assert_eq!(l.products().unwrap().len(), 1);
}

#[test]
fn taking_the_next_code_reads_the_index_not_the_whole_pool() {
    // With 150 000 codes of one product, sorting the pool on every reservation would cost a second or
    // more per label; the plan must walk an index in `reserve`'s order.
    let dir = tempfile::tempdir().unwrap();
    let (l, gtin, _) = ledger_with_codes(dir.path(), 3, 41);
    let plan: Vec<String> = l
        .connection()
        .prepare(
            "EXPLAIN QUERY PLAN SELECT id FROM codes WHERE gtin = ?1 AND state = 'AVAILABLE'
             ORDER BY expires_at IS NULL, expires_at, id LIMIT 1",
        )
        .unwrap()
        .query_map([gtin.as_str()], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        plan.iter().any(|p| p.contains("INDEX codes_pool_next")),
        "{plan:?}"
    );
    assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "{plan:?}");
}

#[test]
fn rejection_reasons_keep_their_key_and_an_older_ledger_gets_keys_when_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 5, 11);
    let op = Actor::operator("op");
    let job = l.open_job(&gtin, JobMode::Inline, &op).unwrap();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let id = l.reserve(job, &op).unwrap().id;
        l.mark_sent(id, job, "sim:", b"", false, &op).unwrap();
        ids.push(id);
    }
    l.reject_keyed(
        ids[0],
        job,
        "no scan within 30 s",
        "no-scan",
        &["30".to_owned()],
        &op,
    )
    .unwrap();
    // As a build before keys wrote them: English only.
    l.reject(
        ids[1],
        job,
        "the worker reported the sticker unreadable",
        &op,
    )
    .unwrap();
    l.reject(ids[2], job, "no scan within 45 s", &op).unwrap();
    l.reject(ids[3], job, "scan did not match: something new", &op)
        .unwrap();
    let keys = |l: &Ledger| -> Vec<(Option<String>, Vec<String>)> {
        l.review_queue(10)
            .unwrap()
            .into_iter()
            .map(|i| (i.reason_key, i.reason_args))
            .collect()
    };
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        keys(&l),
        vec![
            (Some("no-scan".into()), s(&["30"])),
            (None, vec![]),
            (None, vec![]),
            (None, vec![]),
        ]
    );
    // A later move clears the key: a written-off code keeps the supervisor's reason, in words only.
    l.reject_keyed(ids[4], job, "x", "cancelled", &[], &op)
        .unwrap();
    l.write_off(ids[4], "torn sticker", &Actor::supervisor("boss"))
        .unwrap();
    let (reason, key): (String, Option<String>) = l
        .connection()
        .query_row(
            "SELECT reason, reason_key FROM codes WHERE id = ?1",
            [ids[4].0],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((reason.as_str(), key), ("torn sticker", None));
    drop(l);

    // The same ledger as schema 5 left it (no key columns, nor what later migrations add), opened by this
    // build: migration 6 keys the engine's fixed sentences; any other reason stays English only.
    let raw = Connection::open(ledger_path(dir.path())).unwrap();
    raw.execute_batch(
        "ALTER TABLE codes DROP COLUMN reason_key; ALTER TABLE codes DROP COLUMN reason_args;
         DROP INDEX outbox_descent;
         ALTER TABLE reports DROP COLUMN lost_at; ALTER TABLE reports DROP COLUMN next_check_at;
         ALTER TABLE reports DROP COLUMN checks; ALTER TABLE reports DROP COLUMN parent;
         ALTER TABLE reports DROP COLUMN half; ALTER TABLE reports DROP COLUMN refusal;
         ALTER TABLE reports DROP COLUMN held_at; ALTER TABLE reports DROP COLUMN released_at;
         ALTER TABLE outbox DROP COLUMN split_of; ALTER TABLE outbox DROP COLUMN half;
         PRAGMA user_version = 5;",
    )
    .unwrap();
    drop(raw);
    let l = Ledger::open(&ledger_path(dir.path()), "station-test").unwrap();
    assert_eq!(
        keys(&l),
        vec![
            (Some("no-scan".into()), s(&["30"])),
            (Some("worker-unreadable".into()), vec![]),
            (Some("no-scan".into()), s(&["45"])),
            (None, vec![]),
        ]
    );
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

// ---- issue 14: review rules ---------------------------------------------------------------------

/// A code printed, verified, then refused by the registry: NEEDS_REVIEW with `verified_at` set.
fn refused_verified_code(
    l: &mut Ledger,
    gtin: &labelstation_codes::Gtin,
) -> labelstation_ledger::CodeId {
    let op = Actor::operator("op");
    let job = l.open_job(gtin, JobMode::Inline, &op).unwrap();
    let rec = l.reserve(job, &op).unwrap();
    l.mark_sent(rec.id, job, "sim:", b"^XA^XZ", true, &op)
        .unwrap();
    l.mark_printed(rec.id, job, &op).unwrap();
    l.verify(rec.id, job, &scan(rec.code.as_str().as_bytes()), &op)
        .unwrap();
    l.close_job(job).unwrap();
    l.registry_refused(rec.id, "code not in received state", &system())
        .unwrap();
    let r = l.code(rec.id).unwrap();
    assert_eq!(r.state, CodeState::NeedsReview);
    assert!(r.verified_at_ms.is_some());
    rec.id
}

#[test]
fn a_verified_code_is_never_reprinted_by_the_ledger_nor_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 2, 21);
    let sup = Actor::supervisor("boss");
    let id = refused_verified_code(&mut l, &gtin);
    let verified_at = l.code(id).unwrap().verified_at_ms;
    // Through the ledger: refused, with why and what to do instead.
    let job = l.open_job(&gtin, JobMode::Reprint, &sup).unwrap();
    let e = l.reprint(id, job, "torn", &sup).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("never printed again") && text.contains("send its application again"),
        "{text}"
    );
    let r = l.code(id).unwrap();
    assert_eq!((r.state, r.job), (CodeState::NeedsReview, None));
    // Around it, by hand: the database trigger refuses the same move.
    let raw = Connection::open(l.path()).unwrap();
    let e = raw
        .execute(
            "UPDATE codes SET state = 'RESERVED', job_id = ?2, reason = NULL WHERE id = ?1",
            [id.0, job.0],
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("illegal code state transition"), "{e}");
    // Nor may it be counted a second time by a confirmation.
    let e = l.confirm_applied(id, &scan(b"x"), &sup).unwrap_err();
    assert!(matches!(e, StoreError::AlreadyVerified(_)), "{e}");
    let r = l.code(id).unwrap();
    assert_eq!(
        (r.state, r.verified_at_ms),
        (CodeState::NeedsReview, verified_at)
    );
    let printed: i64 = raw
        .query_row(
            "SELECT count(*) FROM print_attempts WHERE code_id = ?1",
            [id.0],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(printed, 1, "one sticker, ever");
    // A code never verified is still reprinted as before.
    let op = Actor::operator("op");
    let inline = l.open_job(&gtin, JobMode::Inline, &op).unwrap();
    let other = l.reserve(inline, &op).unwrap().id;
    l.mark_sent(other, inline, "sim:", b"", false, &op).unwrap();
    l.reject(other, inline, "scan mismatch", &op).unwrap();
    l.reprint(other, job, "torn", &sup).unwrap();
    assert_eq!(l.code(other).unwrap().state, CodeState::Reserved);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn invariants_catch_a_code_in_flight_outside_an_open_job_of_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let (l, gtin, _) = ledger_with_codes(dir.path(), 4, 22);
    let op = Actor::operator("op");
    let mut l = l;
    let inline = l.open_job(&gtin, JobMode::Inline, &op).unwrap();
    let batch = l.open_job(&gtin, JobMode::Batch, &op).unwrap();
    let printed_inline = l.reserve(inline, &op).unwrap().id;
    l.mark_sent(printed_inline, inline, "sim:", b"", false, &op)
        .unwrap();
    l.mark_printed(printed_inline, inline, &op).unwrap();
    let on_roll = l.reserve(batch, &op).unwrap().id;
    l.mark_sent(on_roll, batch, "sim:", b"", false, &op)
        .unwrap();
    l.mark_printed(on_roll, batch, &op).unwrap();
    let sent_on_roll = l.reserve(batch, &op).unwrap().id;
    l.mark_sent(sent_on_roll, batch, "sim:", b"", false, &op)
        .unwrap();
    // While both jobs are open, everything in flight is where it may be.
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    // Close the jobs by hand (as a run that ended on an error mid-label left them): a PRINTED code of
    // a closed inline job, and a SENT code of a closed batch job, are in flight outside an open job.
    let raw = Connection::open(l.path()).unwrap();
    raw.execute("UPDATE jobs SET closed_at = 1", []).unwrap();
    let violations = l.check_invariants().unwrap();
    let detail: Vec<&str> = violations.iter().map(|v| v.detail.as_str()).collect();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].rule.contains("open job"), "{violations:?}");
    let text = detail.join(" ");
    assert!(
        text.contains(&format!(
            "code #{} PRINTED in closed INLINE job",
            printed_inline.0
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "code #{} SENT in closed BATCH job",
            sent_on_roll.0
        )),
        "{text}"
    );
    // The roll's PRINTED sticker waits for its scan outside an open job by design.
    assert!(!text.contains(&format!("code #{} ", on_roll.0)), "{text}");
}

#[test]
fn send_again_takes_a_refused_verified_code_back_and_queues_its_one_report() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 2, 23);
    let id = refused_verified_code(&mut l, &gtin);
    let verified_at = l.code(id).unwrap().verified_at_ms;
    let outbox = |l: &Ledger| -> Vec<(String, Option<i64>)> {
        l.connection()
            .prepare(
                "SELECT status, report FROM outbox WHERE code_id = ?1 AND kind = 'UTILISATION'",
            )
            .unwrap()
            .query_map([id.0], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(outbox(&l), vec![("REJECTED".to_owned(), None)]);
    // A supervisor move.
    let e = l.send_again(id, &Actor::operator("op")).unwrap_err();
    assert!(matches!(e, StoreError::NeedsSupervisor { .. }), "{e}");
    let sup = Actor::supervisor("boss");
    l.send_again(id, &sup).unwrap();
    let r = l.code(id).unwrap();
    assert_eq!(r.state, CodeState::Verified);
    assert_eq!(
        r.verified_at_ms, verified_at,
        "verified once: the time stays"
    );
    assert_eq!(outbox(&l), vec![("QUEUED".to_owned(), None)]);
    assert_eq!(l.backlog().unwrap().utilisation_queued, 1);
    // Once is enough: it is not refused any more.
    let e = l.send_again(id, &sup).unwrap_err();
    assert!(matches!(e, StoreError::IllegalMove { .. }), "{e}");
    assert_eq!(outbox(&l), vec![("QUEUED".to_owned(), None)]);
    // The next report carries it, once.
    let batch = l
        .start_report(
            labelstation_ledger::reports::ReportKind::Utilisation,
            "xtrace",
            10,
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        batch.codes.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        vec![id]
    );
    l.report_sent(batch.id, "r-1").unwrap();
    l.report_accepted(batch.id, &system()).unwrap();
    assert_eq!(l.code(id).unwrap().state, CodeState::Reported);
    let actions: Vec<String> = labelstation_ledger::audit::recent(l.connection(), 10)
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.actor, e.action))
        .collect();
    assert!(
        actions.contains(&"boss code.send_again".to_owned()),
        "{actions:?}"
    );
    assert_eq!(l.check_invariants().unwrap(), vec![]);

    // A code never verified has no application to send again.
    let op = Actor::operator("op");
    let job = l.open_job(&gtin, JobMode::Inline, &op).unwrap();
    let other = l.reserve(job, &op).unwrap().id;
    l.mark_sent(other, job, "sim:", b"", false, &op).unwrap();
    l.reject(other, job, "scan mismatch", &op).unwrap();
    let e = l.send_again(other, &sup).unwrap_err();
    assert!(
        matches!(e, StoreError::IllegalMove { .. }) && e.to_string().contains("verified before"),
        "{e}"
    );
    assert_eq!(l.code(other).unwrap().state, CodeState::Rejected);
    // And by hand: the trigger refuses taking a never-verified reviewed code to VERIFIED without a
    // verification time, as before.
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn closing_a_job_settles_what_it_still_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 6, 24);
    let op = Actor::operator("op");
    let inline = l.open_job(&gtin, JobMode::Inline, &op).unwrap();
    let reserved = l.reserve(inline, &op).unwrap().id;
    let sent = l.reserve(inline, &op).unwrap().id;
    l.mark_sent(sent, inline, "sim:", b"", false, &op).unwrap();
    let printed = l.reserve(inline, &op).unwrap().id;
    l.mark_sent(printed, inline, "sim:", b"", false, &op)
        .unwrap();
    l.mark_printed(printed, inline, &op).unwrap();
    // A run that ended on an error mid-label closes its job: nothing stays in flight unseen.
    assert_eq!(l.close_job(inline).unwrap(), 2);
    assert_eq!(l.code(reserved).unwrap().state, CodeState::Available);
    let queue = l.review_queue(10).unwrap();
    let keyed: Vec<(labelstation_ledger::CodeId, Option<&str>, Vec<String>)> = queue
        .iter()
        .map(|i| (i.id, i.reason_key.as_deref(), i.reason_args.clone()))
        .collect();
    assert_eq!(
        keyed,
        vec![
            (sent, Some("run-ended"), vec!["SENT".to_owned()]),
            (printed, Some("run-ended"), vec!["PRINTED".to_owned()]),
        ]
    );
    // A roll's printed stickers wait for their scan; a label only sent does not.
    let batch = l.open_job(&gtin, JobMode::Batch, &op).unwrap();
    let on_roll = l.reserve(batch, &op).unwrap().id;
    l.mark_sent(on_roll, batch, "sim:", b"", false, &op)
        .unwrap();
    l.mark_printed(on_roll, batch, &op).unwrap();
    let half = l.reserve(batch, &op).unwrap().id;
    l.mark_sent(half, batch, "sim:", b"", false, &op).unwrap();
    assert_eq!(l.close_job(batch).unwrap(), 1);
    assert_eq!(l.code(on_roll).unwrap().state, CodeState::Printed);
    assert_eq!(l.code(half).unwrap().state, CodeState::NeedsReview);
    assert_eq!(
        l.close_job(batch).unwrap(),
        0,
        "closing twice changes nothing"
    );
    assert_eq!(l.roll_waiting_count().unwrap(), 1);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn a_roll_sticker_that_cannot_be_found_goes_to_review_with_its_print_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 3, 25);
    let op = Actor::operator("op");
    let sup = Actor::supervisor("boss");
    let job = l.open_job(&gtin, JobMode::NoVerify, &op).unwrap();
    let mut roll = Vec::new();
    for _ in 0..2 {
        let id = l.reserve(job, &op).unwrap().id;
        l.mark_sent(id, job, "sim:", b"^XA^XZ", true, &op).unwrap();
        l.mark_printed(id, job, &op).unwrap();
        roll.push(id);
    }
    // While the run is open the line may still scan it.
    let e = l.sticker_missing(roll[0], "", &sup).unwrap_err();
    assert!(matches!(e, StoreError::JobStillOpen { .. }), "{e}");
    assert_eq!(
        l.roll_waiting_count().unwrap(),
        0,
        "an open run's stickers are the line's"
    );
    l.close_job(job).unwrap();
    assert_eq!(l.roll_waiting_count().unwrap(), 2);
    assert_eq!(
        l.roll_waiting(10)
            .unwrap()
            .iter()
            .map(|i| i.id)
            .collect::<Vec<_>>(),
        roll
    );
    let e = l.sticker_missing(roll[0], "", &op).unwrap_err();
    assert!(matches!(e, StoreError::NeedsSupervisor { .. }), "{e}");
    l.sticker_missing(roll[0], "not on the roll nor the bench", &sup)
        .unwrap();
    assert_eq!(l.roll_waiting_count().unwrap(), 1);
    let queue = l.review_queue(10).unwrap();
    assert_eq!(queue.len(), 1);
    let item = &queue[0];
    assert_eq!((item.id, item.state), (roll[0], CodeState::NeedsReview));
    assert_eq!(item.reason_key.as_deref(), Some("sticker-missing"));
    assert!(item.reason.as_deref().unwrap().contains("not on the roll"));
    assert_eq!(item.verified_at_ms, None);
    // Its steps at the printer: the sticker was sent and printed, then reported missing.
    use labelstation_ledger::review::PrintStep;
    let steps: Vec<(PrintStep, Option<i64>)> =
        item.prints.iter().map(|p| (p.step, p.job)).collect();
    assert_eq!(
        steps,
        vec![
            (PrintStep::Sent, Some(job.0)),
            (PrintStep::Printed, Some(job.0)),
            (PrintStep::Missing, Some(job.0)),
        ]
    );
    assert_eq!(l.print_history(roll[0]).unwrap(), item.prints);
    // Only a PRINTED code is missing.
    let e = l.sticker_missing(roll[0], "", &sup).unwrap_err();
    assert!(matches!(e, StoreError::IllegalMove { .. }), "{e}");
    // Then as any reviewed code: written off (or confirmed when it turns up on an item).
    l.write_off(roll[0], "sticker lost", &sup).unwrap();
    let actions: Vec<String> = labelstation_ledger::audit::recent(l.connection(), 10)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.contains(&"code.sticker_missing".to_owned()),
        "{actions:?}"
    );
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn a_ledger_from_before_the_review_rules_gets_them_when_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 2, 26);
    let id = refused_verified_code(&mut l, &gtin);
    let job = l
        .open_job(&gtin, JobMode::Reprint, &Actor::supervisor("boss"))
        .unwrap();
    drop(l);
    // The transition table and trigger as the schema had them before the review rules' migration:
    // (from, to) pairs, no verification.
    let before = labelstation_ledger::schema::MIGRATIONS
        .iter()
        .position(|m| m.contains("verified = (OLD.verified_at IS NOT NULL)"))
        .unwrap();
    let raw = Connection::open(ledger_path(dir.path())).unwrap();
    raw.execute_batch(&format!(
        "DROP TRIGGER codes_legal_transition;
         DROP TABLE code_transitions;
         CREATE TABLE code_transitions (from_state TEXT NOT NULL, to_state TEXT NOT NULL,
             PRIMARY KEY (from_state, to_state)) STRICT, WITHOUT ROWID;
         INSERT INTO code_transitions VALUES ('NEEDS_REVIEW', 'RESERVED'), ('AVAILABLE', 'RESERVED');
         CREATE TRIGGER codes_legal_transition BEFORE UPDATE OF state ON codes
         WHEN OLD.state <> NEW.state AND NOT EXISTS (
             SELECT 1 FROM code_transitions WHERE from_state = OLD.state AND to_state = NEW.state)
         BEGIN SELECT RAISE(ABORT, 'illegal code state transition'); END;
         PRAGMA user_version = {before};"
    ))
    .unwrap();
    drop(raw);
    let l = Ledger::open(&ledger_path(dir.path()), "station-test").unwrap();
    let raw = Connection::open(l.path()).unwrap();
    let e = raw
        .execute(
            "UPDATE codes SET state = 'RESERVED', job_id = ?2 WHERE id = ?1",
            [id.0, job.0],
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("illegal code state transition"), "{e}");
    let rows: i64 = raw
        .query_row(
            "SELECT count(*) FROM code_transitions WHERE verified = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(rows > 0);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}
