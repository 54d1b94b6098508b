// SPDX-License-Identifier: GPL-3.0-or-later
//! The headless demo: the registry simulator on loopback, the virtual printer on loopback TCP, the virtual
//! scanner on a pseudo-terminal, a fresh ledger. It pulls codes, labels pairs with faults injected, lets a
//! demo supervisor unlock the line when it stops, syncs the confirmations, and reports numbers that must
//! add up.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use super::{Overrides, open_station, sim_client};
use crate::codes::generate::gtin_from_number;
use crate::codes::{CodeFormat, Gtin};
use crate::config::{Config, Paths};
use crate::engine::{Counters, EngineError, Event, LabelPhase, LineState, Mode, PinStore};
use crate::ledger::{Actor, Ledger, Product};
use crate::registry::client::Registry;
use crate::registry::pull::{Pull, PullOptions, PullReport};
use crate::registry::sim::{RegistrySim, SimConfig};
use crate::registry::sync::{SyncOptions, Syncer};

/// The demo's supervisor PIN (shown on screen: it is a demo).
pub const DEMO_PIN: &str = "1234";

/// What the headless demo does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemoOptions {
    /// Pairs to label.
    pub labels: u32,
    /// Share of labels that meet a fault (0 to 1).
    pub fault_rate: f64,
    /// Seed of the virtual line's faults and of the registry simulator.
    pub seed: u64,
}

/// What the demo did. `adds_up` checks the numbers against each other and against the ledger.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DemoReport {
    pub requested: u32,
    pub pulled: u64,
    pub printed: u32,
    pub verified: u32,
    pub rejected: u32,
    /// Codes the registry accepted as applied.
    pub reported: u64,
    /// Confirmations still queued for the registry.
    pub backlog: u64,
    /// Codes waiting for a supervisor (the rejected ones).
    pub review_waiting: u64,
    /// Times the line stopped and the demo supervisor unlocked it.
    pub unlocks: u32,
    pub seconds: f64,
    /// Ledger counts by state at the end.
    pub ledger: std::collections::BTreeMap<&'static str, u64>,
    /// Ledger invariant violations (must be none).
    pub violations: usize,
}

impl DemoReport {
    pub fn adds_up(&self) -> bool {
        let st = |k: &str| self.ledger.get(k).copied().unwrap_or(0);
        self.verified + self.rejected == self.requested
            && self.reported + self.backlog == u64::from(self.verified)
            && st("VERIFIED") + st("REPORTED") == u64::from(self.verified)
            && st("REPORTED") == self.reported
            && st("REJECTED") == u64::from(self.rejected)
            && self.review_waiting == u64::from(self.rejected)
            && st("RESERVED") + st("SENT") + st("PRINTED") == 0
            && self.ledger.values().sum::<u64>() == self.pulled
            && self.violations == 0
    }

    pub fn summary_line(&self) -> String {
        format!(
            "demo: {} labels requested: {} printed, {} verified, {} rejected (waiting for a supervisor), {} reported to the registry, {} in the backlog; {} line stop(s) unlocked by the supervisor; {:.1} s; {}",
            self.requested,
            self.printed,
            self.verified,
            self.rejected,
            self.reported,
            self.backlog,
            self.unlocks,
            self.seconds,
            if self.adds_up() {
                "every code accounted for"
            } else {
                "NUMBERS DO NOT ADD UP"
            }
        )
    }
}

/// A product for a demo or bench ledger: shoes made in China.
pub(crate) fn demo_product(gtin: &Gtin, name: &str, size: Option<&str>) -> Product {
    Product {
        gtin: gtin.clone(),
        name: name.into(),
        size: size.map(Into::into),
        colour: None,
        model: None,
        country: Some("CN".into()),
    }
}

/// Pull `n` codes for `gtin` from a registry simulator in this process (no need to wait seconds
/// between polls).
pub(crate) fn pull_from_sim(
    ledger: &mut Ledger,
    registry: &mut dyn Registry,
    format: &CodeFormat,
    actor: &Actor,
    gtin: &Gtin,
    n: u32,
) -> Result<PullReport> {
    Ok(Pull {
        ledger,
        registry,
        format,
        opts: PullOptions {
            poll_interval: Duration::from_millis(20),
            ..PullOptions::default()
        },
        actor,
    }
    .run(gtin, n, &mut |_| {})?)
}

