// SPDX-License-Identifier: GPL-3.0-or-later
//! The tokeniser: bytes into commands (`^` or `~`, a two-letter name, parameters up to the next
//! prefix) and a command's parameters into values, each error naming the command and its offset.

use super::error::ReadError;
use super::label::Orientation;

/// A tokenised command.
#[derive(Debug, Clone, Copy)]
pub(super) struct Command<'a> {
    pub(super) offset: usize,
    pub(super) prefix: u8,
    pub(super) name: [u8; 2],
    /// From after the name to the next prefix.
    pub(super) params: &'a [u8],
    pub(super) params_offset: usize,
}

impl Command<'_> {
    pub(super) fn is(&self, prefix: u8, name: &[u8; 2]) -> bool {
        self.prefix == prefix && &self.name == name
    }

    pub(super) fn label(&self) -> String {
        let mut s = String::with_capacity(3);
        s.push(char::from(self.prefix));
        s.push(char::from(self.name[0]));
        s.push(char::from(self.name[1]));
        s
    }

    /// Comma-separated parameters, CR/LF removed, surrounding spaces trimmed.
    pub(super) fn param(&self, index: usize) -> Option<String> {
        let text: Vec<u8> = self
            .params
            .iter()
            .copied()
            .filter(|b| *b != b'\r' && *b != b'\n')
            .collect();
        let part = text.split(|b| *b == b',').nth(index)?;
        let part = String::from_utf8_lossy(part).trim().to_owned();
        if part.is_empty() { None } else { Some(part) }
    }

    pub(super) fn error(&self, index: usize, value: String, expected: &'static str) -> ReadError {
        ReadError::Parameter {
            command: self.label(),
            offset: self.offset,
            index: index + 1,
            value,
            expected,
        }
    }

    pub(super) fn number(&self, index: usize, default: u32, max: u32) -> Result<u32, ReadError> {
        match self.param(index) {
            None => Ok(default),
            Some(v) => match v.parse::<u32>() {
                Ok(n) if n <= max => Ok(n),
                _ => Err(self.error(index, v, "a whole number in range")),
            },
        }
    }

    pub(super) fn orientation(
        &self,
        index: usize,
        default: Orientation,
    ) -> Result<Orientation, ReadError> {
        match self.param(index).as_deref() {
            None => Ok(default),
            Some("N" | "n") => Ok(Orientation::Normal),
            Some("R" | "r") => Ok(Orientation::Rotated),
            Some("I" | "i") => Ok(Orientation::Inverted),
            Some("B" | "b") => Ok(Orientation::Bottom),
            Some(v) => Err(self.error(index, v.to_owned(), "N, R, I or B")),
        }
    }
}

fn is_prefix(b: u8) -> bool {
    b == b'^' || b == b'~'
}

/// Splits input into commands; bytes between commands (line breaks, stray text) are ignored
/// as the firmware ignores them.
pub(super) fn next_command<'a>(
    input: &'a [u8],
    pos: &mut usize,
) -> Result<Option<Command<'a>>, ReadError> {
    let Some(start) = input[*pos..].iter().position(|b| is_prefix(*b)) else {
        *pos = input.len();
        return Ok(None);
    };
    let offset = *pos + start;
    let name = match input.get(offset + 1..offset + 3) {
        Some([a, b]) if !is_prefix(*a) && !is_prefix(*b) => [a.to_ascii_uppercase(), *b],
        _ => return Err(ReadError::Truncated { offset }),
    };
    // `^A0`: the second byte is a font name and keeps its case; other names are case-free.
    let name = if name[0] == b'A' {
        name
    } else {
        [name[0], name[1].to_ascii_uppercase()]
    };
    let params_offset = offset + 3;
    let end = input[params_offset..]
        .iter()
        .position(|b| is_prefix(*b))
        .map_or(input.len(), |p| params_offset + p);
    *pos = end;
    Ok(Some(Command {
        offset,
        prefix: input[offset],
        name,
        params: &input[params_offset..end],
        params_offset,
    }))
}

/// Object names (stored formats, graphics) as the printer files them: upper case, `R:` and
/// `.ZPL` by default.
pub(super) fn normalise_name(raw: &str) -> String {
    let raw = raw.trim().to_ascii_uppercase();
    let with_drive = if raw.len() >= 2 && raw.as_bytes()[1] == b':' {
        raw
    } else {
        format!("R:{raw}")
    };
    if with_drive.contains('.') {
        with_drive
    } else {
        format!("{with_drive}.ZPL")
    }
}
