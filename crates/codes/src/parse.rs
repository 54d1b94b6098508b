// SPDX-License-Identifier: GPL-3.0-or-later
//! The marking code: parsing, the canonical form and masking.

use std::fmt;
use std::hash::{Hash, Hasher};

use super::charset::is_gs1_char82;
use super::error::{CodeError, Element, Found};
use super::gtin::Gtin;
use super::normalize::{Stripped, angle_gs_is_separator, separator_len, strip_transport};
use super::{AimId, GS};

/// GS1 limit on the length of a serial (AI 21).
const SERIAL_MAX: usize = 20;
/// Length of the AI 91 verification key and of the AI 93 check code.
const FOUR: usize = 4;
/// A separator and a two-digit AI: what stands between the serial and the key, and the key and crypto.
const GS_AND_AI: usize = 3;
/// Where the serial starts in the canonical string: after `01` + 14 digits + `21`.
const SERIAL_START: usize = 18;

/// Which structure to expect, from the configuration of the product group.
///
/// The serial length is what makes codes with dropped separators readable at all: with a fixed length
/// the end of the serial is known without the GS after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFormat {
    pub serial_length: SerialLength,
    /// Accepted length of the AI 92 crypto tail, inclusive.
    pub crypto_min: usize,
    pub crypto_max: usize,
}

/// Length of the AI 21 serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerialLength {
    /// Exactly this many characters (1 to 20); footwear uses 13.
    Fixed(usize),
    /// 1 to 20 characters, ended by GS, which must then be present.
    Variable,
}

/// Footwear: 13-character serials; the registry documents crypto tails of 44 to 88 characters.
impl Default for CodeFormat {
    fn default() -> Self {
        CodeFormat {
            serial_length: SerialLength::Fixed(13),
            crypto_min: 44,
            crypto_max: 88,
        }
    }
}

impl CodeFormat {
    /// Rejects a format no code can match: a configuration mistake, reported as such rather than as a
    /// bad code on every scan.
    fn check(&self) -> Result<(), CodeError> {
        let detail = if let SerialLength::Fixed(n) = self.serial_length
            && !(1..=SERIAL_MAX).contains(&n)
        {
            format!("serial length {n} is outside 1 to {SERIAL_MAX}")
        } else if self.crypto_min == 0 {
            "the crypto tail's minimum length is 0".to_owned()
        } else if self.crypto_min > self.crypto_max {
            let (min, max) = (self.crypto_min, self.crypto_max);
            format!("crypto tail length {min} to {max} is an empty range")
        } else {
            return Ok(());
        };
        Err(CodeError::InvalidFormat { detail })
    }
}

/// How the code ends: the full cryptographic tail, or the short check used by other product groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// AI 91 verification key + AI 92 crypto tail.
    Crypto,
    /// AI 93 4-character check code.
    ShortCheck,
}

/// A validated marking code, kept as its canonical element string:
/// `01`+GTIN-14+`21`+serial+GS+`91`+key+GS+`92`+crypto, or `01`+GTIN-14+`21`+serial+GS+`93`+check.
///
/// The canonical string is exactly what the registry issued, so it is what is printed, stored, and
/// compared byte for byte with what a scanner reads back. `Display` and `Debug` show only the masked
/// form, so a code in a log line can never leak its crypto tail.
#[derive(Clone)]
pub struct MarkingCode {
    code: String,
    gtin: Gtin,
    serial_len: usize,
    tail: Tail,
}

impl MarkingCode {
    /// Parses a code in any form it really arrives in (see [`super::normalize`]); restores missing
    /// separators from the structure when the serial length is fixed.
    ///
    /// Error positions are 1-based character positions in the element string with the transport
    /// artefacts removed, each separator counting as one character.
    pub fn parse(input: &[u8], format: &CodeFormat) -> Result<MarkingCode, CodeError> {
        format.check()?;
        let Stripped { aim, body } = strip_transport(input);
        match aim {
            Some(a) if a == AimId::PLAIN_DATAMATRIX => return Err(CodeError::PlainDataMatrix),
            Some(a) if !a.is_gs1_datamatrix() => return Err(CodeError::WrongSymbology { aim: a }),
            _ => {}
        }
        if body.is_empty() {
            return Err(CodeError::Empty);
        }
        Reader::new(body).code(format)
    }

