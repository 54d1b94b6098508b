// SPDX-License-Identifier: GPL-3.0-or-later
//! ZPL arrives from the station, a network peer or a capture file: no byte sequence may panic
//! the interpreter or the renderer or break their memory bounds, and the interpreter's stored
//! formats must survive a failed read.
#![no_main]

use labelstation_zpl::interpret::{Interpreter, Limits};
use labelstation_zpl::render::render;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small limits so the fuzzer reaches every cap quickly.
    let limits = Limits {
        max_field_data: 64,
        max_stored_formats: 2,
        max_stored_format_bytes: 256,
        max_fields_per_label: 16,
        max_fields_per_read: 64,
    };
    let mut interpreter = Interpreter::with_limits(limits);
    // Split at the first NUL: the first part stores formats, the second recalls them.
    let (first, second) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    for input in [first, second] {
        if let Ok(job) = interpreter.read(input) {
            for label in job.labels() {
                assert!(label.fields.len() <= limits.max_fields_per_label);
                for dm in label.datamatrices() {
                    let _ = dm.gs1_element_string();
                }
                for text in label.texts() {
                    assert!(text.len() <= 4 * limits.max_field_data);
                }
                // Keep each run fast: only labels up to about 1 million dots are drawn.
                let small = match (label.settings.width, label.settings.length) {
                    (Some(w), Some(h)) => u64::from(w) * u64::from(h) <= 1_000_000,
                    _ => true,
                };
                if small && let Ok(bitmap) = render(label) {
                    assert_eq!(bitmap.dots.len(), bitmap.stride() * bitmap.height as usize);
                }
            }
        }
    }
    assert!(interpreter.stored_formats().count() <= limits.max_stored_formats);
});
