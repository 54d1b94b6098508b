// SPDX-License-Identifier: GPL-3.0-or-later
//! Byte links to a printer: serial, TCP, a file or device node, and USB.
//!
//! [`Transport`] is deliberately small (write, read with a timeout, describe) so the ZPL logic
//! in [`crate::printer`] runs unchanged over every link and over pseudo-terminals and loopback
//! sockets in tests. A lost link is always [`TransportError::Disconnected`], whatever the
//! link, so the station has one thing to handle: pause the line and reconnect.

use std::io;
use std::time::Duration;

use thiserror::Error;

use crate::uri::PrinterUri;

mod file;
mod serial;
mod tcp;
pub mod usb;

pub use file::{FileTransport, is_device_path};
pub use serial::SerialTransport;
pub use tcp::TcpTransport;

/// An open byte link to one printer.
pub trait Transport: Send {
    /// Sends all of `bytes`, in order.
    ///
    /// # Errors
    /// [`TransportError::Disconnected`] if the link is gone, [`TransportError::WriteTimeout`]
    /// if the printer stopped taking data.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError>;

    /// Reads what arrives within `timeout`; `Ok(0)` means nothing arrived (never end of
    /// stream: that is [`TransportError::Disconnected`]).
    ///
    /// # Errors
    /// [`TransportError::Disconnected`] if the link is gone,
    /// [`TransportError::NoStatusChannel`] on a write-only link.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError>;

    /// The printer address, for logs and error messages.
    fn describe(&self) -> String;

    /// Whether the printer can answer over this link; false for `file://`, where no label can
    /// ever be confirmed as printed.
    fn has_status_channel(&self) -> bool;
}

/// Time limits for opening and writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportConfig {
    /// How long to wait for a TCP connection; the raw port serves one client at a time, so a
    /// busy printer must fail fast rather than hang the station.
    pub connect_timeout: Duration,
    /// How long the printer may refuse data (flow control held, buffer full) before a write
    /// fails. It bounds each stall, not the whole job, so long jobs at 9600 baud still pass.
    pub write_timeout: Duration,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(3),
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// Why a link could not be opened or used. Each message names the printer address and says
/// what to do.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The device could not be opened.
    #[error("cannot open printer {device}: {source}: {hint}")]
    Open {
        /// The printer address.
        device: String,
        /// The operating system's reason.
        source: io::Error,
        /// What to check, chosen from the reason.
        hint: &'static str,
    },
    /// A serial setting was refused by the port.
    #[error(
        "cannot apply {setting} to serial printer {device}: {detail}: choose a setting the \
         adapter supports and set the printer to match"
    )]
    SerialSetting {
        /// The printer address.
        device: String,
        /// Which setting.
        setting: &'static str,
        /// The driver's reason.
        detail: String,
    },
    /// The TCP connection failed.
    #[error("cannot connect to printer {device}: {source}: {hint}")]
    Connect {
        /// The printer address.
        device: String,
        /// The operating system's reason.
        source: io::Error,
        /// What to check, chosen from the reason.
        hint: &'static str,
    },
    /// The link went away (end of stream, broken pipe, reset, device unplugged).
    #[error(
        "printer {device} disconnected ({detail}): pause the line, check the printer's power \
         and cable, then reconnect"
    )]
    Disconnected {
        /// The printer address.
        device: String,
        /// What the operating system said.
        detail: String,
    },
    /// The printer took no data for the whole write timeout.
    #[error(
        "printer {device} accepted no data for {timeout:?}: it is paused, its buffer is full or \
         flow control is holding; check the printer's screen, then retry"
    )]
    WriteTimeout {
        /// The printer address.
        device: String,
        /// The write timeout in force.
        timeout: Duration,
    },
    /// Any other I/O failure.
    #[error(
        "{operation} failed on printer {device}: {source}: reconnect, and check the cable if it repeats"
    )]
    Io {
        /// The printer address.
        device: String,
        /// `write` or `read`.
        operation: &'static str,
        /// The operating system's reason.
        source: io::Error,
    },
    /// A read on a write-only link.
    #[error(
        "printer {device} cannot send status back over this link: prints through it cannot be \
         confirmed; connect the printer by serial, network or usb:// to check its status"
    )]
    NoStatusChannel {
        /// The printer address.
        device: String,
    },
    /// libusb cannot reach a USB bus.
    #[error(
        "no USB access for {device} ({detail}): this machine has no USB bus or no permission for \
         it; connect the printer by serial or network, or use file:///dev/usb/lp0"
    )]
    UsbUnavailable {
        /// The printer address.
        device: String,
        /// libusb's reason.
        detail: String,
    },
    /// No Zebra printer matches the address.
    #[error(
        "no Zebra printer for {device} among {seen} USB devices: plug the printer in, switch it \
         on, and check the product ID in the address"
    )]
    UsbNotFound {
        /// The printer address.
        device: String,
        /// USB devices seen on the bus.
        seen: usize,
    },
    /// `usb://auto` matched several printers.
    #[error(
        "{device} matches {} Zebra printers ({}): name one as usb://0a5f:PID",
        candidates.len(),
        candidates.join(", ")
    )]
    UsbAmbiguous {
        /// The printer address.
        device: String,
        /// The matching printers' addresses.
        candidates: Vec<String>,
    },
    /// A libusb call failed.
    #[error("USB {operation} failed on printer {device}: {detail}: {hint}")]
    Usb {
        /// The printer address.
        device: String,
        /// The libusb call.
        operation: &'static str,
        /// libusb's reason.
        detail: String,
        /// What to check.
        hint: &'static str,
    },
    /// This build cannot drive USB directly.
    #[error(
        "this build has no direct USB support for {device}: use file:///dev/usb/lp0, or rebuild \
         labelstation-printer with the `usb` feature"
    )]
    UsbSupportMissing {
        /// The printer address.
        device: String,
    },
    /// `sim:` has no byte link here.
    #[error(
        "{device} is the in-process virtual printer and has no byte link: the station opens it \
         itself; choose a real printer address here"
    )]
    Simulator {
        /// The printer address.
        device: String,
    },
}

