// SPDX-License-Identifier: GPL-3.0-or-later
//! ZPL writer: a template plus one code's texts becomes the bytes a Zebra printer needs.
//!
//! Escaping rules, and why:
//! - The DataMatrix field uses `^BX…,_` with the escape character given explicitly (firmware
//!   defaults differ), `_1` first for FNC1 (GS1), `_1` for every GS separator and `__` for a
//!   literal `_`. It never gets `^FH`: hex processing runs before escape processing, so with
//!   `^FH_` a `_1` followed by a hex digit would be eaten as a hex byte.
//! - Text fields only get `^FH\` (backslash, not the DataMatrix `_`) when they hold `^` or `~`;
//!   then `^`, `~` and `\` are sent as `\5E`, `\7E`, `\5C`. Everything else (UTF-8 under
//!   `^CI28`) goes as is.
//! - In a wrapping `^FB` field (template `lines > 1`) the printer reads `\&` as a line break and
//!   `\\` as a backslash, so backslashes are doubled before the `^FH` step. The 2006 guide says
//!   printing `\` needs `^CI13`; check a name with a backslash on real hardware under `^CI28`.

use crate::template::{FieldName, LogoCommand, Template};
use std::fmt::Write as _;

/// Name under which [`stored_format`] keeps the layout in printer DRAM (lost at power-off, so
/// the station resends it after every reconnect).
pub const STORED_FORMAT: &str = "R:LS.ZPL";

/// Zebra truncates field data beyond this many bytes.
pub const MAX_FIELD_DATA: usize = 3072;

/// Escape character of the DataMatrix field.
pub const DM_ESCAPE: char = '_';

/// Hex indicator of text fields; differs from [`DM_ESCAPE`] on purpose.
pub const TEXT_HEX_INDICATOR: char = '\\';

/// ASCII group separator between GS1 element strings.
pub const GS: char = '\u{1d}';

/// `^FN` numbers used by the stored format.
const FN_CODE: u16 = 1;
const FN_NAME: u16 = 2;
const FN_SIZE: u16 = 3;
const FN_GTIN: u16 = 4;
const FN_SERIAL: u16 = 5;

/// What goes on one label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelData<'a> {
    /// GS1 element string: `01`+GTIN14+`21`+serial+GS+`91`+key+GS+`92`+crypto (or `…GS 93 check`).
    pub code: &'a str,
    /// Product name, Russian and Kazakh.
    pub name: &'a str,
    /// Shoe size as printed.
    pub size: &'a str,
    /// GTIN for humans.
    pub gtin_text: &'a str,
    /// Serial for humans.
    pub serial_text: &'a str,
}

/// Why a label cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The code does not look like a marking code's element string.
    #[error(
        "marking code is not a GS1 element string starting with 01 and 14 digits (got {start:?}); pass the code exactly as issued by the registry"
    )]
    CodeStart {
        /// The first characters seen.
        start: String,
    },
    /// A character outside GS1 character set 82 (plus GS) would corrupt the symbol or the ZPL.
    #[error(
        "marking code has {found:?} at byte {offset}, which GS1 character set 82 does not allow; the code is damaged, fetch it again from the registry"
    )]
    CodeCharacter {
        /// Byte offset in the code.
        offset: usize,
        /// The character.
        found: char,
    },
    /// Two separators in a row, or one at either end.
    #[error(
        "marking code has a misplaced GS separator at byte {offset}; the code is damaged, fetch it again from the registry"
    )]
    CodeSeparator {
        /// Byte offset in the code.
        offset: usize,
    },
    /// A box label's SSCC is not 18 digits.
    #[error(
        "box label SSCC {found:?} is not 18 digits; pass the SSCC the ledger allocated, without the AI"
    )]
    Sscc {
        /// What was given.
        found: String,
    },
    /// A text field holds a control character the printer would not print.
    #[error(
        "{field} text has control character U+{code:04X} at character {position}; remove it from the product data"
    )]
    TextControl {
        /// Which field.
        field: FieldName,
        /// Character index.
        position: usize,
        /// The code point.
        code: u32,
    },
    /// The printer would silently cut the field.
    #[error(
        "{field} field data is {len} bytes after escaping; Zebra truncates beyond {MAX_FIELD_DATA}, so shorten it"
    )]
    TooLong {
        /// Which field.
        field: FieldName,
        /// Escaped length.
        len: usize,
    },
}

