// SPDX-License-Identifier: GPL-3.0-or-later
//! The `labelstation` command line. Each subcommand is a thin shell over the library; the registry
//! commands (`codes pull`, `sync`) are in `cli/pull_sync.rs`, the simulators' (`printer-sim`,
//! `registry-sim`) in `cli/sims.rs`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::codes::Gtin;
use crate::config::{Config, Paths};
use crate::ledger::import::ImportError;
use crate::ledger::{Actor, CodeState, Ledger, Product, StationLock};
use crate::registry::client::Registry;
use crate::registry::pull::{Pull, PullEvent, PullOptions};
use crate::registry::sim::{Faults, RegistrySim, SimConfig};
use crate::registry::sync::{SyncEvent, Syncer};

pub mod boxes;
pub mod codes;
pub mod consignment;
pub mod ops;
mod pull_sync;
mod remedy;
pub mod station;
pub(crate) use pull_sync::sync_once;
use pull_sync::{pull, pull_for_consignment, sync};
mod sims;
pub use sims::{PrinterSimArgs, RegistrySimArgs};
use sims::{printer_sim, registry_sim};

#[derive(Debug, Parser)]
#[command(
    name = "labelstation",
    version,
    about = "Marking-code labelling station: print GS1 DataMatrix codes on Zebra printers, verify every sticker, account for every code",
    after_help = "Data dir: --data-dir, else $LABELSTATION_DATA_DIR, else ~/.local/share/labelstation.\n\
                  Config:   --config, else $LABELSTATION_CONFIG, else ~/.config/labelstation/config.toml (optional)."
)]
pub struct Cli {
    /// Directory holding the code ledger.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Configuration file (TOML).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More log output on stderr (repeat for more); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the station on its embedded default (virtual printer, scanner and registry).
    Demo(crate::cli::station::DemoArgs),
    /// Print and verify labels: `--count N` pairs of `--gtin G`.
    Print(crate::cli::station::PrintArgs),
    /// Supervisor review of rejected labels: list, reprint, write off, confirm, show.
    #[command(subcommand)]
    Review(crate::cli::station::ReviewCmd),
    /// Supervisor settings (the PIN).
    #[command(subcommand)]
    Supervisor(crate::cli::station::SupervisorCmd),
    /// The station at a glance: pool per product, review queue, registry backlog, alarms.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Run the station (the touchscreen, or `--headless` driven by the scanner).
    Run(crate::cli::station::RunArgs),
    /// Measure speed and memory on the virtual line (see docs/benchmarks.md).
    Bench {
        /// A smaller run that finishes within a minute.
        #[arg(long)]
        quick: bool,
        /// Labels in the software-cost run (e.g. 50000 for a shift).
        #[arg(long)]
        labels: Option<u32>,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Marking codes: import, pull, balance, held codes, orders.
    #[command(subcommand)]
    Codes(CodesCmd),
    /// Consignments under customs control: import a packing list, list, show.
    #[command(subcommand)]
    Consignment(crate::cli::consignment::ConsignmentCmd),
    /// Boxes of pairs under an SSCC: open, add, close, list, label.
    #[command(subcommand)]
    Box(crate::cli::boxes::BoxCmd),
    /// Products (GTINs) the station labels.
    #[command(subcommand)]
    Products(ProductsCmd),
    /// Ledger maintenance.
    #[command(subcommand)]
    Ledger(LedgerCmd),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Labels.
    #[command(subcommand)]
    Label(LabelCmd),
    /// Configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Send application reports of verified codes to the registry: once, or continuously.
    Sync {
        /// One pass, then exit (status 1 if the backlog could not be drained).
        #[arg(long)]
        once: bool,
        #[arg(long)]
        json: bool,
    },
    /// Run the registry simulator (xTrace or oms-v2 API) on this machine, until interrupted.
    RegistrySim(RegistrySimArgs),
    /// Run the virtual Zebra printer on loopback TCP or a pseudo-terminal, until interrupted.
    PrinterSim(PrinterSimArgs),
    /// Check this station: config, permissions, ledger, clock, disk, printer, scanner, registry.
    /// Exit status 1 when anything fails.
    Doctor(crate::cli::ops::DoctorArgs),
    /// Back up the ledger (safe while the station runs), verify the copy, keep the newest [backup] keep.
    Backup(crate::cli::ops::BackupArgs),
    /// Replace the ledger with a verified backup; the station must be stopped. Nothing is deleted.
    Restore(crate::cli::ops::RestoreArgs),
    /// CSV exports: the ledger, the shift report.
    #[command(subcommand)]
    Export(crate::cli::ops::ExportCmd),
    /// Serve the Prometheus metrics endpoint until interrupted.
    Metrics(crate::cli::ops::MetricsArgs),
}

#[derive(Debug, Subcommand)]
pub enum CodesCmd {
    /// Import codes from a file, one code per line (any form a registry export or scanner produces).
    /// All or nothing: a file with a bad line imports nothing and lists every bad line.
    Import {
        /// The product the codes belong to (GTIN-14, or EAN-13 / UPC-A / GTIN-8).
        #[arg(long)]
        gtin: Gtin,
        /// The file to import.
        file: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pull codes from the registry: order, wait until they are made, take them pack by pack into the
    /// ledger, close the order. Unfinished orders of earlier runs are finished first.
    Pull {
        #[arg(
            long,
            required_unless_present = "consignment",
            conflicts_with = "consignment"
        )]
        gtin: Option<Gtin>,
        /// Codes to order (0: only finish earlier orders).
        #[arg(
            long,
            required_unless_present = "consignment",
            conflicts_with = "consignment"
        )]
        quantity: Option<u32>,
        /// Order what each line of this consignment still lacks: its declared pairs not yet labelled,
        /// plus `codes.spare_percent`, less the codes of the product already in the pool.
        #[arg(long, value_name = "ID")]
        consignment: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Codes per product by state.
    Balance {
        /// JSON: [{"gtin": "...", "states": {"AVAILABLE": n, ...}}]
        #[arg(long)]
        json: bool,
    },
    /// Codes held after a ledger restore (a station may have printed them after the backup): list them;
    /// `check` asks the registry, `release` (supervisor) returns them to the pool.
    Held {
        #[command(subcommand)]
        cmd: Option<crate::cli::codes::HeldCmd>,
        #[arg(long)]
        json: bool,
    },
    /// Registry orders with their state and why; `abandon` (supervisor) gives one up.
    Orders {
        #[command(subcommand)]
        cmd: Option<crate::cli::codes::OrdersCmd>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProductsCmd {
    /// Register a product.
    Add(ProductArgs),
    /// List registered products.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ProductArgs {
    #[arg(long)]
    pub gtin: Gtin,
    /// Product name as printed on the label (Russian or Kazakh text is fine).
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub size: Option<String>,
    #[arg(long)]
    pub colour: Option<String>,
    #[arg(long)]
    pub model: Option<String>,
    /// Country of origin, ISO 3166 two letters (e.g. CN).
    #[arg(long)]
    pub country: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCmd {
    /// Check every ledger invariant and the audit chain; exit status 1 if anything is wrong.
    Check {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum LabelCmd {
    /// Draw a product's label to a PNG, from the same template the printer gets.
    Preview {
        #[arg(long)]
        gtin: Gtin,
        /// The code to draw; by default a made-up sample code of the right shape.
        #[arg(long)]
        code: Option<String>,
        #[arg(long, value_name = "FILE.png")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Verify the audit log's hash chain; exit status 1 if it is broken.
    Verify,
    /// Show the newest audit entries.
    Show {
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Print where data and config are looked for, and the effective configuration.
    Show,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let _log = crate::ops::logging::init(cli.verbose, cli.data_dir.clone(), cli.config.clone());
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(what_to_do) = remedy::words(&e) {
                eprintln!("what to do: {what_to_do}");
            }
            ExitCode::FAILURE
        }
    }
}

/// A station's notice on the terminal, with what to do in the command line's words when it has one.
pub(crate) fn print_notice(notice: &crate::engine::Notice) {
    eprintln!("{}", notice.text());
    if let Some(what_to_do) = notice.remedy().map(|r| remedy::word(&r)) {
        eprintln!("  what to do: {what_to_do}");
    }
}

/// The person or tool acting from the command line; recorded in the audit log.
pub(crate) fn cli_actor() -> Actor {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    Actor::system(format!("cli:{user}"))
}

struct Ctx {
    paths: Paths,
    config: Config,
}

impl Ctx {
    fn ledger(&self) -> Result<Ledger> {
        Ok(Ledger::open(&self.paths.ledger(), &self.config.station.id)?)
    }
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let paths = Paths::resolve(cli.data_dir, cli.config)?;
    // Doctor reports a broken config as a finding, so it runs before the config is loaded.
    if let Command::Doctor(a) = &cli.command {
        return crate::cli::ops::doctor(&paths, a);
    }
    let config = Config::load(&paths)?;
    let ctx = Ctx { paths, config };
    match cli.command {
        Command::Demo(a) => crate::cli::station::demo(&ctx.config, &a),
        Command::Print(a) => crate::cli::station::print(&ctx.paths, &ctx.config, &a),
        Command::Review(c) => crate::cli::station::review(&ctx.paths, &ctx.config, &c),
        Command::Supervisor(c) => crate::cli::station::supervisor_cmd(&ctx.paths, &ctx.config, &c),
        Command::Status { json } => crate::cli::station::status(&ctx.paths, &ctx.config, json),
        Command::Run(a) => crate::cli::station::run(&ctx.paths, &ctx.config, &a),
        Command::Bench {
            quick,
            labels,
            json,
        } => {
            let r = crate::bench::run(quick, labels)?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                crate::bench::print_text(&r);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Codes(CodesCmd::Import { gtin, file, json }) => import(&ctx, &gtin, &file, json),
        Command::Codes(CodesCmd::Balance { json }) => balance(&ctx, json),
        Command::Codes(CodesCmd::Held { cmd: None, json }) => {
            crate::cli::codes::held_list(&ctx.paths, &ctx.config, json)
        }
        Command::Codes(CodesCmd::Held { cmd: Some(c), .. }) => {
            crate::cli::codes::held(&ctx.paths, &ctx.config, &c)
        }
        Command::Codes(CodesCmd::Orders { cmd: None, json }) => {
            crate::cli::codes::orders_list(&ctx.paths, &ctx.config, json)
        }
        Command::Codes(CodesCmd::Orders { cmd: Some(c), .. }) => {
            crate::cli::codes::orders(&ctx.paths, &ctx.config, &c)
        }
        Command::Codes(CodesCmd::Pull {
            gtin: Some(gtin),
            quantity: Some(quantity),
            consignment: None,
            json,
        }) => pull(&ctx, &gtin, quantity, json),
        Command::Codes(CodesCmd::Pull {
            consignment: Some(k),
            json,
            ..
        }) => pull_for_consignment(&ctx, k.trim(), json),
        Command::Codes(CodesCmd::Pull { .. }) => {
            bail!("codes pull needs --gtin and --quantity, or --consignment")
        }
        Command::Consignment(c) => crate::cli::consignment::run(&ctx.paths, &ctx.config, &c),
        Command::Box(c) => crate::cli::boxes::run(&ctx.paths, &ctx.config, &c),
        Command::RegistrySim(args) => registry_sim(args),
        Command::PrinterSim(args) => printer_sim(args),
        Command::Sync { once, json } => sync(&ctx, once, json),
        Command::Doctor(a) => crate::cli::ops::doctor(&ctx.paths, &a),
        Command::Backup(a) => crate::cli::ops::backup(&ctx.paths, &ctx.config, &a),
        Command::Restore(a) => crate::cli::ops::restore(&ctx.paths, &a, &cli_actor()),
        Command::Export(c) => crate::cli::ops::export(&ctx.paths, &ctx.config, &c),
        Command::Metrics(a) => crate::cli::ops::metrics(&ctx.paths, &ctx.config, &a),
        Command::Label(LabelCmd::Preview { gtin, code, out }) => {
            label_preview(&ctx, &gtin, code.as_deref(), &out)
        }
        Command::Products(ProductsCmd::Add(a)) => {
            let p = ctx.ledger()?.add_product(
                Product {
                    gtin: a.gtin,
                    name: a.name,
                    size: a.size,
                    colour: a.colour,
                    model: a.model,
                    country: a.country,
                },
                &cli_actor(),
            )?;
            println!("added product {} {}", p.gtin, p.name);
            Ok(ExitCode::SUCCESS)
        }
        Command::Products(ProductsCmd::List { json }) => {
            let products = ctx.ledger()?.products()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&products)?);
            } else if products.is_empty() {
                println!(
                    "no products yet: add one with `labelstation products add --gtin G --name N`"
                );
            } else {
                for p in products {
                    let extra: Vec<String> = [
                        p.size.map(|v| format!("size {v}")),
                        p.colour,
                        p.model.map(|v| format!("model {v}")),
                        p.country,
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    println!("{}  {}  {}", p.gtin, p.name, extra.join(", "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Ledger(LedgerCmd::Check { json }) => {
            let ledger = ctx.ledger()?;
            let violations = ledger.check_invariants()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&violations)?);
            } else if violations.is_empty() {
                println!("ledger {} is consistent", ledger.path().display());
            } else {
                for v in &violations {
                    println!("BROKEN: {}: {}", v.rule, v.detail);
                }
                println!(
                    "The ledger is inconsistent. Stop the station, keep a copy of the data dir, and restore the newest backup."
                );
            }
            Ok(if violations.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Audit(AuditCmd::Verify) => {
            let report = ctx.ledger()?.verify_audit()?;
            if report.breaks.is_empty() {
                println!(
                    "audit log intact: {} entries, chain verified",
                    report.entries
                );
                Ok(ExitCode::SUCCESS)
            } else {
                for b in &report.breaks {
                    println!("BROKEN: {b}");
                }
                println!(
                    "The audit log was tampered with or damaged: keep the file as evidence and tell the site security officer."
                );
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Audit(AuditCmd::Show { limit }) => {
            let ledger = ctx.ledger()?;
            for e in ledger.recent_audit(limit)? {
                println!(
                    "#{:<6} {}  {:<14} {:<10} {:<20} {}  {}",
                    e.seq,
                    crate::ledger::format_ms(e.at_ms),
                    e.actor,
                    e.role,
                    e.action,
                    e.subject,
                    e.detail
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCmd::Show) => {
            println!(
                "# data dir: {} (from {})",
                ctx.paths.data_dir.display(),
                ctx.paths.data_dir_origin
            );
            println!(
                "# config:   {} (from {}{})",
                ctx.paths.config_file.display(),
                ctx.paths.config_origin,
                if ctx.paths.config_file.exists() {
                    ""
                } else {
                    "; absent, embedded defaults in use"
                }
            );
            print!("{}", ctx.config.to_toml());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn label_preview(
    ctx: &Ctx,
    gtin: &Gtin,
    code: Option<&str>,
    out: &std::path::Path,
) -> Result<ExitCode> {
    let ledger = ctx.ledger()?;
    let Some(product) = ledger.product(gtin)? else {
        bail!(
            "unknown product GTIN {gtin}: add it first with `labelstation products add --gtin {gtin} --name ...`"
        );
    };
    let code = match code {
        Some(c) => {
            let c = crate::codes::MarkingCode::parse(c.as_bytes(), &ctx.config.codes.format())?;
            if c.gtin() != gtin {
                bail!("the code is for GTIN {}, not {gtin}", c.gtin());
            }
            c
        }
        None => crate::codes::generate::CodeGenerator::new(1)
            .with_crypto_len(ctx.config.codes.crypto_length_max)
            .code(gtin),
    };
    let template = ctx.config.label.template()?;
    let png = product
        .with_label_data(&code, |data| labelstation_zpl::preview(&template, data))?
        .to_png()?;
    std::fs::write(out, png).with_context(|| format!("cannot write {}", out.display()))?;
    println!("wrote {} ({})", out.display(), code.masked());
    Ok(ExitCode::SUCCESS)
}

fn import(ctx: &Ctx, gtin: &Gtin, file: &std::path::Path, json: bool) -> Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut ledger = ctx.ledger()?;
    let format = ctx.config.codes.format();
    let reference = file.display().to_string();
    match ledger.import_codes(gtin, &reference, &bytes, &format, &cli_actor()) {
        Ok(r) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "imported {} new code(s) for GTIN {}; {} already in the ledger (skipped); {} repeated line(s) in the file (imported once)",
                    r.imported, r.gtin, r.already_in_ledger, r.repeated_lines
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(ImportError::Lines(errors)) => {
            const SHOWN: usize = 50;
            if json {
                println!("{}", serde_json::json!({ "imported": 0, "errors": errors }));
            }
            for e in errors.iter().take(SHOWN) {
                eprintln!("{}:{}: {}", file.display(), e.line, e.message);
            }
            if errors.len() > SHOWN {
                eprintln!("... and {} more bad line(s)", errors.len() - SHOWN);
            }
            eprintln!(
                "error: {} bad line(s) in {}; nothing was imported. Fix or remove those lines and import the file again.",
                errors.len(),
                file.display()
            );
            Ok(ExitCode::FAILURE)
        }
        Err(ImportError::Empty) => bail!("{} holds no codes; nothing was imported", file.display()),
        Err(ImportError::Store(e)) => Err(e.into()),
    }
}

fn balance(ctx: &Ctx, json: bool) -> Result<ExitCode> {
    let rows = ctx.ledger()?.balance()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("no products yet: add one with `labelstation products add --gtin G --name N`");
        return Ok(ExitCode::SUCCESS);
    }
    let states = CodeState::ALL;
    print!("{:<14}  {:<24}", "GTIN", "PRODUCT");
    for s in states {
        print!(" {:>w$}", s.as_str(), w = s.as_str().len().max(6));
    }
    println!();
    for r in rows {
        let name: String = r
            .name
            .as_deref()
            .unwrap_or("(not registered)")
            .chars()
            .take(24)
            .collect();
        print!("{:<14}  {:<24}", r.gtin, name);
        for s in states {
            print!(
                " {:>w$}",
                r.states.get(s.as_str()).copied().unwrap_or(0),
                w = s.as_str().len().max(6)
            );
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}
