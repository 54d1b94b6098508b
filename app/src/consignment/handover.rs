// SPDX-License-Identifier: GPL-3.0-or-later
//! The hand-over of a consignment to its importer or broker, as files:
//! - `<id>-import-codes.csv`: the identification codes (`01` GTIN `21` serial, no crypto tail) of every
//!   applied pair, one per line and nothing else, as the registry's web cabinet takes them for an
//!   import notice filed by hand («Уведомление о ввозе», shared research: customs workflow 1.3; the
//!   cabinet's exact CSV layout beyond "identification codes without tail" is not published);
//! - `<id>-line-<n>-<gtin>.csv`: per packing-list line, `code,status` with each labelled pair's import
//!   status (IN_CIRCULATION, SUBMITTED, REFUSED, TO_SUBMIT_AGAIN, APPLIED);
//! - `<id>-boxes.csv` (when pairs were packed): `sscc,level,pallet,state,code`, one row per pair in a
//!   box (the box's SSCC, 1, the pallet it is on, its state, the pair's identification code) and one
//!   per box on a pallet (the pallet's SSCC, 2, empty, its state, the box's SSCC): the SSCC hierarchy;
//! - `<id>-summary.html`: a printable summary: importer, declaration, counts per line, the documents
//!   with their registry ids and statuses, and the problems.
//!
//! Files are written 0600 and never overwritten: if one already exists nothing is written.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::ledger::Ledger;
use crate::ledger::boxes::BoxLevel;
use crate::ledger::consignments::Consignment;
use crate::ledger::documents::DocumentSummary;

/// Write the hand-over files of consignment `id` into `dir` (created 0700 if missing). Returns the
/// files written.
pub fn export(ledger: &Ledger, id: &str, dir: &Path) -> Result<Vec<PathBuf>> {
    let c = ledger.consignment(id)?;
    let docs = ledger.documents_of(id)?;
    let applied = ledger.applied_idents(id)?;
    let stem = file_stem(&c.id);
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut all = String::new();
    for (_, ident, _) in &applied {
        all.push_str(ident);
        all.push('\n');
    }
    files.push((dir.join(format!("{stem}-import-codes.csv")), all));
    for l in &c.lines {
        let mut csv = String::from("code,status\n");
        for (_, ident, outcome) in applied.iter().filter(|(g, ..)| g == l.gtin.as_str()) {
            let status = match outcome.as_deref() {
                Some("ACCEPTED") => "IN_CIRCULATION",
                Some("PENDING") => "SUBMITTED",
                Some("REFUSED") => "REFUSED",
                Some("RETURNED") => "TO_SUBMIT_AGAIN",
                _ => "APPLIED",
            };
            csv.push_str(&format!("{ident},{status}\n"));
        }
        files.push((
            dir.join(format!("{stem}-line-{}-{}.csv", l.line, l.gtin)),
            csv,
        ));
    }
    let boxes = ledger.boxes(Some(id))?;
    if !boxes.is_empty() {
        let mut csv = String::from("sscc,level,pallet,state,code\n");
        for b in &boxes {
            let state = if ledger.box_unpacked(&b.sscc)? {
                "UNPACKED"
            } else {
                b.state.as_str()
            };
            match b.level {
                BoxLevel::Box => {
                    for item in ledger.box_items(&b.sscc)? {
                        let code = ledger.code(item)?.code;
                        csv.push_str(&format!(
                            "{},1,{},{state},{}\n",
                            b.sscc,
                            b.parent.as_deref().unwrap_or(""),
                            code.identification()
                        ));
                    }
                }
                BoxLevel::Pallet => {
                    for inner in boxes
                        .iter()
                        .filter(|x| x.parent.as_deref() == Some(&b.sscc))
                    {
                        csv.push_str(&format!("{},2,,{state},{}\n", b.sscc, inner.sscc));
                    }
                }
            }
        }
        files.push((dir.join(format!("{stem}-boxes.csv")), csv));
    }
    files.push((dir.join(format!("{stem}-summary.html")), summary(&c, &docs)));

    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    if let Some((existing, _)) = files.iter().find(|(p, _)| p.exists()) {
        bail!(
            "{} exists already: nothing was written. Export into another directory (--out), or move the old files aside",
            existing.display()
        );
    }
    let mut written = Vec::new();
    for (path, text) in &files {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path.clone());
    }
    Ok(written)
}

