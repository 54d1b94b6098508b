// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The files in deploy/: systemd units pass `systemd-analyze verify`, udev rules are well formed.
//! The Debian package itself is checked by tests/deb.sh (run from .ci/run).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// systemd-analyze, installed with apt when missing and possible.
fn systemd_analyze() -> bool {
    if have("systemd-analyze") {
        return true;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root && have("apt-get") {
        let install = |update: bool| {
            let script = if update {
                "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd"
            } else {
                "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd"
            };
            let _ = Command::new("sh").args(["-c", script]).status();
        };
        install(false);
        if !have("systemd-analyze") {
            install(true);
        }
    }
    have("systemd-analyze")
}

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    if !systemd_analyze() {
        eprintln!(
            "SKIPPED: systemd-analyze is missing and could not be installed (apt-get install systemd needs root and a package mirror)"
        );
        return;
    }
    let host_units = Path::new("/lib/systemd/system");
    assert!(
        host_units.is_dir(),
        "systemd is installed but {host_units:?} is missing"
    );
    // A scratch root: the host's units (for the targets ours refer to), ours, and the executables they run.
    let root = tempfile::tempdir().unwrap();
    let units = root.path().join("lib/systemd/system");
    std::fs::create_dir_all(&units).unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", host_units.display()))
        .arg(&units)
        .status()
        .unwrap();
    assert!(status.success());
    let ours = [
        "deploy/systemd/labelstation.service",
        "deploy/systemd/labelstation-backup.service",
        "deploy/systemd/labelstation-backup.timer",
        "deploy/kiosk/labelstation-kiosk.service",
        "deploy/kiosk/labelstation-kms.service",
    ];
    for u in ours {
        let src = repo().join(u);
        std::fs::copy(&src, units.join(src.file_name().unwrap())).unwrap();
    }
    let bin = root.path().join("usr/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_labelstation"), bin.join("labelstation")).unwrap();
    std::fs::write(bin.join("cage"), "#!/bin/sh\nexec \"$@\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("cage"), std::fs::Permissions::from_mode(0o755)).unwrap();

    let names: Vec<&str> = ours
        .iter()
        .map(|u| Path::new(u).file_name().unwrap().to_str().unwrap())
        .collect();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.path().display()))
        .args(&names)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{text}"
    );
    // Unknown keys are only warnings to systemd; here they fail the test.
    assert!(
        text.trim().is_empty(),
        "systemd-analyze verify warns:\n{text}"
    );
}

#[test]
fn units_keep_their_promises() {
    let unit = std::fs::read_to_string(repo().join("deploy/systemd/labelstation.service")).unwrap();
    for line in [
        "Type=simple",
        "Restart=on-failure",
        "User=labelstation",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/labelstation",
        "PrivateTmp=yes",
        "DevicePolicy=closed",
        // No screen in this unit: without --headless a touchscreen build refuses to start.
        "ExecStart=/usr/bin/labelstation run --headless",
        "EnvironmentFile=-/etc/labelstation/registry.env",
        "UMask=0077",
    ] {
        assert!(
            unit.lines().any(|l| l.trim() == line),
            "labelstation.service lacks {line}"
        );
    }
    // The kiosk without a compositor asks for linuxkms, which `run` takes as a display in a build with
    // the cargo feature `kms`; the unit says which build it needs.
    let kms =
        std::fs::read_to_string(repo().join("deploy/kiosk/labelstation-kms.service")).unwrap();
    assert!(
        kms.contains("cargo feature `kms`") && kms.contains("--features kms"),
        "labelstation-kms.service does not say which build it needs"
    );
    for line in [
        "Environment=SLINT_BACKEND=linuxkms-software",
        "ExecStart=/usr/bin/labelstation run",
        "DeviceAllow=char-drm rw",
        "UMask=0077",
    ] {
        assert!(
            kms.lines().any(|l| l.trim() == line),
            "labelstation-kms.service lacks {line}"
        );
    }
    let timer =
        std::fs::read_to_string(repo().join("deploy/systemd/labelstation-backup.service")).unwrap();
    assert!(timer.contains("ExecStart=/usr/bin/labelstation backup --if-due"));
}

/// Each rule line: comma-separated `KEY op "value"` pairs with balanced quotes and known keys.
#[test]
fn udev_rules_are_well_formed() {
    let text = std::fs::read_to_string(repo().join("deploy/udev/60-labelstation.rules")).unwrap();
    let keys = [
        "SUBSYSTEM",
        "KERNEL",
        "ATTR",
        "ATTRS",
        "ENV",
        "GROUP",
        "MODE",
        "SYMLINK",
    ];
    let mut rules = 0;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        rules += 1;
        assert_eq!(line.matches('"').count() % 2, 0, "line {}: quotes", n + 1);
        for pair in line.split("\", ") {
            let pair = pair.trim().trim_end_matches('"');
            let op = ["==", "!=", "+=", "="]
                .into_iter()
                .find_map(|op| pair.find(op).map(|i| (i, op)))
                .unwrap_or_else(|| panic!("line {}: no operator in {pair:?}", n + 1));
            let key = &pair[..op.0];
            let base = key.split('{').next().unwrap();
            assert!(keys.contains(&base), "line {}: unknown key {key}", n + 1);
            assert!(
                pair[op.0 + op.1.len()..].starts_with('"'),
                "line {}: unquoted value in {pair:?}",
                n + 1
            );
        }
        assert!(
            line.contains("MODE=\"0660\""),
            "line {}: give group access, not world",
            n + 1
        );
    }
    assert!(rules >= 10, "{rules} rules");
    for vid in ["0a5f", "0c2e", "05e0", "05f9", "1eab"] {
        assert!(
            text.contains(&format!("==\"{vid}\"")),
            "no rule for USB vendor {vid}"
        );
    }
}
