// SPDX-License-Identifier: GPL-3.0-or-later
//! ZPL reader: the subset the writer emits plus what real job streams carry, interpreted the
//! way the firmware does, so the virtual printer and the tests see what a Zebra would print.
//!
//! Order of processing per field, as in the firmware: `^FH` hex bytes first, then (for `^BX`
//! quality 200) the DataMatrix escape sequences. [`Printer`] keeps `^DF`-stored formats between
//! reads so `^XF` + `^FN` recall them. Memory is bounded by [`Limits`]: field data is cut at
//! 3072 bytes as Zebra does, stored formats and fields are capped.

use std::collections::BTreeMap;
use std::fmt;

/// Bounds that keep a hostile or broken stream from exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Field data beyond this is dropped (Zebra truncates at 3072 bytes).
    pub max_field_data: usize,
    /// Stored formats kept at once.
    pub max_stored_formats: usize,
    /// Bytes per stored format body.
    pub max_stored_format_bytes: usize,
    /// Fields on one label (recalled formats included).
    pub max_fields_per_label: usize,
    /// Fields over one [`Printer::read`] call (recall multiplies fields per input byte).
    pub max_fields_per_read: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_field_data: 3072,
            max_stored_formats: 64,
            max_stored_format_bytes: 64 * 1024,
            max_fields_per_label: 1024,
            max_fields_per_read: 100_000,
        }
    }
}

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

/// Settings that persist in the printer between formats until power-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings {
    /// `^CI` character set (28 = UTF-8).
    pub charset: u16,
    /// `^PW` print width in dots.
    pub width: Option<u32>,
    /// `^LL` label length in dots.
    pub length: Option<u32>,
    /// `^LH` label home.
    pub home: (u32, u32),
    /// `^PR` print speed (first parameter, ips).
    pub print_speed: Option<u32>,
    /// `^MD` darkness adjustment in tenths.
    pub darkness_tenths: Option<i32>,
    /// `^JZ` reprint after error: whether a label cut short by paper out, ribbon out or an open
    /// head is printed again once that is fixed. `None` until a `^JZ` arrives, which means the
    /// firmware default: yes.
    pub reprint_after_error: Option<bool>,
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

    /// The text fields' strings, in order.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().filter_map(|f| match &f.content {
            FieldContent::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
    }
}

/// `~` commands, which the printer acts on as soon as it receives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Immediate {
    /// `~HS` host status.
    HostStatus,
    /// `~HQ` host query, e.g. `ES`.
    HostQuery(String),
    /// `~HI` host identification.
    HostIdentification,
    /// `~JA` cancel all.
    CancelAll,
    /// `~PS` print start (resume).
    PrintStart,
    /// `~PP` programmable pause.
    Pause,
}

/// Why a command was not acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Not in the supported subset.
    Unknown,
    /// A field command outside `^XA … ^XZ`.
    OutsideFormat,
    /// `^XF` inside a recalled format (recursion is not followed).
    NestedRecall,
}

/// Something a real printer would survive but an operator may want to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A command was skipped.
    Skipped {
        /// The command, e.g. `^GB`.
        command: String,
        /// Byte offset.
        offset: usize,
        /// Why.
        reason: SkipReason,
    },
    /// Field data beyond the limit was dropped.
    Truncated {
        /// Offset of the field data.
        offset: usize,
        /// Bytes before truncation.
        len: usize,
    },
    /// `^BX` without an escape character: `_` assumed, but old firmware defaults to `~`.
    ImplicitEscape {
        /// Offset of the `^BX`.
        offset: usize,
    },
    /// `^XF` names a format the printer does not hold.
    UnknownFormat {
        /// Normalised name.
        name: String,
        /// Offset of the `^XF`.
        offset: usize,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Skipped {
                command,
                offset,
                reason,
            } => {
                let why = match reason {
                    SkipReason::Unknown => "not supported here",
                    SkipReason::OutsideFormat => "outside ^XA…^XZ",
                    SkipReason::NestedRecall => "^XF inside a recalled format",
                };
                write!(f, "{command} at byte {offset} skipped: {why}")
            }
            Warning::Truncated { offset, len } => write!(
                f,
                "field data at byte {offset} is {len} bytes; the printer keeps only the first 3072"
            ),
            Warning::ImplicitEscape { offset } => write!(
                f,
                "^BX at byte {offset} has no escape character; firmware defaults differ, give `_` explicitly"
            ),
            Warning::UnknownFormat { name, offset } => write!(
                f,
                "^XF at byte {offset} recalls {name}, which is not stored; send the ^DF format first"
            ),
        }
    }
}

