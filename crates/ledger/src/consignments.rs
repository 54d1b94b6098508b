// SPDX-License-Identifier: GPL-3.0-or-later
//! Consignments under customs control: who imports them (BIN), from which country, what the packing
//! list declares per product, and later the customs declaration. Codes labelled for a consignment stay
//! linked to it (`consignment_codes`), so its progress per line is counted from the codes themselves.
//!
//! A consignment's status is not stored but read from its lines, its codes and its declaration, so it
//! can never disagree with them: OPEN (nothing labelled yet) → LABELLING → LABELLED (every line's
//! declared pairs verified) → DECLARED (the customs declaration is recorded) → SUBMITTED (import
//! documents being processed) → INTRODUCED (every declared pair in circulation), or PROBLEMS (the
//! registry refused codes or a document, and nothing is being processed).

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Actor, Ledger, StoreError, audit, begin, now_ms};
use crate::codes::{Gtin, is_country_code};

/// What a consignment is, as given when its packing list is imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsignment {
    /// The warehouse's or broker's reference (e.g. the invoice or transport document number).
    pub id: String,
    /// The importer's business identification number (БИН, 12 digits).
    pub importer_bin: String,
    pub importer_name: Option<String>,
    /// Country of production, ISO 3166 alpha-2 (goes into the application reports).
    pub country: String,
    pub invoice: Option<String>,
}

/// A line of a packing list as the ledger takes it: one product and the pairs declared. (The file's
/// parser lives with the app; the ledger knows only this.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredLine {
    /// Its line number in the packing list.
    pub line: usize,
    pub gtin: Gtin,
    pub name: String,
    pub size: Option<String>,
    pub quantity: u32,
}

/// Where a consignment stands, read from its lines, codes and declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsignmentStatus {
    /// Nothing labelled for it yet.
    Open,
    Labelling,
    /// Every line's declared pairs carry a verified sticker.
    Labelled,
    /// The customs declaration is recorded.
    Declared,
    /// Import documents are with the registry.
    Submitted,
    /// Every declared pair is in circulation.
    Introduced,
    /// The registry refused codes or a whole document; nothing is being processed.
    Problems,
}

impl ConsignmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsignmentStatus::Open => "OPEN",
            ConsignmentStatus::Labelling => "LABELLING",
            ConsignmentStatus::Labelled => "LABELLED",
            ConsignmentStatus::Declared => "DECLARED",
            ConsignmentStatus::Submitted => "SUBMITTED",
            ConsignmentStatus::Introduced => "INTRODUCED",
            ConsignmentStatus::Problems => "PROBLEMS",
        }
    }
}

/// The customs declaration (ДТ) the goods are released under.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Declaration {
    pub number: String,
    /// YYYY-MM-DD.
    pub date: String,
    pub customs_office: Option<String>,
}

/// One line of a consignment and how far its pairs are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineProgress {
    pub gtin: Gtin,
    /// Its line in the packing list.
    pub line: i64,
    pub name: String,
    pub size: Option<String>,
    pub declared: u64,
    /// Stickers printed for it and not rejected: at a printer or waiting for their scan, or verified.
    pub labelled: u64,
    /// Verified on a pair.
    pub verified: u64,
    /// Their application accepted by the registry.
    pub reported: u64,
    /// In circulation by the registry's import document (comes with `consignment submit`).
    pub introduced: u64,
    /// Refused by the registry's import document (by name), and not in circulation since.
    pub refused: u64,
    /// Not introduced because their document was refused for other codes or for itself: to be
    /// submitted again.
    pub returned: u64,
    /// In an import document being processed.
    pub submitted: u64,
}

/// A consignment with its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consignment {
    pub id: String,
    pub status: ConsignmentStatus,
    pub importer_bin: String,
    pub importer_name: Option<String>,
    pub country: String,
    pub invoice: Option<String>,
    pub declaration: Option<Declaration>,
    pub created_at_ms: i64,
    pub lines: Vec<LineProgress>,
}

impl Consignment {
    pub fn declared(&self) -> u64 {
        self.lines.iter().map(|l| l.declared).sum()
    }
    pub fn verified(&self) -> u64 {
        self.lines.iter().map(|l| l.verified).sum()
    }
}

