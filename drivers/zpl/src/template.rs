// SPDX-License-Identifier: GPL-3.0-or-later
//! Label templates as data: a layout in millimetres that becomes dots at the printer's dpi.
//!
//! Layouts are kept in millimetres so one template serves 203, 300 and 600 dpi heads; the
//! DataMatrix has a fixed symbol size so the layout never shifts with the crypto tail's length.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Smallest module (X dimension) the registry accepts, in micrometres (0.255 mm).
pub const MIN_MODULE_UM: u32 = 255;

/// Longest marking code a template must hold: `01`+14, `21`+20 (GS1 allows 20; footwear uses 13),
/// GS, `91`+4, GS, `92`+88 crypto.
pub const LONGEST_CODE_LEN: usize = 2 + 14 + 2 + 20 + 1 + 2 + 4 + 1 + 2 + 88;

/// ECC200 square sizes with their data codeword capacity (ISO/IEC 16022 table 7).
const ECC200_SQUARES: [(u16, usize); 24] = [
    (10, 3),
    (12, 5),
    (14, 8),
    (16, 12),
    (18, 18),
    (20, 22),
    (22, 30),
    (24, 36),
    (26, 44),
    (32, 62),
    (36, 86),
    (40, 114),
    (44, 144),
    (48, 174),
    (52, 204),
    (64, 280),
    (72, 368),
    (80, 456),
    (88, 576),
    (96, 696),
    (104, 816),
    (120, 1050),
    (132, 1304),
    (144, 1558),
];

/// Data codewords of an ECC200 square symbol, `None` if `size` is not an ECC200 square size.
pub fn ecc200_capacity(size: u16) -> Option<usize> {
    ECC200_SQUARES
        .iter()
        .find(|(s, _)| *s == size)
        .map(|(_, capacity)| *capacity)
}

/// Print head resolution. Only the three Zebra head densities exist, so anything else is a typo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub enum Dpi {
    /// 8 dots/mm.
    D203,
    /// 12 dots/mm.
    D300,
    /// 24 dots/mm.
    D600,
}

impl Dpi {
    /// All supported resolutions, lowest first.
    pub const ALL: [Dpi; 3] = [Dpi::D203, Dpi::D300, Dpi::D600];

    /// Dots per inch.
    pub fn value(self) -> u32 {
        match self {
            Dpi::D203 => 203,
            Dpi::D300 => 300,
            Dpi::D600 => 600,
        }
    }

    /// Millimetres to whole dots (nearest), as the printer positions on whole dots.
    pub fn dots(self, mm: f64) -> u32 {
        let dots = (mm * f64::from(self.value()) / 25.4).round();
        if dots <= 0.0 {
            0
        } else if dots >= f64::from(u32::MAX) {
            u32::MAX
        } else {
            // In range and whole: the cast is exact.
            dots as u32
        }
    }

    /// Dots to millimetres.
    pub fn mm(self, dots: u32) -> f64 {
        f64::from(dots) * 25.4 / f64::from(self.value())
    }

    /// Smallest whole number of dots per module with X ≥ 0.255 mm (3 at 203, 4 at 300, 7 at 600).
    pub fn module_dots(self) -> u32 {
        // dots × 25.4 mm / dpi ≥ 0.255 mm  ⇔  dots × 25 400 ≥ 255 × dpi (exact integers).
        (MIN_MODULE_UM * self.value()).div_ceil(25_400)
    }
}

impl TryFrom<u16> for Dpi {
    type Error = String;

    fn try_from(value: u16) -> Result<Self, Self::Error> {
        match value {
            203 => Ok(Dpi::D203),
            300 => Ok(Dpi::D300),
            600 => Ok(Dpi::D600),
            other => Err(format!(
                "dpi {other} is not a Zebra head resolution; use 203, 300 or 600"
            )),
        }
    }
}