/// Checks the code and writes it as `^BX` field data: `_1` first, `_1` per GS, `__` per `_`.
pub fn escape_code(code: &str) -> Result<String, WriteError> {
    let bytes = code.as_bytes();
    let starts_ok =
        bytes.len() > 16 && bytes.starts_with(b"01") && bytes[2..16].iter().all(u8::is_ascii_digit);
    if !starts_ok {
        return Err(WriteError::CodeStart {
            start: code.chars().take(16).collect(),
        });
    }
    let mut out = String::with_capacity(code.len() + 8);
    out.push(DM_ESCAPE);
    out.push('1');
    let mut previous_gs = false;
    for (offset, c) in code.char_indices() {
        match c {
            GS => {
                if previous_gs || offset + 1 == code.len() {
                    return Err(WriteError::CodeSeparator { offset });
                }
                out.push(DM_ESCAPE);
                out.push('1');
            }
            DM_ESCAPE => {
                out.push(DM_ESCAPE);
                out.push(DM_ESCAPE);
            }
            c if is_gs1_set82(c) => out.push(c),
            found => return Err(WriteError::CodeCharacter { offset, found }),
        }
        previous_gs = c == GS;
    }
    if out.len() > MAX_FIELD_DATA {
        return Err(WriteError::TooLong {
            field: FieldName::DataMatrix,
            len: out.len(),
        });
    }
    Ok(out)
}

/// GS1 General Specifications figure 7.11-1 (character set 82).
pub fn is_gs1_set82(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!\"%&'()*+,-./:;<=>?_".contains(c)
}

/// A text field's data and whether it needs `^FH\`.
pub(crate) struct TextData {
    fh: bool,
    data: String,
}

/// `block`: the field has `^FB`, where the printer reads `\&` as a line break and `\\` as
/// a backslash, so backslashes are doubled first.
pub(crate) fn escape_text(
    field: FieldName,
    text: &str,
    block: bool,
) -> Result<TextData, WriteError> {
    if let Some((position, c)) = text.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(WriteError::TextControl {
            field,
            position,
            code: u32::from(c),
        });
    }
    let doubled;
    let text = if block && text.contains('\\') {
        doubled = text.replace('\\', "\\\\");
        doubled.as_str()
    } else {
        text
    };
    let fh = text.contains(['^', '~']);
    let data = if fh {
        let mut out = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            match c {
                '^' | '~' | TEXT_HEX_INDICATOR => {
                    let _ = write!(out, "{TEXT_HEX_INDICATOR}{:02X}", u32::from(c));
                }
                c => out.push(c),
            }
        }
        out
    } else {
        text.to_owned()
    };
    if data.len() > MAX_FIELD_DATA {
        return Err(WriteError::TooLong {
            field,
            len: data.len(),
        });
    }
    Ok(TextData { fh, data })
}

impl TextData {
    pub(crate) fn push_fd(&self, out: &mut String) {
        if self.fh {
            out.push_str("^FH");
            out.push(TEXT_HEX_INDICATOR);
        }
        out.push_str("^FD");
        out.push_str(&self.data);
        out.push_str("^FS");
    }
}

/// Escaped field data of one label, ready for either mode.
struct Escaped {
    code: String,
    texts: [(u16, TextData); 4],
}

fn escape_all(template: &Template, data: &LabelData<'_>) -> Result<Escaped, WriteError> {
    let t = template.text();
    Ok(Escaped {
        code: escape_code(data.code)?,
        texts: [
            (
                FN_NAME,
                escape_text(FieldName::Name, data.name, t.name.lines > 1)?,
            ),
            (
                FN_SIZE,
                escape_text(FieldName::Size, data.size, t.size.lines > 1)?,
            ),
            (
                FN_GTIN,
                escape_text(FieldName::Gtin, data.gtin_text, t.gtin.lines > 1)?,
            ),
            (
                FN_SERIAL,
                escape_text(FieldName::Serial, data.serial_text, t.serial.lines > 1)?,
            ),
        ],
    })
}

