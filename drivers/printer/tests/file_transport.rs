// SPDX-License-Identifier: GPL-3.0-or-later
//! `file://`: exact bytes appended to a real file, and status reported as unknown, never ready.

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
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lp0");
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
