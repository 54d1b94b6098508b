// SPDX-License-Identifier: GPL-3.0-or-later
//! The station's own settings: the label, the printer's timings, the line. They are sections of the
//! configuration file (the app's `config.rs` reads the file and runs every section's `validate`); they
//! live here because the engine is what reads them.

use serde::{Deserialize, Serialize};

/// Which label is printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LabelConfig {
    /// A built-in template ("58x40", "43x25") or the path of a template TOML file.
    pub template: String,
    /// The printer head's resolution: 203, 300 or 600 dpi.
    pub dpi: u32,
}

impl LabelConfig {
    /// The configured label template at the configured resolution.
    pub fn template(&self) -> anyhow::Result<labelstation_zpl::template::Template> {
        use anyhow::Context as _;
        use labelstation_zpl::template::{BuiltinTemplate, Dpi, Template};
        let t = match self.template.as_str() {
            "58x40" => Template::builtin(BuiltinTemplate::Label58x40)?,
            "43x25" => Template::builtin(BuiltinTemplate::Label43x25)?,
            path => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("cannot read the label template {path} (label.template)")
                })?;
                Template::from_toml(&text).with_context(|| format!("label template {path}"))?
            }
        };
        let dpi = match self.dpi {
            300 => Dpi::D300,
            600 => Dpi::D600,
            _ => Dpi::D203,
        };
        Ok(t.with_dpi(dpi)?)
    }
}

impl Default for LabelConfig {
    fn default() -> Self {
        LabelConfig {
            template: "58x40".into(),
            dpi: 203,
        }
    }
}

/// The label printer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrinterConfig {
    /// Printer address: "sim:" (the virtual printer), "tcp://HOST:9100", "serial:///dev/ttyUSB0?baud=9600",
    /// "usb://0a5f:PID", "file:///dev/usb/lp0". `labelstation doctor` lists the printers it finds.
    pub uri: String,
    /// Seconds to wait for a label to come out before the line pauses with the printer's state.
    pub print_timeout_secs: u64,
    /// Milliseconds between status queries (`~HS`) while a label prints.
    pub status_poll_ms: u64,
    /// Read the printer's odometer (SGD `odometer.total_label_count`) around a roll to check its
    /// status counts against what physically came out; `false` goes on the counts alone.
    pub odometer: bool,
}

impl Default for PrinterConfig {
    fn default() -> Self {
        PrinterConfig {
            uri: "sim:".into(),
            print_timeout_secs: 30,
            status_poll_ms: 100,
            odometer: true,
        }
    }
}

impl PrinterConfig {
    /// The section's own checks, each error naming the key to fix.
    pub fn validate(&self) -> Result<(), String> {
        labelstation_printer::PrinterUri::parse(&self.uri)
            .map_err(|e| format!("printer.uri = {:?}: {e}", self.uri))?;
        if self.print_timeout_secs == 0 || self.status_poll_ms == 0 {
            return Err(
                "printer.print_timeout_secs and printer.status_poll_ms must be above 0".into(),
            );
        }
        Ok(())
    }
}

/// How the line runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LineConfig {
    /// Seconds the line waits for the scan of a printed sticker (inline mode) before rejecting it.
    pub scan_timeout_secs: u64,
    /// Unreadable or not-GS1 reads of the same sticker before it is rejected (the worker may rescan).
    pub rescans: u32,
    /// Consecutive failures (rejected labels, unknown codes) that stop the line until a supervisor acts.
    pub max_consecutive_failures: u32,
    /// How labels go to the printer: "full" (the whole label each time) or "stored" (the layout once per
    /// product with ^DF, then only the code: fewer bytes on slow serial links; re-sent after any printer
    /// error or reconnect, because a printer that lost power forgets it).
    pub label_mode: LabelMode,
    /// Warn when a product has fewer AVAILABLE codes than this.
    pub low_pool_threshold: u64,
    /// Warn about AVAILABLE codes that expire within this many days.
    pub expiry_warning_days: u64,
    /// Seconds the line waits for a paused printer to be fixed before the label is rejected and the run
    /// stops (the touchscreen may cancel earlier).
    pub pause_timeout_secs: u64,
    /// A scan of an applied code is taken for the same sticker read again only within this many seconds
    /// of its own verifying scan, with no scan between and no other sticker of it known; any other is
    /// another sticker: an alert for the supervisor (README: The station, Second stickers).
    pub same_sticker_secs: u64,
    /// Roll modes (batch, no-verify): labels kept in the printer at once, so its head never waits for
    /// the station. Each must fit the printer's receive buffer (a station's label is under 1 KiB); on a
    /// fault, those whose fate is unknown go to review (README: The station, Rolls).
    pub roll_window: u32,
}

impl Default for LineConfig {
    fn default() -> Self {
        LineConfig {
            scan_timeout_secs: 30,
            rescans: 2,
            max_consecutive_failures: 3,
            label_mode: LabelMode::Full,
            low_pool_threshold: 200,
            expiry_warning_days: 14,
            pause_timeout_secs: 600,
            same_sticker_secs: 3,
            roll_window: 4,
        }
    }
}

impl LineConfig {
    /// The section's own checks, each error naming the key to fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.scan_timeout_secs == 0 {
            return Err("line.scan_timeout_secs must be above 0".into());
        }
        if self.max_consecutive_failures == 0 {
            return Err("line.max_consecutive_failures must be at least 1".into());
        }
        if !(1..=64).contains(&self.roll_window) {
            return Err("line.roll_window must be between 1 and 64".into());
        }
        Ok(())
    }
}

/// How labels go to the printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelMode {
    Full,
    Stored,
}
