// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Shared set-up for the app's integration tests: the labelstation binary and child processes; the
//! ledger, registry and consignment helpers come from `labelstation-testkit` (shared with the crates'
//! own tests).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use labelstation::codes::Gtin;
pub use labelstation_testkit::*;

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

/// A child process killed and reaped when the guard goes out of scope (also when a test fails).
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The binary on data dir `data` with config file `cfg`, the simulator's registry password and the
/// supervisor PIN `pin` in its environment: a station as the end-to-end tests drive it.
pub fn station_with(data: &Path, cfg: &Path, pin: &str) -> Command {
    let mut c = cli(data);
    c.env("LABELSTATION_CONFIG", cfg)
        .env("LABELSTATION_REGISTRY_PASSWORD", "station")
        .env("LABELSTATION_SUPERVISOR_PIN", pin);
    c
}

/// `sync --once` through `station` until `done` says so, at most 15 times. A pass may end on a lost
/// answer (the link looked down): the next one carries on.
pub fn sync_until(mut station: impl FnMut() -> Command, what: &str, done: impl Fn() -> bool) {
    for _ in 0..15 {
        if done() {
            return;
        }
        let _ = run(station().args(["sync", "--once"]));
    }
    assert!(done(), "{what}: not done after 15 sync passes");
}