/// One thing that happened while reading, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A label to print.
    Label(Label),
    /// A format stored with `^DF`.
    Stored {
        /// Normalised name.
        name: String,
        /// Offset of the `^DF`.
        offset: usize,
    },
    /// An immediate `~` command.
    Immediate {
        /// Which.
        command: Immediate,
        /// Byte offset.
        offset: usize,
    },
    /// A problem the printer would survive.
    Warning(Warning),
}

/// Everything in one stream, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Job {
    /// Events in stream order.
    pub events: Vec<Event>,
}

impl Job {
    /// The labels, in order.
    pub fn labels(&self) -> impl Iterator<Item = &Label> {
        self.events.iter().filter_map(|e| match e {
            Event::Label(l) => Some(l),
            _ => None,
        })
    }

    /// The warnings, in order.
    pub fn warnings(&self) -> impl Iterator<Item = &Warning> {
        self.events.iter().filter_map(|e| match e {
            Event::Warning(w) => Some(w),
            _ => None,
        })
    }
}

/// Malformed input. Offsets are bytes into the input given to [`Printer::read`]; problems in a
/// recalled format's body point at the `^XF` that recalled it.
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

/// A stored format's body with the `~` commands already acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StoredFormat {
    body: Vec<u8>,
}

/// Printer memory: persistent settings and stored formats, across reads.
#[derive(Debug, Clone, Default)]
pub struct Printer {
    limits: Limits,
    settings: Settings,
    stored: BTreeMap<String, StoredFormat>,
}

/// A tokenised command.
#[derive(Debug, Clone, Copy)]
struct Command<'a> {
    offset: usize,
    prefix: u8,
    name: [u8; 2],
    /// From after the name to the next prefix.
    params: &'a [u8],
    params_offset: usize,
}

