// SPDX-License-Identifier: GPL-3.0-or-later
//! `file://`: exact bytes appended to a real file (created 0600 when missing, unless under /dev), and status
//! reported as unknown, never ready.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use labelstation_printer::transport::{self, TransportError};
use labelstation_printer::{
    JobOutcome, Printer, PrinterError, PrinterUri, ZebraPrinter, wait_until_done,
};

fn file_uri(path: &std::path::Path) -> PrinterUri {
    PrinterUri::parse(&format!("file://{}", path.display())).unwrap()
}

#[test]
fn jobs_are_appended_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lp0");
    std::fs::write(&path, b"earlier run\n").unwrap();
    let mut printer = ZebraPrinter::open(&file_uri(&path)).unwrap();
    // Every byte value, including NUL, STX/ETX, GS and CR LF, must pass untouched.
    let all_bytes: Vec<u8> = (0..=255).collect();
    let label = b"^XA^FD\x1d91EE11\x1d^FS^XZ\r\n".to_vec();
    printer.send(&all_bytes).unwrap();
    printer.send(&label).unwrap();
    let mut expected = b"earlier run\n".to_vec();
    expected.extend(&all_bytes);
    expected.extend(&label);
    assert_eq!(std::fs::read(&path).unwrap(), expected);
}

#[test]
fn status_over_a_file_is_unknown_never_ready() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lp0");
    std::fs::write(&path, b"").unwrap();
    let uri = file_uri(&path);
    let mut printer = ZebraPrinter::open(&uri).unwrap();
    printer.send(b"^XA^XZ").unwrap();
    let outcome = wait_until_done(
        &mut printer,
        Duration::from_secs(5),
        Duration::from_millis(1),
    )
    .unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Unknown {
            device: uri.to_string()
        }
    );
    assert!(
        outcome
            .remedy()
            .is_some_and(|r| r.contains("scan the label"))
    );
    for err in [
        printer.host_status().unwrap_err(),
        printer.extended_status().unwrap_err(),
        printer.identify().unwrap_err(),
    ] {
        assert!(matches!(err, PrinterError::NoStatusChannel { .. }), "{err}");
    }
    // Queries never reach the file: only the job is there.
    assert_eq!(std::fs::read(&path).unwrap(), b"^XA^XZ");

    let mut link = transport::open(&uri).unwrap();
    assert!(!link.has_status_channel());
    let err = link.read(&mut [0; 8], Duration::ZERO).unwrap_err();
    assert!(matches!(err, TransportError::NoStatusChannel { .. }));
}

#[test]
fn a_missing_device_node_is_not_created() {
    // Under /dev a missing path is an unplugged printer: creating a plain file there would swallow labels.
    let path = std::path::PathBuf::from(format!(
        "/dev/labelstation-test-absent-{}",
        std::process::id()
    ));
    let uri = file_uri(&path);
    let err = transport::open(&uri).err().unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot open printer {uri}: No such file or directory (os error 2): the device does \
             not exist: plug the printer in and switch it on, or pick it again from the list"
        )
    );
    assert!(!path.exists(), "opening must not create {}", path.display());
}

#[test]
fn a_missing_file_elsewhere_is_created_for_the_station_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.zpl");
    let mut printer = ZebraPrinter::open(&file_uri(&path)).unwrap();
    printer.send(b"^XA^FD\x1d91EE11^FS^XZ").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"^XA^FD\x1d91EE11^FS^XZ");
    // The jobs hold complete codes: readable by the station's user only.
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    // Opened again, it is appended to.
    drop(printer);
    let mut printer = ZebraPrinter::open(&file_uri(&path)).unwrap();
    printer.send(b"^XA^XZ").unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"^XA^FD\x1d91EE11^FS^XZ^XA^XZ"
    );
}

#[test]
fn a_file_in_a_missing_directory_or_behind_a_dangling_link_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let uri = file_uri(&dir.path().join("no-such-dir/jobs.zpl"));
    let err = transport::open(&uri).err().unwrap();
    assert!(err.to_string().contains("create the directory"), "{err}");
    assert!(!dir.path().join("no-such-dir").exists());
    // A link to nothing is not followed to create its target somewhere else.
    let target = dir.path().join("elsewhere.zpl");
    let link = dir.path().join("link.zpl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let err = transport::open(&file_uri(&link)).err().unwrap();
    assert!(err.to_string().contains("link to nothing"), "{err}");
    assert!(!target.exists(), "the link's target must not be created");
}
