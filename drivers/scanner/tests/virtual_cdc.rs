// SPDX-License-Identifier: GPL-3.0-or-later
//! The virtual CDC scanner end to end: it writes to a PTY master, the serial backend reads the
//! slave path, and each injected fault arrives as the station would see it from hardware.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use labelstation_scanner::{
    ChannelScanner, Fault, Scanner, ScannerEvent, ScannerState, SerialConfig, Terminator,
    VirtualCdcScanner, open_serial,
};

const CODE: &[u8] = b"0104600000000017215abcDEF!\"%\x1d91EE11\x1d92dGVzdA==";
const PATIENCE: Duration = Duration::from_secs(10);

fn station() -> (VirtualCdcScanner, ChannelScanner) {
    let (emitter, path) = VirtualCdcScanner::pty().unwrap();
    let mut config = SerialConfig::new(path);
    config.term = Terminator::Cr;
    let mut scanner = open_serial(config).unwrap();
    let deadline = Instant::now() + PATIENCE;
    while scanner.state() != &ScannerState::Connected {
        assert!(Instant::now() < deadline, "never connected");
        scanner.next_event(Duration::from_millis(100)).unwrap();
    }
    (emitter.with_seed(42), scanner)
}

fn next_scan(scanner: &mut ChannelScanner) -> Vec<u8> {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        match scanner.next_event(Duration::from_millis(100)).unwrap() {
            Some(ScannerEvent::Scan(s)) => return s.bytes,
            Some(ScannerEvent::State(_)) | None => {}
            Some(other) => panic!("{other:?}"),
        }
    }
    panic!("no scan arrived");
}

fn with_aim(aim: &[u8], body: &[u8]) -> Vec<u8> {
    [aim, body].concat()
}

#[test]
fn every_fault_arrives_as_hardware_would_send_it() {
    let (mut emitter, mut scanner) = station();

    emitter.scan(CODE, &Fault::None).unwrap();
    assert_eq!(next_scan(&mut scanner), with_aim(b"]d2", CODE));

    // A no-read sends nothing: the next thing the station sees is the following scan.
    assert_eq!(emitter.scan(CODE, &Fault::NoRead).unwrap(), 0);
    emitter.scan(b"after", &Fault::None).unwrap();
    assert_eq!(next_scan(&mut scanner), b"]d2after");

    emitter.scan(CODE, &Fault::GsDropped).unwrap();
    let got = next_scan(&mut scanner);
    assert!(!got.contains(&0x1d));
    assert_eq!(got.len(), CODE.len() + 3 - 2);

    emitter.scan(CODE, &Fault::WrongSymbology(*b"]Q3")).unwrap();
    assert_eq!(next_scan(&mut scanner), with_aim(b"]Q3", CODE));

    emitter.scan(CODE, &Fault::Misread { count: 2 }).unwrap();
    let got = next_scan(&mut scanner);
    assert_eq!(got.len(), CODE.len() + 3);
    assert_ne!(got, with_aim(b"]d2", CODE));

    emitter.scan(CODE, &Fault::DoubleScan).unwrap();
    assert_eq!(next_scan(&mut scanner), with_aim(b"]d2", CODE));
    assert_eq!(next_scan(&mut scanner), with_aim(b"]d2", CODE));

    emitter.scan(CODE, &Fault::NoiseBurst { len: 16 }).unwrap();
    let got = next_scan(&mut scanner);
    assert_eq!(got.len(), 16 + 3 + CODE.len());
    assert!(got.ends_with(&with_aim(b"]d2", CODE)));

    emitter
        .scan(
            CODE,
            &Fault::Neighbour(b"0104600000000017215abcXYZ".to_vec()),
        )
        .unwrap();
    assert_eq!(next_scan(&mut scanner), b"]d20104600000000017215abcXYZ");
}

#[test]
fn unplugging_the_virtual_scanner_is_a_disconnect() {
    let (mut emitter, mut scanner) = station();
    emitter.scan(CODE, &Fault::None).unwrap();
    assert_eq!(next_scan(&mut scanner), with_aim(b"]d2", CODE));
    drop(emitter);
    let deadline = Instant::now() + PATIENCE;
    loop {
        assert!(Instant::now() < deadline, "no disconnect reported");
        if let Some(ScannerEvent::State(ScannerState::Disconnected { reason })) =
            scanner.next_event(Duration::from_millis(100)).unwrap()
        {
            assert!(reason.contains("went away"), "{reason}");
            break;
        }
    }
}
