// SPDX-License-Identifier: GPL-3.0-or-later
//! Simulated devices, as hard as the world: the virtual Zebra printer (ZPL in, status replies out,
//! rendered labels, faults) and the virtual scanner that reads what it printed with a real decoder.
//! They import nothing from the station: they speak the same bytes as the real devices.

pub mod virtual_printer;
pub mod virtual_scanner;
