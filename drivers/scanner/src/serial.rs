// SPDX-License-Identifier: GPL-3.0-or-later
//! USB CDC (virtual COM) and RS-232 scanners.
//!
//! The port is opened raw (no CR/LF translation, no XON/XOFF, 8 bits), so every byte the
//! scanner sends reaches the framer unchanged, 0x1D and 0x11/0x13 included. Unplugging removes
//! the device node; the reader reports it and keeps retrying with backoff, so the scanner comes
//! back by itself when replugged (a `/dev/serial/by-id/` path finds it again even when the
//! kernel gives it another ttyACM number).

use std::io::{ErrorKind, Read};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serialport::TTYPort;

use crate::frame::{DEFAULT_MAX_FRAME, Framer, Terminator};
use crate::reader::{self, BACKOFF_MAX, BACKOFF_MIN, Backend, ChannelScanner, Poll};
use crate::uri::DEFAULT_BAUD;
use crate::{ScannerError, ScannerEvent};

/// How to open and frame a serial scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialConfig {
    /// Device path.
    pub path: PathBuf,
    /// Line speed (ignored by USB CDC devices).
    pub baud: u32,
    /// How frames end.
    pub term: Terminator,
    /// Longest frame kept.
    pub max: usize,
    /// First wait before reopening after the device went away.
    pub backoff_min: Duration,
    /// Longest wait between reopen attempts.
    pub backoff_max: Duration,
}

impl SerialConfig {
    /// Defaults: 9600 baud, any CR/LF ends a scan, 4 KiB cap, retry from 200 ms up to 2 s.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SerialConfig {
            path: path.into(),
            baud: DEFAULT_BAUD,
            term: Terminator::AnyCrLf,
            max: DEFAULT_MAX_FRAME,
            backoff_min: BACKOFF_MIN,
            backoff_max: BACKOFF_MAX,
        }
    }

    /// The address scans are labelled with.
    pub fn source(&self) -> String {
        crate::ScannerUri::Serial {
            path: self.path.clone(),
            baud: self.baud,
            term: self.term,
            max: self.max,
        }
        .to_string()
    }

    /// How long one read waits: short enough to notice silence and a stop request promptly.
    fn read_timeout(&self) -> Duration {
        match self.term {
            Terminator::Silence(gap) => {
                (gap / 4).clamp(Duration::from_millis(1), Duration::from_millis(50))
            }
            _ => Duration::from_millis(100),
        }
    }

    /// Wait before reopen attempt `attempt` (1-based): doubling from the minimum up to the cap.
    pub fn backoff(&self, attempt: u32) -> Duration {
        reader::backoff(self.backoff_min, self.backoff_max, attempt)
    }
}

/// Starts reading a serial scanner. Returns at once: the first state event says whether the
/// device opened; when it is absent the reader keeps retrying.
pub fn open_serial(config: SerialConfig) -> Result<ChannelScanner, ScannerError> {
    let source = config.source();
    let mut line = Line {
        framer: Framer::new(config.term, source.clone()).with_cap(config.max),
        config,
        last_byte: Instant::now(),
    };
    ChannelScanner::spawn(source, true, move |feed| reader::run(&feed, &mut line))
}

/// A serial scanner as its reader thread drives it: what is being framed on the line, and when
/// its last byte came (for silence framing).
struct Line {
    config: SerialConfig,
    framer: Framer,
    last_byte: Instant,
}

impl Backend for Line {
    type Device = TTYPort;

    fn open(&mut self) -> Result<TTYPort, String> {
        let config = &self.config;
        serialport::new(config.path.to_string_lossy(), config.baud)
            .timeout(config.read_timeout())
            .open_native()
            .map_err(|e| {
                ScannerError::Open {
                    path: config.path.clone(),
                    cause: e.into(),
                }
                .to_string()
            })
    }

    /// Waits up to the read timeout itself, so it never answers `Poll::Nothing`.
    fn read(&mut self, port: &mut TTYPort) -> Poll {
        let mut buf = [0u8; 512];
        match port.read(&mut buf) {
            Ok(0) => Poll::Gone(reader::went_away(&self.config.path, "end of data")),
            Ok(n) => {
                self.last_byte = Instant::now();
                let events = self.framer.push(&buf[..n]);
                Poll::Events(events.into_iter().map(Into::into).collect())
            }
            Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::Interrupted => {
                let idle = self.framer.idle(self.last_byte.elapsed());
                Poll::Events(idle.into_iter().map(Into::into).collect())
            }
            Err(e) => Poll::Gone(reader::went_away(&self.config.path, e)),
        }
    }

    /// A scan still waiting for its silence gap is complete if the gap has passed; anything
    /// else pending is incomplete.
    fn finish(&mut self) -> Option<ScannerEvent> {
        let idle = self.framer.idle(self.last_byte.elapsed());
        idle.or_else(|| self.framer.finish()).map(Into::into)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.config.backoff(attempt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = SerialConfig::new("/dev/ttyACM0");
        let ms = |n| Duration::from_millis(n);
        assert_eq!(c.backoff(1), ms(200));
        assert_eq!(c.backoff(2), ms(400));
        assert_eq!(c.backoff(4), ms(1600));
        assert_eq!(c.backoff(5), ms(2000));
        assert_eq!(c.backoff(u32::MAX), ms(2000));
    }

    #[test]
    fn source_is_the_canonical_address() {
        let mut c = SerialConfig::new("/dev/ttyACM0");
        c.term = Terminator::Cr;
        assert_eq!(c.source(), "serial:///dev/ttyACM0?baud=9600&term=cr");
    }
}
