// SPDX-License-Identifier: GPL-3.0-or-later
//! The code ledger: one SQLite file in which every marking code is accounted for.
//!
//! Every change of a code's state goes through `apply` (`moves.rs`) inside a transaction that also writes the
//! code's event row (and, where one is owed, the registry outbox row and the audit entry). Commits are
//! durable (WAL, `synchronous=FULL`): when a method returns `Ok`, the change survives a power cut.
//! The schema repeats the important rules as constraints and triggers (see [`schema`]).
//!
//! This file holds the ledger's types, its errors, opening and products and jobs; a code's moves live in
//! `moves.rs`, named reads in `queries.rs`, the ledger as a file (read-only opening, checks, copies) in
//! [`file`], claims on the data dir in `lock.rs`.
//!
//! The app re-exports this crate as `labelstation::ledger`.

// The marking-code model, under the name the app uses too (`crate::codes`).
use labelstation_codes as codes;

pub mod aggregation;
pub mod audit;
pub mod box_line;
pub mod boxes;
pub mod consignments;
pub mod documents;
pub mod file;
mod halt;
pub mod holds;
pub mod import;
pub mod invariants;
mod lock;
mod moves;
pub mod orders;
mod pool;
pub mod queries;
pub mod reports;
pub mod review;
pub mod schema;
pub mod state;
pub mod stickers;

use std::collections::BTreeMap;
use std::fs::{DirBuilder, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::codes::{CodeFormat, Gtin, MarkingCode, SerialLength};
pub use audit::Actor;
pub use file::LEDGER_FILE;
pub use lock::StationLock;
use lock::ensure_dir;
use moves::{Ended, apply, next_start, set_reason_key, settle_in_flight};
pub use state::{CodeState, Move, Role};

/// Row id of a code in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CodeId(pub i64);

/// Row id of a print job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct JobId(pub i64);

/// How a job prints and verifies (see the station engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum JobMode {
    /// One pair at a time: print, then scan that sticker.
    Inline,
    /// A roll printed ahead, verified in any order as stickers are applied.
    Batch,
    /// Printed without a scanner; codes stay PRINTED until scanned later.
    NoVerify,
    /// A supervisor's reprint of a rejected or reviewed code.
    Reprint,
}

