// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Backups, restore, CSV exports and logs through the real binary, on real ledger files.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use labelstation::ledger::StationLock;
use rusqlite::Connection;
use serde_json::Value;
use support::*;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn backup(data: &Path, args: &[&str]) -> PathBuf {
    let out = run(cli(data).arg("backup").arg("--json").args(args));
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    PathBuf::from(v["file"].as_str().unwrap())
}

/// Every row of `table`, as text, in rowid order.
fn rows(db: &Path, table: &str) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))
        .unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        let mut s = Vec::new();
        for i in 0..n {
            let v: rusqlite::types::Value = r.get(i)?;
            s.push(format!("{v:?}"));
        }
        Ok(s.join("|"))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn backup_is_private_verified_and_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(ledger_with_codes(&data, 20, 11));
    let to = dir.path().join("backups");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[station]\nid = \"post 7\"\n[backup]\nkeep = 2\n").unwrap();
    let c = config.to_str().unwrap();
    let mut files = Vec::new();
    for _ in 0..3 {
        files.push(backup(
            &data,
            &["--config", c, "--to", to.to_str().unwrap()],
        ));
    }
    assert_eq!(mode(&to), 0o700);
    let name = files[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name.starts_with("ledger-post_7-20") && name.ends_with("Z.sqlite3"),
        "{name}"
    );
    let left: Vec<PathBuf> = std::fs::read_dir(&to)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(left.len(), 2, "keep = 2: {left:?}");
    assert!(!files[0].exists() && files[1].exists() && files[2].exists());
    for f in &left {
        assert_eq!(mode(f), 0o600, "{}", f.display());
        // A self-contained file: no -wal beside it, and it holds what the ledger holds.
        assert_eq!(rows(f, "codes"), rows(&ledger_path(&data), "codes"));
    }
    let check = labelstation::ops::backup::check_file(&files[2]).unwrap();
    assert_eq!(check.codes, 20);

    // --if-due: a fresh backup exists, so nothing happens.
    let out = run(cli(&data)
        .args(["backup", "--if-due", "--config", c, "--to"])
        .arg(&to));
    assert!(out.status.success());
    assert!(stdout(&out).contains("no backup due"), "{}", stdout(&out));

    // An existing directory open to others is refused, and left as it was.
    let open = dir.path().join("shared");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(cli(&data).arg("backup").arg("--to").arg(&open));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("open to other users"),
        "{}",
        stderr(&out)
    );
    assert_eq!(mode(&open), 0o755);
    assert_eq!(std::fs::read_dir(&open).unwrap().count(), 0);

    // The default directory is backups/ inside the data dir.
    let f = backup(&data, &[]);
    assert_eq!(f.parent().unwrap(), data.join("backups"));
}

