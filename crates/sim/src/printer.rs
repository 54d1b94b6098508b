// SPDX-License-Identifier: GPL-3.0-or-later
//! The virtual printer: a Zebra as the station sees it, over TCP (port 9100 style) or a pseudo-terminal.
//!
//! It takes the ZPL the station sends (full formats, `^DF` stored formats and `^XF` recalls), answers
//! `~HS`, `~HQES`, `~HI` and the SGD odometer (`! U1 getvar "odometer.total_label_count"`, from its
//! own count of every sticker that came out, partial ones and reprints included) like a real printer (no answer to `~HS` while paper or ribbon
//! is out or the head is open, as current firmware does), prints each label after the time the
//! configured print speed takes, renders it with the same renderer as the label preview (a real
//! DataMatrix), and hands the images to whoever reads them (the virtual scanner). Faults are injected
//! on demand: paper out, ribbon out, head open, pause, unreadable prints, dropped jobs, a label cut
//! short by an error, a slow serial link, a link with latency (bytes the station sent are acted on
//! later), a link that goes away, a label lost inside the printer
//! that its status counts as done (only the odometer tells).
//!
//! Like a Zebra it has a receive buffer of a fixed size ([`PrinterSimConfig::buffer_bytes`]) that fills
//! while the head prints: once it holds that many bytes of labels waiting, the printer reads nothing more
//! from the link until a label is out, so a sender faster than the head is held back by the link itself
//! (a serial line is paced at its baud rate on top). `~HS` tells what it holds as a Zebra does: string 1
//! "formats in receive buffer" counts the formats not yet started, string 2 "labels remaining" the labels
//! of the one under the head; "buffer full" shows when it reads no more.
//!
//! It is as hard as a Zebra, not as kind as the station: a label received while it is paused, out of
//! paper or ribbon, or with the head open waits in its buffer and prints when that is fixed, unless a
//! `~JA` (cancel all) arrived first; `~JA` lets a label already under the head finish. A label cut
//! short by an error leaves a partial sticker (its symbol readable) and, under `^JZY` (the firmware
//! default), comes out again whole once the error is fixed: a second physical copy. `^JZN` stops that.
//! [`VirtualPrinterHandle::stickers`] is its own record of every sticker that came out, copies
//! included: the independent record tests compare the ledger with.
//!
//! This file holds the printer (its state, head and panel); the link side (bytes in, cut into units,
//! answered) is `printer/link.rs`.

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use labelstation_printer::status::HostStatus;
use labelstation_zpl::interpret::Label;
use labelstation_zpl::render::{Bitmap, render};

mod link;
use link::{Link, serve};

/// How the virtual printer behaves.
#[derive(Debug, Clone)]
pub struct PrinterSimConfig {
    /// Head resolution (203, 300 or 600).
    pub dpi: u32,
    /// Print speed in inches per second; `None` prints instantly.
    pub ips: Option<f64>,
    /// Serial line speed to pace reception at (10 bits a byte, 8N1); `None` does not pace.
    pub baud: Option<u32>,
    /// Time from the station handing bytes to its link to the printer acting on them (a routed or
    /// wireless network, a print server in between, a busy printer's input handler); `None`: at once.
    /// The link carries the next bytes meanwhile (about 50 ms late at most: the link is looked at that
    /// often). A `~JA` the station has sent is not yet a label dropped.
    pub latency: Option<Duration>,
    /// Share of labels printed unreadable (the symbol damaged).
    pub unreadable_rate: f64,
    /// Share of jobs lost without a trace.
    pub drop_rate: f64,
    /// Share of labels cut short by an error that clears by itself before anyone sees it (a media
    /// sensor that flickers): a partial sticker, then, under `^JZY`, the whole label again.
    pub duplicate_rate: f64,
    /// Firmware that reprints after an error whatever `^JZ` says (old firmware, a ZPL emulation).
    pub ignore_jz: bool,
    /// Size of the receive buffer in bytes: labels waiting to print (and a format still arriving) take
    /// it up; when it is full the printer reads no more from the link until a label is out.
    pub buffer_bytes: usize,
    /// The odometer's reading at power-on; `None`: firmware without one, answering `"?"`.
    pub odometer: Option<u64>,
    pub seed: u64,
    /// A file the printer appends a line to for every sticker that comes out (its own record, which
    /// outlives the process: tests of the binary read it); `None`: kept in memory only.
    pub record: Option<PathBuf>,
}