impl JobMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            JobMode::Inline => "INLINE",
            JobMode::Batch => "BATCH",
            JobMode::NoVerify => "NO_VERIFY",
            JobMode::Reprint => "REPRINT",
        }
    }

    /// Whether a PRINTED code of this job is expected to wait for its scan across a restart. Batch and
    /// no-verify stickers sit on a roll by design; an inline sticker may already be on a shoe, unscanned.
    pub const fn printed_may_wait(self) -> bool {
        matches!(self, JobMode::Batch | JobMode::NoVerify)
    }

    fn parse(s: &str) -> Option<JobMode> {
        [
            JobMode::Inline,
            JobMode::Batch,
            JobMode::NoVerify,
            JobMode::Reprint,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot create the data directory {path}: {source}. Check the path and its permissions."
    )]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot open {path}: {cause}. Check that the data directory and its files are readable and writable by this user."
    )]
    Open {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "the ledger {path} is damaged or is not a labelstation ledger ({detail}). Nothing was changed. Stop the station, keep this file for inspection, and restore the newest backup (README: Operations, Recovery)."
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "the ledger {path} was written by a newer labelstation (schema {found}; this program knows up to {known}). Install the newer version, or restore a backup made by this one."
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(
        "the disk holding the ledger is full: nothing was changed. Free space on it, then retry."
    )]
    DiskFull,
    #[error(
        "the ledger cannot be written (read-only file, directory or file system): nothing was changed. Fix the permissions of the data directory and the ledger file; if the file system turned read-only after disk errors (see `dmesg` and `mount`), check the disk and restart the PC. The ledger itself is intact."
    )]
    ReadOnly,
    #[error(
        "another labelstation process is {what} on this data dir ({path}): wait for it or stop it first."
    )]
    Busy { path: PathBuf, what: &'static str },
    #[error("unknown product GTIN {0}: add it first")]
    UnknownProduct(Gtin),
    #[error("product {0} is already registered")]
    ProductExists(Gtin),
    #[error("invalid product: {0}")]
    InvalidProduct(String),
    #[error("no AVAILABLE codes left for GTIN {0}: pull or import more codes for it")]
    PoolEmpty(Gtin),
    #[error(
        "the {held} AVAILABLE code(s) of GTIN {gtin} are held after a ledger restore: a station may have printed them after the backup. A supervisor checks them against the registry or releases them"
    )]
    PoolHeld { gtin: Gtin, held: u64 },
    #[error("no code is held ({0})")]
    NothingHeld(String),
    #[error("no code #{0} in the ledger")]
    NoSuchCode(i64),
    #[error("no job #{0} in the ledger")]
    NoSuchJob(i64),
    #[error("no order #{0} in the ledger")]
    NoSuchOrder(i64),
    #[error("no consignment {0:?} in the ledger")]
    NoSuchConsignment(String),
    #[error("consignment {id:?}: {detail}")]
    Consignment { id: String, detail: String },
    #[error("consignment {0:?} has no customs declaration yet")]
    NotDeclared(String),
    #[error(
        "consignment {consignment:?}: {waiting} verified pair(s) wait for the registry to accept their application"
    )]
    ApplicationPending { consignment: String, waiting: u64 },
    #[error(
        "consignment {consignment:?}: no applied code waits for an import document ({refused_before} were refused by the registry before)"
    )]
    NothingToSubmit {
        consignment: String,
        refused_before: u64,
    },
    #[error(
        "consignment {consignment:?}: {waiting} pair(s) are in boxes whose aggregation the registry has not accepted yet (or still open): a boxed pair goes into circulation with its box"
    )]
    BoxesPending { consignment: String, waiting: u64 },
    #[error("document #{id}: {detail}")]
    DocumentState { id: i64, detail: String },
    #[error(
        "consignment {consignment:?} declares {declared} pair(s) of GTIN {gtin} and {used} are labelled or being labelled: no more codes for this line"
    )]
    LineFull {
        consignment: String,
        gtin: Gtin,
        declared: u64,
        used: u64,
    },
    #[error("box {sscc}: {detail}")]
    BoxState { sscc: String, detail: String },
    #[error("order #{id}: {detail}")]
    OrderState { id: i64, detail: String },
    #[error("report #{id}: {detail}")]
    ReportState { id: i64, detail: String },
    #[error("second-sticker alert #{id}: {detail}")]
    StickerAlert { id: i64, detail: String },
    #[error("job #{job} is for GTIN {job_gtin}, not {gtin}")]
    JobProductMismatch {
        job: i64,
        job_gtin: String,
        gtin: String,
    },
    #[error("job #{0} is closed")]
    JobClosed(i64),
    #[error("code #{id} is {state}; '{mv}' needs it to be {expected}")]
    IllegalMove {
        id: i64,
        state: CodeState,
        mv: &'static str,
        expected: String,
    },
    #[error("code #{id} belongs to job #{held_by}, not job #{job}")]
    WrongJob { id: i64, held_by: i64, job: i64 },
    #[error("'{mv}' needs a job")]
    JobRequired { mv: &'static str },
    #[error("'{mv}' is a supervisor action; {actor} is signed in as {role}")]
    NeedsSupervisor {
        mv: &'static str,
        actor: String,
        role: &'static str,
    },
    #[error("code #{0} was verified before: a code is counted once")]
    AlreadyVerified(i64),
    #[error(
        "code #{id} was verified: its sticker was scanned on an item, so it is never printed again. If the registry refused it, fix the cause and send its application again; if the item is gone, write the code off."
    )]
    VerifiedNotReprinted { id: i64 },
    #[error(
        "code #{id} belongs to job #{job}, which is still open: finish or stop that run at the line first"
    )]
    JobStillOpen { id: i64, job: i64 },
    #[error("code #{id}: {detail}")]
    ReviewState { id: i64, detail: String },
    #[error("ledger database error: {0}")]
    Sqlite(rusqlite::Error),
}

