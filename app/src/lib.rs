// SPDX-License-Identifier: GPL-3.0-or-later
//! labelstation: put a registry-issued GS1 DataMatrix marking code on every imported pair of shoes,
//! verify each sticker, and account for every code.
//!
//! The app (package `labelstation`, in `app/`) is the one place where things are built and wired; the
//! domain lives in library crates that know no clap or Slint, re-exported here under the names the app
//! uses:
//! - [`codes`] (crate `labelstation-codes`, in `crates/codes`): the marking-code model (parsing,
//!   normalisation, GTIN, masking and redaction, country codes). Pure.
//! - [`ledger`] (crate `labelstation-ledger`, in `crates/ledger`): the SQLite code ledger: the one place
//!   where code states change.
//! - [`consignment`]: consignments under customs control (the packing list's parser; the ledger keeps
//!   them).
//! - [`config`]: paths and the TOML configuration: every section and its validation.
//! - [`registry`] (crate `labelstation-registry`, in `crates/registry`): the national registry's two
//!   APIs: wire model, clients, pull, sync; its simulator is `crates/sim` (`registry::sim`).
//! - [`engine`] (crate `labelstation-station`, in `crates/station`): the station engine: the line,
//!   boxes on the line, rejects and review, supervisor PIN, the engine thread, and the [`verdict`] on
//!   each scan.
//! - [`sim`] (crate `labelstation-sim`, in `crates/sim`): everything simulated, as hard as the world:
//!   the virtual printer and scanner, the line's worker between them, the registry simulator.
//! - [`ops`]: running a station: doctor, backups and restore, exports, logs, metrics.
//! - [`compose`]: the one place where a station, its registry client and its background sync are built
//!   from the configuration.
//! - [`cli`]: the command-line interface, a file per group of commands (the binary is a thin shell
//!   around it).
//! - `ui` (feature `ui`, on by default): the touchscreen, in Slint.

pub mod bench;
pub mod cli;
pub use labelstation_codes as codes;
pub mod compose;
pub mod config;
pub mod consignment;
pub use labelstation_station as engine;
pub mod ops;
/// The national registry (crate `labelstation-registry`, in `crates/registry`) with its simulator
/// (`labelstation_sim::registry`) as `registry::sim`.
pub mod registry {
    pub use labelstation_registry::*;
    pub use labelstation_sim::registry as sim;
}
pub use labelstation_ledger as ledger;
#[cfg(feature = "ui")]
pub mod ui;
/// Everything simulated (crate `labelstation-sim`, in `crates/sim`): `sim::printer`, `sim::scanner`, the
/// line's `sim::worker`, and the registry simulator (also `registry::sim`).
pub use labelstation_sim as sim;
pub use labelstation_station::verdict;
