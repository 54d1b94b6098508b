// SPDX-License-Identifier: GPL-3.0-or-later
//! Settings applied while the station runs: another printer or scanner, another label template or head
//! resolution. The supervisor's Settings page sends them; nothing needs a restart.
//!
//! The new devices are opened before the old ones are let go, so a choice that does not work (a printer
//! that is not plugged in, a scanner the user may not read) leaves the station as it was, with the reason.
//! A device whose address did not change is kept as it is (a serial port can be open only once).

use labelstation_scanner::ScannerUri;

use super::pin::Supervisor;
use super::station::Station;
use super::virtual_worker::{
    DeviceError, Devices, VirtualLine, WorkerConfig, open_devices, open_printer_alone,
};
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

    /// The front panel of the virtual printer a settings change opened, if the station runs on one it
    /// opened itself (the first belongs to whoever opened the station).
    pub fn own_virtual_printer(&self) -> Option<crate::virtual_printer::VirtualPrinterHandle> {
        self.own_line.as_ref().map(|l| l.printer.clone())
    }

    /// Remember what the station was opened with (`compose::open_station` does this), so a later change reopens only what
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
        // The virtual printer renders at the head resolution: a new dpi is a new virtual printer.
        let sim_dpi = is_sim(&choice.printer) && choice.label.dpi != old.label.dpi;
        // A virtual scanner reads what its own virtual printer prints: they come and go as a pair.
        let need_printer = done.printer
            || sim_dpi
            || (done.scanner && (is_sim(&choice.scanner) || is_sim(&old.scanner)));
        let need_scanner = done.scanner || (need_printer && is_sim(&choice.scanner));
        if is_sim(&choice.scanner) && need_printer {
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
            self.replace_printer(printer, virtual_line);
            self.scanner = scanner;
        } else {
            // Open what changed first; only when all of it opened are the old devices let go. A device
            // whose address stays is kept open (a serial port can be open only once).
            let printer = match need_printer {
                true => Some(open_printer_alone(
                    &choice.printer,
                    PrinterSimConfig {
                        dpi: choice.label.dpi,
                        ..self.sim.printer.clone()
                    },
                )?),
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
                    Some(labelstation_scanner::open(&uri).map_err(DeviceError::from)?)
                }
                false => None,
            };
            if let Some((printer, line)) = printer {
                self.replace_printer(printer, line);
            }
            if let Some(opened) = scanner {
                self.scanner = opened.scanner;
            }
        }
        done.printer = need_printer;
        done.scanner = need_scanner;
        self.template = template;
        // A stored format (^DF) belongs to the old template and printer: send it again.
        self.stored_for = None;
        self.choice = choice.clone();
        self.audit_settings(sup, &old, choice);
        Ok(done)
    }

    fn replace_printer(
        &mut self,
        printer: Box<dyn labelstation_printer::Printer>,
        line: Option<VirtualLine>,
    ) {
        self.printer_name = printer.describe();
        self.printer = printer;
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
