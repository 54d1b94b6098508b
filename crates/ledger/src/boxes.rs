// SPDX-License-Identifier: GPL-3.0-or-later
//! Boxes and pallets under an SSCC (issue 18): the serial counter, a box's life, and the pairs in it.
//!
//! Box codes are not ordered from the registry: the station composes each SSCC from the warehouse's
//! GS1 company prefix, an extension digit and the next serial of its counter. A serial is never taken
//! twice. It is allocated durably, with its box, before any label of it is printed, so a crash after
//! the allocation leaves a gap, never a second box with the same code. A restore of the ledger from a
//! backup would set the counter back, so the high-water mark is also kept beside the ledger, in
//! [`SSCC_MARK_FILE`] (written and synced before the ledger commits the allocation; not part of a
//! backup, so a restore leaves it): the next serial is past both.
//!
//! A box goes forward one step at a time: OPEN → CLOSED (full, or closed early) → LABEL_PRINTED →
//! LABEL_VERIFIED (its GS1-128 scanned back) → REPORTED (the aggregation accepted). A pair goes into one
//! box only, once its sticker is verified, and only into an open box of its own consignment with room;
//! a pallet (level 2) takes boxes (level 1) the same way. The schema's triggers repeat every rule.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::{Actor, CodeId, Ledger, StoreError, audit, begin, now_ms};
use crate::codes::{CompanyPrefix, Sscc};

/// The SSCC high-water marks, beside the ledger file: one line per counter, `prefix extension last`.
pub const SSCC_MARK_FILE: &str = "sscc-serials";

/// Which aggregate a box is, in the registry's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum BoxLevel {
    /// A box of pairs (`BOX_LV_1`).
    #[serde(rename = "1")]
    Box,
    /// A pallet of boxes (`BOX_LV_2`).
    #[serde(rename = "2")]
    Pallet,
}

impl BoxLevel {
    pub const fn number(self) -> i64 {
        match self {
            BoxLevel::Box => 1,
            BoxLevel::Pallet => 2,
        }
    }

    fn from_number(n: i64) -> Option<BoxLevel> {
        match n {
            1 => Some(BoxLevel::Box),
            2 => Some(BoxLevel::Pallet),
            _ => None,
        }
    }
}

/// Where a box is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BoxState {
    Open,
    /// Full, or closed early: takes nothing more.
    Closed,
    LabelPrinted,
    /// Its label was scanned back: `]C1`, AI 00 and this SSCC.
    LabelVerified,
    /// The registry accepted its aggregation.
    Reported,
}

impl BoxState {
    pub const fn as_str(self) -> &'static str {
        match self {
            BoxState::Open => "OPEN",
            BoxState::Closed => "CLOSED",
            BoxState::LabelPrinted => "LABEL_PRINTED",
            BoxState::LabelVerified => "LABEL_VERIFIED",
            BoxState::Reported => "REPORTED",
        }
    }

    fn parse(s: &str) -> Option<BoxState> {
        [
            BoxState::Open,
            BoxState::Closed,
            BoxState::LabelPrinted,
            BoxState::LabelVerified,
            BoxState::Reported,
        ]
        .into_iter()
        .find(|b| b.as_str() == s)
    }

    /// The step after this one.
    const fn next(self) -> Option<BoxState> {
        match self {
            BoxState::Open => Some(BoxState::Closed),
            BoxState::Closed => Some(BoxState::LabelPrinted),
            BoxState::LabelPrinted => Some(BoxState::LabelVerified),
            BoxState::LabelVerified => Some(BoxState::Reported),
            BoxState::Reported => None,
        }
    }

    /// The column that records when the box reached this state.
    const fn stamp(self) -> &'static str {
        match self {
            BoxState::Open => "created_at",
            BoxState::Closed => "closed_at",
            BoxState::LabelPrinted => "label_printed_at",
            BoxState::LabelVerified => "label_verified_at",
            BoxState::Reported => "reported_at",
        }
    }
}