impl TransportError {
    /// Whether the link is gone and must be reopened before anything else is sent.
    #[must_use]
    pub fn is_disconnect(&self) -> bool {
        matches!(self, Self::Disconnected { .. })
    }
}

/// Opens the link named by `uri` with default time limits.
///
/// # Errors
/// [`TransportError`] naming the address and the reason.
pub fn open(uri: &PrinterUri) -> Result<Box<dyn Transport>, TransportError> {
    open_with(uri, &TransportConfig::default())
}

/// Opens the link named by `uri`.
///
/// # Errors
/// [`TransportError`] naming the address and the reason.
pub fn open_with(
    uri: &PrinterUri,
    config: &TransportConfig,
) -> Result<Box<dyn Transport>, TransportError> {
    Ok(match uri {
        PrinterUri::Serial(settings) => {
            Box::new(SerialTransport::open(settings, config.write_timeout)?)
        }
        PrinterUri::Tcp { host, port } => Box::new(TcpTransport::connect(host, *port, config)?),
        PrinterUri::File { path } => Box::new(FileTransport::open(path)?),
        PrinterUri::Usb(selector) => usb::open(*selector, config)?,
        PrinterUri::Sim => {
            return Err(TransportError::Simulator {
                device: uri.to_string(),
            });
        }
    })
}

/// Whether an I/O error means the other end is gone rather than a passing fault.
pub(crate) fn is_disconnect(err: &io::Error) -> bool {
    use io::ErrorKind as K;
    matches!(
        err.kind(),
        K::BrokenPipe
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::UnexpectedEof
            | K::NotConnected
    ) || matches!(
        err.raw_os_error(),
        Some(libc::EPIPE | libc::ECONNRESET | libc::ENODEV | libc::ENXIO | libc::EIO)
    )
}

/// Maps an I/O error from `operation` to the transport error the station acts on.
pub(crate) fn classify(device: &str, operation: &'static str, err: io::Error) -> TransportError {
    if is_disconnect(&err) {
        TransportError::Disconnected {
            device: device.to_owned(),
            detail: err.to_string(),
        }
    } else {
        TransportError::Io {
            device: device.to_owned(),
            operation,
            source: err,
        }
    }
}

