// SPDX-License-Identifier: GPL-3.0-or-later
//! The marking-code model: what a registry-issued GS1 DataMatrix code is, how it arrives from scanners
//! and files, and how it may be shown. Pure: no I/O, so every other layer can rely on it and tests need
//! no hardware.
//!
//! A code is `01` GTIN-14, `21` serial, GS, `91` verification key, GS, `92` crypto tail (or `93` and a
//! 4-character check instead of 91+92, for other product groups). [`MarkingCode::parse`] accepts the
//! forms codes really arrive in and keeps the canonical element string, which is compared byte for byte
//! with the issued code when a printed sticker is verified.
//!
//! [`Sscc`] names a box or a pallet (AI 00): composed by the packer from a GS1 [`CompanyPrefix`], an
//! extension digit and a serial, with the same mod-10 check digit as a GTIN.

mod charset;
mod country;
mod error;
pub mod generate;
mod gtin;
mod normalize;
mod parse;
mod redact;
mod sscc;

pub use charset::is_gs1_char82;
pub use country::is_country_code;
pub use error::{CodeError, Element, Found};
pub use gtin::{Gtin, GtinError, gs1_check_digit};
pub use normalize::{AimId, Normalized, normalize};
pub use parse::{CodeFormat, MarkingCode, SerialLength, Tail};
pub use redact::{MAX_MESSAGE, clean_message, redact_codes};
pub use sscc::{CompanyPrefix, Sscc, SsccError, SsccForm};

#[cfg(test)]
mod tests;

/// The GS1 group separator (ASCII GS) between a variable-length element and the next AI.
pub const GS: u8 = 0x1D;
