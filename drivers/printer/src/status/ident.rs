// SPDX-License-Identifier: GPL-3.0-or-later
//! `~HI` host identification: `MODEL,Vx.y.z,dpm,memKB,options`.
//!
//! The station reads it once per connection to learn the head resolution, which fixes the
//! DataMatrix module size in dots, and to log model and firmware next to each print run.

use thiserror::Error;

use super::field::{self, Fault};
use super::frame::{FrameError, STX, split_complete};

/// Decoded `~HI` reply.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostIdentification {
    /// Printer model, e.g. a model name with its resolution.
    pub model: String,
    /// Firmware version as sent, e.g. `V1.0.0`.
    pub firmware: String,
    /// Head resolution in dots per millimetre.
    pub dots_per_mm: u8,
    /// Memory in kilobytes.
    pub memory_kb: u32,
    /// Option letters the printer detected (cutter, …), as sent; empty when absent.
    pub options: String,
}

/// Why a `~HI` reply was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentError {
    /// The framing itself was broken.
    #[error("~HI reply unusable: {0}")]
    Frame(#[from] FrameError),
    /// The bytes ended inside the frame.
    #[error("~HI reply ends before its ETX: the reply was cut short; keep reading or ask again")]
    Truncated,
    /// Not exactly one frame.
    #[error("~HI reply has {found} frames, expected 1: it was mixed with another reply; ask again")]
    FrameCount {
        /// Frames found.
        found: usize,
    },
    /// Fewer than the four mandatory fields.
    #[error(
        "~HI reply has {found} fields, expected at least 4 (model,version,dpm,memory): the reply \
         was cut short or the printer is not in ZPL mode; ask again"
    )]
    FieldCount {
        /// Fields found.
        found: usize,
    },
    /// A field did not hold what the layout says.
    #[error(
        "~HI field {field} ({name}) is {value:?}, expected {expected}; ask again, and if it \
         persists check the printer is in ZPL mode"
    )]
    Field {
        /// 1-based field number.
        field: u8,
        /// The field's meaning.
        name: &'static str,
        /// The field's text as received.
        value: String,
        /// What the layout allows.
        expected: String,
    },
}

fn field_error(field: u8, name: &'static str) -> impl FnOnce(Fault) -> IdentError {
    move |fault| IdentError::Field {
        field,
        name,
        value: fault.value,
        expected: fault.expected,
    }
}

fn non_empty(raw: &[u8]) -> Result<String, Fault> {
    if raw.is_empty() {
        Err(Fault {
            value: String::new(),
            expected: "text".to_owned(),
        })
    } else {
        Ok(field::show(raw))
    }
}

/// Memory size with its `KB` unit (or bare digits, which some emulations send).
fn memory_kb(raw: &[u8]) -> Result<u32, Fault> {
    let digits = match raw.len().checked_sub(2).map(|at| raw.split_at(at)) {
        Some((digits, unit)) if unit.eq_ignore_ascii_case(b"KB") => digits.trim_ascii_end(),
        _ => raw,
    };
    field::decimal(digits).map_err(|fault| Fault {
        value: field::show(raw),
        expected: format!("{} followed by KB", fault.expected),
    })
}

impl HostIdentification {
    /// Parses one frame payload (without STX/ETX), or the same text unframed.
    ///
    /// Everything after the fourth comma is the options text, kept whole: it is for display,
    /// and a model-specific option list must not make identification fail.
    ///
    /// # Errors
    /// [`IdentError`] naming the field that does not match the layout.
    pub fn parse(payload: &[u8]) -> Result<Self, IdentError> {
        let mut parts = payload.trim_ascii().splitn(5, |&b| b == b',');
        let mut fields = [&b""[..]; 5];
        let mut found = 0;
        for (slot, part) in fields.iter_mut().zip(&mut parts) {
            *slot = part.trim_ascii();
            found += 1;
        }
        if found < 4 {
            return Err(IdentError::FieldCount { found });
        }
        let [model, firmware, dpm, memory, options] = fields;
        Ok(Self {
            model: non_empty(model).map_err(field_error(1, "model"))?,
            firmware: non_empty(firmware).map_err(field_error(2, "firmware version"))?,
            dots_per_mm: field::decimal(dpm).map_err(field_error(3, "dots per mm"))?,
            memory_kb: memory_kb(memory).map_err(field_error(4, "memory"))?,
            options: field::show(options),
        })
    }