/// Run the headless demo in `paths.data_dir` (fresh or kept), writing live progress to `progress`.
pub fn run(
    paths: &Paths,
    config: &Config,
    a: &DemoOptions,
    progress: &mut (dyn Write + Send),
) -> Result<DemoReport> {
    let started = Instant::now();
    let actor = Actor::system("demo");
    let gtin = gtin_from_number(460_123_456_789);
    let extra = 10;
    {
        let mut ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
        if ledger.product(&gtin)?.is_none() {
            ledger.add_product(
                Product {
                    colour: Some("black".into()),
                    model: Some("DEMO-1".into()),
                    ..demo_product(&gtin, "Ботинки мужские / Ер адам бәтеңкесі", Some("42"))
                },
                &actor,
            )?;
        }
    }
    PinStore::new(&paths.data_dir).set(DEMO_PIN)?;

    // The registry simulator, for the whole demo.
    let sim_cfg = SimConfig {
        crypto_len: config.codes.crypto_length_min,
        seed: a.seed,
        ..SimConfig::default()
    };
    let sim = RegistrySim::start(([127, 0, 0, 1], 0).into(), sim_cfg)
        .context("cannot start the registry simulator")?;
    let mut client = sim_client(config, &sim.url())?;
    let _ = writeln!(progress, "registry simulator on {}", sim.url());
    let format = config.codes.format();
    let pulled = {
        let mut ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
        let r = pull_from_sim(
            &mut ledger,
            client.as_mut(),
            &format,
            &actor,
            &gtin,
            a.labels + extra,
        )?;
        r.new_codes as u64
    };
    let _ = writeln!(
        progress,
        "pulled {pulled} codes for GTIN {gtin}; labelling {} pairs with {:.0}% faults (supervisor PIN {DEMO_PIN})",
        a.labels,
        a.fault_rate * 100.0
    );

    // The line, on the virtual printer and scanner.
    let live = Arc::new(Mutex::new((Counters::default(), String::new())));
    let tty = std::io::stderr().is_terminal();
    let sink = {
        let live = live.clone();
        Arc::new(move |e: Event| {
            let Ok(mut l) = live.lock() else { return };
            match e {
                Event::Counters { counters } => l.0 = counters,
                Event::Label {
                    masked,
                    phase: LabelPhase::Rejected { reason, .. },
                    ..
                } => l.1 = format!("rejected {masked}: {reason}"),
                Event::Label {
                    masked,
                    phase: LabelPhase::Verified,
                    ..
                } => l.1 = format!("verified {masked}"),
                Event::Line {
                    line: LineState::Paused { reason, remedy, .. },
                } => l.1 = format!("printer: {reason}. {remedy}"),
                _ => return,
            }
            let c = l.0;
            let line = format!(
                "printed {:>4}  verified {:>4}  rejected {:>3}  warnings {:>3}  | {}",
                c.printed, c.verified, c.rejected, c.warnings, l.1
            );
            if tty {
                eprint!("\r\x1b[2K{}", line.chars().take(160).collect::<String>());
            } else {
                eprintln!("{line}");
            }
        })
    };
    let overrides = Overrides {
        printer: Some("sim:".into()),
        scanner: Some("sim:".into()),
        fault_rate: Some(a.fault_rate),
        apply_time: Some(Duration::from_millis(150)),
        seed: Some(a.seed),
        ..Overrides::default()
    };
    let mut opened = open_station(paths, config, &overrides, actor.clone(), Some(sink))?;
    let pins = PinStore::new(&paths.data_dir);
    let mut report = DemoReport {
        requested: a.labels,
        pulled,
        ..DemoReport::default()
    };
    // Runs until every requested label is verified or rejected; a stopped line is unlocked by the demo
    // supervisor and the rest of the labels follow.
    let mut left = a.labels;
    while left > 0 {
        match opened.station.run(&gtin, Mode::Inline, left) {
            Ok(_) => left = 0,
            Err(EngineError::LineStopped { .. }) => {
                let done = opened.station.counters();
                left = a.labels.saturating_sub(
                    u32::try_from(done.verified + done.rejected).unwrap_or(u32::MAX),
                );
                let sup = pins.check(DEMO_PIN, "demo-supervisor")?;
                opened.station.unlock(&sup)?;
                report.unlocks += 1;
                if tty {
                    eprintln!();
                }
                let _ = writeln!(
                    progress,
                    "the line stopped after failures in a row; the demo supervisor reviewed and unlocked it"
                );
            }
            Err(e) => return Err(e.into()),
        }
    }
    if tty {
        eprintln!();
    }
    let c = opened.station.counters();
    report.printed = u32::try_from(c.printed).unwrap_or(u32::MAX);
    report.verified = u32::try_from(c.verified).unwrap_or(u32::MAX);
    report.rejected = u32::try_from(c.rejected).unwrap_or(u32::MAX);
    // Scans still in flight (a double scan of the last sticker) are judged before the count closes.
    let _ = opened.station.take_scans(Duration::from_millis(300));
    drop(opened.virtual_line.take());

    // Sync the confirmations.
    let ledger = opened.station.ledger_mut();
    let r = &config.registry.report;
    let opts = SyncOptions {
        batch_size: r.batch_size,
        default_country: (!r.default_country.is_empty()).then(|| r.default_country.clone()),
        expiry_days: r.expiry_days,
        poll_interval: Duration::from_millis(20),
        ..SyncOptions::default()
    };
    for _ in 0..5 {
        let s = Syncer {
            ledger,
            registry: client.as_mut(),
            opts: opts.clone(),
            actor: &actor,
        }
        .once(&mut |_| {})?;
        report.reported += s.reported;
        if s.backlog.utilisation_queued == 0 && s.backlog.reports_open == 0 {
            break;
        }
    }
    let _ = writeln!(
        progress,
        "synced: {} application(s) reported to the registry",
        report.reported
    );
    let backlog = ledger.backlog()?;
    report.backlog = backlog.utilisation_queued + backlog.reports_open;
    report.review_waiting = ledger.review_queue(100_000)?.len() as u64;
    report.ledger = ledger
        .balance()?
        .into_iter()
        .find(|b| b.gtin == gtin.as_str())
        .map(|b| b.states)
        .unwrap_or_default();
    report.reported = report.ledger.get("REPORTED").copied().unwrap_or(0);
    report.violations = ledger.check_invariants()?.len();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
