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
    branches_on(function, "key")
}

/// The values `function` branches on (`if <var> == "..."`).
fn branches_on(function: &str, var: &str) -> BTreeSet<String> {
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
    for part in body.split(&format!("{var} == \"")).skip(1) {
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

#[test]
fn every_audit_action_is_listed_and_worded() {
    use labelstation::ledger::audit::ACTIONS;
    let listed: BTreeSet<String> = ACTIONS.iter().map(|a| (*a).to_owned()).collect();
    assert_eq!(branches_on("audit-action", "action"), listed);
    // Every action the code appends is listed: the first string literal after an append call is the action.
    // The app and the library crates (the ledger appends most of them).
    let mut found = BTreeSet::new();
    let mut stack = vec![
        std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../crates")),
    ];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                if !(line.contains("audit::append(") || line.contains(".audit_note("))
                    || line.contains("fn ")
                {
                    continue;
                }
                let window = lines[i..(i + 8).min(lines.len())].join("\n");
                let literal = window.split('"').nth(1).map(str::to_owned);
                // A formatted action (`order.{}`) is listed by hand with its expansions.
                if let Some(action) = literal.filter(|a| !a.contains("{}")) {
                    found.insert(action);
                }
            }
        }
    }
    let missing: Vec<_> = found.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "audit actions not in ledger::audit::ACTIONS: {missing:?}"
    );
    assert!(
        found.len() >= 10,
        "the scan found too few actions: {found:?}"
    );
}