/// What importing a packing list did beyond storing it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ConsignmentImported {
    /// Products the ledger did not know, created from the packing list's name and size.
    pub products_created: Vec<Gtin>,
    /// Known products the packing list names otherwise: (GTIN, the ledger's name, the list's name).
    /// The ledger's name is kept (it is on the labels already).
    pub names_differ: Vec<(Gtin, String, String)>,
}

fn bad(detail: impl Into<String>) -> StoreError {
    StoreError::Consignment {
        id: String::new(),
        detail: detail.into(),
    }
}

/// Check a consignment's own fields: what the schema demands, said in words.
fn check_new(c: &NewConsignment) -> Result<(), StoreError> {
    let id = &c.id;
    if id.is_empty() || id.chars().count() > 64 {
        return Err(bad(
            "the consignment id must be 1 to 64 characters (e.g. the invoice or transport document number)",
        ));
    }
    if id.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
        return Err(bad(format!(
            "the consignment id {id:?} has spaces or control characters: use letters, digits and - / ."
        )));
    }
    if c.importer_bin.len() != 12 || !c.importer_bin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!(
            "the importer's BIN {:?} is not 12 digits",
            c.importer_bin
        )));
    }
    if !is_country_code(&c.country) {
        return Err(bad(format!(
            "the country {:?} is not an ISO 3166 alpha-2 code in capitals (e.g. CN, TR, VN)",
            c.country
        )));
    }
    Ok(())
}

/// How many pairs a consignment's line declares, and how many codes are labelled or being labelled
/// for it: linked to it (at a printer, waiting for a scan, or verified) or reserved by one of its jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineRoom {
    pub declared: u64,
    pub used: u64,
}

impl LineRoom {
    pub fn left(&self) -> u64 {
        self.declared.saturating_sub(self.used)
    }
}

/// [`LineRoom`] of `consignment`'s line for `gtin`; an error when there is no such consignment or line.
pub(super) fn line_room(
    conn: &rusqlite::Connection,
    consignment: &str,
    gtin: &Gtin,
) -> Result<LineRoom, StoreError> {
    let declared: Option<i64> = conn
        .query_row(
            "SELECT declared FROM consignment_lines WHERE consignment = ?1 AND gtin = ?2",
            params![consignment, gtin.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    let Some(declared) = declared else {
        let known: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM consignments WHERE id = ?1)",
            [consignment],
            |r| r.get(0),
        )?;
        return Err(if known {
            StoreError::Consignment {
                id: consignment.to_owned(),
                detail: format!("GTIN {gtin} is not on its packing list"),
            }
        } else {
            StoreError::NoSuchConsignment(consignment.to_owned())
        });
    };
    let used: i64 = conn.query_row(
        "SELECT (SELECT count(*) FROM consignment_codes k JOIN codes c ON c.id = k.code_id
                 WHERE k.consignment = ?1 AND c.gtin = ?2
                   AND (c.state IN ('SENT', 'PRINTED') OR c.verified_at IS NOT NULL))
              + (SELECT count(*) FROM codes c JOIN consignment_jobs j ON j.job_id = c.job_id
                 WHERE j.consignment = ?1 AND c.gtin = ?2 AND c.state = 'RESERVED'
                   AND NOT EXISTS (SELECT 1 FROM consignment_codes k WHERE k.code_id = c.id))",
        params![consignment, gtin.as_str()],
        |r| r.get(0),
    )?;
    Ok(LineRoom {
        declared: u64::try_from(declared).unwrap_or(0),
        used: u64::try_from(used).unwrap_or(0),
    })
}

