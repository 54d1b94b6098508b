// SPDX-License-Identifier: GPL-3.0-or-later
//! Consignments under customs control: the goods of one import (importer, country, packing list, later
//! the customs declaration) that the station orders codes for, labels, and hands over. The ledger keeps
//! them ([`crate::ledger::consignments`]); this module reads what arrives from outside.

pub mod handover;
pub mod packing_list;
