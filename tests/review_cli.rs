// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The supervisor's review through the real binary (issue 14): a verified code is never reprinted (the
//! CLI says why and what to do instead), its application is sent again; review shows print attempts; a
//! roll sticker that cannot be found goes to review.

mod support;

use std::path::Path;

use labelstation::codes::generate::gtin_from_number;
use labelstation::ledger::{CodeId, CodeState, Ledger};
use support::*;

const PIN: &str = "2468";

/// A data dir with one product, `n` imported codes, a supervisor PIN, and a config with a short scan
/// timeout.
fn setup(dir: &Path, n: usize, seed: u64) -> (std::path::PathBuf, String) {
    let data = dir.join("data");
    let gtin = gtin_from_number(460_700_100_000 + seed);
    cli_product_with_codes(&data, &gtin, "Туфли", n, seed);
    std::fs::write(
        dir.join("station.toml"),
        "[line]\nscan_timeout_secs = 1\nmax_consecutive_failures = 1000\n",
    )
    .unwrap();
    let out = run(cli(&data)
        .args(["supervisor", "set-pin"])
        .env("LABELSTATION_NEW_PIN", PIN));
    assert!(out.status.success(), "{}", stderr(&out));
    (data, gtin.to_string())
}

fn with_cfg(data: &Path) -> std::process::Command {
    let mut c = cli(data);
    c.env(
        "LABELSTATION_CONFIG",
        data.parent().unwrap().join("station.toml"),
    )
    .env("LABELSTATION_SUPERVISOR_PIN", PIN);
    c
}

fn print(data: &Path, gtin: &str, count: &str, mode: Option<&str>) {
    let mut cmd = with_cfg(data);
    cmd.args([
        "print",
        "--gtin",
        gtin,
        "--count",
        count,
        "--printer",
        "sim:",
        "--scanner",
        "sim:",
        "--fault-rate",
        "0",
    ]);
    if let Some(m) = mode {
        cmd.arg(m);
    }
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// How many print attempts the ledger holds for a code (each one a label handed to a printer).
fn attempts(data: &Path, id: CodeId) -> i64 {
    let l = Ledger::open(&ledger_path(data), "x").unwrap();
    l.connection()
        .query_row(
            "SELECT count(*) FROM print_attempts WHERE code_id = ?1",
            [id.0],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn reprint_of_a_verified_code_is_refused_with_why_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let (data, gtin) = setup(dir.path(), 4, 1);
    print(&data, &gtin, "2", None);
    // The registry refuses one of the verified codes.
    let id = {
        let mut l = Ledger::open(&ledger_path(&data), "x").unwrap();
        let rec = l.codes_in_state(CodeState::Verified, 1).unwrap().remove(0);
        l.registry_refused(rec.id, "code not in received state", &system())
            .unwrap();
        rec.id
    };
    assert_eq!(attempts(&data, id), 1);
    let out = run(with_cfg(&data).args([
        "review",
        "reprint",
        &id.0.to_string(),
        "--printer",
        "sim:",
        "--scanner",
        "sim:",
    ]));
    assert!(!out.status.success(), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("is not reprinted"), "{err}");
    assert!(
        err.contains(&format!("labelstation review send-again {}", id.0)),
        "{err}"
    );
    assert!(err.contains("review write-off"), "{err}");
    // Nothing was printed and nothing moved.
    assert_eq!(attempts(&data, id), 1);
    let l = Ledger::open(&ledger_path(&data), "x").unwrap();
    assert_eq!(l.code(id).unwrap().state, CodeState::NeedsReview);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

#[test]
fn send_again_sticker_missing_and_print_attempts_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (data, gtin) = setup(dir.path(), 6, 2);
    print(&data, &gtin, "1", None);
    let refused = {
        let mut l = Ledger::open(&ledger_path(&data), "x").unwrap();
        let rec = l.codes_in_state(CodeState::Verified, 1).unwrap().remove(0);
        l.registry_refused(rec.id, "code not in received state", &system())
            .unwrap();
        rec.id
    };
    // Review lists it with its print attempts and says it was verified once.
    let out = run(with_cfg(&data).args(["review", "list"]));
    let text = stdout(&out);
    assert!(
        text.contains("sent to a printer 1 time(s): 1 printed") && text.contains("VERIFIED ONCE"),
        "{text}"
    );
    let out = run(with_cfg(&data).args(["review", "show", &refused.0.to_string()]));
    let text = stdout(&out);
    assert!(text.contains("print attempts:"), "{text}");
    assert!(
        text.contains(" sent ") && text.contains(" printed "),
        "{text}"
    );
    // Send it again: verified again, its one application queued.
    let out = run(with_cfg(&data).args(["review", "send-again", &refused.0.to_string()]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("queued"), "{}", stdout(&out));
    let out = run(with_cfg(&data).args(["review", "send-again", &refused.0.to_string()]));
    assert!(!out.status.success(), "a second time is refused");

    // A no-verify roll: its stickers wait for a scan; one cannot be found.
    print(&data, &gtin, "2", Some("--no-verify"));
    let out = run(cli(&data).args(["status", "--json"]));
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(status["roll_waiting"].as_u64(), Some(2), "{status}");
    let out = run(with_cfg(&data).args(["review", "list"]));
    assert!(
        stdout(&out).contains("2 printed sticker(s) of finished batch/no-verify runs"),
        "{}",
        stdout(&out)
    );
    let missing = {
        let l = Ledger::open(&ledger_path(&data), "x").unwrap();
        l.roll_waiting(10).unwrap()[0].id
    };
    // A code never verified has nothing to send again: the CLI says what to do instead.
    let out = run(with_cfg(&data).args(["review", "send-again", &missing.0.to_string()]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("never verified"), "{}", stderr(&out));
    let out = run(with_cfg(&data).args([
        "review",
        "sticker-missing",
        &missing.0.to_string(),
        "--note",
        "not on the roll",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let l = Ledger::open(&ledger_path(&data), "x").unwrap();
    assert_eq!(l.code(refused).unwrap().state, CodeState::Verified);
    assert_eq!(
        l.backlog().unwrap().utilisation_queued,
        1,
        "its one application, queued again"
    );
    assert_eq!(l.code(missing).unwrap().state, CodeState::NeedsReview);
    assert_eq!(l.roll_waiting_count().unwrap(), 1);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    let actions: Vec<String> = labelstation::ledger::audit::recent(l.connection(), 20)
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.actor, e.action))
        .collect();
    assert!(
        actions.iter().any(|a| a.ends_with("code.send_again"))
            && actions.iter().any(|a| a.ends_with("code.sticker_missing")),
        "{actions:?}"
    );
}