impl From<Dpi> for u16 {
    fn from(dpi: Dpi) -> u16 {
        match dpi {
            Dpi::D203 => 203,
            Dpi::D300 => 300,
            Dpi::D600 => 600,
        }
    }
}

impl fmt::Display for Dpi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} dpi", self.value())
    }
}

/// Where the DataMatrix goes and how big the symbol is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataMatrixLayout {
    /// Left edge of the symbol (the quiet zone lies outside it).
    pub x_mm: f64,
    /// Top edge of the symbol.
    pub y_mm: f64,
    /// Modules per side; fixed so that a 44- or an 88-character crypto tail prints the same size.
    #[serde(default = "default_symbol_size")]
    pub symbol_size: u16,
}

fn default_symbol_size() -> u16 {
    44
}

/// One line of text, drawn with the printer's scalable font 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextLayout {
    /// Left edge.
    pub x_mm: f64,
    /// Top edge.
    pub y_mm: f64,
    /// Character cell height.
    pub height_mm: f64,
    /// Lines the printer may wrap the text onto (`^FB`); 1 = a single unwrapped line.
    #[serde(default = "default_lines")]
    pub lines: u8,
    /// Width of the wrapping block; by default up to 1 mm before the label's right edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width_mm: Option<f64>,
}

fn default_lines() -> u8 {
    1
}

impl TextLayout {
    /// Width available to the text, in mm.
    pub fn block_width_mm(&self, label_width_mm: f64) -> f64 {
        self.width_mm.unwrap_or(label_width_mm - self.x_mm - 1.0)
    }
}

/// How the logo is recalled from printer storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogoCommand {
    /// `^XG`: recall a `.GRF` graphic.
    Xg,
    /// `^IM`: move an image (`.GRF` or `.PNG`) as is.
    Im,
}

/// A logo already stored on the printer (logos are never resent: at 9600 baud they cost seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoLayout {
    /// Left edge.
    pub x_mm: f64,
    /// Top edge.
    pub y_mm: f64,
    /// Object name with drive, e.g. `E:LOGO.GRF`.
    pub name: String,
    /// Recall command, `xg` by default.
    #[serde(default = "default_logo_command")]
    pub command: LogoCommand,
}

fn default_logo_command() -> LogoCommand {
    LogoCommand::Xg
}

/// The text fields every label carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextFields {
    /// Product name (Russian and Kazakh).
    pub name: TextLayout,
    /// Shoe size.
    pub size: TextLayout,
    /// GTIN for humans.
    pub gtin: TextLayout,
    /// Serial for humans.
    pub serial: TextLayout,
}

/// The serialised form; [`Template`] is only built from it after validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    name: String,
    width_mm: f64,
    height_mm: f64,
    dpi: Dpi,
    datamatrix: DataMatrixLayout,
    text: TextFields,
    logo: Option<LogoLayout>,
}

/// A validated label layout. Fields are read-only so an invalid template cannot be printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    file: TemplateFile,
}

/// The templates shipped with the station.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinTemplate {
    /// 58 × 40 mm, the usual shoe-box sticker.
    Label58x40,
    /// 43 × 25 mm, for small boxes.
    Label43x25,
}

impl BuiltinTemplate {
    /// Both built-in templates.
    pub const ALL: [BuiltinTemplate; 2] =
        [BuiltinTemplate::Label58x40, BuiltinTemplate::Label43x25];

    /// The embedded TOML source (also a worked example of the format).
    pub fn toml(self) -> &'static str {
        match self {
            BuiltinTemplate::Label58x40 => include_str!("../templates/58x40.toml"),
            BuiltinTemplate::Label43x25 => include_str!("../templates/43x25.toml"),
        }
    }
}

