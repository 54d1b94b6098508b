// SPDX-License-Identifier: GPL-3.0-or-later
//! The station's own commands: `print`, `review` (`station/review.rs`), `supervisor`, `status`
//! (`station/status.rs`), `run` and `demo`. Thin shells over [`crate::engine`]; `cli.rs` parses and
//! dispatches.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::codes::Gtin;
use crate::compose::{self, Overrides, SyncParts, open_station, start_sync};
use crate::config::{Config, Paths};
use crate::engine::{
    Command, Engine, EngineError, Event, LabelPhase, LineState, Mode, PinStore, Severity,
    Supervisor,
};
use crate::ledger::{Actor, CodeId, Ledger, NextStart, StationLock, StoreError};

mod review;
mod status;
pub use review::{ReviewCmd, resolve_code, review};
pub use status::status;

/// Environment variable a script may use to pass the supervisor PIN (else it is asked on the terminal).
pub const PIN_ENV: &str = "LABELSTATION_SUPERVISOR_PIN";
/// Environment variable holding the new PIN for `supervisor set-pin` (else asked on the terminal).
pub const NEW_PIN_ENV: &str = "LABELSTATION_NEW_PIN";

#[derive(Debug, Args)]
pub struct Devices {
    /// Printer address (default: printer.uri from the config). `sim:` is the virtual printer.
    #[arg(long, value_name = "URI")]
    pub printer: Option<String>,
    /// Scanner address (default: scanner.uri from the config). `sim:` reads what the virtual printer
    /// prints, so it goes with `--printer sim:`.
    #[arg(long, value_name = "URI")]
    pub scanner: Option<String>,
    /// Virtual line only: share of labels that meet a fault (0 to 1): no read, misread, GS dropped, wrong
    /// symbology, double scan, damaged print, lost job, second copy, paper out.
    #[arg(long, value_name = "F")]
    pub fault_rate: Option<f64>,
}

impl Devices {
    fn overrides(&self) -> Result<Overrides> {
        if let Some(f) = self.fault_rate
            && !(0.0..=1.0).contains(&f)
        {
            bail!("--fault-rate {f}: give a share between 0 and 1");
        }
        Ok(Overrides {
            printer: self.printer.as_deref().map(printer_from_flag).transpose()?,
            scanner: self.scanner.clone(),
            fault_rate: self.fault_rate,
            ..Overrides::default()
        })
    }
}

/// A printer address typed on the command line. `file://out.zpl` there means `out.zpl` in the current
/// directory, as any path on a command line does; the config file keeps absolute paths only (a service
/// runs elsewhere).
pub(crate) fn printer_from_flag(text: &str) -> Result<String> {
    let t = text.trim();
    match t.strip_prefix("file://") {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !rest.contains('?') => {
            let cwd = std::env::current_dir().context(
                "cannot read the current directory to place the file of --printer file://",
            )?;
            Ok(format!("file://{}", cwd.join(rest).display()))
        }
        _ => Ok(t.to_owned()),
    }
}

