// SPDX-License-Identifier: GPL-3.0-or-later
//! Arbitrary bytes as a packing list (consignment import): never a panic; whatever is accepted has at
//! least one line, one line per GTIN, positive quantities within the bound, names that are not empty,
//! and line numbers past the header in file order.
#![no_main]

use std::collections::HashSet;

use labelstation::consignment::packing_list::{MAX_QUANTITY, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse(data) {
        Ok(list) => {
            assert!(!list.lines.is_empty());
            let mut gtins = HashSet::new();
            let mut last = 0;
            for l in &list.lines {
                assert!(gtins.insert(l.gtin.clone()), "one line per GTIN");
                assert!(l.quantity > 0 && l.quantity <= MAX_QUANTITY);
                assert!(!l.name.trim().is_empty());
                assert!(l.line > last, "lines in file order, after the header");
                last = l.line;
            }
        }
        Err(errors) => assert!(!errors.is_empty()),
    }
});
