// SPDX-License-Identifier: GPL-3.0-or-later
//! Lines from standard input as scans, for manual tests at a terminal. A terminal in cooked
//! mode cannot type GS (0x1D) reliably, so this is for trying the station, never for checking
//! real stickers.

use std::io::BufRead;

use crate::frame::{Framer, Terminator};
use crate::reader::ChannelScanner;
use crate::{ScannerError, ScannerEvent, ScannerState};

/// Reads standard input; each line (CR, LF or CRLF) is one scan. End of input stops it.
pub fn open_stdin(source: String) -> Result<ChannelScanner, ScannerError> {
    // Reads from stdin cannot be interrupted, so dropping detaches the thread instead of joining.
    ChannelScanner::spawn(source.clone(), false, move |feed| {
        if !feed.send(ScannerEvent::State(ScannerState::Connected)) {
            return;
        }
        let mut framer = Framer::new(Terminator::AnyCrLf, source);
        let mut input = std::io::stdin().lock();
        loop {
            let chunk = match input.fill_buf() {
                Ok([]) => break,
                Ok(chunk) => chunk.to_vec(),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let reason = format!(
                        "standard input failed ({e}): restart the station with a readable input"
                    );
                    feed.send(ScannerEvent::State(ScannerState::Stopped { reason }));
                    return;
                }
            };
            input.consume(chunk.len());
            for ev in framer.push(&chunk) {
                if !feed.send(ev) {
                    return;
                }
            }
        }
        if let Some(ev) = framer.finish() {
            feed.send(ev);
        }
        let reason = "end of standard input: restart the station to scan from the terminal again"
            .to_string();
        feed.send(ScannerEvent::State(ScannerState::Stopped { reason }));
    })
}