#[derive(Debug, Args)]
pub struct PrintArgs {
    /// The product to label.
    #[arg(long)]
    pub gtin: Gtin,
    /// How many labels.
    #[arg(long, default_value_t = 1)]
    pub count: u32,
    /// Print the roll ahead, then verify stickers in any order as they are applied.
    #[arg(long, conflicts_with = "no_verify")]
    pub batch: bool,
    /// Print without scanning: the codes stay PRINTED until their stickers are scanned later.
    #[arg(long)]
    pub no_verify: bool,
    /// Label for this consignment (`consignment list`): the product must be on its packing list, and
    /// no more pairs than its line declares are labelled.
    #[arg(long, value_name = "ID")]
    pub consignment: Option<String>,
    /// Pack the pairs into boxes of this many as they are verified: each box under a new SSCC
    /// (`[aggregation] company_prefix`), closed when full or when the run ends, its GS1-128 label
    /// printed and scanned back. Inline runs only; needs --consignment (a box holds one consignment).
    #[arg(
        long,
        value_name = "C",
        requires = "consignment",
        conflicts_with_all = ["batch", "no_verify"]
    )]
    pub box_capacity: Option<u32>,
    #[command(flatten)]
    pub devices: Devices,
    /// Events as JSON lines on stdout, and the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum SupervisorCmd {
    /// Set or change the supervisor PIN (4 to 12 digits). Changing it needs the current PIN.
    SetPin,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Without the touchscreen: the scanner drives the line (scan a box's barcode to print its label).
    #[arg(long)]
    pub headless: bool,
    /// The product selected at start.
    #[arg(long)]
    pub gtin: Option<Gtin>,
    /// Pack verified pairs into boxes of this many for the consignment chosen on the touchscreen (one
    /// by one runs; the work card shows the open box).
    #[arg(long, value_name = "C")]
    pub box_capacity: Option<u32>,
    #[command(flatten)]
    pub devices: Devices,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Without the touchscreen UI.
    #[arg(long)]
    pub headless: bool,
    /// Pairs to label.
    #[arg(long, default_value_t = 20)]
    pub labels: u32,
    /// Share of labels that meet a fault (0 to 1).
    #[arg(long, default_value_t = 0.1)]
    pub fault_rate: f64,
    /// Seed of the virtual line's faults (the same seed replays the same faults).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Keep the demo's ledger in this directory (default: a temporary one, removed at the end).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}

/// The person or tool acting from the command line.
fn operator() -> Actor {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    Actor::operator(format!("cli:{user}"))
}

// ---- print ------------------------------------------------------------------------------------------

pub fn print(paths: &Paths, config: &Config, a: &PrintArgs) -> Result<ExitCode> {
    let mode = if a.no_verify {
        Mode::NoVerify
    } else if a.batch {
        Mode::Batch
    } else {
        Mode::Inline
    };
    if a.count == 0 {
        bail!("--count 0: nothing to print");
    }
    let json = a.json;
    let overrides = Overrides {
        // A print that verifies nothing opens no scanner (`sim:` would want the virtual printer).
        no_scanner: mode == Mode::NoVerify,
        box_capacity: a.box_capacity,
        ..a.devices.overrides()?
    };
    let mut opened = open_station(
        paths,
        config,
        &overrides,
        operator(),
        Some(Arc::new(move |e| report_event(&e, json))),
    )?;
    say_recovery(&opened.recovery);
    if let Some(k) = a.consignment.as_deref().map(str::trim) {
        let room = opened.station.ledger().consignment_line_room(k, &a.gtin)?;
        if u64::from(a.count) > room.left() {
            bail!(
                "consignment {k} declares {} pair(s) of GTIN {}, {} labelled or being labelled: {} left, {} asked. Print at most {}; if the packing list was wrong, a supervisor raises the line (`labelstation consignment raise {k} --gtin {} --to N`)",
                room.declared,
                a.gtin,
                room.used,
                room.left(),
                a.count,
                room.left(),
                a.gtin
            );
        }
        opened.station.label_for(Some(k.to_owned()));
    }
    let result = opened.station.run(&a.gtin, mode, a.count);
    finish_run(result, json)
}

fn finish_run(
    result: Result<crate::engine::RunSummary, EngineError>,
    json: bool,
) -> Result<ExitCode> {
    match result {
        Ok(s) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&serde_json::json!({ "summary": s }))?
                );
            } else {
                println!(
                    "{} requested: {} printed, {} verified, {} rejected, {} waiting for their scan",
                    s.requested, s.printed, s.verified, s.rejected, s.waiting
                );
                if s.rejected > 0 {
                    println!("rejected codes wait for a supervisor: `labelstation review list`");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e.into()),
    }
}

fn say_recovery(r: &crate::ledger::RecoveryReport) {
    if !r.to_review.is_empty() || r.released > 0 {
        eprintln!(
            "start-up recovery: the last run stopped mid-label; {} code(s) moved to review, {} never-sent code(s) back to the pool",
            r.to_review.len(),
            r.released
        );
    }
    if r.printed_waiting > 0 {
        eprintln!(
            "{} printed sticker(s) of earlier rolls wait for their scan",
            r.printed_waiting
        );
    }
}

/// The CLI's view of engine events: one line per event that matters, on stderr (JSON lines on stdout).
fn report_event(e: &Event, json: bool) {
    if json {
        if let Ok(line) = serde_json::to_string(e) {
            println!("{line}");
        }
        return;
    }
    match e {
        Event::Label {
            code,
            masked,
            phase,
            ..
        } => match phase {
            LabelPhase::Printed => eprintln!("#{} {masked}: printed", code.0),
            LabelPhase::Verified => eprintln!("#{} {masked}: verified", code.0),
            LabelPhase::Rejected { reason, .. } => {
                eprintln!("#{} {masked}: REJECTED: {reason}", code.0)
            }
            _ => {}
        },
        Event::Verdict {
            message, severity, ..
        } if *severity != Severity::Ok => eprintln!("scan: {message}"),
        Event::Line {
            line: LineState::Paused { reason, remedy, .. },
        } => eprintln!("printer: {reason}. {remedy}"),
        Event::Line {
            line: LineState::Stopped { reason, .. },
        } => eprintln!("line stopped: {reason}"),
        Event::Notice(notice) => crate::cli::print_notice(notice),
        _ => {}
    }
}

