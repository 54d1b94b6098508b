// SPDX-License-Identifier: GPL-3.0-or-later
//! The virtual line: a virtual Zebra reached through the real driver over loopback TCP, and a virtual
//! USB-CDC scanner on a pseudo-terminal read by the real serial scanner driver. Between them a virtual
//! worker takes each label that comes out of the printer, waits a moment (applying it), and scans it,
//! with faults at a chosen rate: no read, a misread byte, GS dropped, the wrong symbology, a double scan,
//! a damaged print, a lost job, a second copy, the paper running out. It powers the demo, `print --printer
//! sim: --scanner sim:`, the end-to-end tests and the benchmarks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use labelstation_printer::{PrinterUri, ZebraPrinter};
use labelstation_scanner::{Fault, Scanner, ScannerUri};
use labelstation_station::{DeviceChoice, DeviceOpener, OwnLine, Reopened};

use crate::printer::{PrinterSimConfig, VirtualPrinter, VirtualPrinterHandle};
use crate::scanner::VirtualScanner;

/// How the virtual worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Time from the label coming out to its scan (applying the sticker).
    pub apply_time: Duration,
    /// Share of labels that meet a fault somewhere (printer or scan).
    pub fault_rate: f64,
    /// Share of faulty scans the worker scans again cleanly (as a person would).
    pub rescan_rate: f64,
    pub seed: u64,
    /// What happens to each box label that comes out, in turn (then each is scanned cleanly).
    pub box_label_faults: Vec<BoxLabelFault>,
}

/// A box label's scan going wrong, as it does on a real line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoxLabelFault {
    /// None: the label is scanned as printed.
    Clean,
    /// Nothing is read (the label is creased, the scanner aimed off): no scan comes.
    NoRead,
    /// The worker scans the box label before this one (still on the bench, or on the box beside).
    OldLabel,
}

impl BoxLabelFault {
    /// Faults by name, comma-separated: `clean`, `no-read`, `old-label`.
    pub fn parse_list(text: &str) -> Result<Vec<BoxLabelFault>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(|w| match w {
                "clean" => Ok(BoxLabelFault::Clean),
                "no-read" => Ok(BoxLabelFault::NoRead),
                "old-label" => Ok(BoxLabelFault::OldLabel),
                other => Err(format!(
                    "box label fault {other:?}: use clean, no-read or old-label, comma-separated"
                )),
            })
            .collect()
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            apply_time: Duration::from_millis(300),
            fault_rate: 0.0,
            rescan_rate: 0.5,
            seed: 7,
            box_label_faults: Vec::new(),
        }
    }
}

/// What the virtual worker did, for summaries and tests.
#[derive(Debug, Default)]
pub struct WorkerCounts {
    pub labels_seen: AtomicU64,
    pub clean_scans: AtomicU64,
    pub faulty_scans: AtomicU64,
    pub rescans: AtomicU64,
    pub paper_outs: AtomicU64,
    /// Box labels that came out, and what the worker's scanner read and sent for each (None: nothing;
    /// an old label's data when it scanned that one): the virtual scanner's own decode of a rendered
    /// label.
    pub box_labels: std::sync::Mutex<Vec<Option<BoxReading>>>,
}

/// What the virtual scanner read off a box label: the AIM id and the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoxReading {
    pub aim: String,
    pub data: String,
}

/// A running virtual line; its threads stop when it is dropped.
pub struct VirtualLine {
    pub printer: VirtualPrinterHandle,
    pub counts: Arc<WorkerCounts>,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
}

impl Drop for VirtualLine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// The devices a station opens.
pub struct Devices {
    pub printer: Box<dyn labelstation_printer::Printer>,
    pub scanner: Box<dyn Scanner>,
    /// Present when both are virtual.
    pub virtual_line: Option<VirtualLine>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("printer address {uri:?}: {source}")]
    PrinterUri {
        uri: String,
        source: labelstation_printer::UriError,
    },
    #[error("scanner address {uri:?}: {source}")]
    ScannerUri {
        uri: String,
        source: labelstation_scanner::UriError,
    },
    #[error(transparent)]
    Printer(#[from] labelstation_printer::PrinterError),
    #[error(transparent)]
    Scanner(#[from] labelstation_scanner::ScannerError),
    #[error("the virtual scanner: {0}")]
    VirtualScanner(String),
    #[error(
        "scanner \"sim:\" reads what the virtual printer prints, so it needs printer \"sim:\" too: set both to sim:, or name the real scanner (e.g. serial:///dev/ttyACM0)"
    )]
    SimScannerNeedsSimPrinter,
}

