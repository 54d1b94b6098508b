// SPDX-License-Identifier: GPL-3.0-or-later
//! Importing codes from a file, for posts that receive them offline (one code per line).
//!
//! The import is all or nothing: every line is checked first, and a file with any bad line imports
//! nothing and names every bad line. Lines may hold codes in any form codes really arrive in (see
//! [`crate::codes::normalize`]). A code already in the ledger is skipped, so importing the same file twice
//! is harmless; a code repeated inside the file is imported once.

use std::collections::HashMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Actor, StoreError, audit, begin, now_ms, pool, product_exists};
use crate::codes::{CodeFormat, Gtin, MarkingCode};

/// Refuse files larger than this: a full order of 150 000 codes is about 15 MB.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// A code is at most ~130 characters; a much longer line is not a code and is not echoed.
const MAX_LINE_BYTES: usize = 1024;

/// A line that cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// 1-based line number in the file.
    pub line: usize,
    pub message: String,
}

/// The checked content of a code file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFile {
    /// Distinct codes with the line each first appears on, in file order.
    pub codes: Vec<(usize, MarkingCode)>,
    /// (line, earlier line) for every line that repeats an earlier one.
    pub repeats: Vec<(usize, usize)>,
}

/// Check every line of `bytes`. All codes must be valid and for `gtin`.
pub fn parse_code_file(
    bytes: &[u8],
    gtin: &Gtin,
    format: &CodeFormat,
) -> Result<CodeFile, Vec<LineError>> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(vec![LineError {
            line: 0,
            message: format!(
                "the file is {} MB; at most {} MB can be imported at once: split it",
                bytes.len() / (1024 * 1024),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        }]);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut errors = Vec::new();
    let mut codes = Vec::new();
    let mut repeats = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut idents: HashMap<String, usize> = HashMap::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        if raw.len() > MAX_LINE_BYTES {
            errors.push(LineError {
                line,
                message: format!(
                    "line is {} bytes long; a marking code is at most about 130",
                    raw.len()
                ),
            });
            continue;
        }
        let code = match MarkingCode::parse(raw, format) {
            Ok(c) => c,
            Err(e) => {
                errors.push(LineError {
                    line,
                    message: e.to_string(),
                });
                continue;
            }
        };
        if code.gtin() != gtin {
            errors.push(LineError {
                line,
                message: format!("the code is for GTIN {}, not {gtin}", code.gtin()),
            });
            continue;
        }
        if let Some(&first) = seen.get(code.as_str()) {
            repeats.push((line, first));
            continue;
        }
        if let Some(&first) = idents.get(code.identification()) {
            errors.push(LineError {
                line,
                message: format!(
                    "serial {} appears on line {first} with a different verification/crypto part: \
                     one of them is damaged; ask the registry which is valid",
                    code.serial()
                ),
            });
            continue;
        }
        seen.insert(code.as_str().to_owned(), line);
        idents.insert(code.identification().to_owned(), line);
        codes.push((line, code));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CodeFile { codes, repeats })
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub gtin: String,
    /// Codes added to the pool as AVAILABLE.
    pub imported: usize,
    /// Codes the ledger already held (skipped).
    pub already_in_ledger: usize,
    /// Lines that repeated an earlier line of the file (imported once).
    pub repeated_lines: usize,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} line(s) cannot be imported; nothing was imported", .0.len())]
    Lines(Vec<LineError>),
    #[error("the file holds no codes")]
    Empty,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        ImportError::Store(e.into())
    }
}

impl super::Ledger {
    /// Import the codes in `bytes` (the content of the file named `reference`) for product `gtin`.
    pub fn import_codes(
        &mut self,
        gtin: &Gtin,
        reference: &str,
        bytes: &[u8],
        format: &CodeFormat,
        actor: &Actor,
    ) -> Result<ImportReport, ImportError> {
        product_exists(&self.conn, gtin)?;
        let file = parse_code_file(bytes, gtin, format).map_err(ImportError::Lines)?;
        if file.codes.is_empty() {
            return Err(ImportError::Empty);
        }
        let sha256 = hex::encode(Sha256::digest(bytes));
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let sorted = pool::sort(&tx, file.codes.iter().map(|(_, c)| c))?;
        if !sorted.conflicts.is_empty() {
            let errors = sorted
                .conflicts
                .iter()
                .map(|&i| LineError {
                    line: file.codes[i].0,
                    message: pool::conflict_message(&file.codes[i].1),
                })
                .collect();
            return Err(ImportError::Lines(errors));
        }
        if !sorted.fresh.is_empty() {
            let source = pool::Source {
                kind: "IMPORT",
                reference,
                sha256: Some(&sha256),
                gtin,
                first_move: "import",
            };
            pool::add(&tx, &source, &sorted.fresh, actor, at)?;
        }
        let (fresh, already) = (sorted.fresh, sorted.already);
        let report = ImportReport {
            gtin: gtin.as_str().to_owned(),
            imported: fresh.len(),
            already_in_ledger: already,
            repeated_lines: file.repeats.len(),
            sha256,
        };
        let detail = serde_json::json!({
            "file": reference,
            "sha256": report.sha256,
            "imported": report.imported,
            "already_in_ledger": report.already_in_ledger,
            "repeated_lines": report.repeated_lines,
        });
        audit::append(
            &tx,
            at,
            actor,
            "codes.import",
            gtin.as_str(),
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(report)
    }
}
