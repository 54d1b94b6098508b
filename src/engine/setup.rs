// SPDX-License-Identifier: GPL-3.0-or-later
//! Opening a station from the configuration: the ledger (with the station lock and start-up recovery),
//! the label template, the printer and the scanner (or the virtual line), the PIN store.

use std::sync::Arc;

use anyhow::{Context, Result};

use super::events::Event;
use super::pin::PinStore;
use super::station::{Sink, Station};
use super::virtual_worker::{Devices, VirtualLine, WorkerConfig, open_devices};
use crate::config::{Config, Paths};
use crate::store::{Actor, Ledger, RecoveryReport, StationLock};
use crate::virtual_printer::PrinterSimConfig;

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
pub fn open(
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
        ..PrinterSimConfig::default()
    };
    let worker = WorkerConfig {
        fault_rate: overrides.fault_rate.unwrap_or(0.0),
        apply_time: overrides
            .apply_time
            .unwrap_or(WorkerConfig::default().apply_time),
        seed: overrides.seed.unwrap_or(7),
        ..WorkerConfig::default()
    };
    let Devices {
        printer,
        scanner,
        virtual_line,
    } = open_devices(printer_uri, scanner_uri, sim.clone(), worker.clone())
        .with_context(|| format!("opening printer {printer_uri} and scanner {scanner_uri}"))?;
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
        super::switch::DeviceChoice {
            printer: printer_uri.to_owned(),
            scanner: scanner_uri.to_owned(),
            label: config.label.clone(),
        },
        super::switch::SimSetup {
            printer: sim,
            worker,
        },
    );
    Ok(Opened {
        station,
        lock,
        recovery,
        virtual_line,
    })
}