#[test]
fn backup_restore_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut ledger, gtin, _) = ledger_with_codes(&data, 10, 12);
    let b = backup(&data, &[]);
    let before = rows(&b, "code_events");

    // The ledger moves on: every code printed and verified.
    print_and_verify_all(&mut ledger, &gtin);
    drop(ledger);
    assert_ne!(rows(&ledger_path(&data), "code_events"), before);

    // While a station holds the data dir, restore refuses and changes nothing.
    {
        let _station = StationLock::acquire(&data).unwrap();
        let out = run(cli(&data).arg("restore").arg(&b).arg("--force"));
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("stop the station"),
            "{}",
            stderr(&out)
        );
    }
    // The current ledger is healthy and newer: restore wants --force.
    let out = run(cli(&data).arg("restore").arg(&b));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("--force") && err.contains("code move"),
        "{err}"
    );
    assert_ne!(rows(&ledger_path(&data), "code_events"), before);

    let out = run(cli(&data).arg("restore").arg(&b).arg("--force"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("WARNING"), "{}", stdout(&out));
    let ledger = ledger_path(&data);
    for table in ["products", "outbox", "jobs"] {
        assert_eq!(rows(&ledger, table), rows(&b, table), "{table}");
    }
    // The backup's history is kept whole; each code the replaced ledger shows verified since the backup
    // adds one move: to review, never back to the pool.
    let events = rows(&ledger, "code_events");
    assert_eq!(events[..before.len()], before[..]);
    assert_eq!(events.len(), before.len() + 10);
    assert!(
        events[before.len()..]
            .iter()
            .all(|e| e.contains("found_used") && e.contains("NEEDS_REVIEW"))
    );
    assert!(
        stdout(&out).contains("10 code(s) the replaced ledger shows used"),
        "{}",
        stdout(&out)
    );
    // The audit log is the backup's plus one entry recording the restore.
    let audit = rows(&ledger, "audit_log");
    let backup_audit = rows(&b, "audit_log");
    assert_eq!(audit.len(), backup_audit.len() + 1);
    assert_eq!(audit[..backup_audit.len()], backup_audit[..]);
    assert!(audit.last().unwrap().contains("ledger restore"));
    assert_eq!(mode(&ledger), 0o600);

    // The replaced ledger is kept, complete, beside it.
    let aside: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("ledger.sqlite3.before-restore-")
        })
        .collect();
    assert!(!aside.is_empty());
    let kept = aside
        .iter()
        .find(|p| {
            let n = p.to_str().unwrap();
            !n.ends_with("-wal") && !n.ends_with("-shm")
        })
        .unwrap();
    let verified: i64 = Connection::open(kept)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM codes WHERE state = 'VERIFIED'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        verified, 10,
        "the set-aside ledger still holds the newer moves"
    );

    let out = run(cli(&data).args(["ledger", "check"]));
    assert!(out.status.success(), "{}", stdout(&out));
    let out = run(cli(&data).args(["audit", "verify"]));
    assert!(out.status.success(), "{}", stdout(&out));

    // Restoring twice within a second never replaces the ledger set aside the first time. (The
    // restored ledger has moves the backup lacks, the codes sent to review: --force again.)
    for _ in 0..2 {
        let out = run(cli(&data).arg("restore").arg(&b).arg("--force"));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let kept: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| {
            n.starts_with("ledger.sqlite3.before-restore-")
                && !n.ends_with("-wal")
                && !n.ends_with("-shm")
        })
        .collect();
    assert_eq!(kept.len(), 3, "{kept:?}");
}

#[test]
fn backup_and_restore_refuse_to_run_as_another_user_than_the_data_dirs_owner() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(ledger_with_codes(&data, 1, 16));
    let b = backup(&data, &[]);
    // Only root can hand the data dir to another user; elsewhere there is nothing to test.
    if std::process::Command::new("chown")
        .arg("54321")
        .arg(&data)
        .status()
        .map_or(true, |s| !s.success())
    {
        eprintln!("SKIPPED: cannot chown (not root)");
        return;
    }
    for args in [
        vec!["backup"],
        vec!["restore", b.to_str().unwrap(), "--force"],
    ] {
        let out = run(cli(&data).args(&args));
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains("station's user"), "{}", stderr(&out));
    }
}

#[test]
fn restore_refuses_a_damaged_backup_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(ledger_with_codes(&data, 3, 13));
    let junk = dir.path().join("junk.sqlite3");
    std::fs::write(&junk, b"this is not a ledger at all, just some bytes").unwrap();
    let before = rows(&ledger_path(&data), "code_events");
    let out = run(cli(&data).arg("restore").arg(&junk).arg("--force"));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a sound labelstation ledger"),
        "{}",
        stderr(&out)
    );
    assert_eq!(rows(&ledger_path(&data), "code_events"), before);
    let names: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains("before-restore") || n.contains(".restore-")),
        "{names:?}"
    );
}

