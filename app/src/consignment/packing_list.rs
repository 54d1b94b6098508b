// SPDX-License-Identifier: GPL-3.0-or-later
//! The packing list of a consignment, as a CSV file from the importer or broker: one line per product
//! (GTIN) with its name, size and the quantity declared. I/O-free: bytes in, lines or every bad line out.
//!
//! What arrives in practice: a header `gtin,name,size,quantity` (or the Russian column names), `;` as the
//! separator where Excel writes CSV in this region, quoted fields with commas and Cyrillic inside, a byte
//! order mark, CRLF line ends, and Excel's own encoding (Windows-1251) when the file was not saved as
//! "CSV UTF-8". Extra columns (article, colour, price) are ignored. A GTIN Excel turned into a number
//! (`4.60123E+12`) is named as such. The file is checked whole: any bad line and nothing is imported.

use std::collections::HashMap;

use serde::Serialize;

use crate::codes::Gtin;
use crate::ledger::consignments::DeclaredLine;

/// Refuse larger files: a packing list of thousands of lines is well under 1 MB.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;
/// More pairs of one GTIN than this in one consignment is a typing error, not a consignment.
pub const MAX_QUANTITY: u32 = 1_000_000;

/// One product line of a packing list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackingLine {
    /// 1-based line number in the file (the header is line 1).
    pub line: usize,
    pub gtin: Gtin,
    pub name: String,
    pub size: Option<String>,
    pub quantity: u32,
}

/// A line of the packing list that cannot be taken in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadLine {
    /// 1-based line number in the file (0: the file as a whole).
    pub line: usize,
    pub message: String,
}

/// The checked packing list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackingList {
    pub lines: Vec<PackingLine>,
    /// The file was not UTF-8 and was read as Windows-1251 (Excel's "CSV" in this region).
    pub windows_1251: bool,
}

impl PackingList {
    /// Pairs declared over every line.
    pub fn total(&self) -> u64 {
        self.lines.iter().map(|l| u64::from(l.quantity)).sum()
    }

    /// The lines as the ledger takes them.
    pub fn declared(&self) -> Vec<DeclaredLine> {
        self.lines
            .iter()
            .map(|l| DeclaredLine {
                line: l.line,
                gtin: l.gtin.clone(),
                name: l.name.clone(),
                size: l.size.clone(),
                quantity: l.quantity,
            })
            .collect()
    }
}

fn err(line: usize, message: impl Into<String>) -> BadLine {
    BadLine {
        line,
        message: message.into(),
    }
}

/// The column a header names, by any of the names it goes by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    Gtin,
    Name,
    Size,
    Quantity,
}

fn column(header: &str) -> Option<Column> {
    let h = header.trim().trim_matches('"').trim().to_lowercase();
    match h.as_str() {
        "gtin" | "гтин" | "ean" | "штрихкод" | "штрих-код" => {
            Some(Column::Gtin)
        }
        "name" | "наименование" | "название" | "товар" => {
            Some(Column::Name)
        }
        "size" | "размер" => Some(Column::Size),
        "quantity" | "qty" | "количество" | "кол-во" | "кол." => {
            Some(Column::Quantity)
        }
        _ => None,
    }
}

/// The separator of the header line: the one of `;`, `,` and tab that occurs most outside quotes.
fn separator(header: &str) -> u8 {
    let (mut semi, mut comma, mut tab, mut quoted) = (0, 0, 0, false);
    for c in header.chars() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => semi += 1,
            ',' if !quoted => comma += 1,
            '\t' if !quoted => tab += 1,
            _ => {}
        }
    }
    if tab > semi && tab > comma {
        b'\t'
    } else if semi >= comma && semi > 0 {
        b';'
    } else {
        b','
    }
}

/// Text of the file: UTF-8 (a byte order mark is dropped), else Windows-1251.
fn decode(bytes: &[u8]) -> (String, bool) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), false),
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1251.decode(bytes);
            (text.into_owned(), true)
        }
    }
}

fn parse_gtin(raw: &str) -> Result<Gtin, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err("the GTIN is empty".into());
    }
    if t.contains(['E', 'e']) && t.chars().any(|c| c.is_ascii_digit()) && t.contains('+') {
        return Err(format!(
            "the GTIN {t:?} was turned into a number by a spreadsheet: format the column as text, type the GTINs again and save the file again"
        ));
    }
    Gtin::parse(t).map_err(|e| format!("the GTIN {t:?} is not valid: {e}"))
}

