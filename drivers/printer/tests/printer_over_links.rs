// SPDX-License-Identifier: GPL-3.0-or-later
//! `ZebraPrinter` and `wait_until_done` over real links: a pseudo-terminal pair and a loopback
//! TCP socket, each with the scripted fake Zebra of `support` on the far end. Every scenario
//! runs over both links.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use serialport::SerialPort;

use labelstation_printer::status::{ErrorFlags, ExtendedStatus, Problem, StatusReply};
use labelstation_printer::transport::{self, TransportConfig, TransportError};
use labelstation_printer::{
    JobOutcome, Printer, PrinterError, PrinterUri, ZebraPrinter, wait_until_done,
};
use support::{FakeZebra, LINKS, Link, Script, hqes_reply, idle_status};

/// A marking-code label: GS1 DataMatrix with GS separators (0x1D) as raw bytes.
const LABEL: &[u8] =
    b"^XA^FO40,40^BXN,4,200,44,44,,_1^FD_10104601234567892155abcdEFGH123\x1d91EE11\x1d92ABCD^FS^XZ";
/// Long enough for any scenario that should finish; never reached in a passing run.
const GENEROUS: Duration = Duration::from_secs(20);
/// Short, because these scenarios wait for silence on purpose.
const SILENCE: Duration = Duration::from_millis(200);
const POLL: Duration = Duration::from_millis(1);

#[test]
fn busy_printer_is_polled_until_done() {
    for link in LINKS {
        let peer = FakeZebra::start(
            link,
            Script {
                labels_per_job: 3,
                ..Script::default()
            },
        );
        let mut printer = peer.connect(GENEROUS);
        printer.send(LABEL).unwrap();
        let outcome = wait_until_done(&mut printer, GENEROUS, POLL).unwrap();
        assert_eq!(outcome, JobOutcome::Done, "{link:?}");
        drop(printer);
        let log = peer.finish();
        assert_eq!(log.labels, vec![LABEL.to_vec()], "{link:?}");
        // Busy with 3, 2, 1 labels, then idle.
        assert_eq!(log.queries, vec!["~HS"; 4], "{link:?}");
    }
}

#[test]
fn silent_host_status_is_explained_by_extended_status() {
    let cases = [
        (ErrorFlags::MEDIA_OUT.bits(), Problem::PaperOut),
        (ErrorFlags::HEAD_OPEN.bits(), Problem::HeadOpen),
        (ErrorFlags::RIBBON_OUT.bits(), Problem::RibbonOut),
    ];
    for link in LINKS {
        for (errors, expected) in cases {
            let peer = FakeZebra::start(
                link,
                Script {
                    hs_silent: true,
                    hqes: Some(hqes_reply(errors, 0)),
                    ..Script::default()
                },
            );
            let mut printer = peer.connect(SILENCE);
            printer.send(LABEL).unwrap();
            let outcome = wait_until_done(&mut printer, GENEROUS, POLL).unwrap();
            assert_eq!(
                outcome,
                JobOutcome::Blocked {
                    problem: expected,
                    problems: vec![expected]
                },
                "{link:?}"
            );
            assert_eq!(outcome.remedy(), Some(expected.remedy()));
            drop(printer);
            assert_eq!(peer.finish().queries, vec!["~HS", "~HQES"], "{link:?}");
        }
    }
}

#[test]
fn recorded_head_open_media_out_reply_blocks_on_head_first() {
    for link in LINKS {
        let peer = FakeZebra::start(
            link,
            Script {
                hs_silent: true,
                hqes: Some(support::fixture("hqes_head_open_media_out.bin")),
                ..Script::default()
            },
        );
        let mut printer = peer.connect(SILENCE);
        let outcome = wait_until_done(&mut printer, GENEROUS, POLL).unwrap();
        let JobOutcome::Blocked { problem, problems } = outcome else {
            panic!("{link:?}: {outcome:?}");
        };
        assert!(problems.contains(&Problem::PaperOut), "{link:?}");
        assert!(problems.contains(&Problem::HeadOpen), "{link:?}");
        assert_eq!(problem, problems[0], "{link:?}");
    }
}

#[test]
fn a_printer_silent_to_everything_is_never_ready() {
    for link in LINKS {
        let peer = FakeZebra::start(
            link,
            Script {
                hs_silent: true,
                hqes: None,
                hi: None,
                ..Script::default()
            },
        );
        let mut printer = peer.connect(SILENCE);
        assert_eq!(printer.host_status().unwrap(), StatusReply::NoReply);
        assert_eq!(printer.extended_status().unwrap(), None);
        assert_eq!(printer.identify().unwrap(), None);
        let outcome = wait_until_done(&mut printer, GENEROUS, POLL).unwrap();
        assert_eq!(
            outcome,
            JobOutcome::Blocked {
                problem: Problem::NoStatusReply,
                problems: vec![Problem::NoStatusReply]
            },
            "{link:?}"
        );
    }
}

