// SPDX-License-Identifier: GPL-3.0-or-later
//! SSCC: the Serial Shipping Container Code that names a box or a pallet (GS1 AI 00).
//!
//! 18 digits: an extension digit (0–9, the packer's choice, to widen the range), the GS1 company prefix
//! (7–10 digits), a serial reference (prefix and serial together are 16 digits) and the GS1 mod-10 check
//! digit. Box codes are not ordered from the registry: whoever packs the box composes the SSCC
//! ([`Sscc::compose`]). The registry takes it as `00` + 18 digits or as the 18 digits alone
//! ([`SsccForm`]); [`Sscc::parse`] reads both, and the human-readable line under a barcode.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::gtin::gs1_check_digit;

/// A GS1 company prefix: 7 to 10 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompanyPrefix(String);

/// Why a string is not a company prefix, or an SSCC cannot be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsccError {
    #[error("the SSCC is empty")]
    Empty,
    /// `position` is the 1-based character position in the input.
    #[error("character {found:?} at position {position} is not a digit")]
    NonDigit { position: usize, found: char },
    #[error(
        "the SSCC has {length} digits; it has 18 (or 20 with the AI 00 in front, as `00` + 18 digits)"
    )]
    WrongLength { length: usize },
    #[error("SSCC check digit is {found}, expected {expected}")]
    CheckDigit { found: u8, expected: u8 },
    #[error(
        "the GS1 company prefix has {length} digits; it has 7 to 10 (the prefix GS1 Kazakhstan issued)"
    )]
    PrefixLength { length: usize },
    #[error("the extension digit is {found}; it is one digit, 0 to 9")]
    ExtensionDigit { found: u8 },
    #[error(
        "serial reference {serial} does not fit the {digits} digits a {prefix_len}-digit company prefix leaves (at most {max}): use another extension digit or a longer prefix's range"
    )]
    SerialTooLarge {
        serial: u64,
        digits: usize,
        prefix_len: usize,
        max: u64,
    },
}

impl CompanyPrefix {
    /// Fewest digits a GS1 company prefix has.
    pub const MIN_LEN: usize = 7;
    /// Most digits a GS1 company prefix has in an SSCC (it leaves 6 for the serial).
    pub const MAX_LEN: usize = 10;

    pub fn parse(s: &str) -> Result<CompanyPrefix, SsccError> {
        if let Some((i, found)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(SsccError::NonDigit {
                position: i + 1,
                found,
            });
        }
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&s.len()) {
            return Err(SsccError::PrefixLength { length: s.len() });
        }
        Ok(CompanyPrefix(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Digits left for the serial reference in an SSCC.
    pub fn serial_digits(&self) -> usize {
        16 - self.0.len()
    }

    /// The largest serial reference an SSCC with this prefix holds.
    pub fn max_serial(&self) -> u64 {
        10u64.pow(self.serial_digits() as u32) - 1
    }

    /// Whether GS1 Kazakhstan issued it (KZ prefixes start with 487).
    pub fn is_kazakh(&self) -> bool {
        self.0.starts_with("487")
    }
}

impl fmt::Display for CompanyPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an SSCC is written for the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SsccForm {
    /// `00` + 18 digits (the AI in front, no parentheses): the KZ registry's examples.
    #[default]
    WithAi,
    /// The 18 digits alone.
    Bare,
}

impl SsccForm {
    /// The word for it in the config file.
    pub const fn as_str(self) -> &'static str {
        match self {
            SsccForm::WithAi => "00+18",
            SsccForm::Bare => "18",
        }
    }
}

impl Serialize for SsccForm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SsccForm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SsccForm, D::Error> {
        match String::deserialize(deserializer)?.as_str() {
            "00+18" => Ok(SsccForm::WithAi),
            "18" => Ok(SsccForm::Bare),
            other => Err(serde::de::Error::custom(format!(
                "sscc_form {other:?} is not one of \"00+18\" (the AI 00 and the 18 digits) or \"18\" (the digits alone)"
            ))),
        }
    }
}

/// An 18-digit SSCC whose check digit has been verified.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sscc(String);

impl Sscc {
    /// Digits of an SSCC.
    pub const LEN: usize = 18;

