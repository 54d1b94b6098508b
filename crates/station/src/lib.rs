// SPDX-License-Identifier: GPL-3.0-or-later
//! The station engine: the line (print → verify → confirm), boxes on the line, rejects and review,
//! supervisor actions, and the loop that runs it off the UI thread, publishing [`Event`]s and taking
//! [`Command`]s; and the [`verdict`] on each scan.
//!
//! It knows nothing of the command line, the touchscreen or how devices are found: it is handed a
//! ledger, a printer and a scanner, and a [`DeviceOpener`] for settings changed while it runs. The app
//! (`app/src/compose`) builds it; the simulated line that tests and the demo run it with is
//! `labelstation-sim`'s.

pub mod events;
pub mod notice;
pub mod pin;
pub mod reconfigure;
pub mod run;
pub mod settings;
pub mod station;
pub mod verdict;
pub mod words;

pub use events::*;
pub use notice::Notice;
pub use pin::{PinError, PinStore, Supervisor};
pub use reconfigure::{DeviceChoice, DeviceOpener, OwnLine, Reopened, SwitchError, Switched};
pub use run::{Engine, LinkSource};
pub use settings::{LabelConfig, LabelMode, LineConfig, PrinterConfig};
pub use station::{
    BOX_LABEL_TRIES, EngineError, HOLD_BEFORE_BOX_LABEL_ENV, Packing, RunSummary, Sink, Station,
};
pub use words::RejectReason;
