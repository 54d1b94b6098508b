// SPDX-License-Identifier: GPL-3.0-or-later
//! `consignment import|raise|list|show|declare|submit|export`: consignments under customs control.
//! `cli.rs` dispatches; the packing list is read by [`crate::consignment::packing_list`], the ledger
//! keeps consignments ([`crate::ledger::consignments`]) and their import documents
//! ([`crate::ledger::documents`]), the sync sends them, and [`crate::consignment::handover`] writes the
//! hand-over files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use sha2::{Digest, Sha256};

use crate::config::RegistryApi;
use crate::config::{Config, Paths};
use crate::consignment::packing_list;
use crate::ledger::consignments::{Consignment, Declaration, NewConsignment};
use crate::ledger::documents::{DocumentKind, DocumentSummary};
use crate::ledger::{Ledger, StationLock, StoreError, format_ms};

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
    /// One consignment: importer, declaration, each line's progress and its import documents.
    Show {
        id: String,
        /// One JSON object: id, status, declaration, lines[] (gtin, declared, labelled, verified,
        /// reported, introduced, refused, returned, submitted), documents[], and the rest.
        #[arg(long)]
        json: bool,
    },
    /// Supervisor: record the customs declaration (ДТ) the goods are released under (audited). It can
    /// be corrected until an import document is filed under it.
    Declare {
        id: String,
        /// The declaration's registration number, as registered (e.g. 55201/020326/0001234).
        #[arg(long)]
        number: String,
        /// Its registration date, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        /// The code of the customs office that released the goods (e.g. 55201).
        #[arg(long = "customs-office", value_name = "CODE")]
        customs_office: Option<String>,
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
    },
    /// Supervisor: file the import notice that puts the consignment's applied pairs into circulation
    /// (xTrace `doc/import`, split at registry.report.import_document_size codes), then send it and
    /// follow it like any registry work (a sync pass now, the station's sync after). Never files a
    /// code twice, whatever happens to the answers.
    Submit {
        id: String,
        /// File the pairs whose application is accepted even though others still wait for theirs.
        #[arg(long)]
        partial: bool,
        /// Also file the codes the registry refused by name in an earlier document.
        #[arg(long = "retry-refused")]
        retry_refused: bool,
        /// Only write the documents; the station's sync (or `labelstation sync`) sends them.
        #[arg(long = "no-send")]
        no_send: bool,
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The hand-over for the importer or broker: a CSV of the identification codes (no crypto tail) as
    /// the registry's web cabinet takes them for an import notice, a CSV per line with each code's
    /// status, and a printable summary (HTML). Files are 0600 and never overwritten.
    Export {
        id: String,
        /// The directory to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
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
            let sup = crate::cli::station::supervisor(paths, name.as_deref())?;
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
            let docs = ledger.documents_of(id.trim())?;
            if *json {
                let mut v = serde_json::to_value(&c)?;
                v["documents"] = serde_json::to_value(&docs)?;
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print_consignment(&c);
                print_documents(&docs);
            }
            Ok(ExitCode::SUCCESS)
        }
        ConsignmentCmd::Declare {
            id,
            number,
            date,
            customs_office,
            name,
        } => {
            let sup = crate::cli::station::supervisor(paths, name.as_deref())?;
            let mut ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
            let decl = Declaration {
                number: number.trim().to_owned(),
                date: date.trim().to_owned(),
                customs_office: customs_office
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            };
            ledger.declare_consignment(id.trim(), &decl, sup.actor())?;
            let c = ledger.consignment(id.trim())?;
            println!(
                "consignment {}: declaration {} of {} recorded; {} of {} pair(s) applied. Next: `labelstation consignment submit {}`",
                c.id,
                decl.number,
                decl.date,
                c.lines.iter().map(|l| l.reported).sum::<u64>(),
                c.declared(),
                c.id
            );
            Ok(ExitCode::SUCCESS)
        }
        ConsignmentCmd::Submit {
            id,
            partial,
            retry_refused,
            no_send,
            name,
            json,
        } => submit(
            paths,
            config,
            id.trim(),
            *partial,
            *retry_refused,
            *no_send,
            name.as_deref(),
            *json,
        ),
        ConsignmentCmd::Export { id, out } => {
            let ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
            let written = crate::consignment::handover::export(&ledger, id.trim(), out)?;
            for f in &written {
                println!("{}", f.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn submit(
    paths: &Paths,
    config: &Config,
    id: &str,
    partial: bool,
    retry_refused: bool,
    no_send: bool,
    name: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    if config.registry.api == RegistryApi::OmsV2 {
        anyhow::bail!(
            "the older platform (registry.api = \"oms-v2\") has no import document in its API: {} (`labelstation consignment export {id} --out DIR`)",
            crate::registry::oms_client::IMPORT_REMEDY
        );
    }
    let sup = crate::cli::station::supervisor(paths, name)?;
    let mut ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
    let done = match ledger.submit_consignment(
        id,
        "xtrace",
        config.registry.report.import_document_size,
        partial,
        retry_refused,
        sup.actor(),
    ) {
        Ok(d) => d,
        Err(e @ StoreError::NotDeclared(_)) => anyhow::bail!(
            "{e}: record it first with `labelstation consignment declare {id} --number N --date YYYY-MM-DD`"
        ),
        Err(e @ StoreError::BoxesPending { .. }) => anyhow::bail!(
            "{e}. Close and label the boxes (`labelstation box list --consignment {id}`); the sync reports each box's aggregation once its pairs' application is accepted. Or file the others now with --partial"
        ),
        Err(e @ StoreError::ApplicationPending { .. }) => anyhow::bail!(
            "{e}. Let the sync report them (`labelstation sync --once`, or the running station), or file the others now with --partial"
        ),
        Err(e @ StoreError::NothingToSubmit { refused_before, .. }) if refused_before > 0 => {
            anyhow::bail!(
                "{e}. See why with `labelstation consignment show {id}`; after the cause is fixed, file them again with --retry-refused"
            )
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        println!("{}", serde_json::to_string(&done)?);
    } else {
        let boxed = if done.boxes > 0 {
            format!(
                " ({} of them in {} box(es) declared by their SSCC)",
                done.in_boxes, done.boxes
            )
        } else {
            String::new()
        };
        println!(
            "consignment {id}: {} code(s){boxed} in {} import document(s) (#{})",
            done.codes,
            done.documents.len(),
            done.documents
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", #")
        );
        if done.waiting > 0 {
            println!(
                "{} verified pair(s) still wait for their application; submit again once it is accepted",
                done.waiting
            );
        }
        if done.refused_before > 0 && !retry_refused {
            println!(
                "{} code(s) the registry refused before were left out (--retry-refused files them again)",
                done.refused_before
            );
        }
    }
    drop(ledger);
    if no_send {
        println!("the documents go with the next sync");
        return Ok(ExitCode::SUCCESS);
    }
    // The running station's sync holds the claim: it sends them on its next pass.
    match StationLock::acquire_sync(&paths.data_dir) {
        Ok(claim) => drop(claim),
        Err(StoreError::Busy { .. }) => {
            println!("the running station's sync sends the documents on its next pass");
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e.into()),
    }
    crate::cli::sync_once(paths, config)
}

fn print_documents(docs: &[DocumentSummary]) {
    if docs.is_empty() {
        return;
    }
    println!("documents");
    for d in docs {
        println!(
            "  #{:<4} {:<14} {:<8} {:>6} code(s), {} box(es): {} {}, {} refused, {} to submit again  {}{}",
            d.id,
            d.kind.as_str(),
            d.status.as_str(),
            d.codes,
            d.units,
            d.accepted,
            match d.kind {
                DocumentKind::Import => "in circulation",
                DocumentKind::Aggregation => "aggregated",
                DocumentKind::Disaggregation => "unpacked",
            },
            d.refused,
            d.returned,
            d.registry_id.as_deref().unwrap_or("(no registry id yet)"),
            d.reason
                .as_deref()
                .map(|r| format!("\n         {r}"))
                .unwrap_or_default()
        );
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
        "{:<4} {:<14} {:>8} {:>8} {:>8} {:>8} {:>10} {:>7} {:>8}  name",
        "line",
        "gtin",
        "declared",
        "labelled",
        "verified",
        "reported",
        "introduced",
        "refused",
        "returned"
    );
    for l in &c.lines {
        println!(
            "{:<4} {:<14} {:>8} {:>8} {:>8} {:>8} {:>10} {:>7} {:>8}  {}{}",
            l.line,
            l.gtin,
            l.declared,
            l.labelled,
            l.verified,
            l.reported,
            l.introduced,
            l.refused,
            l.returned,
            l.name,
            l.size
                .as_deref()
                .map(|s| format!(", size {s}"))
                .unwrap_or_default()
        );
    }
}
