// SPDX-License-Identifier: GPL-3.0-or-later
//! `box open|add|close|list|label`: packing verified pairs into boxes under an SSCC (issue 18). `cli.rs`
//! dispatches; the ledger keeps the boxes ([`crate::ledger::boxes`]) and the ZPL crate writes the label
//! ([`labelstation_zpl::box_label`]).

use std::io::BufRead as _;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Subcommand;

use crate::codes::MarkingCode;
use crate::compose::BoxLabelOnLine;
use crate::config::{Config, Paths};
use crate::ledger::Ledger;
use crate::ledger::boxes::{BoxLevel, BoxRecord, BoxState};

#[derive(Debug, Subcommand)]
pub enum BoxCmd {
    /// Open a box (or a pallet) for a consignment under a new SSCC from `[aggregation]`.
    Open {
        #[arg(long)]
        consignment: String,
        /// Pairs it holds when full (boxes, for a pallet).
        #[arg(long, default_value_t = 4)]
        capacity: u32,
        /// A pallet of boxes (level 2) rather than a box of pairs.
        #[arg(long)]
        pallet: bool,
        #[arg(long)]
        json: bool,
    },
    /// Put verified pairs into an open box: their codes as arguments, or one scanned code a line on
    /// standard input (as a keyboard-wedge scanner types them). For a pallet: closed boxes, by their
    /// SSCC (or their scanned GS1-128 label).
    Add {
        /// The box's (or pallet's) SSCC (18 digits, or `00` + 18).
        sscc: String,
        codes: Vec<String>,
    },
    /// Close a box (full, or early): it takes nothing more and its label can be printed.
    Close { sscc: String },
    /// Boxes and pallets with their SSCC, count, capacity, state and level.
    List {
        #[arg(long)]
        consignment: Option<String>,
        /// A JSON array: sscc (18 digits), level (1 box, 2 pallet), consignment, count, capacity,
        /// state, parent.
        #[arg(long)]
        json: bool,
    },
    /// Send a box's aggregation to the registry again after it was refused, once the cause is fixed
    /// (the sync sends it; a box is aggregated on its own as soon as its label is verified and its
    /// pairs' application accepted).
    Report {
        sscc: String,
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
    },
    /// Unpack a box (or pallet) the registry knows: the transport-code disaggregation document, sent by
    /// the sync. Its pairs then go into circulation one by one. Needs the supervisor PIN; audited.
    Unpack {
        sscc: String,
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
    },
    /// Print a closed box's label (GS1-128 with its SSCC), or print a damaged one again: it carries no
    /// marking code.
    Label {
        sscc: String,
        /// The printer (default: the configured one), e.g. `file:///tmp/box.zpl`.
        #[arg(long)]
        printer: Option<String>,
    },
}

fn sscc_of(arg: &str) -> Result<String> {
    let s = crate::codes::Sscc::parse(arg)
        .with_context(|| format!("{arg:?} is not an SSCC (18 digits, or 00 and 18 digits)"))?;
    Ok(s.as_str().to_owned())
}

/// The codes given as arguments, or else one a line from standard input (a keyboard-wedge scanner).
fn read_lines(args: &[String]) -> Result<Vec<String>> {
    let mut lines: Vec<String> = args.to_vec();
    if lines.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line.context("cannot read the scanned codes from standard input")?;
            if !line.trim().is_empty() {
                lines.push(line);
            }
        }
    }
    Ok(lines)
}

fn level_number(level: BoxLevel) -> i64 {
    level.number()
}

fn json_of(b: &BoxRecord) -> serde_json::Value {
    serde_json::json!({
        "sscc": b.sscc,
        "level": level_number(b.level),
        "consignment": b.consignment,
        "count": b.count,
        "capacity": b.capacity,
        "state": b.state.as_str(),
        "parent": b.parent,
    })
}

