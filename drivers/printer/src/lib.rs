// SPDX-License-Identifier: GPL-3.0-or-later
//! Zebra ZPL printer driver for labelstation.
//!
//! The station prints GS1 DataMatrix marking codes and must know, before and after every label,
//! whether the printer can print. This crate grows in layers so each one is testable without
//! hardware:
//!
//! - [`status`] (exists now): pure parsers for the printer's status replies (`~HS`, `~HQES`,
//!   `~HI`) and a bounded STX/ETX frame splitter. No I/O, so the same code serves the real
//!   transports, a simulator and the fuzzer.
//! - Planned: a small object-safe `Printer` trait (send ZPL, query status, identify) with a
//!   fake that replays recorded bytes, then transports behind it (serial, USB, TCP 9100), each
//!   in its own module, feeding received bytes into [`status::FrameSplitter`].
//!
//! Nothing here panics on printer input: every malformed reply becomes a typed error that names
//! the command, the string and the field.

pub mod status;
