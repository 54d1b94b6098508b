// SPDX-License-Identifier: GPL-3.0-or-later
//! The virtual printer: a Zebra as the station sees it, over TCP (port 9100 style) or a pseudo-terminal.
//!
//! It takes the ZPL the station sends (full formats, `^DF` stored formats and `^XF` recalls), answers
//! `~HS`, `~HQES` and `~HI` from its state like a real printer (no answer to `~HS` while paper or ribbon
//! is out or the head is open, as current firmware does), prints each label after the time the
//! configured print speed takes, renders it with the same renderer as the label preview (a real
//! DataMatrix), and hands the images to whoever reads them (the virtual scanner). Faults are injected
//! on demand: paper out, ribbon out, head open, pause, unreadable prints, dropped jobs, a second copy
//! of a label (the reprint after an error), a slow serial link.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use labelstation_printer::status::HostStatus;
use labelstation_zpl::read::{Event, Immediate, Label};
use labelstation_zpl::render::{Bitmap, render};

/// How the virtual printer behaves.
#[derive(Debug, Clone)]
pub struct PrinterSimConfig {
    /// Head resolution (203, 300 or 600).
    pub dpi: u32,
    /// Print speed in inches per second; `None` prints instantly.
    pub ips: Option<f64>,
    /// Serial line speed to pace reception at (10 bits a byte, 8N1); `None` does not pace.
    pub baud: Option<u32>,
    /// Share of labels printed unreadable (the symbol damaged).
    pub unreadable_rate: f64,
    /// Share of jobs lost without a trace.
    pub drop_rate: f64,
    /// Share of labels printed twice (as after a reprint on error).
    pub duplicate_rate: f64,
    pub seed: u64,
}

impl Default for PrinterSimConfig {
    fn default() -> Self {
        PrinterSimConfig {
            dpi: 203,
            ips: None,
            baud: None,
            unreadable_rate: 0.0,
            drop_rate: 0.0,
            duplicate_rate: 0.0,
            seed: 1,
        }
    }
}

/// A label that came out of the printer.
#[derive(Debug, Clone)]
pub struct PrintedLabel {
    pub image: Bitmap,
    /// The printer damaged this print (for tests and the demo summary; a scanner must find out itself).
    pub damaged: bool,
}

/// What the printer did, for tests and summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrinterCounts {
    pub jobs: u64,
    pub printed: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub damaged: u64,
    pub status_queries: u64,
}

#[derive(Debug, Default)]
struct Flags {
    paper_out: bool,
    ribbon_out: bool,
    head_open: bool,
    paused: bool,
}

struct State {
    cfg: PrinterSimConfig,
    flags: Flags,
    reader: labelstation_zpl::Printer,
    queue: VecDeque<Label>,
    head_started: Option<Instant>,
    counts: PrinterCounts,
    rng: u64,
}

impl State {
    fn chance(&mut self, p: f64) -> bool {
        // xorshift64: fault draws need no quality, only replayability.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        p > 0.0 && ((x % 1_000_000) as f64) < p * 1_000_000.0
    }

    fn blocked(&self) -> bool {
        self.flags.paper_out || self.flags.ribbon_out || self.flags.head_open || self.flags.paused
    }

    fn host_status(&self) -> HostStatus {
        HostStatus {
            paper_out: self.flags.paper_out,
            paused: self.flags.paused,
            head_up: self.flags.head_open,
            ribbon_out: self.flags.ribbon_out,
            thermal_transfer: true,
            labels_remaining: u32::try_from(self.queue.len()).unwrap_or(u32::MAX),
            ..HostStatus::default()
        }
    }

    /// `~HQES`: error nibble 1 = media out (1), ribbon out (2), head open (4).
    fn extended_status(&self) -> Vec<u8> {
        let f = &self.flags;
        let errors =
            u32::from(f.paper_out) | u32::from(f.ribbon_out) << 1 | u32::from(f.head_open) << 2;
        format!(
            "\x02\r\n  PRINTER STATUS\r\n   ERRORS:         {} 00000000 {errors:08X}\r\n   WARNINGS:       0 00000000 00000000\r\n\x03\r\n",
            u8::from(errors != 0)
        )
        .into_bytes()
    }