impl Command<'_> {
    fn is(&self, prefix: u8, name: &[u8; 2]) -> bool {
        self.prefix == prefix && &self.name == name
    }

    fn label(&self) -> String {
        let mut s = String::with_capacity(3);
        s.push(char::from(self.prefix));
        s.push(char::from(self.name[0]));
        s.push(char::from(self.name[1]));
        s
    }

    /// Comma-separated parameters, CR/LF removed, surrounding spaces trimmed.
    fn param(&self, index: usize) -> Option<String> {
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

    fn error(&self, index: usize, value: String, expected: &'static str) -> ReadError {
        ReadError::Parameter {
            command: self.label(),
            offset: self.offset,
            index: index + 1,
            value,
            expected,
        }
    }

    fn number(&self, index: usize, default: u32, max: u32) -> Result<u32, ReadError> {
        match self.param(index) {
            None => Ok(default),
            Some(v) => match v.parse::<u32>() {
                Ok(n) if n <= max => Ok(n),
                _ => Err(self.error(index, v, "a whole number in range")),
            },
        }
    }

    fn orientation(&self, index: usize, default: Orientation) -> Result<Orientation, ReadError> {
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
fn next_command<'a>(input: &'a [u8], pos: &mut usize) -> Result<Option<Command<'a>>, ReadError> {
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

/// Stored-format names as the printer files them: upper case, `R:` and `.ZPL` by default.
fn normalise_name(raw: &str) -> String {
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

/// Field data as received, resolved only at `^XZ` when `^FN` data may have arrived.
#[derive(Debug, Clone)]
struct RawData {
    bytes: Vec<u8>,
    offset: usize,
    /// Offsets are exact (false for data from a stored body: errors point at the `^XF`).
    exact: bool,
    /// `^FH` indicator in force for this data.
    hex: Option<u8>,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    DataMatrix(DataMatrixParams),
    Graphic,
}

/// A field under construction.
#[derive(Debug, Clone, Default)]
struct Pending {
    offset: Option<usize>,
    origin: Option<Origin>,
    font: Option<Font>,
    kind: Option<Kind>,
    graphic: Option<Graphic>,
    block: Option<TextBlock>,
    hex: Option<u8>,
    number: Option<u16>,
    data: Option<RawData>,
}

/// A field waiting for `^XZ`.
#[derive(Debug, Clone)]
struct Unresolved {
    offset: usize,
    origin: Origin,
    font: Font,
    kind: Option<Kind>,
    graphic: Option<Graphic>,
    block: Option<TextBlock>,
    number: Option<u16>,
    data: Option<RawData>,
}

/// The format being built between `^XA` and `^XZ`.
#[derive(Debug)]
struct Building {
    offset: usize,
    fields: Vec<Unresolved>,
    pending: Pending,
    quantity: u32,
    recalled: Option<String>,
    recall_data: BTreeMap<u16, RawData>,
    by_height: u32,
    /// Set while a `^DF` captures the rest of the format.
    storing: Option<(String, usize, Vec<u8>)>,
}

impl Building {
    fn new(offset: usize) -> Self {
        Building {
            offset,
            fields: Vec::new(),
            pending: Pending::default(),
            quantity: 1,
            recalled: None,
            recall_data: BTreeMap::new(),
            by_height: 10,
            storing: None,
        }
    }
}

/// Where the commands being interpreted come from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// The input stream.
    Input,
    /// A stored body recalled by the `^XF` at this offset.
    Recalled(usize),
}

impl Printer {
    /// A powered-on printer with default limits and empty memory.
    pub fn new() -> Self {
        Printer::default()
    }

    /// A printer with other limits.
    pub fn with_limits(limits: Limits) -> Self {
        Printer {
            limits,
            ..Printer::default()
        }
    }

    /// Names of stored formats.
    pub fn stored_formats(&self) -> impl Iterator<Item = &str> {
        self.stored.keys().map(String::as_str)
    }

    /// Settings in force.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// Power-off: DRAM (`R:`) formats and volatile settings are lost, flash formats stay.
    pub fn power_cycle(&mut self) {
        self.stored.retain(|name, _| !name.starts_with("R:"));
        self.settings = Settings::default();
    }

    /// Reads one complete stream. Stored formats persist into later reads; a failed read
    /// leaves formats stored before the error in place, as a printer would.
    pub fn read(&mut self, input: &[u8]) -> Result<Job, ReadError> {
        let mut job = Job::default();
        let mut building: Option<Building> = None;
        let mut fields_this_read = 0usize;
        let mut pos = 0;
        while let Some(cmd) = next_command(input, &mut pos)? {
            if cmd.prefix == b'~' {
                Self::immediate(&cmd, &mut job);
                continue;
            }
            if cmd.is(b'^', b"XA") {
                if let Some(open) = &building {
                    return Err(ReadError::Nested {
                        offset: cmd.offset,
                        open: open.offset,
                    });
                }
                building = Some(Building::new(cmd.offset));
                continue;
            }
            let Some(b) = building.as_mut() else {
                self.outside_format(&cmd, &mut job)?;
                continue;
            };
            if let Some((name, df_offset, body)) = b.storing.as_mut() {
                if cmd.is(b'^', b"XZ") {
                    let (name, df_offset, body) = (name.clone(), *df_offset, std::mem::take(body));
                    self.store(name.clone(), df_offset, body)?;
                    job.events.push(Event::Stored {
                        name,
                        offset: df_offset,
                    });
                    building = None;
                } else {
                    if body.len() + 3 + cmd.params.len() > self.limits.max_stored_format_bytes {
                        return Err(ReadError::StoredLimit {
                            offset: *df_offset,
                            limit: "bytes per stored format",
                        });
                    }
                    body.push(cmd.prefix);
                    body.extend_from_slice(&cmd.name);
                    body.extend_from_slice(cmd.params);
                }
                continue;
            }
            if cmd.is(b'^', b"XZ") {
                if let Some(mut b) = building.take() {
                    // A last field without ^FS still prints.
                    let pending = std::mem::take(&mut b.pending);
                    self.end_field(pending, &mut b, &cmd, Source::Input)?;
                    fields_this_read += b.fields.len();
                    if fields_this_read > self.limits.max_fields_per_read {
                        return Err(ReadError::FieldLimit {
                            offset: b.offset,
                            limit: "fields per read",
                        });
                    }
                    let label = self.finish(b, &mut job)?;
                    job.events.push(Event::Label(label));
                }
                continue;
            }
            self.format_command(&cmd, b, Source::Input, &mut job)?;
        }
        if let Some(b) = building {
            return Err(ReadError::Unterminated { offset: b.offset });
        }
        Ok(job)
    }

    fn immediate(cmd: &Command<'_>, job: &mut Job) {
        let command = match &cmd.name {
            b"HS" => Some(Immediate::HostStatus),
            b"HQ" => Some(Immediate::HostQuery(
                String::from_utf8_lossy(cmd.params)
                    .trim()
                    .to_ascii_uppercase(),
            )),
            b"HI" => Some(Immediate::HostIdentification),
            b"JA" => Some(Immediate::CancelAll),
            b"PS" => Some(Immediate::PrintStart),
            b"PP" => Some(Immediate::Pause),
            _ => None,
        };
        job.events.push(match command {
            Some(command) => Event::Immediate {
                command,
                offset: cmd.offset,
            },
            None => Event::Warning(Warning::Skipped {
                command: cmd.label(),
                offset: cmd.offset,
                reason: SkipReason::Unknown,
            }),
        });
    }

    fn outside_format(&mut self, cmd: &Command<'_>, job: &mut Job) -> Result<(), ReadError> {
        if !self.setting(cmd)? {
            let reason = if matches!(&cmd.name, b"FD" | b"FS" | b"FO" | b"FT" | b"XZ" | b"FX") {
                SkipReason::OutsideFormat
            } else {
                SkipReason::Unknown
            };
            job.events.push(Event::Warning(Warning::Skipped {
                command: cmd.label(),
                offset: cmd.offset,
                reason,
            }));
        }
        Ok(())
    }

    /// Printer-wide settings; `true` if `cmd` was one.
    fn setting(&mut self, cmd: &Command<'_>) -> Result<bool, ReadError> {
        let s = &mut self.settings;
        match &cmd.name {
            b"CI" => s.charset = cmd.number(0, 0, 36)? as u16,
            b"PW" => s.width = Some(cmd.number(0, 0, 32_000)?.max(2)),
            b"LL" => s.length = Some(cmd.number(0, 0, 32_000)?.max(1)),
            b"LH" => {
                s.home = (
                    cmd.number(0, s.home.0, 9999)?,
                    cmd.number(1, s.home.1, 9999)?,
                )
            }
            b"PR" => {
                let letter = |v: &str| match v {
                    "A" => Some(2),
                    "B" => Some(3),
                    "C" => Some(4),
                    "D" => Some(6),
                    "E" => Some(8),
                    _ => None,
                };
                s.print_speed = match cmd.param(0) {
                    None => s.print_speed,
                    Some(v) => match letter(&v) {
                        Some(ips) => Some(ips),
                        None => Some(cmd.number(0, 0, 30)?),
                    },
                };
            }
            b"JZ" => {
                s.reprint_after_error = match cmd.param(0).as_deref() {
                    None | Some("Y" | "y") => Some(true),
                    Some("N" | "n") => Some(false),
                    Some(v) => return Err(cmd.error(0, v.to_owned(), "Y or N")),
                };
            }
            b"MD" => {
                if let Some(v) = cmd.param(0) {
                    match v.parse::<f64>() {
                        Ok(d) if (-30.0..=30.0).contains(&d) => {
                            // Range-checked above, so the cast cannot overflow.
                            s.darkness_tenths = Some((d * 10.0).round() as i32);
                        }
                        _ => return Err(cmd.error(0, v, "darkness -30 to 30")),
                    }
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn store(&mut self, name: String, offset: usize, body: Vec<u8>) -> Result<(), ReadError> {
        if !self.stored.contains_key(&name) && self.stored.len() >= self.limits.max_stored_formats {
            return Err(ReadError::StoredLimit {
                offset,
                limit: "number of stored formats",
            });
        }
        self.stored.insert(name, StoredFormat { body });
        Ok(())
    }

    /// Applies one command inside a format.
    fn format_command(
        &mut self,
        cmd: &Command<'_>,
        b: &mut Building,
        source: Source,
        job: &mut Job,
    ) -> Result<(), ReadError> {
        if self.setting(cmd)? {
            return Ok(());
        }
        let at = |offset: usize| match source {
            Source::Input => offset,
            Source::Recalled(xf) => xf,
        };
        let p = &mut b.pending;
        p.offset.get_or_insert(at(cmd.offset));
        match &cmd.name {
            b"FO" | b"FT" => {
                let (hx, hy) = self.settings.home;
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
                    offset: at(cmd.offset),
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
                    offset: at(cmd.params_offset),
                    exact: matches!(source, Source::Input),
                    hex: p.hex,
                });
            }
            b"FN" => {
                p.number = Some(cmd.number(0, 0, 9999)? as u16);
            }
            b"BY" => {
                b.by_height = cmd.number(2, b.by_height, 32_000)?.max(1);
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
                        offset: at(cmd.offset),
                    }));
                }
                let module = match cmd.number(1, 0, 4095)? {
                    0 => (b.by_height / u32::from(rows.max(10))).max(1),
                    h => h,
                };
                let p = &mut b.pending;
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
            b"FS" => {
                let p = std::mem::take(&mut b.pending);
                self.end_field(p, b, cmd, source)?;
            }
            b"PQ" => {
                b.quantity = cmd.number(0, 1, 99_999_999)?.max(1);
            }
            b"FX" => {}
            b"DF" => {
                if let Source::Recalled(xf) = source {
                    job.events.push(Event::Warning(Warning::Skipped {
                        command: cmd.label(),
                        offset: xf,
                        reason: SkipReason::NestedRecall,
                    }));
                } else {
                    let raw = cmd.param(0).unwrap_or_default();
                    if raw.is_empty() {
                        return Err(cmd.error(0, raw, "a format name such as R:LS.ZPL"));
                    }
                    b.storing = Some((normalise_name(&raw), cmd.offset, Vec::new()));
                }
            }
            b"XF" => match source {
                Source::Recalled(xf) => {
                    job.events.push(Event::Warning(Warning::Skipped {
                        command: cmd.label(),
                        offset: xf,
                        reason: SkipReason::NestedRecall,
                    }));
                }
                Source::Input => {
                    let name = normalise_name(&cmd.param(0).unwrap_or_default());
                    match self.stored.get(&name) {
                        None => job.events.push(Event::Warning(Warning::UnknownFormat {
                            name,
                            offset: cmd.offset,
                        })),
                        Some(stored) => {
                            let body = stored.body.clone();
                            b.recalled = Some(name);
                            b.pending = Pending::default();
                            let mut pos = 0;
                            while let Some(inner) = next_command(&body, &mut pos)? {
                                if inner.prefix == b'^' {
                                    self.format_command(
                                        &inner,
                                        b,
                                        Source::Recalled(cmd.offset),
                                        job,
                                    )?;
                                }
                            }
                            b.pending = Pending::default();
                        }
                    }
                }
            },
            _ => {
                job.events.push(Event::Warning(Warning::Skipped {
                    command: cmd.label(),
                    offset: at(cmd.offset),
                    reason: SkipReason::Unknown,
                }));
            }
        }
        Ok(())
    }

    fn end_field(
        &self,
        p: Pending,
        b: &mut Building,
        cmd: &Command<'_>,
        source: Source,
    ) -> Result<(), ReadError> {
        let offset = p.offset.unwrap_or(cmd.offset);
        // In a recall, `^FNn^FD…^FS` with no position or kind supplies data for field n.
        if b.recalled.is_some()
            && matches!(source, Source::Input)
            && p.origin.is_none()
            && p.kind.is_none()
            && let (Some(number), Some(data)) = (p.number, p.data.clone())
        {
            b.recall_data.insert(number, data);
            return Ok(());
        }
        if p.origin.is_none() && p.kind.is_none() && p.data.is_none() && p.number.is_none() {
            return Ok(());
        }
        if b.fields.len() >= self.limits.max_fields_per_label {
            return Err(ReadError::FieldLimit {
                offset: b.offset,
                limit: "fields per label",
            });
        }
        b.fields.push(Unresolved {
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

    /// Fills `^FN` data, decodes every field and snapshots the settings.
    fn finish(&self, b: Building, job: &mut Job) -> Result<Label, ReadError> {
        let mut fields = Vec::with_capacity(b.fields.len());
        for f in b.fields {
            let supplied = f.number.and_then(|n| b.recall_data.get(&n)).cloned();
            let content = match (f.kind, f.graphic) {
                (Some(Kind::Graphic), Some(graphic)) => FieldContent::Graphic(graphic),
                (kind, _) => {
                    let Some(data) = supplied.or(f.data) else {
                        // A field with no data prints nothing.
                        continue;
                    };
                    let (bytes, offsets) = self.unhex(&data, job)?;
                    match kind {
                        Some(Kind::DataMatrix(params)) => {
                            let elements = if params.quality == 200 {
                                unescape_datamatrix(&bytes, &offsets, params.escape)?
                            } else {
                                bytes.iter().map(|b| DmElement::Byte(*b)).collect()
                            };
                            FieldContent::DataMatrix(DataMatrixContent { params, elements })
                        }
                        _ => {
                            let text = self.decode_text(bytes, &offsets)?;
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
            offset: b.offset,
            settings: self.settings,
            quantity: b.quantity,
            recalled: b.recalled,
            fields,
        })
    }

    /// Applies the 3072-byte cut, then `^FH` hex; returns bytes with their offsets. CR/LF stay:
    /// current firmware treats them as field data (they were ignored before ^FB and ^B7 existed).
    fn unhex(&self, data: &RawData, job: &mut Job) -> Result<(Vec<u8>, Vec<usize>), ReadError> {
        let at = |i: usize| {
            if data.exact {
                data.offset + i
            } else {
                data.offset
            }
        };
        let kept: Vec<(u8, usize)> = data
            .bytes
            .iter()
            .enumerate()
            .map(|(i, b)| (*b, at(i)))
            .collect();
        let mut kept = kept;
        if kept.len() > self.limits.max_field_data {
            job.events.push(Event::Warning(Warning::Truncated {
                offset: data.offset,
                len: kept.len(),
            }));
            kept.truncate(self.limits.max_field_data);
        }
        let Some(indicator) = data.hex else {
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

    fn decode_text(&self, bytes: Vec<u8>, offsets: &[usize]) -> Result<String, ReadError> {
        if self.settings.charset == 28 {
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
}

/// `^FB` text escapes: `\&` is a line break and `\\` a backslash; other text is kept.
pub fn unescape_block(text: &str) -> String {
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
pub fn unescape_datamatrix(
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

    fn read(input: &str) -> Result<Job, ReadError> {
        Printer::new().read(input.as_bytes())
    }

    fn one_label(input: &str) -> Label {
        let job = read(input).unwrap();
        let labels: Vec<_> = job.labels().cloned().collect();
        assert_eq!(labels.len(), 1, "{job:?}");
        labels.into_iter().next().unwrap()
    }

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

    #[test]
    fn datamatrix_field_with_gs1_escapes() {
        let label = one_label(
            "^XA^CI28^PW464^LL320^FO16,16^BXN,3,200,44,44,,_^FD_10104600000000017211___191AB_192x^FS^PQ1^XZ",
        );
        let dm = label.datamatrices().next().unwrap();
        assert_eq!(dm.params.module, 3);
        assert_eq!((dm.params.columns, dm.params.rows), (44, 44));
        assert!(dm.params.escape_given);
        assert_eq!(
            dm.gs1_element_string().unwrap(),
            b"0104600000000017211_\x1d91AB\x1d92x"
        );
        assert_eq!(label.settings.width, Some(464));
        assert_eq!(label.quantity, 1);
    }

    #[test]
    fn fh_runs_before_datamatrix_escapes() {
        // With ^FH_ the `_10` of `_101…` is the hex byte 0x10, not FNC1 + "0": the research's pitfall.
        let label = one_label("^XA^FO0,0^BXN,3,200,,,,_^FH_^FD_1010460^FS^XZ");
        let dm = label.datamatrices().next().unwrap();
        assert_eq!(dm.elements[0], DmElement::Byte(0x10));
        assert!(dm.gs1_element_string().is_none());
        // ^FH with a different indicator leaves the DataMatrix escapes alone.
        let label = one_label("^XA^FO0,0^BXN,3,200,,,,_^FH\\^FD_101\\5F\\5F^FS^XZ");
        let dm = label.datamatrices().next().unwrap();
        assert_eq!(dm.gs1_element_string().unwrap(), b"01_");
    }

    #[test]
    fn text_with_fh_and_utf8() {
        let label = one_label("^XA^CI28^FO10,20^A0N,30^FH\\^FDОбувь \\5EXZ\\7E ә^FS^XZ");
        let f = &label.fields[0];
        assert_eq!(
            f.origin,
            Origin {
                x: 10,
                y: 20,
                baseline: false
            }
        );
        match &f.content {
            FieldContent::Text { font, text, block } => {
                assert_eq!(*block, None);
                assert_eq!(text, "Обувь ^XZ~ ә");
                assert_eq!((font.name, font.height, font.width), (b'0', 30, None));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn label_home_and_ft() {
        let label = one_label("^XA^LH5,7^FT10,20^A0N,30,20^FDx^FS^XZ");
        assert_eq!(
            label.fields[0].origin,
            Origin {
                x: 15,
                y: 27,
                baseline: true
            }
        );
    }

    #[test]
    fn stored_format_recall() {
        let mut printer = Printer::new();
        let job = printer
            .read(b"^XA^DFR:LS.ZPL^FS^CI28^PW464^FO16,16^BXN,3,200,44,44,,_^FN1^FS^FO100,10^A0N,24^FN2^FS^PQ1^XZ")
            .unwrap();
        assert_eq!(
            job.events,
            vec![Event::Stored {
                name: "R:LS.ZPL".into(),
                offset: 3
            }]
        );
        assert_eq!(printer.stored_formats().collect::<Vec<_>>(), ["R:LS.ZPL"]);
        let job = printer
            .read(
                "^XA^XFR:LS.ZPL^FN1^FD_101234567890123421a__b^FS^FN2^FH\\^FDы\\5E^FS^XZ".as_bytes(),
            )
            .unwrap();
        let label = job.labels().next().unwrap();
        assert_eq!(label.recalled.as_deref(), Some("R:LS.ZPL"));
        assert_eq!(label.settings.charset, 28);
        let dm = label.datamatrices().next().unwrap();
        assert_eq!(dm.gs1_element_string().unwrap(), b"01234567890123421a_b");
        assert_eq!(label.texts().collect::<Vec<_>>(), ["ы^"]);
        assert_eq!(label.fields[1].origin.x, 100);
        assert_eq!(label.fields[0].number, Some(1));

        printer.power_cycle();
        let job = printer.read(b"^XA^XFR:LS.ZPL^FN1^FDx^FS^XZ").unwrap();
        assert!(matches!(
            job.warnings().next(),
            Some(Warning::UnknownFormat { offset: 3, .. })
        ));
    }

    #[test]
    fn immediate_and_unknown_commands_are_reported() {
        let job = read("~HS^XA^FO1,1^GB10,10,1^FS~HQES^XZ~JA~PP~PS~HI~WC^MMT").unwrap();
        let kinds: Vec<_> = job
            .events
            .iter()
            .map(|e| match e {
                Event::Immediate { command, offset } => format!("{command:?}@{offset}"),
                Event::Warning(Warning::Skipped {
                    command, offset, ..
                }) => format!("skip {command}@{offset}"),
                Event::Label(_) => "label".into(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "HostStatus@0",
                "skip ^GB@12",
                "HostQuery(\"ES\")@25",
                "label",
                "CancelAll@33",
                "Pause@36",
                "PrintStart@39",
                "HostIdentification@42",
                "skip ~WC@45",
                "skip ^MM@48",
            ]
        );
    }

    #[test]
    fn settings_persist_and_parse() {
        let mut printer = Printer::new();
        printer.read(b"^XA^PR4^MD-2.5^LL400^XZ").unwrap();
        assert_eq!(printer.settings().print_speed, Some(4));
        assert_eq!(printer.settings().darkness_tenths, Some(-25));
        let job = printer.read(b"^XA^PRC^FO1,1^A0N,20^FDx^FS^XZ").unwrap();
        let label = job.labels().next().unwrap();
        assert_eq!(label.settings.length, Some(400));
        assert_eq!(label.settings.print_speed, Some(4));
    }

    #[test]
    fn reprint_after_error_is_a_setting_until_power_off() {
        let mut printer = Printer::new();
        // Never set: the firmware default (reprint) applies.
        assert_eq!(printer.settings().reprint_after_error, None);
        printer.read(b"^XA^JZN^FO1,1^A0N,20^FDx^FS^XZ").unwrap();
        assert_eq!(printer.settings().reprint_after_error, Some(false));
        let job = printer.read(b"^XA^FO1,1^A0N,20^FDy^FS^XZ").unwrap();
        assert_eq!(
            job.labels().next().unwrap().settings.reprint_after_error,
            Some(false),
            "^JZ stays in force for later formats"
        );
        printer.read(b"^JZY").unwrap();
        assert_eq!(printer.settings().reprint_after_error, Some(true));
        printer.read(b"^JZ").unwrap();
        assert_eq!(printer.settings().reprint_after_error, Some(true));
        assert!(matches!(
            printer.read(b"^XA^JZQ^XZ"),
            Err(ReadError::Parameter { .. })
        ));
        printer.read(b"^JZN").unwrap();
        printer.power_cycle();
        assert_eq!(printer.settings().reprint_after_error, None);
    }

    #[test]
    fn line_breaks_between_commands_are_ignored_but_data_keeps_them() {
        let label = one_label("^XA\r\n^FO1,2\r\n^BXN,3,200,,,,_^FD_101\r\n^FS\r\n^XZ\r\n");
        let dm = label.datamatrices().next().unwrap();
        assert_eq!(dm.gs1_element_string().unwrap(), b"01\r\n");
    }

    #[test]
    fn last_field_without_fs_prints() {
        let label = one_label("^XA^FO1,1^A0N,20^FDx^XZ");
        assert_eq!(label.texts().collect::<Vec<_>>(), ["x"]);
    }

    #[test]
    fn field_block() {
        let label = one_label("^XA^FO1,2^A0N,20^FB300,2,-3,C,5^FDa\\&b\\\\c\\d^FS^XZ");
        match &label.fields[0].content {
            FieldContent::Text { block, text, .. } => {
                let expected = TextBlock {
                    width: 300,
                    lines: 2,
                    spacing: -3,
                    justify: Justify::Center,
                    hanging: 5,
                };
                assert_eq!(*block, Some(expected));
                assert_eq!(text, "a\nb\\c\\d");
            }
            other => panic!("{other:?}"),
        }
        // Without ^FB the same bytes are plain text.
        let label = one_label("^XA^FO1,2^A0N,20^FDa\\&b^FS^XZ");
        assert_eq!(label.texts().next(), Some("a\\&b"));
    }

    #[test]
    fn malformed_input_errors_with_offsets() {
        let cases: &[(&str, ReadError)] = &[
            ("^XA^FO1,1^FDx^FS", ReadError::Unterminated { offset: 0 }),
            ("^XA^FO1", ReadError::Unterminated { offset: 0 }),
            ("^XA^", ReadError::Truncated { offset: 3 }),
            ("^XA^F", ReadError::Truncated { offset: 3 }),
            ("^XA^XA^XZ", ReadError::Nested { offset: 3, open: 0 }),
            ("^XA^FO1^FH\\^FDa\\4^FS^XZ", ReadError::Hex { offset: 15 }),
            (
                "^XA^FO1^BXN,3,200,,,,_^FDab_x^FS^XZ",
                ReadError::Escape {
                    offset: 27,
                    sequence: "_x".into(),
                },
            ),
            (
                "^XA^CI28^FO1^FH^FD_D0_D0^FS^XZ",
                ReadError::Utf8 { offset: 18 },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(read(input).unwrap_err(), *expected, "{input}");
        }
        let e = read("^XA^FOx,1^XZ").unwrap_err();
        assert!(
            matches!(
                e,
                ReadError::Parameter {
                    index: 1,
                    offset: 3,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("^FO at byte 3"), "{e}");
        let e = read("^XA^FO1,1^BXN,3,200,43,43,,_^FDx^FS^XZ").unwrap_err();
        assert!(matches!(e, ReadError::Parameter { index: 4, .. }), "{e}");
    }

    #[test]
    fn field_data_is_cut_at_3072() {
        let long = "a".repeat(4000);
        let job = read(&format!("^XA^FO1,1^A0N,20^FD{long}^FS^XZ")).unwrap();
        assert!(matches!(
            job.warnings().next(),
            Some(Warning::Truncated { len: 4000, .. })
        ));
        assert_eq!(
            job.labels().next().unwrap().texts().next().unwrap().len(),
            3072
        );
    }

    #[test]
    fn implicit_escape_warns() {
        let job = read("^XA^FO1,1^BXN,3,200^FD_1x^FS^XZ").unwrap();
        assert!(matches!(
            job.warnings().next(),
            Some(Warning::ImplicitEscape { offset: 9 })
        ));
    }

    #[test]
    fn limits_hold() {
        let limits = Limits {
            max_stored_formats: 1,
            max_fields_per_label: 2,
            ..Limits::default()
        };
        let mut p = Printer::with_limits(limits);
        p.read(b"^XA^DFA^FO1,1^FN1^FS^FO1,1^FN2^FS^FO1,1^FN3^FS^XZ")
            .unwrap();
        assert!(matches!(
            p.read(b"^XA^DFB^FS^XZ"),
            Err(ReadError::StoredLimit { offset: 3, .. })
        ));
        assert!(matches!(
            p.read(b"^XA^XFA^XZ"),
            Err(ReadError::FieldLimit { .. })
        ));
    }

    #[test]
    fn recall_cannot_recurse() {
        let mut p = Printer::new();
        p.read(b"^XA^DFA^XFA^FO1,1^A0N,20^FDx^FS^XZ").unwrap();
        let job = p.read(b"^XA^XFA^XZ").unwrap();
        assert!(matches!(
            job.warnings().next(),
            Some(Warning::Skipped {
                reason: SkipReason::NestedRecall,
                offset: 3,
                ..
            })
        ));
        assert_eq!(
            job.labels().next().unwrap().texts().collect::<Vec<_>>(),
            ["x"]
        );
    }
}
