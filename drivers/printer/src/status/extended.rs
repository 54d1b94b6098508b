// SPDX-License-Identifier: GPL-3.0-or-later
//! `~HQES` extended status: error and warning bitmasks.
//!
//! Unlike `~HS`, the printer answers `~HQES` while in an error state, so this is the fallback
//! that says *which* error silenced `~HS`. The reply is one frame of text lines:
//!
//! ```text
//! STX CR LF
//! PRINTER STATUS CR LF
//!    ERRORS:         1 00000000 00000005 CR LF
//!    WARNINGS:       0 00000000 00000000 CR LF
//! ETX
//! ```
//!
//! Whitespace and blank lines vary between firmware, so lines are matched by their label and
//! tokens split on any whitespace.

use bitflags::Flags;
use thiserror::Error;

use super::field::{self, Fault};
use super::frame::{FrameError, STX, split_complete};
use super::problem::Problem;

bitflags::bitflags! {
    /// `~HQES` error bits. The two 8-digit hex groups are joined as `(first << 32) | second`, so
    /// "nibble 1" of the Zebra tables is the lowest four bits. Bits this driver does not name
    /// (e.g. kiosk-printer flags) are kept as sent and reported as
    /// [`Problem::UnrecognisedError`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct ErrorFlags: u64 {
        /// Nibble 1, bit 1.
        const MEDIA_OUT = 0x1;
        /// Nibble 1, bit 2.
        const RIBBON_OUT = 0x2;
        /// Nibble 1, bit 4.
        const HEAD_OPEN = 0x4;
        /// Nibble 1, bit 8.
        const CUTTER_FAULT = 0x8;
        /// Nibble 2, bit 1.
        const HEAD_OVER_TEMPERATURE = 0x10;
        /// Nibble 2, bit 2.
        const MOTOR_OVER_TEMPERATURE = 0x20;
        /// Nibble 2, bit 4.
        const BAD_HEAD_ELEMENT = 0x40;
        /// Nibble 2, bit 8.
        const HEAD_DETECTION_ERROR = 0x80;
        /// Nibble 3, bit 1.
        const INVALID_FIRMWARE_CONFIG = 0x100;
        /// Nibble 3, bit 2.
        const HEAD_THERMISTOR_OPEN = 0x200;
    }
}

bitflags::bitflags! {
    /// `~HQES` warning bits, joined like [`ErrorFlags`]. Bits this driver does not name (e.g.
    /// kiosk sensor flags) are kept as sent and reported as [`Problem::UnrecognisedWarning`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct WarningFlags: u64 {
        /// Nibble 1, bit 1.
        const NEED_CALIBRATION = 0x1;
        /// Nibble 1, bit 2.
        const CLEAN_HEAD = 0x2;
        /// Nibble 1, bit 4.
        const REPLACE_HEAD = 0x4;
        /// Nibble 1, bit 8.
        const PAPER_NEAR_END = 0x8;
    }
}

/// What the two `~HQES` lines share: the problem each named bit stands for, and one problem for
/// all the bits this driver does not name, so none is silently dropped.
trait Line: Flags<Bits = u64> + Copy + 'static {
    /// Named bits in the order a worker should check them.
    const PROBLEMS: &'static [(Self, Problem)];

    /// The problem standing for bits this driver does not name.
    fn unrecognised(bits: u64) -> Problem;

    fn problems(self) -> impl Iterator<Item = Problem> {
        let unknown = self.bits() & !Self::all().bits();
        Self::PROBLEMS
            .iter()
            .filter(move |(flag, _)| self.contains(*flag))
            .map(|(_, problem)| *problem)
            .chain((unknown != 0).then(|| Self::unrecognised(unknown)))
    }
}

