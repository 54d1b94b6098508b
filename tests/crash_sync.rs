// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Crash suite for sync: `labelstation sync --once` is killed with SIGKILL at a different point of each
//! round while it reports to the registry simulator (slow answers, answers dropped after commit), then run
//! again. At the end every verified code is applied in the registry exactly once and REPORTED in the
//! ledger once; the ledger's invariants hold.

mod support;

use std::time::Duration;

use labelstation::ledger::Ledger;
use labelstation::registry::sim::{Faults, RegistrySim, SimConfig};
use support::*;

#[test]
fn sigkill_during_sync_never_reports_twice_or_loses_one() {
    let rounds: u64 = std::env::var("LABELSTATION_SYNC_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    // Enough codes that every round's kill lands in work still to report.
    let n = 4 * rounds + 20;
    assert!(n / 2 >= 2 * rounds, "more codes than the rounds verify");
    let sim_cfg = SimConfig {
        faults: Faults {
            error_rate: 0.0,
            latency: Duration::from_millis(10),
            drop_after_commit_rate: 0.1,
            ..Faults::default()
        },
        report_polls: 2,
        // Reports are processed 400 ms after they arrive: a kill often lands while the registry still
        // processes one whose answer the killed pass never read.
        processing_delay: Duration::from_millis(400),
        password: "pw-Zq81-not-in-logs".into(),
        ..SimConfig::default()
    };
    let sim = RegistrySim::start(([127, 0, 0, 1], 0).into(), sim_cfg.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = dir.path().join("station.toml");
    std::fs::write(
        &cfg,
        format!(
            "[registry]\napi = \"xtrace\"\nurl = \"{}\"\n[registry.xtrace]\nlogin = \"{}\"\npassword_env = \"LS_TEST_REGISTRY_PW\"\nbusiness_place_id = 5\n[registry.report]\nbatch_size = 10\ndefault_country = \"CN\"\nsettle_window_secs = 5\nwait_secs = 20\n",
            sim.url(),
            sim_cfg.login
        ),
    )
    .unwrap();
    let cmd = || {
        let mut c = cli(&data);
        c.env("LABELSTATION_CONFIG", &cfg)
            .env("LS_TEST_REGISTRY_PW", &sim_cfg.password);
        c
    };
    let gtin = labelstation::codes::generate::gtin_from_number(460_800_000_001);
    let out = run(cmd().args([
        "products",
        "add",
        "--gtin",
        gtin.as_str(),
        "--name",
        "Сапоги",
        "--country",
        "CN",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(cmd().args([
        "codes",
        "pull",
        "--gtin",
        gtin.as_str(),
        "--quantity",
        &n.to_string(),
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    // Half the codes are verified before the first kill, the rest a few at a time between kills, so every
    // kill lands in a pass with reports to send or settle, and the last passes (traced below) have work.
    {
        let mut l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
        print_and_verify(&mut l, &gtin, (n / 2) as usize);
    }
    let mut interrupted = 0;
    for round in 0..rounds {
        if round % 2 == 0 {
            let mut l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
            print_and_verify(&mut l, &gtin, 4);
        }
        let mut child = cmd()
            .args(["sync", "--once"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(40 + (round * 97) % 400));
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        let l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
        assert_eq!(l.check_invariants().unwrap(), vec![], "round {round}");
        let snap = sim.snapshot();
        assert_eq!(
            (snap.reported_twice, snap.resent_while_pending),
            (0, 0),
            "round {round}"
        );
    }
    eprintln!("sync crash suite: {interrupted} of {rounds} passes killed mid-way, {n} codes");
    assert!(
        interrupted * 2 >= rounds,
        "only {interrupted} of {rounds} kills hit a running pass"
    );
    // Then the link stays up until the backlog is drained.
    {
        let mut l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
        print_and_verify_all(&mut l, &gtin);
    }
    let mut logs = String::new();
    for _ in 0..30 {
        // A lost answer ends a pass with a transient error; the next pass settles it.
        let out = run(cmd().args(["-vvv", "sync", "--once"]));
        logs.push_str(&stderr(&out));
        assert!(
            out.status.success() || stderr(&out).contains("retries later"),
            "{}",
            stderr(&out)
        );
        let l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
        let b = l.backlog().unwrap();
        if b.utilisation_queued == 0 && b.reports_open == 0 {
            break;
        }
    }
    let l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
    let states = &l.balance().unwrap()[0].states;
    let snap = sim.snapshot();
    assert_eq!(states["REPORTED"], n, "{states:?}");
    assert_eq!(snap.applied as u64, n, "{snap:?}");
    assert_eq!(snap.reported_twice, 0, "{snap:?}");
    assert_eq!(snap.resent_while_pending, 0, "{snap:?}");
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    // Neither the password nor any crypto tail reached the logs, even at trace level.
    assert!(logs.len() > 1000, "trace logs expected: {}", logs.len());
    assert!(!logs.contains(&sim_cfg.password));
    let codes: Vec<String> = l
        .connection()
        .prepare("SELECT code FROM codes")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for c in &codes {
        let tail = c.rsplit('\u{1d}').next().unwrap();
        assert!(tail.starts_with("92") && tail.len() > 20);
        assert!(!logs.contains(&tail[2..]), "a crypto tail is in the logs");
    }
    // The password never reached the ledger.
    let raw = std::fs::read(ledger_path(&data)).unwrap();
    assert!(
        !raw.windows(sim_cfg.password.len())
            .any(|w| w == sim_cfg.password.as_bytes())
    );
}