/// `^JZN`: a label cut short by paper out, ribbon out or an open head is not printed again once
/// that is fixed. A Zebra's default (`^JZY`) reprints it, so a second sticker of the same code
/// could come out next to the partial one. Sent in every format (a stored one too), because the
/// setting is lost when the printer is switched off.
pub const NO_REPRINT_AFTER_ERROR: &str = "^JZN";

/// Writes the layout; a `None` field becomes a `^FN` placeholder for a stored format.
fn write_layout(
    out: &mut String,
    template: &Template,
    code: Option<&str>,
    texts: [Option<&TextData>; 4],
) {
    let dpi = template.dpi();
    let _ = write!(
        out,
        "^CI28{NO_REPRINT_AFTER_ERROR}^PW{}^LL{}",
        template.width_dots(),
        template.height_dots()
    );
    let dm = template.datamatrix();
    let _ = write!(
        out,
        "^FO{},{}^BXN,{},200,{},{},,{DM_ESCAPE}",
        dpi.dots(dm.x_mm),
        dpi.dots(dm.y_mm),
        template.module_dots(),
        dm.symbol_size,
        dm.symbol_size
    );
    match code {
        Some(code) => {
            out.push_str("^FD");
            out.push_str(code);
            out.push_str("^FS");
        }
        None => {
            let _ = write!(out, "^FN{FN_CODE}^FS");
        }
    }
    let text = template.text();
    let layouts = [&text.name, &text.size, &text.gtin, &text.serial];
    for (i, (layout, data)) in layouts.into_iter().zip(texts).enumerate() {
        let _ = write!(
            out,
            "^FO{},{}^A0N,{}",
            dpi.dots(layout.x_mm),
            dpi.dots(layout.y_mm),
            dpi.dots(layout.height_mm)
        );
        if layout.lines > 1 {
            let width = dpi.dots(layout.block_width_mm(template.width_mm()));
            let _ = write!(out, "^FB{width},{},0,L,0", layout.lines);
        }
        match data {
            Some(data) => data.push_fd(out),
            None => {
                let _ = write!(out, "^FN{}^FS", FN_NAME + i as u16);
            }
        }
    }
    if let Some(logo) = template.logo() {
        let command = match logo.command {
            LogoCommand::Xg => "^XG",
            LogoCommand::Im => "^IM",
        };
        let _ = write!(
            out,
            "^FO{},{}{command}{}",
            dpi.dots(logo.x_mm),
            dpi.dots(logo.y_mm),
            logo.name
        );
        if logo.command == LogoCommand::Xg {
            out.push_str(",1,1");
        }
        out.push_str("^FS");
    }
    out.push_str("^PQ1");
}

/// One self-contained label format (`^XA … ^XZ`).
pub fn full_label(template: &Template, data: &LabelData<'_>) -> Result<String, WriteError> {
    let escaped = escape_all(template, data)?;
    let mut out = String::with_capacity(512);
    out.push_str("^XA");
    let [name, size, gtin, serial] = &escaped.texts;
    let texts = [Some(&name.1), Some(&size.1), Some(&gtin.1), Some(&serial.1)];
    write_layout(&mut out, template, Some(&escaped.code), texts);
    out.push_str("^XZ");
    Ok(out)
}

/// The layout stored once as [`STORED_FORMAT`] with `^FN1`…`^FN5` for the variable data.
/// Send it after connecting; then send [`recall_label`] per label.
pub fn stored_format(template: &Template) -> String {
    let mut out = String::with_capacity(256);
    let _ = write!(out, "^XA^DF{STORED_FORMAT}^FS");
    write_layout(&mut out, template, None, [None; 4]);
    out.push_str("^XZ");
    out
}

/// One label recalling [`stored_format`] of the same template: only the variable data crosses
/// the link. (The template decides how text is escaped, e.g. in a wrapping `^FB` block.)
pub fn recall_label(template: &Template, data: &LabelData<'_>) -> Result<String, WriteError> {
    let escaped = escape_all(template, data)?;
    let mut out = String::with_capacity(256);
    let _ = write!(
        out,
        "^XA^XF{STORED_FORMAT}^FN{FN_CODE}^FD{}^FS",
        escaped.code
    );
    for (number, text) in &escaped.texts {
        let _ = write!(out, "^FN{number}");
        text.push_fd(&mut out);
    }
    out.push_str("^XZ");
    Ok(out)
}

