// SPDX-License-Identifier: GPL-3.0-or-later
//! Zebra status replies, parsed without I/O.
//!
//! - [`FrameSplitter`] turns bytes from any link into `STX … ETX` frames, bounded in memory.
//! - [`HostStatus`] decodes `~HS` (three frames); poll it before and after each label.
//!   [`StatusReply::NoReply`] records silence, which on Zebra firmware means an error state
//!   is likely (media out, ribbon out, head open), never "ready".
//! - [`ExtendedStatus`] decodes `~HQES` bitmasks; ask it when `~HS` is silent.
//! - [`HostIdentification`] decodes `~HI` (model, firmware, resolution).
//! - [`Problem`] is what the worker sees: each with a one-line remedy.
//! - [`SgdReader`] reads an SGD `getvar` answer (a quoted value); [`odometer_count`] turns the
//!   odometer's into a label count, so a roll can be checked against what physically came out.
//!
//! Every parser takes untrusted bytes and returns a typed error instead of panicking; the
//! `printer_status` fuzz target holds them to that.

mod extended;
mod field;
mod frame;
mod host;
mod ident;
mod problem;
mod sgd;

pub use extended::{ErrorFlags, ExtendedStatus, ExtendedStatusError, WarningFlags};
pub use frame::{DEFAULT_MAX_FRAME_LEN, ETX, FrameError, FrameSplitter, STX};
pub use host::{CommSettings, Handshake, HostStatus, HostStatusError, PrintMode, StatusReply};
pub use ident::{HostIdentification, IdentError};
pub use problem::Problem;
pub use sgd::{ODOMETER_QUERY, SgdError, SgdReader, SgdValue, odometer_count};
