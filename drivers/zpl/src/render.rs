// SPDX-License-Identifier: GPL-3.0-or-later
//! Renderer: an interpreted [`Label`] becomes the 1-bit dot image a print head would burn.
//!
//! The same function serves the virtual printer and the station's label preview, so what the
//! operator sees is what the interpreter understood from the bytes, not what the writer intended.
//!
//! - The DataMatrix is a real ECC200 symbol from the `datamatrix` crate at the forced size and
//!   module size. FNC1 in first position is encoded as FNC1 (GS1, scanners report `]d2`);
//!   later FNC1s are encoded as GS (0x1D) data bytes, because the crate writes FNC1 only first.
//!   Scanners transmit both forms as GS, so the decoded element string is the same byte for
//!   byte; a verifier that grades the separator encoding itself would see the difference.
//! - Text uses DejaVu Sans Condensed Bold (embedded; licence in `fonts/`), which covers Russian
//!   and Kazakh (ә ғ қ ң ө ұ ү һ і). Its metrics differ slightly from Zebra's font 0.
//! - `^FB` blocks wrap at spaces with this font's metrics; a word too long for a line is broken
//!   without the hyphen the firmware adds, and lines past the maximum overprint the last one.
//! - Code 128 (`^BC`) is drawn bar by bar from the codewords the interpreter resolved, `^BY`'s module
//!   width a module, no quiet zone of its own (the label leaves it, as on a printer); its
//!   interpretation line, when asked for, is the data in the label font, centred under (or above) it.
//! - Stored graphics (`^XG`, `^IM`) are not in this crate's memory and are left blank.

use crate::interpret::{DmElement, FieldContent, Justify, Label, Orientation, TextBlock};
use ab_glyph::{Font as _, FontRef, PxScale, ScaleFont as _, point};
use datamatrix::{DataMatrixBuilder, SymbolList, SymbolSize};

/// The embedded label font.
const FONT: &[u8] = include_bytes!("../fonts/DejaVuSansCondensed-Bold.ttf");

/// Largest bitmap rendered (dots); 58 × 40 mm at 600 dpi is about 1.3 million.
pub const MAX_DOTS: u64 = 50_000_000;

/// A 1-bit image: rows of `ceil(width / 8)` bytes, most significant bit first, 1 = black.
/// This is the layout of ZPL `^GF` graphics and of 1-bit PNG rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    /// Width in dots.
    pub width: u32,
    /// Height in dots.
    pub height: u32,
    /// Packed dots.
    pub dots: Vec<u8>,
}

/// Why a label cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// No `^PW`/`^LL` in force.
    #[error("label at byte {offset} has no size: send ^PW and ^LL in the format")]
    NoLabelSize {
        /// Offset of the `^XA`.
        offset: usize,
    },
    /// The image would be too large to hold.
    #[error(
        "label {width} × {height} dots exceeds the renderer's {MAX_DOTS} dots; check ^PW and ^LL"
    )]
    TooLarge {
        /// Width asked for.
        width: u32,
        /// Height asked for.
        height: u32,
    },
    /// Rotated fields are not drawn by this renderer.
    #[error(
        "field at byte {offset} uses a rotated orientation; the station only prints N (normal) fields"
    )]
    Orientation {
        /// Field offset.
        offset: usize,
    },
    /// A `^BX` setting the renderer (and the station) does not use.
    #[error(
        "DataMatrix at byte {offset}: {what}; the station prints square ECC200 (quality 200) symbols only"
    )]
    DataMatrixSetting {
        /// Field offset.
        offset: usize,
        /// What is unsupported.
        what: String,
    },
    /// The data does not fit the forced symbol size: the printer prints nothing.
    #[error(
        "DataMatrix at byte {offset}: {len} bytes do not fit a {size}×{size} symbol, so the printer would leave it blank; use a larger symbol_size"
    )]
    DoesNotFit {
        /// Field offset.
        offset: usize,
        /// Data length.
        len: usize,
        /// Symbol size.
        size: u16,
    },
    /// The embedded font failed to load (a build problem).
    #[error("embedded label font cannot be read; rebuild labelstation-zpl")]
    Font,
    /// PNG encoding failed.
    #[error("PNG encoding failed: {message}; report this as a bug")]
    Png {
        /// Encoder message.
        message: String,
    },
}

impl Bitmap {
    /// A white bitmap.
    pub fn new(width: u32, height: u32) -> Result<Bitmap, RenderError> {
        if width == 0 || height == 0 || u64::from(width) * u64::from(height) > MAX_DOTS {
            return Err(RenderError::TooLarge { width, height });
        }
        let stride = width.div_ceil(8) as usize;
        Ok(Bitmap {
            width,
            height,
            dots: vec![0; stride * height as usize],
        })
    }

