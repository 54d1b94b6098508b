// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Shared set-up for labelstation's tests, the app's and the crates': real ledger files in temporary
//! directories, clients of the registry simulator, consignments taken to a given point
//! ([`consignment`]). Test code: it panics on failure.

pub mod boxes;
pub mod consignment;
pub mod sticker_record;

use std::path::{Path, PathBuf};

use labelstation_codes::generate::{CodeGenerator, gtin_from_number};
use labelstation_codes::{CodeFormat, Gtin, MarkingCode};
use labelstation_ledger::{Actor, JobMode, Ledger, Product, ScanProof};

pub fn system() -> Actor {
    Actor::system("test")
}

pub fn product(gtin: &Gtin) -> Product {
    Product {
        gtin: gtin.clone(),
        name: "Кроссовки мужские".into(),
        size: Some("42".into()),
        colour: Some("black".into()),
        model: Some("KX-1".into()),
        country: Some("cn".into()),
    }
}

/// A ledger in `dir` with one product and `n` imported codes. Returns the ledger, GTIN and codes.
pub fn ledger_with_codes(dir: &Path, n: usize, seed: u64) -> (Ledger, Gtin, Vec<MarkingCode>) {
    let mut ledger =
        Ledger::open(&dir.join("ledger.sqlite3"), "station-test").expect("open ledger");
    let gtin = gtin_from_number(460_700_000_000 + seed % 1000);
    ledger
        .add_product(product(&gtin), &system())
        .expect("add product");
    let codes = codes(&gtin, n, seed);
    if n > 0 {
        let file = code_file(&codes);
        let report = ledger
            .import_codes(
                &gtin,
                "test.txt",
                file.as_bytes(),
                &CodeFormat::default(),
                &system(),
            )
            .expect("import");
        assert_eq!(report.imported, n);
    }
    (ledger, gtin, codes)
}

pub fn codes(gtin: &Gtin, n: usize, seed: u64) -> Vec<MarkingCode> {
    let mut g = CodeGenerator::new(seed);
    (0..n).map(|_| g.code(gtin)).collect()
}

/// One canonical code per line.
pub fn code_file(codes: &[MarkingCode]) -> String {
    codes.iter().map(|c| format!("{}\n", c.as_str())).collect()
}

pub fn ledger_path(dir: &Path) -> PathBuf {
    dir.join("ledger.sqlite3")
}

/// Print and verify every AVAILABLE code of `gtin` (a batch job whose scans all match).
pub fn print_and_verify_all(l: &mut Ledger, gtin: &Gtin) {
    print_and_verify(l, gtin, usize::MAX);
}

/// Print and verify up to `n` AVAILABLE codes of `gtin`.
pub fn print_and_verify(l: &mut Ledger, gtin: &Gtin, n: usize) {
    let op = Actor::operator("op");
    let job = l.open_job(gtin, JobMode::Batch, &op).expect("job");
    for _ in 0..n {
        let Ok(r) = l.reserve(job, &op) else { break };
        l.mark_sent(r.id, job, "sim:", b"", false, &op)
            .expect("sent");
        l.mark_printed(r.id, job, &op).expect("printed");
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
        .expect("verified");
    }
}

/// A client of the simulated xTrace registry `sim` as the registry tests use it: business place 7, quick
/// retries.
pub fn xtrace_client(
    sim: &labelstation_sim::registry::RegistrySim,
) -> labelstation_registry::client::XtraceClient {
    use labelstation_registry::client::{RetryPolicy, XtraceClient, XtraceSettings};
    XtraceClient::new(XtraceSettings {
        url: sim.url(),
        login: "station".into(),
        password: labelstation_registry::wire::Secret::new("station"),
        product_group: "shoes".into(),
        business_place_id: 7,
        timeout: std::time::Duration::from_secs(5),
        retry: RetryPolicy {
            attempts: 4,
            base: std::time::Duration::from_millis(5),
            max: std::time::Duration::from_millis(40),
        },
    })
    .unwrap()
}

/// A client of the simulated oms-v2 registry `sim` with client token `token` (quick retries).
pub fn oms_client_with(
    sim: &labelstation_sim::registry::RegistrySim,
    token: &str,
) -> labelstation_registry::oms_client::OmsClient {
    use labelstation_registry::client::RetryPolicy;
    use labelstation_registry::oms_client::{OmsClient, OmsSettings};
    OmsClient::new(OmsSettings {
        url: sim.url(),
        oms_id: labelstation_sim::registry::SimConfig::default().oms_id,
        client_token: labelstation_registry::wire::Secret::new(token),
        extension: "shoes".into(),
        contact_person: "Склад №3".into(),
        participant_id: "123456789012".into(),
        timeout: std::time::Duration::from_secs(5),
        retry: RetryPolicy {
            attempts: 5,
            base: std::time::Duration::from_millis(5),
            max: std::time::Duration::from_millis(40),
        },
    })
    .unwrap()
}

/// Pull `n` codes of `gtin` from the simulated xTrace registry `sim` into `l` (quick polls).
pub fn pull_from_sim(
    l: &mut Ledger,
    sim: &labelstation_sim::registry::RegistrySim,
    gtin: &Gtin,
    n: u32,
) {
    use labelstation_registry::pull::{Pull, PullOptions};
    let mut c = xtrace_client(sim);
    Pull {
        ledger: l,
        registry: &mut c,
        format: &CodeFormat::default(),
        opts: PullOptions {
            poll_interval: std::time::Duration::from_millis(1),
            ..PullOptions::default()
        },
        actor: &system(),
    }
    .run(gtin, n, &mut |_| {})
    .unwrap();
}
