// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Property test of the code state machine: random sequences of operations, by random actors, on a real
//! ledger file. Whatever the sequence, the ledger agrees with a simple model, refuses exactly the moves
//! the model refuses, and every invariant holds.

use std::collections::HashMap;

use labelstation_ledger::state::{Move, target};
use labelstation_ledger::{
    Actor, CodeId, CodeState, JobId, JobMode, Ledger, ScanProof, StoreError,
};
use labelstation_testkit::*;
use proptest::prelude::*;

const CODES: usize = 6;

#[derive(Debug, Clone)]
enum Op {
    OpenJob(JobMode),
    CloseJob(usize),
    Reserve(usize),
    Release(usize, usize),
    Send(usize, usize),
    Print(usize, usize),
    Verify(usize, usize),
    Reject(usize, usize),
    Report(usize),
    Refuse(usize),
    Reprint(usize, usize, bool),
    Confirm(usize, bool),
    SendAgain(usize, bool),
    Missing(usize, bool),
    WriteOff(usize, bool),
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    let mode = prop_oneof![
        Just(JobMode::Inline),
        Just(JobMode::Batch),
        Just(JobMode::NoVerify),
        Just(JobMode::Reprint)
    ];
    let c = 0..CODES;
    let j = 0..4usize;
    prop_oneof![
        2 => mode.prop_map(Op::OpenJob),
        1 => j.clone().prop_map(Op::CloseJob),
        4 => j.clone().prop_map(Op::Reserve),
        1 => (c.clone(), j.clone()).prop_map(|(c, j)| Op::Release(c, j)),
        4 => (c.clone(), j.clone()).prop_map(|(c, j)| Op::Send(c, j)),
        4 => (c.clone(), j.clone()).prop_map(|(c, j)| Op::Print(c, j)),
        4 => (c.clone(), j.clone()).prop_map(|(c, j)| Op::Verify(c, j)),
        2 => (c.clone(), j.clone()).prop_map(|(c, j)| Op::Reject(c, j)),
        2 => c.clone().prop_map(Op::Report),
        1 => c.clone().prop_map(Op::Refuse),
        2 => (c.clone(), j, any::<bool>()).prop_map(|(c, j, s)| Op::Reprint(c, j, s)),
        2 => (c.clone(), any::<bool>()).prop_map(|(c, s)| Op::Confirm(c, s)),
        2 => (c.clone(), any::<bool>()).prop_map(|(c, s)| Op::SendAgain(c, s)),
        1 => (c.clone(), any::<bool>()).prop_map(|(c, s)| Op::Missing(c, s)),
        2 => (c, any::<bool>()).prop_map(|(c, s)| Op::WriteOff(c, s)),
        1 => Just(Op::Restart),
    ]
}

/// What the model knows of a code.
#[derive(Debug, Clone, Copy)]
struct M {
    state: CodeState,
    job: Option<usize>,
    verified: bool,
    /// Ever handed to a printer: such a code may exist on paper, so it never goes back to the pool.
    sent: bool,
}

struct Model {
    codes: Vec<M>,
    /// (mode, closed)
    jobs: Vec<(JobMode, bool)>,
}

impl Model {
    /// Predict whether `mv` on code `c` by `actor` with job `j` succeeds; apply it if so.
    fn step(&mut self, c: usize, mv: Move, supervisor: bool, j: Option<usize>) -> bool {
        let m = self.codes[c];
        if mv.needs_supervisor() && !supervisor {
            return false;
        }
        // The move's own rule on verified codes (a verified code is never reprinted) is in `target`.
        let Some(to) = target(mv, m.state, m.verified) else {
            return false;
        };
        // A roll sticker is missing only once its run is finished.
        if mv == Move::StickerMissing && m.job.is_some_and(|j| !self.jobs[j].1) {
            return false;
        }
        if mv == Move::Release && m.sent {
            return false;
        }
        if let (Some(h), Some(j)) = (m.job, j)
            && h != j
        {
            return false;
        }
        let new_job = if to.is_in_flight() {
            if m.state.is_in_flight() {
                m.job
            } else {
                match j {
                    Some(j) if !self.jobs[j].1 => Some(j),
                    _ => return false,
                }
            }
        } else {
            None
        };
        self.codes[c] = M {
            state: to,
            job: new_job,
            verified: m.verified || to == CodeState::Verified,
            sent: m.sent || to == CodeState::Sent,
        };
        true
    }

