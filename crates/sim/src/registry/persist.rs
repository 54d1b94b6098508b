// SPDX-License-Identifier: GPL-3.0-or-later
//! The embedded simulator's state file: loaded on start, rewritten atomically (0600) before each change is
//! answered, locked so one simulator uses it at a time.

use super::*;

/// Format version of the state file. Version 2 keeps reports and documents with their codes and
/// processing time; a version 1 file (all processed) loads as it is.
const STATE_VERSION: u32 = 2;

#[derive(Serialize)]
struct PersistRef<'a> {
    version: u32,
    orders: &'a BTreeMap<String, Order>,
    codes: &'a HashMap<String, SimCodeState>,
    reports: &'a HashMap<String, Report>,
    documents: &'a HashMap<String, Document>,
    reported_twice: u64,
    written_off_twice: u64,
    reported_after_write_off: u64,
    resent_while_pending: u64,
    introduced_twice: u64,
    aggregates: &'a HashMap<String, boxes::SimAggregate>,
    ssccs_used: &'a HashSet<String>,
}

#[derive(serde::Deserialize)]
pub(super) struct Persisted {
    pub(super) version: u32,
    pub(super) orders: BTreeMap<String, Order>,
    pub(super) codes: HashMap<String, SimCodeState>,
    pub(super) reports: HashMap<String, Report>,
    pub(super) documents: HashMap<String, Document>,
    pub(super) reported_twice: u64,
    pub(super) written_off_twice: u64,
    pub(super) reported_after_write_off: u64,
    #[serde(default)]
    pub(super) resent_while_pending: u64,
    #[serde(default)]
    pub(super) introduced_twice: u64,
    #[serde(default)]
    pub(super) aggregates: HashMap<String, boxes::SimAggregate>,
    #[serde(default)]
    pub(super) ssccs_used: HashSet<String>,
}

impl SimState {
    pub(super) fn restore(&mut self, p: Persisted) {
        self.idents = p
            .codes
            .keys()
            .map(|c| {
                (
                    c.split('\u{1d}').next().unwrap_or_default().to_owned(),
                    c.clone(),
                )
            })
            .collect();
        self.orders = p.orders;
        self.codes = p.codes;
        self.reports = p.reports;
        self.documents = p.documents;
        self.reported_twice = p.reported_twice;
        self.written_off_twice = p.written_off_twice;
        self.reported_after_write_off = p.reported_after_write_off;
        self.resent_while_pending = p.resent_while_pending;
        self.introduced_twice = p.introduced_twice;
        self.parent = p
            .aggregates
            .iter()
            .flat_map(|(u, a)| a.contents.iter().map(move |m| (m.clone(), u.clone())))
            .collect();
        self.aggregates = p.aggregates;
        self.ssccs_used = p.ssccs_used;
    }
}

pub(super) fn lock_state_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let lock_path = path.with_extension("lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            format!(
                "another labelstation process is using the built-in registry simulator ({}): wait for it to finish",
                path.display()
            ),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

pub(super) fn load_state(path: &std::path::Path) -> std::io::Result<Option<Persisted>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let p: Persisted = serde_json::from_slice(&bytes).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the simulator state {} is damaged ({e}); move it aside to start the simulator afresh",
                path.display()
            ),
        )
    })?;
    if !(1..=STATE_VERSION).contains(&p.version) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the simulator state {} has format {}, this program knows {STATE_VERSION}",
                path.display(),
                p.version
            ),
        ));
    }
    Ok(Some(p))
}

/// Write the state atomically: a temporary file (0600), flushed to disk, renamed over the old one.
pub(super) fn save_state(s: &SimState, path: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)?;
    let state = PersistRef {
        version: STATE_VERSION,
        orders: &s.orders,
        codes: &s.codes,
        reports: &s.reports,
        documents: &s.documents,
        reported_twice: s.reported_twice,
        written_off_twice: s.written_off_twice,
        reported_after_write_off: s.reported_after_write_off,
        resent_while_pending: s.resent_while_pending,
        introduced_twice: s.introduced_twice,
        aggregates: &s.aggregates,
        ssccs_used: &s.ssccs_used,
    };
    let mut w = std::io::BufWriter::new(&mut f);
    serde_json::to_writer(&mut w, &state).map_err(std::io::Error::other)?;
    w.flush()?;
    drop(w);
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
