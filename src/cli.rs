// SPDX-License-Identifier: GPL-3.0-or-later
//! The `labelstation` command line. Each subcommand is a thin shell over the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::codes::Gtin;
use crate::config::{Config, Paths};
use crate::registry::client::Registry;
use crate::registry::pull::{Pull, PullEvent, PullOptions};
use crate::registry::sim::{Faults, RegistrySim, SimConfig};
use crate::registry::sync::{Sync, SyncEvent};
use crate::store::import::ImportError;
use crate::store::{Actor, CodeState, Ledger, Product, StationLock};

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
    Demo(crate::station_cli::DemoArgs),
    /// Print and verify labels: `--count N` pairs of `--gtin G`.
    Print(crate::station_cli::PrintArgs),
    /// Supervisor review of rejected labels: list, reprint, write off, confirm, show.
    #[command(subcommand)]
    Review(crate::station_cli::ReviewCmd),
    /// Supervisor settings (the PIN).
    #[command(subcommand)]
    Supervisor(crate::station_cli::SupervisorCmd),
    /// The station at a glance: pool per product, review queue, registry backlog, alarms.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Run the station (the touchscreen, or `--headless` driven by the scanner).
    Run(crate::station_cli::RunArgs),
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
    Consignment(crate::consignment_cli::ConsignmentCmd),
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
    Doctor(crate::ops::cmd::DoctorArgs),
    /// Back up the ledger (safe while the station runs), verify the copy, keep the newest [backup] keep.
    Backup(crate::ops::cmd::BackupArgs),
    /// Replace the ledger with a verified backup; the station must be stopped. Nothing is deleted.
    Restore(crate::ops::cmd::RestoreArgs),
    /// CSV exports: the ledger, the shift report.
    #[command(subcommand)]
    Export(crate::ops::cmd::ExportCmd),
    /// Serve the Prometheus metrics endpoint until interrupted.
    Metrics(crate::ops::cmd::MetricsArgs),
}

#[derive(Debug, Args)]
pub struct PrinterSimArgs {
    /// `tcp://127.0.0.1:9100` (loopback only) or `pty` (prints the serial device path to use).
    #[arg(long, default_value = "tcp://127.0.0.1:9100")]
    pub listen: String,
    /// Write each printed label as a PNG into this directory.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Head resolution: 203, 300 or 600.
    #[arg(long, default_value_t = 203)]
    pub dpi: u32,
    /// Print speed in inches per second (0: instant).
    #[arg(long, default_value_t = 0.0)]
    pub ips: f64,
    /// Pace reception as a serial link at this baud rate (0: no pacing).
    #[arg(long, default_value_t = 0)]
    pub baud: u32,
    /// Share of labels printed unreadable (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub unreadable_rate: f64,
    /// Share of jobs lost (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Share of labels cut short by an error that clears by itself (0 to 1): a partial sticker, then
    /// under ^JZY (or --ignore-jz) the whole label again.
    #[arg(long, default_value_t = 0.0)]
    pub duplicate_rate: f64,
    /// Reprint a label cut short by an error whatever ^JZ says (old firmware, a ZPL emulation).
    #[arg(long)]
    pub ignore_jz: bool,
}