#[test]
fn exports_mask_codes_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut ledger, gtin, codes) = ledger_with_codes(&data, 4, 14);
    print_and_verify_all(&mut ledger, &gtin);
    drop(ledger);
    let tail = |c: &labelstation::codes::MarkingCode| {
        c.as_str().rsplit('\u{1d}').next().unwrap().to_owned()
    };

    let masked = dir.path().join("ledger.csv");
    let out = run(cli(&data).args(["export", "ledger", "--out"]).arg(&masked));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&masked).unwrap();
    assert_eq!(mode(&masked), 0o600);
    assert_eq!(text.lines().count(), 5, "{text}");
    assert!(text.starts_with("id,gtin,serial,code,state"));
    assert!(text.contains("(91)****(92)****") && text.contains("VERIFIED"));
    for c in &codes {
        assert!(
            !text.contains(&tail(c)),
            "a crypto tail leaked into the masked export"
        );
    }
    // Never overwrites.
    let out = run(cli(&data).args(["export", "ledger", "--out"]).arg(&masked));
    assert!(!out.status.success());

    let full = dir.path().join("full.csv");
    let out = run(cli(&data)
        .args(["export", "ledger", "--full", "--out"])
        .arg(&full));
    assert!(out.status.success());
    assert!(stderr(&out).contains("complete codes"), "{}", stderr(&out));
    let text = std::fs::read_to_string(&full).unwrap();
    assert_eq!(mode(&full), 0o600);
    for c in &codes {
        assert!(text.contains(&c.as_str().replace('\u{1d}', "<GS>")));
    }

    let shift = dir.path().join("shift.csv");
    let out = run(cli(&data)
        .args(["export", "shift", "--from", "2026-01-01", "--out"])
        .arg(&shift));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&shift).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "from,to,gtin,product,printed,verified,rejected,written_off"
    );
    assert!(lines[1].contains(&format!(",{},", gtin.as_str())), "{text}");
    assert!(lines[1].ends_with(",4,4,0,0"), "{text}");
    assert!(
        lines[2].contains(",TOTAL,") && lines[2].ends_with(",4,4,0,0"),
        "{text}"
    );

    // A window before anything happened is empty.
    let empty = dir.path().join("empty.csv");
    let out = run(cli(&data)
        .args([
            "export",
            "shift",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-02T00:00+05:00",
            "--out",
        ])
        .arg(&empty));
    assert!(out.status.success());
    let text = std::fs::read_to_string(&empty).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[test]
