// SPDX-License-Identifier: GPL-3.0-or-later
//! The operations commands of the `labelstation` command line: doctor, backup, restore, export, metrics.
//! `cli.rs` holds one variant and one dispatch arm per command; the arguments are here, the work in
//! `crate::ops` (no clap there).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use crate::config::{Config, Paths};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the findings as JSON: {"healthy": bool, "findings": [{check, severity, what, remedy}]}.
    #[arg(long)]
    pub json: bool,
    /// Check this printer address instead of the configured one (e.g. tcp://10.0.0.5:9100;
    /// `file://out.zpl` is `out.zpl` in the current directory, as for `print --printer`).
    #[arg(long, value_name = "URI")]
    pub printer: Option<String>,
    /// Check this scanner address instead of the configured one (e.g. serial:///dev/scanner-0).
    #[arg(long, value_name = "URI")]
    pub scanner: Option<String>,
    /// Seconds the registry may take to answer.
    #[arg(long, default_value_t = 5)]
    pub registry_timeout: u64,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Directory for the backup (default: [backup] dir, else backups/ in the data dir). Created 0700.
    #[arg(long, value_name = "DIR")]
    pub to: Option<PathBuf>,
    /// Only if the newest backup is older than [backup] interval_hours (for the hourly timer).
    #[arg(long)]
    pub if_due: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file (ledger-<station>-<time>.sqlite3).
    pub from: PathBuf,
    /// Restore even though the current ledger has code moves the backup lacks, or is missing or
    /// unreadable (so it cannot say which codes were used since the backup).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum ExportCmd {
    /// Every code with its state, as CSV. Codes are masked unless --full.
    Ledger {
        #[arg(long, value_name = "FILE.csv")]
        out: PathBuf,
        /// Complete codes, crypto tails included (GS written as <GS>). Keep such a file private.
        #[arg(long)]
        full: bool,
    },
    /// Per product: codes printed, verified, rejected and written off in a time window, as CSV.
    Shift {
        /// Start (inclusive): 2026-11-24, 2026-11-24T08:00 or 2026-11-24T08:00+05:00 (no offset: UTC).
        #[arg(long, value_name = "TIME")]
        from: String,
        /// End (exclusive); default now.
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        #[arg(long, value_name = "FILE.csv")]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Address to serve on (default: [metrics] listen, else 127.0.0.1:9464).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
}

pub fn doctor(paths: &Paths, a: &DoctorArgs) -> Result<ExitCode> {
    let opts = crate::ops::doctor::Options {
        printer: a
            .printer
            .as_deref()
            .map(crate::cli::station::printer_from_flag)
            .transpose()?,
        scanner: a.scanner.clone(),
        registry_timeout: Duration::from_secs(a.registry_timeout.max(1)),
        ..crate::ops::doctor::Options::default()
    };
    let report = crate::ops::doctor::run(paths, &opts);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(if report.healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub fn backup(paths: &Paths, config: &Config, a: &BackupArgs) -> Result<ExitCode> {
    let dir =
        a.to.clone()
            .unwrap_or_else(|| config.backup.dir_for(&paths.data_dir));
    let station = &config.station.id;
    if a.if_due {
        let interval = Duration::from_secs(u64::from(config.backup.interval_hours) * 3600);
        if !crate::ops::backup::due(&dir, station, interval) {
            println!(
                "no backup due: the newest in {} is younger than {} h",
                dir.display(),
                config.backup.interval_hours
            );
            return Ok(ExitCode::SUCCESS);
        }
    }
    let r = crate::ops::backup::backup(&paths.ledger(), &dir, station, config.backup.keep)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "backup {} written and verified: {} codes, {} code moves, {} audit entries, {} KiB",
            r.file.display(),
            r.codes,
            r.events,
            r.audit_entries,
            r.bytes / 1024
        );
        for p in &r.pruned {
            println!("deleted old backup {}", p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn restore(paths: &Paths, a: &RestoreArgs, actor: &crate::ledger::Actor) -> Result<ExitCode> {
    let r = crate::ops::backup::restore(&paths.data_dir, &a.from, a.force, actor)?;
    println!(
        "restored {} as {} ({} codes)",
        r.restored_from.display(),
        r.ledger.display(),
        r.codes
    );
    for p in &r.set_aside {
        println!("the replaced ledger is kept as {}", p.display());
    }
    if let Some(why) = &r.current_unreadable {
        println!(
            "WARNING: the replaced ledger {why}: codes printed since the backup cannot be told from unused ones."
        );
    }
    if r.undone_moves > 0 {
        println!(
            "WARNING: {} code move(s) recorded after this backup are not in the restored ledger.",
            r.undone_moves
        );
    }
    if r.holds.used > 0 {
        println!(
            "{} code(s) the replaced ledger shows used since the backup wait in review (`labelstation review list`): confirm each by scanning its sticker, or write it off; never print them again.",
            r.holds.used
        );
    }
    if r.holds.not_in_backup > 0 {
        println!(
            "WARNING: the replaced ledger holds {} code(s) the backup lacks (pulled or imported after it); they are not in the restored ledger. Keep the replaced ledger: it is their only record here.",
            r.holds.not_in_backup
        );
    }
    println!(
        "{} AVAILABLE code(s) are held: a station may have printed them after the backup, and none is printed until it is cleared. \
         `labelstation codes held` lists them; `labelstation codes held check` asks the registry; a supervisor releases the rest with `labelstation codes held release` after checking the replaced ledger and the stickers (README: Restore).",
        r.holds.held
    );
    println!(
        "Run `labelstation doctor`, then start the station: start-up recovery moves codes left in flight to NEEDS_REVIEW."
    );
    Ok(ExitCode::SUCCESS)
}

pub fn export(paths: &Paths, config: &Config, cmd: &ExportCmd) -> Result<ExitCode> {
    let ledger = crate::ledger::Ledger::open(&paths.ledger(), &config.station.id)?;
    match cmd {
        ExportCmd::Ledger { out, full } => {
            if *full {
                eprintln!(
                    "warning: {} will hold complete codes with their crypto tails: anyone with the file can print valid stickers. \
                     It is created 0600; keep it off shared drives and delete it when done.",
                    out.display()
                );
            }
            let n = crate::ops::export::ledger_csv(&ledger, out, *full)?;
            println!(
                "wrote {} code(s) to {}{}",
                n,
                out.display(),
                if *full {
                    " (complete codes)"
                } else {
                    " (masked codes)"
                }
            );
        }
        ExportCmd::Shift { from, to, out } => {
            let f = crate::ops::export::parse_time(from)?;
            let t = match to {
                Some(t) => crate::ops::export::parse_time(t)?,
                None => crate::ops::export::now_ms(),
            };
            if t <= f {
                bail!("--to must be after --from");
            }
            let lines = crate::ops::export::shift_csv(&ledger, f, t, out)?;
            println!(
                "wrote the shift report {} to {} ({} product(s))",
                crate::ledger::format_ms(f) + " .. " + &crate::ledger::format_ms(t),
                out.display(),
                lines.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn metrics(paths: &Paths, config: &Config, a: &MetricsArgs) -> Result<ExitCode> {
    let listen = match a.listen {
        Some(l) => l,
        None => config
            .metrics
            .address()
            .map_err(anyhow::Error::msg)?
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9464))),
    };
    let server =
        crate::ops::metrics::serve(listen, paths.ledger(), crate::ops::metrics::no_extra())
            .context("metrics endpoint")?;
    println!("metrics on http://{}/metrics", server.addr());
    server.wait();
    Ok(ExitCode::SUCCESS)
}
