// SPDX-License-Identifier: GPL-3.0-or-later
//! Field data resolved at `^XZ`, in the firmware's order: `^FN` data fills recalled fields, the
//! 3072-byte cut, `^FH` hex bytes, then the character set for text (with `^FB` escapes) or the
//! `^BX` quality-200 escape sequences for a DataMatrix.

use super::error::ReadError;
use super::format::{Building, Kind, RawData};
use super::job::{Event, Job, Warning};
use super::label::{Code128Content, DataMatrixContent, DmElement, Field, FieldContent, Label};
use super::settings::Settings;

impl Building {
    /// Fills `^FN` data, decodes every field and snapshots the settings.
    pub(super) fn finish(
        self,
        settings: Settings,
        max_field_data: usize,
        job: &mut Job,
    ) -> Result<Label, ReadError> {
        let mut fields = Vec::with_capacity(self.fields.len());
        for f in self.fields {
            let supplied = f.number.and_then(|n| self.recall_data.get(&n)).cloned();
            let content = match (f.kind, f.graphic) {
                (Some(Kind::Graphic), Some(graphic)) => FieldContent::Graphic(graphic),
                (kind, _) => {
                    let Some(data) = supplied.or(f.data) else {
                        // A field with no data prints nothing.
                        continue;
                    };
                    let (bytes, offsets) = data.unhex(max_field_data, job)?;
                    match kind {
                        Some(Kind::DataMatrix(params)) => {
                            let elements = if params.quality == 200 {
                                unescape_datamatrix(&bytes, &offsets, params.escape)?
                            } else {
                                bytes.iter().map(|b| DmElement::Byte(*b)).collect()
                            };
                            FieldContent::DataMatrix(DataMatrixContent { params, elements })
                        }
                        Some(Kind::Code128(params)) => {
                            let (codewords, elements) = super::code128::encode(params.mode, &bytes)
                                .map_err(|f| ReadError::Code128 {
                                    offset: offsets.get(f.at).copied().unwrap_or_default(),
                                    what: f.what,
                                })?;
                            FieldContent::Code128(Code128Content {
                                params,
                                codewords: super::code128::finish(codewords),
                                elements,
                            })
                        }
                        _ => {
                            let text = decode_text(settings.charset, bytes, &offsets)?;
                            FieldContent::Text {
                                font: f.font,
                                block: f.block,
                                text: if f.block.is_some() {
                                    unescape_block(&text)
                                } else {
                                    text
                                },
                            }
                        }
                    }
                }
            };
            fields.push(Field {
                offset: f.offset,
                origin: f.origin,
                number: f.number,
                content,
            });
        }
        Ok(Label {
            offset: self.offset,
            settings,
            quantity: self.quantity,
            recalled: self.recalled,
            fields,
        })
    }
}

impl RawData {
    /// Applies the 3072-byte cut, then `^FH` hex; returns bytes with their offsets. CR/LF stay:
    /// current firmware treats them as field data (they were ignored before ^FB and ^B7 existed).
    fn unhex(
        &self,
        max_field_data: usize,
        job: &mut Job,
    ) -> Result<(Vec<u8>, Vec<usize>), ReadError> {
        let at = |i: usize| {
            if self.exact {
                self.offset + i
            } else {
                self.offset
            }
        };
        let mut kept: Vec<(u8, usize)> = self
            .bytes
            .iter()
            .enumerate()
            .map(|(i, b)| (*b, at(i)))
            .collect();
        if kept.len() > max_field_data {
            job.events.push(Event::Warning(Warning::Truncated {
                offset: self.offset,
                len: kept.len(),
            }));
            kept.truncate(max_field_data);
        }
        let Some(indicator) = self.hex else {
            return Ok(kept.into_iter().unzip());
        };
        let mut bytes = Vec::with_capacity(kept.len());
        let mut offsets = Vec::with_capacity(kept.len());
        let mut i = 0;
        while i < kept.len() {
            let (byte, offset) = kept[i];
            if byte == indicator {
                let hex = |j: usize| kept.get(j).and_then(|(b, _)| char::from(*b).to_digit(16));
                let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) else {
                    return Err(ReadError::Hex { offset });
                };
                // Two hex digits: at most 255.
                bytes.push((hi * 16 + lo) as u8);
                offsets.push(offset);
                i += 3;
            } else {
                bytes.push(byte);
                offsets.push(offset);
                i += 1;
            }
        }
        Ok((bytes, offsets))
    }
}

