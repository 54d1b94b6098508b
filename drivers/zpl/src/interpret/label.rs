// SPDX-License-Identifier: GPL-3.0-or-later
//! What prints: a [`Label`] and its fields as the interpreter resolved them at `^XZ`.

use super::settings::Settings;

/// Field and barcode orientation (`N`, `R`, `I`, `B`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orientation {
    /// Normal.
    #[default]
    Normal,
    /// Rotated 90° clockwise.
    Rotated,
    /// Inverted 180°.
    Inverted,
    /// Read from bottom up, 270°.
    Bottom,
}

/// Where a field sits, in dots from the label's top-left corner (label home included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Origin {
    /// Horizontal position.
    pub x: u32,
    /// Vertical position.
    pub y: u32,
    /// `^FT`: `y` is the text baseline (or a barcode's bottom) rather than the top.
    pub baseline: bool,
}

/// `^A` font selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Font {
    /// Font name (`0` is the scalable font, `A`–`Z` bitmap fonts).
    pub name: u8,
    /// Orientation.
    pub orientation: Orientation,
    /// Character height in dots.
    pub height: u32,
    /// Character width in dots; `None` keeps the font's proportions.
    pub width: Option<u32>,
}

impl Default for Font {
    /// The power-on default font A, 9 dots high.
    fn default() -> Self {
        Font {
            name: b'A',
            orientation: Orientation::Normal,
            height: 9,
            width: None,
        }
    }
}

/// Horizontal alignment inside a `^FB` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Justify {
    /// Left.
    #[default]
    Left,
    /// Centre.
    Center,
    /// Right.
    Right,
    /// Both margins (last line left).
    Justified,
}

/// `^FB` text block: the printer word-wraps the field into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextBlock {
    /// Line width in dots.
    pub width: u32,
    /// Maximum lines; further text overprints the last line.
    pub lines: u32,
    /// Extra dots between lines (may be negative).
    pub spacing: i32,
    /// Alignment.
    pub justify: Justify,
    /// Indent of the second and later lines.
    pub hanging: u32,
}

/// `^BX` parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataMatrixParams {
    /// Orientation.
    pub orientation: Orientation,
    /// Module size in dots.
    pub module: u32,
    /// Quality level; only 200 (ECC200) gets escape processing.
    pub quality: u16,
    /// Columns forced (0 = automatic).
    pub columns: u16,
    /// Rows forced (0 = automatic).
    pub rows: u16,
    /// Escape character (`_` unless given).
    pub escape: u8,
    /// Whether the escape character was given; firmware defaults differ when it was not.
    pub escape_given: bool,
    /// Aspect ratio: 1 square, 2 rectangular.
    pub aspect: u8,
}

/// One unit of DataMatrix content after escape processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmElement {
    /// A data byte.
    Byte(u8),
    /// `_1`: FNC1 (GS1 marker when first, GS separator elsewhere).
    Fnc1,
    /// `_2`: FNC2 (structured append).
    Fnc2,
    /// `_3`: FNC3 (reader programming).
    Fnc3,
    /// `_0`: pad.
    Pad,
    /// `_dNNN`: a raw codeword value.
    Codeword(u8),
    /// `_5NNN`: extended channel (code page).
    Eci(u16),
}

/// DataMatrix content as the printer would encode it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataMatrixContent {
    /// `^BX` parameters.
    pub params: DataMatrixParams,
    /// Content after `^FH` and escape processing.
    pub elements: Vec<DmElement>,
}

impl DataMatrixContent {
    /// The GS1 element string a scanner transmits after `]d2`: FNC1 first marks GS1, later FNC1s
    /// become GS. `None` if the symbol is not GS1 or holds elements with no byte meaning.
    pub fn gs1_element_string(&self) -> Option<Vec<u8>> {
        let (first, rest) = self.elements.split_first()?;
        if *first != DmElement::Fnc1 {
            return None;
        }
        rest.iter()
            .map(|e| match e {
                DmElement::Byte(b) => Some(*b),
                DmElement::Fnc1 => Some(0x1d),
                _ => None,
            })
            .collect()
    }
}

/// How `^BC` reads its data (its sixth parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code128Mode {
    /// `N`: the data with the manual's invocation codes (`>;` start C, `>8` FNC1, ...).
    Invocations,
    /// `A`: the printer chooses the subsets.
    Automatic,
    /// `D`: GS1 (UCC/EAN): FNC1 first, AI parentheses and spaces left out of the bars.
    Gs1,
}