/// A box (or pallet) as the ledger has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoxRecord {
    /// The 18 digits.
    pub sscc: String,
    pub level: BoxLevel,
    pub consignment: String,
    /// Pairs in it (boxes on it, for a pallet).
    pub count: u64,
    pub capacity: u64,
    pub state: BoxState,
    /// The pallet it is on.
    pub parent: Option<String>,
    pub created_at_ms: i64,
}

fn box_error(sscc: &str, detail: impl Into<String>) -> StoreError {
    StoreError::BoxState {
        sscc: sscc.to_owned(),
        detail: detail.into(),
    }
}

impl Ledger {
    /// Where the SSCC high-water marks of this ledger are kept.
    fn sscc_mark_path(&self) -> PathBuf {
        self.path().with_file_name(SSCC_MARK_FILE)
    }

    /// Open a new box (or pallet) of `consignment` holding up to `capacity`, under a newly allocated
    /// SSCC: the serial is taken for good when this returns, whatever happens to the box after.
    pub fn open_box(
        &mut self,
        consignment: &str,
        level: BoxLevel,
        capacity: u32,
        prefix: &CompanyPrefix,
        extension: u8,
        actor: &Actor,
    ) -> Result<BoxRecord, StoreError> {
        if capacity == 0 {
            return Err(StoreError::Consignment {
                id: consignment.to_owned(),
                detail: "a box holds at least one pair: give a capacity of 1 or more".into(),
            });
        }
        let exists: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM consignments WHERE id = ?1)",
            [consignment],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(StoreError::NoSuchConsignment(consignment.to_owned()));
        }
        let mark_path = self.sscc_mark_path();
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let sscc = allocate(&tx, &mark_path, prefix, extension)?;
        tx.execute(
            "INSERT INTO boxes (sscc, level, consignment, capacity, state, created_at, actor)
             VALUES (?1, ?2, ?3, ?4, 'OPEN', ?5, ?6)",
            params![
                sscc.as_str(),
                level.number(),
                consignment,
                capacity,
                at,
                actor.name
            ],
        )?;
        audit::append(
            &tx,
            at,
            actor,
            "box.open",
            sscc.as_str(),
            &serde_json::json!({
                "consignment": consignment,
                "level": level.number(),
                "capacity": capacity,
            })
            .to_string(),
        )?;
        tx.commit()?;
        self.box_record(sscc.as_str())
    }

    /// Put a verified pair into an open box of its consignment.
    pub fn add_to_box(
        &mut self,
        sscc: &str,
        code: CodeId,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let b = self.box_record(sscc)?;
        if b.level != BoxLevel::Box {
            return Err(box_error(sscc, "is a pallet: put boxes on it, not pairs"));
        }
        if b.state != BoxState::Open {
            return Err(box_error(
                sscc,
                format!(
                    "is {}: only an open box takes pairs; open a new one",
                    b.state.as_str()
                ),
            ));
        }
        if b.count >= b.capacity {
            return Err(box_error(sscc, "is full: close it and open a new one"));
        }
        let rec = self.code(code)?;
        if !rec.state.is_verified() {
            return Err(box_error(
                sscc,
                format!(
                    "code #{} is {}: a pair goes into a box once its sticker is verified",
                    code.0, rec.state
                ),
            ));
        }
        let (its, inside): (Option<String>, Option<String>) = self.conn.query_row(
            "SELECT (SELECT consignment FROM consignment_codes WHERE code_id = ?1),
                    (SELECT sscc FROM box_items WHERE code_id = ?1)",
            [code.0],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if let Some(other) = inside {
            return Err(box_error(
                sscc,
                format!(
                    "code #{} is already in box {other}: a pair is in one box only",
                    code.0
                ),
            ));
        }
        if its.as_deref() != Some(b.consignment.as_str()) {
            return Err(box_error(
                sscc,
                format!(
                    "code #{} was labelled for {}, the box is for consignment {:?}: a box holds one consignment",
                    code.0,
                    its.map_or_else(
                        || "no consignment".to_owned(),
                        |c| format!("consignment {c:?}")
                    ),
                    b.consignment
                ),
            ));
        }
        self.conn.execute(
            "INSERT INTO box_items (code_id, sscc, at, actor) VALUES (?1, ?2, ?3, ?4)",
            params![code.0, sscc, now_ms(), actor.name],
        )?;
        Ok(())
    }

    /// Put a closed box on an open pallet of its consignment.
    pub fn put_on_pallet(&mut self, sscc: &str, pallet: &str) -> Result<(), StoreError> {
        let b = self.box_record(sscc)?;
        let p = self.box_record(pallet)?;
        if b.level != BoxLevel::Box || p.level != BoxLevel::Pallet {
            return Err(box_error(
                sscc,
                format!("only a box goes onto a pallet ({pallet})"),
            ));
        }
        if b.parent.is_some() {
            return Err(box_error(
                sscc,
                "is on a pallet already: a box is on one pallet only",
            ));
        }
        if p.state != BoxState::Open || p.count >= p.capacity || p.consignment != b.consignment {
            return Err(box_error(
                sscc,
                format!("pallet {pallet} is not open, is full or is for another consignment"),
            ));
        }
        self.conn.execute(
            "UPDATE boxes SET parent = ?2 WHERE sscc = ?1",
            params![sscc, pallet],
        )?;
        Ok(())
    }

    /// Move a box one step forward: to `to`, which must be the step after its state.
    pub fn box_step(&mut self, sscc: &str, to: BoxState, actor: &Actor) -> Result<(), StoreError> {
        if to == BoxState::Reported {
            return Err(box_error(
                sscc,
                "is reported when the registry accepts its aggregation (the sync sends it), not by hand",
            ));
        }
        let b = self.box_record(sscc)?;
        if b.state.next() != Some(to) {
            return Err(box_error(
                sscc,
                format!(
                    "is {}; it cannot become {} (a box goes open, closed, label printed, label verified, reported)",
                    b.state.as_str(),
                    to.as_str()
                ),
            ));
        }
        if to == BoxState::Closed && b.count == 0 {
            return Err(box_error(
                sscc,
                "is empty: put pairs in it before closing it",
            ));
        }
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        tx.execute(
            &format!(
                "UPDATE boxes SET state = ?2, {} = ?3 WHERE sscc = ?1",
                to.stamp()
            ),
            params![sscc, to.as_str(), at],
        )?;
        if to == BoxState::Closed {
            audit::append(
                &tx,
                at,
                actor,
                "box.close",
                sscc,
                &serde_json::json!({ "count": b.count, "capacity": b.capacity }).to_string(),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// One box by its 18 digits.
    pub fn box_record(&self, sscc: &str) -> Result<BoxRecord, StoreError> {
        self.boxes_where("b.sscc = ?1", sscc)?
            .pop()
            .ok_or_else(|| box_error(sscc, "no such box in the ledger"))
    }

    /// Boxes and pallets, oldest first; of one consignment if given.
    pub fn boxes(&self, consignment: Option<&str>) -> Result<Vec<BoxRecord>, StoreError> {
        match consignment {
            Some(c) => self.boxes_where("b.consignment = ?1", c),
            None => self.boxes_where("?1 IS NOT NULL", ""),
        }
    }

    /// The pairs in a box, by code id.
    pub fn box_items(&self, sscc: &str) -> Result<Vec<CodeId>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT code_id FROM box_items WHERE sscc = ?1 ORDER BY at, code_id")?;
        let rows = stmt.query_map([sscc], |r| Ok(CodeId(r.get(0)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn boxes_where(&self, filter: &str, value: &str) -> Result<Vec<BoxRecord>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT b.sscc, b.level, b.consignment, b.capacity, b.state, b.parent, b.created_at,
                    CASE b.level WHEN 1 THEN (SELECT count(*) FROM box_items i WHERE i.sscc = b.sscc)
                                 ELSE (SELECT count(*) FROM boxes c WHERE c.parent = b.sscc) END
             FROM boxes b WHERE {filter} ORDER BY b.created_at, b.sscc"
        ))?;
        let rows = stmt.query_map([value], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, i64>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (sscc, level, consignment, capacity, state, parent, created_at_ms, count) = row?;
            let (Some(level), Some(state)) =
                (BoxLevel::from_number(level), BoxState::parse(&state))
            else {
                return Err(super::corrupt_row(self.path(), format!("box {sscc}")));
            };
            out.push(BoxRecord {
                sscc,
                level,
                consignment,
                count: count.max(0) as u64,
                capacity: capacity.max(0) as u64,
                state,
                parent,
                created_at_ms,
            });
        }
        Ok(out)
    }
}

/// Take the next serial of `prefix` + `extension`: past the ledger's counter and the mark file's,
/// written to the mark file (synced) before the caller's transaction commits it to the ledger.
fn allocate(
    tx: &Transaction<'_>,
    mark_path: &Path,
    prefix: &CompanyPrefix,
    extension: u8,
) -> Result<Sscc, StoreError> {
    let in_ledger: Option<i64> = tx
        .query_row(
            "SELECT last_serial FROM sscc_counters WHERE company_prefix = ?1 AND extension_digit = ?2",
            params![prefix.as_str(), extension],
            |r| r.get(0),
        )
        .optional()?;
    let mut marks = read_marks(mark_path)?;
    let key = (prefix.as_str().to_owned(), extension);
    let in_file = marks.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let last = in_ledger
        .map(|n| n.max(0) as u64)
        .into_iter()
        .chain(in_file)
        .max();
    let next = last.map_or(1, |n| n + 1);
    let sscc = Sscc::compose(prefix, extension, next).map_err(|e| StoreError::BoxState {
        sscc: format!("{extension}{prefix}…"),
        detail: format!(
            "no serial left under this prefix and extension digit ({e}): set another aggregation.extension_digit"
        ),
    })?;
    match marks.iter_mut().find(|(k, _)| *k == key) {
        Some((_, v)) => *v = next,
        None => marks.push((key, next)),
    }
    write_marks(mark_path, &marks)?;
    let next = next as i64;
    tx.execute(
        "INSERT INTO sscc_counters (company_prefix, extension_digit, last_serial) VALUES (?1, ?2, ?3)
         ON CONFLICT (company_prefix, extension_digit) DO UPDATE SET last_serial = excluded.last_serial",
        params![prefix.as_str(), extension, next],
    )?;
    Ok(sscc)
}

type Marks = Vec<((String, u8), u64)>;

fn read_marks(path: &Path) -> Result<Marks, StoreError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::open(path, e)),
    };
    let mut marks = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let parsed = match words.as_slice() {
            [] => continue,
            [p, e, n] => CompanyPrefix::parse(p)
                .ok()
                .zip(e.parse::<u8>().ok().filter(|e| *e <= 9))
                .zip(n.parse::<u64>().ok()),
            _ => None,
        };
        let Some(((p, e), n)) = parsed else {
            return Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: format!(
                    "line {} is not `prefix extension last-serial`; no SSCC is allocated until it is fixed (never lower a number in it)",
                    i + 1
                ),
            });
        };
        marks.push(((p.as_str().to_owned(), e), n));
    }
    Ok(marks)
}