/// Which part of a template a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldName {
    /// The label itself.
    Label,
    /// The DataMatrix.
    DataMatrix,
    /// Product name text.
    Name,
    /// Size text.
    Size,
    /// GTIN text.
    Gtin,
    /// Serial text.
    Serial,
    /// The stored logo.
    Logo,
    /// A box label's consignment line.
    Consignment,
    /// A box label's product line.
    Product,
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FieldName::Label => "label",
            FieldName::DataMatrix => "datamatrix",
            FieldName::Name => "text.name",
            FieldName::Size => "text.size",
            FieldName::Gtin => "text.gtin",
            FieldName::Serial => "text.serial",
            FieldName::Logo => "logo",
            FieldName::Consignment => "box label consignment",
            FieldName::Product => "box label product",
        })
    }
}

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    /// Not TOML, or not our schema.
    #[error(
        "label template is not valid TOML for a template: {message}; compare with a built-in template"
    )]
    Toml {
        /// The TOML parser's message (with line and column).
        message: String,
    },
    /// Label dimensions are impossible.
    #[error(
        "template {template}: label size {width_mm} × {height_mm} mm is not usable; give both in 5–300 mm"
    )]
    LabelSize {
        /// Template name.
        template: String,
        /// Width given.
        width_mm: f64,
        /// Height given.
        height_mm: f64,
    },
    /// A field starts outside the label or runs past its edge.
    #[error(
        "template {template}: field {field} at ({x_mm}, {y_mm}) mm with height {height_mm} mm is off the {width_mm} × {label_height_mm} mm label; move it inside"
    )]
    FieldOffLabel {
        /// Template name.
        template: String,
        /// The field.
        field: FieldName,
        /// Its left edge.
        x_mm: f64,
        /// Its top edge.
        y_mm: f64,
        /// Its height (0 for a logo, whose size only the printer knows).
        height_mm: f64,
        /// Label width.
        width_mm: f64,
        /// Label height.
        label_height_mm: f64,
    },
    /// A text field starts inside the DataMatrix or its quiet zone and would spoil the scan.
    #[error(
        "template {template}: field {field} at ({x_mm}, {y_mm}) mm starts inside the DataMatrix or its quiet zone at {dpi}; move it clear of the symbol"
    )]
    FieldOverSymbol {
        /// Template name.
        template: String,
        /// The field.
        field: FieldName,
        /// Its left edge.
        x_mm: f64,
        /// Its top edge.
        y_mm: f64,
        /// Resolution checked.
        dpi: Dpi,
    },
    /// Not an ECC200 square size.
    #[error(
        "template {template}: DataMatrix symbol_size {size} is not an ECC200 square size; use 44 (or 48, 52, …)"
    )]
    SymbolSize {
        /// Template name.
        template: String,
        /// Size given.
        size: u16,
    },
    /// The fixed symbol cannot hold the longest marking code.
    #[error(
        "template {template}: a {size}×{size} DataMatrix holds {capacity} data codewords but the longest marking code needs {needed}; use symbol_size = 44 or larger"
    )]
    SymbolCapacity {
        /// Template name.
        template: String,
        /// Size given.
        size: u16,
        /// Its data codewords.
        capacity: usize,
        /// Worst-case need.
        needed: usize,
    },
    /// Symbol plus quiet zone does not fit where it is placed at this dpi.
    #[error(
        "template {template}: DataMatrix {size}×{size} at {module_dots} dots/module is {symbol_mm:.2} mm plus a {module_mm:.3} mm quiet zone each side; placed at ({x_mm}, {y_mm}) mm it is too big for the {width_mm} × {height_mm} mm label at {dpi}; move it or use a larger label"
    )]
    SymbolOffLabel {
        /// Template name.
        template: String,
        /// Modules per side.
        size: u16,
        /// Dots per module at this dpi.
        module_dots: u32,
        /// Symbol side.
        symbol_mm: f64,
        /// Quiet zone width.
        module_mm: f64,
        /// Left edge.
        x_mm: f64,
        /// Top edge.
        y_mm: f64,
        /// Label width.
        width_mm: f64,
        /// Label height.
        height_mm: f64,
        /// Resolution checked.
        dpi: Dpi,
    },
    /// Font 0 accepts 10–1500 dots.
    #[error(
        "template {template}: field {field} height {height_mm} mm is {dots} dots at {dpi}; the printer font accepts 10–1500 dots, so change height_mm"
    )]
    TextHeight {
        /// Template name.
        template: String,
        /// The field.
        field: FieldName,
        /// Height given.
        height_mm: f64,
        /// In dots.
        dots: u32,
        /// Resolution checked.
        dpi: Dpi,
    },
    /// A wrapping block that cannot be laid out.
    #[error(
        "template {template}: field {field} has {lines} lines {width_mm} mm wide, which does not fit the {label_width_mm} mm label; use 1 or more lines and a width inside the label"
    )]
    TextBlock {
        /// Template name.
        template: String,
        /// The field.
        field: FieldName,
        /// Lines given.
        lines: u8,
        /// Block width.
        width_mm: f64,
        /// Label width.
        label_width_mm: f64,
    },
    /// The logo name is not a printer object name.
    #[error(
        "template {template}: logo name {name:?} is not a printer object name; use DRIVE:NAME.GRF (drive R, E, B or A; name 1–16 of A–Z 0–9 _ -; extension GRF or PNG)"
    )]
    LogoName {
        /// Template name.
        template: String,
        /// Name given.
        name: String,
    },
}

