// SPDX-License-Identifier: GPL-3.0-or-later
//! CSV exports: the ledger's codes with their states, and the shift report.
//!
//! Codes are written masked (`(01)…(21)…(91)****(92)****`) unless the full codes are asked for; full codes
//! are written with `<GS>` for each group separator (the form `codes import` accepts back). Every export
//! file is created `0600` and never overwrites an existing file.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::private_file;
use crate::codes::{CodeFormat, MarkingCode, SerialLength};
pub use crate::ledger::queries::ShiftLine;
use crate::ledger::{Ledger, StoreError, format_ms};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "cannot create {path}: {source}. The file must not exist yet (exports never overwrite): pick a new name."
    )]
    Create {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading the ledger: {0}")]
    Ledger(#[from] StoreError),
    #[error("{0}")]
    Time(String),
}

/// One CSV field: quoted when needed; text that a spreadsheet would run as a formula gets a leading `'`.
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn row(out: &mut impl Write, fields: &[String]) -> std::io::Result<()> {
    let line: Vec<String> = fields.iter().map(|f| field(f)).collect();
    out.write_all(line.join(",").as_bytes())?;
    out.write_all(b"\r\n")
}

fn create(path: &Path) -> Result<BufWriter<std::fs::File>, ExportError> {
    private_file(path)
        .map(BufWriter::new)
        .map_err(|source| ExportError::Create {
            path: path.to_path_buf(),
            source,
        })
}

fn finish(mut w: BufWriter<std::fs::File>, path: &Path) -> Result<(), ExportError> {
    let write = |source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    };
    w.flush().map_err(write)?;
    w.get_ref().sync_all().map_err(write)
}

/// Every code in the ledger with its state. Returns the number of codes written.
pub fn ledger_csv(ledger: &Ledger, out: &Path, full: bool) -> Result<u64, ExportError> {
    let mut w = create(out)?;
    let write = |source| ExportError::Write {
        path: out.to_path_buf(),
        source,
    };
    row(
        &mut w,
        &[
            "id",
            "gtin",
            "serial",
            "code",
            "state",
            "job",
            "state_at",
            "reason",
            "added_at",
            "verified_at",
        ]
        .map(String::from),
    )
    .map_err(write)?;
    // Read back with the loosest format: the codes were validated on the way in.
    let format = CodeFormat {
        serial_length: SerialLength::Variable,
        crypto_min: 1,
        crypto_max: 128,
    };
    let mut n = 0u64;
    let opt_ms = |v: Option<i64>| v.map(format_ms).unwrap_or_default();
    ledger.each_code(|r| -> Result<(), ExportError> {
        let shown = if full {
            r.code.replace('\u{1d}', "<GS>")
        } else {
            MarkingCode::parse(r.code.as_bytes(), &format)
                .map(|c| c.masked())
                .unwrap_or_else(|_| "(unreadable code)".into())
        };
        row(
            &mut w,
            &[
                r.id.to_string(),
                r.gtin,
                r.serial,
                shown,
                r.state,
                r.job.map(|j| j.to_string()).unwrap_or_default(),
                format_ms(r.state_at),
                r.reason.unwrap_or_default(),
                format_ms(r.added_at),
                opt_ms(r.verified_at),
            ],
        )
        .map_err(write)?;
        n += 1;
        Ok(())
    })?;
    finish(w, out)?;
    Ok(n)
}

/// The shift report as CSV, with a TOTAL line. Returns the lines (without the total).
pub fn shift_csv(
    ledger: &Ledger,
    from: i64,
    to: i64,
    out: &Path,
) -> Result<Vec<ShiftLine>, ExportError> {
    let lines = ledger.shift_lines(from, to)?;
    let mut w = create(out)?;
    let write = |source| ExportError::Write {
        path: out.to_path_buf(),
        source,
    };
    let (f, t) = (format_ms(from), format_ms(to));
    row(
        &mut w,
        &[
            "from",
            "to",
            "gtin",
            "product",
            "printed",
            "verified",
            "rejected",
            "written_off",
        ]
        .map(String::from),
    )
    .map_err(write)?;
    let mut total = ShiftLine {
        gtin: "TOTAL".into(),
        ..ShiftLine::default()
    };
    for l in &lines {
        total.printed += l.printed;
        total.verified += l.verified;
        total.rejected += l.rejected;
        total.written_off += l.written_off;
    }
    for l in lines.iter().chain(std::iter::once(&total)) {
        row(
            &mut w,
            &[
                f.clone(),
                t.clone(),
                l.gtin.clone(),
                l.product.clone(),
                l.printed.to_string(),
                l.verified.to_string(),
                l.rejected.to_string(),
                l.written_off.to_string(),
            ],
        )
        .map_err(write)?;
    }
    finish(w, out)?;
    Ok(lines)
}

/// Parse a time for `--from`/`--to`: `2026-11-24`, `2026-11-24T08:00`, `2026-11-24 08:00:00`, with an
/// optional `Z` or `+05:00` offset (no offset means UTC). Returns milliseconds since the epoch.
pub fn parse_time(text: &str) -> Result<i64, ExportError> {
    let bad = || {
        ExportError::Time(format!(
            "{text:?} is not a time: use 2026-11-24, 2026-11-24T08:00 or 2026-11-24T08:00:00+05:00 (no offset means UTC)"
        ))
    };
    let t = text.trim();
    let (body, offset_secs) = split_offset(t).ok_or_else(bad)?;
    let body = body.replace(' ', "T");
    let full = match body.len() {
        10 => format!("{body}T00:00:00Z"),
        16 => format!("{body}:00Z"),
        _ => format!("{body}Z"),
    };
    let at = humantime::parse_rfc3339_weak(&full).map_err(|_| bad())?;
    let ms = at
        .duration_since(UNIX_EPOCH)
        .map_err(|_| bad())?
        .as_millis();
    let ms = i64::try_from(ms).map_err(|_| bad())?;
    Ok(ms - offset_secs * 1000)
}

/// Split `…+05:00` / `…-03:00` / `…Z` into the local time and the offset in seconds.
fn split_offset(t: &str) -> Option<(&str, i64)> {
    if let Some(b) = t.strip_suffix(['Z', 'z']) {
        return Some((b, 0));
    }
    if t.len() > 16 {
        let (b, o) = t.split_at(t.len() - 6);
        let sign = match o.as_bytes().first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Some((t, 0)),
        };
        let (h, m) = o[1..].split_once(':')?;
        let secs = h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60;
        return Some((b, sign * secs));
    }
    Some((t, 0))
}

/// Now, in ledger milliseconds (for an open-ended `--to`).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis()
        .try_into()
        .unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=cmd()"), "'=cmd()");
    }

    #[test]
    fn times() {
        let day = parse_time("2026-11-24").unwrap();
        assert_eq!(parse_time("2026-11-24T00:00:00Z").unwrap(), day);
        assert_eq!(parse_time("2026-11-24 05:00+05:00").unwrap(), day);
        assert_eq!(parse_time("2026-11-24T05:00:00+05:00").unwrap(), day);
        assert_eq!(parse_time("2026-11-23T22:00:00-02:00").unwrap(), day);
        assert!(parse_time("yesterday").is_err());
    }
}