fn logs_go_to_rotating_files_or_journald_and_never_carry_tails() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (_, gtin, _) = ledger_with_codes(&data, 0, 15);
    let codes = support::codes(&gtin, 3, 15);
    let file = dir.path().join("codes.txt");
    std::fs::write(&file, code_file(&codes)).unwrap();
    let logs = dir.path().join("logs");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[log]\ndir = \"{}\"\nkeep_files = 3\n", logs.display()),
    )
    .unwrap();
    let c = config.to_str().unwrap();
    let out = run(cli(&data)
        .args([
            "-vvv",
            "--config",
            c,
            "codes",
            "import",
            "--gtin",
            gtin.as_str(),
        ])
        .arg(&file));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(cli(&data).args(["-v", "--config", c, "backup"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode(&logs), 0o700);
    let mut text = String::new();
    for e in std::fs::read_dir(&logs).unwrap() {
        let p = e.unwrap().path();
        assert!(
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("labelstation.log"),
            "{}",
            p.display()
        );
        text.push_str(&std::fs::read_to_string(&p).unwrap());
    }
    assert!(text.contains("backup written and verified"), "{text}");
    for c in &codes {
        let tail = c.as_str().rsplit('\u{1d}').next().unwrap();
        assert!(!text.contains(tail), "a crypto tail reached the log");
    }

    // Under systemd: no timestamps (journald has them), a syslog priority on each line.
    let out = run(cli(&data)
        .env("JOURNAL_STREAM", "8:12345")
        .args(["-v", "backup"]));
    assert!(out.status.success());
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.contains("backup written"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(line.starts_with("<6>"), "{line}");
    assert!(line[3..].trim_start().starts_with("INFO"), "{line}");
}

/// The data dir's ledger files (ledger, -wal, -shm) removed, as when the disk holding them died.
fn lose_ledger(data: &Path) {
    for sfx in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(data.join(format!("ledger.sqlite3{sfx}")));
    }
}

#[test]
fn restore_over_a_missing_or_unreadable_ledger_needs_force_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(ledger_with_codes(&data, 6, 17));
    let b = backup(&data, &[]);

    // Missing: codes printed since the backup cannot be told from unused ones.
    lose_ledger(&data);
    let out = run(cli(&data).arg("restore").arg(&b));
    assert!(
        !out.status.success(),
        "restored over a missing ledger without --force"
    );
    let err = stderr(&out);
    assert!(
        err.contains("--force") && err.contains("look unused"),
        "{err}"
    );
    assert!(!ledger_path(&data).exists(), "nothing was changed");

    // Unreadable: garbage where the ledger was.
    std::fs::write(
        ledger_path(&data),
        b"not a database, only bytes left by a failing disk",
    )
    .unwrap();
    let out = run(cli(&data).arg("restore").arg(&b));
    assert!(
        !out.status.success(),
        "restored over a damaged ledger without --force"
    );
    let err = stderr(&out);
    assert!(
        err.contains("--force") && err.contains("look unused"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(ledger_path(&data)).unwrap(),
        b"not a database, only bytes left by a failing disk"
    );

    let out = run(cli(&data).arg("restore").arg(&b).arg("--force"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("held"), "{}", stdout(&out));
    // The damaged file is kept aside, byte for byte.
    let kept: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().unwrap().contains("before-restore"))
        .collect();
    assert!(
        kept.iter()
            .any(|p| std::fs::read(p).unwrap()
                == b"not a database, only bytes left by a failing disk"),
        "{kept:?}"
    );
}

#[test]
fn after_a_restore_codes_used_since_the_backup_go_to_review_and_the_rest_are_held() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut ledger, gtin, codes) = ledger_with_codes(&data, 10, 18);
    let b = backup(&data, &[]);
    // Four codes printed and verified after the backup.
    print_and_verify(&mut ledger, &gtin, 4);
    drop(ledger);
    let out = run(cli(&data).arg("restore").arg(&b).arg("--force"));
    assert!(out.status.success(), "{}", stderr(&out));

    let mut l = labelstation::ledger::Ledger::open(&ledger_path(&data), "station-test").unwrap();
    // The kept ledger shows which codes were used: they wait for a supervisor, never return to the pool.
    let state_of = |l: &labelstation::ledger::Ledger, c: &labelstation::codes::MarkingCode| {
        l.find_code(c).unwrap().unwrap()
    };
    for c in &codes[..4] {
        let r = state_of(&l, c);
        assert_eq!(
            r.state,
            labelstation::ledger::CodeState::NeedsReview,
            "{}",
            c.masked()
        );
        assert!(
            r.reason.as_deref().unwrap_or("").contains("VERIFIED"),
            "{:?}",
            r.reason
        );
    }
    // The others are held: nothing can reserve them until they are checked or released.
    for c in &codes[4..] {
        assert_eq!(
            state_of(&l, c).state,
            labelstation::ledger::CodeState::Available
        );
    }
    let op = labelstation::ledger::Actor::operator("op");
    let job = l
        .open_job(&gtin, labelstation::ledger::JobMode::Inline, &op)
        .unwrap();
    let e = l.reserve(job, &op).unwrap_err();
    assert!(e.to_string().contains("held"), "{e}");
    // Nor can raw SQL move a held code on.
    let raw = l.connection().execute(
        "UPDATE codes SET state = 'RESERVED', job_id = ?1 WHERE state = 'AVAILABLE'",
        [job.0],
    );
    assert!(raw.is_err(), "the schema let a held code be reserved");
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}

