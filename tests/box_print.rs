// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Packing on the line through the binary (`print --box-capacity`, `box add`, `box label`): full and
//! partly filled boxes, box labels scanned back onto a pallet, a label not read printed again, what
//! `--box-capacity` needs, and a SIGKILL between an SSCC's allocation and its label. Checked against the
//! virtual printer's own record. The engine's side is `crates/station/tests/box_line.rs`.

mod support;

use std::io::BufRead as _;
use std::path::Path;

use labelstation::ledger::Ledger;
use labelstation_testkit::boxes::{EXTENSION, PREFIX, assert_ours, ledger};
use support::*;

/// A data dir with 20 codes, consignment CN-1, and a config with a KZ prefix and a short scan timeout.
fn setup_data(dir: &Path) -> String {
    let (l, gtin) = ledger(dir, 20);
    drop(l);
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[line]\nscan_timeout_secs = 2\n[aggregation]\ncompany_prefix = \"{PREFIX}\"\nextension_digit = {EXTENSION}\n"
        ),
    )
    .unwrap();
    gtin.to_string()
}

fn print_cmd(dir: &Path, gtin: &str, count: u32, capacity: u32) -> std::process::Command {
    let mut c = cli(dir);
    c.env("LABELSTATION_CONFIG", dir.join("config.toml"))
        .env("LABELSTATION_SIM_RECORD", dir.join("printed.jsonl"))
        .args([
            "print",
            "--consignment",
            "CN-1",
            "--gtin",
            gtin,
            "--count",
            &count.to_string(),
            "--box-capacity",
            &capacity.to_string(),
            "--printer",
            "sim:",
            "--scanner",
            "sim:",
        ]);
    c
}

