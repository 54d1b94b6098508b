// SPDX-License-Identifier: GPL-3.0-or-later
//! Opening a station from the configuration: the ledger (with the station lock and start-up recovery),
//! the label template, the printer and the scanner (or the virtual line), the PIN store.

use std::sync::Arc;

use anyhow::{Context, Result};
use labelstation_scanner::{Scanner, ScannerError, ScannerEvent, ScannerState};

use crate::config::{Config, Paths};
use crate::engine::{DeviceChoice, Event, PinStore, Sink, Station};
use crate::ledger::{Actor, Ledger, RecoveryReport, StationLock};
use crate::sim::printer::PrinterSimConfig;
use crate::sim::worker::{
    Devices, LineOpener, VirtualLine, WorkerConfig, open_devices, open_printer_alone,
};

/// The virtual printer appends a JSON line for every sticker it puts out to the file this names (its own
/// record, read by tests of the binary and by whoever wants to see what a demo printed).
pub const SIM_RECORD_ENV: &str = "LABELSTATION_SIM_RECORD";
/// Box label faults of the virtual worker, in turn, comma-separated: `clean`, `no-read`, `old-label`.
pub const SIM_BOX_FAULTS_ENV: &str = "LABELSTATION_SIM_BOX_LABEL_FAULTS";

/// Device choices that override the configuration (command-line flags, the demo).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub printer: Option<String>,
    pub scanner: Option<String>,
    /// Faults of the virtual line (share of labels).
    pub fault_rate: Option<f64>,
    /// The virtual worker's time to apply a sticker.
    pub apply_time: Option<std::time::Duration>,
    /// Print speed of the virtual printer, inches per second (None: instant).
    pub sim_ips: Option<f64>,
    /// Serial speed the virtual printer paces reception at.
    pub sim_baud: Option<u32>,
    pub seed: Option<u64>,
    /// The run verifies nothing (`print --no-verify`): no scanner is opened at all, so a print to a file
    /// or a printer alone works whatever scanner the config names.
    pub no_scanner: bool,
    /// Pack verified pairs into boxes of this many (`print`/`run --box-capacity`).
    pub box_capacity: Option<u32>,
}

/// An open station and what must live as long as it.
pub struct Opened {
    pub station: Station,
    pub lock: StationLock,
    pub recovery: RecoveryReport,
    /// The virtual printer and worker, when the devices are `sim:`.
    pub virtual_line: Option<VirtualLine>,
}

/// Open the station in `paths.data_dir` as `config` says, with `sink` receiving events.
pub fn open_station(
    paths: &Paths,
    config: &Config,
    overrides: &Overrides,
    actor: Actor,
    sink: Option<Sink>,
) -> Result<Opened> {
    let (ledger, lock, recovery) =
        Ledger::open_station(&paths.data_dir, &config.station.id, &actor)?;
    let template = config.label.template()?;
    let printer_uri = overrides.printer.as_deref().unwrap_or(&config.printer.uri);
    let scanner_uri = overrides.scanner.as_deref().unwrap_or(&config.scanner.uri);
    let sim = PrinterSimConfig {
        dpi: config.label.dpi,
        ips: overrides.sim_ips,
        baud: overrides.sim_baud,
        seed: overrides.seed.unwrap_or(1),
        record: std::env::var_os(SIM_RECORD_ENV).map(std::path::PathBuf::from),
        ..PrinterSimConfig::default()
    };
    let box_label_faults = match std::env::var(SIM_BOX_FAULTS_ENV) {
        Ok(text) => crate::sim::worker::BoxLabelFault::parse_list(&text)
            .map_err(|e| anyhow::anyhow!("{SIM_BOX_FAULTS_ENV}: {e}"))?,
        Err(_) => Vec::new(),
    };
    let worker = WorkerConfig {
        fault_rate: overrides.fault_rate.unwrap_or(0.0),
        apply_time: overrides
            .apply_time
            .unwrap_or(WorkerConfig::default().apply_time),
        seed: overrides.seed.unwrap_or(7),
        box_label_faults,
        ..WorkerConfig::default()
    };
    let Devices {
        printer,
        scanner,
        virtual_line,
    } = match overrides.no_scanner {
        true => {
            let (printer, virtual_line) = open_printer_alone(printer_uri, sim.clone())
                .with_context(|| format!("opening printer {printer_uri}"))?;
            Devices {
                printer,
                scanner: Box::new(NoScanner::default()),
                virtual_line,
            }
        }
        false => open_devices(printer_uri, scanner_uri, sim.clone(), worker.clone())
            .with_context(|| format!("opening printer {printer_uri} and scanner {scanner_uri}"))?,
    };
    let sink = sink.unwrap_or_else(|| Arc::new(|_: Event| {}));
    let station = Station::new(
        ledger,
        config.line.clone(),
        config.printer.clone(),
        config.codes.format(),
        template,
        printer,
        scanner,
        sink,
        actor,
    )
    .with_pins(PinStore::new(&paths.data_dir))
    .with_choice(
        DeviceChoice {
            printer: printer_uri.to_owned(),
            scanner: scanner_uri.to_owned(),
            label: config.label.clone(),
        },
        Box::new(LineOpener {
            printer: sim,
            worker,
        }),
    );
    let mut station = station;
    if let Some(c) = overrides.box_capacity {
        station.pack_boxes(Some(packing(paths, config, c)?));
    }
    Ok(Opened {
        station,
        lock,
        recovery,
        virtual_line,
    })
}

