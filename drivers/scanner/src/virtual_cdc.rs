// SPDX-License-Identifier: GPL-3.0-or-later
//! A virtual USB CDC scanner: writes scans to the master side of a pseudo-terminal exactly as a
//! real CDC scanner writes them to its virtual COM port, with the faults real scanners and
//! stickers produce. The station opens the slave path like `/dev/ttyACM0`, so the whole path
//! from tty to verdict runs in tests and in the demo without hardware.
//!
//! Its input is the decoded content and the AIM id of what was read: the caller decodes the
//! symbol (the app's virtual scanner reads the virtual printer's rendered labels with a real
//! DataMatrix decoder), so this end only adds what the wire carries and the faults.

use std::io::Write;
use std::path::PathBuf;

use serialport::{SerialPort, TTYPort};

/// What goes wrong on this scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A clean scan.
    None,
    /// The scanner could not read the symbol: nothing is sent.
    NoRead,
    /// `count` content bytes are changed to other printable bytes.
    Misread {
        /// How many bytes change.
        count: usize,
    },
    /// Every GS (0x1D) is left out, as wedge-configured scanners do.
    GsDropped,
    /// This AIM id is sent instead of the configured one (e.g. `]d1`, `]Q3`).
    WrongSymbology([u8; 3]),
    /// `len` random bytes (never CR or LF) right before the scan, glued to its front as line
    /// noise would be.
    NoiseBurst {
        /// Bytes of noise.
        len: usize,
    },
    /// The same scan is sent twice (trigger held, or two reads of one label).
    DoubleScan,
    /// Another code is sent instead, as when the scanner catches the neighbouring label.
    Neighbour(Vec<u8>),
}

/// Errors of the virtual scanner.
#[derive(Debug, thiserror::Error)]
pub enum VirtualScannerError {
    /// The pseudo-terminal could not be made.
    #[error(
        "cannot create a pseudo-terminal for the virtual scanner: {0}: check /dev/ptmx exists and is writable"
    )]
    Pty(#[from] serialport::Error),
    /// The slave side has no path.
    #[error(
        "the pseudo-terminal for the virtual scanner has no device path: the OS does not name PTYs; use a real scanner"
    )]
    NoPath,
    /// Writing to the PTY failed.
    #[error(
        "the virtual scanner could not send {len} bytes: {cause}: the station side has closed; reopen it"
    )]
    Write {
        /// Bytes it tried to send.
        len: usize,
        /// The OS error.
        cause: std::io::Error,
    },
}

/// A virtual CDC scanner writing to `W` (a PTY master, or any writer in tests).
#[derive(Debug)]
pub struct VirtualCdcScanner<W: Write = TTYPort> {
    out: W,
    aim: Option<[u8; 3]>,
    terminator: Vec<u8>,
    rng: u64,
}

impl VirtualCdcScanner<TTYPort> {
    /// Creates a pseudo-terminal: the scanner writes to its master side; open the returned path
    /// as the station's serial scanner (`serial://<path>`).
    pub fn pty() -> Result<(VirtualCdcScanner<TTYPort>, PathBuf), VirtualScannerError> {
        let (master, slave) = TTYPort::pair()?;
        let path = slave
            .name()
            .map(PathBuf::from)
            .ok_or(VirtualScannerError::NoPath)?;
        // Only the station should hold the slave side, as with a real port.
        drop(slave);
        Ok((VirtualCdcScanner::new(master), path))
    }
}

