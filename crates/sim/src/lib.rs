// SPDX-License-Identifier: GPL-3.0-or-later
//! Everything simulated, as hard as the world: the virtual Zebra printer (ZPL in, status replies out,
//! rendered labels, faults), the virtual scanner that reads what it printed with a real decoder, and the
//! registry simulator ([`registry`]: one state, both APIs, over HTTP), and the virtual line ([`worker`]):
//! both devices with a worker between, opened by address as a station opens its devices. The devices
//! speak the same bytes as the real ones, the registry the same HTTP; the registry simulator takes only
//! the wire model from `labelstation-registry`, the line only the station's device-opener trait.

// The marking-code model and the ledger's clock, under the names the app uses too (`crate::codes`,
// `crate::ledger::now_ms`).
use labelstation_codes as codes;
use labelstation_ledger as ledger;

pub mod printer;
pub mod registry;
pub mod scanner;
pub mod worker;