pub fn run(paths: &Paths, config: &Config, cmd: &BoxCmd) -> Result<ExitCode> {
    let actor = crate::cli::cli_actor();
    let mut ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
    match cmd {
        BoxCmd::Open {
            consignment,
            capacity,
            pallet,
            json,
        } => {
            let agg = &config.aggregation;
            let Some(prefix) = agg.prefix().map_err(anyhow::Error::msg)? else {
                bail!(
                    "no GS1 company prefix is set: write the warehouse's prefix as aggregation.company_prefix in the config file ({}), then open the box again",
                    paths.config_file.display()
                );
            };
            let level = if *pallet {
                BoxLevel::Pallet
            } else {
                BoxLevel::Box
            };
            let b = ledger.open_box(
                consignment.trim(),
                level,
                *capacity,
                &prefix,
                agg.extension_digit,
                &actor,
            )?;
            if *json {
                println!("{}", json_of(&b));
            } else {
                println!(
                    "{} {} opened for consignment {} (capacity {})",
                    if *pallet { "pallet" } else { "box" },
                    b.sscc,
                    b.consignment,
                    b.capacity
                );
            }
        }
        BoxCmd::Add { sscc, codes }
            if ledger.box_record(&sscc_of(sscc)?)?.level == BoxLevel::Pallet =>
        {
            let pallet = sscc_of(sscc)?;
            for raw in read_lines(codes)? {
                // A scanned box label comes as `]C1` and AI 00 before the 18 digits.
                let raw = raw.trim();
                let raw = raw.strip_prefix("]C1").unwrap_or(raw);
                let b = sscc_of(raw)?;
                ledger.put_on_pallet(&b, &pallet)?;
                let p = ledger.box_record(&pallet)?;
                println!(
                    "box {b} onto pallet {pallet} ({} of {})",
                    p.count, p.capacity
                );
            }
        }
        BoxCmd::Report { sscc, name } => {
            let sscc = sscc_of(sscc)?;
            let sup = crate::cli::station::supervisor(paths, name.as_deref())?;
            let doc =
                ledger.report_box_again(&sscc, config.registry.api.documents_api(), sup.actor())?;
            println!(
                "box {sscc}: aggregation queued again as document #{}; the sync sends it",
                doc.0
            );
        }
        BoxCmd::Unpack { sscc, name } => {
            let sscc = sscc_of(sscc)?;
            if config.registry.api == crate::config::RegistryApi::OmsV2 {
                bail!(
                    "the older platform (registry.api = \"oms-v2\") has no disaggregation in its API: unpack box {sscc} in the registry's web cabinet"
                );
            }
            let sup = crate::cli::station::supervisor(paths, name.as_deref())?;
            let doc = ledger.unpack_box(&sscc, config.registry.api.documents_api(), sup.actor())?;
            println!(
                "box {sscc}: unpacking queued as document #{}; the sync sends it, and once the registry accepts it the pairs go into circulation one by one",
                doc.0
            );
        }
        BoxCmd::Add { sscc, codes } => {
            let sscc = sscc_of(sscc)?;
            let format = config.codes.format();
            for raw in &read_lines(codes)? {
                let code = MarkingCode::parse(raw.trim_end().as_bytes(), &format)
                    .with_context(|| "a scanned line is not a marking code".to_owned())?;
                let Some(rec) = ledger.find_code(&code)? else {
                    bail!(
                        "{} is not in this station's ledger: it was not labelled here",
                        code.masked()
                    );
                };
                ledger.add_to_box(&sscc, rec.id, &actor)?;
                let b = ledger.box_record(&sscc)?;
                println!(
                    "{} into box {} ({} of {})",
                    code.masked(),
                    b.sscc,
                    b.count,
                    b.capacity
                );
            }
        }
        BoxCmd::Close { sscc } => {
            let sscc = sscc_of(sscc)?;
            ledger.box_step(&sscc, BoxState::Closed, &actor)?;
            let b = ledger.box_record(&sscc)?;
            println!(
                "box {} closed with {} of {}: print its label with `labelstation box label {}`",
                b.sscc, b.count, b.capacity, b.sscc
            );
        }
        BoxCmd::List { consignment, json } => {
            let boxes = ledger.boxes(consignment.as_deref().map(str::trim))?;
            if *json {
                let all: Vec<serde_json::Value> = boxes.iter().map(json_of).collect();
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else if boxes.is_empty() {
                println!("no boxes");
            } else {
                println!(
                    "{:<18}  {:<5}  {:<14}  {:>9}  consignment",
                    "sscc", "level", "state", "count"
                );
                for b in &boxes {
                    println!(
                        "{:<18}  {:<5}  {:<14}  {:>4}/{:<4}  {}",
                        b.sscc,
                        level_number(b.level),
                        b.state.as_str(),
                        b.count,
                        b.capacity,
                        b.consignment
                    );
                }
            }
        }
        BoxCmd::Label { sscc, printer } => {
            let sscc = sscc_of(sscc)?;
            let b = ledger.box_record(&sscc)?;
            if b.state == BoxState::Open {
                bail!("box {sscc} is open: close it first (`labelstation box close {sscc}`)");
            }
            let notices: crate::engine::Sink = std::sync::Arc::new(|e| {
                if let crate::engine::Event::Notice(notice) = e {
                    crate::cli::print_notice(&notice);
                }
            });
            match crate::compose::label_box_on_line(
                paths,
                config,
                printer.as_deref(),
                &sscc,
                actor.clone(),
                notices,
            )? {
                BoxLabelOnLine::Done(state) => {
                    println!("box {sscc}: label printed, box {}", state.as_str());
                    return Ok(ExitCode::SUCCESS);
                }
                BoxLabelOnLine::NoLine(e) => eprintln!(
                    "the label is printed without verifying it: the station's printer and scanner cannot be opened together ({e:#})"
                ),
            }
            let product = ledger.box_product_text(&sscc)?;
            let (w, h) = config.aggregation.box_label.mm();
            let dpi = labelstation_zpl::template::Dpi::try_from(
                u16::try_from(config.label.dpi).unwrap_or(203),
            )
            .map_err(anyhow::Error::msg)?;
            let zpl = labelstation_zpl::box_label(
                f64::from(w),
                f64::from(h),
                dpi,
                &labelstation_zpl::BoxLabelData {
                    sscc: &sscc,
                    consignment: &b.consignment,
                    count: u32::try_from(b.count).unwrap_or(u32::MAX),
                    capacity: u32::try_from(b.capacity).unwrap_or(u32::MAX),
                    product: &product,
                },
            )?;
            let uri = printer
                .clone()
                .unwrap_or_else(|| config.printer.uri.clone());
            let uri = labelstation_printer::PrinterUri::parse(&uri)
                .with_context(|| format!("printer {uri:?}"))?;
            let (mut p, _sim) = crate::sim::printer::open_printer(
                &uri,
                crate::sim::printer::PrinterSimConfig::default(),
            )?;
            use labelstation_printer::Printer as _;
            p.send(zpl.as_bytes())
                .with_context(|| format!("sending box {sscc}'s label"))?;
            if b.state == BoxState::Closed {
                ledger.box_step(&sscc, BoxState::LabelPrinted, &actor)?;
            }
            println!("box {sscc}: label sent to {}", p.describe());
        }
    }
    Ok(ExitCode::SUCCESS)
}
