// SPDX-License-Identifier: GPL-3.0-or-later
//! SGD `getvar` answers, read without I/O: the odometer (`odometer.total_label_count`).
//!
//! The documented form asks `! U1 getvar "odometer.total_label_count"` (lower case, ended by CR LF)
//! and the printer answers with the value in double quotes, `"1234"`, with no STX/ETX and, on most
//! firmware, no line ending at all; a setting the printer does not have is answered `"?"`. So the
//! answer is complete at its closing quote, and the reader is lenient about what comes around it:
//! blank bytes (CR, LF, spaces, NUL) before the opening quote and anything after the closing one.
//! A count may carry spaces around it or thousands separators (`"12,345"`).

use thiserror::Error;

/// `! U1 getvar "odometer.total_label_count"`: the labels the printer has put out since it was
/// made (reprints after an error included).
pub const ODOMETER_QUERY: &[u8] = b"! U1 getvar \"odometer.total_label_count\"\r\n";

/// Most bytes read before the opening quote (a babbling device cannot grow memory).
const MAX_LEAD: usize = 256;
/// Most bytes of a value: a count has at most 20 digits.
const MAX_VALUE: usize = 64;

/// What a `getvar` answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SgdValue {
    /// The value between the quotes, as sent.
    Value(String),
    /// `"?"`: the printer has no such setting (older firmware) or it is not set.
    Unknown,
}

/// Why a `getvar` answer was not usable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SgdError {
    /// Something other than blank bytes came before the opening quote.
    #[error(
        "SGD answer starts with {found:?} where a quoted value was expected: another reply was mixed \
         in, or the printer is not in ZPL mode; ask again"
    )]
    NotQuoted {
        /// The first bytes that were not blank, as text.
        found: String,
    },
    /// No closing quote within the length a value can have.
    #[error("SGD answer longer than {limit} bytes without its closing quote: ask again")]
    TooLong {
        /// The cap in force.
        limit: usize,
    },
    /// The odometer's value is not a count.
    #[error(
        "odometer.total_label_count is {value:?}, expected a number of labels: ask again, and if it \
         persists the printer's firmware words it differently (the station then goes on counts alone)"
    )]
    NotACount {
        /// The value as received.
        value: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the opening quote.
    Lead,
    /// Inside the quotes.
    Value,
    /// The closing quote was seen (or an error): later bytes are ignored.
    Done,
}

/// Reads one `getvar` answer from bytes that arrive in any chunks.
#[derive(Debug, Clone)]
pub struct SgdReader {
    state: State,
    lead: usize,
    value: Vec<u8>,
}

impl Default for SgdReader {
    fn default() -> Self {
        Self::new()
    }
}

impl SgdReader {
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: State::Lead,
            lead: 0,
            value: Vec::new(),
        }
    }

    /// Feeds bytes; `Some` once the answer is complete (or unusable). Later calls return `None`.
    pub fn push(&mut self, bytes: &[u8]) -> Option<Result<SgdValue, SgdError>> {
        for &b in bytes {
            match self.state {
                State::Done => return None,
                State::Lead => {
                    if b == b'"' {
                        self.state = State::Value;
                    } else if b.is_ascii_whitespace() || b == 0 {
                        self.lead += 1;
                        if self.lead > MAX_LEAD {
                            self.state = State::Done;
                            return Some(Err(SgdError::TooLong { limit: MAX_LEAD }));
                        }
                    } else {
                        self.state = State::Done;
                        return Some(Err(SgdError::NotQuoted {
                            found: String::from_utf8_lossy(&[b]).into_owned(),
                        }));
                    }
                }
                State::Value => {
                    if b == b'"' {
                        self.state = State::Done;
                        let text = String::from_utf8_lossy(&self.value).trim().to_owned();
                        return Some(Ok(if text == "?" {
                            SgdValue::Unknown
                        } else {
                            SgdValue::Value(text)
                        }));
                    }
                    self.value.push(b);
                    if self.value.len() > MAX_VALUE {
                        self.state = State::Done;
                        return Some(Err(SgdError::TooLong { limit: MAX_VALUE }));
                    }
                }
            }
        }
        None
    }

    /// Reads one whole answer; `None` when it is not complete.
    #[must_use]
    pub fn parse(bytes: &[u8]) -> Option<Result<SgdValue, SgdError>> {
        Self::new().push(bytes)
    }
}

/// The odometer's count from its `getvar` value: `None` for `"?"` (no odometer).
///
/// # Errors
/// [`SgdError::NotACount`] when the value is not digits (thousands separators and blanks allowed).
pub fn odometer_count(value: &SgdValue) -> Result<Option<u64>, SgdError> {
    let SgdValue::Value(text) = value else {
        return Ok(None);
    };
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, ',' | '\'' | ' ' | '_'))
        .collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SgdError::NotACount {
            value: text.clone(),
        });
    }
    digits.parse().map(Some).map_err(|_| SgdError::NotACount {
        value: text.clone(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// What reading an answer gives: nothing yet, or a count (or none), or why not.
    type Read = Option<Result<Option<u64>, SgdError>>;

    fn read(bytes: &[u8]) -> Read {
        SgdReader::parse(bytes).map(|r| r.and_then(|v| odometer_count(&v)))
    }

    #[test]
    fn answers_are_read_in_every_documented_and_seen_shape() {
        let table: &[(&[u8], Read)] = &[
            // The documented shape: the value in double quotes, no line ending.
            (b"\"1234\"", Some(Ok(Some(1234)))),
            // With a line ending, and after stray blanks.
            (b"\"1234\"\r\n", Some(Ok(Some(1234)))),
            (b"\r\n \"7\"", Some(Ok(Some(7)))),
            (b"\0\"0\"", Some(Ok(Some(0)))),
            // Blanks and thousands separators inside the quotes.
            (b"\" 12,345 \"", Some(Ok(Some(12345)))),
            // No such setting.
            (b"\"?\"", Some(Ok(None))),
            // Not complete yet.
            (b"", None),
            (b"\r\n", None),
            (b"\"123", None),
            // Not a count.
            (
                b"\"12a\"",
                Some(Err(SgdError::NotACount {
                    value: "12a".into(),
                })),
            ),
            (
                b"\"\"",
                Some(Err(SgdError::NotACount {
                    value: String::new(),
                })),
            ),
            (
                b"\"99999999999999999999999\"",
                Some(Err(SgdError::NotACount {
                    value: "99999999999999999999999".into(),
                })),
            ),
            // Another reply mixed in (a late ~HS frame).
            (
                b"\x02030,0",
                Some(Err(SgdError::NotQuoted {
                    found: "\u{2}".into(),
                })),
            ),
        ];
        for (bytes, want) in table {
            assert_eq!(&read(bytes), want, "{:?}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn an_answer_split_anywhere_reads_the_same() {
        let whole = b"\r\n\"4,321\"\r\n";
        for cut in 0..whole.len() {
            let mut r = SgdReader::new();
            let first = r.push(&whole[..cut]);
            let got = first.or_else(|| r.push(&whole[cut..])).unwrap().unwrap();
            assert_eq!(odometer_count(&got).unwrap(), Some(4321), "cut at {cut}");
        }
    }

    #[test]
    fn endless_bytes_are_refused_not_kept() {
        assert_eq!(
            SgdReader::parse(&[b' '; 300]),
            Some(Err(SgdError::TooLong { limit: MAX_LEAD }))
        );
        let mut long = vec![b'"'];
        long.extend([b'1'; 100]);
        assert_eq!(
            SgdReader::parse(&long),
            Some(Err(SgdError::TooLong { limit: MAX_VALUE }))
        );
    }
}