impl Ledger {
    /// Record (or correct) the customs declaration a consignment is released under, audited. A
    /// declaration that documents were filed under stays as it is.
    pub fn declare_consignment(
        &mut self,
        id: &str,
        decl: &Declaration,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let bad = |detail: String| StoreError::Consignment {
            id: id.to_owned(),
            detail,
        };
        let number = decl.number.trim();
        if number.is_empty() || number.chars().count() > 50 || number.chars().any(char::is_control)
        {
            return Err(bad(format!(
                "declaration number {:?}: 1 to 50 printable characters, as registered (e.g. 55201/020326/0001234)",
                decl.number
            )));
        }
        if !valid_date(&decl.date) {
            return Err(bad(format!(
                "declaration date {:?}: a date as YYYY-MM-DD",
                decl.date
            )));
        }
        if let Some(o) = &decl.customs_office
            && (o.is_empty() || o.len() > 16 || !o.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(bad(format!(
                "customs office {o:?}: its code, letters and digits only (e.g. 55201)"
            )));
        }
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let old: Option<(Option<String>, Option<String>, Option<String>)> = tx
            .query_row(
                "SELECT declaration_number, declaration_date, customs_office FROM consignments WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some(old) = old else {
            return Err(StoreError::NoSuchConsignment(id.to_owned()));
        };
        let new = (
            Some(number.to_owned()),
            Some(decl.date.clone()),
            decl.customs_office.clone(),
        );
        if old == new {
            return Ok(());
        }
        let filed: i64 = tx.query_row(
            "SELECT count(*) FROM documents d WHERE d.consignment = ?1 AND d.kind = 'IMPORT'
               AND EXISTS (SELECT 1 FROM document_codes c WHERE c.document = d.id AND c.outcome IN ('PENDING', 'ACCEPTED'))",
            [id],
            |r| r.get(0),
        )?;
        if filed > 0 {
            return Err(bad(format!(
                "{filed} import document(s) were filed under declaration {}: it cannot change now",
                old.0.unwrap_or_default()
            )));
        }
        tx.execute(
            "UPDATE consignments SET declaration_number = ?2, declaration_date = ?3, customs_office = ?4,
                 declared_at = ?5 WHERE id = ?1",
            params![id, new.0, new.1, new.2, at],
        )?;
        let detail = serde_json::json!({
            "number": number, "date": decl.date, "customs_office": decl.customs_office,
            "before": old.0,
        });
        audit::append(
            &tx,
            at,
            actor,
            "consignment.declare",
            id,
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Room left on `consignment`'s line for `gtin`.
    pub fn consignment_line_room(
        &self,
        consignment: &str,
        gtin: &Gtin,
    ) -> Result<LineRoom, StoreError> {
        line_room(&self.conn, consignment, gtin)
    }

    /// Codes of `gtin` in the pool that a run may take (AVAILABLE and not held after a restore).
    pub fn pool_available(&self, gtin: &Gtin) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM codes WHERE gtin = ?1 AND state = 'AVAILABLE'
               AND NOT EXISTS (SELECT 1 FROM code_holds h WHERE h.code_id = codes.id AND h.ended_at IS NULL)",
            [gtin.as_str()],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Supervisor: raise the pairs a line declares (the packing list was short), audited. Never lowers
    /// a line.
    pub fn raise_line(
        &mut self,
        consignment: &str,
        gtin: &Gtin,
        to: u64,
        actor: &Actor,
    ) -> Result<LineRoom, StoreError> {
        if actor.role != super::state::Role::Supervisor {
            return Err(StoreError::NeedsSupervisor {
                mv: "raise a consignment line",
                actor: actor.name.clone(),
                role: actor.role.as_str(),
            });
        }
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let room = line_room(&tx, consignment, gtin)?;
        if to <= room.declared {
            return Err(StoreError::Consignment {
                id: consignment.to_owned(),
                detail: format!(
                    "GTIN {gtin} declares {} pair(s) already: a line is only raised",
                    room.declared
                ),
            });
        }
        let to_sql = i64::try_from(to).map_err(|_| StoreError::Consignment {
            id: consignment.to_owned(),
            detail: format!("{to} pairs is not a number of pairs"),
        })?;
        tx.execute(
            "UPDATE consignment_lines SET declared = ?3 WHERE consignment = ?1 AND gtin = ?2",
            params![consignment, gtin.as_str(), to_sql],
        )?;
        let detail = serde_json::json!({ "gtin": gtin.as_str(), "from": room.declared, "to": to });
        audit::append(
            &tx,
            at,
            actor,
            "consignment.raise_line",
            consignment,
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(LineRoom {
            declared: to,
            used: room.used,
        })
    }

    /// Record a consignment and its packing list, all or nothing. Products the ledger does not know are
    /// created from the list's name and size. Audited.
    pub fn import_consignment(
        &mut self,
        c: &NewConsignment,
        lines: &[DeclaredLine],
        sha256: &str,
        actor: &Actor,
    ) -> Result<ConsignmentImported, StoreError> {
        check_new(c).map_err(|e| match e {
            StoreError::Consignment { detail, .. } => StoreError::Consignment {
                id: c.id.clone(),
                detail,
            },
            other => other,
        })?;
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT source_sha256 FROM consignments WHERE id = ?1",
                [&c.id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(sha) = existing {
            return Err(StoreError::Consignment {
                id: c.id.clone(),
                detail: if sha == sha256 {
                    "already imported from this same file: nothing to do".into()
                } else {
                    "already imported from another file; a consignment's packing list is not replaced: import the new list under another id, or ask a supervisor to raise a line".into()
                },
            });
        }
        tx.execute(
            "INSERT INTO consignments (id, importer_bin, importer_name, country, invoice, source_sha256,
                                       created_at, actor)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                c.id,
                c.importer_bin,
                c.importer_name,
                c.country,
                c.invoice,
                sha256,
                at,
                actor.name
            ],
        )?;
        let mut out = ConsignmentImported::default();
        for l in lines {
            let known: Option<String> = tx
                .query_row(
                    "SELECT name FROM products WHERE gtin = ?1",
                    [l.gtin.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            match known {
                None => {
                    tx.execute(
                        "INSERT INTO products (gtin, name, size, country, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![l.gtin.as_str(), l.name, l.size, c.country, at],
                    )?;
                    let detail = serde_json::json!({ "name": l.name, "size": l.size,
                        "country": c.country, "consignment": c.id });
                    audit::append(
                        &tx,
                        at,
                        actor,
                        "product.add",
                        l.gtin.as_str(),
                        &detail.to_string(),
                    )?;
                    out.products_created.push(l.gtin.clone());
                }
                Some(name) if name.trim() != l.name.trim() => {
                    out.names_differ
                        .push((l.gtin.clone(), name, l.name.clone()));
                }
                Some(_) => {}
            }
            tx.execute(
                "INSERT INTO consignment_lines (consignment, gtin, line, name, size, declared)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    c.id,
                    l.gtin.as_str(),
                    i64::try_from(l.line).unwrap_or(i64::MAX),
                    l.name,
                    l.size,
                    l.quantity
                ],
            )?;
        }
        let detail = serde_json::json!({
            "importer_bin": c.importer_bin, "country": c.country, "invoice": c.invoice,
            "lines": lines.len(),
            "pairs": lines.iter().map(|l| u64::from(l.quantity)).sum::<u64>(), "sha256": sha256,
            "products_created": out.products_created.len(),
        });
        audit::append(
            &tx,
            at,
            actor,
            "consignment.import",
            &c.id,
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(out)
    }

    /// Every consignment, newest first, with its lines.
    pub fn consignments(&self) -> Result<Vec<Consignment>, StoreError> {
        let ids: Vec<String> = self
            .conn
            .prepare("SELECT id FROM consignments ORDER BY created_at DESC, id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.iter().map(|id| self.consignment(id)).collect()
    }

    /// One consignment with its lines and their progress.
    pub fn consignment(&self, id: &str) -> Result<Consignment, StoreError> {
        type Row = (
            String,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            i64,
        );
        let row: Option<Row> = self
            .conn
            .query_row(
                "SELECT importer_bin, importer_name, country, invoice, declaration_number,
                        declaration_date, customs_office, created_at
                 FROM consignments WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                },
            )
            .optional()?;
        let Some((bin, name, country, invoice, number, date, office, created)) = row else {
            return Err(StoreError::NoSuchConsignment(id.to_owned()));
        };
        // Per GTIN, from the codes linked to the consignment: labelled, verified, reported, and by
        // each code's latest import outcome: introduced, refused, returned, submitted.
        let mut counts: HashMap<String, [u64; 7]> = HashMap::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT gtin, sum(labelled), sum(verified), sum(reported), sum(imp = 'ACCEPTED'),
                        sum(imp = 'REFUSED'), sum(imp = 'RETURNED'), sum(imp = 'PENDING')
                 FROM (SELECT c.gtin,
                              c.state IN ('SENT', 'PRINTED') OR c.verified_at IS NOT NULL AS labelled,
                              c.verified_at IS NOT NULL AS verified,
                              c.state = 'REPORTED' AS reported,
                              (SELECT d.outcome FROM document_codes d
                               WHERE d.code_id = c.id AND d.kind = 'IMPORT'
                               ORDER BY d.outcome IN ('PENDING', 'ACCEPTED') DESC, d.document DESC
                               LIMIT 1) AS imp
                       FROM consignment_codes k JOIN codes c ON c.id = k.code_id
                       WHERE k.consignment = ?1)
                 GROUP BY gtin",
            )?;
            let rows = stmt.query_map([id], |r| {
                let mut n = [0u64; 7];
                for (i, v) in n.iter_mut().enumerate() {
                    *v = u64::try_from(r.get::<_, Option<i64>>(i + 1)?.unwrap_or(0)).unwrap_or(0);
                }
                Ok((r.get::<_, String>(0)?, n))
            })?;
            for row in rows {
                let (gtin, n) = row?;
                counts.insert(gtin, n);
            }
        }
        let mut lines = Vec::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT gtin, line, name, size, declared FROM consignment_lines
                 WHERE consignment = ?1 ORDER BY line",
            )?;
            let rows = stmt.query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?;
            for row in rows {
                let (gtin, line, name, size, declared) = row?;
                let [
                    labelled,
                    verified,
                    reported,
                    introduced,
                    refused,
                    returned,
                    submitted,
                ] = counts.get(&gtin).copied().unwrap_or_default();
                lines.push(LineProgress {
                    gtin: Gtin::parse(&gtin).map_err(|e| StoreError::Consignment {
                        id: id.to_owned(),
                        detail: format!("stored GTIN {gtin}: {e}"),
                    })?,
                    line,
                    name,
                    size,
                    declared: u64::try_from(declared).unwrap_or(0),
                    labelled,
                    verified,
                    reported,
                    introduced,
                    refused,
                    returned,
                    submitted,
                });
            }
        }
        let declaration = match (number, date) {
            (Some(number), Some(date)) => Some(Declaration {
                number,
                date,
                customs_office: office,
            }),
            _ => None,
        };
        let status = if declaration.is_some() {
            if !lines.is_empty() && lines.iter().all(|l| l.introduced >= l.declared) {
                ConsignmentStatus::Introduced
            } else if lines.iter().any(|l| l.submitted > 0) {
                ConsignmentStatus::Submitted
            } else if lines.iter().any(|l| l.refused > 0 || l.returned > 0) {
                ConsignmentStatus::Problems
            } else {
                ConsignmentStatus::Declared
            }
        } else if !lines.is_empty() && lines.iter().all(|l| l.verified >= l.declared) {
            ConsignmentStatus::Labelled
        } else if lines.iter().any(|l| l.labelled > 0 || l.verified > 0) {
            ConsignmentStatus::Labelling
        } else {
            ConsignmentStatus::Open
        };
        Ok(Consignment {
            id: id.to_owned(),
            status,
            importer_bin: bin,
            importer_name: name,
            country,
            invoice,
            declaration,
            created_at_ms: created,
            lines,
        })
    }
}

/// `YYYY-MM-DD` naming a real day.
pub fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    if !s
        .bytes()
        .enumerate()
        .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
    {
        return false;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1900..=2999).contains(&y) && (1..=days).contains(&d)
}

#[cfg(test)]
mod date_tests {
    use super::valid_date;

    #[test]
    fn dates() {
        for ok in ["2026-03-02", "2024-02-29", "2000-02-29", "2026-12-31"] {
            assert!(valid_date(ok), "{ok}");
        }
        for bad in [
            "2026-3-02",
            "2026-02-30",
            "2100-02-29",
            "2026-13-01",
            "2026-00-10",
            "26-03-2026",
            "2026/03/02",
            "2026-03-0x",
            "",
            "2026-03-02T00:00:00Z",
            "+026-03-02",
        ] {
            assert!(!valid_date(bad), "{bad}");
        }
    }
}
