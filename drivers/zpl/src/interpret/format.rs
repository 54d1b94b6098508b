// SPDX-License-Identifier: GPL-3.0-or-later
//! The format being built between `^XA` and `^XZ`: field and barcode commands (`^FO`, `^A`,
//! `^FB`, `^FH`, `^FD`, `^FN`, `^BY`, `^BX`, `^BC`, `^XG`, `^FS`, `^PQ`) collect into fields that wait for
//! `^XZ`, where their data is resolved.

use std::collections::BTreeMap;

use super::command::{Command, normalise_name};
use super::error::ReadError;
use super::job::{Event, Job, SkipReason, Warning};
use super::label::{
    Code128Mode, Code128Params, DataMatrixParams, Font, Graphic, Justify, Orientation, Origin,
    TextBlock,
};
use super::stored::Capture;

/// Field data as received, resolved only at `^XZ` when `^FN` data may have arrived.
#[derive(Debug, Clone)]
pub(super) struct RawData {
    pub(super) bytes: Vec<u8>,
    pub(super) offset: usize,
    /// Offsets are exact (false for data from a stored body: errors point at the `^XF`).
    pub(super) exact: bool,
    /// `^FH` indicator in force for this data.
    pub(super) hex: Option<u8>,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    DataMatrix(DataMatrixParams),
    Code128(Code128Params),
    Graphic,
}

/// A field under construction.
#[derive(Debug, Clone, Default)]
pub(super) struct Pending {
    pub(super) offset: Option<usize>,
    pub(super) origin: Option<Origin>,
    pub(super) font: Option<Font>,
    pub(super) kind: Option<Kind>,
    pub(super) graphic: Option<Graphic>,
    pub(super) block: Option<TextBlock>,
    pub(super) hex: Option<u8>,
    pub(super) number: Option<u16>,
    pub(super) data: Option<RawData>,
}

/// A field waiting for `^XZ`.
#[derive(Debug, Clone)]
pub(super) struct Unresolved {
    pub(super) offset: usize,
    pub(super) origin: Origin,
    pub(super) font: Font,
    pub(super) kind: Option<Kind>,
    pub(super) graphic: Option<Graphic>,
    pub(super) block: Option<TextBlock>,
    pub(super) number: Option<u16>,
    pub(super) data: Option<RawData>,
}

/// The format being built between `^XA` and `^XZ`.
#[derive(Debug)]
pub(super) struct Building {
    pub(super) offset: usize,
    pub(super) fields: Vec<Unresolved>,
    pub(super) pending: Pending,
    pub(super) quantity: u32,
    pub(super) recalled: Option<String>,
    pub(super) recall_data: BTreeMap<u16, RawData>,
    pub(super) by_height: u32,
    /// `^BY` module width in dots (narrowest bar).
    pub(super) by_width: u32,
    /// Set while a `^DF` captures the rest of the format.
    pub(super) storing: Option<Capture>,
}

impl Building {
    pub(super) fn new(offset: usize) -> Self {
        Building {
            offset,
            fields: Vec::new(),
            pending: Pending::default(),
            quantity: 1,
            recalled: None,
            recall_data: BTreeMap::new(),
            by_height: 10,
            by_width: 2,
            storing: None,
        }
    }
}

/// Where the commands being interpreted come from.
#[derive(Debug, Clone, Copy)]
pub(super) enum Source {
    /// The input stream.
    Input,
    /// A stored body recalled by the `^XF` at this offset.
    Recalled(usize),
}

impl Source {
    /// The offset problems are reported at: recalled commands point at their `^XF`.
    pub(super) fn at(self, offset: usize) -> usize {
        match self {
            Source::Input => offset,
            Source::Recalled(xf) => xf,
        }
    }
}