    /// Parses a whole reply buffer: one `STX … ETX` frame (garbage and a stale partial frame
    /// before it are skipped), or unframed text when there is no STX.
    ///
    /// # Errors
    /// [`IdentError`]: broken framing, a cut-off reply, or a bad field.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, IdentError> {
        if !bytes.contains(&STX) {
            return Self::parse(bytes);
        }
        let reply = split_complete(bytes)?;
        match &reply.frames[..] {
            [frame] => Self::parse(frame),
            [] if reply.truncated => Err(IdentError::Truncated),
            frames => Err(IdentError::FrameCount {
                found: frames.len(),
            }),
        }
    }

    /// Resolution in dots per inch for the head sizes Zebra makes (6/8/12/24 dots per mm);
    /// `None` for any other value, so layout code must not guess.
    #[must_use]
    pub fn dpi(&self) -> Option<u16> {
        match self.dots_per_mm {
            6 => Some(152),
            8 => Some(203),
            12 => Some(300),
            24 => Some(600),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ident(
        model: &str,
        firmware: &str,
        dpm: u8,
        memory_kb: u32,
        options: &str,
    ) -> HostIdentification {
        HostIdentification {
            model: model.to_owned(),
            firmware: firmware.to_owned(),
            dots_per_mm: dpm,
            memory_kb,
            options: options.to_owned(),
        }
    }

    #[test]
    fn documented_layout_framed_and_unframed() {
        let expected = ident("XXXXXX", "V1.0.0", 8, 512, "X");
        for bytes in [
            &b"\x02XXXXXX,V1.0.0,8,512KB,X\x03\r\n"[..],
            b"XXXXXX,V1.0.0,8,512KB,X\r\n",
            b"noise\x02XXXXXX,V1.0.0,8,512KB,X\x03",
            b"\x02stale\x02 XXXXXX , V1.0.0 , 8 , 512 KB , X \x03",
        ] {
            assert_eq!(
                HostIdentification::parse_bytes(bytes),
                Ok(expected.clone()),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn options_are_optional_and_kept_whole() {
        let s = HostIdentification::parse(b"ZD420-203dpi,V84.20.18Z,8,8192KB").expect("valid");
        assert_eq!(s, ident("ZD420-203dpi", "V84.20.18Z", 8, 8192, ""));
        let s = HostIdentification::parse(b"M,V1,12,4096kb,C,R").expect("valid");
        assert_eq!(s.options, "C,R");
        assert_eq!(s.memory_kb, 4096);
        let s = HostIdentification::parse(b"M,V1,12,4096").expect("bare digits");
        assert_eq!(s.memory_kb, 4096);
    }

    #[test]
    fn dpi_for_every_documented_head() {
        for (dpm, dpi) in [
            (6, Some(152)),
            (8, Some(203)),
            (12, Some(300)),
            (24, Some(600)),
            (7, None),
            (0, None),
        ] {
            assert_eq!(ident("M", "V1", dpm, 1, "").dpi(), dpi, "{dpm} dots/mm");
        }
    }

    #[test]
    fn malformed_replies_are_rejected_with_the_field_named() {
        let field = |field, name, value: &str, expected: &str| IdentError::Field {
            field,
            name,
            value: value.to_owned(),
            expected: expected.to_owned(),
        };
        let table: [(&[u8], IdentError); 10] = [
            (b"M,V1,8", IdentError::FieldCount { found: 3 }),
            (b"", IdentError::FieldCount { found: 1 }),
            (b",V1,8,512KB,X", field(1, "model", "", "text")),
            (b"M, ,8,512KB,X", field(2, "firmware version", "", "text")),
            (b"M,V1,8a,512KB", field(3, "dots per mm", "8a", "digits")),
            (
                b"M,V1,300,512KB",
                field(3, "dots per mm", "300", "a number no larger than 255"),
            ),
            (
                b"M,V1,8,5x2KB",
                field(4, "memory", "5x2KB", "digits followed by KB"),
            ),
            (
                b"M,V1,8,KB",
                field(4, "memory", "KB", "digits followed by KB"),
            ),
            (b"\x02M,V1,8,512KB", IdentError::Truncated),
            (
                b"\x02M,V1,8,512KB\x03\x02M,V1,8,512KB\x03",
                IdentError::FrameCount { found: 2 },
            ),
        ];
        for (bytes, expected) in table {
            assert_eq!(
                HostIdentification::parse_bytes(bytes),
                Err(expected),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn error_message_names_field_and_value() {
        let err = HostIdentification::parse(b"M,V1,8a,512KB").expect_err("bad dpm");
        assert!(
            err.to_string()
                .starts_with("~HI field 3 (dots per mm) is \"8a\", expected digits"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = HostIdentification::parse_bytes(&bytes);
        }
    }
}