/// Open the printer and scanner the addresses name. `sim:` for both starts the virtual line.
pub fn open_devices(
    printer_uri: &str,
    scanner_uri: &str,
    printer_sim: PrinterSimConfig,
    worker: WorkerConfig,
) -> Result<Devices, DeviceError> {
    let p = PrinterUri::parse(printer_uri).map_err(|source| DeviceError::PrinterUri {
        uri: printer_uri.into(),
        source,
    })?;
    let s = ScannerUri::parse(scanner_uri).map_err(|source| DeviceError::ScannerUri {
        uri: scanner_uri.into(),
        source,
    })?;
    match (p, s) {
        (PrinterUri::Sim, ScannerUri::Sim { .. }) => {
            let (printer, scanner, line) = virtual_line(printer_sim, worker)?;
            Ok(Devices {
                printer: Box::new(printer),
                scanner,
                virtual_line: Some(line),
            })
        }
        (_, ScannerUri::Sim { .. }) => Err(DeviceError::SimScannerNeedsSimPrinter),
        (p, s) => {
            let (printer, virtual_line) = printer_alone(&p, printer_sim)?;
            let opened = labelstation_scanner::open(&s)?;
            Ok(Devices {
                printer,
                scanner: opened.scanner,
                virtual_line,
            })
        }
    }
}

/// Open a printer without a scanner. A virtual one (with a real scanner) stays up, its labels taken off
/// the head, while the returned line lives.
pub fn open_printer_alone(
    printer_uri: &str,
    printer_sim: PrinterSimConfig,
) -> Result<(Box<dyn labelstation_printer::Printer>, Option<VirtualLine>), DeviceError> {
    let p = PrinterUri::parse(printer_uri).map_err(|source| DeviceError::PrinterUri {
        uri: printer_uri.into(),
        source,
    })?;
    printer_alone(&p, printer_sim)
}