    /// Bytes per row.
    pub fn stride(&self) -> usize {
        self.width.div_ceil(8) as usize
    }

    /// Whether the dot is black; outside the label is white.
    pub fn get(&self, x: u32, y: u32) -> bool {
        if x >= self.width || y >= self.height {
            return false;
        }
        let i = y as usize * self.stride() + (x / 8) as usize;
        self.dots.get(i).is_some_and(|b| b & (0x80 >> (x % 8)) != 0)
    }

    /// Blackens a dot; like the print head, anything off the label is clipped.
    pub fn set(&mut self, x: i64, y: i64) {
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return;
        }
        let stride = self.stride();
        // Both are within u32 range after the check above.
        let (x, y) = (x as usize, y as usize);
        if let Some(b) = self.dots.get_mut(y * stride + x / 8) {
            *b |= 0x80 >> (x % 8);
        }
    }

    /// Blackens a rectangle, clipped first so a huge module costs no more than the label.
    pub fn fill(&mut self, x: i64, y: i64, w: u32, h: u32) {
        let x_end = (x + i64::from(w)).min(i64::from(self.width));
        let y_end = (y + i64::from(h)).min(i64::from(self.height));
        for yy in y.max(0)..y_end {
            for xx in x.max(0)..x_end {
                self.set(xx, yy);
            }
        }
    }

    /// Number of black dots (for tests and head-wear statistics).
    pub fn black_dots(&self) -> usize {
        (0..self.height)
            .flat_map(|y| (0..self.width).map(move |x| (x, y)))
            .filter(|(x, y)| self.get(*x, *y))
            .count()
    }

    /// 8-bit grey, 0 black and 255 white, row by row (what barcode decoders take).
    pub fn to_luma(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.width as usize * self.height as usize);
        for y in 0..self.height {
            for x in 0..self.width {
                out.push(if self.get(x, y) { 0 } else { 255 });
            }
        }
        out
    }

    /// A 1-bit greyscale PNG for previews and test artefacts. Fallible only because the
    /// encoder's API is; writing to memory does not fail for a valid bitmap.
    pub fn to_png(&self) -> Result<Vec<u8>, RenderError> {
        let png_error = |e: png::EncodingError| RenderError::Png {
            message: e.to_string(),
        };
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let mut writer = encoder.write_header().map_err(png_error)?;
        // PNG greyscale 1 is white; ours is black.
        let inverted: Vec<u8> = self.dots.iter().map(|b| !b).collect();
        writer.write_image_data(&inverted).map_err(png_error)?;
        writer.finish().map_err(png_error)?;
        Ok(out)
    }
}

