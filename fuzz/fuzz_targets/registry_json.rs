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
        let _ = wire::clean(&e.summary());
    }
    let _ = xtrace::decode_document::<xtrace::Withdrawal>(&String::from_utf8_lossy(body));
    let _ = serde_json::from_slice::<oms::BufferInfo>(body);
    let _ = serde_json::from_slice::<oms::CodesBlock>(body);
    let _ = serde_json::from_slice::<oms::Blocks>(body);
    let _ = serde_json::from_slice::<oms::OrderSummaries>(body);
    let _ = serde_json::from_slice::<oms::ReportInfo>(body);
    let _ = serde_json::from_slice::<oms::OrderResult>(body);
});