/// Text bytes in the character set in force.
fn decode_text(charset: u16, bytes: Vec<u8>, offsets: &[usize]) -> Result<String, ReadError> {
    if charset == 28 {
        String::from_utf8(bytes).map_err(|e| ReadError::Utf8 {
            offset: offsets
                .get(e.utf8_error().valid_up_to())
                .copied()
                .unwrap_or_default(),
        })
    } else {
        // Other code pages are approximated as Latin-1; the station always sends ^CI28.
        Ok(bytes.into_iter().map(char::from).collect())
    }
}

/// `^FB` text escapes: `\&` is a line break and `\\` a backslash; other text is kept.
pub(super) fn unescape_block(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some('&')) => {
                out.push('\n');
                chars.next();
            }
            ('\\', Some('\\')) => {
                out.push('\\');
                chars.next();
            }
            (c, _) => out.push(c),
        }
    }
    out
}

/// `^BX` quality-200 escape sequences, exactly as the firmware defines them.
pub(super) fn unescape_datamatrix(
    bytes: &[u8],
    offsets: &[usize],
    escape: u8,
) -> Result<Vec<DmElement>, ReadError> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let at = |i: usize| offsets.get(i).copied().unwrap_or_default();
    let digits = |from: usize| -> Option<u16> {
        let d = bytes.get(from..from + 3)?;
        if d.iter().all(u8::is_ascii_digit) {
            Some(d.iter().fold(0u16, |n, b| n * 10 + u16::from(b - b'0')))
        } else {
            None
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        if b != escape {
            out.push(DmElement::Byte(b));
            i += 1;
            continue;
        }
        let bad = |len: usize| ReadError::Escape {
            offset: at(i),
            sequence: String::from_utf8_lossy(&bytes[i..(i + len).min(bytes.len())]).into_owned(),
        };
        let Some(&next) = bytes.get(i + 1) else {
            return Err(bad(1));
        };
        let (element, len) = match next {
            n if n == escape => (DmElement::Byte(escape), 2),
            b'1' => (DmElement::Fnc1, 2),
            b'2' => (DmElement::Fnc2, 2),
            b'3' => (DmElement::Fnc3, 2),
            b'0' => (DmElement::Pad, 2),
            b'd' | b'D' => match digits(i + 2) {
                Some(v) if v <= 255 => (DmElement::Codeword(v as u8), 5),
                _ => return Err(bad(5)),
            },
            b'5' => match digits(i + 2) {
                Some(v) => (DmElement::Eci(v), 5),
                None => return Err(bad(5)),
            },
            // Control character shift: `_@` NUL … `_^` RS.
            c @ b'@'..=b'^' => (DmElement::Byte(c - b'@'), 2),
            _ => return Err(bad(2)),
        };
        out.push(element);
        i += len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(s: &str) -> Result<Vec<DmElement>, ReadError> {
        let offsets: Vec<usize> = (0..s.len()).collect();
        unescape_datamatrix(s.as_bytes(), &offsets, b'_')
    }

    #[test]
    fn escape_table() {
        use DmElement::*;
        let cases: &[(&str, &[DmElement])] = &[
            ("_1", &[Fnc1]),
            ("a__b", &[Byte(b'a'), Byte(b'_'), Byte(b'b')]),
            ("___1", &[Byte(b'_'), Fnc1]),
            ("_2_3_0", &[Fnc2, Fnc3, Pad]),
            ("_d065", &[Codeword(65)]),
            ("_D232", &[Codeword(232)]),
            ("_5007", &[Eci(7)]),
            ("_@_G_]", &[Byte(0), Byte(7), Byte(0x1d)]),
        ];
        for (input, expected) in cases {
            assert_eq!(elements(input).unwrap(), *expected, "{input}");
        }
        for (input, offset) in [("ab_", 2), ("_4", 0), ("x_d25", 1), ("_d256", 0), ("_x", 0)] {
            match elements(input) {
                Err(ReadError::Escape { offset: o, .. }) => assert_eq!(o, offset, "{input}"),
                other => panic!("{input}: {other:?}"),
            }
        }
    }
}