impl Line for ErrorFlags {
    const PROBLEMS: &'static [(Self, Problem)] = &[
        (Self::HEAD_OPEN, Problem::HeadOpen),
        (Self::MEDIA_OUT, Problem::PaperOut),
        (Self::RIBBON_OUT, Problem::RibbonOut),
        (Self::CUTTER_FAULT, Problem::CutterFault),
        (Self::HEAD_OVER_TEMPERATURE, Problem::HeadOverTemperature),
        (Self::MOTOR_OVER_TEMPERATURE, Problem::MotorOverTemperature),
        (Self::BAD_HEAD_ELEMENT, Problem::BadHeadElement),
        (Self::HEAD_DETECTION_ERROR, Problem::HeadDetectionError),
        (
            Self::INVALID_FIRMWARE_CONFIG,
            Problem::InvalidFirmwareConfig,
        ),
        (Self::HEAD_THERMISTOR_OPEN, Problem::HeadThermistorOpen),
    ];

    fn unrecognised(bits: u64) -> Problem {
        Problem::UnrecognisedError { bits }
    }
}

impl Line for WarningFlags {
    const PROBLEMS: &'static [(Self, Problem)] = &[
        (Self::NEED_CALIBRATION, Problem::NeedsCalibration),
        (Self::CLEAN_HEAD, Problem::CleanHead),
        (Self::REPLACE_HEAD, Problem::ReplaceHead),
        (Self::PAPER_NEAR_END, Problem::PaperNearEnd),
    ];

    fn unrecognised(bits: u64) -> Problem {
        Problem::UnrecognisedWarning { bits }
    }
}

/// Decoded `~HQES` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ExtendedStatus {
    /// Conditions that stop printing.
    pub errors: ErrorFlags,
    /// Conditions that need attention soon.
    pub warnings: WarningFlags,
}

/// Why a `~HQES` reply was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExtendedStatusError {
    /// The framing itself was broken.
    #[error("~HQES reply unusable: {0}")]
    Frame(#[from] FrameError),
    /// The bytes ended inside the frame.
    #[error("~HQES reply ends before its ETX: the reply was cut short; keep reading or poll again")]
    Truncated,
    /// Not exactly one frame.
    #[error(
        "~HQES reply has {found} frames, expected 1: it was mixed with another reply; poll again"
    )]
    FrameCount {
        /// Frames found.
        found: usize,
    },
    /// The `ERRORS:` or `WARNINGS:` line is absent.
    #[error(
        "~HQES reply has no {line} line: it was cut short or this printer does not support ~HQES; \
         poll again, or rely on ~HS alone"
    )]
    MissingLine {
        /// `ERRORS` or `WARNINGS`.
        line: &'static str,
    },
    /// The same line appears twice, so we cannot tell which one is current.
    #[error("~HQES reply has two {line} lines: two replies were mixed; poll again")]
    DuplicateLine {
        /// `ERRORS` or `WARNINGS`.
        line: &'static str,
    },
    /// A line had the wrong number of values.
    #[error(
        "~HQES {line} line has {found} values, expected 3 (flag, two 8-digit hex groups): the \
         reply was garbled; poll again"
    )]
    FieldCount {
        /// `ERRORS` or `WARNINGS`.
        line: &'static str,
        /// Values found after the label.
        found: usize,
    },
    /// A value did not hold what the layout says.
    #[error(
        "~HQES {line} field {field} ({name}) is {value:?}, expected {expected}; poll again, and \
         if it persists check the printer is in ZPL mode"
    )]
    Field {
        /// `ERRORS` or `WARNINGS`.
        line: &'static str,
        /// 1-based value number after the label.
        field: u8,
        /// The value's meaning.
        name: &'static str,
        /// The value as received.
        value: String,
        /// What the layout allows.
        expected: String,
    },
}

const ERRORS: &str = "ERRORS";
const WARNINGS: &str = "WARNINGS";

/// The three values after `label:` on a line, or `None` if the line has another label.
fn labelled_values<'a>(line: &'a [u8], label: &str) -> Option<Vec<&'a [u8]>> {
    let line = line.trim_ascii();
    let head = line.get(..label.len())?;
    if !head.eq_ignore_ascii_case(label.as_bytes()) {
        return None;
    }
    let rest = line[label.len()..].trim_ascii_start();
    let rest = rest.strip_prefix(b":")?;
    Some(
        rest.split(u8::is_ascii_whitespace)
            .filter(|token| !token.is_empty())
            .collect(),
    )
}