    fn identification(&self) -> Vec<u8> {
        let dpmm = match self.cfg.dpi {
            300 => 12,
            600 => 24,
            _ => 8,
        };
        format!("\x02LS-VIRTUAL,V1.0.0,{dpmm},8192KB,\x03\r\n").into_bytes()
    }

    /// Seconds the head takes for one label at the configured speed.
    fn print_time(&self, label: &Label) -> Duration {
        match self.cfg.ips {
            Some(ips) if ips > 0.0 => {
                let dots = f64::from(label.settings.length.unwrap_or(320));
                Duration::from_secs_f64(dots / (ips * f64::from(self.cfg.dpi)))
            }
            _ => Duration::ZERO,
        }
    }
}

struct Shared {
    state: Mutex<State>,
    out: Mutex<Sender<PrintedLabel>>,
    stop: AtomicBool,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running virtual printer. Its threads stop when it is dropped.
pub struct VirtualPrinter {
    shared: Arc<Shared>,
    panel: VirtualPrinterHandle,
    printed: Receiver<PrintedLabel>,
}

impl VirtualPrinter {
    pub fn new(cfg: PrinterSimConfig) -> VirtualPrinter {
        let (tx, rx) = channel();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                rng: cfg.seed | 1,
                cfg,
                flags: Flags::default(),
                reader: labelstation_zpl::Printer::new(),
                queue: VecDeque::new(),
                head_started: None,
                counts: PrinterCounts::default(),
            }),
            out: Mutex::new(tx),
            stop: AtomicBool::new(false),
        });
        let engine = shared.clone();
        std::thread::Builder::new()
            .name("virtual-printer".into())
            .spawn(move || print_loop(&engine))
            .ok();
        VirtualPrinter {
            panel: VirtualPrinterHandle {
                shared: shared.clone(),
            },
            shared,
            printed: rx,
        }
    }

    /// Accept printer connections on `listen` (loopback); returns the bound address.
    pub fn serve_tcp(&self, listen: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = self.shared.clone();
        std::thread::Builder::new()
            .name("virtual-printer-tcp".into())
            .spawn(move || {
                while !shared.stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let shared = shared.clone();
                            let _ = stream.set_nonblocking(false);
                            let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
                            std::thread::spawn(move || serve(&shared, stream));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })?;
        Ok(addr)
    }

    /// Serve on a new pseudo-terminal; returns the path the station opens as its serial port.
    pub fn serve_pty(&self) -> std::io::Result<PathBuf> {
        let (mut master, slave) = serialport::TTYPort::pair().map_err(std::io::Error::other)?;
        let path = slave
            .name()
            .map(PathBuf::from)
            .ok_or_else(|| std::io::Error::other("pseudo-terminal without a name"))?;
        use serialport::SerialPort;
        master
            .set_timeout(Duration::from_millis(50))
            .map_err(std::io::Error::other)?;
        let shared = self.shared.clone();
        std::thread::Builder::new()
            .name("virtual-printer-pty".into())
            .spawn(move || {
                // Hold the slave side open until the station has opened it, as a real port stays present.
                let _slave = slave;
                serve(&shared, master)
            })?;
        Ok(path)
    }

    /// Labels as they come out of the printer.
    pub fn printed(&self) -> &Receiver<PrintedLabel> {
        &self.printed
    }

    /// A handle on this printer's front panel (faults, counts) that other threads may keep.
    pub fn handle(&self) -> VirtualPrinterHandle {
        self.panel.clone()
    }
}

/// The front panel (faults, counts) is the printer's own: `printer.set_paper_out(true)` works on both.
impl std::ops::Deref for VirtualPrinter {
    type Target = VirtualPrinterHandle;
    fn deref(&self) -> &VirtualPrinterHandle {
        &self.panel
    }
}

/// The front panel of a [`VirtualPrinter`]: cloneable, for the thread that injects faults while another
/// thread owns the printer's output.
#[derive(Clone)]
pub struct VirtualPrinterHandle {
    shared: Arc<Shared>,
}