fn printer_alone(
    p: &PrinterUri,
    printer_sim: PrinterSimConfig,
) -> Result<(Box<dyn labelstation_printer::Printer>, Option<VirtualLine>), DeviceError> {
    let (printer, vp) = crate::printer::open_printer(p, printer_sim)?;
    let virtual_line = vp.map(|vp| {
        let handle = vp.handle();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let worker = std::thread::Builder::new()
            .name("virtual-printer-keeper".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    while vp.printed().try_recv().is_ok() {}
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
            .ok();
        VirtualLine {
            printer: handle,
            counts: Arc::default(),
            stop,
            worker,
        }
    });
    Ok((Box::new(printer), virtual_line))
}

/// Start a virtual printer (loopback TCP) and a virtual scanner (pseudo-terminal) with a worker between.
pub fn virtual_line(
    printer_sim: PrinterSimConfig,
    worker: WorkerConfig,
) -> Result<(ZebraPrinter, Box<dyn Scanner>, VirtualLine), DeviceError> {
    let vp = VirtualPrinter::new(printer_sim);
    let addr = vp
        .serve_tcp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .map_err(|source| labelstation_printer::TransportError::Io {
            device: "sim:".into(),
            operation: "start the virtual printer",
            source,
        })
        .map_err(labelstation_printer::PrinterError::from)?;
    let printer = ZebraPrinter::open(&PrinterUri::Tcp {
        host: addr.ip().to_string(),
        port: addr.port(),
    })?;
    let vs =
        VirtualScanner::pty(worker.seed).map_err(|e| DeviceError::VirtualScanner(e.to_string()))?;
    let uri =
        ScannerUri::parse(&format!("serial://{}", vs.path().display())).map_err(|source| {
            DeviceError::ScannerUri {
                uri: vs.path().display().to_string(),
                source,
            }
        })?;
    let scanner = labelstation_scanner::open(&uri)?.scanner;
    let handle = vp.handle();
    let counts = Arc::new(WorkerCounts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let (counts, stop, handle) = (counts.clone(), stop.clone(), handle.clone());
        std::thread::Builder::new()
            .name("virtual-worker".into())
            .spawn(move || work(vp, vs, handle, worker, &counts, &stop))
            .map_err(|e| DeviceError::VirtualScanner(e.to_string()))?
    };
    Ok((
        printer,
        scanner,
        VirtualLine {
            printer: handle,
            counts,
            stop,
            worker: Some(worker),
        },
    ))
}

/// Opens the devices a running station's settings change names (the station's [`DeviceOpener`]): real
/// ones by address through the drivers, and for `sim:` a virtual line with these settings (faults,
/// speeds, the worker's pace), so `sim:` comes back as it was.
#[derive(Debug, Clone, Default)]
pub struct LineOpener {
    pub printer: PrinterSimConfig,
    pub worker: WorkerConfig,
}

fn is_sim(uri: &str) -> bool {
    uri.trim() == "sim:" || uri.trim().starts_with("sim:?")
}

impl DeviceOpener for LineOpener {
    fn reopen(
        &self,
        running: &DeviceChoice,
        choice: &DeviceChoice,
    ) -> Result<Reopened, Box<dyn std::error::Error + Send + Sync>> {
        let printer_changed = choice.printer != running.printer;
        let scanner_changed = choice.scanner != running.scanner;
        // The virtual printer renders at the head resolution: a new dpi is a new virtual printer.
        let sim_dpi = is_sim(&choice.printer) && choice.label.dpi != running.label.dpi;
        // A virtual scanner reads what its own virtual printer prints: they come and go as a pair.
        let need_printer = printer_changed
            || sim_dpi
            || (scanner_changed && (is_sim(&choice.scanner) || is_sim(&running.scanner)));
        let need_scanner = scanner_changed || (need_printer && is_sim(&choice.scanner));
        let printer_sim = PrinterSimConfig {
            dpi: choice.label.dpi,
            ..self.printer.clone()
        };
        if is_sim(&choice.scanner) && need_printer {
            let Devices {
                printer,
                scanner,
                virtual_line,
            } = open_devices(
                &choice.printer,
                &choice.scanner,
                printer_sim,
                self.worker.clone(),
            )?;
            return Ok(Reopened {
                printer: Some((printer, virtual_line.map(|l| Box::new(l) as OwnLine))),
                scanner: Some(scanner),
            });
        }
        // Open what changed; whatever opened is dropped again if the rest fails.
        let printer = match need_printer {
            true => {
                let (printer, line) = open_printer_alone(&choice.printer, printer_sim)?;
                Some((printer, line.map(|l| Box::new(l) as OwnLine)))
            }
            false => None,
        };
        let scanner = match need_scanner {
            true => {
                let uri = ScannerUri::parse(&choice.scanner).map_err(|source| {
                    DeviceError::ScannerUri {
                        uri: choice.scanner.clone(),
                        source,
                    }
                })?;
                Some(
                    labelstation_scanner::open(&uri)
                        .map_err(DeviceError::from)?
                        .scanner,
                )
            }
            false => None,
        };
        Ok(Reopened { printer, scanner })
    }
}

/// A small deterministic generator (xorshift), so a seed replays the same faults.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn pick(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn work(
    vp: VirtualPrinter,
    mut scanner: VirtualScanner,
    printer: VirtualPrinterHandle,
    cfg: WorkerConfig,
    counts: &WorkerCounts,
    stop: &AtomicBool,
) {
    let mut rng = Rng(cfg.seed | 1);
    let mut box_faults = cfg.box_label_faults.clone().into_iter();
    let mut last_box_label: Option<labelstation_zpl::render::Bitmap> = None;
    // Faults split between the printer (a fifth: damaged print, lost job, second copy) and the scan.
    let p = cfg.fault_rate.clamp(0.0, 1.0);
    printer.set_faults(p / 10.0, p / 20.0, p / 20.0);
    while !stop.load(Ordering::Relaxed) {
        let Ok(label) = vp.printed().recv_timeout(Duration::from_millis(50)) else {
            continue;
        };
        counts.labels_seen.fetch_add(1, Ordering::Relaxed);
        // Now and then the roll runs out after a label; the worker loads a new one a moment later.
        if rng.chance(p / 20.0) {
            counts.paper_outs.fetch_add(1, Ordering::Relaxed);
            let printer = printer.clone();
            std::thread::spawn(move || {
                printer.set_paper_out(true);
                std::thread::sleep(Duration::from_millis(1500));
                printer.set_paper_out(false);
            });
        }
        sleep_unless_stopped(cfg.apply_time, stop);
        if label.box_label {
            // A box label: stuck on the box and scanned, with the next of the faults asked for.
            let image = match box_faults.next() {
                Some(BoxLabelFault::NoRead) => None,
                Some(BoxLabelFault::OldLabel) => last_box_label.clone(),
                Some(BoxLabelFault::Clean) | None => Some(label.image.clone()),
            };
            let read = image.as_ref().and_then(crate::scanner::read_gs1_128);
            if let Some(r) = &read {
                let _ = scanner.scan_text(r.aim, &r.data);
            }
            if let Ok(mut seen) = counts.box_labels.lock() {
                seen.push(read.map(|r| BoxReading {
                    aim: String::from_utf8_lossy(&r.aim).into_owned(),
                    data: String::from_utf8_lossy(&r.data).into_owned(),
                }));
            }
            last_box_label = Some(label.image);
            continue;
        }
        let fault = if rng.chance(p * 0.8) {
            match rng.pick(5) {
                0 => Fault::NoRead,
                1 => Fault::Misread { count: 1 },
                2 => Fault::GsDropped,
                3 => Fault::WrongSymbology(*b"]d1"),
                _ => Fault::DoubleScan,
            }
        } else {
            Fault::None
        };
        let faulty = fault != Fault::None;
        if scanner.scan_label(&label.image, &fault).is_err() {
            continue;
        }
        if faulty {
            counts.faulty_scans.fetch_add(1, Ordering::Relaxed);
            if fault != Fault::DoubleScan && rng.chance(cfg.rescan_rate) {
                sleep_unless_stopped(cfg.apply_time / 2, stop);
                counts.rescans.fetch_add(1, Ordering::Relaxed);
                let _ = scanner.scan_label(&label.image, &Fault::None);
            }
        } else {
            counts.clean_scans.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) {
    let end = std::time::Instant::now() + d;
    while !stop.load(Ordering::Relaxed) {
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
}
