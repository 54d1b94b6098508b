// SPDX-License-Identifier: GPL-3.0-or-later
//! `SettingsAdapter` and `Lang`: devices, test print, scanner test, label template and resolution, the
//! registry test, the language (switched at once, remembered in the data dir).

use std::path::{Path, PathBuf};

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::errands::Ask;
use super::{AppWindow, Choice, Lang, SettingsAdapter, Shared, UiContext};
use crate::config::LabelConfig;
use crate::engine::{Command, DeviceChoice, Event};
use crate::verdict::ScanVerdict;

/// The file in the data dir that remembers the screen's language.
const LANGUAGE_FILE: &str = "ui-language";
pub const LANGUAGES: [&str; 3] = ["kk", "ru", "en"];

pub(super) fn wire(app: &AppWindow, shared: &Shared, ctx: &UiContext) {
    let s = app.global::<SettingsAdapter>();
    s.set_printer_uri(ctx.config.printer.uri.as_str().into());
    s.set_scanner_uri(ctx.config.scanner.uri.as_str().into());
    s.set_template(ctx.config.label.template.as_str().into());
    s.set_dpi(i32::try_from(ctx.config.label.dpi).unwrap_or(203));
    s.set_can_save(ctx.config_file.is_some());
    {
        let shared = shared.clone();
        s.on_detect(move || shared.ask(Ask::Devices));
    }
    {
        let shared = shared.clone();
        s.on_test_print(move || shared.send(Command::TestPrint));
    }
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        s.on_scan_test(move || {
            shared.with_state(|s| s.scan_test = true);
            if let Some(app) = weak.upgrade() {
                app.global::<SettingsAdapter>().set_scan_test_armed(true);
            }
        });
    }
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        s.on_registry_test(move || {
            if let Some(app) = weak.upgrade() {
                app.global::<SettingsAdapter>()
                    .set_registry_test_result("…".into());
            }
            shared.ask(Ask::RegistryTest);
        });
    }
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        s.on_save(move || {
            let Some(app) = weak.upgrade() else { return };
            let s = app.global::<SettingsAdapter>();
            s.set_save_result("…".into());
            s.set_save_key(SharedString::new());
            // The engine applies them first; only settings that work are saved (Event::Settings).
            shared.send(Command::ApplySettings(DeviceChoice {
                printer: s.get_printer_uri().trim().to_owned(),
                scanner: s.get_scanner_uri().trim().to_owned(),
                label: LabelConfig {
                    template: s.get_template().to_string(),
                    dpi: u32::try_from(s.get_dpi()).unwrap_or(203),
                },
            }));
        });
    }
    {
        let (weak, dir) = (app.as_weak(), ctx.data_dir.clone());
        app.global::<Lang>().on_select(move |lang| {
            if let Some(app) = weak.upgrade() {
                set_language(&app, &dir, &lang, true);
            }
        });
    }
}

/// Switch the screen's language; `remember` saves it for the next start.
pub(super) fn set_language(app: &AppWindow, data_dir: &Path, lang: &str, remember: bool) {
    if !LANGUAGES.contains(&lang) {
        return;
    }
    if let Err(e) = slint::select_bundled_translation(lang) {
        tracing::warn!("cannot switch the screen to {lang}: {e}");
        return;
    }
    app.global::<Lang>().set_current(lang.into());
    if remember && let Err(e) = std::fs::write(language_file(data_dir), lang) {
        tracing::warn!(
            "cannot remember the language in {}: {e}",
            data_dir.display()
        );
    }
}

pub(super) fn saved_language(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(language_file(data_dir)).ok()?;
    let lang = text.trim();
    LANGUAGES.contains(&lang).then(|| lang.to_owned())
}

fn language_file(data_dir: &Path) -> PathBuf {
    data_dir.join(LANGUAGE_FILE)
}

/// The config file took the applied settings, or not.
pub(super) fn saved(app: &AppWindow, r: Result<PathBuf, String>) {
    let (english, key, value) = match r {
        Ok(path) => (
            format!("In use now, and saved to {}", path.display()),
            "settings-saved",
            path.display().to_string(),
        ),
        Err(e) => (
            format!("In use now, but not saved for the next start: {e}"),
            "settings-not-saved",
            e,
        ),
    };
    let s = app.global::<SettingsAdapter>();
    s.set_save_result(english.into());
    s.set_save_key(key.into());
    s.set_save_args(super::line::args(vec![value]));
}

/// Settings the engine applied are saved for the next start (when this station has a config file).
fn on_settings(app: &AppWindow, shared: &Shared, e: &Event) {
    let Event::Settings {
        applied,
        printer,
        scanner,
        template,
        dpi,
        message,
        key,
        args,
    } = e
    else {
        return;
    };
    let s = app.global::<SettingsAdapter>();
    s.set_save_result(message.as_str().into());
    s.set_save_key((*key).into());
    s.set_save_args(super::line::args(args.clone()));
    if *applied && s.get_can_save() {
        shared.ask(Ask::Save {
            printer: printer.clone(),
            scanner: scanner.clone(),
            template: template.clone(),
            dpi: *dpi,
        });
    }
}

/// The scanner test shows what the next scan held (masked: never a crypto tail).
pub(super) fn on_event(app: &AppWindow, shared: &Shared, e: &Event) {
    on_settings(app, shared, e);
    let Event::Verdict { verdict, .. } = e else {
        return;
    };
    if !shared.with_state(|s| std::mem::take(&mut s.scan_test)) {
        return;
    }
    let text = match verdict {
        ScanVerdict::Match { .. } => {
            format!("OK: {}", shared.with_state(|s| s.last_label.clone()))
        }
        ScanVerdict::Mismatch { scanned, .. } => format!("Marking code {scanned}"),
        ScanVerdict::Retail { gtin } => format!("Product barcode {gtin}"),
        ScanVerdict::NotGs1 { reason } => format!("Not GS1 DataMatrix: {reason}"),
        ScanVerdict::Unreadable { reason } => format!("Unreadable: {reason}"),
        ScanVerdict::Timeout => "No scan".to_owned(),
    };
    let s = app.global::<SettingsAdapter>();
    s.set_scan_test_armed(false);
    s.set_scan_test_result(text.into());
}

pub(super) fn set_devices(
    app: &AppWindow,
    printers: Vec<(String, String)>,
    scanners: Vec<(String, String)>,
) {
    let s = app.global::<SettingsAdapter>();
    let choices = |list: Vec<(String, String)>, current: SharedString| {
        let mut rows: Vec<Choice> = list
            .into_iter()
            .map(|(key, label)| Choice {
                key: key.into(),
                label: label.into(),
            })
            .collect();
        // The configured device stays choosable even when it is not plugged in now.
        if !current.is_empty() && !rows.iter().any(|c| c.key == current) {
            rows.insert(
                0,
                Choice {
                    label: current.clone(),
                    key: current,
                },
            );
        }
        ModelRc::new(VecModel::from(rows))
    };
    s.set_printers(choices(printers, s.get_printer_uri()));
    s.set_scanners(choices(scanners, s.get_scanner_uri()));
}