    /// The canonical element string, GS bytes and crypto tail included: the exact issued code.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    pub fn gtin(&self) -> &Gtin {
        &self.gtin
    }

    pub fn serial(&self) -> &str {
        &self.code[SERIAL_START..self.serial_end()]
    }

    /// `01`+GTIN+`21`+serial (31 characters for a 13-character serial): the code identification that
    /// documents carry instead of the full code.
    pub fn identification(&self) -> &str {
        &self.code[..self.serial_end()]
    }

    pub fn tail(&self) -> Tail {
        self.tail
    }

    /// The AI 91 verification key; `None` for the AI 93 form.
    ///
    /// Secret-ish: together with the crypto tail it makes the code forgeable. Never log it.
    pub fn verification_key(&self) -> Option<&str> {
        let start = self.serial_end() + GS_AND_AI;
        match self.tail {
            Tail::Crypto => Some(&self.code[start..start + FOUR]),
            Tail::ShortCheck => None,
        }
    }

    /// The AI 92 crypto tail; `None` for the AI 93 form.
    ///
    /// Secret-ish: it is what makes a printed code genuine. Never log it.
    pub fn crypto(&self) -> Option<&str> {
        let start = self.serial_end() + GS_AND_AI + FOUR + GS_AND_AI;
        match self.tail {
            Tail::Crypto => Some(&self.code[start..]),
            Tail::ShortCheck => None,
        }
    }

    /// `(01){gtin}(21){serial}(91)****(92)****` or `(01){gtin}(21){serial}(93)****`: enough to tell codes
    /// apart on a screen or in a log, with no byte of the key, crypto tail or check code.
    pub fn masked(&self) -> String {
        let tail = match self.tail {
            Tail::Crypto => "(91)****(92)****",
            Tail::ShortCheck => "(93)****",
        };
        format!("(01){}(21){}{tail}", self.gtin, self.serial())
    }

    fn serial_end(&self) -> usize {
        SERIAL_START + self.serial_len
    }
}

/// Identity is the element string; the other fields are derived from it.
impl PartialEq for MarkingCode {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
    }
}

impl Eq for MarkingCode {}

impl Hash for MarkingCode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.code.hash(state);
    }
}

impl fmt::Display for MarkingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for MarkingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MarkingCode({})", self.masked())
    }
}

/// Walks the stripped input once, left to right, building the canonical string.
///
/// Separators may be raw GS or spelt out (see [`super::normalize`]); they are accepted where the
/// structure allows one, required only after a variable-length serial, and unexpected anywhere else.
struct Reader<'a> {
    body: &'a [u8],
    /// Byte offset into `body`.
    at: usize,
    /// Element-string characters consumed so far, a separator counting as one however it was spelt:
    /// the character at `at` is at position `chars + 1`.
    chars: usize,
    angle_gs: bool,
    out: String,
}

impl<'a> Reader<'a> {
    fn new(body: &'a [u8]) -> Reader<'a> {
        Reader {
            body,
            at: 0,
            chars: 0,
            angle_gs: angle_gs_is_separator(body),
            out: String::with_capacity(body.len()),
        }
    }

    fn code(mut self, format: &CodeFormat) -> Result<MarkingCode, CodeError> {
        self.ai("01", Element::Gtin)?;
        let gtin = self.gtin()?;
        self.ai("21", Element::Serial)?;
        let (serial_len, tail) = match format.serial_length {
            SerialLength::Fixed(n) => self.fixed_serial_and_tail(n, format)?,
            SerialLength::Variable => {
                let len = self.variable_serial()?;
                (len, self.tail(format, None)?)
            }
        };
        Ok(MarkingCode {
            code: self.out,
            gtin,
            serial_len,
            tail,
        })
    }

    fn rest(&self) -> &'a [u8] {
        self.body.get(self.at..).unwrap_or_default()
    }