/// What became of a box label sent to the line.
pub enum BoxLabelOnLine {
    /// Printed (and verified, when its scan came): the box's state after.
    Done(crate::ledger::boxes::BoxState),
    /// The station's printer and scanner cannot be opened together (no scanner, a file printer, a
    /// running station holding them): why. Nothing was printed.
    NoLine(anyhow::Error),
}

/// A closed box's label on the line's printer, verified with the line's scanner (the station's own
/// steps; its notices go to `sink`).
pub fn label_box_on_line(
    paths: &Paths,
    config: &Config,
    printer: Option<&str>,
    sscc: &str,
    actor: Actor,
    sink: Sink,
) -> Result<BoxLabelOnLine> {
    let overrides = Overrides {
        printer: printer.map(str::to_owned),
        // The label's size and resolution; a box's own capacity stays as it is.
        box_capacity: Some(1),
        ..Overrides::default()
    };
    let mut opened = match open_station(paths, config, &overrides, actor, Some(sink)) {
        Ok(o) => o,
        Err(e) => return Ok(BoxLabelOnLine::NoLine(e)),
    };
    Ok(BoxLabelOnLine::Done(opened.station.label_box(sscc)?))
}

/// Boxes of `capacity` pairs under the configured GS1 company prefix (`--box-capacity`).
pub fn packing(paths: &Paths, config: &Config, capacity: u32) -> Result<crate::engine::Packing> {
    if capacity == 0 {
        anyhow::bail!("--box-capacity 0: a box holds at least one pair");
    }
    let agg = &config.aggregation;
    let Some(prefix) = agg.prefix().map_err(anyhow::Error::msg)? else {
        anyhow::bail!(
            "--box-capacity needs the warehouse's GS1 company prefix to make box codes (SSCC): set aggregation.company_prefix in the config file ({}), then start again",
            paths.config_file.display()
        );
    };
    let dpi =
        labelstation_zpl::template::Dpi::try_from(u16::try_from(config.label.dpi).unwrap_or(0))
            .map_err(anyhow::Error::msg)?;
    Ok(crate::engine::Packing {
        capacity,
        prefix,
        extension: agg.extension_digit,
        label_mm: agg.box_label.mm(),
        dpi,
    })
}

/// The scanner of a run that verifies nothing: none is opened, and none ever scans.
struct NoScanner(ScannerState);

impl Default for NoScanner {
    fn default() -> Self {
        NoScanner(ScannerState::Stopped {
            reason: "no scanner opened: this run verifies nothing".into(),
        })
    }
}

impl Scanner for NoScanner {
    fn source(&self) -> &str {
        "none"
    }

    fn state(&self) -> &ScannerState {
        &self.0
    }

    fn next_event(
        &mut self,
        timeout: std::time::Duration,
    ) -> Result<Option<ScannerEvent>, ScannerError> {
        std::thread::sleep(timeout);
        Ok(None)
    }
}