impl Template {
    /// Parses and validates a template.
    pub fn from_toml(source: &str) -> Result<Template, TemplateError> {
        let file: TemplateFile = toml::from_str(source).map_err(|e| TemplateError::Toml {
            message: e.to_string().trim_end().to_owned(),
        })?;
        let template = Template { file };
        template.validate()?;
        Ok(template)
    }

    /// A built-in template at its own dpi (203).
    pub fn builtin(which: BuiltinTemplate) -> Result<Template, TemplateError> {
        Template::from_toml(which.toml())
    }

    /// The same layout for another print head; fails if it no longer fits.
    pub fn with_dpi(mut self, dpi: Dpi) -> Result<Template, TemplateError> {
        self.file.dpi = dpi;
        self.validate()?;
        Ok(self)
    }

    /// Serialises back to TOML (for the settings screen's "save as").
    pub fn to_toml(&self) -> Result<String, TemplateError> {
        toml::to_string(&self.file).map_err(|e| TemplateError::Toml {
            message: e.to_string(),
        })
    }

    /// Template name.
    pub fn name(&self) -> &str {
        &self.file.name
    }

    /// Print head resolution.
    pub fn dpi(&self) -> Dpi {
        self.file.dpi
    }

    /// Label width in mm.
    pub fn width_mm(&self) -> f64 {
        self.file.width_mm
    }

    /// Label height in mm.
    pub fn height_mm(&self) -> f64 {
        self.file.height_mm
    }

    /// Label width in dots (`^PW`).
    pub fn width_dots(&self) -> u32 {
        self.file.dpi.dots(self.file.width_mm)
    }

    /// Label length in dots (`^LL`).
    pub fn height_dots(&self) -> u32 {
        self.file.dpi.dots(self.file.height_mm)
    }

    /// DataMatrix placement.
    pub fn datamatrix(&self) -> &DataMatrixLayout {
        &self.file.datamatrix
    }

    /// Dots per module at this dpi.
    pub fn module_dots(&self) -> u32 {
        self.file.dpi.module_dots()
    }

    /// Text placements.
    pub fn text(&self) -> &TextFields {
        &self.file.text
    }

    /// Optional stored logo.
    pub fn logo(&self) -> Option<&LogoLayout> {
        self.file.logo.as_ref()
    }

