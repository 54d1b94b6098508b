// SPDX-License-Identifier: GPL-3.0-or-later
//! The serial backend over real pseudo-terminals: the test holds the master side and plays the
//! scanner; the backend opens the slave path exactly as it opens /dev/ttyACM0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use labelstation_scanner::{
    ChannelScanner, Scanner, ScannerEvent, ScannerState, SerialConfig, Terminator, open_serial,
};
use serialport::{SerialPort, TTYPort};

/// A GS1 footwear code as a scanner sends it: `]d2` prefix, GS (0x1D) separators.
const CODE: &[u8] = b"]d2010460000000001721abcDEF!\"%&'*\x1d91EE11\x1d92dGVzdCtjcnlwdG8vPQ==";

/// Upper bound for one wait so a broken backend fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(10);

/// A PTY pair with the slave closed, so only the backend opens it; returns master and path.
fn pty() -> (TTYPort, PathBuf) {
    let (master, slave) = TTYPort::pair().expect("openpty");
    let path = PathBuf::from(slave.name().expect("slave has a path"));
    drop(slave);
    (master, path)
}

fn open(path: &Path, term: Terminator, max: usize) -> ChannelScanner {
    let mut config = SerialConfig::new(path);
    config.term = term;
    config.max = max;
    config.backoff_min = Duration::from_millis(10);
    config.backoff_max = Duration::from_millis(100);
    open_serial(config).expect("reader thread")
}

/// The next event that is not a state change.
fn next_data(scanner: &mut ChannelScanner) -> ScannerEvent {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        match scanner
            .next_event(Duration::from_millis(100))
            .expect("scanner running")
        {
            Some(ScannerEvent::State(_)) | None => continue,
            Some(other) => return other,
        }
    }
    panic!("no scan arrived");
}

fn wait_state(scanner: &mut ChannelScanner, want: fn(&ScannerState) -> bool) -> Vec<ScannerEvent> {
    let deadline = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Some(ev) = scanner
            .next_event(Duration::from_millis(100))
            .expect("scanner running")
        {
            let done = matches!(&ev, ScannerEvent::State(s) if want(s));
            seen.push(ev);
            if done {
                return seen;
            }
        }
    }
    panic!("state not reached; saw {seen:?}");
}

fn scan_bytes(ev: ScannerEvent) -> Vec<u8> {
    match ev {
        ScannerEvent::Scan(s) => s.bytes,
        other => panic!("expected a scan, got {other:?}"),
    }
}

fn connected(s: &ScannerState) -> bool {
    matches!(s, ScannerState::Connected)
}