impl VirtualPrinterHandle {
    pub fn set_paper_out(&self, on: bool) {
        lock(&self.shared.state).flags.paper_out = on;
    }
    pub fn set_ribbon_out(&self, on: bool) {
        lock(&self.shared.state).flags.ribbon_out = on;
    }
    pub fn set_head_open(&self, on: bool) {
        lock(&self.shared.state).flags.head_open = on;
    }
    pub fn set_paused(&self, on: bool) {
        lock(&self.shared.state).flags.paused = on;
    }
    pub fn set_faults(&self, unreadable_rate: f64, drop_rate: f64, duplicate_rate: f64) {
        let mut s = lock(&self.shared.state);
        s.cfg.unreadable_rate = unreadable_rate;
        s.cfg.drop_rate = drop_rate;
        s.cfg.duplicate_rate = duplicate_rate;
    }
    pub fn counts(&self) -> PrinterCounts {
        lock(&self.shared.state).counts
    }
}

impl Drop for VirtualPrinter {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

/// Moves labels through the head at the configured speed while nothing blocks it.
fn print_loop(shared: &Shared) {
    while !shared.stop.load(Ordering::Relaxed) {
        let done = {
            let mut s = lock(&shared.state);
            if s.blocked() || s.queue.is_empty() {
                s.head_started = None;
                None
            } else {
                let started = *s.head_started.get_or_insert_with(Instant::now);
                let need = s.queue.front().map(|l| s.print_time(l)).unwrap_or_default();
                if started.elapsed() >= need {
                    s.head_started = None;
                    let (unreadable, duplicate) = (s.cfg.unreadable_rate, s.cfg.duplicate_rate);
                    let damaged = s.chance(unreadable);
                    let twice = s.chance(duplicate);
                    s.queue.pop_front().map(|l| (l, damaged, twice))
                } else {
                    None
                }
            }
        };
        match done {
            Some((label, damaged, twice)) => {
                let Ok(mut image) = render(&label) else {
                    tracing::warn!("virtual printer: a label could not be rendered");
                    continue;
                };
                if damaged {
                    damage(&mut image);
                }
                let out = shared.out.lock().unwrap_or_else(|p| p.into_inner());
                let copies = if twice { 2 } else { 1 };
                for _ in 0..copies {
                    let _ = out.send(PrintedLabel {
                        image: image.clone(),
                        damaged,
                    });
                }
                drop(out);
                let mut s = lock(&shared.state);
                s.counts.printed += copies;
                s.counts.duplicated += u64::from(twice);
                s.counts.damaged += u64::from(damaged);
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Damage a print the way a worn head or a crease does: blank bands across the upper left of the
/// label, where the symbol sits in every built-in template.
fn damage(image: &mut Bitmap) {
    let (w, h) = (image.width, image.height);
    let row_bytes = w.div_ceil(8) as usize;
    for y in (h / 12..h / 2).step_by(3) {
        let start = y as usize * row_bytes;
        let end = (start + row_bytes / 2).min(image.dots.len());
        if let Some(row) = image.dots.get_mut(start..end) {
            row.fill(0);
        }
    }
}

/// Longest format kept while waiting for its `^XZ`: a station's label is under 1 KiB.
const MAX_PENDING: usize = 256 * 1024;

/// One connection: read ZPL, answer queries, queue labels.
fn serve<S: Read + Write>(shared: &Shared, mut link: S) {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    while !shared.stop.load(Ordering::Relaxed) {
        let n = match link.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) =>
            {
                continue;
            }
            Err(_) => return,
        };
        let baud = lock(&shared.state).cfg.baud;
        if let Some(baud) = baud.filter(|b| *b > 0) {
            std::thread::sleep(Duration::from_secs_f64(n as f64 * 10.0 / f64::from(baud)));
        }
        pending.extend_from_slice(&buf[..n]);
        if pending.len() > MAX_PENDING {
            tracing::warn!(
                "virtual printer: {} bytes without a complete format; discarded",
                pending.len()
            );
            pending.clear();
        }
        while let Some(unit) = next_unit(&mut pending) {
            let reply = handle(shared, &unit);
            if !reply.is_empty() && link.write_all(&reply).is_err() {
                return;
            }
        }
    }
}

/// Take the next complete unit off `pending`: a `~` command or a whole `^XA … ^XZ` format. Bytes
/// before either are line noise and dropped.
fn next_unit(pending: &mut Vec<u8>) -> Option<Vec<u8>> {
    let start = pending.iter().position(|&b| b == b'~' || b == b'^')?;
    pending.drain(..start);
    if pending.first() == Some(&b'~') {
        let len = if pending.get(1..3) == Some(b"HQ") {
            5
        } else {
            3
        };
        if pending.len() < len {
            return None;
        }
        return Some(pending.drain(..len).collect());
    }
    if !pending.starts_with(b"^XA") {
        if pending.len() < 3 {
            return None;
        }
        // A stray caret outside a format: skip it.
        pending.drain(..1);
        return next_unit(pending);
    }
    if let Some(end) = pending.windows(3).position(|w| w == b"^XZ") {
        return Some(pending.drain(..end + 3).collect());
    }
    // A format still arriving: a Zebra acts on `~` commands at once, even in the middle of one (a status
    // query after a link broke mid-label must still be answered). `~JA` also drops the partial format.
    let tilde = pending.iter().position(|&b| b == b'~')?;
    let len = if pending.get(tilde + 1..tilde + 3) == Some(b"HQ") {
        5
    } else {
        3
    };
    if pending.len() < tilde + len {
        return None;
    }
    let unit: Vec<u8> = pending.drain(tilde..tilde + len).collect();
    if unit == b"~JA" {
        pending.clear();
    }
    Some(unit)
}

/// Act on one unit; returns what the printer sends back.
fn handle(shared: &Shared, unit: &[u8]) -> Vec<u8> {
    let mut s = lock(&shared.state);
    let job = match s.reader.read(unit) {
        Ok(job) => job,
        Err(e) => {
            tracing::warn!("virtual printer: malformed ZPL ignored: {e}");
            return Vec::new();
        }
    };
    let mut reply = Vec::new();
    for event in job.events {
        match event {
            Event::Label(label) => {
                s.counts.jobs += 1;
                let drop_rate = s.cfg.drop_rate;
                if s.chance(drop_rate) {
                    s.counts.dropped += 1;
                    continue;
                }
                for _ in 0..label.quantity.max(1) {
                    s.queue.push_back(label.clone());
                }
            }
            Event::Immediate { command, .. } => match command {
                Immediate::HostStatus => {
                    s.counts.status_queries += 1;
                    // Current firmware does not answer while media or ribbon is out or the head is open.
                    if !(s.flags.paper_out || s.flags.ribbon_out || s.flags.head_open) {
                        reply.extend(s.host_status().encode());
                    }
                }
                Immediate::HostQuery(q) if q.eq_ignore_ascii_case("ES") => {
                    reply.extend(s.extended_status())
                }
                Immediate::HostIdentification => reply.extend(s.identification()),
                Immediate::CancelAll => s.queue.clear(),
                Immediate::PrintStart => s.flags.paused = false,
                Immediate::Pause => s.flags.paused = true,
                Immediate::HostQuery(_) => {}
            },
            Event::Stored { .. } | Event::Warning(_) => {}
        }
    }
    reply
}

/// Open the printer at `uri`. `sim:` starts a virtual printer in this process and talks to it over
/// loopback TCP with the real driver, so the same bytes cross the same code as with a real Zebra; the
/// virtual printer is returned too, to read its prints and inject faults. Other URIs open the device.
pub fn open_printer(
    uri: &labelstation_printer::PrinterUri,
    sim: PrinterSimConfig,
) -> Result<
    (labelstation_printer::ZebraPrinter, Option<VirtualPrinter>),
    labelstation_printer::PrinterError,
> {
    use labelstation_printer::{PrinterUri, ZebraPrinter};
    match uri {
        PrinterUri::Sim => {
            let vp = VirtualPrinter::new(sim);
            let addr = vp
                .serve_tcp(SocketAddr::from(([127, 0, 0, 1], 0)))
                .map_err(|source| labelstation_printer::TransportError::Io {
                    device: "sim:".into(),
                    operation: "start the virtual printer",
                    source,
                })?;
            let tcp = PrinterUri::Tcp {
                host: addr.ip().to_string(),
                port: addr.port(),
            };
            Ok((ZebraPrinter::open(&tcp)?, Some(vp)))
        }
        other => Ok((ZebraPrinter::open(other)?, None)),
    }
}
