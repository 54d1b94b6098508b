// SPDX-License-Identifier: GPL-3.0-or-later
//! A scripted Zebra peer for tests (not product code): it sits on the far end of a real
//! pseudo-terminal or loopback socket, collects labels and answers `~HS`, `~HQES` and `~HI`
//! from a state the test sets.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use labelstation_printer::status::HostStatus;
use labelstation_printer::{PrinterUri, ZebraPrinter};
use serialport::{SerialPort, TTYPort};

/// A recorded idle `~HS` reply (Brother's ZPL emulation, research S37).
pub const IDLE_HS: &[u8] = b"\x02158,0,0,0203,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,0,0,0,2,6,0,00000000,1,000\x03\r\n\x020000,0\x03\r\n";

pub fn fixture(name: &str) -> Vec<u8> {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

pub fn idle_status() -> HostStatus {
    HostStatus::parse_bytes(IDLE_HS).unwrap()
}

/// `~HQES` reply bytes with these error and warning bits, in Zebra's layout.
pub fn hqes_reply(errors: u64, warnings: u64) -> Vec<u8> {
    let line = |label: &str, bits: u64| {
        format!(
            "{label}: {} {:08X} {:08X}\r\n",
            u8::from(bits != 0),
            bits >> 32,
            bits & 0xffff_ffff
        )
    };
    format!(
        "\x02\r\nPRINTER STATUS\r\n{}{}\x03\r\n",
        line("ERRORS", errors),
        line("WARNINGS", warnings)
    )
    .into_bytes()
}

/// What the fake printer does; the test changes it at any time.
#[derive(Debug, Clone)]
pub struct Script {
    /// Answered to `~HS` (after `garbage`), unless `hs_silent`.
    pub status: HostStatus,
    /// Paper out, ribbon out, head open: real printers do not answer `~HS` then.
    pub hs_silent: bool,
    /// Raw bytes to send instead of `status` (a garbled reply).
    pub hs_raw: Option<Vec<u8>>,
    /// Answer to `~HQES`; `None` = silent.
    pub hqes: Option<Vec<u8>>,
    /// Answer to `~HI`; `None` = silent.
    pub hi: Option<Vec<u8>>,
    /// Bytes sent before every reply (line noise, a stale partial frame).
    pub garbage: Vec<u8>,
    /// Send every reply one byte per write.
    pub one_byte_writes: bool,
    /// Labels the printer works through after each received `^XZ`, one per `~HS` poll.
    pub labels_per_job: u32,
    /// Never finish a job (labels remaining stays where it is).
    pub stuck: bool,
    /// Hang up as soon as a label arrives.
    pub close_on_label: bool,
    /// Bytes sent right after the `~HI` reply, in the same write (a late reply).
    pub after_hi: Vec<u8>,
    /// Bytes sent unasked as soon as the link is up, in one write.
    pub greeting: Vec<u8>,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            status: idle_status(),
            hs_silent: false,
            hs_raw: None,
            hqes: Some(hqes_reply(0, 0)),
            hi: Some(fixture("hi_documented_layout.bin")),
            garbage: Vec::new(),
            one_byte_writes: false,
            labels_per_job: 0,
            stuck: false,
            close_on_label: false,
            after_hi: Vec::new(),
            greeting: Vec::new(),
        }
    }
}

/// What the fake printer saw.
#[derive(Debug, Default, Clone)]
pub struct Log {
    /// Every byte received, in order.
    pub received: Vec<u8>,
    /// Complete `^XA … ^XZ` labels.
    pub labels: Vec<Vec<u8>>,
    /// Queries in order: `~HS`, `~HQES`, `~HI`.
    pub queries: Vec<&'static str>,
}

#[derive(Debug, Default)]
struct Shared {
    script: Mutex<Script>,
    log: Mutex<Log>,
}

/// Which real link the peer sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Pty,
    Tcp,
}

pub const LINKS: [Link; 2] = [Link::Pty, Link::Tcp];

/// The running fake printer. Dropping it stops the peer and closes its end.
pub struct FakeZebra {
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Host-side PTY end from `TTYPort::pair`, held so the PTY outlives the test.
    _slave: Option<TTYPort>,
    pub uri: PrinterUri,
}

impl FakeZebra {
    /// Starts a peer on `link`; the host opens `uri` through the product's own `open`.
    pub fn start(link: Link, script: Script) -> Self {
        let shared = Arc::new(Shared {
            script: Mutex::new(script),
            log: Mutex::new(Log::default()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let (uri, slave, thread) = match link {
            Link::Pty => {
                let (mut master, slave) = TTYPort::pair().unwrap();
                master.set_timeout(Duration::from_millis(10)).unwrap();
                let path = slave.name().unwrap();
                let uri = PrinterUri::parse(&format!("serial://{path}")).unwrap();
                let (shared, stop) = (shared.clone(), stop.clone());
                let thread = thread::spawn(move || serve(master, &shared, &stop));
                (uri, Some(slave), thread)
            }
            Link::Tcp => {
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let port = listener.local_addr().unwrap().port();
                let uri = PrinterUri::parse(&format!("tcp://127.0.0.1:{port}")).unwrap();
                let (shared, stop) = (shared.clone(), stop.clone());
                let thread = thread::spawn(move || {
                    let (stream, _) = listener.accept().unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_millis(10)))
                        .unwrap();
                    stream.set_nodelay(true).unwrap();
                    serve(stream, &shared, &stop);
                });
                (uri, None, thread)
            }
        };
        Self {
            shared,
            stop,
            thread: Some(thread),
            _slave: slave,
            uri,
        }
    }

    /// The host side, opened through the product's transport code.
    pub fn connect(&self, reply_timeout: Duration) -> ZebraPrinter {
        ZebraPrinter::open(&self.uri)
            .unwrap()
            .with_reply_timeout(reply_timeout)
    }

    pub fn script(&self) -> MutexGuard<'_, Script> {
        self.shared.script.lock().unwrap()
    }

