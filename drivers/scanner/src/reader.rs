// SPDX-License-Identifier: GPL-3.0-or-later
//! The reader thread every device backend runs, and the channel that hands its events to the
//! [`Scanner`]: open the device, read it until it goes away, report that, wait with a growing
//! backoff and open it again, until the scanner is dropped. Backends only say how to open,
//! read and decode their device.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::{Scanner, ScannerError, ScannerEvent, ScannerState};

/// First wait before reopening a device that went away.
pub(crate) const BACKOFF_MIN: Duration = Duration::from_millis(200);
/// Longest wait between reopen attempts.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How often a non-blocking device is polled while it has nothing to read.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// Wait before reopen attempt `attempt` (1-based): doubling from `min` up to `max`.
pub(crate) fn backoff(min: Duration, max: Duration, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(16);
    min.saturating_mul(factor).min(max)
}

/// Why a device session ended, with the remedy, as the worker sees it.
pub(crate) fn went_away(path: &Path, cause: impl std::fmt::Display) -> String {
    format!(
        "scanner {} went away ({cause}): check the USB cable; it reconnects by itself when plugged back in",
        path.display()
    )
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

/// What a device backend tells the reader thread: how to open its device, read it and decode
/// what it reads.
pub(crate) trait Backend {
    /// An open device.
    type Device;

    /// Opens the device, or says why it is missing and what to do.
    fn open(&mut self) -> Result<Self::Device, String>;

    /// One read of the open device and what it decoded to.
    fn read(&mut self, device: &mut Self::Device) -> Poll;

    /// The device went away: what a scan it cut short becomes.
    fn finish(&mut self) -> Option<ScannerEvent>;

    /// Wait before reopen attempt `attempt` (1-based).
    fn backoff(&self, attempt: u32) -> Duration {
        backoff(BACKOFF_MIN, BACKOFF_MAX, attempt)
    }
}

/// What one read of a device gave.
pub(crate) enum Poll {
    /// Nothing was waiting (a non-blocking device): read again after a short sleep.
    Nothing,
    /// What the bytes read decoded to, in order (often nothing yet).
    Events(Vec<ScannerEvent>),
    /// The device went away, for this reason.
    Gone(String),
}

/// How one session with an open device ended.
enum Session {
    /// The scanner was dropped: the reader thread ends.
    Stopped,
    /// The device went away, for this reason (shown to the worker).
    Gone(String),
}

/// The life of a device reader: open the device, read it until it goes away, report
/// Disconnected, wait with the backend's backoff (Reconnecting), and try again, until the
/// scanner is dropped. A reason the device cannot be opened is reported once, not on every retry.
pub(crate) fn run(feed: &Feed, backend: &mut impl Backend) {
    let mut attempt: u32 = 0;
    let mut last_reason = String::new();
    while !feed.stopped() {
        let reason = match backend.open() {
            Ok(mut device) => {
                attempt = 0;
                if !feed.send(ScannerEvent::State(ScannerState::Connected)) {
                    return;
                }
                match read_until_gone(feed, backend, &mut device) {
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
        let retry_in = backend.backoff(attempt);
        if !feed.send(ScannerEvent::State(ScannerState::Reconnecting {
            attempt,
            retry_in,
        })) || !feed.sleep(retry_in)
        {
            return;
        }
    }
}

/// One session: reads and sends what they decode until the device goes away, then sends what
/// the backend makes of a scan the loss cut short.
fn read_until_gone<B: Backend>(feed: &Feed, backend: &mut B, device: &mut B::Device) -> Session {
    let reason = loop {
        if feed.stopped() {
            return Session::Stopped;
        }
        match backend.read(device) {
            Poll::Nothing => {
                if !feed.sleep(POLL_INTERVAL) {
                    return Session::Stopped;
                }
            }
            Poll::Events(events) => {
                for event in events {
                    if !feed.send(event) {
                        return Session::Stopped;
                    }
                }
            }
            Poll::Gone(reason) => break reason,
        }
    };
    if let Some(event) = backend.finish()
        && !feed.send(event)
    {
        return Session::Stopped;
    }
    Session::Gone(reason)
}

/// The scanner every device backend returns: events arrive over a channel from a reader thread
/// (or from a [`SimHandle`](crate::SimHandle)). Dropping it stops the thread and releases the
/// device.
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