/// Finds the single `label:` line and joins its two hex groups.
fn flag_bits(payload: &[u8], label: &'static str) -> Result<u64, ExtendedStatusError> {
    let mut found = None;
    for line in payload.split(|&b| b == b'\r' || b == b'\n') {
        if let Some(values) = labelled_values(line, label) {
            if found.is_some() {
                return Err(ExtendedStatusError::DuplicateLine { line: label });
            }
            found = Some(values);
        }
    }
    let values = found.ok_or(ExtendedStatusError::MissingLine { line: label })?;
    let [any, high, low] = values[..] else {
        return Err(ExtendedStatusError::FieldCount {
            line: label,
            found: values.len(),
        });
    };
    let field_error = |field: u8, name: &'static str| {
        move |fault: Fault| ExtendedStatusError::Field {
            line: label,
            field,
            name,
            value: fault.value,
            expected: fault.expected,
        }
    };
    // The leading flag only repeats "some bit is set"; the bits are authoritative, but a
    // non-flag here means the line is not what we think it is.
    field::flag(any).map_err(field_error(1, "any flag set"))?;
    let high = field::hex_group(high).map_err(field_error(2, "flag bits 63-32"))?;
    let low = field::hex_group(low).map_err(field_error(3, "flag bits 31-0"))?;
    Ok((u64::from(high) << 32) | u64::from(low))
}

impl ExtendedStatus {
    /// Parses one frame payload (without STX/ETX), or the same text unframed.
    ///
    /// # Errors
    /// [`ExtendedStatusError`] naming the missing line or the bad value.
    pub fn parse(payload: &[u8]) -> Result<Self, ExtendedStatusError> {
        Ok(Self {
            errors: ErrorFlags::from_bits_retain(flag_bits(payload, ERRORS)?),
            warnings: WarningFlags::from_bits_retain(flag_bits(payload, WARNINGS)?),
        })
    }