#[test]
fn flags_in_host_status_block_before_done() {
    let mut paused = idle_status();
    paused.paused = true;
    let mut head_up = idle_status();
    head_up.head_up = true;
    head_up.paper_out = true;
    for link in LINKS {
        for (status, problem, problems) in [
            (paused.clone(), Problem::Paused, vec![Problem::Paused]),
            (
                head_up.clone(),
                Problem::HeadOpen,
                vec![Problem::HeadOpen, Problem::PaperOut],
            ),
        ] {
            // Idle counters, yet a blocking flag: the label may not have printed.
            let peer = FakeZebra::start(
                link,
                Script {
                    status,
                    ..Script::default()
                },
            );
            let mut printer = peer.connect(GENEROUS);
            let outcome = wait_until_done(&mut printer, GENEROUS, POLL).unwrap();
            assert_eq!(
                outcome,
                JobOutcome::Blocked { problem, problems },
                "{link:?}"
            );
        }
    }
}

#[test]
fn a_full_buffer_is_waited_out_not_reported() {
    let mut full = idle_status();
    full.buffer_full = true;
    for link in LINKS {
        let peer = FakeZebra::start(
            link,
            Script {
                status: full.clone(),
                labels_per_job: 2,
                ..Script::default()
            },
        );
        let mut printer = peer.connect(GENEROUS);
        printer.send(LABEL).unwrap();
        assert_eq!(
            wait_until_done(&mut printer, GENEROUS, POLL).unwrap(),
            JobOutcome::Done,
            "{link:?}"
        );
        drop(printer);
        assert_eq!(peer.finish().queries, vec!["~HS"; 3], "{link:?}");
    }
}

#[test]
fn warnings_alone_do_not_block() {
    for link in LINKS {
        let peer = FakeZebra::start(
            link,
            Script {
                hqes: Some(hqes_reply(0, 0x8)),
                ..Script::default()
            },
        );
        let mut printer = peer.connect(GENEROUS);
        let ext = printer.extended_status().unwrap().unwrap();
        assert_eq!(ext.problems(), vec![Problem::PaperNearEnd]);
        assert_eq!(
            wait_until_done(&mut printer, GENEROUS, POLL).unwrap(),
            JobOutcome::Done
        );
    }
}

#[test]
fn a_job_that_never_finishes_times_out() {
    for link in LINKS {
        let peer = FakeZebra::start(
            link,
            Script {
                labels_per_job: 2,
                stuck: true,
                ..Script::default()
            },
        );
        let mut printer = peer.connect(GENEROUS);
        printer.send(LABEL).unwrap();
        let err = wait_until_done(&mut printer, Duration::from_millis(50), POLL).unwrap_err();
        let PrinterError::JobTimeout { device, last, .. } = &err else {
            panic!("{link:?}: {err}");
        };
        assert_eq!(device, &peer.uri.to_string());
        assert_eq!(last, "1 formats in buffer, 2 labels remaining");
        let msg = err.to_string();
        assert!(msg.contains("scan the label before"), "{msg}");
    }
}

#[test]
fn garbage_and_stale_partial_frames_before_a_reply_are_skipped() {
    for link in LINKS {
        let peer = FakeZebra::start(
            link,
            Script {
                // Noise, a CR LF tail, and a partial frame cut off by the real reply's STX.
                garbage: b"\xff\x00noise\r\n,000\x03\r\n\x02158,0,0,02".to_vec(),
                ..Script::default()
            },
        );
        let mut printer = peer.connect(GENEROUS);
        assert_eq!(
            printer.host_status().unwrap(),
            StatusReply::Host(idle_status()),
            "{link:?}"
        );
        let ident = printer.identify().unwrap().unwrap();
        assert_eq!(ident.dots_per_mm, 8);
        assert_eq!(
            printer.extended_status().unwrap(),
            Some(ExtendedStatus::default())
        );
    }
}

#[test]
fn replies_written_one_byte_at_a_time_are_reassembled() {
    for link in LINKS {
        let peer = FakeZebra::start(
            link,
            Script {
                one_byte_writes: true,
                labels_per_job: 2,
                ..Script::default()
            },
        );
        let mut printer = peer.connect(GENEROUS);
        let ident = printer.identify().unwrap().unwrap();
        assert_eq!(ident.dpi(), Some(203), "{link:?}");
        printer.send(LABEL).unwrap();
        assert_eq!(
            wait_until_done(&mut printer, GENEROUS, POLL).unwrap(),
            JobOutcome::Done,
            "{link:?}"
        );
    }
}

