// SPDX-License-Identifier: GPL-3.0-or-later
//! Settings applied while the station runs: another printer or scanner, another label template or head
//! resolution. The supervisor's Settings page sends them; nothing needs a restart.
//!
//! The new devices are opened before the old ones are let go, so a choice that does not work (a printer
//! that is not plugged in, a scanner the user may not read) leaves the station as it was, with the reason.
//! A device whose address did not change is kept as it is (a serial port can be open only once).

use labelstation_printer::PrinterUri;
use labelstation_scanner::ScannerUri;

use super::pin::Supervisor;
use super::station::Station;
use super::virtual_worker::{DeviceError, Devices, VirtualLine, WorkerConfig, open_devices};
use crate::config::LabelConfig;
use crate::virtual_printer::PrinterSimConfig;

/// What the station runs with: device addresses and the label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceChoice {
    pub printer: String,
    pub scanner: String,
    pub label: LabelConfig,
}

/// How the virtual line is set up when `sim:` is chosen (faults, speeds, the worker's pace).
#[derive(Debug, Clone, Default)]
pub struct SimSetup {
    pub printer: PrinterSimConfig,
    pub worker: WorkerConfig,
}

/// Why settings were not applied. The station keeps what it had.
#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    #[error("the label template: {0:#}")]
    Template(anyhow::Error),
    #[error(transparent)]
    Device(#[from] DeviceError),
}

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Switched {
    pub printer: bool,
    pub scanner: bool,
    pub label: bool,
}

fn is_sim(uri: &str) -> bool {
    uri.trim() == "sim:" || uri.trim().starts_with("sim:?")
}

impl Station {
    /// The settings the station runs with now.
    pub fn device_choice(&self) -> DeviceChoice {
        self.choice.clone()
    }

    /// Remember what the station was opened with (setup does this), so a later change reopens only what
    /// changed, and `sim:` comes back with the same virtual line settings.
    pub fn with_choice(mut self, choice: DeviceChoice, sim: SimSetup) -> Station {
        self.choice = choice;
        self.sim = sim;
        self
    }

    /// Supervisor: run with `choice` from now on. On error nothing changed.
    pub fn apply_settings(
        &mut self,
        sup: &Supervisor,
        choice: &DeviceChoice,
    ) -> Result<Switched, SwitchError> {
        let template = choice.label.template().map_err(SwitchError::Template)?;
        let old = self.choice.clone();
        let mut done = Switched {
            printer: choice.printer != old.printer,
            scanner: choice.scanner != old.scanner,
            label: choice.label != old.label,
        };
        let sim_involved = [&choice.printer, &choice.scanner, &old.printer, &old.scanner]
            .iter()
            .any(|u| is_sim(u));
        // The virtual printer renders at the head resolution: a new dpi is a new virtual printer.
        let sim_dpi = is_sim(&choice.printer) && choice.label.dpi != old.label.dpi;
        if sim_involved && (done.printer || done.scanner || sim_dpi) {
            // The virtual line comes as a pair (its worker scans what its printer prints).
            let sim = PrinterSimConfig {
                dpi: choice.label.dpi,
                ..self.sim.printer.clone()
            };
            let Devices {
                printer,
                scanner,
                virtual_line,
            } = open_devices(
                &choice.printer,
                &choice.scanner,
                sim,
                self.sim.worker.clone(),
            )?;
            self.replace_printer(printer);
            self.scanner = scanner;
            self.replace_line(virtual_line);
            done.printer = true;
            done.scanner = true;
        } else {
            if done.printer {
                let uri = PrinterUri::parse(&choice.printer).map_err(|source| {
                    DeviceError::PrinterUri {
                        uri: choice.printer.clone(),
                        source,
                    }
                })?;
                let (printer, vp) =
                    crate::virtual_printer::open_printer(&uri, self.sim.printer.clone())
                        .map_err(DeviceError::from)?;
                drop(vp);
                self.replace_printer(Box::new(printer));
            }
            if done.scanner {
                let uri = ScannerUri::parse(&choice.scanner).map_err(|source| {
                    DeviceError::ScannerUri {
                        uri: choice.scanner.clone(),
                        source,
                    }
                })?;
                let opened = labelstation_scanner::open(&uri).map_err(DeviceError::from)?;
                self.scanner = opened.scanner;
            }
        }
        self.template = template;
        // A stored format (^DF) belongs to the old template and printer: send it again.
        self.stored_for = None;
        self.choice = choice.clone();
        self.audit_settings(sup, &old, choice);
        Ok(done)
    }

    fn replace_printer(&mut self, printer: Box<dyn labelstation_printer::Printer>) {
        self.printer_name = printer.describe();
        self.printer = printer;
    }

    fn replace_line(&mut self, line: Option<VirtualLine>) {
        self.own_line = line;
    }

    fn audit_settings(&mut self, sup: &Supervisor, old: &DeviceChoice, new: &DeviceChoice) {
        let detail = serde_json::json!({
            "printer": [old.printer, new.printer],
            "scanner": [old.scanner, new.scanner],
            "template": [old.label.template, new.label.template],
            "dpi": [old.label.dpi, new.label.dpi],
        });
        if let Err(e) = self
            .ledger
            .audit_note(sup.actor(), "station.settings", "devices", &detail)
        {
            tracing::warn!("the settings change was applied but not audited: {e}");
        }
    }
}