/// A receive buffer of a desktop Zebra's order (the ZPL manual gives no one figure; models differ):
/// 64 labels of a station's size.
pub const DEFAULT_BUFFER_BYTES: usize = 64 * 1024;

/// A printer is not new: its odometer starts somewhere.
pub const DEFAULT_ODOMETER: u64 = 48_213;

impl Default for PrinterSimConfig {
    fn default() -> Self {
        PrinterSimConfig {
            dpi: 203,
            ips: None,
            baud: None,
            latency: None,
            unreadable_rate: 0.0,
            drop_rate: 0.0,
            duplicate_rate: 0.0,
            ignore_jz: false,
            buffer_bytes: DEFAULT_BUFFER_BYTES,
            odometer: Some(DEFAULT_ODOMETER),
            seed: 1,
            record: None,
        }
    }
}

/// A label that came out of the printer.
#[derive(Debug, Clone)]
pub struct PrintedLabel {
    pub image: Bitmap,
    /// The printer damaged this print (for tests and the demo summary; a scanner must find out itself).
    pub damaged: bool,
    /// Cut short by an error; its symbol is still readable.
    pub partial: bool,
    /// Which time this label came out: 1, or 2 and more for a reprint after an error.
    pub copy: u32,
    /// It carries a Code 128 symbol: a box label, as a worker tells at a glance.
    pub box_label: bool,
}

/// One sticker that came out of the printer, in its own record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sticker {
    /// The GS1 element string its DataMatrix carries (GS separators, no `]d2`), as the printer
    /// encoded it; None for a label without one (a test label).
    pub code: Option<String>,
    /// Which time this label came out: 1, or 2 and more for a reprint after an error.
    pub copy: u32,
    /// Cut short by an error (paper, ribbon, head); its symbol is still readable.
    pub partial: bool,
    /// Printed damaged (its symbol unreadable).
    pub damaged: bool,
    /// The GS1 element string of its GS1-128 barcode (a box label: `00` and the SSCC), as the printer
    /// read its ZPL; None for a label without one.
    pub gs1_128: Option<String>,
}

/// What the printer did, for tests and summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrinterCounts {
    pub jobs: u64,
    /// Stickers that came out, partial ones and reprints included.
    pub printed: u64,
    pub dropped: u64,
    /// Labels that came out again after an error (`^JZY`).
    pub duplicated: u64,
    pub damaged: u64,
    /// Labels cut short by an error.
    pub interrupted: u64,
    /// Labels dropped from the buffer by `~JA`.
    pub cancelled: u64,
    pub status_queries: u64,
    /// The most labels the buffer held at once (the one under the head included).
    pub most_buffered: u64,
    /// Times the printer stopped reading the link because its receive buffer was full.
    pub buffer_full: u64,
}

/// An error that stops the printer in the middle of a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interruption {
    PaperOut,
    RibbonOut,
    HeadOpen,
}

/// Something that strikes when the head starts a given label (see [`VirtualPrinterHandle::fault_at_label`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The error stops the head in the middle of that label.
    Interrupt(Interruption),
    /// The link goes away as that label starts; the printer goes on printing what it holds.
    LinkDown,
    /// The label never comes out: it is lost inside the printer (wound onto the liner take-up,
    /// jammed), yet the printer counts it done, so `~HS` no longer holds it. Only the odometer,
    /// which counts what came out, tells.
    Lost,
}

