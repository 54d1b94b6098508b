// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Crash test: a child process moves codes through every state as fast as it can (imports, inline and
//! batch printing, verification, rejects, supervisor actions, reports) and is killed with SIGKILL at a
//! random instant. After each kill the ledger must be consistent as it lies on disk, recovery must leave
//! nothing in flight that could be reused, and no code may be lost or counted twice.
//!
//! Rounds: `LABELSTATION_CRASH_ROUNDS` (default 200; use thousands for a long run).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use labelstation_codes::CodeFormat;
use labelstation_codes::generate::CodeGenerator;
use labelstation_ledger::{Actor, CodeState, JobMode, Ledger, ScanProof};
use labelstation_testkit::*;

const CHILD_DIR: &str = "LABELSTATION_CRASH_CHILD_DIR";
const CHILD_SEED: &str = "LABELSTATION_CRASH_CHILD_SEED";

/// The child's work loop. Runs only when the parent starts this test binary in child mode.
#[test]
#[ignore = "child process of crash_kills_leave_a_consistent_ledger"]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let dir = Path::new(&dir);
    let seed: u64 = std::env::var(CHILD_SEED)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let (mut l, _lock, _) = Ledger::open_station(dir, "station-test", &system()).unwrap();
    std::fs::write(dir.join("ready"), b"").unwrap();
    let gtin = l.products().unwrap()[0].gtin.clone();
    let mut rng = CodeGenerator::new(seed);
    let mut codes = CodeGenerator::new(seed.wrapping_mul(7919));
    let op = Actor::operator("op");
    let sup = Actor::supervisor("boss");
    let scan = ScanProof {
        raw: b"]d2scan",
        aim: Some("]d2"),
    };
    loop {
        let available = l.balance().unwrap()[0].states["AVAILABLE"];
        if available < 8 {
            let batch: Vec<_> = (0..16).map(|_| codes.code(&gtin)).collect();
            l.import_codes(
                &gtin,
                "refill.txt",
                code_file(&batch).as_bytes(),
                &CodeFormat::default(),
                &system(),
            )
            .unwrap();
        }
        match rng.below(10) {
            0..=4 => {
                let job = l.open_job(&gtin, JobMode::Inline, &op).unwrap();
                for _ in 0..3 {
                    let rec = l.reserve(job, &op).unwrap();
                    l.mark_sent(rec.id, job, "sim:", b"^XA^XZ", true, &op)
                        .unwrap();
                    l.mark_printed(rec.id, job, &op).unwrap();
                    match rng.below(20) {
                        0 => l.reject(rec.id, job, "scan mismatch", &op).unwrap(),
                        1 => {} // left PRINTED: the worker walked away
                        _ => l.verify(rec.id, job, &scan, &op).unwrap(),
                    }
                }
                l.close_job(job).unwrap();
            }
            5 | 6 => {
                let job = l.open_job(&gtin, JobMode::Batch, &op).unwrap();
                let mut roll = Vec::new();
                for _ in 0..4 {
                    let rec = l.reserve(job, &op).unwrap();
                    l.mark_sent(rec.id, job, "sim:", b"^XA^XZ", false, &op)
                        .unwrap();
                    l.mark_printed(rec.id, job, &op).unwrap();
                    roll.push(rec.id);
                }
                while !roll.is_empty() {
                    let id = roll.swap_remove(rng.below(roll.len() as u64) as usize);
                    l.verify(id, job, &scan, &op).unwrap();
                }
            }
            7 => {
                for rec in l.codes_in_state(CodeState::Verified, 10).unwrap() {
                    l.mark_reported(rec.id, "report", &system()).unwrap();
                }
            }
            _ => {
                let mut queue = l.codes_in_state(CodeState::Rejected, 2).unwrap();
                queue.extend(l.codes_in_state(CodeState::NeedsReview, 2).unwrap());
                for rec in queue {
                    if rec.verified_at_ms.is_some() || rng.below(2) == 0 {
                        l.write_off(rec.id, "spoiled", &sup).unwrap();
                    } else {
                        let job = l.open_job(&gtin, JobMode::Reprint, &sup).unwrap();
                        l.reprint(rec.id, job, "not applied", &sup).unwrap();
                        l.mark_sent(rec.id, job, "sim:", b"^XA^XZ", false, &op)
                            .unwrap();
                        l.mark_printed(rec.id, job, &op).unwrap();
                        l.verify(rec.id, job, &scan, &op).unwrap();
                        l.close_job(job).unwrap();
                    }
                }
            }
        }
    }
}

fn counts(l: &Ledger) -> (u64, u64, u64) {
    let b = &l.balance().unwrap()[0].states;
    let total = b.values().sum();
    let verified = b["VERIFIED"] + b["REPORTED"];
    let events: i64 = l
        .connection()
        .query_row("SELECT count(*) FROM code_events", [], |r| r.get(0))
        .unwrap();
    (total, verified, events as u64)
}

#[test]
fn crash_kills_leave_a_consistent_ledger() {
    let rounds: u64 = std::env::var("LABELSTATION_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let (l, _, _) = ledger_with_codes(dir.path(), 24, 21);
    let (mut total, mut verified, mut events) = counts(&l);
    drop(l);
    let exe = std::env::current_exe().unwrap();
    let mut rng = CodeGenerator::new(0xC0FFEE);
    let mut recovered = 0usize;
    let started = Instant::now();
    for round in 0..rounds {
        let _ = std::fs::remove_file(dir.path().join("ready"));
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_SEED, (round + 1).to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !dir.path().join("ready").exists() {
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                use std::io::Read;
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("round {round}: child exited early ({status}): {err}");
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: child never became ready"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_micros(rng.below(60_000)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        // As it lies on disk, before any recovery.
        let l = Ledger::open(&ledger_path(dir.path()), "station-test").unwrap();
        assert_eq!(
            l.check_invariants().unwrap(),
            vec![],
            "round {round}, before recovery"
        );
        let (t, v, e) = counts(&l);
        assert!(t >= total, "round {round}: codes lost: {t} < {total}");
        assert!(
            v >= verified,
            "round {round}: verified codes went back: {v} < {verified}"
        );
        assert!(e >= events, "round {round}: history shrank");
        drop(l);

        // What the next station start does.
        let (l, _lock, report) =
            Ledger::open_station(dir.path(), "station-test", &system()).unwrap();
        recovered += report.to_review.len();
        let b = &l.balance().unwrap()[0].states;
        assert_eq!(
            b["RESERVED"] + b["SENT"],
            0,
            "round {round}: in-flight codes survived recovery"
        );
        assert_eq!(
            l.check_invariants().unwrap(),
            vec![],
            "round {round}, after recovery"
        );
        (total, verified, events) = counts(&l);
    }
    let l = Ledger::open(&ledger_path(dir.path()), "station-test").unwrap();
    let b = l.balance().unwrap()[0].states.clone();
    println!(
        "crash test: {rounds} SIGKILLs in {:.1}s; {recovered} codes sent to review by recovery; final ledger: {b:?}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        verified > 0 && events > 24,
        "the child made no progress: the test proved nothing"
    );
}
