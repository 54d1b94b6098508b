// SPDX-License-Identifier: GPL-3.0-or-later
//! Barcode scanner driver for labelstation.
//!
//! Delivers raw scans, byte for byte, from USB CDC serial, keyboard wedge (evdev), HID POS,
//! stdin and an in-process simulator. It never interprets codes: stripping `]d2`, mapping GS
//! substitutes and the verdict against the ledger live in the app, so every byte the scanner
//! sent reaches that comparison unchanged.
//!
//! One blocking trait, [`Scanner`], serves every backend; each device backend reads on its own
//! thread and hands events over a channel, so the UI thread only ever waits with a timeout.

pub mod evdev;
pub mod frame;
pub mod hidpos;
pub mod list;
pub mod serial;
pub mod sim;
pub mod stdin;
pub mod uri;
pub mod virtual_cdc;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

pub use frame::{FrameEvent, Framer, Scan, Terminator};
pub use list::{Candidate, CandidateKind, list_candidates};
pub use serial::{SerialConfig, open_serial};
pub use sim::{SimHandle, SimScanner};
pub use uri::{GsKey, HidTarget, ScannerUri, UriError};
pub use virtual_cdc::{Fault, SymbolDecoder, VirtualCdcScanner, VirtualScannerError};

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

/// The sending side a backend thread gets: events out, stop request in.
#[derive(Debug, Clone)]
pub(crate) struct Feed {
    tx: Sender<ScannerEvent>,
    stop: Arc<AtomicBool>,
}

impl Feed {
    /// Sends an event; false once the scanner was dropped, so the thread should end.
    pub(crate) fn send(&self, event: impl Into<ScannerEvent>) -> bool {
        self.tx.send(event.into()).is_ok() && !self.stopped()
    }

    /// True once the scanner was dropped.
    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Sleeps up to `d` in short slices; false if a stop was requested meanwhile.
    pub(crate) fn sleep(&self, d: Duration) -> bool {
        let slice = Duration::from_millis(10);
        let mut left = d;
        while !left.is_zero() {
            if self.stopped() {
                return false;
            }
            let step = left.min(slice);
            std::thread::sleep(step);
            left -= step;
        }
        !self.stopped()
    }
}

/// How one session with an open device ended.
pub(crate) enum Session {
    /// The scanner was dropped: the reader thread ends.
    Stopped,
    /// The device went away, for this reason (shown to the worker).
    Gone(String),
}

/// The life of a device reader: open the device, run a session on it until it goes away, report
/// Disconnected, wait with growing backoff (Reconnecting), and try again, until the scanner is dropped.
/// `open` gives the reason as text when the device is missing; a repeated reason is reported once.
pub(crate) fn keep_open<D>(
    feed: &Feed,
    mut open: impl FnMut() -> Result<D, String>,
    mut session: impl FnMut(&mut D) -> Session,
) {
    let mut attempt: u32 = 0;
    let mut last_reason = String::new();
    loop {
        let reason = match open() {
            Ok(mut device) => {
                attempt = 0;
                if !feed.send(ScannerEvent::State(ScannerState::Connected)) {
                    return;
                }
                match session(&mut device) {
                    Session::Stopped => return,
                    Session::Gone(reason) => Some(reason),
                }
            }
            Err(reason) => (reason != last_reason).then_some(reason),
        };
        if let Some(reason) = reason {
            last_reason = reason.clone();
            if !feed.send(ScannerEvent::State(ScannerState::Disconnected { reason })) {
                return;
            }
        }
        attempt = attempt.saturating_add(1);
        let retry_in = Duration::from_millis(200u64.saturating_mul(1 << attempt.min(4)))
            .min(Duration::from_secs(2));
        if !feed.send(ScannerEvent::State(ScannerState::Reconnecting {
            attempt,
            retry_in,
        })) || !feed.sleep(retry_in)
        {
            return;
        }
    }
}

/// The scanner every device backend returns: events arrive over a channel from a reader thread
/// (or from a [`SimHandle`]). Dropping it stops the thread and releases the device.
#[derive(Debug)]
pub struct ChannelScanner {
    source: String,
    rx: Receiver<ScannerEvent>,
    state: ScannerState,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    join_on_drop: bool,
}

impl ChannelScanner {
    /// A scanner and the feed that fills it, with no thread.
    pub(crate) fn new(source: String) -> (ChannelScanner, Feed) {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let feed = Feed {
            tx,
            stop: stop.clone(),
        };
        let scanner = ChannelScanner {
            source,
            rx,
            state: ScannerState::Connecting,
            stop,
            thread: None,
            join_on_drop: false,
        };
        (scanner, feed)
    }

    /// Starts `run` on a named thread feeding the scanner. `join_on_drop` is false for backends
    /// whose reads cannot be interrupted (stdin): dropping then just detaches the thread.
    pub(crate) fn spawn(
        source: String,
        join_on_drop: bool,
        run: impl FnOnce(Feed) + Send + 'static,
    ) -> Result<ChannelScanner, ScannerError> {
        let (mut scanner, feed) = ChannelScanner::new(source);
        let thread = std::thread::Builder::new()
            .name(format!("scanner {}", scanner.source))
            .spawn(move || run(feed))
            .map_err(|cause| ScannerError::Thread {
                scanner: scanner.source.clone(),
                cause,
            })?;
        scanner.thread = Some(thread);
        scanner.join_on_drop = join_on_drop;
        Ok(scanner)
    }
}

impl Scanner for ChannelScanner {
    fn source(&self) -> &str {
        &self.source
    }

    fn state(&self) -> &ScannerState {
        &self.state
    }

    fn next_event(&mut self, timeout: Duration) -> Result<Option<ScannerEvent>, ScannerError> {
        match self.rx.recv_timeout(timeout) {
            Ok(event) => {
                if let ScannerEvent::State(state) = &event {
                    self.state = state.clone();
                }
                Ok(Some(event))
            }
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(ScannerError::Stopped {
                scanner: self.source.clone(),
            }),
        }
    }
}

impl Drop for ChannelScanner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take()
            && self.join_on_drop
        {
            // The thread checks the flag between short reads, so this waits briefly.
            let _ = thread.join();
        }
    }
}