/// A label in the buffer, and how many times it came out already.
struct Queued {
    label: Label,
    copies: u32,
    /// Which format it came in (a `^PQ` of several labels is one format).
    format: u64,
    /// Bytes of its format it takes in the receive buffer until the head starts it.
    bytes: usize,
    /// It will be lost inside the printer ([`Fault::Lost`]).
    lost: bool,
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
    reader: labelstation_zpl::Interpreter,
    queue: VecDeque<Queued>,
    /// When the head started on the front label; None while it is not printing.
    head_started: Option<Instant>,
    /// When the head finished the last label, if the next one was already waiting: the next starts
    /// then, however late this loop looks (rendering takes time; a head does not wait for it).
    finished_at: Option<Instant>,
    /// An error that strikes as the next label starts.
    armed: Option<Interruption>,
    /// A fault that strikes as the head starts the label with this number (1 = the first since power-on).
    armed_at: Vec<(u64, Fault)>,
    /// Labels the head started for the first time since power-on.
    started: u64,
    /// Formats received since power-on (each label remembers which it came in).
    formats: u64,
    /// The format under the head: its labels are "labels remaining", the others "formats in buffer".
    current: Option<u64>,
    /// The link went down from inside the printer (a [`Fault::LinkDown`]); the serving side acts on it.
    link_lost: bool,
    stickers: Vec<Sticker>,
    /// Labels that came out (partial ones and reprints included), from the power-on reading;
    /// `None`: no odometer.
    odometer: Option<u64>,
    counts: PrinterCounts,
    rng: u64,
}

/// A sticker to render and hand out, once the state lock is let go.
struct Out {
    label: Label,
    damaged: bool,
    partial: bool,
    copy: u32,
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

    /// An error that stops the head at once, mid-label.
    fn in_error(&self) -> bool {
        self.flags.paper_out || self.flags.ribbon_out || self.flags.head_open
    }

    fn strike(&mut self, how: Interruption) {
        match how {
            Interruption::PaperOut => self.flags.paper_out = true,
            Interruption::RibbonOut => self.flags.ribbon_out = true,
            Interruption::HeadOpen => self.flags.head_open = true,
        }
    }

    /// Record a sticker of `label` and hand it out.
    fn come_out(&mut self, label: Label, damaged: bool, partial: bool, copy: u32) -> Out {
        let code = label
            .datamatrices()
            .find_map(|dm| dm.gs1_element_string())
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let gs1_128 = label
            .code128s()
            .find_map(|c| c.gs1_element_string())
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let sticker = Sticker {
            code,
            copy,
            partial,
            damaged,
            gs1_128,
        };
        if let Some(path) = &self.cfg.record {
            record(path, &sticker);
        }
        self.stickers.push(sticker);
        self.counts.printed += 1;
        self.odometer = self.odometer.map(|n| n + 1);
        self.counts.damaged += u64::from(damaged);
        self.counts.duplicated += u64::from(copy > 1);
        Out {
            label,
            damaged,
            partial,
            copy,
        }
    }

    /// The front label is cut short: a partial sticker comes out; under `^JZY` the label stays in
    /// the buffer to print again when the error is fixed, under `^JZN` it is done.
    fn interrupt(&mut self) -> Option<Out> {
        self.head_started = None;
        let front = self.queue.front_mut()?;
        front.copies += 1;
        let (label, copy) = (front.label.clone(), front.copies);
        let reprint = self.cfg.ignore_jz || label.settings.reprint_after_error.unwrap_or(true);
        if !reprint {
            self.queue.pop_front();
        }
        self.counts.interrupted += 1;
        Some(self.come_out(label, false, true, copy))
    }