/// The state and reason of code #`id` in the ledger of `data`.
fn code_state(data: &Path, id: i64) -> (String, Option<String>) {
    Connection::open(ledger_path(data))
        .unwrap()
        .query_row("SELECT state, reason FROM codes WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap()
}

#[test]
fn held_codes_are_checked_against_the_registry_and_released_after_the_last_sticker() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gtin = labelstation::codes::generate::gtin_from_number(460_333_000_001);
    let ok = |out: std::process::Output| {
        assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
        out
    };
    ok(run(cli(&data).args([
        "products",
        "add",
        "--gtin",
        gtin.as_str(),
        "--name",
        "Ботинки",
        "--country",
        "CN",
    ])));
    // Ten codes from the (embedded, simulated) registry, then a backup.
    ok(run(cli(&data).args([
        "codes",
        "pull",
        "--gtin",
        gtin.as_str(),
        "--quantity",
        "10",
    ])));
    let b = backup(&data, &[]);
    // After the backup: four codes printed, verified and reported; two more printed and verified, not
    // reported yet. Then the disk holding the ledger dies.
    {
        let mut l =
            labelstation::ledger::Ledger::open(&ledger_path(&data), "station-test").unwrap();
        print_and_verify(&mut l, &gtin, 4);
    }
    ok(run(cli(&data).args(["sync", "--once"])));
    {
        let mut l =
            labelstation::ledger::Ledger::open(&ledger_path(&data), "station-test").unwrap();
        print_and_verify(&mut l, &gtin, 2);
    }
    lose_ledger(&data);
    let out = ok(run(cli(&data).arg("restore").arg(&b).arg("--force")));
    assert!(
        stdout(&out).contains("10 AVAILABLE code(s) are held"),
        "{}",
        stdout(&out)
    );

    // Held: listed in pool order, shown by status and doctor; the line cannot take them.
    let out = ok(run(cli(&data).args(["codes", "held", "--json"])));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["products"][0]["held"], 10);
    let places: Vec<u64> = v["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["position"].as_u64().unwrap())
        .collect();
    assert_eq!(places, (1..=10).collect::<Vec<_>>());
    assert!(
        !stdout(&out).contains("\u{1d}92"),
        "a crypto tail in the listing"
    );
    let out = ok(run(cli(&data).args(["status", "--json"])));
    let st: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(st["products"][0]["held"], 10);
    assert!(
        st["alarms"]
            .to_string()
            .contains("held after a ledger restore"),
        "{st}"
    );
    let out = run(cli(&data).args(["doctor", "--json"]));
    assert!(
        stdout(&out).contains("held since a ledger restore"),
        "{}",
        stdout(&out)
    );
    let out = run(cli(&data).args(["print", "--gtin", gtin.as_str(), "--count", "1"]));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("held after a ledger restore"),
        "{}",
        stderr(&out)
    );

    // The registry knows four were applied: those go to review. The two printed but unreported show
    // RECEIVED: no proof, they stay held.
    let out = ok(run(cli(&data).args(["codes", "held", "check", "--json"])));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (
            r["checked"].as_u64(),
            r["used"].as_u64(),
            r["received"].as_u64()
        ),
        (Some(10), Some(4), Some(6)),
        "{r}"
    );
    for id in 1..=4 {
        let (state, reason) = code_state(&data, id);
        assert_eq!(state, "NEEDS_REVIEW");
        assert!(reason.unwrap().contains("registry shows it applied"));
    }
    for id in 5..=10 {
        assert_eq!(code_state(&data, id).0, "AVAILABLE");
    }

    // Release needs the supervisor's PIN.
    ok(run(cli(&data)
        .env("LABELSTATION_NEW_PIN", "4321")
        .args(["supervisor", "set-pin"])));
    let release = |pin: &str, args: &[&str]| {
        run(cli(&data)
            .env("LABELSTATION_SUPERVISOR_PIN", pin)
            .args(["codes", "held", "release", "--as", "Aigerim"])
            .args(args))
    };
    let out = release("0000", &["--all", "--checked", "x"]);
    assert!(!out.status.success());
    assert_eq!(code_state(&data, 7).0, "AVAILABLE");
    // The newest sticker found on the boxes is code #6: #5 and #6 were printed, #7..#10 were not.
    let out = release(
        "4321",
        &[
            "--after",
            "6",
            "--checked",
            "last box: sticker #6; kept ledger lost with the disk",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("released 4"), "{}", stdout(&out));
    for id in [5, 6] {
        let (state, reason) = code_state(&data, id);
        assert_eq!(state, "NEEDS_REVIEW");
        assert!(reason.unwrap().contains("last sticker"));
    }
    let out = ok(run(cli(&data).args(["codes", "held", "--json"])));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["codes"].as_array().unwrap().len(), 0);
    // A code found used is never printed again, even by a supervisor's reprint.
    {
        let mut l =
            labelstation::ledger::Ledger::open(&ledger_path(&data), "station-test").unwrap();
        let sup = labelstation::ledger::Actor::supervisor("Aigerim");
        let job = l
            .open_job(&gtin, labelstation::ledger::JobMode::Reprint, &sup)
            .unwrap();
        let e = l.reprint(labelstation::ledger::CodeId(5), job, "test", &sup);
        assert!(e.is_err(), "a code found used was reserved for a reprint");
        // The line takes #7 next: the first code after the last sticker.
        let op = labelstation::ledger::Actor::operator("op");
        let job = l
            .open_job(&gtin, labelstation::ledger::JobMode::Inline, &op)
            .unwrap();
        assert_eq!(l.reserve(job, &op).unwrap().id.0, 7);
        assert_eq!(l.check_invariants().unwrap(), vec![]);
    }
    let out = ok(run(cli(&data).args(["audit", "show", "--limit", "5"])));
    let text = stdout(&out);
    assert!(
        text.contains("codes.hold_release") && text.contains("Aigerim"),
        "{text}"
    );
    assert!(text.contains("codes.found_used"), "{text}");
    ok(run(cli(&data).args(["ledger", "check"])));
}