/// `^BC` parameters (with `^BY`'s module width and height in force).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code128Params {
    /// Orientation.
    pub orientation: Orientation,
    /// Bar height in dots.
    pub height: u32,
    /// Narrowest bar in dots (`^BY`).
    pub module: u32,
    /// Print the interpretation line.
    pub interpretation: bool,
    /// Put it above the bars rather than below.
    pub above: bool,
    /// How the data is read.
    pub mode: Code128Mode,
}

/// One unit a Code 128 symbol carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum C128Element {
    /// A data byte.
    Byte(u8),
    /// FNC1: GS1-128 when first, a GS separator elsewhere.
    Fnc1,
    /// FNC2.
    Fnc2,
    /// FNC3.
    Fnc3,
    /// FNC4.
    Fnc4,
}

/// A Code 128 symbol as the printer would print it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code128Content {
    /// `^BC` parameters.
    pub params: Code128Params,
    /// The symbol's values: start, data, check, stop.
    pub codewords: Vec<u8>,
    /// What it carries, as a scanner decodes it.
    pub elements: Vec<C128Element>,
}

impl Code128Content {
    /// The GS1 element string a scanner transmits after `]C1`: FNC1 first marks GS1-128, later FNC1s
    /// become GS. `None` if the symbol is not GS1-128 or carries FNC2–4.
    pub fn gs1_element_string(&self) -> Option<Vec<u8>> {
        let (first, rest) = self.elements.split_first()?;
        if *first != C128Element::Fnc1 {
            return None;
        }
        rest.iter()
            .map(|e| match e {
                C128Element::Byte(b) => Some(*b),
                C128Element::Fnc1 => Some(0x1d),
                _ => None,
            })
            .collect()
    }

    /// The interpretation line: the data bytes, function characters left out.
    pub fn text(&self) -> String {
        self.elements
            .iter()
            .filter_map(|e| match e {
                C128Element::Byte(b) => Some(char::from(*b)),
                _ => None,
            })
            .collect()
    }

    /// Alternating bar and space widths in modules, bars first (quiet zones not included).
    pub fn widths(&self) -> Vec<u8> {
        super::code128::widths(&self.codewords)
    }
}

/// `^XG` or `^IM` graphic recall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graphic {
    /// Object name, normalised (`E:LOGO.GRF`).
    pub name: String,
    /// Whether it came from `^IM` (no scaling) rather than `^XG`.
    pub image_move: bool,
    /// Horizontal magnification.
    pub scale_x: u32,
    /// Vertical magnification.
    pub scale_y: u32,
}

/// What a field prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldContent {
    /// Text in a font.
    Text {
        /// Font in force.
        font: Font,
        /// `^FB` block, if the text wraps.
        block: Option<TextBlock>,
        /// The text after `^FH`, charset decoding and (in a block) `\&` line breaks.
        text: String,
    },
    /// A DataMatrix.
    DataMatrix(DataMatrixContent),
    /// A Code 128 barcode (GS1-128 with FNC1 first).
    Code128(Code128Content),
    /// A graphic from printer storage.
    Graphic(Graphic),
}

/// One printed field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Byte offset of the field's first command (for recalled fields: the `^XF`).
    pub offset: usize,
    /// Position.
    pub origin: Origin,
    /// `^FN` number, if the field is variable.
    pub number: Option<u16>,
    /// What it prints.
    pub content: FieldContent,
}

/// One label format as it would print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Byte offset of its `^XA`.
    pub offset: usize,
    /// Settings at `^XZ`.
    pub settings: Settings,
    /// `^PQ` quantity.
    pub quantity: u32,
    /// Stored format recalled with `^XF`, if any.
    pub recalled: Option<String>,
    /// Fields in print order.
    pub fields: Vec<Field>,
}

impl Label {
    /// The DataMatrix fields.
    pub fn datamatrices(&self) -> impl Iterator<Item = &DataMatrixContent> {
        self.fields.iter().filter_map(|f| match &f.content {
            FieldContent::DataMatrix(dm) => Some(dm),
            _ => None,
        })
    }

    /// The Code 128 fields.
    pub fn code128s(&self) -> impl Iterator<Item = &Code128Content> {
        self.fields.iter().filter_map(|f| match &f.content {
            FieldContent::Code128(c) => Some(c),
            _ => None,
        })
    }

    /// The text fields' strings, in order.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().filter_map(|f| match &f.content {
            FieldContent::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
    }
}
