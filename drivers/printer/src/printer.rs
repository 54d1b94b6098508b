// SPDX-License-Identifier: GPL-3.0-or-later
//! A ZPL printer over any [`Transport`]: send jobs, ask for status, wait for a label to finish.
//!
//! Every query starts by discarding stale bytes (the tail of a reply that came too late last
//! time), then counts `STX … ETX` frames instead of reading "for a while": `~HS` has three,
//! `~HQES` and `~HI` one. Silence until the reply timeout is [`StatusReply::NoReply`], which
//! Zebra firmware uses for media out, ribbon out and head open, so it is never "ready".

use std::thread;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::status::{
    ExtendedStatus, ExtendedStatusError, FrameSplitter, HostIdentification, HostStatus,
    HostStatusError, IdentError, ODOMETER_QUERY, Problem, SgdError, SgdReader, StatusReply,
    odometer_count,
};
use crate::transport::{self, Transport, TransportConfig, TransportError};
use crate::uri::PrinterUri;

/// `~HS`: host status, three frames.
pub const HOST_STATUS_QUERY: &[u8] = b"~HS";
/// `~HQES`: extended status, one frame.
pub const EXTENDED_STATUS_QUERY: &[u8] = b"~HQES";
/// `~HI`: identification, one frame.
pub const IDENTIFY_QUERY: &[u8] = b"~HI";

/// Default time a printer has to answer a query. A `~HS` reply takes about 83 ms at 9600 baud
/// and control commands are handled on receipt, even mid-job.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(1);

/// Most stale bytes discarded before one query, so a babbling device cannot stall a query.
const DRAIN_LIMIT: usize = 64 * 1024;

/// Wait before the second attempt to reopen a lost link; it doubles with every failure.
pub const RECONNECT_BACKOFF_MIN: Duration = Duration::from_millis(500);
/// The longest wait between two attempts to reopen a lost link.
pub const RECONNECT_BACKOFF_MAX: Duration = Duration::from_secs(8);

/// The link to a printer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkState {
    /// Usable, as far as anyone knows.
    Up,
    /// A disconnect was seen: nothing goes to the printer until [`Printer::reconnect`] opens the
    /// link again.
    Lost {
        /// What the operating system said, or why the last attempt to reopen failed.
        detail: String,
        /// Attempts to reopen it so far.
        attempts: u32,
        /// Time until the next attempt may be made.
        retry_in: Duration,
    },
}

/// What [`Printer::reconnect`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reconnect {
    /// The link was not lost.
    AlreadyUp,
    /// The link is open again. The printer may have restarted meanwhile: it may have lost stored
    /// formats and the labels it held, or still hold a label sent before the link went.
    Reopened,
    /// Not yet: the backoff allows the next attempt in `retry_in`.
    NotYet {
        /// Time until the next attempt.
        retry_in: Duration,
    },
}

/// A printer the station can print on.
pub trait Printer: Send {
    /// Sends a job (ZPL bytes) as is.
    ///
    /// # Errors
    /// [`PrinterError::Transport`], e.g. a disconnect.
    fn send(&mut self, job: &[u8]) -> Result<(), PrinterError>;

    /// Asks `~HS`; [`StatusReply::NoReply`] when the printer stayed silent.
    ///
    /// # Errors
    /// [`PrinterError::NoStatusChannel`] on a write-only link, a transport error, or a reply
    /// that does not parse.
    fn host_status(&mut self) -> Result<StatusReply, PrinterError>;

    /// Asks `~HS` and sends `job` right behind the question, before the answer comes: the answer
    /// tells the printer's state before `job` reached it, and a slow link carries `job` while the
    /// answer is on its way instead of standing idle. A station that keeps a roll going uses it.
    ///
    /// When this returns an error, `job` may have gone out whole, in part or not at all; when it
    /// returns (a reply or [`StatusReply::NoReply`]), all of `job` was handed to the link.
    ///
    /// # Errors
    /// As [`host_status`](Self::host_status) and [`send`](Self::send).
    fn host_status_then(&mut self, job: &[u8]) -> Result<StatusReply, PrinterError> {
        let reply = self.host_status();
        self.send(job)?;
        reply
    }

    /// Asks `~HQES`; `None` when the printer stayed silent (older firmware lacks it).
    ///
    /// # Errors
    /// As [`host_status`](Self::host_status).
    fn extended_status(&mut self) -> Result<Option<ExtendedStatus>, PrinterError>;