/// What to do about an error or a notice, beyond what its message says: named by the domain crates (a
/// [`StoreError`] here, the station's errors and notices), worded by the app, the only place that names
/// its commands (README, contributing: errors carry what happened and what to do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// Register the product of this GTIN, then try again.
    AddProduct(Gtin),
    /// A supervisor checks the codes of this GTIN held after a restore against the registry, and
    /// releases those no station printed.
    CheckHeldCodes(Gtin),
    /// The data directory is not where it was meant to be, or not this user's: check which one is used.
    CheckDataDir(PathBuf),
    /// The pool of this GTIN is empty: pull codes from the registry, or import a code file.
    PullCodes(Gtin),
    /// The line stopped after failures in a row: a supervisor reviews the rejected labels and unlocks it.
    ReviewRejects,
    /// A supervisor sets the station's PIN (again).
    SetSupervisorPin,
    /// Print the label of this box (SSCC) again, and verify it.
    PrintBoxLabel(String),
    /// Close this open box (SSCC) first.
    CloseBox(String),
}

impl StoreError {
    /// What to do about this error, where the ledger knows more than its message can say without naming
    /// the app's commands.
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            StoreError::UnknownProduct(gtin) => Some(Remedy::AddProduct(gtin.clone())),
            StoreError::PoolHeld { gtin, .. } => Some(Remedy::CheckHeldCodes(gtin.clone())),
            StoreError::DataDir { path, .. } => Some(Remedy::CheckDataDir(path.clone())),
            _ => None,
        }
    }

    /// A file of the data dir could not be opened: a read-only file system is said as such.
    pub(crate) fn open(path: &Path, e: std::io::Error) -> StoreError {
        match e.kind() {
            std::io::ErrorKind::ReadOnlyFilesystem => StoreError::ReadOnly,
            _ => StoreError::Open {
                path: path.to_path_buf(),
                cause: e,
            },
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::DiskFull,
            Some(ErrorCode::ReadOnly) => StoreError::ReadOnly,
            _ => StoreError::Sqlite(e),
        }
    }
}

/// Milliseconds since the Unix epoch, the ledger's time unit.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Render a ledger timestamp for people (UTC, RFC 3339).
pub fn format_ms(ms: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(t).to_string()
}

/// A product (one GTIN) the station labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Product {
    pub gtin: Gtin,
    pub name: String,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub model: Option<String>,
    /// ISO 3166-1 alpha-2 country of origin.
    pub country: Option<String>,
}

impl Product {
    /// Hand `f` what a label of `code` prints: the code, the product's name and size, the GTIN and serial
    /// as text.
    pub fn with_label_data<R>(
        &self,
        code: &crate::codes::MarkingCode,
        f: impl FnOnce(&labelstation_zpl::write::LabelData<'_>) -> R,
    ) -> R {
        let gtin_text = self.gtin.to_string();
        let size = self.size.clone().unwrap_or_default();
        f(&labelstation_zpl::write::LabelData {
            code: code.as_str(),
            name: &self.name,
            size: &size,
            gtin_text: &gtin_text,
            serial_text: code.serial(),
        })
    }

    /// Trim the text fields, drop empty optional ones, upper-case and check the country.
    pub fn normalised(mut self) -> Result<Product, StoreError> {
        self.name = self.name.trim().to_owned();
        if self.name.is_empty() {
            return Err(StoreError::InvalidProduct("the name is empty".into()));
        }
        let tidy = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        self.size = tidy(self.size);
        self.colour = tidy(self.colour);
        self.model = tidy(self.model);
        self.country = tidy(self.country).map(|c| c.to_ascii_uppercase());
        if let Some(c) = &self.country
            && !crate::codes::is_country_code(c)
        {
            return Err(StoreError::InvalidProduct(format!(
                "country {c:?} is not a two-letter ISO 3166 code (e.g. CN, VN, TR)"
            )));
        }
        Ok(self)
    }
}

/// A code as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    pub id: CodeId,
    pub code: MarkingCode,
    pub state: CodeState,
    pub job: Option<JobId>,
    pub state_at_ms: i64,
    pub reason: Option<String>,
    pub verified_at_ms: Option<i64>,
}

/// One row of a code's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeEvent {
    pub at_ms: i64,
    pub mv: String,
    pub from: Option<CodeState>,
    pub to: CodeState,
    pub job: Option<i64>,
    pub actor: String,
    pub reason: Option<String>,
}