    /// One step of the head: what came out, if anything.
    fn step(&mut self) -> Vec<Out> {
        if self.queue.is_empty() {
            self.head_started = None;
            self.finished_at = None;
            return Vec::new();
        }
        if self.in_error() {
            self.finished_at = None;
            // An error under a moving head cuts the label short.
            return match self.head_started {
                Some(_) => self.interrupt().into_iter().collect(),
                None => Vec::new(),
            };
        }
        // A pause lets the label under the head finish, then holds the rest.
        if self.flags.paused && self.head_started.is_none() {
            self.finished_at = None;
            return Vec::new();
        }
        let started = match self.head_started {
            Some(at) => at,
            None => {
                let now = self.finished_at.take().unwrap_or_else(Instant::now);
                self.head_started = Some(now);
                let format = self.queue.front().map(|q| q.format);
                if let Some(front) = self.queue.front_mut() {
                    // A formatted label leaves the receive buffer.
                    front.bytes = 0;
                    if front.copies == 0 {
                        self.started += 1;
                        let started = self.started;
                        if let Some(i) = self.armed_at.iter().position(|(n, _)| *n == started) {
                            let (_, fault) = self.armed_at.remove(i);
                            match fault {
                                Fault::Interrupt(how) => self.armed = Some(how),
                                Fault::LinkDown => self.link_lost = true,
                                Fault::Lost => front.lost = true,
                            }
                        }
                    }
                }
                self.current = format;
                if let Some(how) = self.armed.take() {
                    self.strike(how);
                    return self.interrupt().into_iter().collect();
                }
                now
            }
        };
        let need = self
            .queue
            .front()
            .map(|q| self.print_time(&q.label))
            .unwrap_or_default();
        if started.elapsed() < need {
            return Vec::new();
        }
        self.head_started = None;
        let finished = started + need;
        let (unreadable, flicker) = (self.cfg.unreadable_rate, self.cfg.duplicate_rate);
        let first_pass = self.queue.front().is_some_and(|q| q.copies == 0);
        if first_pass && self.chance(flicker) {
            // An error that clears by itself before anyone sees it: the partial sticker now and,
            // under ^JZY, the label again on the next step.
            return self.interrupt().into_iter().collect();
        }
        let damaged = self.chance(unreadable);
        match self.queue.pop_front() {
            Some(q) if q.lost => {
                // Done as far as the printer knows; nothing came out.
                if !self.queue.is_empty() {
                    self.finished_at = Some(finished);
                }
                Vec::new()
            }
            Some(q) => {
                if !self.queue.is_empty() {
                    self.finished_at = Some(finished);
                }
                let copy = q.copies + 1;
                vec![self.come_out(q.label, damaged, false, copy)]
            }
            None => Vec::new(),
        }
    }

    /// `~JA`: drop every label in the buffer; one under a moving head finishes.
    fn cancel_all(&mut self) {
        let printing = self.head_started.is_some() && !self.in_error() && !self.queue.is_empty();
        let keep = if printing {
            self.queue.pop_front()
        } else {
            None
        };
        self.counts.cancelled += self.queue.len() as u64;
        self.queue.clear();
        self.queue.extend(keep);
        self.finished_at = None;
        if !printing {
            self.head_started = None;
            self.current = None;
        }
    }

    /// Labels of the format under the head, and formats waiting behind it.
    fn held(&self) -> (u32, u32) {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let current = self
            .current
            .filter(|c| self.queue.front().is_some_and(|q| q.format == *c));
        let remaining = self
            .queue
            .iter()
            .filter(|q| Some(q.format) == current)
            .count();
        let mut formats = 0;
        let mut last = None;
        for q in self.queue.iter().filter(|q| Some(q.format) != current) {
            if last != Some(q.format) {
                formats += 1;
                last = Some(q.format);
            }
        }
        (count(remaining), count(formats))
    }

    /// Bytes the receive buffer holds: labels not yet started.
    fn buffered_bytes(&self) -> usize {
        self.queue.iter().map(|q| q.bytes).sum()
    }

    fn buffer_full(&self) -> bool {
        self.buffered_bytes() >= self.cfg.buffer_bytes
    }

