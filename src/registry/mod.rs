// SPDX-License-Identifier: GPL-3.0-or-later
//! The national marking registry: the two platforms Kazakhstan runs, behind one interface.
//!
//! Which platform serves footwear today is not settled (shared research, registry API section 0), so
//! both are supported and chosen in the config: the new markirovka.kz "xTrace" API ([`xtrace`]) and the
//! older platform's code-ordering API v2 ([`oms`]). [`wire`] holds what they share: error bodies in every
//! shape either platform sends, secrets that never print, lenient numbers.
//!
//! So far this module holds the wire model; the clients, the simulator and the sync engine build on it.

pub mod oms;
pub mod wire;
pub mod xtrace;