impl<W: Write> VirtualCdcScanner<W> {
    /// A scanner sending `]d2` before each scan and CR after it, like a GS1-configured scanner.
    pub fn new(out: W) -> Self {
        VirtualCdcScanner {
            out,
            aim: Some(*b"]d2"),
            terminator: b"\r".to_vec(),
            rng: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// Sets the AIM id sent before each scan (`None`: "transmit AIM id" off).
    pub fn with_aim(mut self, aim: Option<[u8; 3]>) -> Self {
        self.aim = aim;
        self
    }

    /// Sets the suffix (CR, CRLF, LF, or empty for silence framing).
    pub fn with_terminator(mut self, terminator: &[u8]) -> Self {
        self.terminator = terminator.to_vec();
        self
    }

    /// Seeds the generator behind misreads and noise, so a test run is repeatable.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = seed | 1;
        self
    }

    /// Change the AIM id sent from now on (a scanner reports the symbology of what it just read).
    pub fn set_aim(&mut self, aim: Option<[u8; 3]>) {
        self.aim = aim;
    }

    /// The bytes one scan of `content` with `fault` puts on the wire. Pure apart from the
    /// random generator's state.
    pub fn frame(&mut self, content: &[u8], fault: &Fault) -> Vec<u8> {
        let mut body: Vec<u8> = match fault {
            Fault::Neighbour(other) => other.clone(),
            Fault::GsDropped => content.iter().copied().filter(|b| *b != 0x1d).collect(),
            _ => content.to_vec(),
        };
        if let Fault::Misread { count } = fault
            && !body.is_empty()
        {
            // Distinct positions, so a second change cannot undo the first.
            let mut changed = vec![false; body.len()];
            for _ in 0..(*count).min(body.len()) {
                let mut i = self.below(body.len());
                while changed[i] {
                    i = (i + 1) % body.len();
                }
                changed[i] = true;
                body[i] = self.printable_other_than(body[i]);
            }
        }
        let aim = match fault {
            Fault::WrongSymbology(aim) => Some(*aim),
            _ => self.aim,
        };
        let mut one = Vec::with_capacity(body.len() + 8);
        one.extend(aim.iter().flatten());
        one.extend_from_slice(&body);
        one.extend_from_slice(&self.terminator);
        match fault {
            Fault::NoRead => Vec::new(),
            Fault::DoubleScan => [one.clone(), one].concat(),
            Fault::NoiseBurst { len } => {
                let mut noise: Vec<u8> = (0..*len).map(|_| self.noise_byte()).collect();
                noise.extend_from_slice(&one);
                noise
            }
            _ => one,
        }
    }

    /// Sends one scan of `content` with `fault`; returns the bytes written.
    pub fn scan(&mut self, content: &[u8], fault: &Fault) -> Result<usize, VirtualScannerError> {
        let bytes = self.frame(content, fault);
        // No flush: tcdrain on a PTY fails once the peer closed (research/crates.md section 4).
        self.out
            .write_all(&bytes)
            .map_err(|cause| VirtualScannerError::Write {
                len: bytes.len(),
                cause,
            })?;
        Ok(bytes.len())
    }

    /// xorshift64: small, seedable, no dependency; quality is irrelevant for fault injection.
    fn next(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }

    fn printable_other_than(&mut self, b: u8) -> u8 {
        loop {
            let c = b'!' + u8::try_from(self.next() % 94).unwrap_or(0);
            if c != b {
                return c;
            }
        }
    }

    fn noise_byte(&mut self) -> u8 {
        loop {
            let c = self.next().to_le_bytes()[0];
            if c != b'\r' && c != b'\n' {
                return c;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &[u8] = b"0104600000000017215abc\x1d91EE11\x1d92xyz";

    fn emitter() -> VirtualCdcScanner<Vec<u8>> {
        VirtualCdcScanner::new(Vec::new()).with_seed(7)
    }

    #[test]
    fn clean_scan_and_framing_options() {
        assert_eq!(
            emitter().frame(CODE, &Fault::None),
            [&b"]d2"[..], CODE, b"\r"].concat()
        );
        let mut plain = emitter().with_aim(None).with_terminator(b"\r\n");
        assert_eq!(plain.frame(CODE, &Fault::None), [CODE, b"\r\n"].concat());
    }

    #[test]
    fn faults_change_exactly_what_they_say() {
        let mut e = emitter();
        assert!(e.frame(CODE, &Fault::NoRead).is_empty());
        assert_eq!(
            e.frame(CODE, &Fault::GsDropped),
            b"]d20104600000000017215abc91EE1192xyz\r"
        );
        assert_eq!(
            e.frame(CODE, &Fault::WrongSymbology(*b"]Q3")),
            [&b"]Q3"[..], CODE, b"\r"].concat()
        );
        let once = e.frame(CODE, &Fault::None);
        assert_eq!(
            e.frame(CODE, &Fault::DoubleScan),
            [once.clone(), once].concat()
        );
        assert_eq!(
            e.frame(CODE, &Fault::Neighbour(b"other".to_vec())),
            b"]d2other\r"
        );

        for count in [1, 3, 1000] {
            let misread = e.frame(CODE, &Fault::Misread { count });
            assert_eq!(misread.len(), CODE.len() + 4);
            let differing = misread[3..]
                .iter()
                .zip(CODE)
                .filter(|(a, b)| a != b)
                .count();
            assert_eq!(differing, count.min(CODE.len()));
        }

        let noisy = e.frame(CODE, &Fault::NoiseBurst { len: 20 });
        assert_eq!(noisy.len(), 20 + CODE.len() + 4);
        assert!(noisy[..20].iter().all(|b| *b != b'\r' && *b != b'\n'));
        assert!(noisy.ends_with(&[&b"]d2"[..], CODE, b"\r"].concat()));
    }

    #[test]
    fn same_seed_same_faults() {
        let a = emitter().frame(CODE, &Fault::Misread { count: 3 });
        let b = emitter().frame(CODE, &Fault::Misread { count: 3 });
        assert_eq!(a, b);
    }
}
