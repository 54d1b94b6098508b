// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]
//! The virtual printer's own record of every sticker it put out, copies included, compared with the
//! ledger: the independent record the line tests check outcomes against (what the printer actually
//! printed, not sums the ledger keeps by construction).

use std::collections::BTreeMap;

use labelstation_ledger::{CodeId, CodeState, Ledger};
use labelstation_sim::printer::Sticker;

/// Review reasons that tell the supervisor a sticker of the code may exist (the ledger's keys).
const STICKER_MAY_EXIST: &[&str] = &[
    "maybe-not-sent",
    "printer-cancelled",
    "printer-error",
    "line-error",
    "station-stopped",
    "odometer-disagrees",
];

/// What the comparison found, for assertions on top.
#[derive(Debug, Default)]
pub struct StickerCheck {
    /// Codes that came out of the printer, with how many stickers each.
    pub printed: BTreeMap<String, usize>,
    /// Codes that came out more than once.
    pub copies: Vec<String>,
}

fn masked(code: &str) -> String {
    code.get(..31).unwrap_or(code).to_owned()
}

/// Every sticker the printer put out is one the ledger can explain, and every applied code came from a
/// sticker:
/// - its code is in the ledger and not back in the pool, nor left RESERVED or SENT;
/// - a REJECTED or NEEDS_REVIEW code either printed as far as the ledger knows (a `print` move) or waits
///   with a reason that says a sticker of it may exist;
/// - a code that came out more than once is one the ledger knows a copy of: an interrupted print
///   attempt, a second print attempt, or a second-sticker alert;
/// - every VERIFIED or REPORTED code came out of the printer at least once.
pub fn check_stickers(ledger: &Ledger, stickers: &[Sticker]) -> StickerCheck {
    let mut check = StickerCheck::default();
    for s in stickers {
        if let Some(code) = &s.code {
            *check.printed.entry(code.clone()).or_default() += 1;
        }
    }
    // Every code the ledger holds, by its text, through the ledger's own reads (no SQL here).
    let mut records = BTreeMap::new();
    for state in CodeState::ALL {
        for r in ledger.codes_in_state(state, u32::MAX).unwrap() {
            records.insert(r.code.as_str().to_owned(), r);
        }
    }
    let reason_keys: BTreeMap<CodeId, Option<String>> = ledger
        .review_queue(u32::MAX)
        .unwrap()
        .into_iter()
        .map(|i| (i.id, i.reason_key))
        .collect();
    for (code, &n) in &check.printed {
        let m = masked(code);
        let Some(r) = records.get(code) else {
            panic!("the printer put out {m}…, a code the ledger does not know");
        };
        match r.state {
            CodeState::Printed
            | CodeState::Verified
            | CodeState::Reported
            | CodeState::WrittenOff => {}
            CodeState::Rejected | CodeState::NeedsReview => {
                let printed = ledger.events(r.id).unwrap().iter().any(|e| e.mv == "print");
                let key = reason_keys.get(&r.id).cloned().flatten();
                let says = key
                    .as_deref()
                    .is_some_and(|k| STICKER_MAY_EXIST.contains(&k));
                assert!(
                    printed || says,
                    "a sticker of {m}… came out, but the code waits in review ({}, {key:?}) as if none existed",
                    r.state.as_str()
                );
            }
            other => panic!(
                "a sticker of {m}… came out, but the ledger has the code {}",
                other.as_str()
            ),
        }
        if n > 1 {
            check.copies.push(code.clone());
            let known = ledger.copy_may_exist(r.id).unwrap()
                || !ledger.sticker_alerts_of(r.id).unwrap().is_empty();
            assert!(
                known,
                "{n} stickers of {m}… came out, and the ledger knows of no copy"
            );
        }
    }
    for (code, r) in &records {
        if matches!(r.state, CodeState::Verified | CodeState::Reported) {
            assert!(
                check.printed.contains_key(code),
                "{}… counts as applied, but no sticker of it ever came out",
                masked(code)
            );
        }
    }
    check
}