    /// Asks `~HI`; `None` when the printer stayed silent.
    ///
    /// # Errors
    /// As [`host_status`](Self::host_status).
    fn identify(&mut self) -> Result<Option<HostIdentification>, PrinterError>;

    /// Asks the odometer (SGD `odometer.total_label_count`): labels the printer has put out,
    /// reprints after an error included. `None` when the printer stays silent or has none (older
    /// firmware answers `"?"` or nothing); a station then goes on the `~HS` counts alone.
    ///
    /// # Errors
    /// As [`host_status`](Self::host_status); [`PrinterError::Odometer`] for an answer that is not
    /// a count.
    fn odometer(&mut self) -> Result<Option<u64>, PrinterError> {
        Ok(None)
    }

    /// The printer's address, for logs and messages.
    fn describe(&self) -> String;

    /// Looks at the link without sending anything (reads what waits and drops it), so a printer
    /// that closed the link shows as a disconnect *before* a label is sent. Cheap enough to call
    /// before every label; a link with no status channel is not looked at.
    ///
    /// # Errors
    /// [`PrinterError::Transport`], e.g. a disconnect.
    fn probe(&mut self) -> Result<(), PrinterError> {
        Ok(())
    }

    /// The link: up, or lost since a disconnect.
    fn link(&self) -> LinkState {
        LinkState::Up
    }

    /// Opens a lost link again when its backoff allows an attempt now; each failed attempt (or a
    /// link that drops again before the printer has answered) doubles the wait up to
    /// [`RECONNECT_BACKOFF_MAX`].
    ///
    /// # Errors
    /// The reason the attempt failed (e.g. [`TransportError::Connect`]); the link stays lost.
    fn reconnect(&mut self) -> Result<Reconnect, PrinterError> {
        Ok(Reconnect::AlreadyUp)
    }
}

/// Why a printer operation failed. Messages name the printer and say what to do.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PrinterError {
    /// The link failed; [`TransportError::Disconnected`] means pause the line and reconnect.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The link cannot carry replies, so status is unknown (never "ready").
    #[error(
        "printer {device} cannot report its status over this link, so printed labels cannot be \
         confirmed: scan each label, or connect the printer by serial, network or usb://"
    )]
    NoStatusChannel {
        /// The printer address.
        device: String,
    },
    /// A `~HS` reply did not parse.
    #[error("printer {device}: {source}")]
    HostStatus {
        /// The printer address.
        device: String,
        /// What was wrong with the reply.
        source: HostStatusError,
    },
    /// A `~HQES` reply did not parse.
    #[error("printer {device}: {source}")]
    ExtendedStatus {
        /// The printer address.
        device: String,
        /// What was wrong with the reply.
        source: ExtendedStatusError,
    },
    /// A `~HI` reply did not parse.
    #[error("printer {device}: {source}")]
    Ident {
        /// The printer address.
        device: String,
        /// What was wrong with the reply.
        source: IdentError,
    },
    /// An odometer answer did not read as a count.
    #[error("printer {device}: {source}")]
    Odometer {
        /// The printer address.
        device: String,
        /// What was wrong with the answer.
        source: SgdError,
    },
    /// The job did not finish in time and no blocking problem explained why.
    #[error(
        "printer {device} did not finish within {waited:?} ({last}): check the printer, then \
         scan the label before deciding whether to print it again"
    )]
    JobTimeout {
        /// The printer address.
        device: String,
        /// How long we waited.
        waited: Duration,
        /// The last status seen, in words.
        last: String,
    },
}

impl PrinterError {
    /// Whether the link is gone and must be reopened.
    #[must_use]
    pub fn is_disconnect(&self) -> bool {
        matches!(self, Self::Transport(err) if err.is_disconnect())
    }
}

/// How a job ended, as far as the printer can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobOutcome {
    /// No formats buffered, no labels left: the printer finished everything it was sent.
    Done,
    /// Printing stopped; `problem` is what the worker must fix first.
    Blocked {
        /// The first blocking problem.
        problem: Problem,
        /// Everything reported, warnings included, in the order to check them.
        problems: Vec<Problem>,
    },
    /// The link has no status channel: the label may or may not have printed.
    Unknown {
        /// The printer address.
        device: String,
    },
}