#[test]
fn scans_with_and_without_aim_prefix_keep_every_byte() {
    let (mut master, path) = pty();
    let mut scanner = open(&path, Terminator::Cr, 4096);
    wait_state(&mut scanner, connected);
    let bare = &CODE[3..];
    master
        .write_all(&[CODE, b"\r", bare, b"\r"].concat())
        .unwrap();
    match next_data(&mut scanner) {
        ScannerEvent::Scan(s) => {
            assert_eq!(s.bytes, CODE);
            assert_eq!(s.aim, Some(*b"]d2"));
            assert_eq!(
                s.bytes.iter().filter(|b| **b == 0x1d).count(),
                2,
                "both GS kept"
            );
            assert!(s.source.starts_with("serial://"), "{}", s.source);
        }
        other => panic!("{other:?}"),
    }
    match next_data(&mut scanner) {
        ScannerEvent::Scan(s) => {
            assert_eq!(s.bytes, bare);
            assert_eq!(s.aim, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn crlf_framing_with_back_to_back_scans_in_one_write() {
    let (mut master, path) = pty();
    let mut scanner = open(&path, Terminator::CrLf, 4096);
    wait_state(&mut scanner, connected);
    master
        .write_all(&[CODE, b"\r\n", b"]d1plain\r\n", CODE, b"\r\n"].concat())
        .unwrap();
    assert_eq!(scan_bytes(next_data(&mut scanner)), CODE);
    assert_eq!(scan_bytes(next_data(&mut scanner)), b"]d1plain");
    assert_eq!(scan_bytes(next_data(&mut scanner)), CODE);
}

#[test]
fn silence_framing_ends_a_scan_when_the_line_goes_quiet() {
    let (mut master, path) = pty();
    let mut scanner = open(&path, Terminator::Silence(Duration::from_millis(30)), 4096);
    wait_state(&mut scanner, connected);
    master.write_all(CODE).unwrap();
    assert_eq!(scan_bytes(next_data(&mut scanner)), CODE);
    master.write_all(b"second\r").unwrap();
    assert_eq!(
        scan_bytes(next_data(&mut scanner)),
        b"second\r",
        "CR is data in silence mode"
    );
}

#[test]
fn every_byte_value_passes_the_tty_unchanged() {
    // Raw mode matters: a cooked tty would turn CR into LF and swallow 0x11/0x13 (XON/XOFF).
    let (mut master, path) = pty();
    let mut scanner = open(&path, Terminator::Lf, 4096);
    wait_state(&mut scanner, connected);
    let noise: Vec<u8> = (0u8..=255).filter(|b| *b != b'\n').collect();
    master
        .write_all(&[&noise[..], b"\n", CODE, b"\n"].concat())
        .unwrap();
    assert_eq!(scan_bytes(next_data(&mut scanner)), noise);
    assert_eq!(
        scan_bytes(next_data(&mut scanner)),
        CODE,
        "framing recovers after noise"
    );
}

#[test]
fn overlong_line_is_dropped_and_framing_resyncs() {
    let (mut master, path) = pty();
    let mut scanner = open(&path, Terminator::AnyCrLf, 64);
    wait_state(&mut scanner, connected);
    let junk = vec![b'x'; 1000];
    master
        .write_all(&[&junk[..], b"\r\n", CODE, b"\r\n"].concat())
        .unwrap();
    match next_data(&mut scanner) {
        ScannerEvent::Overlong { len, cap, .. } => {
            assert_eq!(len, 1000);
            assert_eq!(cap, 64);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(scan_bytes(next_data(&mut scanner)), CODE);
}

#[test]
fn absent_device_reports_disconnected_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ttyACM9");
    let mut scanner = open(&path, Terminator::Cr, 4096);
    let seen = wait_state(&mut scanner, |s| {
        matches!(s, ScannerState::Disconnected { .. })
    });
    match seen.last() {
        Some(ScannerEvent::State(ScannerState::Disconnected { reason })) => {
            assert!(reason.contains("ttyACM9"), "{reason}");
            assert!(reason.contains("check it is plugged in"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    wait_state(&mut scanner, |s| {
        matches!(s, ScannerState::Reconnecting { .. })
    });
}

#[test]
fn unplug_and_replug_at_a_symlinked_path() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("usb-Scanner-if00");
    let relink = |target: &Path| {
        let tmp = dir.path().join("link.tmp");
        std::os::unix::fs::symlink(target, &tmp).unwrap();
        std::fs::rename(&tmp, &link).unwrap();
    };

    let (mut master, pts) = pty();
    relink(&pts);
    let mut scanner = open(&link, Terminator::Cr, 4096);
    wait_state(&mut scanner, connected);
    master.write_all(b"before\r").unwrap();
    assert_eq!(scan_bytes(next_data(&mut scanner)), b"before");

    // Unplug: the device side closes.
    drop(master);
    wait_state(&mut scanner, |s| {
        matches!(s, ScannerState::Disconnected { .. })
    });
    wait_state(&mut scanner, |s| {
        matches!(s, ScannerState::Reconnecting { .. })
    });

    // Replug: a new device appears under the same by-id link.
    let (mut master, pts) = pty();
    relink(&pts);
    wait_state(&mut scanner, connected);
    master.write_all(&[CODE, b"\r"].concat()).unwrap();
    assert_eq!(scan_bytes(next_data(&mut scanner)), CODE);
    assert_eq!(scanner.state(), &ScannerState::Connected);
}