    /// The SSCC of `serial` under `prefix` and `extension`, with its check digit.
    pub fn compose(prefix: &CompanyPrefix, extension: u8, serial: u64) -> Result<Sscc, SsccError> {
        if extension > 9 {
            return Err(SsccError::ExtensionDigit { found: extension });
        }
        let digits = prefix.serial_digits();
        if serial > prefix.max_serial() {
            return Err(SsccError::SerialTooLarge {
                serial,
                digits,
                prefix_len: prefix.0.len(),
                max: prefix.max_serial(),
            });
        }
        let body = format!("{extension}{prefix}{serial:0digits$}");
        let check = gs1_check_digit(body.as_bytes());
        Ok(Sscc(format!("{body}{check}")))
    }

    /// Reads an SSCC as the registry, a scanner or a label gives it: 18 digits, `00` + 18 digits, or
    /// the human-readable `(00) 0 4870001 000000123 0` (parentheses and spaces).
    pub fn parse(s: &str) -> Result<Sscc, SsccError> {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(SsccError::Empty);
        }
        let (body, offset) = match trimmed.strip_prefix("(00)") {
            Some(rest) => (rest, 4),
            None => (trimmed, 0),
        };
        let mut digits = String::with_capacity(20);
        for (i, c) in body.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                // Spaces group the human-readable line.
                ' ' if offset > 0 => {}
                _ => {
                    return Err(SsccError::NonDigit {
                        position: offset + i + 1,
                        found: c,
                    });
                }
            }
        }
        let digits = match digits.len() {
            18 => digits,
            20 if offset == 0 && digits.starts_with("00") => digits[2..].to_owned(),
            length => return Err(SsccError::WrongLength { length }),
        };
        let (body, last) = digits.split_at(17);
        let found = last.as_bytes()[0] - b'0';
        let expected = gs1_check_digit(body.as_bytes());
        if found != expected {
            return Err(SsccError::CheckDigit { found, expected });
        }
        Ok(Sscc(digits))
    }

    /// The 18 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The GS1 element string: `00` + the 18 digits (what a GS1-128 symbol carries after FNC1).
    pub fn element_string(&self) -> String {
        format!("00{}", self.0)
    }

    /// As the registry takes it.
    pub fn registry_form(&self, form: SsccForm) -> String {
        match form {
            SsccForm::WithAi => self.element_string(),
            SsccForm::Bare => self.0.clone(),
        }
    }

    /// The human-readable line under the barcode: `(00) ` and the 18 digits.
    pub fn human_readable(&self) -> String {
        format!("(00) {}", self.0)
    }

    pub fn extension_digit(&self) -> u8 {
        self.0.as_bytes()[0] - b'0'
    }

    pub fn check_digit(&self) -> u8 {
        self.0.as_bytes()[17] - b'0'
    }
}

impl fmt::Display for Sscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Sscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sscc({})", self.0)
    }
}

impl FromStr for Sscc {
    type Err = SsccError;

    fn from_str(s: &str) -> Result<Sscc, SsccError> {
        Sscc::parse(s)
    }
}

impl Serialize for Sscc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sscc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Sscc, D::Error> {
        let s = String::deserialize(deserializer)?;
        Sscc::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published SSCCs with their check digits, as collected in `shared/research/customs-workflow.md`
    /// §7: the BWIPP SSCC-18 example `(00)095287654321012346` (its wiki, after the GS1 General
    /// Specifications' AI 00), and the biip documentation's `157035381410375177` and
    /// `376130321109103420`; and the SSCC row of the GS1 General Specifications' check-digit
    /// calculation table (§7.9.1, beside the GTIN-13 `629104150021` → 3 that GS1 member organisations
    /// reproduce), `37610425002123456` → 9.
    const PUBLISHED: &[&str] = &[
        "095287654321012346",
        "157035381410375177",
        "376130321109103420",
        "376104250021234569",
    ];

