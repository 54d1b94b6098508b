// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]
//! The virtual printer's own record of every sticker it put out, copies included, compared with the
//! ledger: the independent record the line tests check outcomes against (what the printer actually
//! printed, not sums the ledger keeps by construction).

use std::collections::BTreeMap;

use labelstation_ledger::Ledger;
use labelstation_sim::printer::Sticker;
use rusqlite::OptionalExtension;

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
    let c = ledger.connection();
    let mut check = StickerCheck::default();
    for s in stickers {
        if let Some(code) = &s.code {
            *check.printed.entry(code.clone()).or_default() += 1;
        }
    }
    for (code, &n) in &check.printed {
        let m = masked(code);
        let row: Option<(i64, String, Option<String>)> = c
            .query_row(
                "SELECT id, state, reason_key FROM codes WHERE code = ?1",
                [code],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .unwrap();
        let Some((id, state, key)) = row else {
            panic!("the printer put out {m}…, a code the ledger does not know");
        };
        match state.as_str() {
            "PRINTED" | "VERIFIED" | "REPORTED" | "WRITTEN_OFF" => {}
            "REJECTED" | "NEEDS_REVIEW" => {
                let printed: bool = c
                    .query_row(
                        "SELECT EXISTS (SELECT 1 FROM code_events WHERE code_id = ?1 AND move = 'print')",
                        [id],
                        |r| r.get(0),
                    )
                    .unwrap();
                let says = key
                    .as_deref()
                    .is_some_and(|k| STICKER_MAY_EXIST.contains(&k));
                assert!(
                    printed || says,
                    "a sticker of {m}… came out, but the code waits in review ({state}, {key:?}) as if none existed"
                );
            }
            other => panic!("a sticker of {m}… came out, but the ledger has the code {other}"),
        }
        if n > 1 {
            check.copies.push(code.clone());
            let known: bool = c
                .query_row(
                    "SELECT (SELECT count(*) > 1 FROM print_attempts WHERE code_id = ?1)
                         OR EXISTS (SELECT 1 FROM print_interruptions WHERE code_id = ?1)
                         OR EXISTS (SELECT 1 FROM sticker_alerts WHERE code_id = ?1)",
                    [id],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(
                known,
                "{n} stickers of {m}… came out, and the ledger knows of no copy"
            );
        }
    }
    let applied: Vec<String> = c
        .prepare("SELECT code FROM codes WHERE state IN ('VERIFIED', 'REPORTED')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for code in applied {
        assert!(
            check.printed.contains_key(&code),
            "{}… counts as applied, but no sticker of it ever came out",
            masked(&code)
        );
    }
    check
}
