// SPDX-License-Identifier: GPL-3.0-or-later
//! The national marking registry: the two platforms Kazakhstan runs, behind one interface.
//!
//! Which platform serves footwear today is not settled (shared research, registry API section 0), so
//! both are supported and chosen in the config: the new markirovka.kz "xTrace" API ([`xtrace`]) and the
//! older platform's code-ordering API v2 ([`oms`]). [`wire`] holds what they share: error bodies in every
//! shape either platform sends, secrets that never print, lenient numbers.
//!
//! [`client`] is the trait the station uses and the xTrace client; [`documents`] the xTrace document
//! storage (send, status, errors, search, read back); [`oms_client`] the older platform's client;
//! [`pull`] takes codes into the ledger; [`held`] asks about codes held after a restore; [`sync`] sends reports and write-offs (once, or in the
//! background). The registry simulator for both APIs (the embedded default, the demo and the tests) is
//! `labelstation_sim::registry` (crate `labelstation-sim`).
//!
//! The app re-exports this crate as `labelstation::registry`.

// The marking-code model and the ledger, under the names the app uses too (`crate::codes`,
// `crate::ledger`).
use labelstation_codes as codes;
use labelstation_ledger as ledger;

pub mod background;
pub mod client;
pub mod documents;
pub mod held;
pub mod oms;
pub mod oms_client;
pub mod pull;
pub mod sync;
mod sync_documents;
mod sync_outcomes;
pub mod wire;
pub mod xtrace;