#[test]
fn a_late_reply_is_not_taken_for_the_next_answer() {
    let mut busy = idle_status();
    busy.labels_remaining = 99;
    busy.formats_in_buffer = 7;
    for link in LINKS {
        let peer = FakeZebra::start(
            link,
            Script {
                // A whole stale ~HS reply right behind the ~HI reply, in the same write.
                after_hi: busy.encode(),
                ..Script::default()
            },
        );
        let mut printer = peer.connect(GENEROUS);
        assert!(printer.identify().unwrap().is_some());
        assert_eq!(
            printer.host_status().unwrap(),
            StatusReply::Host(idle_status()),
            "{link:?}"
        );
    }
}

#[test]
fn stale_bytes_waiting_on_the_link_are_drained_before_a_query() {
    let mut busy = idle_status();
    busy.labels_remaining = 99;
    for link in LINKS {
        let peer = FakeZebra::start(
            link,
            Script {
                greeting: busy.encode(),
                ..Script::default()
            },
        );
        let mut raw = transport::open(&peer.uri).unwrap();
        // Take the stale reply's STX so the rest of it is known to be waiting: parsed as
        // a reply, its last two strings would shift the real one and fail.
        let mut first = [0_u8; 1];
        while raw.read(&mut first, GENEROUS).unwrap() == 0 {}
        assert_eq!(first, [0x02]);
        let mut printer = ZebraPrinter::new(raw).with_reply_timeout(GENEROUS);
        assert_eq!(
            printer.host_status().unwrap(),
            StatusReply::Host(idle_status()),
            "{link:?}"
        );
    }
}

#[test]
fn a_garbled_reply_names_the_field() {
    for link in LINKS {
        let peer = FakeZebra::start(
            link,
            Script {
                hs_raw: Some(
                    b"\x02158,X,0,0203,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,0,0,0,2,6,0,00000000,1,000\x03\r\n\x020000,0\x03\r\n"
                        .to_vec(),
                ),
                ..Script::default()
            },
        );
        let mut printer = peer.connect(GENEROUS);
        let err = printer.host_status().unwrap_err();
        assert!(matches!(err, PrinterError::HostStatus { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!(
                "printer {}: ~HS string 1 field 2 (paper out)",
                peer.uri
            )),
            "{msg}"
        );
        assert!(matches!(
            wait_until_done(&mut printer, GENEROUS, POLL),
            Err(PrinterError::HostStatus { .. })
        ));
    }
}

#[test]
fn peer_hanging_up_mid_job_is_a_disconnect() {
    for link in LINKS {
        let peer = FakeZebra::start(
            link,
            Script {
                close_on_label: true,
                ..Script::default()
            },
        );
        let mut printer = peer.connect(GENEROUS);
        printer.send(LABEL).unwrap();
        let err = wait_until_done(&mut printer, GENEROUS, POLL).unwrap_err();
        assert!(err.is_disconnect(), "{link:?}: {err}");
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("printer {} disconnected (", peer.uri)),
            "{msg}"
        );
        assert!(
            msg.ends_with("pause the line, check the printer's power and cable, then reconnect")
        );
        // Later sends fail the same way, so the station cannot mistake the link for live.
        let again = printer.send(LABEL).unwrap_err();
        assert!(again.is_disconnect(), "{link:?}: {again}");
        assert_eq!(peer.finish().labels.len(), 1);
    }
}