    /// Position of the next character.
    fn position(&self) -> usize {
        self.chars + 1
    }

    /// Moves `n` already validated ASCII bytes to the output.
    fn take(&mut self, n: usize) {
        let taken = self.rest().get(..n).unwrap_or_default();
        self.out.extend(taken.iter().map(|&b| char::from(b)));
        self.at += n;
        self.chars += n;
    }

    /// The separator at `offset` bytes ahead, if any: its length in bytes.
    fn separator_at(&self, offset: usize) -> Option<usize> {
        separator_len(self.rest().get(offset..).unwrap_or_default(), self.angle_gs)
    }

    /// Skips a separator if one is next. The canonical form gets its separators from the structure.
    fn skip_separator(&mut self) {
        if let Some(len) = self.separator_at(0) {
            self.at += len;
            self.chars += 1;
        }
    }

    /// Checks the character `offset` bytes ahead: present, and allowed in `element`.
    fn char_at(&self, offset: usize, element: Element) -> Result<(), CodeError> {
        let here = self.rest().get(offset..).unwrap_or_default();
        let allowed: fn(&u8) -> bool = match element {
            Element::Gtin => u8::is_ascii_digit,
            _ => |b| is_gs1_char82(*b),
        };
        match here.first() {
            None => Err(CodeError::Truncated {
                position: self.chars + offset,
                element,
            }),
            Some(b) if allowed(b) => Ok(()),
            Some(_) => Err(CodeError::InvalidChar {
                position: self.position() + offset,
                element,
                found: Found::describe(here, element),
            }),
        }
    }

    /// The two-digit AI that starts `element`.
    fn ai(&mut self, ai: &'static str, element: Element) -> Result<(), CodeError> {
        let rest = self.rest();
        match rest.get(..2) {
            Some(head) if head == ai.as_bytes() => {
                self.take(2);
                Ok(())
            }
            None if ai.as_bytes().starts_with(rest) => Err(CodeError::Truncated {
                position: self.chars + rest.len(),
                element,
            }),
            head => Err(CodeError::ExpectedAi {
                position: self.position(),
                expected: ai,
                found: shown(head.unwrap_or(rest)),
            }),
        }
    }

    fn gtin(&mut self) -> Result<Gtin, CodeError> {
        let position = self.position();
        for i in 0..Gtin::LEN {
            self.char_at(i, Element::Gtin)?;
        }
        let digits: String = self
            .rest()
            .iter()
            .take(Gtin::LEN)
            .map(|&b| char::from(b))
            .collect();
        let gtin =
            Gtin::parse(&digits).map_err(|source| CodeError::BadGtin { position, source })?;
        self.take(Gtin::LEN);
        Ok(gtin)
    }

    /// A serial of exactly `n` characters, then the tail. Returns the serial length and the tail.
    ///
    /// The serial is read literally: when separators are spelt `<GS>`, a `<GS>` inside the serial is
    /// taken for four serial characters, and only if the rest of the code then fails to parse is it
    /// reported as a separator that ends a short serial.
    fn fixed_serial_and_tail(
        &mut self,
        n: usize,
        format: &CodeFormat,
    ) -> Result<(usize, Tail), CodeError> {
        let position = self.position();
        let short = |length| CodeError::WrongSerialLength {
            position,
            length,
            expected: n,
        };
        let mut maybe_short = None;
        for i in 0..n {
            if separator_len(self.rest().get(i..).unwrap_or_default(), false).is_some() {
                return Err(short(i));
            }
            if maybe_short.is_none() && self.separator_at(i).is_some() {
                maybe_short = Some(i);
            }
            self.char_at(i, Element::Serial)?;
        }
        self.take(n);
        let unseparated = self.separator_at(0).is_none().then_some(n);
        self.skip_separator();
        match (self.tail(format, unseparated), maybe_short) {
            (Ok(tail), _) => Ok((n, tail)),
            (Err(_), Some(length)) => Err(short(length)),
            (Err(e), None) => Err(e),
        }
    }

