// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The workspace's shape holds: every end-to-end test in `tests/` is one the app package runs (they are
//! listed in `app/Cargo.toml`, because they live outside the package's own directory), and no domain
//! crate depends on clap or Slint (only the app does).

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn every_test_file_in_tests_is_listed_in_the_app_manifest() {
    let manifest = std::fs::read_to_string(root().join("app/Cargo.toml")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root().join("tests")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name.strip_suffix(".rs") else {
            continue;
        };
        if !manifest.contains(&format!("path = \"../tests/{stem}.rs\"")) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "tests/{missing:?} would never run: add a [[test]] entry for each to app/Cargo.toml"
    );
}

#[test]
fn no_domain_crate_depends_on_clap_or_slint() {
    for dir in ["crates", "drivers"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path().join("Cargo.toml");
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            for line in text.lines().map(str::trim) {
                let name = line.split(['=', ' ']).next().unwrap_or("");
                assert!(
                    !matches!(name, "clap" | "slint" | "slint-build" | "labelstation"),
                    "{}: {line:?}: only the app (app/) may depend on the command line, the touchscreen or the app itself",
                    path.display()
                );
            }
        }
    }
}