impl Building {
    /// Applies a field or barcode command; `false` if `cmd` is none.
    pub(super) fn field_command(
        &mut self,
        cmd: &Command<'_>,
        home: (u32, u32),
        max_fields: usize,
        source: Source,
        job: &mut Job,
    ) -> Result<bool, ReadError> {
        let p = &mut self.pending;
        match &cmd.name {
            b"FO" | b"FT" => {
                let (hx, hy) = home;
                p.origin = Some(Origin {
                    x: hx + cmd.number(0, 0, 32_000)?,
                    y: hy + cmd.number(1, 0, 32_000)?,
                    baseline: cmd.name == *b"FT",
                });
            }
            [b'A', font] if !matches!(font, b'0'..=b'9' | b'A'..=b'Z' | b'@') => {
                return Err(cmd.error(0, char::from(*font).to_string(), "a font name 0–9 or A–Z"));
            }
            [b'A', b'@'] => {
                job.events.push(Event::Warning(Warning::Skipped {
                    command: cmd.label(),
                    offset: source.at(cmd.offset),
                    reason: SkipReason::Unknown,
                }));
            }
            [b'A', font] => {
                // Zebra fonts take 10–1500 dots; the cap also bounds the renderer's glyphs.
                let height = cmd.number(1, 0, 1500)?;
                let width = cmd.number(2, 0, 1500)?;
                p.font = Some(Font {
                    name: *font,
                    orientation: cmd.orientation(0, Orientation::Normal)?,
                    height: if height == 0 { 9 } else { height },
                    width: (width != 0).then_some(width),
                });
            }
            b"FB" => {
                let spacing = match cmd.param(2) {
                    None => 0,
                    Some(v) => match v.parse::<i32>() {
                        Ok(n) if (-9999..=9999).contains(&n) => n,
                        _ => return Err(cmd.error(2, v, "-9999 to 9999 dots")),
                    },
                };
                let justify = match cmd.param(3).as_deref() {
                    None | Some("L" | "l") => Justify::Left,
                    Some("C" | "c") => Justify::Center,
                    Some("R" | "r") => Justify::Right,
                    Some("J" | "j") => Justify::Justified,
                    Some(v) => return Err(cmd.error(3, v.to_owned(), "L, C, R or J")),
                };
                p.block = Some(TextBlock {
                    width: cmd.number(0, 0, 32_000)?,
                    lines: cmd.number(1, 1, 9999)?.max(1),
                    spacing,
                    justify,
                    hanging: cmd.number(4, 0, 9999)?,
                });
            }
            b"FH" => {
                let indicator = match cmd.params.iter().find(|b| !matches!(b, b'\r' | b'\n')) {
                    None => b'_',
                    Some(c) if c.is_ascii_graphic() => *c,
                    Some(c) => {
                        return Err(cmd.error(
                            0,
                            char::from(*c).to_string(),
                            "a printable character",
                        ));
                    }
                };
                p.hex = Some(indicator);
            }
            b"FD" => {
                p.data = Some(RawData {
                    bytes: cmd.params.to_vec(),
                    offset: source.at(cmd.params_offset),
                    exact: matches!(source, Source::Input),
                    hex: p.hex,
                });
            }
            b"FN" => {
                p.number = Some(cmd.number(0, 0, 9999)? as u16);
            }
            b"BY" => {
                self.by_width = cmd.number(0, self.by_width, 10)?.max(1);
                self.by_height = cmd.number(2, self.by_height, 32_000)?.max(1);
            }
            b"BC" => {
                let yes_no = |index: usize, default: bool| -> Result<bool, ReadError> {
                    match cmd.param(index).as_deref() {
                        None => Ok(default),
                        Some("Y" | "y") => Ok(true),
                        Some("N" | "n") => Ok(false),
                        Some(v) => Err(cmd.error(index, v.to_owned(), "Y or N")),
                    }
                };
                let mode = match cmd.param(5).as_deref() {
                    None | Some("N" | "n") => Code128Mode::Invocations,
                    Some("A" | "a") => Code128Mode::Automatic,
                    Some("D" | "d") => Code128Mode::Gs1,
                    Some(v) => {
                        return Err(cmd.error(5, v.to_owned(), "N, A or D (U is not read)"));
                    }
                };
                let params = Code128Params {
                    orientation: cmd.orientation(0, Orientation::Normal)?,
                    height: cmd.number(1, self.by_height, 32_000)?.max(1),
                    module: self.by_width,
                    interpretation: yes_no(2, true)?,
                    above: yes_no(3, false)?,
                    mode,
                };
                // The UCC check digit (parameter 5) only applies to mode U.
                yes_no(4, false)?;
                self.pending.kind = Some(Kind::Code128(params));
            }
            b"BX" => {
                let quality = cmd.number(2, 0, 200)? as u16;
                if ![0, 50, 80, 100, 140, 200].contains(&quality) {
                    return Err(cmd.error(2, quality.to_string(), "0, 50, 80, 100, 140 or 200"));
                }
                let even_size = |index: usize| -> Result<u16, ReadError> {
                    let n = cmd.number(index, 0, 144)?;
                    if quality == 200 && n % 2 == 1 {
                        return Err(cmd.error(index, n.to_string(), "an even number 0–144"));
                    }
                    Ok(n as u16)
                };
                let columns = even_size(3)?;
                let rows = even_size(4)?;
                let escape = cmd.param(6).map(|v| v.as_bytes()[0]);
                if escape.is_none() {
                    job.events.push(Event::Warning(Warning::ImplicitEscape {
                        offset: source.at(cmd.offset),
                    }));
                }
                let module = match cmd.number(1, 0, 4095)? {
                    0 => (self.by_height / u32::from(rows.max(10))).max(1),
                    h => h,
                };
                let p = &mut self.pending;
                p.kind = Some(Kind::DataMatrix(DataMatrixParams {
                    orientation: cmd.orientation(0, Orientation::Normal)?,
                    module,
                    quality,
                    columns,
                    rows,
                    escape: escape.unwrap_or(b'_'),
                    escape_given: escape.is_some(),
                    aspect: cmd.number(7, 1, 2)?.max(1) as u8,
                }));
            }
            b"XG" | b"IM" => {
                let raw = cmd.param(0).unwrap_or_default();
                if raw.is_empty() {
                    return Err(cmd.error(0, raw, "an object name such as E:LOGO.GRF"));
                }
                let image_move = cmd.name == *b"IM";
                p.kind = Some(Kind::Graphic);
                p.graphic = Some(Graphic {
                    name: normalise_name(&raw),
                    image_move,
                    scale_x: if image_move {
                        1
                    } else {
                        cmd.number(1, 1, 10)?.max(1)
                    },
                    scale_y: if image_move {
                        1
                    } else {
                        cmd.number(2, 1, 10)?.max(1)
                    },
                });
            }
            b"FS" => self.end_field(max_fields, cmd, source)?,
            b"PQ" => {
                self.quantity = cmd.number(0, 1, 99_999_999)?.max(1);
            }
            b"FX" => {}
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Ends the pending field (`^FS`, or `^XZ` for a last field without one).
    pub(super) fn end_field(
        &mut self,
        max_fields: usize,
        cmd: &Command<'_>,
        source: Source,
    ) -> Result<(), ReadError> {
        let p = std::mem::take(&mut self.pending);
        let offset = p.offset.unwrap_or(cmd.offset);
        // In a recall, `^FNn^FD…^FS` with no position or kind supplies data for field n.
        if self.recalled.is_some()
            && matches!(source, Source::Input)
            && p.origin.is_none()
            && p.kind.is_none()
            && let (Some(number), Some(data)) = (p.number, p.data.clone())
        {
            self.recall_data.insert(number, data);
            return Ok(());
        }
        if p.origin.is_none() && p.kind.is_none() && p.data.is_none() && p.number.is_none() {
            return Ok(());
        }
        if self.fields.len() >= max_fields {
            return Err(ReadError::FieldLimit {
                offset: self.offset,
                limit: "fields per label",
            });
        }
        self.fields.push(Unresolved {
            offset,
            origin: p.origin.unwrap_or_default(),
            font: p.font.unwrap_or_default(),
            kind: p.kind,
            graphic: p.graphic,
            block: p.block,
            number: p.number,
            data: p.data,
        });
        Ok(())
    }
}