/// Counts by state for one GTIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GtinBalance {
    pub gtin: String,
    #[serde(skip)]
    pub name: Option<String>,
    pub states: BTreeMap<&'static str, u64>,
}

/// A code a run left in flight (RESERVED, SENT or PRINTED), and what start-up recovery does with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InFlight {
    pub id: CodeId,
    pub gtin: String,
    pub state: CodeState,
    pub next_start: NextStart,
}

/// What start-up recovery does with a code left in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NextStart {
    /// Its sticker may exist, printed or on a shoe: it goes to NEEDS_REVIEW.
    ToReview,
    /// Never sent to a printer, so no sticker of it exists: it goes back to AVAILABLE.
    ToPool,
    /// A batch or no-verify sticker on its roll: it stays PRINTED, waiting for its scan.
    WaitsForScan,
}

/// What start-up recovery did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecoveryReport {
    /// Codes moved to NEEDS_REVIEW, with the state they were found in.
    pub to_review: Vec<(CodeId, CodeState)>,
    /// Batch/no-verify codes left PRINTED: their stickers wait on the roll for a scan.
    pub printed_waiting: u64,
    /// Inline and reprint jobs closed because their run ended.
    pub jobs_closed: u64,
    /// RESERVED codes never sent to a printer, given back to the pool.
    pub released: u64,
}

/// A scan that proves a sticker (the raw bytes as received, and the AIM symbology id if sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanProof<'a> {
    pub raw: &'a [u8],
    pub aim: Option<&'a str>,
}

/// Parses codes read back from the ledger. They were validated on the way in in their canonical form
/// (GS separators present), so the loosest format accepts all of them whatever the config says today.
fn stored_format() -> CodeFormat {
    CodeFormat {
        serial_length: SerialLength::Variable,
        crypto_min: 1,
        crypto_max: 128,
    }
}

pub struct Ledger {
    conn: Connection,
    path: PathBuf,
    station: String,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.path)
            .field("station", &self.station)
            .finish()
    }
}