/// Replace the mark file whole: a new file, synced, renamed over the old one, the directory synced.
fn write_marks(path: &Path, marks: &Marks) -> Result<(), StoreError> {
    let tmp = path.with_extension("new");
    let io = |e: std::io::Error| StoreError::open(path, e);
    let mut text = String::new();
    for ((prefix, ext), n) in marks {
        text.push_str(&format!("{prefix} {ext} {n}\n"));
    }
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consignments::{DeclaredLine, NewConsignment};

    fn actor() -> Actor {
        Actor::operator("op")
    }

    fn kz() -> CompanyPrefix {
        CompanyPrefix::parse("4870001").unwrap()
    }

    /// A ledger with two consignments of one product, and `n` codes labelled for the first and
    /// verified, the way the line does it.
    fn ledger(dir: &Path) -> (Ledger, Vec<CodeId>) {
        use crate::codes::CodeFormat;
        use crate::codes::generate::{CodeGenerator, gtin_from_number};
        use crate::{JobMode, Product, ScanProof};
        let mut l = Ledger::open(&dir.join("ledger.sqlite3"), "test").unwrap();
        let gtin = gtin_from_number(460_700_000_123);
        let system = Actor::system("test");
        l.add_product(
            Product {
                gtin: gtin.clone(),
                name: "Ботинки".into(),
                size: Some("42".into()),
                colour: None,
                model: None,
                country: Some("cn".into()),
            },
            &system,
        )
        .unwrap();
        let mut g = CodeGenerator::new(5);
        let file: String = (0..4)
            .map(|_| format!("{}\n", g.code(&gtin).as_str()))
            .collect();
        l.import_codes(
            &gtin,
            "t.txt",
            file.as_bytes(),
            &CodeFormat::default(),
            &system,
        )
        .unwrap();
        for id in ["CN-1", "CN-2"] {
            l.import_consignment(
                &NewConsignment {
                    id: id.into(),
                    importer_bin: "123456789012".into(),
                    importer_name: None,
                    country: "CN".into(),
                    invoice: None,
                },
                &[DeclaredLine {
                    line: 1,
                    gtin: gtin.clone(),
                    name: "Ботинки".into(),
                    size: None,
                    quantity: 10,
                }],
                "0",
                &actor(),
            )
            .unwrap();
        }
        let job = l
            .open_job_for(&gtin, JobMode::Inline, Some("CN-1"), &actor())
            .unwrap();
        let mut ids = Vec::new();
        for _ in 0..4 {
            let rec = l.reserve(job, &actor()).unwrap();
            l.mark_sent(rec.id, job, "sim:", b"^XA^XZ", false, &actor())
                .unwrap();
            l.mark_printed(rec.id, job, &actor()).unwrap();
            let scan = ScanProof {
                raw: b"scan",
                aim: Some("]d2"),
            };
            l.verify(rec.id, job, &scan, &actor()).unwrap();
            ids.push(rec.id);
        }
        (l, ids)
    }

    #[test]
    fn a_box_goes_from_open_to_reported_holding_its_consignments_pairs() {
        let dir = tempfile::tempdir().unwrap();
        let (mut l, ids) = ledger(dir.path());
        let b = l
            .open_box("CN-1", BoxLevel::Box, 2, &kz(), 1, &actor())
            .unwrap();
        assert_eq!((b.state, b.count, b.capacity), (BoxState::Open, 0, 2));
        assert!(Sscc::parse(&b.sscc).is_ok());
        assert!(b.sscc.starts_with("14870001"));
        l.add_to_box(&b.sscc, ids[0], &actor()).unwrap();
        // A pair is in one box only.
        let e = l.add_to_box(&b.sscc, ids[0], &actor()).unwrap_err();
        assert!(e.to_string().contains("one box only"), "{e}");
        l.add_to_box(&b.sscc, ids[1], &actor()).unwrap();
        let e = l.add_to_box(&b.sscc, ids[2], &actor()).unwrap_err();
        assert!(e.to_string().contains("full"), "{e}");
        // A box of another consignment does not take them.
        let other = l
            .open_box("CN-2", BoxLevel::Box, 5, &kz(), 1, &actor())
            .unwrap();
        let e = l.add_to_box(&other.sscc, ids[2], &actor()).unwrap_err();
        assert!(e.to_string().contains("one consignment"), "{e}");
        // And the schema refuses it too, whatever the caller.
        assert!(
            l.conn
                .execute(
                    "INSERT INTO box_items (code_id, sscc, at, actor) VALUES (?1, ?2, 0, 'x')",
                    params![ids[2].0, other.sscc],
                )
                .is_err()
        );
        // Forward one step at a time.
        let e = l
            .box_step(&b.sscc, BoxState::LabelPrinted, &actor())
            .unwrap_err();
        assert!(e.to_string().contains("cannot become"), "{e}");
        for to in [
            BoxState::Closed,
            BoxState::LabelPrinted,
            BoxState::LabelVerified,
            BoxState::Reported,
        ] {
            l.box_step(&b.sscc, to, &actor()).unwrap();
        }
        let b = l.box_record(&b.sscc).unwrap();
        assert_eq!((b.state, b.count), (BoxState::Reported, 2));
        assert_eq!(l.box_items(&b.sscc).unwrap(), vec![ids[0], ids[1]]);
        assert!(
            l.conn
                .execute("UPDATE boxes SET state = 'OPEN' WHERE sscc = ?1", [&b.sscc])
                .is_err()
        );
        assert!(
            l.conn
                .execute("DELETE FROM box_items WHERE sscc = ?1", [&b.sscc])
                .is_err()
        );
        // Closed early with room left, an empty one is not closed.
        let e = l
            .box_step(&other.sscc, BoxState::Closed, &actor())
            .unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        assert_eq!(l.boxes(Some("CN-2")).unwrap().len(), 1);
        assert_eq!(l.boxes(None).unwrap().len(), 2);
        assert!(l.verify_audit().unwrap().breaks.is_empty());
    }

    #[test]
    fn boxes_go_onto_a_pallet_of_their_consignment() {
        let dir = tempfile::tempdir().unwrap();
        let (mut l, ids) = ledger(dir.path());
        let pallet = l
            .open_box("CN-1", BoxLevel::Pallet, 1, &kz(), 0, &actor())
            .unwrap();
        let b = l
            .open_box("CN-1", BoxLevel::Box, 4, &kz(), 0, &actor())
            .unwrap();
        let e = l.add_to_box(&pallet.sscc, ids[0], &actor()).unwrap_err();
        assert!(e.to_string().contains("pallet"), "{e}");
        l.put_on_pallet(&b.sscc, &pallet.sscc).unwrap();
        assert_eq!(l.box_record(&pallet.sscc).unwrap().count, 1);
        let c = l
            .open_box("CN-1", BoxLevel::Box, 4, &kz(), 0, &actor())
            .unwrap();
        assert!(l.put_on_pallet(&c.sscc, &pallet.sscc).is_err());
    }

    #[test]
    fn a_serial_is_never_taken_twice_across_a_crash_or_a_restore() {
        let dir = tempfile::tempdir().unwrap();
        let (mut l, _) = ledger(dir.path());
        let path = l.path().to_path_buf();
        let first = l
            .open_box("CN-1", BoxLevel::Box, 4, &kz(), 1, &actor())
            .unwrap();
        // A backup now.
        drop(l);
        let backup = dir.path().join("backup.sqlite3");
        std::fs::copy(&path, &backup).unwrap();
        let mut l = Ledger::open(&path, "test").unwrap();
        let second = l
            .open_box("CN-1", BoxLevel::Box, 4, &kz(), 1, &actor())
            .unwrap();
        // A crash between the allocation and the print: the serial is gone for good.
        drop(l);
        let mut l = Ledger::open(&path, "test").unwrap();
        let third = l
            .open_box("CN-1", BoxLevel::Box, 4, &kz(), 1, &actor())
            .unwrap();
        // The ledger restored from the backup forgets the second and third boxes; their serials stay
        // taken.
        drop(l);
        std::fs::copy(&backup, &path).unwrap();
        for ext in ["sqlite3-wal", "sqlite3-shm"] {
            let _ = std::fs::remove_file(path.with_extension(ext));
        }
        let mut l = Ledger::open(&path, "test").unwrap();
        assert_eq!(l.boxes(None).unwrap().len(), 1);
        let fourth = l
            .open_box("CN-1", BoxLevel::Box, 4, &kz(), 1, &actor())
            .unwrap();
        let serials: Vec<u64> = [&first, &second, &third, &fourth]
            .iter()
            .map(|b| b.sscc[8..17].parse().unwrap())
            .collect();
        assert_eq!(serials, vec![1, 2, 3, 4]);
        // Another extension digit has its own counter.
        let other = l
            .open_box("CN-1", BoxLevel::Box, 4, &kz(), 2, &actor())
            .unwrap();
        assert_eq!(&other.sscc[..17], "24870001000000001");
        // The counter in the ledger only goes forward.
        assert!(
            l.conn
                .execute("UPDATE sscc_counters SET last_serial = 1", [])
                .is_err()
        );
        // A damaged mark file stops allocation rather than guess.
        std::fs::write(dir.path().join(SSCC_MARK_FILE), "4870001 one 7\n").unwrap();
        let e = l
            .open_box("CN-1", BoxLevel::Box, 4, &kz(), 1, &actor())
            .unwrap_err();
        assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    }
}
