// SPDX-License-Identifier: GPL-3.0-or-later
//! The station's own commands: `print`, `review`, `supervisor`, `status`, `run` and `demo`. Thin shells over
//! [`crate::engine`]; `cli.rs` parses and dispatches.

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
use crate::store::{Actor, CodeId, Ledger, NextStart, StationLock, StoreError};

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
    #[command(flatten)]
    pub devices: Devices,
    /// Events as JSON lines on stdout, and the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReviewCmd {
    /// Codes waiting for a supervisor (rejected labels, codes recovery could not settle, codes the
    /// registry refused) with their print attempts, printed stickers of finished rolls that still
    /// wait for a scan, and open second-sticker alerts.
    List {
        /// One JSON object: `review`, `roll_waiting` and `second_stickers`, each a list.
        #[arg(long)]
        json: bool,
    },
    /// Print a code again (only if its earlier sticker was NOT applied), then verify the new sticker.
    /// Refused for a code that was verified: its sticker is on an item (see `send-again`).
    Reprint {
        /// The code: its number from `review list` (e.g. 17 or #17), or (01)GTIN(21)SERIAL.
        code: String,
        /// Why, for the audit log.
        #[arg(long, default_value = "reprint after review")]
        reason: String,
        #[command(flatten)]
        devices: Devices,
        /// Supervisor name for the audit log (default: $USER).
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
    },
    /// Withdraw a spoiled code; the write-off is queued for the registry.
    WriteOff {
        code: String,
        /// Why (e.g. "torn sticker"); recorded and sent.
        #[arg(long)]
        reason: String,
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
    },
    /// Confirm a reviewed code as applied after scanning its sticker by hand.
    Confirm {
        code: String,
        /// Seconds to wait for the scan.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        #[command(flatten)]
        devices: Devices,
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
    },
    /// A verified code the registry refused, after the cause was fixed: verified again and its
    /// application queued to be sent with the next report. Prints nothing.
    SendAgain {
        code: String,
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
    },
    /// A printed sticker of a finished batch or no-verify run that cannot be found: the code goes to
    /// review (then write it off, or confirm it if the sticker turns up on an item).
    StickerMissing {
        code: String,
        /// What was looked for and where, for the audit log.
        #[arg(long, value_name = "NOTE", default_value = "")]
        note: String,
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
    },
    /// The history of one code: every move, who made it, and why; and its print attempts.
    Show { code: String },
    /// Close a second-sticker alert (`!N` in `review list`) with what was found.
    CloseSticker {
        /// The alert number from `review list` (e.g. 3 or !3).
        alert: String,
        /// What was found, for the audit log (e.g. "second sticker found on the bench, destroyed", or
        /// "only the sticker on the pair: the same one scanned again").
        #[arg(long, value_name = "NOTE")]
        found: String,
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
    },
    /// What waits on the registry: reports it refused as a whole (held until sent again), reports whose
    /// outcome is unknown, and write-offs it refused or cannot take (oms-v2).
    Registry {
        #[arg(long)]
        json: bool,
    },
    /// Send again a report the registry refused as a whole (held), once the cause is fixed (balance,
    /// business place, account): REPORT from `review registry`, or `--all`.
    Resend {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        report: Option<i64>,
        #[arg(long)]
        all: bool,
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
    },
    /// A refused write-off: `--retry` queues it again (after fixing the cause), `--done` records that it
    /// was withdrawn in the registry's web cabinet.
    WriteOffFix {
        code: String,
        #[arg(long, conflicts_with = "done", required_unless_present = "done")]
        retry: bool,
        /// What was done, for the audit log (e.g. "withdrawn in the cabinet, doc 123").
        #[arg(long, value_name = "NOTE")]
        done: Option<String>,
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
    },
    /// A report whose answer was lost, settled from the registry's web cabinet: `--applied` if its codes
    /// show as applied there, `--not-applied` to queue them again.
    Settle {
        /// The report number from `review registry`.
        report: i64,
        #[arg(
            long,
            conflicts_with = "not_applied",
            required_unless_present = "not_applied"
        )]
        applied: bool,
        #[arg(long)]
        not_applied: bool,
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
    },
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

fn say_recovery(r: &crate::store::RecoveryReport) {
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
        Event::Notice { message, .. } => eprintln!("{message}"),
        _ => {}
    }
}

