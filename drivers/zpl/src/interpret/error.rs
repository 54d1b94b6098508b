// SPDX-License-Identifier: GPL-3.0-or-later
//! Why a read failed: malformed input, with the byte offset and what to do.

/// Malformed input. Offsets are bytes into the input given to
/// [`Interpreter::read`](super::Interpreter::read); problems in a recalled format's body point at
/// the `^XF` that recalled it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// A command prefix with no name after it.
    #[error(
        "ZPL ends inside a command at byte {offset}; the stream was cut, resend the whole label"
    )]
    Truncated {
        /// Offset of the prefix.
        offset: usize,
    },
    /// A format never closed.
    #[error(
        "^XA at byte {offset} has no ^XZ; the stream was cut or the format is broken, resend the whole label"
    )]
    Unterminated {
        /// Offset of the `^XA`.
        offset: usize,
    },
    /// `^XA` inside an open format.
    #[error(
        "^XA at byte {offset} opens a format inside the one opened at byte {open}; close it with ^XZ first"
    )]
    Nested {
        /// Offset of the second `^XA`.
        offset: usize,
        /// Offset of the open one.
        open: usize,
    },
    /// A parameter is not what the command accepts.
    #[error(
        "{command} at byte {offset}: parameter {index} is {value:?}, expected {expected}; fix the template or the sender"
    )]
    Parameter {
        /// The command, e.g. `^FO`.
        command: String,
        /// Offset of the command.
        offset: usize,
        /// 1-based parameter index.
        index: usize,
        /// The text given.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// `^FH` indicator not followed by two hex digits.
    #[error(
        "field data at byte {offset}: the ^FH indicator is not followed by two hex digits; escape it as its own hex code"
    )]
    Hex {
        /// Offset of the indicator.
        offset: usize,
    },
    /// A DataMatrix escape sequence the firmware does not define.
    #[error(
        "DataMatrix data at byte {offset}: escape sequence {sequence:?} is not defined (use _1 FNC1, __ underscore, _dNNN codeword); double a literal escape character"
    )]
    Escape {
        /// Offset of the escape character.
        offset: usize,
        /// The sequence seen.
        sequence: String,
    },
    /// `^BC` data that cannot be a Code 128 symbol.
    #[error(
        "Code 128 data at byte {offset}: {what}; use >; (start C) >8 (FNC1) and digits in pairs for GS1-128"
    )]
    Code128 {
        /// Offset of the offending byte.
        offset: usize,
        /// What is wrong there.
        what: String,
    },
    /// Text under `^CI28` that is not UTF-8.
    #[error("text at byte {offset} is not UTF-8 although ^CI28 is in force; send UTF-8 text")]
    Utf8 {
        /// Offset of the first bad byte.
        offset: usize,
    },
    /// Too many or too large stored formats.
    #[error(
        "^DF at byte {offset} would exceed the printer memory limit ({limit}); delete formats or power-cycle"
    )]
    StoredLimit {
        /// Offset of the `^DF`.
        offset: usize,
        /// Which limit.
        limit: &'static str,
    },
    /// Too many fields.
    #[error("label at byte {offset} exceeds the field limit ({limit}); split the job")]
    FieldLimit {
        /// Offset of the `^XA`.
        offset: usize,
        /// Which limit.
        limit: &'static str,
    },
}
