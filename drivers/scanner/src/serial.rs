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

use crate::frame::{DEFAULT_MAX_FRAME, Framer, Terminator};
use crate::uri::DEFAULT_BAUD;
use crate::{ChannelScanner, Feed, ScannerError, ScannerEvent, ScannerState};

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
            backoff_min: Duration::from_millis(200),
            backoff_max: Duration::from_secs(2),
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
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        self.backoff_min
            .saturating_mul(factor)
            .min(self.backoff_max)
    }
}

/// Starts reading a serial scanner. Returns at once: the first state event says whether the
/// device opened; when it is absent the reader keeps retrying.
pub fn open_serial(config: SerialConfig) -> Result<ChannelScanner, ScannerError> {
    ChannelScanner::spawn(config.source(), true, move |feed| run(config, feed))
}

fn run(config: SerialConfig, feed: Feed) {
    let source = config.source();
    let mut framer = Framer::new(config.term, source).with_cap(config.max);
    let mut attempt: u32 = 0;
    let mut last_reason = String::new();
    loop {
        if feed.stopped() {
            return;
        }
        let opened = serialport::new(config.path.to_string_lossy(), config.baud)
            .timeout(config.read_timeout())
            .open_native();
        match opened {
            Ok(mut port) => {
                attempt = 0;
                if !feed.send(ScannerEvent::State(ScannerState::Connected)) {
                    return;
                }
                let reason = read_until_gone(&config, &mut port, &mut framer, &feed);
                drop(port);
                let Some(reason) = reason else { return };
                if let Some(ev) = framer.finish()
                    && !feed.send(ev)
                {
                    return;
                }
                last_reason = reason.clone();
                if !feed.send(ScannerEvent::State(ScannerState::Disconnected { reason })) {
                    return;
                }
            }
            Err(e) => {
                let reason = ScannerError::Open {
                    path: config.path.clone(),
                    cause: e.into(),
                }
                .to_string();
                // Report each new cause once, not on every retry.
                if reason != last_reason {
                    last_reason = reason.clone();
                    if !feed.send(ScannerEvent::State(ScannerState::Disconnected { reason })) {
                        return;
                    }
                }
            }
        }
        attempt = attempt.saturating_add(1);
        let retry_in = config.backoff(attempt);
        if !feed.send(ScannerEvent::State(ScannerState::Reconnecting {
            attempt,
            retry_in,
        })) || !feed.sleep(retry_in)
        {
            return;
        }
    }
}

/// Reads until the device goes away; returns why, or `None` when a stop was requested.
fn read_until_gone(
    config: &SerialConfig,
    port: &mut serialport::TTYPort,
    framer: &mut Framer,
    feed: &Feed,
) -> Option<String> {
    let mut buf = [0u8; 512];
    let mut last_byte = Instant::now();
    loop {
        if feed.stopped() {
            return None;
        }
        match port.read(&mut buf) {
            Ok(0) => return Some(gone(config, "end of data")),
            Ok(n) => {
                last_byte = Instant::now();
                for ev in framer.push(&buf[..n]) {
                    if !feed.send(ev) {
                        return None;
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::Interrupted => {
                if let Some(ev) = framer.idle(last_byte.elapsed())
                    && !feed.send(ev)
                {
                    return None;
                }
            }
            Err(e) => {
                // A scan still waiting for its silence gap is complete if the gap has passed.
                if let Some(ev) = framer.idle(last_byte.elapsed())
                    && !feed.send(ev)
                {
                    return None;
                }
                return Some(gone(config, &e.to_string()));
            }
        }
    }
}

fn gone(config: &SerialConfig, cause: &str) -> String {
    format!(
        "scanner {} went away ({cause}): check the USB cable; it reconnects by itself when plugged back in",
        config.path.display()
    )
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
