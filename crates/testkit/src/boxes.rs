// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Boxes on the line: the warehouse's GS1 company prefix the box tests configure, a ledger ready to pack,
//! and the check that an SSCC is one of ours.

use std::path::Path;

use labelstation_codes::{Gtin, Sscc};
use labelstation_ledger::Ledger;

use crate::consignment::take_in_consignment;
use crate::ledger_with_codes;

/// The GS1 company prefix the box tests' SSCCs are made under.
pub const PREFIX: &str = "4870001";
/// The SSCC extension digit the box tests configure.
pub const EXTENSION: u8 = 3;

/// A ledger with `n` codes of one product and consignment CN-1 declaring 20 pairs of it.
pub fn ledger(dir: &Path, n: usize) -> (Ledger, Gtin) {
    let (mut l, gtin, _) = ledger_with_codes(dir, n, 5);
    take_in_consignment(&mut l, "CN-1", &gtin, 20);
    (l, gtin)
}

/// The SSCC is valid, under [`PREFIX`] and [`EXTENSION`].
pub fn assert_ours(sscc: &str) {
    assert_eq!(Sscc::parse(sscc).unwrap().as_str(), sscc, "{sscc}");
    assert!(sscc.starts_with(&format!("{EXTENSION}{PREFIX}")), "{sscc}");
}