    #[test]
    fn published_ssccs_check_and_read_in_every_form() {
        for s in PUBLISHED {
            let sscc = Sscc::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(sscc.as_str(), *s);
            assert_eq!(Sscc::parse(&format!("00{s}")), Ok(sscc.clone()));
            assert_eq!(Sscc::parse(&format!("(00){s}")), Ok(sscc.clone()));
            assert_eq!(Sscc::parse(&sscc.human_readable()), Ok(sscc.clone()));
            assert_eq!(sscc.registry_form(SsccForm::WithAi), format!("00{s}"));
            assert_eq!(sscc.registry_form(SsccForm::Bare), *s);
            assert_eq!(
                gs1_check_digit(&s.as_bytes()[..17]),
                sscc.check_digit(),
                "{s}"
            );
        }
        // Spaced as the GS1 logistic label shows it.
        let spaced = Sscc::parse("(00) 0 9528765 432101234 6").unwrap();
        assert_eq!(spaced.as_str(), PUBLISHED[0]);
    }

    #[test]
    fn compose_puts_extension_prefix_serial_and_check_digit_in_place() {
        let gs1 = CompanyPrefix::parse("9528765").unwrap();
        // The BWIPP example is extension 0, prefix 9528765, serial 432101234.
        assert_eq!(
            Sscc::compose(&gs1, 0, 432_101_234).unwrap().as_str(),
            PUBLISHED[0]
        );
        let gs1 = CompanyPrefix::parse("7610425").unwrap();
        assert_eq!(
            Sscc::compose(&gs1, 3, 2_123_456).unwrap().as_str(),
            PUBLISHED[3]
        );
        let kz = CompanyPrefix::parse("4870001").unwrap();
        assert!(kz.is_kazakh());
        let s = Sscc::compose(&kz, 1, 123).unwrap();
        assert_eq!(&s.as_str()[..17], "14870001000000123");
        assert_eq!(s.extension_digit(), 1);
        assert_eq!(Sscc::parse(s.as_str()), Ok(s.clone()));
        // Ten digits of prefix leave six for the serial.
        let long = CompanyPrefix::parse("4870001234").unwrap();
        assert_eq!(long.max_serial(), 999_999);
        assert!(Sscc::compose(&long, 0, 999_999).is_ok());
        assert_eq!(
            Sscc::compose(&long, 0, 1_000_000),
            Err(SsccError::SerialTooLarge {
                serial: 1_000_000,
                digits: 6,
                prefix_len: 10,
                max: 999_999
            })
        );
        assert_eq!(
            Sscc::compose(&kz, 10, 1),
            Err(SsccError::ExtensionDigit { found: 10 })
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases = [
            ("", SsccError::Empty),
            ("09528765432101234", SsccError::WrongLength { length: 17 }),
            ("1109528765432101234", SsccError::WrongLength { length: 19 }),
            // 20 digits are `00` + 18, nothing else.
            (
                "11095287654321012346",
                SsccError::WrongLength { length: 20 },
            ),
            (
                "095287654321012347",
                SsccError::CheckDigit {
                    found: 7,
                    expected: 6,
                },
            ),
            (
                "0952876543210I2346",
                SsccError::NonDigit {
                    position: 14,
                    found: 'I',
                },
            ),
            // Spaces only in the human-readable form.
            (
                "0 95287654321012346",
                SsccError::NonDigit {
                    position: 2,
                    found: ' ',
                },
            ),
        ];
        for (input, want) in cases {
            assert_eq!(Sscc::parse(input), Err(want), "{input:?}");
        }
        assert_eq!(
            CompanyPrefix::parse("487000"),
            Err(SsccError::PrefixLength { length: 6 })
        );
        assert_eq!(
            CompanyPrefix::parse("48700012345"),
            Err(SsccError::PrefixLength { length: 11 })
        );
        assert_eq!(
            CompanyPrefix::parse("487-0001"),
            Err(SsccError::NonDigit {
                position: 4,
                found: '-'
            })
        );
    }

    #[test]
    fn forms_read_from_config_words() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};
        let form = |s: &'static str| {
            let d: StrDeserializer<'_, Error> = s.into_deserializer();
            SsccForm::deserialize(d)
        };
        assert_eq!(form("00+18").unwrap(), SsccForm::WithAi);
        assert_eq!(form("18").unwrap(), SsccForm::Bare);
        assert!(form("20").is_err());
        let d: StrDeserializer<'_, Error> = "00376104250021234569".into_deserializer();
        assert_eq!(Sscc::deserialize(d).unwrap().as_str(), PUBLISHED[3]);
    }
}