impl JobOutcome {
    /// A stable key for the [`remedy`](JobOutcome::remedy), for screens that word it in the
    /// worker's language: the problem's [`Problem::key`], or `no-status-channel`.
    #[must_use]
    pub fn key(&self) -> Option<&'static str> {
        match self {
            Self::Done => None,
            Self::Blocked { problem, .. } => Some(problem.key()),
            Self::Unknown { .. } => Some("no-status-channel"),
        }
    }

    /// The instruction for the worker, when there is something to do.
    #[must_use]
    pub fn remedy(&self) -> Option<String> {
        match self {
            Self::Done => None,
            Self::Blocked { problem, .. } => Some(problem.remedy()),
            Self::Unknown { .. } => Some(
                "Printer cannot report back over this connection: scan the label to confirm it \
                 printed"
                    .to_owned(),
            ),
        }
    }
}

/// A Zebra printer speaking ZPL over any transport.
pub struct ZebraPrinter {
    transport: Box<dyn Transport>,
    reply_timeout: Duration,
    /// Where to reopen the link; None for a printer made from a transport.
    uri: Option<PrinterUri>,
    transport_config: TransportConfig,
    /// Set by the first disconnect. A socket can accept one more write after the peer hung up,
    /// so without this a dead link could look alive for one label.
    lost: Option<Lost>,
    /// Attempts to reopen since the printer last answered a query; sets the backoff.
    attempts: u32,
}

/// A lost link and when it may be reopened.
#[derive(Debug, Clone)]
struct Lost {
    detail: String,
    next_try: Instant,
}

/// The wait after `attempts` attempts to reopen: none before the first, then doubling.
fn backoff(attempts: u32) -> Duration {
    match attempts {
        0 => Duration::ZERO,
        n => RECONNECT_BACKOFF_MIN
            .saturating_mul(1 << (n - 1).min(16))
            .min(RECONNECT_BACKOFF_MAX),
    }
}

impl std::fmt::Debug for ZebraPrinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZebraPrinter")
            .field("device", &self.transport.describe())
            .field("reply_timeout", &self.reply_timeout)
            .finish()
    }
}

impl ZebraPrinter {
    /// A printer on an open transport, with [`DEFAULT_REPLY_TIMEOUT`].
    #[must_use]
    pub fn new(transport: Box<dyn Transport>) -> Self {
        Self {
            transport,
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
            uri: None,
            transport_config: TransportConfig::default(),
            lost: None,
            attempts: 0,
        }
    }

    /// Opens the printer at `uri` with default transport limits; a lost link is reopened there.
    ///
    /// # Errors
    /// [`PrinterError::Transport`] when the link cannot be opened.
    pub fn open(uri: &PrinterUri) -> Result<Self, PrinterError> {
        let config = TransportConfig::default();
        let mut printer = Self::new(transport::open_with(uri, &config)?);
        printer.uri = Some(uri.clone());
        printer.transport_config = config;
        Ok(printer)
    }

    /// Sets how long a printer has to answer one query.
    #[must_use]
    pub fn with_reply_timeout(mut self, timeout: Duration) -> Self {
        self.reply_timeout = timeout;
        self
    }

    /// Runs `op` on the transport unless the link is already known to be lost, and remembers a
    /// disconnect for every later call.
    fn on_link<T>(
        &mut self,
        op: impl FnOnce(&mut dyn Transport) -> Result<T, TransportError>,
    ) -> Result<T, PrinterError> {
        if let Some(lost) = &self.lost {
            return Err(TransportError::Disconnected {
                device: self.transport.describe(),
                detail: lost.detail.clone(),
            }
            .into());
        }
        op(self.transport.as_mut()).map_err(|err| {
            if let TransportError::Disconnected { detail, .. } = &err {
                self.lost = Some(Lost {
                    detail: detail.clone(),
                    next_try: Instant::now() + backoff(self.attempts),
                });
            }
            err.into()
        })
    }

    /// Discards whatever arrived since the last query, so a late reply is not taken for the
    /// answer to the next one.
    fn drain(&mut self) -> Result<(), PrinterError> {
        let mut buf = [0_u8; 256];
        let mut dropped = 0;
        while dropped < DRAIN_LIMIT {
            match self.on_link(|t| t.read(&mut buf, Duration::ZERO))? {
                0 => break,
                n => dropped += n,
            }
        }
        Ok(())
    }

