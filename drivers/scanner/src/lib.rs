// SPDX-License-Identifier: GPL-3.0-or-later
//! Barcode scanner driver for labelstation.
//!
//! Delivers raw scans, byte for byte, from USB CDC serial, keyboard wedge (evdev), HID POS,
//! stdin and an in-process simulator ([`SimScanner`]); [`VirtualCdcScanner`] plays a CDC scanner
//! on a pseudo-terminal for tests and the demo. It never interprets codes: stripping `]d2` and the
//! verdict against the ledger live in the app, so every byte the scanner sent reaches that
//! comparison unchanged. The one translation is the keyboard wedge's, which sends keys, not
//! bytes: key codes become the bytes a US keyboard types, and the configured GS key becomes 0x1D.
//!
//! One blocking trait, [`Scanner`], serves every backend; each device backend reads on its own
//! thread and hands events over a channel, so the UI thread only ever waits with a timeout. A
//! device that goes away is reported and reopened with a growing backoff until the scanner is
//! dropped. [`open`] builds a scanner from its address ([`ScannerUri`]); [`list_candidates`]
//! finds the devices a settings screen can offer.

pub mod evdev;
pub mod frame;
pub mod hidpos;
pub mod list;
mod reader;
pub mod serial;
pub mod sim;
pub mod stdin;
pub mod uri;
pub mod virtual_cdc;

use std::path::PathBuf;
use std::time::Duration;

pub use frame::{FrameEvent, Framer, Scan, Terminator};
pub use list::{Candidate, CandidateKind, list_candidates};
pub use reader::ChannelScanner;
pub use serial::{SerialConfig, open_serial};
pub use sim::{SimHandle, SimScanner};
pub use uri::{GsKey, HidTarget, ScannerUri, UriError};
pub use virtual_cdc::{Fault, VirtualCdcScanner, VirtualScannerError};

/// Connection state, shown on the station so a worker sees at once why nothing scans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerState {
    /// Opening the device for the first time.
    Connecting,
    /// Open and reading.
    Connected,
    /// The device went away or could not be opened; `reason` says why and what to do.
    Disconnected {
        /// Why, with the remedy.
        reason: String,
    },
    /// Waiting before the next attempt to open it again.
    Reconnecting {
        /// Attempts so far since the last connection.
        attempt: u32,
        /// Wait before this attempt.
        retry_in: Duration,
    },
    /// The backend ended for good (end of input, or a fault no retry can fix).
    Stopped {
        /// Why, with the remedy.
        reason: String,
    },
}

/// Something a scanner reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerEvent {
    /// A complete scan, bytes exactly as sent.
    Scan(Scan),
    /// A frame over the length cap was dropped (noise or a stuck trigger).
    Overlong {
        /// Scanner address.
        source: String,
        /// Bytes the frame had.
        len: usize,
        /// The cap.
        cap: usize,
    },
    /// A scan cut off when the device went away: never compare it.
    Incomplete(Scan),
    /// A keyboard-wedge scan held keys with no byte mapping; the bytes are incomplete, so the
    /// scan must not be compared. `keys` are the Linux key codes.
    UnmappedKeys {
        /// What could be decoded.
        scan: Scan,
        /// Key codes that had no mapping.
        keys: Vec<u16>,
    },
    /// A device report that does not fit the configured layout; any partial scan was dropped.
    BadReport {
        /// Scanner address.
        source: String,
        /// What was wrong, with the remedy.
        reason: String,
    },
    /// The connection state changed.
    State(ScannerState),
}

impl From<FrameEvent> for ScannerEvent {
    fn from(e: FrameEvent) -> Self {
        match e {
            FrameEvent::Scan(s) => ScannerEvent::Scan(s),
            FrameEvent::Overlong { source, len, cap } => {
                ScannerEvent::Overlong { source, len, cap }
            }
            FrameEvent::Incomplete(s) => ScannerEvent::Incomplete(s),
        }
    }
}

/// Errors opening or reading a scanner. Messages name the device and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum ScannerError {
    /// The address did not parse.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// The backend has ended; no more events will come.
    #[error("scanner {scanner} has stopped: reopen it from the settings screen")]
    Stopped {
        /// Scanner address.
        scanner: String,
    },
    /// A device node could not be opened.
    #[error(
        "cannot open scanner device {}: {cause}: check it is plugged in and the station user may read it (group `dialout` for serial, `input` for evdev, a udev rule for hidraw)",
        path.display()
    )]
    Open {
        /// The device path.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
    /// The exclusive grab of a keyboard-wedge device failed.
    #[error(
        "cannot take {} for the station alone: {cause}: another program holds it; close that program so scans cannot leak into other windows",
        path.display()
    )]
    Grab {
        /// The device path.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
    /// No hidraw node belongs to the USB id.
    #[error(
        "no HID POS scanner with USB id {vid:04x}:{pid:04x} is plugged in: plug it in and set it to HID POS mode, or name its /dev/hidraw path"
    )]
    HidNotFound {
        /// USB vendor id.
        vid: u16,
        /// USB product id.
        pid: u16,
    },
    /// The backend thread could not be started.
    #[error(
        "cannot start the reader thread for scanner {scanner}: {cause}: the system is out of resources; restart the station"
    )]
    Thread {
        /// Scanner address.
        scanner: String,
        /// The OS error.
        cause: std::io::Error,
    },
}

/// A scanner: yields scans and state changes, waiting at most a given time.
///
/// Blocking on purpose: the app is not async, and each device backend reads on its own thread,
/// so a call here never waits on a device, only on a channel.
pub trait Scanner: Send {
    /// The address scans are labelled with.
    fn source(&self) -> &str;

    /// The last state reported through [`Scanner::next_event`].
    fn state(&self) -> &ScannerState;

    /// The next event, or `Ok(None)` when `timeout` passes without one. Errors once the backend
    /// has ended and every event it sent has been taken.
    fn next_event(&mut self, timeout: Duration) -> Result<Option<ScannerEvent>, ScannerError>;
}

/// A scanner opened from an address; `sim` holds the feeding handle for `sim:` addresses.
pub struct Opened {
    /// The scanner.
    pub scanner: Box<dyn Scanner>,
    /// For `sim:` only: the handle that pushes scans into it.
    pub sim: Option<SimHandle>,
}

/// Opens the scanner an address names. Device backends keep retrying in the background when
/// the device is absent, reporting [`ScannerState`] changes, so a scanner plugged in later works.
pub fn open(uri: &ScannerUri) -> Result<Opened, ScannerError> {
    let source = uri.to_string();
    let scanner: Box<dyn Scanner> = match uri {
        ScannerUri::Serial {
            path,
            baud,
            term,
            max,
        } => {
            let mut config = SerialConfig::new(path.clone());
            config.baud = *baud;
            config.term = *term;
            config.max = *max;
            Box::new(open_serial(config)?)
        }
        ScannerUri::Evdev { path, gs } => Box::new(evdev::open_evdev(path.clone(), *gs, source)?),
        ScannerUri::HidPos(target) => Box::new(hidpos::open_hidpos(
            target.clone(),
            hidpos::HidPosLayout::ACCESS_IS,
            source,
        )?),
        ScannerUri::Stdin => Box::new(stdin::open_stdin(source)?),
        ScannerUri::Sim { .. } => {
            let (scanner, handle) = SimScanner::new(source);
            return Ok(Opened {
                scanner: Box::new(scanner),
                sim: Some(handle),
            });
        }
    };
    Ok(Opened { scanner, sim: None })
}