#[test]
fn held_codes_follow_the_pools_order_nearest_expiry_first() {
    use labelstation::ledger::holds::Release;
    use labelstation::ledger::{Actor, CodeId, JobMode, Ledger};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (l, gtin, _) = ledger_with_codes(&data, 6, 19);
    // Codes #5 and #3 expire (in that order): the line takes them first.
    l.connection()
        .execute_batch(
            "UPDATE codes SET expires_at = 2000000000000 WHERE id = 5;
             UPDATE codes SET expires_at = 2100000000000 WHERE id = 3;",
        )
        .unwrap();
    drop(l);
    let b = backup(&data, &[]);
    lose_ledger(&data);
    let r = labelstation::ops::backup::restore(&data, &b, true, &system()).unwrap();
    assert_eq!((r.holds.held, r.holds.used), (6, 0));
    assert_eq!(r.current_unreadable.as_deref(), Some("is missing"));

    let mut l = Ledger::open(&ledger_path(&data), "station-test").unwrap();
    let order: Vec<i64> = l
        .held_codes(Some(&gtin), 100)
        .unwrap()
        .iter()
        .map(|h| h.id.0)
        .collect();
    assert_eq!(order, vec![5, 3, 1, 2, 4, 6]);
    // Only a supervisor releases.
    let e = l.release_held(&Release::All, "x", &system()).unwrap_err();
    assert!(e.to_string().contains("supervisor"), "{e}");
    // The last sticker printed was #1: #5, #3 and #1 were printed; #2, #4, #6 were not.
    let sup = Actor::supervisor("sup");
    let done = l
        .release_held(&Release::After(CodeId(1)), "last box: #1", &sup)
        .unwrap();
    assert_eq!((done.released, done.to_review), (3, 3));
    for id in [5, 3, 1] {
        assert_eq!(
            l.code(CodeId(id)).unwrap().state,
            labelstation::ledger::CodeState::NeedsReview
        );
    }
    let op = Actor::operator("op");
    let job = l.open_job(&gtin, JobMode::Inline, &op).unwrap();
    assert_eq!(l.reserve(job, &op).unwrap().id.0, 2);
    // Nothing is held any more: a second release says so.
    let e = l.release_held(&Release::All, "x", &sup).unwrap_err();
    assert!(e.to_string().contains("no code is held"), "{e}");
    assert_eq!(l.check_invariants().unwrap(), vec![]);
}