fn parse_quantity(raw: &str) -> Result<u32, String> {
    // Thousands may be grouped with spaces (also no-break ones), as spreadsheets here write them.
    let t: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .collect();
    // "12.0" or "12,00" from a spreadsheet's number format.
    let whole = t
        .strip_suffix(".0")
        .or_else(|| t.strip_suffix(",0"))
        .or_else(|| t.strip_suffix(".00"))
        .or_else(|| t.strip_suffix(",00"))
        .unwrap_or(&t);
    match whole.parse::<u32>() {
        Ok(0) => {
            Err("the quantity is 0: leave a product that is not in the consignment out".into())
        }
        Ok(n) if n > MAX_QUANTITY => Err(format!(
            "the quantity {n} is more than {MAX_QUANTITY}: check the number"
        )),
        Ok(n) => Ok(n),
        Err(_) if t.is_empty() => Err("the quantity is empty".into()),
        Err(_) => Err(format!(
            "the quantity {:?} is not a whole number of pairs",
            raw.trim()
        )),
    }
}

/// Check a packing list. All lines must be good; every bad line is named.
pub fn parse(bytes: &[u8]) -> Result<PackingList, Vec<BadLine>> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(vec![err(
            0,
            format!(
                "the file is {} MB; a packing list is far smaller: is it the right file?",
                bytes.len() / (1024 * 1024)
            ),
        )]);
    }
    let (text, windows_1251) = decode(bytes);
    let Some(header) = text.lines().find(|l| !l.trim().is_empty()) else {
        return Err(vec![err(
            0,
            "the file is empty: it needs a header (gtin,name,size,quantity) and a line per product",
        )]);
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator(header))
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    // The line a record starts on, from its byte offset. After a CRLF the reader puts a record's start
    // on the LF that ends the line before (and its own line count is off), hence `<=`.
    let newlines: Vec<usize> = text
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i)
        .collect();
    let line_of = |pos: Option<&csv::Position>| -> usize {
        pos.map_or(0, |p| {
            let byte = usize::try_from(p.byte()).unwrap_or(usize::MAX);
            newlines.partition_point(|&n| n <= byte) + 1
        })
    };
    let mut records = reader.records();
    let mut errors = Vec::new();

    // The header: the first non-empty record.
    let mut columns: HashMap<Column, usize> = HashMap::new();
    let mut header_line = 0;
    for rec in records.by_ref() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                return Err(vec![err(
                    line_of(e.position()).max(1),
                    format!("not readable as CSV: {e}"),
                )]);
            }
        };
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        header_line = line_of(rec.position()).max(1);
        for (i, h) in rec.iter().enumerate() {
            if let Some(c) = column(h)
                && columns.insert(c, i).is_some()
            {
                errors.push(err(
                    header_line,
                    format!("the header names the column {:?} twice", h.trim()),
                ));
            }
        }
        break;
    }
    let missing: Vec<&str> = [
        (Column::Gtin, "gtin"),
        (Column::Name, "name"),
        (Column::Quantity, "quantity"),
    ]
    .into_iter()
    .filter(|(c, _)| !columns.contains_key(c))
    .map(|(_, n)| n)
    .collect();
    if !missing.is_empty() {
        errors.push(err(
            header_line.max(1),
            format!(
                "the header has no column {}: the first line must name the columns, e.g. gtin,name,size,quantity",
                missing.join(", ")
            ),
        ));
        return Err(errors);
    }
    let at = |c: Column| columns.get(&c).copied();

    let mut lines = Vec::new();
    let mut seen: HashMap<Gtin, usize> = HashMap::new();
    for rec in records {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(err(
                    line_of(e.position()),
                    format!("not readable as CSV: {e}"),
                ));
                continue;
            }
        };
        let line = line_of(rec.position());
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let field = |c: Column| at(c).and_then(|i| rec.get(i)).unwrap_or("");
        let mut bad = Vec::new();
        let gtin = parse_gtin(field(Column::Gtin))
            .map_err(|e| bad.push(e))
            .ok();
        let name = field(Column::Name).trim().to_owned();
        if name.is_empty() {
            bad.push("the name is empty".into());
        } else if name.chars().count() > 200 {
            bad.push(format!(
                "the name is {} characters long; at most 200",
                name.chars().count()
            ));
        }
        let size = Some(field(Column::Size).trim().to_owned()).filter(|s| !s.is_empty());
        let quantity = parse_quantity(field(Column::Quantity))
            .map_err(|e| bad.push(e))
            .ok();
        if let Some(g) = &gtin
            && let Some(first) = seen.get(g)
        {
            bad.push(format!(
                "GTIN {g} is on line {first} already: one line per product (add the quantities)"
            ));
        }
        match (gtin, quantity) {
            (Some(gtin), Some(quantity)) if bad.is_empty() => {
                seen.insert(gtin.clone(), line);
                lines.push(PackingLine {
                    line,
                    gtin,
                    name,
                    size,
                    quantity,
                });
            }
            _ => errors.push(err(line, bad.join("; "))),
        }
    }
    if errors.is_empty() && lines.is_empty() {
        errors.push(err(
            header_line + 1,
            "no product lines after the header: a line per product (gtin,name,size,quantity)",
        ));
    }
    if errors.is_empty() {
        Ok(PackingList {
            lines,
            windows_1251,
        })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const A: &str = "4601234567893";
    const B: &str = "04607001234562";

    fn ok(text: &[u8]) -> PackingList {
        parse(text).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn bad(text: &[u8]) -> Vec<BadLine> {
        parse(text).expect_err("should be refused")
    }

    #[test]
    fn comma_separated_with_a_quoted_cyrillic_name_holding_a_comma() {
        let l = ok(format!(
            "gtin,name,size,quantity\n{A},\"Кеды детские, синие\",38,12\n{B},Сапоги,41,8\n"
        )
        .as_bytes());
        assert_eq!(l.lines.len(), 2);
        assert_eq!(l.lines[0].name, "Кеды детские, синие");
        assert_eq!(l.lines[0].gtin.as_str(), "04601234567893");
        assert_eq!(l.lines[0].size.as_deref(), Some("38"));
        assert_eq!((l.lines[0].line, l.lines[1].line), (2, 3));
        assert_eq!(l.total(), 20);
        assert!(!l.windows_1251);
    }

    #[test]
    fn excel_in_this_region_semicolons_bom_crlf_russian_header_extra_columns() {
        let text = format!(
            "\u{feff}Артикул;GTIN;Наименование;Размер;Цвет;Количество\r\nK-1;{A};\"Кеды; летние\";38;синий;1 200\r\nK-2;{B};Сапоги;;чёрный;8,00\r\n"
        );
        let l = ok(text.as_bytes());
        assert_eq!(l.lines[0].name, "Кеды; летние");
        assert_eq!(l.lines[0].quantity, 1200);
        assert_eq!(l.lines[1].size, None);
        assert_eq!(l.lines[1].quantity, 8);
        assert_eq!((l.lines[0].line, l.lines[1].line), (2, 3));
    }

    #[test]
    fn windows_1251_is_read_when_the_file_is_not_utf8() {
        let text = format!("gtin;name;size;quantity\n{A};Ботинки;40;3\n");
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
        let l = ok(&bytes);
        assert!(l.windows_1251);
        assert_eq!(l.lines[0].name, "Ботинки");
    }

    #[test]
    fn columns_in_any_order_and_tabs() {
        let l = ok(format!("quantity\tgtin\tname\n5\t{A}\tКеды\n").as_bytes());
        assert_eq!((l.lines[0].quantity, l.lines[0].size.clone()), (5, None));
    }

    #[test]
    fn every_bad_line_is_named_and_nothing_is_taken() {
        let text = format!(
            "gtin,name,size,quantity\n\
             4601234567890,Кеды,38,1\n\
             4.60123E+12,Кеды,38,1\n\
             {A},,38,1\n\
             {B},Сапоги,41,0\n\
             {A},Кеды,38,два\n\
             {B},Сапоги,41,2000000\n\
             {B},Сапоги,41,5\n\
             {B},Сапоги,42,5\n"
        );
        let e = bad(text.as_bytes());
        let lines: Vec<usize> = e.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 9], "{e:#?}");
        assert!(e[0].message.contains("not valid"), "{}", e[0].message);
        assert!(e[1].message.contains("spreadsheet"), "{}", e[1].message);
        assert!(e[2].message.contains("name is empty"), "{}", e[2].message);
        assert!(e[3].message.contains("quantity is 0"), "{}", e[3].message);
        assert!(e[4].message.contains("whole number"), "{}", e[4].message);
        assert!(e[5].message.contains("more than"), "{}", e[5].message);
        assert!(
            e[6].message.contains("on line 8 already"),
            "{}",
            e[6].message
        );
    }

    #[test]
    fn a_header_without_the_needed_columns_says_which() {
        let e = bad(format!("code,title\n{A},Кеды\n").as_bytes());
        assert_eq!(e.len(), 1);
        assert!(
            e[0].message.contains("gtin, name, quantity"),
            "{}",
            e[0].message
        );
        let e = bad(b"gtin,name,quantity,Quantity\n");
        assert!(e[0].message.contains("twice"), "{e:?}");
    }

    #[test]
    fn empty_files_and_headers_alone_are_refused() {
        assert!(bad(b"")[0].message.contains("empty"));
        assert!(bad(b"\n\r\n  \n")[0].message.contains("empty"));
        assert!(
            bad(b"gtin,name,size,quantity\n\n")[0]
                .message
                .contains("no product lines")
        );
    }

    #[test]
    fn a_broken_quote_is_an_error_not_a_panic() {
        let e = parse(format!("gtin,name,quantity\n{A},\"Кеды,3\n{B},x,1\n").as_bytes());
        // The csv reader takes the rest of the file into the quoted field: the line is short of fields.
        assert!(e.is_err());
    }
}