/// Renders a label at its own resolution (`^PW` × `^LL` dots).
pub fn render(label: &Label) -> Result<Bitmap, RenderError> {
    let (Some(width), Some(height)) = (label.settings.width, label.settings.length) else {
        return Err(RenderError::NoLabelSize {
            offset: label.offset,
        });
    };
    let mut bitmap = Bitmap::new(width, height)?;
    let font = FontRef::try_from_slice(FONT).map_err(|_| RenderError::Font)?;
    for field in &label.fields {
        let (x, y) = (i64::from(field.origin.x), i64::from(field.origin.y));
        match &field.content {
            FieldContent::Text {
                font: f,
                block,
                text,
            } => {
                if f.orientation != Orientation::Normal {
                    return Err(RenderError::Orientation {
                        offset: field.offset,
                    });
                }
                let h = f.height as f32;
                let scale = PxScale {
                    x: f.width.map_or(h, |w| w as f32),
                    y: h,
                };
                let scaled = font.as_scaled(scale);
                let baseline = if field.origin.baseline {
                    y as f32
                } else {
                    y as f32 + scaled.ascent()
                };
                match block {
                    None => draw_text(&mut bitmap, &font, scale, x as f32, baseline, text),
                    Some(block) => {
                        let lines = wrap(&font, scale, text, block);
                        let step = h + block.spacing as f32;
                        let last = block.lines.saturating_sub(1) as usize;
                        for (i, line) in lines.iter().enumerate() {
                            // Lines past the block's maximum overprint the last line.
                            let row = i.min(last);
                            let indent = if i > 0 { block.hanging } else { 0 };
                            let free = block.width.saturating_sub(indent) as f32
                                - text_width(&font, scale, line);
                            let shift = match block.justify {
                                Justify::Left | Justify::Justified => 0.0,
                                Justify::Center => free.max(0.0) / 2.0,
                                Justify::Right => free.max(0.0),
                            };
                            let left = x as f32 + indent as f32 + shift;
                            let base = baseline + step * row as f32;
                            draw_text(&mut bitmap, &font, scale, left, base, line);
                        }
                    }
                }
            }
            FieldContent::DataMatrix(dm) => {
                let p = &dm.params;
                let unsupported = |what: String| RenderError::DataMatrixSetting {
                    offset: field.offset,
                    what,
                };
                if p.orientation != Orientation::Normal {
                    return Err(RenderError::Orientation {
                        offset: field.offset,
                    });
                }
                if p.quality != 200 {
                    return Err(unsupported(format!("quality {}", p.quality)));
                }
                if p.columns != p.rows || p.aspect != 1 {
                    return Err(unsupported(format!(
                        "rectangular {}×{} symbol",
                        p.columns, p.rows
                    )));
                }
                let symbols = if p.columns == 0 {
                    SymbolList::default().enforce_square()
                } else {
                    let size = square_size(p.columns)
                        .ok_or_else(|| unsupported(format!("size {} is not ECC200", p.columns)))?;
                    SymbolList::from(size)
                };
                let (gs1, bytes) = symbol_bytes(&dm.elements).ok_or_else(|| {
                    unsupported("FNC2/FNC3, pad, codeword or ECI escapes".to_owned())
                })?;
                // Macros off: datamatrix 0.3.3 panics (or drops two bytes) on non-GS1 data that
                // starts with the `[)>RS06GS` macro header but lacks the trailer (found by fuzzing).
                let builder = DataMatrixBuilder::new()
                    .with_symbol_list(symbols)
                    .with_fnc1_start(gs1)
                    .with_macros(false);
                // The renderer also draws untrusted ZPL (virtual printer), so a panic inside the
                // encoder becomes an error rather than taking the station down.
                let encoded =
                    std::panic::catch_unwind(|| builder.encode(&bytes)).map_err(|_| {
                        unsupported("data the DataMatrix encoder cannot handle".to_owned())
                    })?;
                let symbol = encoded.map_err(|_| RenderError::DoesNotFit {
                    offset: field.offset,
                    len: bytes.len(),
                    size: p.columns,
                })?;
                let modules = symbol.bitmap();
                let m = p.module;
                let top = if field.origin.baseline {
                    y - i64::from(m) * modules.height() as i64
                } else {
                    y
                };
                for (mx, my) in modules.pixels() {
                    bitmap.fill(
                        x + i64::from(m) * mx as i64,
                        top + i64::from(m) * my as i64,
                        m,
                        m,
                    );
                }
            }
            FieldContent::Code128(c) => {
                let p = &c.params;
                if p.orientation != Orientation::Normal {
                    return Err(RenderError::Orientation {
                        offset: field.offset,
                    });
                }
                let h = i64::from(p.height);
                let top = if field.origin.baseline { y - h } else { y };
                let text_h = (p.module * 10).max(18);
                let bars_top = if p.interpretation && p.above {
                    top + i64::from(text_h) + 4
                } else {
                    top
                };
                let mut caret = x;
                for (i, w) in c.widths().into_iter().enumerate() {
                    let dots = u32::from(w) * p.module;
                    if i % 2 == 0 {
                        bitmap.fill(caret, bars_top, dots, p.height);
                    }
                    caret += i64::from(dots);
                }
                if p.interpretation {
                    let text = c.text();
                    let scale = PxScale::from(text_h as f32);
                    let width = text_width(&font, scale, &text);
                    let left = x as f32 + ((caret - x) as f32 - width).max(0.0) / 2.0;
                    let base = if p.above {
                        top as f32 + text_h as f32
                    } else {
                        (bars_top + h) as f32 + 4.0 + text_h as f32
                    };
                    draw_text(&mut bitmap, &font, scale, left, base, &text);
                }
            }
            FieldContent::Graphic(_) => {}
        }
    }
    Ok(bitmap)
}

/// FNC1 first → GS1 flag; later FNC1 → GS byte; `None` for elements with no byte form.
fn symbol_bytes(elements: &[DmElement]) -> Option<(bool, Vec<u8>)> {
    let gs1 = elements.first() == Some(&DmElement::Fnc1);
    let rest = if gs1 { &elements[1..] } else { elements };
    let bytes = rest
        .iter()
        .map(|e| match e {
            DmElement::Byte(b) => Some(*b),
            DmElement::Fnc1 => Some(0x1d),
            _ => None,
        })
        .collect::<Option<Vec<u8>>>()?;
    Some((gs1, bytes))
}

