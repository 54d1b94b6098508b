// SPDX-License-Identifier: GPL-3.0-or-later
//! Scanner bytes are outside bytes: framing any stream in any chunking must not panic, must stay within
//! its cap, and each framed scan must go through normalisation and the code parser without panicking.
#![no_main]

use std::time::Duration;

use labelstation::codes::{CodeFormat, MarkingCode, normalize};
use labelstation_scanner::frame::{FrameEvent, Framer, Terminator};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let term = match mode % 5 {
        0 => Terminator::Cr,
        1 => Terminator::Lf,
        2 => Terminator::CrLf,
        3 => Terminator::AnyCrLf,
        _ => Terminator::Silence(Duration::from_millis(50)),
    };
    let cap = 16 + usize::from(mode) * 4;
    let mut framer = Framer::new(term, "fuzz").with_cap(cap);
    let chunk = 1 + usize::from(mode % 7);
    let mut events = Vec::new();
    for piece in rest.chunks(chunk) {
        events.extend(framer.push(piece));
        assert!(framer.pending_len() <= cap, "framer exceeded its cap");
        if piece.first() == Some(&0) {
            events.extend(framer.idle(Duration::from_millis(60)));
        }
    }
    events.extend(framer.finish());
    for e in events {
        if let FrameEvent::Scan(scan) = e {
            assert!(scan.bytes.len() <= cap);
            let _ = normalize(&scan.bytes);
            let _ = MarkingCode::parse(&scan.bytes, &CodeFormat::default());
        }
    }
});
