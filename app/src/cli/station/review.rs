// SPDX-License-Identifier: GPL-3.0-or-later
//! `labelstation review`: the supervisor's queue (rejected and unknown codes, roll stickers waiting for
//! their scan, second-sticker alerts, what waits on the registry) and the actions on one code. Each
//! action opens the ledger, signs the supervisor in and takes its claim one way ([`Supervised`]).

use super::*;

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
fn attempts_line(prints: &[crate::ledger::review::PrintEvent], verified_at: Option<i64>) -> String {
    use crate::ledger::review::PrintStep;
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
            crate::ledger::format_ms(at)
        ));
    }
    line
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
                    crate::ledger::format_ms(r.at_ms),
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
                        crate::ledger::format_ms(r.at_ms),
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
            let id = crate::ledger::stickers::StickerAlertId(id);
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
                    crate::ledger::format_ms(e.at_ms),
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
                    crate::ledger::format_ms(p.at_ms),
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
            let state = |r: &crate::ledger::reports::ReportBatch| -> &'static str {
                use crate::ledger::reports::ReportStatus;
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
                    if h.kind == crate::ledger::reports::ReportKind::WriteOff {
                        "write-off"
                    } else {
                        "application"
                    },
                    crate::ledger::format_ms(h.held_ms),
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
                report.map(crate::ledger::reports::ReportId)
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
                crate::ledger::reports::ReportId(*report),
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
                        at = crate::ledger::format_ms(at)
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
fn print_sticker_alerts(alerts: &[crate::ledger::stickers::StickerAlert]) {
    if alerts.is_empty() {
        return;
    }
    println!("second stickers: applied codes scanned again from what may be another sticker");
    for a in alerts {
        println!(
            "!{:<5} {}  {}: {}",
            a.id.0,
            crate::ledger::format_ms(a.at_ms),
            a.masked,
            a.instruction()
        );
    }
    println!(
        "{} alert(s). When done: `labelstation review close-sticker !N --found \"what was found\"`",
        alerts.len()
    );
}