    pub fn log(&self) -> Log {
        self.shared.log.lock().unwrap().clone()
    }

    /// Stops the peer after the host is done, then returns what it saw.
    pub fn finish(mut self) -> Log {
        self.stop_and_join();
        self.log()
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for FakeZebra {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            // Do not turn a failing test's panic into an abort.
            let _ = thread.join();
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Event {
    Hs,
    Hqes,
    Hi,
    Label(Vec<u8>),
}

/// Takes the next complete command or label off the front of `pending`.
fn next_event(pending: &mut Vec<u8>) -> Option<Event> {
    let find = |needle: &[u8]| pending.windows(needle.len()).position(|w| w == needle);
    let candidates = [
        (find(b"~HQES"), 5),
        (find(b"~HS"), 3),
        (find(b"~HI"), 3),
        (find(b"^XZ"), 3),
    ];
    let (index, (at, len)) = candidates
        .iter()
        .enumerate()
        .filter_map(|(i, &(at, len))| at.map(|at| (i, (at, len))))
        .min_by_key(|&(_, (at, _))| at)?;
    let end = at + len;
    let event = match index {
        0 => Event::Hqes,
        1 => Event::Hs,
        2 => Event::Hi,
        _ => {
            let start = pending[..at]
                .windows(3)
                .rposition(|w| w == b"^XA")
                .unwrap_or(0);
            Event::Label(pending[start..end].to_vec())
        }
    };
    pending.drain(..end);
    Some(event)
}

fn serve<S: Read + Write>(mut stream: S, shared: &Shared, stop: &AtomicBool) {
    let greeting = shared.script.lock().unwrap().greeting.clone();
    if !greeting.is_empty() && stream.write_all(&greeting).is_err() {
        return;
    }
    let mut pending = Vec::new();
    let mut buf = [0_u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        let n = match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                continue;
            }
            Err(_) => return,
        };
        shared
            .log
            .lock()
            .unwrap()
            .received
            .extend_from_slice(&buf[..n]);
        pending.extend_from_slice(&buf[..n]);
        while let Some(event) = next_event(&mut pending) {
            let reply = {
                let mut script = shared.script.lock().unwrap();
                let mut log = shared.log.lock().unwrap();
                match event {
                    Event::Label(label) => {
                        log.labels.push(label);
                        if script.close_on_label {
                            return;
                        }
                        if script.labels_per_job > 0 {
                            script.status.formats_in_buffer += 1;
                            script.status.labels_remaining += script.labels_per_job;
                        }
                        None
                    }
                    Event::Hs => {
                        log.queries.push("~HS");
                        let reply = if script.hs_silent {
                            None
                        } else if let Some(raw) = &script.hs_raw {
                            Some(raw.clone())
                        } else {
                            Some(script.status.encode())
                        };
                        // One label printed per poll, as a real printer would between polls.
                        if !script.stuck && script.status.labels_remaining > 0 {
                            script.status.labels_remaining -= 1;
                            if script.status.labels_remaining == 0 {
                                script.status.formats_in_buffer = 0;
                            }
                        }
                        reply
                    }
                    Event::Hqes => {
                        log.queries.push("~HQES");
                        script.hqes.clone()
                    }
                    Event::Hi => {
                        log.queries.push("~HI");
                        script.hi.clone().map(|mut hi| {
                            hi.extend_from_slice(&script.after_hi);
                            hi
                        })
                    }
                }
                .map(|body| {
                    let mut bytes = script.garbage.clone();
                    bytes.extend(body);
                    (bytes, script.one_byte_writes)
                })
            };
            if let Some((bytes, one_by_one)) = reply {
                let sent = if one_by_one {
                    bytes.chunks(1).try_for_each(|b| stream.write_all(b))
                } else {
                    stream.write_all(&bytes)
                };
                if sent.is_err() {
                    return;
                }
            }
        }
    }
}

/// A TCP peer that accepts and then never reads, so the host's writes back up.
pub fn deaf_listener() -> (PrinterUri, TcpListener) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (
        PrinterUri::parse(&format!("tcp://127.0.0.1:{port}")).unwrap(),
        listener,
    )
}

/// Accepts one connection on `listener` and holds it until dropped.
pub fn accept_and_hold(listener: &TcpListener) -> TcpStream {
    listener.accept().unwrap().0
}