    /// Sends `command` (and `then` right behind it) and collects `wanted` frames, or `None` at the
    /// reply timeout.
    fn query(
        &mut self,
        command: &[u8],
        then: &[u8],
        wanted: usize,
    ) -> Result<Option<Vec<Vec<u8>>>, PrinterError> {
        if !self.transport.has_status_channel() {
            return Err(PrinterError::NoStatusChannel {
                device: self.transport.describe(),
            });
        }
        self.drain()?;
        if then.is_empty() {
            self.on_link(|t| t.write_all(command))?;
        } else {
            let mut both = Vec::with_capacity(command.len() + then.len());
            both.extend_from_slice(command);
            both.extend_from_slice(then);
            self.on_link(|t| t.write_all(&both))?;
        }
        let deadline = Instant::now() + self.reply_timeout;
        let mut splitter = FrameSplitter::new();
        let mut frames = Vec::with_capacity(wanted);
        let mut buf = [0_u8; 256];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let n = self.on_link(|t| t.read(&mut buf, left))?;
            // Framing errors need no action: the splitter has already resynchronised, and a
            // reply that lost a frame simply does not complete.
            frames.extend(splitter.push(&buf[..n]).into_iter().filter_map(Result::ok));
            if frames.len() >= wanted {
                frames.truncate(wanted);
                // The printer is really there: a link lost from now on is retried at once.
                self.attempts = 0;
                return Ok(Some(frames));
            }
        }
    }
}

impl Printer for ZebraPrinter {
    fn send(&mut self, job: &[u8]) -> Result<(), PrinterError> {
        self.on_link(|t| t.write_all(job))
    }

    fn host_status(&mut self) -> Result<StatusReply, PrinterError> {
        self.host_status_then(&[])
    }

    fn host_status_then(&mut self, job: &[u8]) -> Result<StatusReply, PrinterError> {
        if !self.transport.has_status_channel() {
            // No answer can come: the job still goes.
            if !job.is_empty() {
                self.send(job)?;
            }
            return Err(PrinterError::NoStatusChannel {
                device: self.transport.describe(),
            });
        }
        let Some(frames) = self.query(HOST_STATUS_QUERY, job, 3)? else {
            return Ok(StatusReply::NoReply);
        };
        HostStatus::parse(&frames)
            .map(StatusReply::Host)
            .map_err(|source| PrinterError::HostStatus {
                device: self.transport.describe(),
                source,
            })
    }

    fn extended_status(&mut self) -> Result<Option<ExtendedStatus>, PrinterError> {
        let Some(frames) = self.query(EXTENDED_STATUS_QUERY, &[], 1)? else {
            return Ok(None);
        };
        frames
            .first()
            .map(|frame| ExtendedStatus::parse(frame))
            .transpose()
            .map_err(|source| PrinterError::ExtendedStatus {
                device: self.transport.describe(),
                source,
            })
    }

    fn identify(&mut self) -> Result<Option<HostIdentification>, PrinterError> {
        let Some(frames) = self.query(IDENTIFY_QUERY, &[], 1)? else {
            return Ok(None);
        };
        frames
            .first()
            .map(|frame| HostIdentification::parse(frame))
            .transpose()
            .map_err(|source| PrinterError::Ident {
                device: self.transport.describe(),
                source,
            })
    }

    fn odometer(&mut self) -> Result<Option<u64>, PrinterError> {
        if !self.transport.has_status_channel() {
            return Err(PrinterError::NoStatusChannel {
                device: self.transport.describe(),
            });
        }
        self.drain()?;
        self.on_link(|t| t.write_all(ODOMETER_QUERY))?;
        let deadline = Instant::now() + self.reply_timeout;
        let mut reader = SgdReader::new();
        let mut buf = [0_u8; 64];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let n = self.on_link(|t| t.read(&mut buf, left))?;
            if let Some(answer) = reader.push(&buf[..n]) {
                self.attempts = 0;
                return answer.and_then(|v| odometer_count(&v)).map_err(|source| {
                    PrinterError::Odometer {
                        device: self.transport.describe(),
                        source,
                    }
                });
            }
        }
    }

    fn describe(&self) -> String {
        self.transport.describe()
    }

    fn probe(&mut self) -> Result<(), PrinterError> {
        if self.transport.has_status_channel() {
            self.drain()?;
        }
        Ok(())
    }

    fn link(&self) -> LinkState {
        match &self.lost {
            None => LinkState::Up,
            Some(lost) => LinkState::Lost {
                detail: lost.detail.clone(),
                attempts: self.attempts,
                retry_in: lost.next_try.saturating_duration_since(Instant::now()),
            },
        }
    }

    fn reconnect(&mut self) -> Result<Reconnect, PrinterError> {
        let Some(lost) = &mut self.lost else {
            return Ok(Reconnect::AlreadyUp);
        };
        let now = Instant::now();
        if now < lost.next_try {
            return Ok(Reconnect::NotYet {
                retry_in: lost.next_try - now,
            });
        }
        let Some(uri) = &self.uri else {
            return Err(TransportError::Disconnected {
                device: self.transport.describe(),
                detail: format!(
                    "{}; this link was opened without an address, so it cannot be reopened",
                    lost.detail
                ),
            }
            .into());
        };
        self.attempts = self.attempts.saturating_add(1);
        match transport::open_with(uri, &self.transport_config) {
            Ok(t) => {
                self.transport = t;
                self.lost = None;
                Ok(Reconnect::Reopened)
            }
            Err(err) => {
                lost.detail = err.to_string();
                lost.next_try = now + backoff(self.attempts);
                Err(err.into())
            }
        }
    }
}

