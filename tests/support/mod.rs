// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Shared set-up for the integration tests: real ledger files in temporary directories.
#![allow(dead_code)]

pub mod consignment;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use labelstation::codes::generate::{CodeGenerator, gtin_from_number};
use labelstation::codes::{CodeFormat, Gtin, MarkingCode};
use labelstation::store::{Actor, JobMode, Ledger, Product, ScanProof};

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

/// The labelstation binary with an isolated data dir and no config file.
pub fn cli(data_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_labelstation"));
    c.env_remove("LABELSTATION_CONFIG")
        .env_remove("RUST_LOG")
        .env("LABELSTATION_DATA_DIR", data_dir)
        .env("XDG_CONFIG_HOME", data_dir.join("no-config"));
    c
}

/// Through the binary: `products add` (name, size 38, made in Turkey) and `codes import` of `n` generated
/// codes, so the data dir is ready to label.
pub fn cli_product_with_codes(data_dir: &Path, gtin: &Gtin, name: &str, n: usize, seed: u64) {
    let out = run(cli(data_dir).args([
        "products",
        "add",
        "--gtin",
        gtin.as_str(),
        "--name",
        name,
        "--size",
        "38",
        "--country",
        "TR",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let file = data_dir.with_extension("codes.txt");
    std::fs::write(&file, code_file(&codes(gtin, n, seed))).unwrap();
    let out = run(cli(data_dir)
        .args(["codes", "import", "--gtin", gtin.as_str()])
        .arg(&file));
    assert!(out.status.success(), "{}", stderr(&out));
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run labelstation")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
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

/// A child process killed and reaped when the guard goes out of scope (also when a test fails).
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A client of the simulated xTrace registry `sim` as the registry tests use it: business place 7, quick
/// retries.
pub fn xtrace_client(
    sim: &labelstation::registry::sim::RegistrySim,
) -> labelstation::registry::client::XtraceClient {
    use labelstation::registry::client::{RetryPolicy, XtraceClient, XtraceSettings};
    XtraceClient::new(XtraceSettings {
        url: sim.url(),
        login: "station".into(),
        password: labelstation::registry::wire::Secret::new("station"),
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
    sim: &labelstation::registry::sim::RegistrySim,
    token: &str,
) -> labelstation::registry::oms_client::OmsClient {
    use labelstation::registry::client::RetryPolicy;
    use labelstation::registry::oms_client::{OmsClient, OmsSettings};
    OmsClient::new(OmsSettings {
        url: sim.url(),
        oms_id: labelstation::registry::sim::SimConfig::default().oms_id,
        client_token: labelstation::registry::wire::Secret::new(token),
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
    sim: &labelstation::registry::sim::RegistrySim,
    gtin: &Gtin,
    n: u32,
) {
    use labelstation::registry::pull::{Pull, PullOptions};
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