    /// Parses a whole reply buffer: one `STX … ETX` frame (garbage and a stale partial frame
    /// before it are skipped), or unframed text when there is no STX.
    ///
    /// # Errors
    /// [`ExtendedStatusError`]: broken framing, a cut-off reply, or a bad line.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, ExtendedStatusError> {
        if !bytes.contains(&STX) {
            return Self::parse(bytes);
        }
        let reply = split_complete(bytes)?;
        match &reply.frames[..] {
            [frame] => Self::parse(frame),
            [] if reply.truncated => Err(ExtendedStatusError::Truncated),
            frames => Err(ExtendedStatusError::FrameCount {
                found: frames.len(),
            }),
        }
    }

    /// Errors first (they block printing), then warnings; unknown bits become one
    /// `Unrecognised…` problem each so they are never silently dropped.
    #[must_use]
    pub fn problems(&self) -> Vec<Problem> {
        self.errors
            .problems()
            .chain(self.warnings.problems())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reply(errors: &str, warnings: &str) -> Vec<u8> {
        format!(
            "\x02\r\nPRINTER STATUS\r\n   ERRORS:         {errors}\r\n   WARNINGS:       {warnings}\r\n\x03"
        )
        .into_bytes()
    }

    fn parse(errors: &str, warnings: &str) -> Result<ExtendedStatus, ExtendedStatusError> {
        ExtendedStatus::parse_bytes(&reply(errors, warnings))
    }

    #[test]
    fn documented_example_head_open_and_media_out() {
        let s = parse("1 00000000 00000005", "0 00000000 00000000").expect("valid");
        assert!(s.errors.contains(ErrorFlags::HEAD_OPEN));
        assert!(s.errors.contains(ErrorFlags::MEDIA_OUT));
        assert_eq!(s.errors.bits(), 5);
        assert!(s.warnings.is_empty());
        assert_eq!(s.problems(), vec![Problem::HeadOpen, Problem::PaperOut]);
    }

    #[test]
    fn each_error_bit() {
        let table = [
            ("00000001", ErrorFlags::MEDIA_OUT, Problem::PaperOut),
            ("00000002", ErrorFlags::RIBBON_OUT, Problem::RibbonOut),
            ("00000004", ErrorFlags::HEAD_OPEN, Problem::HeadOpen),
            ("00000008", ErrorFlags::CUTTER_FAULT, Problem::CutterFault),
            (
                "00000010",
                ErrorFlags::HEAD_OVER_TEMPERATURE,
                Problem::HeadOverTemperature,
            ),
            (
                "00000020",
                ErrorFlags::MOTOR_OVER_TEMPERATURE,
                Problem::MotorOverTemperature,
            ),
            (
                "00000040",
                ErrorFlags::BAD_HEAD_ELEMENT,
                Problem::BadHeadElement,
            ),
            (
                "00000080",
                ErrorFlags::HEAD_DETECTION_ERROR,
                Problem::HeadDetectionError,
            ),
            (
                "00000100",
                ErrorFlags::INVALID_FIRMWARE_CONFIG,
                Problem::InvalidFirmwareConfig,
            ),
            (
                "00000200",
                ErrorFlags::HEAD_THERMISTOR_OPEN,
                Problem::HeadThermistorOpen,
            ),
        ];
        for (hex, flag, problem) in table {
            let s = parse(&format!("1 00000000 {hex}"), "0 00000000 00000000").expect(hex);
            assert_eq!(s.errors, flag, "{hex}");
            assert_eq!(s.errors.difference(ErrorFlags::all()).bits(), 0);
            assert_eq!(s.problems(), vec![problem], "{hex}");
            assert!(problem.is_blocking());
        }
    }

    #[test]
    fn each_warning_bit() {
        let table = [
            (
                "00000001",
                WarningFlags::NEED_CALIBRATION,
                Problem::NeedsCalibration,
            ),
            ("00000002", WarningFlags::CLEAN_HEAD, Problem::CleanHead),
            ("00000004", WarningFlags::REPLACE_HEAD, Problem::ReplaceHead),
            (
                "00000008",
                WarningFlags::PAPER_NEAR_END,
                Problem::PaperNearEnd,
            ),
        ];
        for (hex, flag, problem) in table {
            let s = parse("0 00000000 00000000", &format!("1 00000000 {hex}")).expect(hex);
            assert!(s.errors.is_empty());
            assert_eq!(s.warnings, flag, "{hex}");
            assert_eq!(s.problems(), vec![problem], "{hex}");
            assert!(!problem.is_blocking());
        }
    }

    #[test]
    fn unknown_bits_are_kept_and_reported() {
        let s = parse("1 80000000 00010004", "1 00000001 00000108").expect("valid");
        assert_eq!(s.errors.bits(), 0x8000_0000_0001_0004);
        assert_eq!(
            s.errors.difference(ErrorFlags::all()).bits(),
            0x8000_0000_0001_0000
        );
        assert_eq!(
            s.warnings.difference(WarningFlags::all()).bits(),
            0x1_0000_0100
        );
        assert_eq!(
            s.problems(),
            vec![
                Problem::HeadOpen,
                Problem::UnrecognisedError {
                    bits: 0x8000_0000_0001_0000
                },
                Problem::PaperNearEnd,
                Problem::UnrecognisedWarning {
                    bits: 0x1_0000_0100
                },
            ]
        );
    }

    #[test]
    fn whitespace_case_and_framing_vary() {
        let variants: [&[u8]; 5] = [
            b"\x02\r\n\r\nPRINTER STATUS            \r\n   ERRORS:          1 00000000 00000005  \r\n   WARNINGS:        0 00000000 00000000   \r\n\x03",
            b"\x02PRINTER STATUS\nERRORS: 1 00000000 00000005\nWARNINGS: 0 00000000 00000000\x03\r\n",
            b"\x02\r\nerrors :\t1\t00000000\t00000005\r\nwarnings:0 0 0\r\n\x03",
            b"ERRORS: 1 00000000 00000005\r\nWARNINGS: 0 00000000 00000000\r\n",
            b"junk\x03\r\n\x02stale\x02WARNINGS: 0 00000000 00000000\rERRORS: 1 0 5\x03",
        ];
        for bytes in variants {
            let s = ExtendedStatus::parse_bytes(bytes)
                .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(bytes)));
            assert_eq!(s.errors.bits(), 5);
            assert!(s.warnings.is_empty());
        }
    }

    #[test]
    fn malformed_replies_are_rejected_with_the_line_named() {
        use ExtendedStatusError as E;
        let field = |line, field, name, value: &str, expected: &str| E::Field {
            line,
            field,
            name,
            value: value.to_owned(),
            expected: expected.to_owned(),
        };
        let table: [(&[u8], E); 10] = [
            (
                b"\x02PRINTER STATUS\r\nWARNINGS: 0 00000000 00000000\r\n\x03",
                E::MissingLine { line: "ERRORS" },
            ),
            (
                b"\x02ERRORS: 1 00000000 00000005\r\n\x03",
                E::MissingLine { line: "WARNINGS" },
            ),
            (
                b"\x02ERRORS: 1 00000000\r\nWARNINGS: 0 00000000 00000000\x03",
                E::FieldCount {
                    line: "ERRORS",
                    found: 2,
                },
            ),
            (
                b"\x02ERRORS: 1 0 5 0\r\nWARNINGS: 0 0 0\x03",
                E::FieldCount {
                    line: "ERRORS",
                    found: 4,
                },
            ),
            (
                b"\x02ERRORS: 1 00000000 0000zz05\r\nWARNINGS: 0 0 0\x03",
                field(
                    "ERRORS",
                    3,
                    "flag bits 31-0",
                    "0000zz05",
                    "1 to 8 hex digits",
                ),
            ),
            (
                b"\x02ERRORS: 1 000000000 00000005\r\nWARNINGS: 0 0 0\x03",
                field(
                    "ERRORS",
                    2,
                    "flag bits 63-32",
                    "000000000",
                    "1 to 8 hex digits",
                ),
            ),
            (
                b"\x02ERRORS: 1 0 5\r\nWARNINGS: Y 0 0\x03",
                field("WARNINGS", 1, "any flag set", "Y", "0 or 1"),
            ),
            (
                b"\x02ERRORS: 1 0 5\r\nERRORS: 0 0 0\r\nWARNINGS: 0 0 0\x03",
                E::DuplicateLine { line: "ERRORS" },
            ),
            (b"\x02ERRORS: 1 0 5\r\nWARNINGS: 0 0", E::Truncated),
            (
                b"\x02ERRORS: 1 0 5\x03\x02WARNINGS: 0 0 0\x03",
                E::FrameCount { found: 2 },
            ),
        ];
        for (bytes, expected) in table {
            assert_eq!(
                ExtendedStatus::parse_bytes(bytes),
                Err(expected),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn an_ok_label_word_alone_is_not_a_line() {
        // "ERRORSX:" is not the ERRORS line.
        assert_eq!(
            ExtendedStatus::parse(b"ERRORSX: 1 0 5\nWARNINGS: 0 0 0"),
            Err(ExtendedStatusError::MissingLine { line: "ERRORS" })
        );
    }

    #[test]
    fn error_message_names_line_field_and_value() {
        let err = parse("1 00000000 0000zz05", "0 0 0").expect_err("bad hex");
        assert!(
            err.to_string().starts_with(
                "~HQES ERRORS field 3 (flag bits 31-0) is \"0000zz05\", expected 1 to 8 hex digits"
            ),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn any_bits_round_trip(errors in any::<u64>(), warnings in any::<u64>()) {
            let text = format!(
                "{} {:08X} {:08x}",
                u8::from(errors != 0), errors >> 32, errors & 0xffff_ffff
            );
            let warn = format!(
                "{} {:08x} {:08X}",
                u8::from(warnings != 0), warnings >> 32, warnings & 0xffff_ffff
            );
            let s = ExtendedStatus::parse_bytes(&reply(&text, &warn));
            prop_assert_eq!(s, Ok(ExtendedStatus {
                errors: ErrorFlags::from_bits_retain(errors),
                warnings: WarningFlags::from_bits_retain(warnings),
            }));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = ExtendedStatus::parse_bytes(&bytes);
        }
    }
}
