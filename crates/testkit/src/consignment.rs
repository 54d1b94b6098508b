// SPDX-License-Identifier: GPL-3.0-or-later
//! Consignments through the registry simulator: labelled, applied, declared.

use std::path::Path;
use std::time::Duration;

use labelstation_codes::CodeFormat;
use labelstation_ledger::consignments::{Declaration, DeclaredLine, NewConsignment};
use labelstation_ledger::{Actor, Ledger, ScanProof};
use labelstation_registry::sync::{SyncOptions, Syncer};
use labelstation_sim::registry::RegistrySim;

use super::*;

/// Takes consignment `id` into `l`: one packing-list line of `quantity` pairs of `gtin` (men's trainers,
/// size 42), importer 123456789012, from China.
pub fn take_in_consignment(
    l: &mut Ledger,
    id: &str,
    gtin: &labelstation_codes::Gtin,
    quantity: u32,
) {
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
            name: "Кроссовки мужские".into(),
            size: Some("42".into()),
            quantity,
        }],
        "0",
        &system(),
    )
    .unwrap();
}

/// Sync options for tests: quick looks, short settle window.
pub fn quick_sync() -> SyncOptions {
    SyncOptions {
        poll_interval: Duration::from_millis(2),
        report_timeout: Duration::from_secs(10),
        settle_window: Duration::from_millis(300),
        check_max: Duration::from_millis(100),
        default_country: Some("CN".into()),
        ..SyncOptions::default()
    }
}

/// A ledger with consignment `k` of `n` pairs, pulled from `sim`, labelled and verified (their
/// application not reported yet); plus `stray` codes the registry never issued, verified and marked
/// applied behind its back (the registry will refuse them by name).
pub fn labelled_consignment(
    dir: &Path,
    sim: &RegistrySim,
    k: &str,
    n: u32,
    stray: usize,
) -> Ledger {
    labelled_consignment_with(dir, k, n, stray, |l, gtin| pull_from_sim(l, sim, gtin, n))
}

/// [`labelled_consignment`] with the codes pulled by `pull` (another registry API).
pub fn labelled_consignment_with(
    dir: &Path,
    k: &str,
    n: u32,
    stray: usize,
    pull: impl FnOnce(&mut Ledger, &labelstation_codes::Gtin),
) -> Ledger {
    let (mut l, gtin, _) = ledger_with_codes(dir, 0, 70);
    let actor = system();
    l.import_consignment(
        &NewConsignment {
            id: k.into(),
            importer_bin: "123456789012".into(),
            importer_name: None,
            country: "CN".into(),
            invoice: None,
        },
        &[DeclaredLine {
            line: 2,
            gtin: gtin.clone(),
            name: "Кеды".into(),
            size: None,
            quantity: n + stray as u32,
        }],
        "0".repeat(64).as_str(),
        &actor,
    )
    .unwrap();
    pull(&mut l, &gtin);
    let strangers = codes(&gtin, stray, 4242);
    if stray > 0 {
        l.import_codes(
            &gtin,
            "stray.txt",
            code_file(&strangers).as_bytes(),
            &CodeFormat::default(),
            &actor,
        )
        .unwrap();
    }
    let op = Actor::operator("op");
    let job = l
        .open_job_for(&gtin, labelstation_ledger::JobMode::Batch, Some(k), &op)
        .unwrap();
    while let Ok(r) = l.reserve(job, &op) {
        l.mark_sent(r.id, job, "sim:", b"", false, &op).unwrap();
        l.mark_printed(r.id, job, &op).unwrap();
        let raw = r.code.as_str().as_bytes().to_vec();
        l.verify(
            r.id,
            job,
            &ScanProof {
                raw: &raw,
                aim: Some("]d2"),
            },
            &op,
        )
        .unwrap();
    }
    // The strangers' application would be refused: a supervisor records it as done by hand (as one
    // who confirmed them wrongly would), so the registry meets them first in the import document.
    for s in &strangers {
        let id = l
            .find_code(s)
            .unwrap()
            .expect("a stray code in the ledger")
            .id;
        l.mark_reported(id, "by-hand", &Actor::supervisor("sup"))
            .unwrap();
    }
    l
}

/// A ledger with consignment `k` of `n` pairs (and `stray` ones, see [`labelled_consignment`]), their
/// application accepted by `sim`, and its customs declaration recorded.
pub fn applied_consignment(dir: &Path, sim: &RegistrySim, k: &str, n: u32, stray: usize) -> Ledger {
    let mut l = labelled_consignment(dir, sim, k, n, stray);
    let actor = system();
    let mut c = xtrace_client(sim);
    let r = Syncer {
        ledger: &mut l,
        registry: &mut c,
        opts: quick_sync(),
        actor: &actor,
    }
    .once(&mut |_| {})
    .unwrap();
    assert_eq!(r.reported, u64::from(n));
    l.declare_consignment(
        k,
        &Declaration {
            number: "55201/071226/0000042".into(),
            date: "2026-12-07".into(),
            customs_office: Some("55201".into()),
        },
        &Actor::supervisor("sup"),
    )
    .unwrap();
    l
}
