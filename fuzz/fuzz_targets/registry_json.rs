// SPDX-License-Identifier: GPL-3.0-or-later
//! Registry answers are outside bytes: no body, however malformed, may panic the client, and an error
//! body always becomes a bounded, printable message.
#![no_main]

use labelstation::registry::{oms, wire, xtrace};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data.split_first() {
        Some((s, rest)) => (400 + u16::from(*s), rest),
        None => (500, data),
    };
    let e = wire::parse_error_body(status, body);
    let shown = e.to_string();
    for m in &e.messages {
        assert!(m.chars().count() <= 301, "unbounded message");
        assert!(!m.chars().any(char::is_control), "control character in a message");
    }
    assert!(shown.starts_with("HTTP "));
    let _ = serde_json::from_slice::<xtrace::AuthResponse>(body);
    let _ = serde_json::from_slice::<xtrace::SubOrders>(body);
    let _ = serde_json::from_slice::<xtrace::CodesPack>(body);
    let _ = serde_json::from_slice::<xtrace::Packs>(body);
    let _ = serde_json::from_slice::<xtrace::UtilisationStatus>(body);
    let _ = serde_json::from_slice::<xtrace::DocumentInfo>(body);
    if let Ok(e) = serde_json::from_slice::<xtrace::DocumentErrors>(body) {
        let _ = labelstation::codes::clean_message(&e.summary());
    }
    let _ = xtrace::decode_document::<xtrace::Withdrawal>(&String::from_utf8_lossy(body));
    // What the simulator reads from a client: a document body checked for key order, then decoded.
    if xtrace::check_keys_sorted(body).is_ok() {
        assert!(serde_json::from_slice::<serde_json::Value>(body).is_ok(), "sorted but not JSON");
    }
    let _ = xtrace::decode_document_strict::<xtrace::ImportDocument>(&String::from_utf8_lossy(body));
    let _ = serde_json::from_slice::<xtrace::DocumentSearch>(body);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        // The code lookup and a stored document, in whatever layout: echoes matched by identification
        // code, never a panic.
        let text = String::from_utf8_lossy(body);
        let m = wire::IdentMatcher::new(text.split('\n'));
        for c in xtrace::parse_code_lookup(&v).unwrap_or_default() {
            let _ = m.find(&c.code);
        }
        for c in xtrace::stored_document_codes(&v) {
            let _ = m.find(&c);
            let _ = wire::IdentMatcher::named_in(&text, &c);
        }
    }
    let _ = wire::parse_retry_after(&String::from_utf8_lossy(body), std::time::SystemTime::now());
    let _ = serde_json::from_slice::<oms::BufferInfo>(body);
    let _ = serde_json::from_slice::<oms::CodesBlock>(body);
    let _ = serde_json::from_slice::<oms::Blocks>(body);
    let _ = serde_json::from_slice::<oms::OrderSummaries>(body);
    let _ = serde_json::from_slice::<oms::ReportInfo>(body);
    let _ = serde_json::from_slice::<oms::OrderResult>(body);
});
