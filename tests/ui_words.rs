// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every key the engine can send for a person has its branch in `ui/words.slint`, so a new sentence
//! cannot stay English on the touchscreen by accident; and every branch there is a key the engine lists,
//! so a renamed key cannot leave a dead translation behind. Reads the Slint text: needs no window.

use std::collections::BTreeSet;

use labelstation::engine::words::{
    NOTICE_KEYS, REASON_KEYS, SETTINGS_KEYS, STOPPED_KEYS, printer_keys,
};

/// The keys `function` branches on (`if key == "..."`).
fn branches(function: &str) -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/ui/words.slint");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text
        .find(&format!("public pure function {function}("))
        .unwrap_or_else(|| panic!("no function {function} in {path}"));
    let body = &text[start..];
    let end = body[1..]
        .find("public pure function ")
        .map_or(body.len(), |e| e + 1);
    let body = &body[..end];
    let mut keys = BTreeSet::new();
    for part in body.split("key == \"").skip(1) {
        keys.insert(part[..part.find('"').unwrap()].to_owned());
    }
    assert!(!keys.is_empty(), "{function} has no branches");
    keys
}

fn check(function: &str, listed: &[&str]) {
    let listed: BTreeSet<String> = listed.iter().map(|k| (*k).to_owned()).collect();
    let worded = branches(function);
    let missing: Vec<_> = listed.difference(&worded).collect();
    assert!(
        missing.is_empty(),
        "keys with no branch in Words.{function} (ui/words.slint), so shown in English: {missing:?}"
    );
    let unknown: Vec<_> = worded.difference(&listed).collect();
    assert!(
        unknown.is_empty(),
        "Words.{function} words keys the engine does not list: {unknown:?}"
    );
}

#[test]
fn every_notice_key_is_worded() {
    // Settings results are worded by the same function.
    let keys: Vec<&str> = NOTICE_KEYS.iter().chain(SETTINGS_KEYS).copied().collect();
    check("notice", &keys);
}

#[test]
fn every_printer_key_is_worded_with_what_and_what_to_do() {
    let keys = printer_keys();
    check("printer-detail", &keys);
    check("printer-remedy", &keys);
}

#[test]
fn every_stop_reason_is_worded() {
    check("stopped", STOPPED_KEYS);
}

#[test]
fn every_rejection_reason_is_worded() {
    check("reason", REASON_KEYS);
}