    /// Every check: sizes, fit at this dpi, symbol capacity, text heights, names.
    pub fn validate(&self) -> Result<(), TemplateError> {
        let f = &self.file;
        let template = || f.name.clone();
        let dpi = f.dpi;
        let size_ok = |mm: f64| mm.is_finite() && (5.0..=300.0).contains(&mm);
        if !size_ok(f.width_mm) || !size_ok(f.height_mm) {
            return Err(TemplateError::LabelSize {
                template: template(),
                width_mm: f.width_mm,
                height_mm: f.height_mm,
            });
        }
        let inside = |field: FieldName, x: f64, y: f64, h: f64| {
            let ok = x.is_finite()
                && y.is_finite()
                && h.is_finite()
                && x >= 0.0
                && y >= 0.0
                && x < f.width_mm
                && y + h <= f.height_mm;
            if ok {
                Ok(())
            } else {
                Err(TemplateError::FieldOffLabel {
                    template: template(),
                    field,
                    x_mm: x,
                    y_mm: y,
                    height_mm: h,
                    width_mm: f.width_mm,
                    label_height_mm: f.height_mm,
                })
            }
        };

        // DataMatrix: a real ECC200 size, big enough for the longest code, fits with its quiet zone.
        let dm = &f.datamatrix;
        inside(FieldName::DataMatrix, dm.x_mm, dm.y_mm, 0.0)?;
        let capacity =
            ecc200_capacity(dm.symbol_size).ok_or_else(|| TemplateError::SymbolSize {
                template: template(),
                size: dm.symbol_size,
            })?;
        // Upper bound: FNC1 plus one codeword per character (ASCII encodation, no digit pairs).
        let needed = LONGEST_CODE_LEN + 1;
        if capacity < needed {
            return Err(TemplateError::SymbolCapacity {
                template: template(),
                size: dm.symbol_size,
                capacity,
                needed,
            });
        }
        let module = dpi.module_dots();
        let side = u32::from(dm.symbol_size) * module;
        let (x, y) = (dpi.dots(dm.x_mm), dpi.dots(dm.y_mm));
        let fits = x >= module
            && y >= module
            && x + side + module <= self.width_dots()
            && y + side + module <= self.height_dots();
        if !fits {
            return Err(TemplateError::SymbolOffLabel {
                template: template(),
                size: dm.symbol_size,
                module_dots: module,
                symbol_mm: dpi.mm(side),
                module_mm: dpi.mm(module),
                x_mm: dm.x_mm,
                y_mm: dm.y_mm,
                width_mm: f.width_mm,
                height_mm: f.height_mm,
                dpi,
            });
        }
        let in_symbol = |tx: f64, ty: f64| {
            let (tx, ty) = (dpi.dots(tx), dpi.dots(ty));
            tx + module >= x && tx < x + side + module && ty + module >= y && ty < y + side + module
        };

        let texts = [
            (FieldName::Name, &f.text.name),
            (FieldName::Size, &f.text.size),
            (FieldName::Gtin, &f.text.gtin),
            (FieldName::Serial, &f.text.serial),
        ];
        for (field, text) in texts {
            inside(
                field,
                text.x_mm,
                text.y_mm,
                text.height_mm * f64::from(text.lines),
            )?;
            let width = text.block_width_mm(f.width_mm);
            if text.lines == 0
                || !width.is_finite()
                || width < 1.0
                || text.x_mm + width > f.width_mm
            {
                return Err(TemplateError::TextBlock {
                    template: template(),
                    field,
                    lines: text.lines,
                    width_mm: width,
                    label_width_mm: f.width_mm,
                });
            }
            let dots = dpi.dots(text.height_mm);
            if !(10..=1500).contains(&dots) {
                return Err(TemplateError::TextHeight {
                    template: template(),
                    field,
                    height_mm: text.height_mm,
                    dots,
                    dpi,
                });
            }
            if in_symbol(text.x_mm, text.y_mm) {
                return Err(TemplateError::FieldOverSymbol {
                    template: template(),
                    field,
                    x_mm: text.x_mm,
                    y_mm: text.y_mm,
                    dpi,
                });
            }
        }
        if let Some(logo) = &f.logo {
            inside(FieldName::Logo, logo.x_mm, logo.y_mm, 0.0)?;
            if !is_object_name(&logo.name) {
                return Err(TemplateError::LogoName {
                    template: template(),
                    name: logo.name.clone(),
                });
            }
            if in_symbol(logo.x_mm, logo.y_mm) {
                return Err(TemplateError::FieldOverSymbol {
                    template: template(),
                    field: FieldName::Logo,
                    x_mm: logo.x_mm,
                    y_mm: logo.y_mm,
                    dpi,
                });
            }
        }
        Ok(())
    }
}

