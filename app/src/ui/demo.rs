// SPDX-License-Identifier: GPL-3.0-or-later
//! Entry points for the CLI: the station with its touchscreen, and the demo (virtual printer and scanner,
//! occasional faults, supervisor PIN 1234) that shows the whole flow without hardware.

use std::sync::mpsc::Receiver;
use std::time::Duration;

use anyhow::{Context, Result};

use super::{RegistryTest, UiContext};
use crate::codes::generate::{CodeGenerator, gtin_from_number};
use crate::compose::demo::demo_product;
use crate::compose::{Opened, Overrides, open_station};
use crate::config::{Config, Paths};
use crate::engine::{Engine, Event, LinkSource, PinStore};
use crate::ledger::{Actor, Ledger, StationLock};
use crate::sim::worker::VirtualLine;

/// The demo's supervisor PIN (shown on its screen).
pub const DEMO_PIN: &str = "1234";

/// A station open with its engine running, ready for a window (or a test) to drive.
pub struct StationUi {
    pub engine: Engine,
    pub events: Receiver<Event>,
    pub ctx: UiContext,
    // Kept for as long as the station runs.
    _lock: StationLock,
    _line: Option<VirtualLine>,
}

impl StationUi {
    /// Open the station as `config` says (devices overridden by `overrides`), engine running with label
    /// previews on.
    pub fn open(
        paths: &Paths,
        config: &Config,
        overrides: &Overrides,
        link: Option<LinkSource>,
    ) -> Result<StationUi> {
        let actor = Actor::operator(format!("{}:screen", config.station.id));
        let Opened {
            mut station,
            lock,
            recovery,
            virtual_line,
        } = open_station(paths, config, overrides, actor, None)?;
        if recovery.released > 0 || !recovery.to_review.is_empty() {
            tracing::info!(
                released = recovery.released,
                to_review = recovery.to_review.len(),
                "codes left in flight by the last run were recovered"
            );
        }
        station.previews = true;
        let (engine, events) = Engine::spawn(station, None, link);
        Ok(StationUi {
            engine,
            events,
            ctx: UiContext {
                data_dir: paths.data_dir.clone(),
                config: config.clone(),
                config_file: Some(paths.config_file.clone()),
                demo_hint: None,
                registry_test: None,
                language: None,
            },
            _lock: lock,
            _line: virtual_line,
        })
    }

    /// The demo in `paths.data_dir` (a fresh, temporary directory): products and codes when the ledger
    /// has none, the PIN 1234, the virtual line with about one fault in ten labels.
    pub fn demo(
        paths: &Paths,
        config: &Config,
        link: Option<LinkSource>,
        registry_test: Option<RegistryTest>,
    ) -> Result<StationUi> {
        seed_demo(paths, config)?;
        PinStore::new(&paths.data_dir)
            .set(DEMO_PIN)
            .context("cannot set the demo's supervisor PIN")?;
        let overrides = Overrides {
            printer: Some("sim:".into()),
            scanner: Some("sim:".into()),
            fault_rate: Some(0.1),
            apply_time: Some(Duration::from_millis(600)),
            sim_ips: Some(6.0),
            ..Overrides::default()
        };
        let mut s = StationUi::open(paths, config, &overrides, link)?;
        s.ctx.config_file = None;
        s.ctx.registry_test = registry_test;
        s.ctx.demo_hint = Some(format!("Demo — supervisor PIN {DEMO_PIN}"));
        Ok(s)
    }

    /// The engine, its events, the screen's context, and what must live as long as the station runs.
    pub fn into_parts(self) -> (Engine, Receiver<Event>, UiContext, StationGuard) {
        (
            self.engine,
            self.events,
            self.ctx,
            StationGuard {
                _lock: self._lock,
                _line: self._line,
            },
        )
    }

    /// Show the window until it is closed, then stop the engine.
    pub fn run(self) -> Result<()> {
        let (engine, events, ctx, guard) = self.into_parts();
        let result = super::run(engine, events, ctx);
        drop(guard);
        result
    }
}

/// The station lock and the virtual line, held while the station runs.
pub struct StationGuard {
    _lock: StationLock,
    _line: Option<VirtualLine>,
}

impl StationGuard {
    /// The virtual printer's front panel (faults), when the printer is `sim:`.
    pub fn printer(&self) -> Option<&crate::sim::printer::VirtualPrinterHandle> {
        self._line.as_ref().map(|l| &l.printer)
    }
}

/// `labelstation run` with the touchscreen: the configured station. `registry_test` backs the Settings
/// button (None: it shows the configured URL and points at the status strip).
pub fn run_station_ui(
    paths: &Paths,
    config: &Config,
    overrides: &Overrides,
    link: Option<LinkSource>,
    registry_test: Option<RegistryTest>,
) -> Result<()> {
    let mut s = StationUi::open(paths, config, overrides, link)?;
    s.ctx.registry_test = registry_test;
    s.run()
}

/// `labelstation demo` with the touchscreen, in `paths.data_dir` (give it a fresh temporary directory),
/// with the registry link of the background sync when there is one.
pub fn run_demo_ui(
    paths: &Paths,
    config: &Config,
    link: Option<LinkSource>,
    registry_test: Option<RegistryTest>,
) -> Result<()> {
    StationUi::demo(paths, config, link, registry_test)?.run()
}

/// Three products with 300 codes each, unless the ledger already has products.
pub fn seed_demo(paths: &Paths, config: &Config) -> Result<()> {
    let mut ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
    if !ledger.products()?.is_empty() {
        return Ok(());
    }
    let actor = Actor::system("demo");
    let format = config.codes.format();
    let (mut registry, _sim) = if config.registry.api == crate::config::RegistryApi::Sim {
        let (client, sim) = crate::compose::registry(paths, config)?;
        (Some(client), sim)
    } else {
        (None, None)
    };
    let products = [
        ("Ботинки мужские", "42", 1),
        ("Кроссовки женские", "38", 2),
        ("Сапоги детские", "30", 3),
    ];
    for (i, (name, size, n)) in products.into_iter().enumerate() {
        let gtin = gtin_from_number(460_700_000_000 + n);
        ledger.add_product(demo_product(&gtin, name, Some(size)), &actor)?;
        // The last product runs low, to show the warning.
        let count = if i == 2 { 12 } else { 300 };
        if let Some(registry) = registry.as_mut() {
            // From the built-in registry simulator, which then accepts their reports.
            crate::registry::pull::Pull {
                ledger: &mut ledger,
                registry: registry.as_mut(),
                format: &format,
                opts: crate::registry::pull::PullOptions {
                    pack_size: config.registry.pack_size,
                    // The simulator runs in this process: no need to wait seconds between polls.
                    poll_interval: Duration::from_millis(50),
                    ..Default::default()
                },
                actor: &actor,
            }
            .run(&gtin, count, &mut |_| {})
            .with_context(|| format!("cannot pull the demo codes for {gtin}"))?;
            continue;
        }
        let mut g = CodeGenerator::new(100 + n).with_crypto_len(
            44usize
                .max(config.codes.crypto_length_min)
                .min(config.codes.crypto_length_max),
        );
        let file: String = (0..count)
            .map(|_| format!("{}\n", g.code(&gtin).as_str()))
            .collect();
        ledger
            .import_codes(&gtin, "demo", file.as_bytes(), &format, &actor)
            .with_context(|| format!("cannot load the demo codes for {gtin}"))?;
    }
    Ok(())
}