#[derive(Debug, Args)]
pub struct RegistrySimArgs {
    /// Address to listen on; only loopback addresses are accepted.
    #[arg(long, default_value = "127.0.0.1:8900")]
    pub listen: std::net::SocketAddr,
    /// The API to speak: xtrace or oms-v2.
    #[arg(long, default_value = "xtrace")]
    pub api: crate::registry::sim::SimApi,
    /// oms-v2: the omsId the simulator accepts.
    #[arg(long, default_value = "cc7e2a41-5f3b-4d0e-9a57-3d1c0b6a2e10")]
    pub oms_id: String,
    /// oms-v2: the clientToken the simulator accepts (a simulator: not a secret).
    #[arg(long, default_value = "sim-client-token")]
    pub client_token: String,
    /// Length of the crypto tails issued (44 or 88).
    #[arg(long, default_value_t = 44)]
    pub crypto_len: usize,
    /// Share of requests answered 503 (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Share of changes whose answer is dropped after commit (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Delay before every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of changes committed and then answered by "a proxy" with 500, 502, 503, 504, 520 or 524.
    #[arg(long, default_value_t = 0.0)]
    pub error_after_commit_rate: f64,
    /// Share of changes committed and then answered 2xx with a body the client cannot read (a numeric
    /// id, an empty 201, an HTML page).
    #[arg(long, default_value_t = 0.0)]
    pub garbled_rate: f64,
    /// Share of requests answered 429 with Retry-After.
    #[arg(long, default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Seconds given in Retry-After.
    #[arg(long, default_value_t = 1)]
    pub retry_after_secs: u64,
    /// Milliseconds from a report's (or document's) arrival to its processing; until then its status
    /// says IN_PROCESS and a code lookup says RECEIVED.
    #[arg(long, default_value_t = 0)]
    pub processing_delay_ms: u64,
    /// How the code lookup echoes codes: as-asked, identification (no crypto tail) or escaped (GS as the
    /// text \u001d).
    #[arg(long, default_value = "as-asked", value_parser = parse_echo)]
    pub lookup_echo: crate::registry::sim::LookupEcho,
    /// Refuse every report and document as a whole with this reason (e.g. "insufficient balance").
    #[arg(long, value_name = "REASON")]
    pub refuse_reports: Option<String>,
    /// Refusals of reports name no code (and document errors give no index).
    #[arg(long)]
    pub unnamed_refusals: bool,
    /// Only these GTINs may be ordered (repeat the flag); default: any valid GTIN.
    #[arg(long = "known-gtin")]
    pub known_gtins: Vec<Gtin>,
    /// Refuse the next order outright with this reason (repeat for more orders).
    #[arg(long = "refuse-order", value_name = "REASON")]
    pub refuse_orders: Vec<String>,
    /// Accept the next order, then decline it with this reason (repeat for more orders).
    #[arg(long = "decline-order", value_name = "REASON")]
    pub decline_orders: Vec<String>,
    /// Lose the answers of the next N code issues (xtrace `GET /api/codes`, repeats included) after
    /// the pack is issued.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub lose_pack_answers: u32,
    /// How order searches answer: faithful, ignores-key or misdirected (someone else's order).
    #[arg(long, default_value = "faithful")]
    pub order_search: crate::registry::sim::OrderSearch,
    /// List orders with their poNumber (xtrace; the description does not say it does).
    #[arg(long)]
    pub echo_po_number: bool,
    #[arg(long, default_value = "station")]
    pub login: String,
    /// The password the simulator accepts (it is a simulator: this is not a secret).
    #[arg(long, default_value = "station")]
    pub password: String,
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
        cmd: Option<crate::codes_cli::HeldCmd>,
        #[arg(long)]
        json: bool,
    },
    /// Registry orders with their state and why; `abandon` (supervisor) gives one up.
    Orders {
        #[command(subcommand)]
        cmd: Option<crate::codes_cli::OrdersCmd>,
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
            ExitCode::FAILURE
        }
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
        return crate::ops::cmd::doctor(&paths, a);
    }
    let config = Config::load(&paths)?;
    let ctx = Ctx { paths, config };
    match cli.command {
        Command::Demo(a) => crate::station_cli::demo(&ctx.config, &a),
        Command::Print(a) => crate::station_cli::print(&ctx.paths, &ctx.config, &a),
        Command::Review(c) => crate::station_cli::review(&ctx.paths, &ctx.config, &c),
        Command::Supervisor(c) => crate::station_cli::supervisor_cmd(&ctx.paths, &ctx.config, &c),
        Command::Status { json } => crate::station_cli::status(&ctx.paths, &ctx.config, json),
        Command::Run(a) => crate::station_cli::run(&ctx.paths, &ctx.config, &a),
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
            crate::codes_cli::held_list(&ctx.paths, &ctx.config, json)
        }
        Command::Codes(CodesCmd::Held { cmd: Some(c), .. }) => {
            crate::codes_cli::held(&ctx.paths, &ctx.config, &c)
        }
        Command::Codes(CodesCmd::Orders { cmd: None, json }) => {
            crate::codes_cli::orders_list(&ctx.paths, &ctx.config, json)
        }
        Command::Codes(CodesCmd::Orders { cmd: Some(c), .. }) => {
            crate::codes_cli::orders(&ctx.paths, &ctx.config, &c)
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
        Command::Consignment(c) => crate::consignment_cli::run(&ctx.paths, &ctx.config, &c),
        Command::RegistrySim(args) => registry_sim(args),
        Command::PrinterSim(args) => printer_sim(args),
        Command::Sync { once, json } => sync(&ctx, once, json),
        Command::Doctor(a) => crate::ops::cmd::doctor(&ctx.paths, &a),
        Command::Backup(a) => crate::ops::cmd::backup(&ctx.paths, &ctx.config, &a),
        Command::Restore(a) => crate::ops::cmd::restore(&ctx.paths, &a, &cli_actor()),
        Command::Export(c) => crate::ops::cmd::export(&ctx.paths, &ctx.config, &c),
        Command::Metrics(a) => crate::ops::cmd::metrics(&ctx.paths, &ctx.config, &a),
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
                    crate::store::format_ms(e.at_ms),
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

/// The configured registry client, and the in-process simulator behind it when `api = "sim"`.
fn registry(ctx: &Ctx) -> Result<(Box<dyn Registry>, Option<RegistrySim>)> {
    crate::compose::registry(&ctx.paths, &ctx.config)
}

fn pull(ctx: &Ctx, gtin: &Gtin, quantity: u32, json: bool) -> Result<ExitCode> {
    let _lock = StationLock::acquire_pull(&ctx.paths.data_dir)?;
    let mut ledger = ctx.ledger()?;
    let (mut client, sim) = registry(ctx)?;
    if sim.is_some() {
        eprintln!(
            "registry: the built-in simulator (registry.api = \"sim\"), its state kept in {}",
            ctx.paths
                .data_dir
                .join(crate::compose::SIM_STATE_FILE)
                .display()
        );
    }
    let format = ctx.config.codes.format();
    let opts = PullOptions {
        pack_size: ctx.config.registry.pack_size,
        ..PullOptions::default()
    };
    let actor = cli_actor();
    let report = Pull {
        ledger: &mut ledger,
        registry: client.as_mut(),
        format: &format,
        opts,
        actor: &actor,
    }
    .run(gtin, quantity, &mut |e| match e {
        PullEvent::Resuming {
            order,
            received,
            quantity,
        } => {
            eprintln!("order #{order}: resuming, {received}/{quantity} codes already in the ledger")
        }
        PullEvent::Created { order, registry_id } => {
            eprintln!("order #{order}: created ({registry_id})")
        }
        PullEvent::Recovered { order, registry_id } => {
            eprintln!(
                "order #{order}: found again in the registry after a lost answer ({registry_id})"
            )
        }
        PullEvent::Waiting { order } => {
            eprintln!("order #{order}: waiting for the registry to make the codes")
        }
        PullEvent::Pack {
            order,
            received,
            quantity,
        } => eprintln!("order #{order}: {received}/{quantity} codes"),
        PullEvent::Closed { order } => eprintln!("order #{order}: closed"),
        PullEvent::Refused { order, gtin, reason } => {
            eprintln!("order #{order} (GTIN {gtin}): refused by the registry: {reason}")
        }
        PullEvent::Stuck { order, gtin, reason } => eprintln!(
            "order #{order} (GTIN {gtin}) cannot be finished now: {reason}. Other products go on; `labelstation codes orders` lists it, and a supervisor can abandon it"
        ),
        PullEvent::AbandonedClosed { order, note } => {
            eprintln!("abandoned order #{order}: {note}")
        }
        PullEvent::AbandonedOpen { order, reason } => eprintln!(
            "abandoned order #{order}: its registry order is not closed yet ({reason}); the next pull tries again"
        ),
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "pulled {} new code(s) for GTIN {gtin} in {} order(s)",
            report.new_codes,
            report.orders.len()
        );
    }
    // Only resuming was asked for, and something could not be resumed: say so in the exit status.
    Ok(if quantity == 0 && !report.stuck.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `codes pull --consignment`: per line, what is not labelled yet plus the spare share, less the
/// product's codes already in the pool (not held), ordered through the same exactly-once pull.
fn pull_for_consignment(ctx: &Ctx, id: &str, json: bool) -> Result<ExitCode> {
    let plan: Vec<(Gtin, u64, u64, u64)> = {
        let ledger = ctx.ledger()?;
        let c = ledger.consignment(id)?;
        let mut plan = Vec::new();
        for l in &c.lines {
            let left = ledger.consignment_line_room(id, &l.gtin)?.left();
            let want = left + (left * u64::from(ctx.config.codes.spare_percent)).div_ceil(100);
            let have = ledger.pool_available(&l.gtin)?;
            plan.push((l.gtin.clone(), left, have, want.saturating_sub(have)));
        }
        plan
    };
    let mut status = ExitCode::SUCCESS;
    for (gtin, left, have, order) in &plan {
        eprintln!(
            "consignment {id}, GTIN {gtin}: {left} pair(s) to label, {have} code(s) in the pool: ordering {order}"
        );
        if *order == 0 {
            continue;
        }
        let quantity = u32::try_from(*order).context("more codes than one pull can order")?;
        if pull(ctx, gtin, quantity, json)? != ExitCode::SUCCESS {
            status = ExitCode::FAILURE;
        }
    }
    Ok(status)
}

fn sync(ctx: &Ctx, once: bool, json: bool) -> Result<ExitCode> {
    let _lock = StationLock::acquire_sync(&ctx.paths.data_dir)?;
    let mut ledger = ctx.ledger()?;
    let (mut client, _sim) = registry(ctx)?;
    let opts = crate::compose::sync_options(&ctx.config);
    let actor = cli_actor();
    let mut link_up = None;
    loop {
        let result = Sync {
            ledger: &mut ledger,
            registry: client.as_mut(),
            opts: opts.clone(),
            actor: &actor,
        }
        .once(&mut |e| match e {
            SyncEvent::Resolved { report, applied, requeued } => eprintln!(
                "report #{report}: its outcome had been unknown; the registry shows {applied} code(s) done, {requeued} queued again"
            ),
            SyncEvent::NoTrace { report, applied, requeued } => eprintln!(
                "report #{report}: no trace of it in the registry after the settle window (registry.report.settle_window_secs); {applied} code(s) found done, {requeued} sent again"
            ),
            SyncEvent::Sent { report, codes } => eprintln!("report #{report}: sent, {codes} code(s)"),
            SyncEvent::Unknown { report, reason } => eprintln!(
                "report #{report}: outcome unknown ({reason}); it is settled from the registry's evidence, not sent again"
            ),
            SyncEvent::Found { report } => eprintln!("report #{report}: found in the registry after a lost answer"),
            SyncEvent::Accepted { report, codes } => eprintln!("report #{report}: accepted, {codes} code(s) reported"),
            SyncEvent::Split { report, codes, reason } => {
                eprintln!("report #{report}: refused ({reason}) naming no code; its {codes} code(s) go again in two halves")
            }
            SyncEvent::Held { report, codes, reason } => eprintln!(
                "report #{report}: the registry refuses the report itself ({reason}); its {codes} code(s) are held. Fix the cause, then `labelstation review resend {report}`"
            ),
            SyncEvent::Refused { code, reason } => {
                eprintln!("code #{code}: refused by the registry ({reason}); it waits for a supervisor")
            }
            SyncEvent::WriteOffRefused { code, reason } => {
                eprintln!("code #{code}: write-off refused by the registry ({reason}); it waits for a supervisor")
            }
            SyncEvent::WriteOffUnsupported { codes, reason } => {
                eprintln!("{codes} write-off(s) wait for a supervisor: {reason}")
            }
            SyncEvent::Unresolvable { report, reason } => {
                eprintln!("report #{report}: {reason}")
            }
        });
        if let Err(e) = crate::registry::sync::record_pass(&mut ledger, &result) {
            tracing::warn!("cannot record the sync pass in the ledger: {e}");
        }
        let backlog = ledger.backlog()?;
        match result {
            Ok(r) => {
                if link_up != Some(true) {
                    eprintln!("registry link up");
                }
                link_up = Some(true);
                if json {
                    println!("{}", serde_json::to_string(&r)?);
                } else {
                    println!(
                        "reported {} code(s), {} refused; backlog: {} queued, {} report(s) awaiting an answer",
                        r.reported, r.refused, backlog.utilisation_queued, backlog.reports_open
                    );
                    if backlog.reports_held > 0 {
                        println!(
                            "{} report(s) ({} code(s)) refused as a whole by the registry wait for a supervisor: `labelstation review registry`",
                            backlog.reports_held, backlog.codes_held
                        );
                    }
                }
                if once {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Err(e) if e.is_transient() && !once => {
                if link_up != Some(false) {
                    eprintln!("registry link down: {e}");
                }
                link_up = Some(false);
                if let Some(wait) = e.retry_after() {
                    std::thread::sleep(wait);
                }
            }
            Err(e) => return Err(e.into()),
        }
        std::thread::sleep(Duration::from_secs(
            ctx.config.registry.report.interval_secs,
        ));
    }
}

fn printer_sim(a: PrinterSimArgs) -> Result<ExitCode> {
    use crate::virtual_printer::{PrinterSimConfig, VirtualPrinter};
    if ![203, 300, 600].contains(&a.dpi) {
        bail!("--dpi {}: use 203, 300 or 600", a.dpi);
    }
    if let Some(dir) = &a.out_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let vp = VirtualPrinter::new(PrinterSimConfig {
        dpi: a.dpi,
        ips: (a.ips > 0.0).then_some(a.ips),
        baud: (a.baud > 0).then_some(a.baud),
        unreadable_rate: a.unreadable_rate.clamp(0.0, 1.0),
        drop_rate: a.drop_rate.clamp(0.0, 1.0),
        duplicate_rate: a.duplicate_rate.clamp(0.0, 1.0),
        ignore_jz: a.ignore_jz,
        ..PrinterSimConfig::default()
    });
    let where_ = if a.listen == "pty" {
        let path = vp.serve_pty()?;
        format!("serial://{}", path.display())
    } else {
        let addr: std::net::SocketAddr = a
            .listen
            .strip_prefix("tcp://")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                anyhow::anyhow!("--listen {}: use tcp://127.0.0.1:PORT or pty", a.listen)
            })?;
        if !addr.ip().is_loopback() {
            bail!(
                "--listen {}: the virtual printer listens on loopback addresses only",
                a.listen
            );
        }
        format!("tcp://{}", vp.serve_tcp(addr)?)
    };
    {
        // A server must not die because whoever started it closed its stdout.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "virtual printer ready: point the station's printer at {where_}"
        );
        let _ = out.flush();
    }
    let mut n = 0u64;
    while let Ok(label) = vp.printed().recv() {
        n += 1;
        if let Some(dir) = &a.out_dir {
            let path = dir.join(format!("label-{n:06}.png"));
            match label.image.to_png() {
                Ok(png) => {
                    if let Err(e) = std::fs::write(&path, png) {
                        tracing::warn!("cannot write {}: {e}", path.display());
                    }
                }
                Err(e) => tracing::warn!("label {n}: {e}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_echo(s: &str) -> Result<crate::registry::sim::LookupEcho, String> {
    use crate::registry::sim::LookupEcho;
    match s {
        "as-asked" => Ok(LookupEcho::AsAsked),
        "identification" => Ok(LookupEcho::Identification),
        "escaped" => Ok(LookupEcho::EscapedSeparators),
        other => Err(format!(
            "{other:?}: use as-asked, identification or escaped"
        )),
    }
}

fn registry_sim(a: RegistrySimArgs) -> Result<ExitCode> {
    if !a.listen.ip().is_loopback() {
        bail!(
            "--listen {}: the simulator listens on loopback addresses only (127.0.0.0/8 or ::1)",
            a.listen
        );
    }
    let sim = RegistrySim::start(
        a.listen,
        SimConfig {
            login: a.login,
            password: a.password,
            crypto_len: a.crypto_len,
            known_gtins: (!a.known_gtins.is_empty()).then(|| {
                a.known_gtins
                    .iter()
                    .map(|g| g.as_str().to_owned())
                    .collect()
            }),
            faults: Faults {
                error_rate: a.error_rate.clamp(0.0, 1.0),
                latency: Duration::from_millis(a.latency_ms),
                drop_after_commit_rate: a.drop_rate.clamp(0.0, 1.0),
                error_after_commit_rate: a.error_after_commit_rate.clamp(0.0, 1.0),
                garbled_after_commit_rate: a.garbled_rate.clamp(0.0, 1.0),
                throttle_rate: a.throttle_rate.clamp(0.0, 1.0),
                retry_after: Duration::from_secs(a.retry_after_secs.max(1)),
                ..Faults::default()
            },
            processing_delay: Duration::from_millis(a.processing_delay_ms),
            lookup_echo: a.lookup_echo,
            refusal: a
                .refuse_reports
                .clone()
                .map(crate::registry::sim::Refusal::when_processed),
            refusals_name_codes: !a.unnamed_refusals,
            orders: crate::registry::sim::OrderFaults {
                refuse: a.refuse_orders.clone(),
                decline: a.decline_orders.clone(),
                lose_pack_answers: a.lose_pack_answers,
                search: a.order_search,
                echo_po_number: a.echo_po_number,
                ..Default::default()
            },
            api: a.api,
            oms_id: a.oms_id.clone(),
            client_token: a.client_token.clone(),
            ..SimConfig::default()
        },
    )
    .with_context(|| format!("cannot listen on {}", a.listen))?;
    // A server must not die because whoever started it closed its stdout: ignore write errors.
    let mut out = std::io::stdout().lock();
    let _ = match a.api {
        crate::registry::sim::SimApi::Xtrace => writeln!(
            out,
            "registry simulator (xtrace) listening on {url}\npoint a station at it with: [registry] api = \"xtrace\", url = \"{url}\"",
            url = sim.url()
        ),
        crate::registry::sim::SimApi::OmsV2 => writeln!(
            out,
            "registry simulator (oms-v2) listening on {url}\npoint a station at it with: [registry] api = \"oms-v2\", url = \"{url}\", \
             [registry.oms] oms_id = \"{oms}\", contact_person = \"...\", and the client token {token} in the environment variable named by client_token_env",
            url = sim.url(),
            oms = a.oms_id,
            token = a.client_token,
        ),
    };
    let _ = out.flush();
    drop(out);
    loop {
        std::thread::park();
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