/// What one read from a stream link means to the station: bytes, `Ok(0)` when nothing came
/// within the timeout, or [`TransportError::Disconnected`] when the stream ended (`closed` says
/// how). An interrupted read is left to the caller, to retry or to count as nothing.
pub(crate) fn read_result(
    device: &str,
    wanted: usize,
    read: io::Result<usize>,
    closed: &str,
) -> Result<usize, TransportError> {
    match read {
        Ok(0) if wanted > 0 => Err(TransportError::Disconnected {
            device: device.to_owned(),
            detail: closed.to_owned(),
        }),
        Ok(n) => Ok(n),
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            Ok(0)
        }
        Err(err) => Err(classify(device, "read", err)),
    }
}

/// What to check when opening a local device fails.
pub(crate) fn open_hint(err: &io::Error) -> &'static str {
    match err.kind() {
        io::ErrorKind::NotFound => {
            "the device does not exist: plug the printer in and switch it on, or pick it again \
             from the list"
        }
        io::ErrorKind::PermissionDenied => {
            "no permission: add the station's user to the dialout (serial) or lp (USB) group"
        }
        _ if err.raw_os_error() == Some(libc::EBUSY) => {
            "another program has the port open: close it (only one program may drive a printer)"
        }
        _ => "check the printer is plugged in and the address is right",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disconnect_kinds_are_recognised() {
        for kind in [
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::UnexpectedEof,
        ] {
            let err = classify("tcp://p:9100", "read", io::Error::from(kind));
            assert!(err.is_disconnect(), "{kind:?}");
        }
        for errno in [libc::EPIPE, libc::ECONNRESET, libc::ENODEV] {
            let err = classify(
                "file:///dev/usb/lp0",
                "write",
                io::Error::from_raw_os_error(errno),
            );
            assert!(err.is_disconnect(), "{errno}");
        }
        let other = classify(
            "tcp://p:9100",
            "read",
            io::Error::from(io::ErrorKind::InvalidData),
        );
        assert!(!other.is_disconnect());
        assert!(
            other
                .to_string()
                .starts_with("read failed on printer tcp://p:9100")
        );
    }

    #[test]
    fn read_results_mean_bytes_nothing_yet_or_a_lost_link() {
        let read = |result: io::Result<usize>, wanted| {
            read_result("tcp://p:9100", wanted, result, "closed")
        };
        assert_eq!(read(Ok(3), 8).ok(), Some(3));
        assert_eq!(
            read(Ok(0), 0).ok(),
            Some(0),
            "an empty buffer is not end of stream"
        );
        for kind in [io::ErrorKind::TimedOut, io::ErrorKind::WouldBlock] {
            assert_eq!(
                read(Err(io::Error::from(kind)), 8).ok(),
                Some(0),
                "{kind:?}"
            );
        }
        match read(Ok(0), 8) {
            Err(TransportError::Disconnected { device, detail }) => {
                assert_eq!(
                    (device.as_str(), detail.as_str()),
                    ("tcp://p:9100", "closed")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(
            read(Err(io::Error::from(io::ErrorKind::BrokenPipe)), 8)
                .is_err_and(|e| e.is_disconnect())
        );
        assert!(matches!(
            read(Err(io::Error::from(io::ErrorKind::InvalidData)), 8),
            Err(TransportError::Io {
                operation: "read",
                ..
            })
        ));
    }

    #[test]
    fn simulator_has_no_link_here() {
        let err = open(&PrinterUri::Sim).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "sim: is the in-process virtual printer and has no byte link: the station opens \
                 it itself; choose a real printer address here"
            )
        );
    }

    #[test]
    fn open_hints_follow_the_reason() {
        assert!(open_hint(&io::Error::from(io::ErrorKind::NotFound)).contains("plug"));
        assert!(open_hint(&io::Error::from(io::ErrorKind::PermissionDenied)).contains("dialout"));
        assert!(open_hint(&io::Error::from_raw_os_error(libc::EBUSY)).contains("another program"));
    }
}