/// Texts shared by every label of one product (one batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductText<'a> {
    /// Product name, Russian and Kazakh.
    pub name: &'a str,
    /// Shoe size as printed.
    pub size: &'a str,
    /// GTIN for humans.
    pub gtin_text: &'a str,
}

/// A stored format for one product: name, size and GTIN are fixed in it, so each label sends
/// only the code and the serial ([`recall_code`]): the fewest bytes on a 9600-baud link.
/// Store it again when the batch changes product.
pub fn stored_product_format(
    template: &Template,
    product: &ProductText<'_>,
) -> Result<String, WriteError> {
    let t = template.text();
    let name = escape_text(FieldName::Name, product.name, t.name.lines > 1)?;
    let size = escape_text(FieldName::Size, product.size, t.size.lines > 1)?;
    let gtin = escape_text(FieldName::Gtin, product.gtin_text, t.gtin.lines > 1)?;
    let mut out = String::with_capacity(256);
    let _ = write!(out, "^XA^DF{STORED_FORMAT}^FS");
    write_layout(
        &mut out,
        template,
        None,
        [Some(&name), Some(&size), Some(&gtin), None],
    );
    out.push_str("^XZ");
    Ok(out)
}

/// One label recalling [`stored_product_format`] of the same template: code and serial only.
pub fn recall_code(
    template: &Template,
    code: &str,
    serial_text: &str,
) -> Result<String, WriteError> {
    let code = escape_code(code)?;
    let lines = template.text().serial.lines;
    let serial = escape_text(FieldName::Serial, serial_text, lines > 1)?;
    let mut out = String::with_capacity(160);
    let _ = write!(
        out,
        "^XA^XF{STORED_FORMAT}^FN{FN_CODE}^FD{code}^FS^FN{FN_SERIAL}"
    );
    serial.push_fd(&mut out);
    out.push_str("^XZ");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::BuiltinTemplate;

    const CODE: &str = "0104600000000017215Ab_c!%&'*+\u{1d}91EE11\u{1d}92abcd";

    fn data(code: &str) -> LabelData<'_> {
        LabelData {
            code,
            name: "Кроссовки / Кроссовкалар әғқңөұүһі",
            size: "42",
            gtin_text: "04600000000017",
            serial_text: "5Ab_c!%&'*+",
        }
    }

    #[test]
    fn code_escapes() {
        assert_eq!(
            escape_code(CODE).unwrap(),
            "_10104600000000017215Ab__c!%&'*+_191EE11_192abcd"
        );
        assert_eq!(
            escape_code("0104600000000017211_\u{1d}93ab_1").unwrap(),
            "_10104600000000017211___193ab__1"
        );
    }

    #[test]
    fn code_errors() {
        assert!(matches!(
            escape_code("0204600000000017211"),
            Err(WriteError::CodeStart { .. })
        ));
        assert!(matches!(
            escape_code("01046000000000172112^3"),
            Err(WriteError::CodeCharacter {
                offset: 20,
                found: '^'
            })
        ));
        assert!(matches!(
            escape_code("0104600000000017211~"),
            Err(WriteError::CodeCharacter { found: '~', .. })
        ));
        assert!(matches!(
            escape_code("0104600000000017211 "),
            Err(WriteError::CodeCharacter { found: ' ', .. })
        ));
        assert!(matches!(
            escape_code("0104600000000017211\u{1d}\u{1d}93ab"),
            Err(WriteError::CodeSeparator { offset: 20 })
        ));
        assert!(matches!(
            escape_code("0104600000000017211\u{1d}"),
            Err(WriteError::CodeSeparator { offset: 19 })
        ));
        let e = escape_code("0104600000000017211$").unwrap_err();
        assert!(e.to_string().contains("fetch it again"), "{e}");
    }

    #[test]
    fn text_escapes_only_when_needed() {
        let plain = escape_text(FieldName::Name, "a_b\\c", false).unwrap();
        assert!(!plain.fh);
        assert_eq!(plain.data, "a_b\\c");
        let hex = escape_text(FieldName::Name, "a^b~c\\d_e", false).unwrap();
        assert!(hex.fh);
        assert_eq!(hex.data, "a\\5Eb\\7Ec\\5Cd_e");
        assert!(matches!(
            escape_text(FieldName::Size, "4\n2", false),
            Err(WriteError::TextControl {
                field: FieldName::Size,
                position: 1,
                code: 10
            })
        ));
        // In a ^FB block a backslash is doubled, then hex-escaped if ^FH is needed anyway.
        let block = escape_text(FieldName::Name, "a\\&b", true).unwrap();
        assert!(!block.fh);
        assert_eq!(block.data, "a\\\\&b");
        let block = escape_text(FieldName::Name, "^\\&", true).unwrap();
        assert!(block.fh);
        assert_eq!(block.data, "\\5E\\5C\\5C&");
    }

    #[test]
    fn full_label_shape() {
        let t = Template::builtin(BuiltinTemplate::Label58x40).unwrap();
        let zpl = full_label(&t, &data(CODE)).unwrap();
        assert!(zpl.starts_with("^XA^CI28^JZN^PW464^LL320^FO16,16^BXN,3,200,44,44,,_^FD_101"));
        assert!(zpl.ends_with("^PQ1^XZ"));
        assert!(!zpl.contains("^FH_"));
        assert_eq!(zpl.matches("^FD").count(), 5);
    }

    #[test]
    fn hostile_name_gets_fh_with_backslash() {
        let t = Template::builtin(BuiltinTemplate::Label58x40).unwrap();
        let mut d = data(CODE);
        d.name = "Обувь ^XZ~JA";
        let zpl = full_label(&t, &d).unwrap();
        assert!(
            zpl.contains("^FB440,2,0,L,0^FH\\^FDОбувь \\5EXZ\\7EJA^FS"),
            "{zpl}"
        );
        assert_eq!(zpl.matches("^XZ").count(), 1);
        assert!(!zpl.contains("~JA"));
    }

    #[test]
    fn stored_and_recall_shape() {
        let t = Template::builtin(BuiltinTemplate::Label43x25).unwrap();
        let stored = stored_format(&t);
        assert!(stored.starts_with("^XA^DFR:LS.ZPL^FS^CI28^JZN"));
        assert!(stored.contains(",,_^FN1^FS"));
        assert!(!stored.contains("^FD"));
        let recall = recall_label(&t, &data(CODE)).unwrap();
        assert!(recall.starts_with("^XA^XFR:LS.ZPL^FN1^FD_101"));
        assert!(recall.ends_with("^FN5^FD5Ab_c!%&'*+^FS^XZ"));
    }

    #[test]
    fn product_format_and_code_recall() {
        let t = Template::builtin(BuiltinTemplate::Label58x40).unwrap();
        let d = data(CODE);
        let product = ProductText {
            name: "Обувь^",
            size: d.size,
            gtin_text: d.gtin_text,
        };
        let stored = stored_product_format(&t, &product).unwrap();
        assert!(stored.contains("^FH\\^FDОбувь\\5E^FS"), "{stored}");
        assert!(stored.contains("^FN1^FS") && stored.contains("^FN5^FS"));
        assert!(!stored.contains("^FN2") && !stored.contains("^FN4"));
        let recall = recall_code(&t, d.code, d.serial_text).unwrap();
        assert_eq!(
            recall,
            "^XA^XFR:LS.ZPL^FN1^FD_10104600000000017215Ab__c!%&'*+_191EE11_192abcd^FS^FN5^FD5Ab_c!%&'*+^FS^XZ"
        );
    }

    #[test]
    fn logo_recall() {
        let logo = "\n[logo]\nx_mm = 40.0\ny_mm = 30.0\nname = \"E:LOGO.GRF\"\n";
        let src = format!("{}{logo}", BuiltinTemplate::Label58x40.toml());
        let t = Template::from_toml(&src).unwrap();
        let zpl = full_label(&t, &data(CODE)).unwrap();
        assert!(zpl.contains("^FO320,240^XGE:LOGO.GRF,1,1^FS"), "{zpl}");
        let t =
            Template::from_toml(&src.replace("\"E:LOGO.GRF\"", "\"E:LOGO.PNG\"\ncommand = \"im\""))
                .unwrap();
        assert!(stored_format(&t).contains("^FO320,240^IME:LOGO.PNG^FS"));
    }
}