/// Polls `~HS` after a job was sent until the printer has finished (formats in buffer and
/// labels remaining both zero), a blocking problem shows, or `timeout` passes.
///
/// Problems (other than a full buffer, which clears by itself) are checked before "finished": a printer that reports paper out with an empty
/// buffer may not have printed the label, and every code must be accounted for. When `~HS` is
/// silent, `~HQES` names the reason; if it is silent too the outcome is
/// [`Problem::NoStatusReply`].
///
/// # Errors
/// [`PrinterError::JobTimeout`] when still busy at the deadline; transport and reply errors as
/// they come.
pub fn wait_until_done(
    printer: &mut dyn Printer,
    timeout: Duration,
    poll_interval: Duration,
) -> Result<JobOutcome, PrinterError> {
    let started = Instant::now();
    let deadline = started + timeout;
    loop {
        let status = match printer.host_status() {
            Err(PrinterError::NoStatusChannel { device }) => {
                return Ok(JobOutcome::Unknown { device });
            }
            other => other?,
        };
        let last = match status {
            StatusReply::NoReply => {
                let mut problems = printer
                    .extended_status()?
                    .map(|ext| ext.problems())
                    .unwrap_or_default();
                let problem = problems
                    .iter()
                    .copied()
                    .find(Problem::is_blocking)
                    .unwrap_or(Problem::NoStatusReply);
                if !problems.contains(&problem) {
                    problems.insert(0, problem);
                }
                return Ok(JobOutcome::Blocked { problem, problems });
            }
            StatusReply::Host(status) => {
                let problems = status.problems();
                // A full buffer empties as labels print: it is "busy", not a fault to fix.
                let blocking = |p: &&Problem| p.is_blocking() && **p != Problem::BufferFull;
                if let Some(&problem) = problems.iter().find(blocking) {
                    return Ok(JobOutcome::Blocked { problem, problems });
                }
                if status.is_idle() {
                    return Ok(JobOutcome::Done);
                }
                format!(
                    "{} formats in buffer, {} labels remaining{}",
                    status.formats_in_buffer,
                    status.labels_remaining,
                    if status.partial_format {
                        ", a format half received"
                    } else {
                        ""
                    }
                )
            }
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(PrinterError::JobTimeout {
                device: printer.describe(),
                waited: started.elapsed(),
                last,
            });
        }
        thread::sleep(poll_interval.min(left));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_carry_their_remedy() {
        assert_eq!(JobOutcome::Done.remedy(), None);
        let blocked = JobOutcome::Blocked {
            problem: Problem::HeadOpen,
            problems: vec![Problem::HeadOpen],
        };
        assert_eq!(
            blocked.remedy(),
            Some("Printer head open: close the head and tap Resume".to_owned())
        );
        let unknown = JobOutcome::Unknown {
            device: "file:///dev/usb/lp0".into(),
        };
        assert!(unknown.remedy().is_some_and(|r| r.contains("scan")));
    }

    #[test]
    fn reconnect_backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff(0), Duration::ZERO);
        assert_eq!(backoff(1), RECONNECT_BACKOFF_MIN);
        assert_eq!(backoff(2), RECONNECT_BACKOFF_MIN * 2);
        assert_eq!(backoff(4), RECONNECT_BACKOFF_MIN * 8);
        assert_eq!(backoff(5), RECONNECT_BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX), RECONNECT_BACKOFF_MAX);
    }

    #[test]
    fn printer_is_object_safe() {
        fn takes(_: Option<&mut dyn Printer>) {}
        takes(None);
    }
}