/// A consignment id as a file name: letters, digits, `.`, `_` and `-` kept, anything else `_`.
fn file_stem(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn summary(c: &Consignment, docs: &[DocumentSummary]) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str(&format!("<title>Consignment {}</title>", esc(&c.id)));
    h.push_str("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #999;padding:4px 8px;text-align:right}td.l,th.l{text-align:left}.bad{color:#b00}</style></head><body>\n");
    h.push_str(&format!(
        "<h1>Consignment {}</h1>\n<p>Status: <b>{}</b></p>\n<table>\n",
        esc(&c.id),
        c.status.as_str()
    ));
    let row = |k: &str, v: &str| {
        format!(
            "<tr><th class=\"l\">{}</th><td class=\"l\">{}</td></tr>\n",
            esc(k),
            esc(v)
        )
    };
    h.push_str(&row(
        "Importer (BIN)",
        &match &c.importer_name {
            Some(n) => format!("{} ({n})", c.importer_bin),
            None => c.importer_bin.clone(),
        },
    ));
    h.push_str(&row("Country of production", &c.country));
    if let Some(i) = &c.invoice {
        h.push_str(&row("Invoice", i));
    }
    h.push_str(&row(
        "Customs declaration",
        &match &c.declaration {
            Some(d) => format!(
                "{} of {}{}",
                d.number,
                d.date,
                d.customs_office
                    .as_deref()
                    .map(|o| format!(", customs office {o}"))
                    .unwrap_or_default()
            ),
            None => "not yet recorded".into(),
        },
    ));
    h.push_str("</table>\n<h2>Lines</h2>\n<table>\n<tr><th>Line</th><th class=\"l\">GTIN</th><th class=\"l\">Name</th><th>Declared</th><th>Labelled</th><th>Verified</th><th>Applied</th><th>In circulation</th><th>Refused</th><th>To submit again</th></tr>\n");
    for l in &c.lines {
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td><td{}>{}</td></tr>\n",
            l.line,
            l.gtin,
            esc(&match &l.size {
                Some(s) => format!("{}, size {s}", l.name),
                None => l.name.clone(),
            }),
            l.declared,
            l.labelled,
            l.verified,
            l.reported,
            l.introduced,
            if l.refused > 0 { " class=\"bad\"" } else { "" },
            l.refused,
            if l.returned > 0 { " class=\"bad\"" } else { "" },
            l.returned,
        ));
    }
    h.push_str("</table>\n<h2>Registry documents</h2>\n");
    if docs.is_empty() {
        h.push_str("<p>None filed yet.</p>\n");
    } else {
        h.push_str("<table>\n<tr><th>#</th><th class=\"l\">Kind</th><th class=\"l\">Registry id</th><th class=\"l\">Status</th><th>Codes</th><th>Taken</th><th>Refused</th><th>To submit again</th><th class=\"l\">Registry's words</th></tr>\n");
        for d in docs {
            h.push_str(&format!(
                "<tr><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>\n",
                d.id,
                d.kind.as_str(),
                esc(d.registry_id.as_deref().unwrap_or("-")),
                d.status.as_str(),
                d.codes,
                d.accepted,
                d.refused,
                d.returned,
                esc(d.reason.as_deref().unwrap_or("")),
            ));
        }
        h.push_str("</table>\n");
    }
    let problems: Vec<String> = c
        .lines
        .iter()
        .filter(|l| l.refused > 0 || l.returned > 0 || l.introduced < l.declared)
        .map(|l| {
            format!(
                "Line {} (GTIN {}): {} of {} declared pair(s) in circulation, {} refused, {} to submit again",
                l.line, l.gtin, l.introduced, l.declared, l.refused, l.returned
            )
        })
        .collect();
    h.push_str("<h2>Problems</h2>\n");
    if problems.is_empty() {
        h.push_str("<p>None: every declared pair is in circulation.</p>\n");
    } else {
        h.push_str("<ul>\n");
        for p in problems {
            h.push_str(&format!("<li class=\"bad\">{}</li>\n", esc(&p)));
        }
        h.push_str("</ul>\n");
    }
    h.push_str(&format!(
        "<p><small>Written by labelstation {} on {}.</small></p>\n</body></html>\n",
        env!("CARGO_PKG_VERSION"),
        crate::ledger::format_ms(crate::ledger::now_ms())
    ));
    h
}

#[cfg(test)]
mod tests {
    use super::{esc, file_stem};

    #[test]
    fn names_and_escapes() {
        assert_eq!(file_stem("INV-2026/001 a"), "INV-2026_001_a");
        assert_eq!(file_stem("..x"), "_..x");
        assert_eq!(file_stem("Партия"), "______");
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
