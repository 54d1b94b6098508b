// SPDX-License-Identifier: GPL-3.0-or-later
//! GTIN: the product number inside every marking code (AI 01).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A GTIN-14 whose check digit has been verified.
///
/// Accepts 8, 12, 13 or 14 ASCII digits (GTIN-8, UPC-A, EAN-13, GTIN-14) and left-pads them with zeros to
/// 14, because marking codes and registry documents always carry the 14-digit form: an EAN-13 printed on
/// a shoe box and the GTIN inside its marking code must compare equal.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin(String);

/// Why a string is not a GTIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GtinError {
    #[error("the GTIN is empty")]
    Empty,
    /// `position` is the 1-based character position in the input.
    #[error("character {found:?} at position {position} of the GTIN is not a digit")]
    NonDigit { position: usize, found: char },
    #[error(
        "the GTIN has {length} digits; a GTIN has 8, 12, 13 or 14 (GTIN-8, UPC-A, EAN-13, GTIN-14)"
    )]
    WrongLength { length: usize },
    #[error("GTIN check digit is {found}, expected {expected}")]
    CheckDigit { found: u8, expected: u8 },
}

/// GTIN lengths in digits, as they appear in the wild.
const GTIN_LENGTHS: [usize; 4] = [8, 12, 13, 14];

impl Gtin {
    /// Length of the canonical form.
    pub const LEN: usize = 14;

    pub fn parse(s: &str) -> Result<Gtin, GtinError> {
        if s.is_empty() {
            return Err(GtinError::Empty);
        }
        if let Some((i, found)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(GtinError::NonDigit {
                position: i + 1,
                found,
            });
        }
        // All ASCII digits from here on, so bytes and characters coincide.
        if !GTIN_LENGTHS.contains(&s.len()) {
            return Err(GtinError::WrongLength { length: s.len() });
        }
        let padded = format!("{s:0>14}");
        verify_check_digit(padded.as_bytes())?;
        Ok(Gtin(padded))
    }

    /// The 14-digit form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Verifies the last of `digits` (ASCII digits) against the others.
fn verify_check_digit(digits: &[u8]) -> Result<(), GtinError> {
    let Some((&last, body)) = digits.split_last() else {
        return Err(GtinError::Empty);
    };
    let found = last.wrapping_sub(b'0');
    let expected = gs1_check_digit(body);
    if found == expected {
        Ok(())
    } else {
        Err(GtinError::CheckDigit { found, expected })
    }
}

/// The GS1 mod-10 check digit (0..=9) of `digits`, ASCII digits given WITHOUT the check digit.
///
/// Weights 3 and 1 alternate from the rightmost digit, so the same function serves GTIN-8/12/13/14 and
/// SSCC alike. Bytes that are not ASCII digits give a meaningless digit, never a panic.
pub fn gs1_check_digit(digits: &[u8]) -> u8 {
    let sum = digits.iter().rev().enumerate().fold(0u8, |sum, (i, &b)| {
        let d = b.wrapping_sub(b'0') % 10;
        let weight = if i % 2 == 0 { 3 } else { 1 };
        (sum + d * weight) % 10
    });
    (10 - sum) % 10
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gtin({})", self.0)
    }
}

impl FromStr for Gtin {
    type Err = GtinError;

    fn from_str(s: &str) -> Result<Gtin, GtinError> {
        Gtin::parse(s)
    }
}

impl Serialize for Gtin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Deserialises from any accepted GTIN form and validates it, so a hand-edited file cannot smuggle in a
/// GTIN with a wrong check digit.
impl<'de> Deserialize<'de> for Gtin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Gtin, D::Error> {
        let s = String::deserialize(deserializer)?;
        Gtin::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as ValueError, StrDeserializer};

    #[test]
    fn check_digits_of_known_numbers() {
        assert_eq!(gs1_check_digit(b"0460123456789"), 3);
        assert_eq!(gs1_check_digit(b"400638133393"), 1);
        assert_eq!(gs1_check_digit(b"03600029145"), 2);
        assert_eq!(gs1_check_digit(b"0123456"), 5);
        assert_eq!(gs1_check_digit(b"000000000000"), 0);
        assert_eq!(gs1_check_digit(b""), 0);
        // Not digits: no panic, whatever the result.
        assert!(gs1_check_digit(&[0xFF; 1000]) <= 9);
    }

    #[test]
    fn accepted_forms_pad_to_14() {
        let cases = [
            ("04601234567893", "04601234567893"), // GTIN-14
            ("4601234567893", "04601234567893"),  // EAN-13
            ("4006381333931", "04006381333931"),  // EAN-13
            ("036000291452", "00036000291452"),   // UPC-A
            ("01234565", "00000001234565"),       // GTIN-8
        ];
        for (input, canonical) in cases {
            let g = Gtin::parse(input).expect("a valid GTIN");
            assert_eq!(g.as_str(), canonical, "{input}");
            assert_eq!(g.to_string(), canonical);
            assert_eq!(format!("{g:?}"), format!("Gtin({canonical})"));
            assert_eq!(input.parse::<Gtin>().expect("a valid GTIN"), g);
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases = [
            ("", GtinError::Empty, "the GTIN is empty"),
            (
                "0460123456789O",
                GtinError::NonDigit {
                    position: 14,
                    found: 'O',
                },
                "character 'O' at position 14 of the GTIN is not a digit",
            ),
            (
                " 4601234567893",
                GtinError::NonDigit {
                    position: 1,
                    found: ' ',
                },
                "character ' ' at position 1 of the GTIN is not a digit",
            ),
            (
                "460123456789٣",
                GtinError::NonDigit {
                    position: 13,
                    found: '٣',
                },
                "character '٣' at position 13 of the GTIN is not a digit",
            ),
            (
                "460123456789",
                GtinError::CheckDigit {
                    found: 9,
                    expected: 6,
                },
                "GTIN check digit is 9, expected 6",
            ),
            (
                "04601234567890",
                GtinError::CheckDigit {
                    found: 0,
                    expected: 3,
                },
                "GTIN check digit is 0, expected 3",
            ),
            (
                "1234567",
                GtinError::WrongLength { length: 7 },
                "the GTIN has 7 digits; a GTIN has 8, 12, 13 or 14 (GTIN-8, UPC-A, EAN-13, GTIN-14)",
            ),
            ("004601234567893", GtinError::WrongLength { length: 15 }, ""),
        ];
        for (input, error, message) in cases {
            let got = Gtin::parse(input).expect_err("an invalid GTIN");
            assert_eq!(got, error, "{input}");
            if !message.is_empty() {
                assert_eq!(got.to_string(), message);
            }
        }
    }

    #[test]
    fn serde_uses_the_14_digit_string_and_validates() {
        let de: StrDeserializer<'_, ValueError> = "4601234567893".into_deserializer();
        assert_eq!(
            Gtin::deserialize(de).expect("a valid GTIN").as_str(),
            "04601234567893"
        );
        let bad: StrDeserializer<'_, ValueError> = "4601234567890".into_deserializer();
        assert_eq!(
            Gtin::deserialize(bad)
                .expect_err("an invalid GTIN")
                .to_string(),
            "GTIN check digit is 0, expected 3"
        );
    }

    #[test]
    fn orders_by_digits() {
        let a = Gtin::parse("01234565").expect("a valid GTIN");
        let b = Gtin::parse("4601234567893").expect("a valid GTIN");
        assert!(a < b);
    }
}