fn square_size(n: u16) -> Option<SymbolSize> {
    use SymbolSize::*;
    Some(match n {
        10 => Square10,
        12 => Square12,
        14 => Square14,
        16 => Square16,
        18 => Square18,
        20 => Square20,
        22 => Square22,
        24 => Square24,
        26 => Square26,
        32 => Square32,
        36 => Square36,
        40 => Square40,
        44 => Square44,
        48 => Square48,
        52 => Square52,
        64 => Square64,
        72 => Square72,
        80 => Square80,
        88 => Square88,
        96 => Square96,
        104 => Square104,
        120 => Square120,
        132 => Square132,
        144 => Square144,
        _ => return None,
    })
}

/// Advance width of a line in dots.
fn text_width(font: &FontRef<'_>, scale: PxScale, text: &str) -> f32 {
    let scaled = font.as_scaled(scale);
    let mut width = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = previous {
            width += scaled.kern(p, id);
        }
        width += scaled.h_advance(id);
        previous = Some(id);
    }
    width
}

/// Word-wraps like `^FB`: at spaces, breaking a word only when it alone is too wide.
/// Every `\n` (from `\&`) starts a new line.
fn wrap(font: &FontRef<'_>, scale: PxScale, text: &str, block: &TextBlock) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let available = |lines: &Vec<String>| {
        let indent = if lines.is_empty() { 0 } else { block.hanging };
        block.width.saturating_sub(indent) as f32
    };
    let fits = |s: &str, lines: &Vec<String>| text_width(font, scale, s) <= available(lines);
    for paragraph in text.split('\n') {
        let mut current = String::new();
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            let candidate = if current.is_empty() {
                word.to_owned()
            } else {
                format!("{current} {word}")
            };
            if fits(&candidate, &lines) {
                current = candidate;
                continue;
            }
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            // The word alone: break it where it overflows (the firmware adds a hyphen).
            for c in word.chars() {
                current.push(c);
                if !fits(&current, &lines) && current.chars().count() > 1 {
                    current.pop();
                    lines.push(std::mem::take(&mut current));
                    current.push(c);
                }
            }
        }
        lines.push(current);
    }
    lines
}

