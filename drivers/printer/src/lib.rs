// SPDX-License-Identifier: GPL-3.0-or-later
//! Zebra ZPL printer driver for labelstation.
//!
//! The station prints GS1 DataMatrix marking codes and must know, before and after every label,
//! whether the printer can print. The crate is layered so each layer is testable without
//! hardware:
//!
//! - [`status`]: pure parsers for the printer's status replies (`~HS`, `~HQES`, `~HI`) and a
//!   bounded STX/ETX frame splitter. No I/O, so the same code serves the real transports, a
//!   simulator and the fuzzer.
//! - [`uri`]: one-line printer addresses (`serial://`, `tcp://`, `file://`, `usb://`, `sim:`).
//! - [`transport`]: byte links behind one small object-safe trait; a lost link is always
//!   [`transport::TransportError::Disconnected`].
//! - [`list`]: the printers the settings screen can offer.
//! - [`printer`]: the [`Printer`] trait (send ZPL, query status, identify, reopen a lost link),
//!   [`ZebraPrinter`] that speaks it over any transport ([`ZebraPrinter::open`] builds it from an
//!   address and reopens a lost link there, with a growing backoff), and [`wait_until_done`],
//!   which turns polling into a [`JobOutcome`].
//!
//! Nothing here panics on printer input: every malformed reply becomes a typed error that names
//! the command, the string and the field.

pub mod list;
pub mod printer;
pub mod status;
pub mod transport;
pub mod uri;

pub use list::{Candidate, list_candidates};
pub use printer::{
    JobOutcome, LinkState, Printer, PrinterError, Reconnect, ZebraPrinter, wait_until_done,
};
pub use transport::{Transport, TransportConfig, TransportError};
pub use uri::{PrinterUri, UriError};