impl Ledger {
    /// Open (creating if needed) the ledger at `path`. The directory is created 0700 and the file 0600:
    /// the ledger holds complete codes, crypto tails included.
    pub fn open(path: &Path, station: &str) -> Result<Ledger, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            ensure_dir(dir)?;
        }
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(StoreError::open(path, e)),
        }
        let corrupt = |e: &rusqlite::Error| StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        };
        let classify = |e: rusqlite::Error| match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => corrupt(&e),
            _ => StoreError::from(e),
        };
        let mut conn = Connection::open(path).map_err(classify)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(classify)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(classify)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: format!("could not switch to WAL journaling (got {mode})"),
            });
        }
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(classify)?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(classify)?;
        if check != "ok" {
            return Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: format!("integrity check: {check}"),
            });
        }
        migrate(&mut conn, path).map_err(|e| match e {
            StoreError::Sqlite(e) => classify(e),
            other => other,
        })?;
        Ok(Ledger {
            conn,
            path: path.to_path_buf(),
            station: station.to_owned(),
        })
    }

    /// Open the ledger for the station process: claim the data dir, open, and recover codes left in flight
    /// by a run that did not finish. Keep the returned lock for as long as the station runs.
    pub fn open_station(
        data_dir: &Path,
        station: &str,
        actor: &Actor,
    ) -> Result<(Ledger, StationLock, RecoveryReport), StoreError> {
        let lock = StationLock::acquire(data_dir)?;
        let mut ledger = Ledger::open(&data_dir.join(LEDGER_FILE), station)?;
        let report = ledger.recover(actor)?;
        Ok((ledger, lock, report))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn station(&self) -> &str {
        &self.station
    }

    /// The connection, for read-only reports and checks.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    // ---- products -------------------------------------------------------------------------------

    pub fn add_product(&mut self, product: Product, actor: &Actor) -> Result<Product, StoreError> {
        let p = product.normalised()?;
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM products WHERE gtin = ?1)",
            [p.gtin.as_str()],
            |r| r.get(0),
        )?;
        if exists {
            return Err(StoreError::ProductExists(p.gtin));
        }
        tx.execute(
            "INSERT INTO products (gtin, name, size, colour, model, country, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                p.gtin.as_str(),
                p.name,
                p.size,
                p.colour,
                p.model,
                p.country,
                at
            ],
        )?;
        let detail = serde_json::json!({ "name": p.name, "size": p.size, "colour": p.colour,
            "model": p.model, "country": p.country });
        audit::append(
            &tx,
            at,
            actor,
            "product.add",
            p.gtin.as_str(),
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(p)
    }

    pub fn products(&self) -> Result<Vec<Product>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT gtin, name, size, colour, model, country FROM products ORDER BY gtin",
        )?;
        let rows = stmt.query_map([], row_to_product)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    pub fn product(&self, gtin: &Gtin) -> Result<Option<Product>, StoreError> {
        match self
            .conn
            .query_row(
                "SELECT gtin, name, size, colour, model, country FROM products WHERE gtin = ?1",
                [gtin.as_str()],
                row_to_product,
            )
            .optional()?
        {
            Some(p) => Ok(Some(p?)),
            None => Ok(None),
        }
    }

    // ---- jobs -----------------------------------------------------------------------------------

    pub fn open_job(
        &mut self,
        gtin: &Gtin,
        mode: JobMode,
        actor: &Actor,
    ) -> Result<JobId, StoreError> {
        self.open_job_for(gtin, mode, None, actor)
    }

    /// Open a job labelling `gtin` for `consignment` (its packing list must have a line for `gtin`):
    /// each code of the job is linked to the consignment when its first label goes to a printer, and
    /// [`Ledger::reserve`] refuses a code beyond the line's declared pairs.
    pub fn open_job_for(
        &mut self,
        gtin: &Gtin,
        mode: JobMode,
        consignment: Option<&str>,
        actor: &Actor,
    ) -> Result<JobId, StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        product_exists(&tx, gtin)?;
        if let Some(k) = consignment {
            consignments::line_room(&tx, k, gtin)?;
        }
        tx.execute(
            "INSERT INTO jobs (station, gtin, mode, actor, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![self.station, gtin.as_str(), mode.as_str(), actor.name, at],
        )?;
        let id = JobId(tx.last_insert_rowid());
        if let Some(k) = consignment {
            tx.execute(
                "INSERT INTO consignment_jobs (job_id, consignment) VALUES (?1, ?2)",
                params![id.0, k],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// Close a job. PRINTED codes of a batch or no-verify job stay PRINTED: their stickers wait on the roll
    /// for a scan. Any other code the job still holds (a run that ended on an error mid-label) goes
    /// where start-up recovery would send it, now rather than at the next start: a RESERVED code never
    /// sent to a printer back to the pool, the others to review. Returns how many went to review.
    pub fn close_job(&mut self, job: JobId) -> Result<u64, StoreError> {
        let at = now_ms();
        let actor = Actor::system(self.station.clone());
        let tx = begin(&mut self.conn)?;
        let (_, mode, closed) = job_row(&tx, job)?;
        if closed {
            return Ok(0);
        }
        let mode = JobMode::parse(&mode)
            .ok_or_else(|| corrupt_row(&self.path, format!("job mode {mode}")))?;
        let held: Vec<(i64, String)> = tx
            .prepare(
                "SELECT id, state FROM codes
                 WHERE job_id = ?1 AND state IN ('RESERVED', 'SENT', 'PRINTED') ORDER BY id",
            )?
            .query_map([job.0], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut to_review = 0;
        for (id, state) in held {
            let (id, state): (CodeId, CodeState) = (
                CodeId(id),
                state
                    .parse()
                    .map_err(|e: state::UnknownState| corrupt_row(&self.path, e))?,
            );
            let next = next_start(&tx, id, state, mode)?;
            settle_in_flight(&tx, id, state, next, Ended::JobClosed, &actor, at)?;
            if next == NextStart::ToReview {
                to_review += 1;
            }
        }
        tx.execute(
            "UPDATE jobs SET closed_at = ?2 WHERE id = ?1",
            params![job.0, at],
        )?;
        tx.commit()?;
        Ok(to_review)
    }
}

/// Start a write transaction. IMMEDIATE takes the write lock up front, so two writers wait for each other
/// instead of one failing half-way with SQLITE_BUSY.
fn begin(conn: &mut Connection) -> Result<Transaction<'_>, StoreError> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

fn corrupt_row(path: &Path, what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: format!("unexpected value in the ledger: {what}"),
    }
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let known = schema::MIGRATIONS.len() as i64;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if now > i as i64 {
            continue;
        }
        tx.execute_batch(sql)?;
        schema::sync_transitions(&tx)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    // A newer build of the same schema version may have a changed transition table; keep them in line.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    schema::sync_transitions(&tx)?;
    tx.commit()?;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    Ok(())
}

type ProductRow = Result<Product, StoreError>;

fn row_to_product(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProductRow> {
    let gtin: String = r.get(0)?;
    Ok(Gtin::parse(&gtin)
        .map_err(|e| StoreError::InvalidProduct(format!("stored GTIN {gtin}: {e}")))
        .and_then(|gtin| {
            Ok(Product {
                gtin,
                name: r.get(1)?,
                size: r.get(2)?,
                colour: r.get(3)?,
                model: r.get(4)?,
                country: r.get(5)?,
            })
        }))
}

fn product_exists(conn: &Connection, gtin: &Gtin) -> Result<(), StoreError> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM products WHERE gtin = ?1)",
        [gtin.as_str()],
        |r| r.get(0),
    )?;
    if exists {
        Ok(())
    } else {
        Err(StoreError::UnknownProduct(gtin.clone()))
    }
}