// ---- review -----------------------------------------------------------------------------------------

/// Find a code from what a supervisor typed: `17`, `#17`, `(01)…(21)…` as `review list` shows it, or
/// `01…21…`.
pub fn resolve_code(ledger: &Ledger, text: &str) -> Result<CodeId> {
    let t = text.trim();
    let digits = t.strip_prefix('#').unwrap_or(t);
    if !digits.is_empty() && digits.len() < 12 && digits.bytes().all(|b| b.is_ascii_digit()) {
        let id = CodeId(digits.parse()?);
        ledger.code(id)?;
        return Ok(id);
    }
    let ident: String = t
        .split("(91)")
        .next()
        .unwrap_or(t)
        .split("(93)")
        .next()
        .unwrap_or(t)
        .chars()
        .filter(|c| *c != '(' && *c != ')')
        .collect();
    let id = ledger.find_code_text(&ident, t)?;
    id.ok_or_else(|| {
        anyhow!("no code {t:?} in the ledger: give its number from `labelstation review list` (e.g. 17) or (01)GTIN(21)SERIAL")
    })
}

/// A code's print attempts in one line: how many labels went to a printer and what became of them.
fn attempts_line(prints: &[crate::store::review::PrintEvent], verified_at: Option<i64>) -> String {
    use crate::store::review::PrintStep;
    let n = |step| prints.iter().filter(|p| p.step == step).count();
    let mut line = format!(
        "sent to a printer {} time(s): {} printed, {} rejected, {} interrupted",
        n(PrintStep::Sent),
        n(PrintStep::Printed),
        n(PrintStep::Rejected),
        n(PrintStep::Interrupted)
    );
    if n(PrintStep::Missing) > 0 {
        line.push_str(", reported missing");
    }
    if n(PrintStep::Sent) > 0 {
        line.push_str(": a sticker may exist");
    }
    if let Some(at) = verified_at {
        line.push_str(&format!(
            "; VERIFIED ONCE at {}: never reprinted",
            crate::store::format_ms(at)
        ));
    }
    line
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

/// The sync claim, for a supervisor's change to what the sync works on: waits a few seconds for a pass
/// to finish, then says what holds it.
fn sync_claim(paths: &Paths) -> Result<StationLock> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match StationLock::acquire_sync(&paths.data_dir) {
            Ok(l) => return Ok(l),
            Err(StoreError::Busy { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(StoreError::Busy { .. }) => bail!(
                "a sync pass is sending or settling reports right now (the running station's background sync, or `labelstation sync`): try again in a minute"
            ),
            Err(e) => return Err(e.into()),
        }
    }
}

/// The ledger as a station command opens it.
fn open_ledger(paths: &Paths, config: &Config) -> Result<Ledger> {
    Ok(Ledger::open(&paths.ledger(), &config.station.id)?)
}

/// The claim a supervisor's review action takes.
enum Claim {
    None,
    /// The sync's: the action changes what the sync works on.
    Sync,
    /// The station's: the action moves a code the line could hold.
    Station,
}

/// What a supervisor's review action opens: the supervisor signed in first, then the claim the action
/// needs (held while this lives), then the ledger.
struct Supervised {
    sup: Supervisor,
    ledger: Ledger,
    _claim: Option<StationLock>,
}

impl Supervised {
    fn open(paths: &Paths, config: &Config, name: Option<&str>, claim: Claim) -> Result<Self> {
        let sup = supervisor(paths, name)?;
        let claim = match claim {
            Claim::None => None,
            Claim::Sync => Some(sync_claim(paths)?),
            Claim::Station => Some(StationLock::acquire(&paths.data_dir)?),
        };
        Ok(Supervised {
            sup,
            ledger: open_ledger(paths, config)?,
            _claim: claim,
        })
    }
}

/// The station opened at the line for a supervisor's action on a sticker (reprint, confirm), its events
/// printed as they come.
fn at_the_line(paths: &Paths, config: &Config, devices: &Devices) -> Result<compose::Opened> {
    open_station(
        paths,
        config,
        &devices.overrides()?,
        operator(),
        Some(Arc::new(|e| report_event(&e, false))),
    )
}

pub fn review(paths: &Paths, config: &Config, cmd: &ReviewCmd) -> Result<ExitCode> {
    match cmd {
        ReviewCmd::List { json } => {
            let ledger = open_ledger(paths, config)?;
            let queue = ledger.review_queue(10_000)?;
            let on_rolls = ledger.roll_waiting(10_000)?;
            let alerts = ledger.open_sticker_alerts()?;
            if *json {
                // Everything the text lists: the review queue, the roll stickers waiting for a scan,
                // the open second-sticker alerts.
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "review": queue,
                        "roll_waiting": on_rolls,
                        "second_stickers": alerts,
                    }))?
                );
                return Ok(ExitCode::SUCCESS);
            }
            if queue.is_empty() && alerts.is_empty() {
                println!("nothing to review");
            }
            for r in &queue {
                println!(
                    "#{:<6} {:<12} {}  {}  by {}: {}",
                    r.id.0,
                    r.state.as_str(),
                    crate::store::format_ms(r.at_ms),
                    r.masked,
                    r.actor,
                    r.reason.as_deref().unwrap_or("-")
                );
                println!("        {}", attempts_line(&r.prints, r.verified_at_ms));
            }
            if !queue.is_empty() {
                println!(
                    "{} code(s). Actions: reprint (sticker not applied), write-off (spoiled), confirm (applied: scan it); for a VERIFIED ONCE code: send-again (the registry refused it and the cause is fixed) or write-off",
                    queue.len()
                );
            }
            if !on_rolls.is_empty() {
                println!(
                    "{} printed sticker(s) of finished batch/no-verify runs still wait for their scan:",
                    on_rolls.len()
                );
                for r in &on_rolls {
                    println!(
                        "#{:<6} PRINTED      {}  {}",
                        r.id.0,
                        crate::store::format_ms(r.at_ms),
                        r.masked
                    );
                }
                println!(
                    "scan each when applied; one whose sticker cannot be found: `labelstation review sticker-missing CODE`"
                );
            }
            print_sticker_alerts(&alerts);
            Ok(ExitCode::SUCCESS)
        }
        ReviewCmd::CloseSticker { alert, found, name } => {
            let mut s = Supervised::open(paths, config, name.as_deref(), Claim::None)?;
            let id = alert
                .trim()
                .trim_start_matches('!')
                .parse::<i64>()
                .map_err(|_| {
                    anyhow::anyhow!("{alert:?} is not an alert number: use the !N that `labelstation review list` shows")
                })?;
            let id = crate::store::stickers::StickerAlertId(id);
            s.ledger.close_sticker_alert(id, found, s.sup.actor())?;
            println!("!{}: closed", id.0);
            Ok(ExitCode::SUCCESS)
        }
        ReviewCmd::Show { code } => {
            let ledger = open_ledger(paths, config)?;
            let id = resolve_code(&ledger, code)?;
            let rec = ledger.code(id)?;
            println!("#{} {} {}", id.0, rec.code.masked(), rec.state.as_str());
            for e in ledger.events(id)? {
                println!(
                    "  {}  {:<16} {:>12} -> {:<12} {}{}",
                    crate::store::format_ms(e.at_ms),
                    e.mv,
                    e.from.map(|s| s.as_str()).unwrap_or("-"),
                    e.to.as_str(),
                    e.actor,
                    e.reason.map(|r| format!(": {r}")).unwrap_or_default()
                );
            }
            let prints = ledger.print_history(id)?;
            println!(
                "print attempts: {}",
                attempts_line(&prints, rec.verified_at_ms)
            );
            for p in &prints {
                println!(
                    "  {}  {:<12} job #{}",
                    crate::store::format_ms(p.at_ms),
                    p.step.as_str(),
                    p.job.map(|j| j.to_string()).unwrap_or_else(|| "-".into())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ReviewCmd::SendAgain { code, name } => {
            let mut s = Supervised::open(paths, config, name.as_deref(), Claim::None)?;
            let id = resolve_code(&s.ledger, code)?;
            match s.ledger.send_again(id, s.sup.actor()) {
                Ok(()) => {}
                Err(StoreError::IllegalMove { .. })
                    if s.ledger.code(id)?.verified_at_ms.is_none() =>
                {
                    bail!(
                        "#{n} was never verified, so there is no application to send again. If its sticker is on an item, `labelstation review confirm {n}` (scan it); if not, `labelstation review reprint {n}` or `labelstation review write-off {n} --reason ...`",
                        n = id.0
                    );
                }
                Err(e) => return Err(e.into()),
            }
            println!(
                "#{}: verified again; its application report is queued and goes with the next report (`labelstation sync`, or the running station's background sync)",
                id.0
            );
            Ok(ExitCode::SUCCESS)
        }
        ReviewCmd::StickerMissing { code, note, name } => {
            let mut s = Supervised::open(paths, config, name.as_deref(), Claim::None)?;
            let id = resolve_code(&s.ledger, code)?;
            s.ledger.sticker_missing(id, note, s.sup.actor())?;
            println!(
                "#{n}: in review. Write it off (`labelstation review write-off {n} --reason \"sticker lost\"`), or confirm it if the sticker turns up on an item (`labelstation review confirm {n}`)",
                n = id.0
            );
            Ok(ExitCode::SUCCESS)
        }
        ReviewCmd::Registry { json } => {
            let ledger = open_ledger(paths, config)?;
            let problems = ledger.write_off_problems(10_000)?;
            let held = ledger.held_reports()?;
            let open = ledger.open_reports()?;
            // A SENDING report with no outcome recorded is being sent right now if a sync holds the
            // claim; otherwise a sync stopped while sending it, and the next one settles it.
            let sync_running = matches!(
                StationLock::acquire_sync(&paths.data_dir),
                Err(StoreError::Busy { .. })
            );
            let state = |r: &crate::store::reports::ReportBatch| -> &'static str {
                use crate::store::reports::ReportStatus;
                match (r.status, r.lost_ms) {
                    (ReportStatus::Sending, None) if sync_running => "being sent",
                    (ReportStatus::Sending, None) => "interrupted",
                    (ReportStatus::Sending, Some(_)) => "unknown",
                    _ => "processing",
                }
            };
            if *json {
                let reports: Vec<_> = open
                    .iter()
                    .map(|r| serde_json::json!({ "report": r.id.0, "kind": r.kind.as_str(), "api": r.api, "codes": r.codes.len(), "state": state(r), "note": r.reason }))
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({ "held_reports": held, "open_reports": reports, "write_offs": problems })
                    )?
                );
                return Ok(ExitCode::SUCCESS);
            }
            if problems.is_empty() && held.is_empty() && open.is_empty() {
                println!("nothing waits on the registry");
            }
            for h in &held {
                println!(
                    "report #{} ({} code(s), {}): REFUSED AS A WHOLE by the registry since {}: {}",
                    h.id.0,
                    h.codes,
                    if h.kind == crate::store::reports::ReportKind::WriteOff {
                        "write-off"
                    } else {
                        "application"
                    },
                    crate::store::format_ms(h.held_ms),
                    h.reason
                );
            }
            if !held.is_empty() {
                println!(
                    "no code of these went to review, and no more reports of their kind are sent until one is sent again. Fix the cause the registry gives (balance, business place, account), then `labelstation review resend REPORT` or `labelstation review resend --all`"
                );
            }
            for r in &open {
                let what = match state(r) {
                    "being sent" => "being sent right now".to_owned(),
                    "interrupted" => "a sync stopped while sending it; the next sync settles it from the registry's evidence".to_owned(),
                    "unknown" => format!(
                        "outcome unknown ({}); settled from the registry's evidence, never sent again blindly",
                        r.reason.as_deref().unwrap_or("its answer was lost")
                    ),
                    _ => format!(
                        "sent, being processed by the registry{}",
                        r.reason.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
                    ),
                };
                println!(
                    "report #{} ({} code(s), to {}): {what}",
                    r.id.0,
                    r.codes.len(),
                    r.api
                );
            }
            if open
                .iter()
                .any(|r| r.api == crate::registry::oms_client::API && state(r) != "being sent")
            {
                println!(
                    "oms-v2 cannot be asked about codes: check each report in the registry's web cabinet, then `labelstation review settle REPORT --applied` or `--not-applied`"
                );
            }
            for p in &problems {
                println!(
                    "write-off of #{} {}: {}",
                    p.code.0,
                    p.ident,
                    p.error.as_deref().unwrap_or("refused")
                );
            }
            if !problems.is_empty() {
                println!(
                    "settle each: `labelstation review write-off-fix CODE --retry` or `--done \"what was done\"`"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ReviewCmd::Resend { report, all, name } => {
            let mut s = Supervised::open(paths, config, name.as_deref(), Claim::Sync)?;
            let which = if *all {
                None
            } else {
                report.map(crate::store::reports::ReportId)
            };
            let n = s.ledger.resend_held(which, s.sup.actor())?;
            if n == 0 && which.is_none() {
                println!("no report is held");
            } else {
                println!(
                    "{n} code(s) queued to be sent again; the next sync sends them (the station's background sync, or `labelstation sync --once`)"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ReviewCmd::WriteOffFix {
            code,
            retry,
            done,
            name,
        } => {
            let mut s = Supervised::open(paths, config, name.as_deref(), Claim::Sync)?;
            let id = resolve_code(&s.ledger, code)?;
            if *retry {
                s.ledger.write_off_requeue(id, s.sup.actor())?;
                println!("#{}: write-off queued again", id.0);
            } else if let Some(note) = done {
                s.ledger.write_off_done(id, note, s.sup.actor())?;
                println!("#{}: write-off recorded as done in the registry", id.0);
            }
            Ok(ExitCode::SUCCESS)
        }
        ReviewCmd::Settle {
            report,
            applied,
            name,
            ..
        } => {
            let mut s = Supervised::open(paths, config, name.as_deref(), Claim::Sync)?;
            s.ledger.settle_report(
                crate::store::reports::ReportId(*report),
                *applied,
                s.sup.actor(),
            )?;
            println!(
                "report #{report}: settled as {}",
                if *applied {
                    "applied in the registry"
                } else {
                    "not applied; its codes are queued again"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        ReviewCmd::WriteOff { code, reason, name } => {
            let mut s = Supervised::open(paths, config, name.as_deref(), Claim::Station)?;
            let id = resolve_code(&s.ledger, code)?;
            if reason.trim().is_empty() {
                bail!("--reason is empty: say why the code is written off");
            }
            s.ledger.write_off(id, reason.trim(), s.sup.actor())?;
            println!(
                "#{} written off; the write-off is queued for the registry",
                id.0
            );
            Ok(ExitCode::SUCCESS)
        }
        ReviewCmd::Reprint {
            code,
            reason,
            devices,
            name,
        } => {
            {
                let ledger = open_ledger(paths, config)?;
                let id = resolve_code(&ledger, code)?;
                if let Some(at) = ledger.code(id)?.verified_at_ms {
                    bail!(
                        "#{n} is not reprinted: it was verified at {at}, so its sticker is on an item, and a second sticker of one code must never exist. If the registry refused it, fix the cause, then `labelstation review send-again {n}`; if the item is gone or the sticker spoiled, `labelstation review write-off {n} --reason ...`",
                        n = id.0,
                        at = crate::store::format_ms(at)
                    );
                }
            }
            let sup = supervisor(paths, name.as_deref())?;
            let mut opened = at_the_line(paths, config, devices)?;
            let id = resolve_code(opened.station.ledger(), code)?;
            let s = opened.station.reprint(&sup, id, reason, true)?;
            println!(
                "#{}: reprinted ({} printed, {} verified, {} rejected)",
                id.0, s.printed, s.verified, s.rejected
            );
            Ok(if s.rejected > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        ReviewCmd::Confirm {
            code,
            timeout,
            devices,
            name,
        } => {
            let sup = supervisor(paths, name.as_deref())?;
            let mut opened = at_the_line(paths, config, devices)?;
            let id = resolve_code(opened.station.ledger(), code)?;
            eprintln!("scan the sticker of #{} now", id.0);
            if opened
                .station
                .confirm_applied(&sup, id, Duration::from_secs(*timeout))?
            {
                println!("#{}: confirmed as applied", id.0);
                Ok(ExitCode::SUCCESS)
            } else {
                println!("#{}: not confirmed (no matching scan)", id.0);
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

/// Open second-sticker alerts, after the review queue (`review list`).
fn print_sticker_alerts(alerts: &[crate::store::stickers::StickerAlert]) {
    if alerts.is_empty() {
        return;
    }
    println!("second stickers: applied codes scanned again from what may be another sticker");
    for a in alerts {
        println!(
            "!{:<5} {}  {}: {}",
            a.id.0,
            crate::store::format_ms(a.at_ms),
            a.masked,
            a.instruction()
        );
    }
    println!(
        "{} alert(s). When done: `labelstation review close-sticker !N --found \"what was found\"`",
        alerts.len()
    );
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

// ---- status -----------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct Status {
    station: String,
    /// Whether a station process holds this data dir now.
    running: bool,
    products: Vec<ProductStatus>,
    review_waiting: usize,
    /// Printed stickers of finished batch/no-verify runs that no scan has confirmed yet.
    roll_waiting: u64,
    /// Codes a run left in flight when it was interrupted (killed, power cut), and what the next start
    /// does with each; `null` while a station runs (then codes in flight are its live work).
    interrupted: Option<Interrupted>,
    backlog: crate::store::reports::Backlog,
    sync: crate::store::reports::SyncStatus,
    alarms: Vec<String>,
}

/// What a stopped station's last run left in flight. `status` only reports it: recovery is the next
/// start's job, so a look at a stopped station leaves the ledger as the stop left it.
#[derive(Debug, Default, Serialize)]
struct Interrupted {
    /// Codes that go to review at the next start (their stickers may exist).
    to_review: u64,
    /// Codes never sent to a printer, back to the pool at the next start.
    to_pool: u64,
    codes: Vec<crate::store::InFlight>,
}

impl Interrupted {
    fn of(&self, gtin: &str) -> (u64, u64) {
        let count = |n: NextStart| {
            self.codes
                .iter()
                .filter(|c| c.gtin == gtin && c.next_start == n)
                .count() as u64
        };
        (count(NextStart::ToReview), count(NextStart::ToPool))
    }
}

#[derive(Debug, Serialize)]
struct ProductStatus {
    gtin: String,
    name: Option<String>,
    states: std::collections::BTreeMap<&'static str, u64>,
    /// AVAILABLE codes held after a ledger restore (not printed until checked or released).
    held: u64,
    low: bool,
    expiring_soon: u64,
}

pub fn status(paths: &Paths, config: &Config, json: bool) -> Result<ExitCode> {
    let running = match StationLock::acquire(&paths.data_dir) {
        Ok(_lock) => false,
        Err(StoreError::Busy { .. }) => true,
        Err(e) => return Err(e.into()),
    };
    let ledger = open_ledger(paths, config)?;
    // With no station running, codes in flight are what an interrupted run left: say what the next start
    // does with them (batch and no-verify stickers waiting on their roll are not interrupted work).
    let interrupted = match running {
        true => None,
        false => {
            let codes: Vec<_> = ledger
                .pending_recovery()?
                .into_iter()
                .filter(|c| c.next_start != NextStart::WaitsForScan)
                .collect();
            let count = |n| codes.iter().filter(|c| c.next_start == n).count() as u64;
            Some(Interrupted {
                to_review: count(NextStart::ToReview),
                to_pool: count(NextStart::ToPool),
                codes,
            })
        }
    };
    let horizon = crate::store::now_ms()
        + i64::try_from(config.line.expiry_warning_days)
            .unwrap_or(0)
            .saturating_mul(86_400_000);
    let levels = ledger.pool_levels(horizon)?;
    let held = ledger.held_products()?;
    let mut alarms = Vec::new();
    let products: Vec<ProductStatus> = ledger
        .balance()?
        .into_iter()
        .map(|b| {
            let (available, expiring) = levels
                .iter()
                .find(|l| l.0 == b.gtin)
                .map(|l| (l.1, l.2))
                .unwrap_or((0, 0));
            let low = available < config.line.low_pool_threshold;
            if low {
                alarms.push(format!(
                    "GTIN {}: only {available} code(s) left (threshold {}): pull more",
                    b.gtin, config.line.low_pool_threshold
                ));
            }
            if expiring > 0 {
                alarms.push(format!(
                    "GTIN {}: {expiring} code(s) expire within {} days: use them first or write them off",
                    b.gtin, config.line.expiry_warning_days
                ));
            }
            let held = held
                .iter()
                .find(|h| h.gtin == b.gtin)
                .map_or(0, |h| h.held);
            if held > 0 {
                alarms.push(format!(
                    "GTIN {}: {held} code(s) held after a ledger restore: they are not printed until checked against the registry or released by a supervisor (`labelstation codes held`)",
                    b.gtin
                ));
            }
            ProductStatus {
                gtin: b.gtin,
                name: b.name,
                states: b.states,
                held,
                low,
                expiring_soon: expiring,
            }
        })
        .collect();
    for o in ledger.unfinished_orders()? {
        if let Some(e) = &o.last_error {
            alarms.push(format!(
                "order #{} for GTIN {} cannot be finished ({e}): `labelstation codes orders`",
                o.id.0, o.gtin
            ));
        }
    }
    let review_waiting = usize::try_from(ledger.review_len()?).unwrap_or(usize::MAX);
    if review_waiting > 0 {
        alarms.push(format!(
            "{review_waiting} code(s) wait for a supervisor: `labelstation review list`"
        ));
    }
    let roll_waiting = ledger.roll_waiting_count()?;
    if roll_waiting > 0 {
        alarms.push(format!(
            "{roll_waiting} printed sticker(s) of finished batch/no-verify runs still wait for their scan: scan them when applied; `labelstation review list` shows them, `labelstation review sticker-missing CODE` sends one that cannot be found to review"
        ));
    }
    if let Some(i) = interrupted.as_ref().filter(|i| !i.codes.is_empty()) {
        alarms.push(format!(
            "the last run was interrupted (the station stopped mid-label): at the next start {} code(s) go to review and {} never-sent code(s) back to the pool; start the station, then `labelstation review list`",
            i.to_review, i.to_pool
        ));
    }
    let s = Status {
        station: config.station.id.clone(),
        running,
        products,
        review_waiting,
        roll_waiting,
        interrupted,
        backlog: ledger.backlog()?,
        sync: ledger.sync_status()?,
        alarms,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        println!(
            "station {}: {}",
            s.station,
            if s.running { "running" } else { "not running" }
        );
        for p in &s.products {
            let st = |k: &str| p.states.get(k).copied().unwrap_or(0);
            // A stopped station's codes in flight are not "printed (waiting for scan)": they are the
            // interrupted run's, said apart. A running station's are its live work.
            let (to_review, to_pool) = s.interrupted.as_ref().map_or((0, 0), |i| i.of(&p.gtin));
            let in_flight = st("RESERVED") + st("SENT") + st("PRINTED");
            let being_printed = match s.running {
                true => st("RESERVED") + st("SENT"),
                false => 0,
            };
            let printed_waiting = in_flight.saturating_sub(to_review + to_pool + being_printed);
            let mut line = format!(
                "  {} {}: {} available{}, {} printed (waiting for scan), {} verified, {} reported, {} to review, {} written off",
                p.gtin,
                p.name.as_deref().unwrap_or(""),
                st("AVAILABLE"),
                if p.held > 0 {
                    format!(" ({} held after a restore)", p.held)
                } else {
                    String::new()
                },
                printed_waiting,
                st("VERIFIED"),
                st("REPORTED"),
                st("REJECTED") + st("NEEDS_REVIEW"),
                st("WRITTEN_OFF")
            );
            if to_review + to_pool > 0 {
                line.push_str(&format!(
                    "; interrupted run: {to_review} go to review and {to_pool} back to the pool at the next start"
                ));
            } else if being_printed > 0 {
                line.push_str(&format!("; {being_printed} being printed"));
            }
            println!("{line}");
        }
        println!(
            "  registry backlog: {} application(s), {} write-off(s) queued, {} report(s) awaiting an answer",
            s.backlog.utilisation_queued, s.backlog.write_off_queued, s.backlog.reports_open
        );
        let when = |ms: Option<i64>| {
            ms.map(crate::store::format_ms)
                .unwrap_or_else(|| "never".into())
        };
        println!(
            "  registry link: {} (last success {}){}",
            s.sync.link.to_lowercase(),
            when(s.sync.last_success_ms),
            s.sync
                .last_error
                .as_deref()
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default()
        );
        for a in &s.alarms {
            println!("  ! {a}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

// ---- run --------------------------------------------------------------------------------------------

pub fn run(paths: &Paths, config: &Config, a: &RunArgs) -> Result<ExitCode> {
    let overrides = a.devices.overrides()?;
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
    let options = crate::engine::demo::DemoOptions {
        labels: a.labels,
        fault_rate: a.fault_rate,
        seed: a.seed,
    };
    let report = crate::engine::demo::run(&paths, &config, &options, &mut std::io::stderr())?;
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