fn box_list(dir: &Path) -> Vec<serde_json::Value> {
    let out = run(cli(dir)
        .env("LABELSTATION_CONFIG", dir.join("config.toml"))
        .args(["box", "list", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// The virtual printer's record (over every process that printed): GS1-128 element strings of the box
/// labels, and how many pair stickers.
fn record(dir: &Path) -> (Vec<String>, usize) {
    let text = std::fs::read_to_string(dir.join("printed.jsonl")).unwrap_or_default();
    let mut boxes = Vec::new();
    let mut pairs = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        match v["gs1_128"].as_str() {
            Some(s) => boxes.push(s.to_owned()),
            None if v["code"].is_string() => pairs += 1,
            None => {}
        }
    }
    (boxes, pairs)
}

fn verified_reads(dir: &Path) -> Vec<(String, String, String)> {
    let l = Ledger::open(&ledger_path(dir), "station-test").unwrap();
    let c = l.connection();
    c.prepare(
        "SELECT subject, detail FROM audit_log WHERE action = 'box.label_verified' ORDER BY seq",
    )
    .unwrap()
    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
    .unwrap()
    .map(Result::unwrap)
    .map(|(s, d)| {
        let v: serde_json::Value = serde_json::from_str(&d).unwrap();
        (
            s,
            v["aim"].as_str().unwrap().to_owned(),
            v["read"].as_str().unwrap().to_owned(),
        )
    })
    .collect()
}

#[test]
fn print_with_box_capacity_packs_full_and_partly_filled_boxes() {
    let dir = tempfile::tempdir().unwrap();
    let gtin = setup_data(dir.path());
    let out = run(&mut print_cmd(dir.path(), &gtin, 8, 4));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&mut print_cmd(dir.path(), &gtin, 6, 4));
    assert!(out.status.success(), "{}", stderr(&out));

    let boxes = box_list(dir.path());
    let counts: Vec<(u64, &str)> = boxes
        .iter()
        .map(|b| (b["count"].as_u64().unwrap(), b["state"].as_str().unwrap()))
        .collect();
    // 8 in fours, then 6 in fours: one full and one partly filled box, closed when the run ended.
    assert_eq!(
        counts,
        vec![
            (4, "LABEL_VERIFIED"),
            (4, "LABEL_VERIFIED"),
            (4, "LABEL_VERIFIED"),
            (2, "LABEL_VERIFIED")
        ]
    );
    let ssccs: Vec<String> = boxes
        .iter()
        .map(|b| b["sscc"].as_str().unwrap().to_owned())
        .collect();
    for s in &ssccs {
        assert_ours(s);
    }
    // The printer printed each box label once, and 14 pair stickers.
    let want: Vec<String> = ssccs.iter().map(|s| format!("00{s}")).collect();
    assert_eq!(record(dir.path()), (want.clone(), 14));
    // Each was verified by a GS1-128 read of exactly its SSCC.
    let reads = verified_reads(dir.path());
    assert_eq!(
        reads,
        ssccs
            .iter()
            .zip(&want)
            .map(|(s, w)| (s.clone(), "]C1".to_owned(), w.clone()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn box_labels_scanned_back_put_their_boxes_onto_a_pallet() {
    let dir = tempfile::tempdir().unwrap();
    let gtin = setup_data(dir.path());
    let out = run(&mut print_cmd(dir.path(), &gtin, 4, 2));
    assert!(out.status.success(), "{}", stderr(&out));
    let boxes: Vec<String> = box_list(dir.path())
        .iter()
        .map(|b| b["sscc"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(boxes.len(), 2);
    let boxcmd = || {
        let mut c = cli(dir.path());
        c.env("LABELSTATION_CONFIG", dir.path().join("config.toml"))
            .arg("box");
        c
    };
    let out = run(boxcmd().args([
        "open",
        "--consignment",
        "CN-1",
        "--capacity",
        "2",
        "--pallet",
        "--json",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let pallet: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let pallet = pallet["sscc"].as_str().unwrap().to_owned();
    // The scanner types each box label as it reads it: the AIM id `]C1`, or without it.
    let mut child = boxcmd()
        .args(["add", &pallet])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        write!(stdin, "]C100{}\n00{}\n", boxes[0], boxes[1]).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let all = box_list(dir.path());
    let on: Vec<(&str, Option<&str>)> = all
        .iter()
        .map(|b| (b["sscc"].as_str().unwrap(), b["parent"].as_str()))
        .collect();
    assert_eq!(
        on,
        vec![
            (boxes[0].as_str(), Some(pallet.as_str())),
            (boxes[1].as_str(), Some(pallet.as_str())),
            (pallet.as_str(), None)
        ]
    );
    assert_eq!(all[2]["count"], 2);
    // A box label whose check digit is wrong is refused, saying it is not an SSCC.
    let mut bad = boxes[0].clone();
    let last = bad.pop().unwrap();
    bad.push(if last == '9' { '0' } else { '9' });
    let out = run(boxcmd().args(["add", &pallet, &format!("]C100{bad}")]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is not an SSCC"), "{}", stderr(&out));
}

#[test]
fn a_box_label_not_read_is_printed_again_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let gtin = setup_data(dir.path());
    let out =
        run(print_cmd(dir.path(), &gtin, 3, 3).env("LABELSTATION_SIM_BOX_LABEL_FAULTS", "no-read"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("was not read: peel it off"),
        "{}",
        stderr(&out)
    );
    let boxes = box_list(dir.path());
    assert_eq!(boxes.len(), 1);
    assert_eq!(boxes[0]["state"], "LABEL_VERIFIED");
    let sscc = boxes[0]["sscc"].as_str().unwrap();
    let want = format!("00{sscc}");
    assert_eq!(record(dir.path()), (vec![want.clone(), want.clone()], 3));
}

#[test]
fn box_capacity_is_refused_without_what_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let gtin = setup_data(dir.path());
    // No consignment: a box holds one consignment.
    let out = run(cli(dir.path()).args(["print", "--gtin", &gtin, "--box-capacity", "4"]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--consignment"), "{}", stderr(&out));
    // Roll modes are refused: their stickers are scanned later, in any order.
    let out = run(print_cmd(dir.path(), &gtin, 2, 4).arg("--batch"));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--batch"), "{}", stderr(&out));
    // No company prefix: says what to set.
    std::fs::write(
        dir.path().join("config.toml"),
        "[line]\nscan_timeout_secs = 2\n",
    )
    .unwrap();
    let out = run(&mut print_cmd(dir.path(), &gtin, 2, 4));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("aggregation.company_prefix"),
        "{}",
        stderr(&out)
    );
    // Nothing was printed, no box made.
    assert_eq!(record(dir.path()), (Vec::new(), 0));
    assert!(box_list(dir.path()).is_empty());
}

#[test]
fn sigkill_between_the_sscc_and_its_label_never_uses_an_sscc_twice() {
    let dir = tempfile::tempdir().unwrap();
    let gtin = setup_data(dir.path());
    let mut child = print_cmd(dir.path(), &gtin, 6, 4)
        .env(labelstation::engine::HOLD_BEFORE_BOX_LABEL_ENV, "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut held = None;
    for line in err.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("test hook: holding before the label of box ") {
            held = Some(rest.trim().to_owned());
            break;
        }
    }
    let held = held.expect("the station reached the box label");
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();

    // The killed box is closed with its 4 pairs, its SSCC taken, no label of it printed.
    let boxes = box_list(dir.path());
    assert_eq!(boxes.len(), 1);
    assert_eq!(
        (boxes[0]["sscc"].as_str(), boxes[0]["state"].as_str()),
        (Some(held.as_str()), Some("CLOSED"))
    );
    assert_eq!(record(dir.path()).0, Vec::<String>::new());

    // Run again: the new box gets the next serial.
    let out = run(&mut print_cmd(dir.path(), &gtin, 2, 4));
    assert!(out.status.success(), "{}", stderr(&out));
    let boxes = box_list(dir.path());
    assert_eq!(boxes.len(), 2);
    let ssccs: Vec<&str> = boxes.iter().map(|b| b["sscc"].as_str().unwrap()).collect();
    assert_eq!(ssccs[0], held);
    assert_ne!(ssccs[1], held);
    let serial = |s: &str| s[1 + PREFIX.len()..17].parse::<u64>().unwrap();
    assert!(serial(ssccs[1]) > serial(&held), "{ssccs:?}");
    assert_eq!(boxes[1]["state"], "LABEL_VERIFIED");
    assert_eq!(boxes[1]["count"], 2);
    // The printer's record: only the new box's label, no SSCC printed twice.
    assert_eq!(record(dir.path()).0, vec![format!("00{}", ssccs[1])]);
    // The counter beside the ledger is past the killed box's serial.
    let marks = std::fs::read_to_string(dir.path().join("sscc-serials")).unwrap();
    assert_eq!(
        marks.trim(),
        format!("{PREFIX} {EXTENSION} {}", serial(ssccs[1]))
    );

    // What the killed box needs: `box label SSCC` prints its label on the line and verifies its scan.
    let out = run(cli(dir.path())
        .env("LABELSTATION_CONFIG", dir.path().join("config.toml"))
        .env("LABELSTATION_SIM_RECORD", dir.path().join("printed.jsonl"))
        .args(["box", "label", &held, "--printer", "sim:"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("LABEL_VERIFIED"), "{}", stdout(&out));
    let boxes = box_list(dir.path());
    assert_eq!(boxes[0]["state"], "LABEL_VERIFIED");
    assert_eq!(
        record(dir.path()).0,
        vec![format!("00{}", ssccs[1]), format!("00{held}")]
    );
    // The ledger's invariants and its audit chain hold after the kill and the runs that followed.
    for check in [["ledger", "check"], ["audit", "verify"]] {
        let out = run(cli(dir.path()).args(check));
        assert!(
            out.status.success(),
            "{check:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
    }
    let reads = verified_reads(dir.path());
    assert_eq!(reads.len(), 2);
    assert_eq!(
        reads[1],
        (held.clone(), "]C1".to_owned(), format!("00{held}"))
    );
}