#[test]
fn xoff_from_the_printer_holds_writes_until_the_write_timeout() {
    // Over a PTY the line discipline honours XON/XOFF like a real UART driver; a printer that
    // sent XOFF and never XON must surface as a write timeout, not a hang.
    let peer = FakeZebra::start(
        Link::Pty,
        Script {
            hi: Some(b"\x13".to_vec()),
            ..Script::default()
        },
    );
    let config = TransportConfig {
        write_timeout: Duration::from_millis(100),
        ..TransportConfig::default()
    };
    let mut link = transport::open_with(&peer.uri, &config).unwrap();
    link.write_all(b"~HI").unwrap();
    let mut got = [0_u8; 8];
    // The XOFF is consumed by the line discipline, so nothing is read.
    assert_eq!(link.read(&mut got, SILENCE).unwrap(), 0);
    let big = vec![b'A'; 1 << 20];
    let err = link.write_all(&big).unwrap_err();
    assert!(matches!(err, TransportError::WriteTimeout { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "printer {} accepted no data for 100ms: it is paused, its buffer is full or flow \
             control is holding; check the printer's screen, then retry",
            peer.uri
        )
    );
}

#[test]
fn a_tcp_printer_that_stops_reading_gives_a_write_timeout() {
    let (uri, listener) = support::deaf_listener();
    let config = TransportConfig {
        write_timeout: Duration::from_millis(100),
        ..TransportConfig::default()
    };
    let mut link = transport::open_with(&uri, &config).unwrap();
    let _held = support::accept_and_hold(&listener);
    let chunk = vec![b'A'; 1 << 20];
    let err = (0..256)
        .find_map(|_| link.write_all(&chunk).err())
        .expect("256 MiB never fit in loopback buffers");
    assert!(matches!(err, TransportError::WriteTimeout { .. }), "{err}");
}

#[test]
fn opening_a_missing_or_refused_printer_says_what_to_check() {
    let err = transport::open(&PrinterUri::parse("serial:///dev/ttyNOPE9").unwrap())
        .err()
        .unwrap();
    assert!(matches!(err, TransportError::Open { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("cannot open printer serial:///dev/ttyNOPE9?baud=9600&flow=xonxoff&parity=none&data=8&stop=1: "),
        "{msg}"
    );
    assert!(
        msg.ends_with("plug the printer in and switch it on, or pick it again from the list"),
        "{msg}"
    );

    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let uri = PrinterUri::parse(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let err = transport::open(&uri).err().unwrap();
    let msg = err.to_string();
    assert!(matches!(err, TransportError::Connect { .. }), "{msg}");
    assert!(
        msg.starts_with(&format!(
            "cannot connect to printer tcp://127.0.0.1:{port}: "
        )),
        "{msg}"
    );
    assert!(msg.contains("nothing listens on that port"), "{msg}");
}

#[test]
fn serial_line_settings_reach_the_port() {
    let (_master, slave) = serialport::TTYPort::pair().unwrap();
    let path = slave.name().unwrap();
    let uri = PrinterUri::parse(&format!(
        "serial://{path}?baud=19200&parity=even&data=7&stop=2&flow=none"
    ))
    .unwrap();
    let link = transport::open(&uri).unwrap();
    assert_eq!(link.describe(), uri.to_string());
    assert!(link.has_status_channel());
    // A second opener is refused: labels must not interleave with another program's bytes.
    let err = transport::open(&uri).err().unwrap();
    assert!(matches!(err, TransportError::Open { .. }), "{err}");
}

#[test]
fn a_lost_link_is_seen_before_a_send_and_reopened_with_backoff() {
    use labelstation_printer::{LinkState, Reconnect};
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let uri = PrinterUri::parse(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let (closed_tx, closed_rx) = std::sync::mpsc::channel();
    let peer = std::thread::spawn(move || {
        // First connection: the printer goes away (switched off) before the station sends.
        let (first, _) = listener.accept().unwrap();
        drop(first);
        closed_tx.send(()).unwrap();
        // Back: answer one ~HS, then go away for good (the port closes).
        let (mut second, _) = listener.accept().unwrap();
        let mut buf = [0_u8; 64];
        let mut got = Vec::new();
        while !got.windows(3).any(|w| w == b"~HS") {
            let n = second.read(&mut buf).unwrap();
            assert!(n > 0, "the station hung up");
            got.extend_from_slice(&buf[..n]);
        }
        second.write_all(support::IDLE_HS).unwrap();
        got
    });
    let mut printer = ZebraPrinter::open(&uri)
        .unwrap()
        .with_reply_timeout(GENEROUS);
    assert_eq!(printer.link(), LinkState::Up);
    assert_eq!(printer.reconnect().unwrap(), Reconnect::AlreadyUp);
    closed_rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    // The probe sees the closed link without sending a byte, so no label is started on it.
    let err = printer.probe().unwrap_err();
    assert!(err.is_disconnect(), "{err}");
    assert!(printer.send(LABEL).unwrap_err().is_disconnect());
    assert!(matches!(
        printer.link(),
        LinkState::Lost { attempts: 0, .. }
    ));
    // The first attempt is made at once, and the printer answers on the new link.
    assert_eq!(printer.reconnect().unwrap(), Reconnect::Reopened);
    assert_eq!(printer.link(), LinkState::Up);
    assert!(matches!(
        printer.host_status().unwrap(),
        labelstation_printer::status::StatusReply::Host(_)
    ));
    let got = peer.join().unwrap();
    assert!(
        !got.windows(3).any(|w| w == b"^XA"),
        "no label went out on either link"
    );
    // Gone for good: each failed attempt waits longer before the next.
    std::thread::sleep(Duration::from_millis(50));
    assert!(printer.probe().unwrap_err().is_disconnect());
    let first = printer.reconnect().unwrap_err();
    assert!(first.to_string().contains("cannot connect"), "{first}");
    let LinkState::Lost {
        attempts, retry_in, ..
    } = printer.link()
    else {
        panic!("the link is still lost");
    };
    assert_eq!(attempts, 1);
    assert!(retry_in > Duration::from_millis(100), "{retry_in:?}");
    assert!(matches!(
        printer.reconnect().unwrap(),
        Reconnect::NotYet { .. }
    ));
}
