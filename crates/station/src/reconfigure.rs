// SPDX-License-Identifier: GPL-3.0-or-later
//! Settings applied while the station runs: another printer or scanner, another label template or head
//! resolution. The supervisor's Settings page sends them; nothing needs a restart.
//!
//! The station does not know how devices are found: a [`DeviceOpener`] (the app's, over the drivers and
//! the simulated line) opens what a new choice needs. The new devices are opened before the old ones are
//! let go, so a choice that does not work (a printer that is not plugged in, a scanner the user may not
//! read) leaves the station as it was, with the reason. A device whose address did not change is kept as
//! it is (a serial port can be open only once).

use labelstation_printer::Printer;
use labelstation_scanner::Scanner;

use super::pin::Supervisor;
use super::station::Station;
use crate::settings::LabelConfig;

/// What the station runs with: device addresses and the label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceChoice {
    pub printer: String,
    pub scanner: String,
    pub label: LabelConfig,
}

/// Whatever an opener keeps running beside a printer it opened (a simulated line's threads), held by the
/// station as long as that printer and dropped with it. Its opener knows its type.
pub type OwnLine = Box<dyn std::any::Any + Send>;

/// What an opener opened for a new choice. `None`: the device stays as it is.
#[derive(Default)]
pub struct Reopened {
    pub printer: Option<(Box<dyn Printer>, Option<OwnLine>)>,
    pub scanner: Option<Box<dyn Scanner>>,
}

/// Opens the devices a new [`DeviceChoice`] names.
pub trait DeviceOpener: Send {
    /// Open what `choice` needs and `running` does not already have: a device whose address changed, or
    /// one that must come with it (a simulated scanner reads only its own simulated printer). Nothing
    /// that is running is touched; on error everything opened here is dropped again.
    fn reopen(
        &self,
        running: &DeviceChoice,
        choice: &DeviceChoice,
    ) -> Result<Reopened, Box<dyn std::error::Error + Send + Sync>>;
}

/// Why settings were not applied. The station keeps what it had.
#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    #[error("the label template: {0:#}")]
    Template(anyhow::Error),
    #[error("{0}")]
    Device(Box<dyn std::error::Error + Send + Sync>),
    #[error(
        "this station was opened without a way to open other devices: restart it with the new settings"
    )]
    NoOpener,
}

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Switched {
    pub printer: bool,
    pub scanner: bool,
    pub label: bool,
}

impl Station {
    /// The settings the station runs with now.
    pub fn device_choice(&self) -> DeviceChoice {
        self.choice.clone()
    }

    /// What the opener keeps running beside a printer a settings change opened (its opener knows the
    /// type: the simulated line's front panel, say). The first belongs to whoever opened the station.
    pub fn own_line(&self) -> Option<&OwnLine> {
        self.own_line.as_ref()
    }

    /// Remember what the station was opened with (the app's `open_station` does this), and what opens
    /// the devices of a later change, so that change reopens only what changed.
    pub fn with_choice(mut self, choice: DeviceChoice, opener: Box<dyn DeviceOpener>) -> Station {
        self.choice = choice;
        self.opener = Some(opener);
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
        let label = choice.label != old.label;
        let same_devices = choice.printer == old.printer && choice.scanner == old.scanner;
        let opened = match &self.opener {
            Some(opener) => opener.reopen(&old, choice).map_err(SwitchError::Device)?,
            // Only the label changed, and nothing can be opened: the devices stay.
            None if same_devices => Reopened::default(),
            None => return Err(SwitchError::NoOpener),
        };
        let done = Switched {
            printer: opened.printer.is_some(),
            scanner: opened.scanner.is_some(),
            label,
        };
        if let Some((printer, line)) = opened.printer {
            self.replace_printer(printer, line);
        }
        if let Some(scanner) = opened.scanner {
            self.scanner = scanner;
        }
        self.template = template;
        // A stored format (^DF) belongs to the old template and printer: send it again.
        self.stored_for = None;
        self.choice = choice.clone();
        self.audit_settings(sup, &old, choice);
        Ok(done)
    }

    fn replace_printer(&mut self, printer: Box<dyn Printer>, line: Option<OwnLine>) {
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
