// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The default build needs only what a fresh machine of the project's kind has (a Rust toolchain,
//! pkg-config, libfontconfig1-dev): none of its crates links a system library whose -dev package such a
//! machine lacks. Slint's linuxkms backend (cargo feature `kms`) links libudev, libinput and libxkbcommon,
//! so it stays out of the default features. Offline: `cargo tree` reads the lockfile and the local cache.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

/// The crates that link libudev, libinput and libxkbcommon at build time. (`xkbcommon-dl`, winit's
/// loader, opens the library at run time only and needs no -dev package.)
const KMS_ONLY: [&str; 3] = ["libudev-sys", "input-sys", "xkbcommon"];

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The crates `cargo tree -e normal,build` lists for the station with its default features.
fn default_build_crates() -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .args([
            "--offline",
            "--locked",
            "-p",
            "labelstation",
            "--manifest-path",
        ])
        .arg(repo().join("Cargo.toml"))
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cargo tree failed: {stderr}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_default_build_links_no_library_a_fresh_machine_lacks() {
    let crates = default_build_crates();
    // The default build is the whole station, touchscreen included: the list is the real one.
    for expected in ["labelstation", "slint", "rusqlite", "winit"] {
        assert!(
            crates.contains(expected),
            "{expected} missing from the default build: {crates:?}"
        );
    }
    let found: Vec<&str> = KMS_ONLY
        .into_iter()
        .filter(|c| crates.contains(*c))
        .collect();
    assert!(
        found.is_empty(),
        "the default build pulls {found:?}, whose system libraries (libudev-dev, libinput-dev, \
         libxkbcommon-dev) a fresh machine lacks: keep them behind the cargo feature `kms`"
    );
}

#[test]
fn the_kms_feature_is_where_those_crates_come_from() {
    // The names above are the real crates of the locked graph (a misspelt name would make the check above
    // pass for nothing): only the `kms` feature brings them in.
    let lock = std::fs::read_to_string(repo().join("Cargo.lock")).unwrap();
    for name in KMS_ONLY {
        assert!(
            lock.lines().any(|l| l == format!("name = \"{name}\"")),
            "{name} is not in Cargo.lock"
        );
    }
    let manifest = std::fs::read_to_string(repo().join("app/Cargo.toml")).unwrap();
    let manifest: toml::Table = manifest.parse().unwrap();
    let features = &manifest["features"];
    let kms: Vec<&str> = features["kms"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(kms.contains(&"slint/backend-linuxkms-noseat"), "{kms:?}");
    let default: Vec<&str> = features["default"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(!default.contains(&"kms"), "{default:?}");
    // The Debian package ships the kiosk without a compositor, so it is built with `kms`.
    let deb = &manifest["package"]["metadata"]["deb"]["features"];
    assert!(
        deb.as_array()
            .is_some_and(|f| f.iter().any(|v| v.as_str() == Some("kms"))),
        "{deb:?}"
    );
}