    /// A serial of 1 to 20 characters ended by a separator. Returns its length.
    fn variable_serial(&mut self) -> Result<usize, CodeError> {
        let position = self.position();
        let mut len = 0;
        while self.separator_at(len).is_none() {
            if self.rest().len() <= len {
                return Err(CodeError::MissingSeparator { position });
            }
            self.char_at(len, Element::Serial)?;
            len += 1;
        }
        if !(1..=SERIAL_MAX).contains(&len) {
            return Err(CodeError::SerialOutOfRange {
                position,
                length: len,
            });
        }
        self.take(len);
        self.skip_separator();
        Ok(len)
    }

    /// After the serial and its separator, if any: `91`+key+`92`+crypto, or `93`+check.
    ///
    /// `unseparated` is the length of a fixed serial that no separator followed: then what stands where
    /// the AI should be may well be key characters, so it is not shown.
    fn tail(&mut self, format: &CodeFormat, unseparated: Option<usize>) -> Result<Tail, CodeError> {
        let rest = self.rest();
        let tail = match rest.get(..2) {
            Some(b"91") => Tail::Crypto,
            Some(b"93") => Tail::ShortCheck,
            _ if rest.is_empty() => {
                return Err(CodeError::MissingTail {
                    position: self.chars,
                });
            }
            head => {
                let position = self.position();
                return Err(match unseparated {
                    Some(serial_length) => CodeError::NoAiAfterSerial {
                        position,
                        serial_length,
                    },
                    None => CodeError::ExpectedAi {
                        position,
                        expected: "91 or 93",
                        found: shown(head.unwrap_or(rest)),
                    },
                });
            }
        };
        self.out.push(char::from(GS));
        self.take(2);
        match tail {
            Tail::Crypto => {
                self.four(Element::VerificationKey)?;
                self.skip_separator();
                self.crypto(format)?;
            }
            Tail::ShortCheck => {
                self.four(Element::ShortCheck)?;
                if !self.rest().is_empty() {
                    return Err(CodeError::UnexpectedData {
                        position: self.position(),
                        after: Element::ShortCheck,
                    });
                }
            }
        }
        Ok(tail)
    }

    /// The 4 characters of the AI 91 key or the AI 93 check code.
    fn four(&mut self, element: Element) -> Result<(), CodeError> {
        let position = self.position();
        for i in 0..FOUR {
            if self.separator_at(i).is_some() {
                return Err(CodeError::WrongFieldLength {
                    element,
                    position,
                    length: i,
                    expected: FOUR,
                });
            }
            self.char_at(i, element)?;
        }
        self.take(FOUR);
        Ok(())
    }

    /// `92` and the crypto tail, which runs to the end of the code.
    fn crypto(&mut self, format: &CodeFormat) -> Result<(), CodeError> {
        let rest = self.rest();
        match rest.get(..2) {
            Some(b"92") => {}
            None if b"92".starts_with(rest) => {
                return Err(CodeError::Truncated {
                    position: self.chars + rest.len(),
                    element: Element::Crypto,
                });
            }
            // What stands here may be the rest of a longer key: not shown.
            _ => {
                return Err(CodeError::ExpectedCryptoAi {
                    position: self.position(),
                });
            }
        }
        self.out.push(char::from(GS));
        self.take(2);
        let position = self.position();
        let len = self.rest().len();
        for i in 0..len {
            if self.separator_at(i).is_some() {
                return Err(CodeError::UnexpectedData {
                    position: position + i,
                    after: Element::Crypto,
                });
            }
            self.char_at(i, Element::Crypto)?;
        }
        if !(format.crypto_min..=format.crypto_max).contains(&len) {
            return Err(CodeError::CryptoLength {
                position,
                length: len,
                min: format.crypto_min,
                max: format.crypto_max,
            });
        }
        self.take(len);
        Ok(())
    }
}

/// Up to two bytes that stand where an AI should, for a message: printable as is, the rest escaped.
fn shown(bytes: &[u8]) -> String {
    let mut s = String::new();
    for chunk in bytes.utf8_chunks() {
        s.extend(chunk.valid().chars().flat_map(char::escape_debug));
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02X}"));
        }
    }
    s
}
