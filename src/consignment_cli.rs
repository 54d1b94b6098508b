// SPDX-License-Identifier: GPL-3.0-or-later
//! `consignment import|list|show`: consignments under customs control. `cli.rs` dispatches; the packing
//! list is read by [`crate::consignment::packing_list`] and kept by [`crate::store::consignments`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use sha2::{Digest, Sha256};

use crate::config::{Config, Paths};
use crate::consignment::packing_list;
use crate::store::consignments::{Consignment, NewConsignment};
use crate::store::{Ledger, format_ms};

#[derive(Debug, Subcommand)]
pub enum ConsignmentCmd {
    /// Take in a consignment from its packing list: a CSV with a header naming the columns gtin, name,
    /// size (optional) and quantity, in any order; `,` or `;` separated (as Excel writes it), UTF-8 or
    /// Windows-1251. Products the station does not know are added. All or nothing: a file with a bad
    /// line imports nothing and names every bad line.
    Import {
        /// The packing list (CSV).
        file: PathBuf,
        /// The consignment's id: the warehouse's reference, e.g. the invoice or transport document number.
        #[arg(long)]
        id: String,
        /// The importer's BIN (12 digits).
        #[arg(long = "importer-bin", value_name = "BIN")]
        importer_bin: String,
        /// The importer's name, for the hand-over.
        #[arg(long = "importer-name", value_name = "NAME")]
        importer_name: Option<String>,
        /// Country of production (ISO 3166 alpha-2, e.g. CN): it goes into the application reports.
        #[arg(long)]
        country: String,
        /// Invoice reference.
        #[arg(long)]
        invoice: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Supervisor: raise the pairs a line declares, when the packing list was short (audited).
    Raise {
        id: String,
        #[arg(long)]
        gtin: crate::codes::Gtin,
        /// The pairs the line declares from now on (more than today).
        #[arg(long)]
        to: u64,
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
    },
    /// Every consignment with its status and pairs verified of declared.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One consignment: importer, declaration, and each line's progress.
    Show {
        id: String,
        /// One JSON object: id, status, declaration, lines[] (gtin, declared, labelled, verified,
        /// reported, introduced, refused), and the rest.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(paths: &Paths, config: &Config, cmd: &ConsignmentCmd) -> Result<ExitCode> {
    match cmd {
        ConsignmentCmd::Import {
            file,
            id,
            importer_bin,
            importer_name,
            country,
            invoice,
            json,
        } => {
            let bytes =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let list = match packing_list::parse(&bytes) {
                Ok(l) => l,
                Err(errors) => {
                    const SHOWN: usize = 50;
                    if *json {
                        println!(
                            "{}",
                            serde_json::json!({ "imported": false, "errors": errors })
                        );
                    }
                    for e in errors.iter().take(SHOWN) {
                        eprintln!("{}:{}: {}", file.display(), e.line, e.message);
                    }
                    if errors.len() > SHOWN {
                        eprintln!("... and {} more bad line(s)", errors.len() - SHOWN);
                    }
                    eprintln!(
                        "error: {} bad line(s) in {}; nothing was imported. Fix those lines and import the file again.",
                        errors.len(),
                        file.display()
                    );
                    return Ok(ExitCode::FAILURE);
                }
            };
            let sha = format!("{:x}", Sha256::digest(&bytes));
            let new = NewConsignment {
                id: id.trim().to_owned(),
                importer_bin: importer_bin.trim().to_owned(),
                importer_name: importer_name
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                country: country.trim().to_uppercase(),
                invoice: invoice
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            };
            let mut ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
            let done = ledger.import_consignment(
                &new,
                &list.declared(),
                &sha,
                &crate::cli::cli_actor(),
            )?;
            if *json {
                let c = ledger.consignment(&new.id)?;
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "imported": true,
                        "consignment": c,
                        "products_created": done.products_created,
                        "names_differ": done.names_differ,
                        "windows_1251": list.windows_1251,
                    }))?
                );
                return Ok(ExitCode::SUCCESS);
            }
            if list.windows_1251 {
                println!(
                    "{} is not UTF-8: read as Windows-1251 (Excel's CSV here); check the names below",
                    file.display()
                );
            }
            println!(
                "consignment {}: {} line(s), {} pair(s) declared",
                new.id,
                list.lines.len(),
                list.total()
            );
            for l in &list.lines {
                println!(
                    "  {}  {:>6}  {}{}",
                    l.gtin,
                    l.quantity,
                    l.name,
                    l.size
                        .as_deref()
                        .map(|s| format!(", size {s}"))
                        .unwrap_or_default()
                );
            }
            if !done.products_created.is_empty() {
                println!(
                    "{} new product(s) added from the packing list",
                    done.products_created.len()
                );
            }
            for (gtin, ours, theirs) in &done.names_differ {
                println!(
                    "note: GTIN {gtin} is {ours:?} here and {theirs:?} in the packing list; labels keep {ours:?}"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ConsignmentCmd::Raise { id, gtin, to, name } => {
            let sup = crate::station_cli::supervisor(paths, name.as_deref())?;
            let mut ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
            let room = ledger.raise_line(id.trim(), gtin, *to, sup.actor())?;
            println!(
                "consignment {}: GTIN {gtin} now declares {} pair(s); {} left to label",
                id.trim(),
                room.declared,
                room.left()
            );
            Ok(ExitCode::SUCCESS)
        }
        ConsignmentCmd::List { json } => {
            let ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
            let all = ledger.consignments()?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(ExitCode::SUCCESS);
            }
            if all.is_empty() {
                println!(
                    "no consignments yet: `labelstation consignment import FILE.csv --id ID --importer-bin BIN --country CC`"
                );
            }
            for c in &all {
                println!(
                    "{:<20} {:<10} importer {}  {}  {}/{} pairs verified  {} line(s)  since {}",
                    c.id,
                    c.status.as_str(),
                    c.importer_bin,
                    c.country,
                    c.verified(),
                    c.declared(),
                    c.lines.len(),
                    format_ms(c.created_at_ms)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ConsignmentCmd::Show { id, json } => {
            let ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
            let c = ledger.consignment(id.trim())?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                print_consignment(&c);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_consignment(c: &Consignment) {
    println!("consignment {}  {}", c.id, c.status.as_str());
    println!(
        "importer     {}{}",
        c.importer_bin,
        c.importer_name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    );
    println!("country      {}", c.country);
    if let Some(i) = &c.invoice {
        println!("invoice      {i}");
    }
    match &c.declaration {
        Some(d) => println!(
            "declaration  {} of {}{}",
            d.number,
            d.date,
            d.customs_office
                .as_deref()
                .map(|o| format!(", customs office {o}"))
                .unwrap_or_default()
        ),
        None => println!("declaration  not yet"),
    }
    println!(
        "{:<4} {:<14} {:>8} {:>8} {:>8} {:>8} {:>10} {:>7}  name",
        "line", "gtin", "declared", "labelled", "verified", "reported", "introduced", "refused"
    );
    for l in &c.lines {
        println!(
            "{:<4} {:<14} {:>8} {:>8} {:>8} {:>8} {:>10} {:>7}  {}{}",
            l.line,
            l.gtin,
            l.declared,
            l.labelled,
            l.verified,
            l.reported,
            l.introduced,
            l.refused,
            l.name,
            l.size
                .as_deref()
                .map(|s| format!(", size {s}"))
                .unwrap_or_default()
        );
    }
}