/// (gtin, mode, closed) of a job.
fn job_row(conn: &Connection, job: JobId) -> Result<(String, String, bool), StoreError> {
    conn.query_row(
        "SELECT gtin, mode, closed_at IS NOT NULL FROM jobs WHERE id = ?1",
        [job.0],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()?
    .ok_or(StoreError::NoSuchJob(job.0))
}

fn code_row(conn: &Connection, id: CodeId) -> Result<CodeRecord, StoreError> {
    let row = conn
        .query_row(
            "SELECT code, state, job_id, state_at, reason, verified_at FROM codes WHERE id = ?1",
            [id.0],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                ))
            },
        )
        .optional()?
        .ok_or(StoreError::NoSuchCode(id.0))?;
    let (code, state, job, state_at_ms, reason, verified_at_ms) = row;
    let bad = |what: String| StoreError::Corrupt {
        path: PathBuf::from("ledger"),
        detail: format!("code #{}: {what}", id.0),
    };
    Ok(CodeRecord {
        id,
        code: MarkingCode::parse(code.as_bytes(), &stored_format())
            .map_err(|e| bad(e.to_string()))?,
        state: state
            .parse()
            .map_err(|e: state::UnknownState| bad(e.to_string()))?,
        job: job.map(JobId),
        state_at_ms,
        reason,
        verified_at_ms,
    })
}

/// Whether a code was ever handed to a printer.
/// Every code in flight and what start-up recovery does with it: one rule for [`Ledger::recover`] and
/// for [`Ledger::pending_recovery`], so what `status` foretells is what the next start does.
fn in_flight(conn: &Connection, path: &Path) -> Result<Vec<InFlight>, StoreError> {
    let found: Vec<(i64, String, String, String)> = conn
        .prepare(
            "SELECT c.id, c.gtin, c.state, j.mode FROM codes c JOIN jobs j ON j.id = c.job_id
             WHERE c.state IN ('RESERVED', 'SENT', 'PRINTED') ORDER BY c.id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::with_capacity(found.len());
    for (id, gtin, state, mode) in found {
        let id = CodeId(id);
        let state: CodeState = state
            .parse()
            .map_err(|e: state::UnknownState| corrupt_row(path, e))?;
        let mode =
            JobMode::parse(&mode).ok_or_else(|| corrupt_row(path, format!("job mode {mode}")))?;
        out.push(InFlight {
            id,
            gtin,
            state,
            next_start: next_start(conn, id, state, mode)?,
        });
    }
    Ok(out)
}

fn ever_sent(conn: &Connection, id: CodeId) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM print_attempts WHERE code_id = ?1)",
        [id.0],
        |r| r.get(0),
    )?)
}

fn code_ident(conn: &Connection, id: CodeId) -> Result<String, StoreError> {
    Ok(
        conn.query_row("SELECT ident FROM codes WHERE id = ?1", [id.0], |r| {
            r.get(0)
        })?,
    )
}