/// Draws one line; dots at least half covered turn black, as a thermal head would.
fn draw_text(
    bitmap: &mut Bitmap,
    font: &FontRef<'_>,
    scale: PxScale,
    x: f32,
    baseline: f32,
    text: &str,
) {
    let scaled = font.as_scaled(scale);
    let mut caret = x;
    let mut previous = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = previous {
            caret += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, point(caret, baseline));
        caret += scaled.h_advance(id);
        previous = Some(id);
        if let Some(outlined) = font.outline_glyph(glyph) {
            let bounds = outlined.px_bounds();
            // Pixel bounds are whole numbers.
            let (bx, by) = (bounds.min.x as i64, bounds.min.y as i64);
            outlined.draw(|gx, gy, coverage| {
                if coverage >= 0.5 {
                    bitmap.set(bx + i64::from(gx), by + i64::from(gy));
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interpret::Interpreter;

    fn label(zpl: &str) -> Label {
        let job = Interpreter::new().read(zpl.as_bytes()).unwrap();
        job.labels().next().unwrap().clone()
    }

    #[test]
    fn font_covers_kazakh_and_russian() {
        let font = FontRef::try_from_slice(FONT).unwrap();
        for c in "әғқңөұүһіӘҒҚҢӨҰҮҺІабвгдеёжзийклмнопрстуфхцчшщъыьэюяЁ№".chars()
        {
            assert_ne!(font.glyph_id(c).0, 0, "no glyph for {c}");
        }
    }

    #[test]
    fn bitmap_packing_and_png() {
        let mut big = Bitmap::new(8, 8).unwrap();
        big.fill(-1_000_000, -5, u32::MAX, u32::MAX);
        assert_eq!(big.black_dots(), 64);
        let mut b = Bitmap::new(10, 2).unwrap();
        b.set(0, 0);
        b.set(9, 1);
        b.set(10, 1);
        b.set(-1, 0);
        assert_eq!(b.dots, [0x80, 0x00, 0x00, 0x40]);
        assert!(b.get(9, 1) && !b.get(8, 1) && !b.get(100, 100));
        assert_eq!(b.black_dots(), 2);
        let png = b.to_png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert!(matches!(
            Bitmap::new(0, 5),
            Err(RenderError::TooLarge { .. })
        ));
        assert!(matches!(
            Bitmap::new(32_000, 32_000),
            Err(RenderError::TooLarge { .. })
        ));
    }

    #[test]
    fn symbol_is_forced_size_and_module() {
        let l = label(
            "^XA^PW200^LL200^FO10,10^BXN,3,200,44,44,,_^FD_10104600000000015211\x1d93abcd^FS^XZ",
        );
        let b = render(&l).unwrap();
        // ECC200 finder: solid left column and bottom row, 44 modules of 3 dots.
        for i in 0..132 {
            assert!(b.get(10, 10 + i), "left edge at {i}");
            assert!(b.get(10 + i, 10 + 131), "bottom edge at {i}");
        }
        assert!(!b.get(10 + 132, 10 + 131));
        assert!(!b.get(9, 50));
    }

    #[test]
    fn text_is_drawn_near_its_origin() {
        let l = label("^XA^CI28^PW400^LL100^FO20,30^A0N,40^FDҚазақ^FS^XZ");
        let b = render(&l).unwrap();
        let black: Vec<(u32, u32)> = (0..100)
            .flat_map(|y| (0..400).map(move |x| (x, y)))
            .filter(|(x, y)| b.get(*x, *y))
            .collect();
        assert!(black.len() > 300);
        assert!(
            black.iter().all(|(x, y)| *x >= 20 && *y >= 30 && *y < 75),
            "{:?}",
            black.first()
        );
    }

    #[test]
    fn block_text_wraps_inside_its_width() {
        let l = label(
            "^XA^CI28^PW600^LL300^FO10,10^A0N,30^FB200,3,0,L,0^FDКроссовки мужские\\&Ерлер кроссовкалары^FS^XZ",
        );
        let b = render(&l).unwrap();
        let black: Vec<(u32, u32)> = (0..300)
            .flat_map(|y| (0..600).map(move |x| (x, y)))
            .filter(|(x, y)| b.get(*x, *y))
            .collect();
        let max_x = black.iter().map(|(x, _)| *x).max().unwrap();
        let max_y = black.iter().map(|(_, y)| *y).max().unwrap();
        assert!(max_x < 210, "text runs to x = {max_x}");
        // Three lines of 30 dots at most, starting at y = 10.
        assert!(max_y > 70 && max_y < 110, "text ends at y = {max_y}");

        let font = FontRef::try_from_slice(FONT).unwrap();
        let block = TextBlock {
            width: 200,
            lines: 3,
            spacing: 0,
            justify: Justify::Left,
            hanging: 0,
        };
        let scale = PxScale::from(30.0);
        let lines = wrap(
            &font,
            scale,
            "Кроссовки мужские\nЕрлер кроссовкалары",
            &block,
        );
        assert_eq!(lines[0], "Кроссовки");
        assert!(
            lines.iter().all(|l| text_width(&font, scale, l) <= 200.0),
            "{lines:?}"
        );
        let long = wrap(&font, scale, "ааааааааааааааааааааааааа", &block);
        assert!(long.len() > 1, "{long:?}");
    }

    #[test]
    fn macro_header_without_trailer_renders() {
        let l = label("^XA^PW300^LL300^FO10,10^BXN,3,200,,,,_^FD[)>\x1e06\x1d^FS^XZ");
        let b = render(&l).unwrap();
        // The finder's solid left edge gives the symbol size in modules of 3 dots.
        let side = (0..300).take_while(|i| b.get(10, 10 + i)).count() as u32;
        let n = side / 3;
        let grid: Vec<bool> = (0..n)
            .flat_map(|y| (0..n).map(move |x| (x, y)))
            .map(|(x, y)| b.get(10 + 3 * x + 1, 10 + 3 * y + 1))
            .collect();
        let bytes = datamatrix::DataMatrix::decode(&grid, n as usize).unwrap();
        assert_eq!(bytes, b"[)>\x1e06\x1d");
    }

    #[test]
    fn render_errors() {
        let l = label("^XA^FO1,1^A0N,20^FDx^FS^XZ");
        assert!(matches!(
            render(&l),
            Err(RenderError::NoLabelSize { offset: 0 })
        ));
        let l = label("^XA^PW100^LL100^FO1,1^A0R,20^FDx^FS^XZ");
        assert!(matches!(render(&l), Err(RenderError::Orientation { .. })));
        let l = label("^XA^PW300^LL300^FO1,1^BXN,2,200,10,10,,_^FD_10104600000000015^FS^XZ");
        assert!(matches!(
            render(&l),
            Err(RenderError::DoesNotFit { size: 10, .. })
        ));
        let l = label("^XA^PW300^LL300^FO1,1^BXN,2,200,,,,_^FD_2ab^FS^XZ");
        assert!(matches!(
            render(&l),
            Err(RenderError::DataMatrixSetting { .. })
        ));
    }
}