/// `D:NAME.EXT` with a Zebra drive letter; the name set keeps it clear of ZPL syntax (`^ ~ ,`).
fn is_object_name(name: &str) -> bool {
    let Some((drive, file)) = name.split_once(':') else {
        return false;
    };
    let Some((stem, ext)) = file.rsplit_once('.') else {
        return false;
    };
    matches!(drive, "R" | "E" | "B" | "A")
        && (1..=16).contains(&stem.len())
        && stem
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && matches!(ext, "GRF" | "PNG")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_size_is_smallest_meeting_0_255_mm() {
        assert_eq!(Dpi::D203.module_dots(), 3);
        assert_eq!(Dpi::D300.module_dots(), 4);
        assert_eq!(Dpi::D600.module_dots(), 7);
        for dpi in Dpi::ALL {
            let m = dpi.module_dots();
            assert!(dpi.mm(m) >= 0.255, "{dpi}: {m} dots");
            assert!(dpi.mm(m - 1) < 0.255, "{dpi}: {} dots would do", m - 1);
        }
    }

    #[test]
    fn dots_from_mm() {
        assert_eq!(Dpi::D203.dots(25.4), 203);
        assert_eq!(Dpi::D300.dots(58.0), 685);
        assert_eq!(Dpi::D600.dots(40.0), 945);
        assert_eq!(Dpi::D203.dots(-1.0), 0);
    }

    #[test]
    fn builtins_validate_at_every_dpi() {
        for which in BuiltinTemplate::ALL {
            for dpi in Dpi::ALL {
                let t = Template::builtin(which).and_then(|t| t.with_dpi(dpi));
                assert!(t.is_ok(), "{which:?} at {dpi}: {t:?}");
            }
        }
    }

    #[test]
    fn builtin_sizes() {
        let t = Template::builtin(BuiltinTemplate::Label58x40).unwrap();
        assert_eq!((t.width_dots(), t.height_dots()), (464, 320));
        assert_eq!(t.datamatrix().symbol_size, 44);
        let t = Template::builtin(BuiltinTemplate::Label43x25).unwrap();
        assert_eq!((t.width_dots(), t.height_dots()), (344, 200));
    }

    #[test]
    fn toml_round_trip() {
        let t = Template::builtin(BuiltinTemplate::Label58x40).unwrap();
        let again = Template::from_toml(&t.to_toml().unwrap()).unwrap();
        assert_eq!(t, again);
    }

    #[test]
    fn both_crypto_lengths_fit_44() {
        let cap = ecc200_capacity(44).unwrap();
        let short = 2 + 14 + 2 + 13 + 1 + 2 + 4 + 1 + 2 + 44;
        let long = 2 + 14 + 2 + 13 + 1 + 2 + 4 + 1 + 2 + 88;
        assert!(short < long && long < LONGEST_CODE_LEN && LONGEST_CODE_LEN < cap);
        assert!(ecc200_capacity(40).unwrap() < LONGEST_CODE_LEN + 1);
    }

    fn edit(from: &str, to: &str) -> Result<Template, TemplateError> {
        let src = BuiltinTemplate::Label58x40.toml();
        assert!(src.contains(from), "{from}");
        Template::from_toml(&src.replacen(from, to, 1))
    }

    #[test]
    fn validation_errors_name_the_field_and_reason() {
        let e = edit("dpi = 203", "dpi = 200").unwrap_err();
        assert!(e.to_string().contains("use 203, 300 or 600"), "{e}");

        let e = edit("symbol_size = 44", "symbol_size = 30").unwrap_err();
        assert!(
            matches!(e, TemplateError::SymbolSize { size: 30, .. }),
            "{e}"
        );

        let e = edit("symbol_size = 44", "symbol_size = 40").unwrap_err();
        assert!(
            matches!(e, TemplateError::SymbolCapacity { capacity: 114, .. }),
            "{e}"
        );

        let e = edit("symbol_size = 44", "symbol_size = 120").unwrap_err();
        assert!(matches!(e, TemplateError::SymbolOffLabel { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("too big for the 58 × 40 mm label at 203 dpi"),
            "{e}"
        );

        let e = edit("[text.serial]\nx_mm = 21.0", "[text.serial]\nx_mm = 60.0").unwrap_err();
        assert!(
            matches!(
                e,
                TemplateError::FieldOffLabel {
                    field: FieldName::Serial,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("text.serial"), "{e}");

        let e = edit("[text.gtin]\nx_mm = 21.0", "[text.gtin]\nx_mm = 5.0").unwrap_err();
        assert!(
            matches!(
                e,
                TemplateError::FieldOverSymbol {
                    field: FieldName::Gtin,
                    ..
                }
            ),
            "{e}"
        );

        let e = edit("height_mm = 3.5", "height_mm = 0.5").unwrap_err();
        assert!(
            matches!(e, TemplateError::TextHeight { dots: 4, .. }),
            "{e}"
        );

        let e = edit("lines = 2", "lines = 6").unwrap_err();
        assert!(
            matches!(
                e,
                TemplateError::FieldOffLabel {
                    field: FieldName::Name,
                    ..
                }
            ),
            "{e}"
        );
        let e = edit("lines = 2", "lines = 2\nwidth_mm = 57.0").unwrap_err();
        assert!(matches!(e, TemplateError::TextBlock { .. }), "{e}");

        let e = edit("width_mm = 58.0", "width_mm = 0.0").unwrap_err();
        assert!(matches!(e, TemplateError::LabelSize { .. }), "{e}");

        let e = edit("name = \"58x40\"", "name = \"58x40\"\ncolour = 1").unwrap_err();
        assert!(matches!(e, TemplateError::Toml { .. }), "{e}");
    }

    #[test]
    fn bigger_symbol_fails_at_203_and_covers_text_at_600() {
        let src =
            BuiltinTemplate::Label43x25
                .toml()
                .replacen("symbol_size = 44", "symbol_size = 64", 1);
        let e = Template::from_toml(&src).unwrap_err();
        assert!(
            matches!(e, TemplateError::SymbolOffLabel { dpi: Dpi::D203, .. }),
            "{e}"
        );
        // At 600 dpi the 64×64 symbol fits the label but now covers the text column.
        let at_600 = src.replacen("dpi = 203", "dpi = 600", 1);
        let e = Template::from_toml(&at_600).unwrap_err();
        assert!(
            matches!(e, TemplateError::FieldOverSymbol { dpi: Dpi::D600, .. }),
            "{e}"
        );
    }

    #[test]
    fn logo_names() {
        let logo = "\n[logo]\nx_mm = 40.0\ny_mm = 30.0\nname = \"E:LOGO.GRF\"\n";
        let src = format!("{}{logo}", BuiltinTemplate::Label58x40.toml());
        let t = Template::from_toml(&src).unwrap();
        assert_eq!(t.logo().map(|l| l.command), Some(LogoCommand::Xg));
        for bad in [
            "LOGO.GRF",
            "E:LOGO^.GRF",
            "E:LOGO.BMP",
            "Q:LOGO.GRF",
            "E:.GRF",
        ] {
            let src = src.replace("E:LOGO.GRF", bad);
            let e = Template::from_toml(&src).unwrap_err();
            assert!(matches!(e, TemplateError::LogoName { .. }), "{bad}: {e}");
        }
    }
}