/// The supervisor PIN, from the environment or asked on the terminal.
fn read_pin(prompt: &str, env: &str) -> Result<String> {
    if let Ok(p) = std::env::var(env) {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!("{prompt}: no terminal to ask on; set {env}");
    }
    eprint!("{prompt}: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// Sign a supervisor in with the PIN (from the environment or the terminal); a refused PIN is audited.
pub(crate) fn supervisor(paths: &Paths, name: Option<&str>) -> Result<Supervisor> {
    let pins = PinStore::new(&paths.data_dir);
    let name = name
        .map(str::to_owned)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "supervisor".into());
    let pin = read_pin("Supervisor PIN", PIN_ENV)?;
    let sup = pins.check(&pin, &format!("cli:{name}"));
    match sup {
        Ok(s) => Ok(s),
        Err(e) => {
            if let Ok(mut l) = Ledger::open(&paths.ledger(), "cli") {
                let _ = l.audit_note(
                    &operator(),
                    "supervisor.pin_refused",
                    "cli",
                    &serde_json::json!({ "name": name }),
                );
            }
            Err(e.into())
        }
    }
}

/// The ledger as a station command opens it.
fn open_ledger(paths: &Paths, config: &Config) -> Result<Ledger> {
    Ok(Ledger::open(&paths.ledger(), &config.station.id)?)
}

pub fn supervisor_cmd(paths: &Paths, config: &Config, cmd: &SupervisorCmd) -> Result<ExitCode> {
    match cmd {
        SupervisorCmd::SetPin => {
            let pins = PinStore::new(&paths.data_dir);
            // Make sure the data dir exists with its permissions (the ledger creates it).
            let mut ledger = open_ledger(paths, config)?;
            let actor = if pins.is_set() {
                let old = read_pin("Current supervisor PIN", PIN_ENV)?;
                pins.check(&old, "cli")?.actor().clone()
            } else {
                operator()
            };
            let new = read_pin("New supervisor PIN (4 to 12 digits)", NEW_PIN_ENV)?;
            pins.set(&new)?;
            ledger.audit_note(
                &actor,
                "supervisor.set_pin",
                &config.station.id,
                &serde_json::json!({}),
            )?;
            println!("supervisor PIN set");
            Ok(ExitCode::SUCCESS)
        }
    }
}

// ---- run --------------------------------------------------------------------------------------------

pub fn run(paths: &Paths, config: &Config, a: &RunArgs) -> Result<ExitCode> {
    let overrides = Overrides {
        box_capacity: a.box_capacity,
        ..a.devices.overrides()?
    };
    if !a.headless {
        #[cfg(feature = "ui")]
        {
            if let Some(e) = crate::ui::kms_missing() {
                return Err(e.into());
            }
            if !crate::ui::display_available() {
                bail!(
                    "no display (neither WAYLAND_DISPLAY nor DISPLAY is set, nor SLINT_BACKEND=linuxkms): start the station in its kiosk session (deploy/kiosk), or run `labelstation run --headless` (the scanner drives the line)"
                );
            }
        }
        #[cfg(not(feature = "ui"))]
        bail!(
            "this build has no touchscreen (feature `ui`): run `labelstation run --headless` (the scanner drives the line)"
        );
    }
    // Reports go to the registry in the background, whatever the link does.
    let SyncParts {
        sync,
        link,
        test_url,
        sim: _sim,
    } = start_sync(paths, config)?;
    // Metrics for the fleet, when configured (off by default, loopback unless told otherwise).
    let _metrics = match config.metrics.address().map_err(|e| anyhow!(e))? {
        Some(addr) => {
            let sync = sync.clone();
            let extra: crate::ops::metrics::Extra = Arc::new(move || {
                sync.lock()
                    .map(|s| {
                        let st = s.state();
                        vec![
                            (
                                "labelstation_registry_link_up".to_owned(),
                                f64::from(u8::from(matches!(
                                    st.link,
                                    crate::registry::sync::LinkState::Up
                                ))),
                            ),
                            ("labelstation_sync_backlog".to_owned(), st.backlog as f64),
                        ]
                    })
                    .unwrap_or_default()
            });
            Some(crate::ops::metrics::serve(addr, paths.ledger(), extra)?)
        }
        None => None,
    };
    #[cfg(feature = "ui")]
    if !a.headless {
        crate::ui::demo::run_station_ui(
            paths,
            config,
            &overrides,
            Some(link),
            Some(compose::registry_test(config, test_url)),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let _ = &test_url;
    let opened = open_station(paths, config, &overrides, operator(), None)?;
    say_recovery(&opened.recovery);
    let compose::Opened {
        station,
        lock: _lock,
        virtual_line: _vline,
        ..
    } = opened;
    let (engine, events) = Engine::spawn(station, a.gtin.clone(), Some(link));
    eprintln!(
        "station running headless: scan a box's barcode to print its label, then scan the sticker. Ctrl-C stops."
    );
    // Headless: each scan of a box's own barcode selects its product and prints one label; the engine
    // then waits for the scan of that sticker. Product events after a run (updated counts) print nothing.
    let mut box_scanned = false;
    for e in events {
        report_event(&e, false);
        match &e {
            Event::Verdict {
                verdict: crate::verdict::ScanVerdict::Retail { .. },
                ..
            } => box_scanned = true,
            Event::Product { product: Some(p) } if box_scanned => {
                box_scanned = false;
                eprintln!(
                    "product: {} {} ({} codes left)",
                    p.gtin, p.name, p.available
                );
                engine.send(Command::Start {
                    count: 1,
                    mode: Mode::Inline,
                });
            }
            Event::Notice { .. } => box_scanned = false,
            _ => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}

// ---- demo -------------------------------------------------------------------------------------------

/// Why the touchscreen cannot open here, if it cannot.
fn no_ui_here() -> Option<String> {
    #[cfg(feature = "ui")]
    {
        if let Some(e) = crate::ui::kms_missing() {
            return Some(e.to_string());
        }
        match crate::ui::display_available() {
            true => None,
            false => Some("no display (WAYLAND_DISPLAY and DISPLAY are unset)".into()),
        }
    }
    #[cfg(not(feature = "ui"))]
    {
        Some("this build has no touchscreen (it was built without the cargo feature `ui`)".into())
    }
}

/// Where the demo keeps its ledger.
enum DemoDir {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl DemoDir {
    fn path(&self) -> &Path {
        match self {
            DemoDir::Temp(t) => t.path(),
            DemoDir::Kept(p) => p,
        }
    }
}

pub fn demo(config: &Config, a: &DemoArgs) -> Result<ExitCode> {
    if !(0.0..=1.0).contains(&a.fault_rate) {
        bail!(
            "--fault-rate {}: give a share between 0 and 1",
            a.fault_rate
        );
    }
    if a.labels == 0 {
        bail!("--labels 0: nothing to do");
    }
    let no_ui = match a.headless {
        true => None,
        false => no_ui_here(),
    };
    let with_ui = !a.headless && no_ui.is_none();
    if let Some(why) = &no_ui {
        eprintln!("{why}: running the demo headless (as with --headless).");
    }
    let dir = match &a.keep {
        Some(p) => DemoDir::Kept(p.clone()),
        None => DemoDir::Temp(
            tempfile::Builder::new()
                .prefix("labelstation-demo-")
                .tempdir()
                .context("cannot create a temporary directory for the demo")?,
        ),
    };
    let paths = Paths {
        data_dir: dir.path().to_path_buf(),
        data_dir_origin: crate::config::Origin::Flag,
        config_file: dir.path().join("config.toml"),
        config_origin: crate::config::Origin::Flag,
    };
    let mut config = config.clone();
    config.printer.uri = "sim:".into();
    config.scanner.uri = "sim:".into();
    config.line.scan_timeout_secs = 3;
    config.registry.api = crate::config::RegistryApi::Sim;
    #[cfg(feature = "ui")]
    if with_ui {
        // Codes come from the built-in registry simulator, and confirmations go back to it in the
        // background, so the status strip shows a live link and its backlog.
        crate::ui::demo::seed_demo(&paths, &config)?;
        let SyncParts {
            sync: _sync,
            link,
            test_url,
            sim: _sim,
        } = start_sync(&paths, &config)?;
        crate::ui::demo::run_demo_ui(
            &paths,
            &config,
            Some(link),
            Some(compose::registry_test(&config, test_url)),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let _ = with_ui;
    let options = crate::compose::demo::DemoOptions {
        labels: a.labels,
        fault_rate: a.fault_rate,
        seed: a.seed,
    };
    let report = crate::compose::demo::run(&paths, &config, &options, &mut std::io::stderr())?;
    println!("{}", report.summary_line());
    if a.keep.is_some() {
        println!("the demo's ledger is in {}", dir.path().display());
    }
    Ok(if report.adds_up() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
