// SPDX-License-Identifier: GPL-3.0-or-later
//! The station engine: the line (print → verify → confirm), rejects and review, supervisor actions, and
//! the loop that runs it off the UI thread, publishing [`Event`]s and taking [`Command`]s.

pub mod demo;
pub mod events;
pub mod pin;
pub mod run;
pub mod station;
pub mod switch;
pub mod virtual_worker;
pub mod words;

pub use events::*;
pub use pin::{PinError, PinStore, Supervisor};
pub use run::{Engine, LinkSource};
pub use station::{
    BOX_LABEL_TRIES, EngineError, HOLD_BEFORE_BOX_LABEL_ENV, Packing, RunSummary, Sink, Station,
};
pub use switch::{DeviceChoice, SimSetup, SwitchError, Switched};
pub use words::RejectReason;
