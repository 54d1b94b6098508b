// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `labelstation box`: open a box for a consignment under a new SSCC, put verified pairs in it, close it,
//! print its label to a file, list it. The label the binary wrote is read back by the project's ZPL
//! interpreter and renderer and scanned by the virtual scanner: `]C1`, AI 00 and the box's SSCC.

mod support;

use std::path::Path;

use labelstation::codes::Sscc;
use labelstation::ledger::{JobMode, Ledger, ScanProof};
use labelstation::sim::scanner::read_gs1_128;
use labelstation_zpl::interpret::Interpreter;
use labelstation_zpl::render::render;
use support::*;

/// Three pairs labelled for consignment CN-7 and verified, and a config naming a KZ prefix.
fn setup(dir: &Path) -> Vec<String> {
    let (mut l, gtin, _) = ledger_with_codes(dir, 4, 71);
    labelstation_testkit::consignment::take_in_consignment(&mut l, "CN-7", &gtin, 10);
    let job = l
        .open_job_for(&gtin, JobMode::Inline, Some("CN-7"), &system())
        .unwrap();
    let mut codes = Vec::new();
    for _ in 0..3 {
        let rec = l.reserve(job, &system()).unwrap();
        l.mark_sent(rec.id, job, "test", b"^XA^XZ", false, &system())
            .unwrap();
        l.mark_printed(rec.id, job, &system()).unwrap();
        let scan = ScanProof {
            raw: rec.code.as_str().as_bytes(),
            aim: Some("]d2"),
        };
        l.verify(rec.id, job, &scan, &system()).unwrap();
        codes.push(rec.code.as_str().to_owned());
    }
    l.close_job(job).unwrap();
    drop::<Ledger>(l);
    std::fs::write(
        dir.join("config.toml"),
        "[aggregation]\ncompany_prefix = \"4870001\"\nextension_digit = 2\n",
    )
    .unwrap();
    codes
}

fn boxcmd(dir: &Path) -> std::process::Command {
    let mut c = cli(dir);
    c.env("LABELSTATION_CONFIG", dir.join("config.toml"))
        .arg("box");
    c
}

fn list(dir: &Path) -> Vec<serde_json::Value> {
    let out = run(boxcmd(dir).args(["list", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn a_box_is_opened_filled_closed_labelled_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let codes = setup(dir.path());
    assert!(list(dir.path()).is_empty());

    let out = run(boxcmd(dir.path()).args([
        "open",
        "--consignment",
        "CN-7",
        "--capacity",
        "2",
        "--json",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let opened: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let sscc = opened["sscc"].as_str().unwrap().to_owned();
    // The configured prefix and extension digit, a valid check digit.
    assert!(sscc.starts_with("24870001"), "{sscc}");
    assert_eq!(Sscc::parse(&sscc).unwrap().as_str(), sscc);

    // Two pairs fill it; a third is refused, saying why.
    let out = run(boxcmd(dir.path()).args(["add", &sscc, &codes[0], &codes[1]]));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(boxcmd(dir.path()).args(["add", &sscc, &codes[2]]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("full"), "{}", stderr(&out));
    // No label for an open box.
    let out = run(boxcmd(dir.path()).args(["label", &sscc]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("close it first"), "{}", stderr(&out));

    let out = run(boxcmd(dir.path()).args(["close", &format!("00{sscc}")]));
    assert!(out.status.success(), "{}", stderr(&out));
    let file = dir.path().join("box.zpl");
    let out = run(boxcmd(dir.path()).args([
        "label",
        &sscc,
        "--printer",
        &format!("file://{}", file.display()),
    ]));
    assert!(out.status.success(), "{}", stderr(&out));

    // What the printer got reads and scans as GS1-128 with this SSCC.
    let zpl = std::fs::read(&file).unwrap();
    let job = Interpreter::new().read(&zpl).unwrap();
    let label = job.labels().next().unwrap();
    let read = read_gs1_128(&render(label).unwrap()).expect("the label scans");
    assert_eq!(&read.aim, b"]C1");
    assert_eq!(read.data, format!("00{sscc}").into_bytes());
    assert!(label.texts().any(|t| t.contains("Кроссовки мужские")));

    let boxes = list(dir.path());
    assert_eq!(boxes.len(), 1);
    let b = &boxes[0];
    assert_eq!(b["sscc"], sscc.as_str());
    assert_eq!(
        (
            b["count"].as_u64(),
            b["capacity"].as_u64(),
            b["level"].as_u64()
        ),
        (Some(2), Some(2), Some(1))
    );
    assert_eq!(b["state"], "LABEL_PRINTED");
    let out = run(boxcmd(dir.path()).args(["list", "--consignment", "CN-8", "--json"]));
    assert_eq!(stdout(&out).trim(), "[]");
}

#[test]
fn no_box_without_a_company_prefix() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    std::fs::write(dir.path().join("config.toml"), "").unwrap();
    let out = run(boxcmd(dir.path()).args(["open", "--consignment", "CN-7"]));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("aggregation.company_prefix"),
        "{}",
        stderr(&out)
    );
    assert!(list(dir.path()).is_empty());
}
