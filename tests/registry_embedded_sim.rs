// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The embedded simulator (`registry.api = "sim"`) keeps its state in the data dir: codes pulled by one
//! command are reported by a later one.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use labelstation::codes::CodeFormat;
use labelstation::codes::generate::gtin_from_number;
use labelstation::ledger::Ledger;
use labelstation::registry::client::{RetryPolicy, XtraceClient, XtraceSettings};
use labelstation::registry::pull::{Pull, PullOptions};
use labelstation::registry::sim::{RegistrySim, SimConfig};
use labelstation::registry::wire::Secret;
use support::*;

#[test]
fn pull_now_and_sync_later_with_the_embedded_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let gtin = gtin_from_number(460_123_456_789);
    let out = run(cli(dir.path()).args([
        "products",
        "add",
        "--gtin",
        gtin.as_str(),
        "--name",
        "Ботинки",
        "--country",
        "CN",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let out =
        run(cli(dir.path()).args(["codes", "pull", "--gtin", gtin.as_str(), "--quantity", "20"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let state = dir.path().join("registry-sim.json");
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o600
    );
    {
        let mut l = Ledger::open(&ledger_path(dir.path()), "station-1").unwrap();
        print_and_verify_all(&mut l, &gtin);
    }
    let out = run(cli(dir.path()).args(["sync", "--once"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("reported 20 code(s), 0 refused"),
        "{}",
        stdout(&out)
    );
    let out = run(cli(dir.path()).args(["sync", "--once"]));
    assert!(
        stdout(&out).contains("reported 0 code(s)"),
        "{}",
        stdout(&out)
    );
    let l = Ledger::open(&ledger_path(dir.path()), "station-1").unwrap();
    assert_eq!(l.balance().unwrap()[0].states["REPORTED"], 20);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    let saved = std::fs::read_to_string(&state).unwrap();
    assert_eq!(saved.matches("\"Applied\"").count(), 20);
}

#[test]
fn the_simulator_state_survives_a_restart_and_has_one_owner() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sim").join("state.json");
    let cfg = || SimConfig {
        state_file: Some(file.clone()),
        ..SimConfig::default()
    };
    let s = RegistrySim::start("127.0.0.1:0".parse().unwrap(), cfg()).unwrap();
    let e = RegistrySim::start("127.0.0.1:0".parse().unwrap(), cfg()).unwrap_err();
    assert!(
        e.to_string().contains("another labelstation process"),
        "{e}"
    );
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 0, 70);
    let mut c = XtraceClient::new(XtraceSettings {
        url: s.url(),
        login: "station".into(),
        password: Secret::new("station"),
        product_group: "shoes".into(),
        business_place_id: 7,
        timeout: Duration::from_secs(5),
        retry: RetryPolicy::default(),
    })
    .unwrap();
    Pull {
        ledger: &mut l,
        registry: &mut c,
        format: &CodeFormat::default(),
        opts: PullOptions {
            poll_interval: Duration::from_millis(1),
            pack_size: 4,
            ..PullOptions::default()
        },
        actor: &system(),
    }
    .run(&gtin, 10, &mut |_| {})
    .unwrap();
    let before = s.codes();
    drop(s);
    let s = RegistrySim::start("127.0.0.1:0".parse().unwrap(), cfg()).unwrap();
    assert_eq!(s.codes(), before);
    let snap = s.snapshot();
    assert_eq!((snap.issued, snap.orders, snap.open_orders), (10, 1, 0));
}
