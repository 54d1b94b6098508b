// SPDX-License-Identifier: GPL-3.0-or-later
//! Printer replies come from a device, a cable and possibly line noise: no byte sequence may
//! panic any status parser or the frame splitter, however it is chunked.
#![no_main]

use labelstation_printer::status::{
    ExtendedStatus, FrameSplitter, HostIdentification, HostStatus, SgdReader, StatusReply,
    odometer_count,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Whole-buffer parsers.
    if let Ok(status) = HostStatus::parse_bytes(data) {
        let _ = status.problems();
        let _ = StatusReply::from(status.clone()).is_idle();
        // What we accept must survive our own encoding.
        assert_eq!(HostStatus::parse_bytes(&status.encode()), Ok(status));
    }
    if let Ok(extended) = ExtendedStatus::parse_bytes(data) {
        let _ = extended.problems();
    }
    if let Ok(ident) = HostIdentification::parse_bytes(data) {
        let _ = ident.dpi();
    }
    // An SGD answer (the odometer), whole and split at every chunk size below.
    let whole = SgdReader::parse(data);
    if let Some(Ok(value)) = &whole {
        let _ = odometer_count(value);
    }

    // Streaming: the first byte picks the chunk size and the frame cap, so the fuzzer explores
    // reads split at every point and overflow at every length.
    let Some((&shape, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(shape % 16) + 1;
    let cap = usize::from(shape) + 1;
    let mut splitter = FrameSplitter::with_max_frame_len(cap);
    let mut frames = Vec::new();
    let mut sgd = SgdReader::new();
    let mut answer = None;
    for piece in stream.chunks(chunk) {
        if answer.is_none() {
            answer = sgd.push(piece);
        }
        // Framing errors are recoverable by design; only the frames matter here.
        for frame in splitter.push(piece).into_iter().flatten() {
            assert!(frame.len() <= cap, "frame longer than the cap");
            let _ = ExtendedStatus::parse(&frame);
            let _ = HostIdentification::parse(&frame);
            frames.push(frame);
        }
    }
    // However the bytes were chunked, the answer is the same.
    assert_eq!(answer, SgdReader::parse(stream));
    for window in frames.windows(3) {
        let _ = HostStatus::parse(window);
    }
});
