// SPDX-License-Identifier: GPL-3.0-or-later
//! Why a scanned or imported code is not a valid marking code.
//!
//! Messages are shown to workers and written to logs, so they name the problem and where it is, and
//! never contain a byte of the verification key, crypto tail or AI 93 check code.
//!
//! Positions are 1-based character positions in the element string after transport artefacts are
//! removed (see [`super::normalize`]): `0` of `01` is position 1, the serial starts at 19, and every
//! separator counts as one character however it was spelt.

use std::fmt;

use super::{AimId, GtinError};

/// Why bytes are not a marking code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("the code is empty")]
    Empty,
    #[error(
        "the symbol is plain Data Matrix (AIM ]d1): it was printed without FNC1, so it is not GS1 \
         DataMatrix and the registry will not accept it; reprint the label"
    )]
    PlainDataMatrix,
    #[error(
        "the scanned symbol is {} (AIM {aim}), not GS1 DataMatrix (AIM ]d2): scan the marking code",
        symbology_name(.aim)
    )]
    WrongSymbology { aim: AimId },
    /// The [`super::CodeFormat`] itself is unusable: a configuration mistake, not a bad code.
    #[error("the code format for this product group is invalid: {detail}")]
    InvalidFormat { detail: String },
    #[error("the code ends at position {position} before the {element} is complete")]
    Truncated { position: usize, element: Element },
    #[error(
        "the code ends at position {position} after the serial: the AI 91+92 or AI 93 tail is missing \
         (an identification code alone is not a marking code)"
    )]
    MissingTail { position: usize },
    /// `found` is what stands where the AI should be, at most two characters. Only used where the
    /// layout guarantees that it is not part of the key or crypto tail.
    #[error("expected AI {expected} at position {position}, found \"{found}\"")]
    ExpectedAi {
        position: usize,
        expected: &'static str,
        found: String,
    },
    /// A fixed-length serial with no separator after it, and no AI 91 or 93 where it ends. What stands
    /// there is not shown: with the serial shorter than configured it is the verification key.
    #[error(
        "expected AI 91 or 93 at position {position}, after the {serial_length}-character serial: the \
         serial is not {serial_length} characters long, or the code is damaged"
    )]
    NoAiAfterSerial {
        position: usize,
        serial_length: usize,
    },
    #[error(
        "expected AI 92 (crypto tail) at position {position}, after the 4-character verification key"
    )]
    ExpectedCryptoAi { position: usize },
    #[error("{found} at position {position} is not allowed in the {element} ({})", element.allowed())]
    InvalidChar {
        position: usize,
        element: Element,
        found: Found,
    },
    /// The 14 digits after AI 01 are not a valid GTIN (in practice: the check digit is wrong).
    #[error("{source} (GTIN at position {position})")]
    BadGtin { position: usize, source: GtinError },
    #[error(
        "the serial at position {position} is {length} characters, but this product group's serials \
         are {expected}"
    )]
    WrongSerialLength {
        position: usize,
        length: usize,
        expected: usize,
    },
    #[error(
        "the serial at position {position} is {length} characters; a GS1 serial (AI 21) is 1 to 20"
    )]
    SerialOutOfRange { position: usize, length: usize },
    #[error(
        "no GS separator after the serial at position {position}: a serial of variable length must end \
         with GS, it cannot be restored"
    )]
    MissingSeparator { position: usize },
    /// A GS inside the 4-character AI 91 key or AI 93 check code.
    #[error("the {element} at position {position} is {length} characters; it must be {expected}")]
    WrongFieldLength {
        element: Element,
        position: usize,
        length: usize,
        expected: usize,
    },
    #[error(
        "crypto tail is {length} characters; this product group needs {} (tail starts at position \
         {position})",
        LengthRange(*.min, *.max)
    )]
    CryptoLength {
        position: usize,
        length: usize,
        min: usize,
        max: usize,
    },
    /// Anything, a separator included, after the last element.
    #[error("unexpected data at position {position}: the code must end after the {after}")]
    UnexpectedData { position: usize, after: Element },
}

/// The part of a marking code an error is in. Each part includes its AI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Element {
    /// AI 01.
    Gtin,
    /// AI 21.
    Serial,
    /// AI 91.
    VerificationKey,
    /// AI 92.
    Crypto,
    /// AI 93.
    ShortCheck,
}

impl Element {
    /// Whether a character of this element may be shown in a message.
    pub(super) fn is_secret(self) -> bool {
        matches!(
            self,
            Element::VerificationKey | Element::Crypto | Element::ShortCheck
        )
    }

    fn allowed(self) -> &'static str {
        match self {
            Element::Gtin => "digits only",
            _ => "GS1 character set 82",
        }
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Element::Gtin => "GTIN",
            Element::Serial => "serial",
            Element::VerificationKey => "verification key",
            Element::Crypto => "crypto tail",
            Element::ShortCheck => "AI 93 check code",
        })
    }
}

/// A character that is not allowed where it stands, as far as it may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// A printable character.
    Char(char),
    /// A control character or a byte that is not valid UTF-8.
    Byte(u8),
    /// In the key or crypto tail: not shown.
    Withheld,
}

impl Found {
    /// Describes the character that `bytes` starts with; `bytes` is not empty.
    pub(super) fn describe(bytes: &[u8], element: Element) -> Found {
        if element.is_secret() {
            return Found::Withheld;
        }
        let first = bytes.first().copied().unwrap_or_default();
        let len = match first {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        let c = bytes
            .get(..len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|s| s.chars().next());
        match c {
            Some(c) if !c.is_control() => Found::Char(c),
            _ => Found::Byte(first),
        }
    }
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::Char(c) => write!(f, "character {c:?}"),
            Found::Byte(b) => write!(f, "byte {b:#04X}"),
            Found::Withheld => f.write_str("the character"),
        }
    }
}

/// `44 to 88`, or `88` when the range is a single length.
struct LengthRange(usize, usize);

impl fmt::Display for LengthRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LengthRange(min, max) if min == max => write!(f, "{min}"),
            LengthRange(min, max) => write!(f, "{min} to {max}"),
        }
    }
}

/// What a worker would call the symbol that was scanned instead of the marking code.
fn symbology_name(aim: &AimId) -> &'static str {
    match aim.0 {
        [_, b'd', b'3' | b'6'] => "a Data Matrix with FNC1 in second position",
        [_, b'd', b'4' | b'5'] => "a Data Matrix with an ECI",
        [_, b'd', _] => "a Data Matrix",
        [_, b'Q', _] => "a QR Code",
        [_, b'C', b'1'] => "a GS1-128 barcode",
        [_, b'C', _] => "a Code 128 barcode",
        [_, b'E', _] => "an EAN/UPC barcode",
        [_, b'e', _] => "a GS1 DataBar",
        [_, b'I', _] => "an ITF barcode",
        [_, b'A', _] => "a Code 39 barcode",
        [_, b'L', _] => "a PDF417",
        [_, b'z', _] => "an Aztec code",
        _ => "another kind of barcode",
    }
}