    fn host_status(&self) -> HostStatus {
        let (labels_remaining, formats_in_buffer) = self.held();
        HostStatus {
            paper_out: self.flags.paper_out,
            paused: self.flags.paused,
            head_up: self.flags.head_open,
            ribbon_out: self.flags.ribbon_out,
            thermal_transfer: true,
            formats_in_buffer,
            buffer_full: self.buffer_full(),
            labels_remaining,
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

    /// An SGD line: `! U1 getvar "name"` is answered with the value in double quotes and no line
    /// ending, `"?"` for a setting it does not have; anything else is not answered.
    fn sgd(&self, line: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(line);
        let mut words = text.split_whitespace();
        let (Some("!"), Some("U1"), Some("getvar"), Some(name)) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            return Vec::new();
        };
        let value = match (name.trim_matches('"'), self.odometer) {
            ("odometer.total_label_count", Some(n)) => n.to_string(),
            _ => "?".to_owned(),
        };
        format!("\"{value}\"").into_bytes()
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
    /// The link is gone: connections are closed and new ones dropped (network), or bytes go
    /// unanswered (serial).
    link_down: AtomicBool,
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
                odometer: cfg.odometer,
                cfg,
                flags: Flags::default(),
                reader: labelstation_zpl::Interpreter::new(),
                queue: VecDeque::new(),
                head_started: None,
                finished_at: None,
                armed: None,
                armed_at: Vec::new(),
                started: 0,
                formats: 0,
                current: None,
                link_lost: false,
                stickers: Vec::new(),
                counts: PrinterCounts::default(),
            }),
            out: Mutex::new(tx),
            stop: AtomicBool::new(false),
            link_down: AtomicBool::new(false),
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
                        // A link that is down takes no connection: it is closed at once.
                        Ok(_) if shared.link_down.load(Ordering::Relaxed) => {}
                        Ok((stream, _)) => {
                            let shared = shared.clone();
                            let _ = stream.set_nonblocking(false);
                            let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
                            std::thread::spawn(move || serve(&shared, stream, Link::Network));
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
                serve(&shared, master, Link::Serial)
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
    /// The error strikes as the next label starts printing: a partial sticker comes out and the
    /// printer stops with that error until it is cleared (`set_paper_out(false)`, ...).
    pub fn interrupt_next_label(&self, how: Interruption) {
        lock(&self.shared.state).armed = Some(how);
    }
    /// `fault` strikes as the head starts label number `n` (1 = the first this printer prints, reprints
    /// not counted): a fault in the middle of a roll, whatever the sender does meanwhile. Several may
    /// be armed, each at its own label.
    pub fn fault_at_label(&self, n: u64, fault: Fault) {
        lock(&self.shared.state).armed_at.push((n, fault));
    }
    /// The link goes away (cable pulled, printer rebooting) or comes back. A network link closes its
    /// connections and drops new ones; a serial link leaves bytes unanswered. The buffer is kept.
    pub fn set_link_down(&self, down: bool) {
        self.shared.link_down.store(down, Ordering::Relaxed);
    }
    /// Whether the link is down.
    pub fn link_is_down(&self) -> bool {
        self.shared.link_down.load(Ordering::Relaxed)
    }
    pub fn counts(&self) -> PrinterCounts {
        lock(&self.shared.state).counts
    }
    /// Every sticker that came out so far, in order, copies included.
    pub fn stickers(&self) -> Vec<Sticker> {
        lock(&self.shared.state).stickers.clone()
    }
    /// Labels waiting in the buffer (a label cut short and waiting to be printed again included).
    pub fn buffered(&self) -> usize {
        lock(&self.shared.state).queue.len()
    }
    /// What the odometer reads now (`None`: this printer has none).
    pub fn odometer(&self) -> Option<u64> {
        lock(&self.shared.state).odometer
    }
}

impl Drop for VirtualPrinter {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

/// Moves labels through the head at the configured speed while nothing stops it.
fn print_loop(shared: &Shared) {
    while !shared.stop.load(Ordering::Relaxed) {
        let out = {
            let mut s = lock(&shared.state);
            let out = s.step();
            if std::mem::take(&mut s.link_lost) {
                shared.link_down.store(true, Ordering::Relaxed);
            }
            out
        };
        if out.is_empty() {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        for o in out {
            let Ok(mut image) = render(&o.label) else {
                tracing::warn!("virtual printer: a label could not be rendered");
                continue;
            };
            if o.damaged {
                damage(&mut image);
            }
            let tx = shared.out.lock().unwrap_or_else(|p| p.into_inner());
            let _ = tx.send(PrintedLabel {
                image,
                damaged: o.damaged,
                partial: o.partial,
                copy: o.copy,
                box_label: o.label.code128s().next().is_some(),
            });
        }
    }
}

/// Append one sticker to the record file, a JSON line: `copy`, `partial`, `damaged`, `code` (the
/// identification code of its DataMatrix, cut before the first GS: never a crypto tail) and `gs1_128`.
fn record(path: &std::path::Path, s: &Sticker) {
    let code = s
        .code
        .as_deref()
        .map(|c| c.split('\u{1d}').next().unwrap_or(c));
    let line = serde_json::json!({
        "copy": s.copy,
        "partial": s.partial,
        "damaged": s.damaged,
        "code": code,
        "gs1_128": s.gs1_128,
    });
    use std::io::Write as _;
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = written {
        tracing::warn!(
            "virtual printer: cannot append to its record {}: {e}",
            path.display()
        );
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