    /// Close job `j`: the codes it holds settle as `Ledger::close_job` says (a roll's PRINTED stickers
    /// wait; a reservation never sent goes back to the pool; the rest to review).
    fn close(&mut self, j: usize) {
        let (mode, closed) = self.jobs[j];
        if closed {
            return;
        }
        self.jobs[j].1 = true;
        for m in self.codes.iter_mut().filter(|m| m.job == Some(j)) {
            m.state = if m.state == CodeState::Printed && mode.printed_may_wait() {
                continue;
            } else if m.state == CodeState::Reserved && !m.sent {
                CodeState::Available
            } else {
                CodeState::NeedsReview
            };
            m.job = None;
        }
    }
}

fn actor(supervisor: bool) -> Actor {
    if supervisor {
        Actor::supervisor("boss")
    } else {
        Actor::operator("op")
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_the_ledger_consistent(ops in proptest::collection::vec(op(), 1..70)) {
        let dir = tempfile::tempdir().unwrap();
        let (mut l, gtin, codes) = ledger_with_codes(dir.path(), CODES, 11);
        let ids: Vec<CodeId> = codes.iter().map(|c| l.find_code(c).unwrap().unwrap().id).collect();
        let index: HashMap<CodeId, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let mut model = Model {
            codes: vec![M { state: CodeState::Available, job: None, verified: false, sent: false }; CODES],
            jobs: Vec::new(),
        };
        let mut jobs: Vec<JobId> = Vec::new();
        let op_actor = Actor::operator("op");
        let scan = ScanProof { raw: b"scan", aim: Some("]d2") };
        let mut lock = None;
        for (n, o) in ops.iter().enumerate() {
            // A job index beyond the opened jobs maps to "no such job" (always refused).
            let jid = |j: usize| jobs.get(j).copied().unwrap_or(JobId(9_999));
            let known = |j: usize| (j < jobs.len()).then_some(j);
            let (result, expected): (Result<(), StoreError>, bool) = match o.clone() {
                Op::OpenJob(mode) => {
                    let id = l.open_job(&gtin, mode, &op_actor).unwrap();
                    jobs.push(id);
                    model.jobs.push((mode, false));
                    continue;
                }
                Op::CloseJob(j) => {
                    let r = l.close_job(jid(j)).map(|_| ());
                    if let Some(j) = known(j) { model.close(j); }
                    (r, known(j).is_some())
                }
                Op::Reserve(j) => {
                    let r = l.reserve(jid(j), &op_actor);
                    match (&r, known(j)) {
                        (Ok(rec), Some(j)) => {
                            let c = index[&rec.id];
                            // The ledger hands out the oldest AVAILABLE code.
                            let first = model.codes.iter().position(|m| m.state == CodeState::Available);
                            prop_assert_eq!(Some(c), first);
                            prop_assert!(model.step(c, Move::Reserve, false, Some(j)));
                            continue;
                        }
                        (Err(_), Some(j)) => {
                            let any = model.codes.iter().any(|m| m.state == CodeState::Available);
                            prop_assert!(model.jobs[j].1 || !any, "reserve refused: {:?}", r);
                            continue;
                        }
                        (r, None) => { prop_assert!(r.is_err()); continue; }
                    }
                }
                Op::Release(c, j) => (l.release(ids[c], jid(j), &op_actor), known(j).is_some() && model.step(c, Move::Release, false, known(j))),
                Op::Send(c, j) => (l.mark_sent(ids[c], jid(j), "sim:", b"^XA^XZ", false, &op_actor).map(|_| ()), known(j).is_some() && model.step(c, Move::Send, false, known(j))),
                Op::Print(c, j) => (l.mark_printed(ids[c], jid(j), &op_actor), known(j).is_some() && model.step(c, Move::Print, false, known(j))),
                Op::Verify(c, j) => (l.verify(ids[c], jid(j), &scan, &op_actor), known(j).is_some() && model.step(c, Move::Verify, false, known(j))),
                Op::Reject(c, j) => (l.reject(ids[c], jid(j), "mismatch", &op_actor), known(j).is_some() && model.step(c, Move::Reject, false, known(j))),
                Op::Report(c) => (l.mark_reported(ids[c], "rep", &system()), model.step(c, Move::Report, false, None)),
                Op::Refuse(c) => (l.registry_refused(ids[c], "refused", &system()), model.step(c, Move::RegistryRefuse, false, None)),
                Op::Reprint(c, j, s) => (l.reprint(ids[c], jid(j), "torn", &actor(s)), known(j).is_some() && model.step(c, Move::Reprint, s, known(j))),
                Op::Confirm(c, s) => (l.confirm_applied(ids[c], &scan, &actor(s)), model.step(c, Move::ConfirmApplied, s, None)),
                Op::SendAgain(c, s) => (l.send_again(ids[c], &actor(s)), model.step(c, Move::SendAgain, s, None)),
                Op::Missing(c, s) => (l.sticker_missing(ids[c], "", &actor(s)), model.step(c, Move::StickerMissing, s, None)),
                Op::WriteOff(c, s) => (l.write_off(ids[c], "spoiled", &actor(s)), model.step(c, Move::WriteOff, s, None)),
                Op::Restart => {
                    drop(lock.take());
                    drop(l);
                    let (l2, lk, report) = Ledger::open_station(dir.path(), "station-test", &system()).unwrap();
                    l = l2;
                    lock = Some(lk);
                    // Reserved codes that never reached a printer go back to the pool.
                    for c in 0..CODES {
                        if model.codes[c].state == CodeState::Reserved && !model.codes[c].sent {
                            prop_assert!(model.step(c, Move::Release, false, None));
                        }
                    }
                    for (id, _) in &report.to_review {
                        let c = index[id];
                        prop_assert!(model.step(c, Move::Recover, false, None));
                    }
                    for (i, m) in model.codes.iter().enumerate() {
                        if m.state == CodeState::Printed {
                            let mode = model.jobs[m.job.unwrap()].0;
                            prop_assert!(mode.printed_may_wait(), "code {} left PRINTED for a {:?} job", i, mode);
                        }
                        prop_assert!(!matches!(m.state, CodeState::Reserved | CodeState::Sent));
                    }
                    for (mode, closed) in model.jobs.iter_mut() {
                        if matches!(mode, JobMode::Inline | JobMode::Reprint) { *closed = true; }
                    }
                    continue;
                }
            };
            prop_assert_eq!(result.is_ok(), expected, "op {} {:?}: ledger said {:?}", n, o, result);
            if n % 10 == 9 {
                prop_assert_eq!(l.check_invariants().unwrap(), vec![]);
            }
        }
        for (c, m) in model.codes.iter().enumerate() {
            let r = l.code(ids[c]).unwrap();
            prop_assert_eq!(r.state, m.state, "code {}", c);
            prop_assert_eq!(r.job.map(|j| jobs.iter().position(|x| *x == j).unwrap()), m.job);
            prop_assert_eq!(r.verified_at_ms.is_some(), m.verified);
        }
        prop_assert_eq!(l.check_invariants().unwrap(), vec![]);
        let total: u64 = l.balance().unwrap()[0].states.values().sum();
        prop_assert_eq!(total, CODES as u64, "no code lost or added");
    }
}
