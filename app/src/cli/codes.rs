// SPDX-License-Identifier: GPL-3.0-or-later
//! `codes held` (codes held after a restore: list, ask the registry, release) and `codes orders` (registry
//! orders: list, abandon). `cli.rs` parses and dispatches; the work is in [`crate::ledger`] and
//! [`crate::registry`].

use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Subcommand;

use crate::codes::Gtin;
use crate::config::{Config, Paths};
use crate::ledger::holds::Release;
use crate::ledger::orders::{OrderId, OrderRecord, OrderStatus};
use crate::ledger::{Actor, Ledger, StationLock, format_ms};
use crate::registry::pull::{Pull, PullEvent, PullOptions};

#[derive(Debug, Subcommand)]
pub enum HeldCmd {
    /// Ask the registry about every held code: applied or written off there → review; RECEIVED stays
    /// held (it proves nothing: a sticker applied but not yet reported shows RECEIVED).
    Check {
        #[arg(long)]
        json: bool,
    },
    /// Supervisor: release held codes to the pool, after checking the ledger kept aside by the restore
    /// and the stickers. `--after CODE`: CODE is the last sticker printed of its product; held codes up
    /// to it go to review, those after it are released.
    Release {
        /// Every held code.
        #[arg(long, conflicts_with_all = ["gtin", "after"], required_unless_present_any = ["gtin", "after"])]
        all: bool,
        /// The held codes of one product.
        #[arg(long, conflicts_with = "after")]
        gtin: Option<Gtin>,
        /// The last sticker printed of its product: its number (`codes held`, `review list`) or
        /// (01)GTIN(21)SERIAL.
        #[arg(long, value_name = "CODE")]
        after: Option<String>,
        /// What was checked, for the audit log (e.g. "kept ledger: last printed #812; box 44 sticker matches").
        #[arg(long, value_name = "NOTE")]
        checked: String,
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrdersCmd {
    /// Supervisor: give up an unfinished order. It takes no more codes (those already taken stay, and
    /// so do codes the registry issued whose answer was lost: they are fetched first); its registry
    /// order is closed now if the registry answers, else by the next pull.
    Abandon {
        /// The order number from `codes orders`.
        order: i64,
        /// Why, for the audit log.
        #[arg(long)]
        reason: String,
        /// Abandon even when the registry cannot say whether it issued codes whose answer was lost
        /// (those codes would then never reach the pool).
        #[arg(long)]
        unchecked: bool,
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
    },
}

/// `codes held`: the held codes per product, in the pool's order.
pub fn held_list(paths: &Paths, config: &Config, json: bool) -> Result<ExitCode> {
    let ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
    let products = ledger.held_products()?;
    let codes = ledger.held_codes(None, 100_000)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "products": products, "codes": codes })
            )?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if products.is_empty() {
        println!("no code is held");
        return Ok(ExitCode::SUCCESS);
    }
    for p in &products {
        println!(
            "GTIN {}: {} code(s) held since {}",
            p.gtin,
            p.held,
            format_ms(p.since_ms)
        );
        for c in codes.iter().filter(|c| c.gtin == p.gtin) {
            println!(
                "  #{:<7} pool place {:<6} {}  registry: {}",
                c.id.0,
                c.position,
                c.masked,
                match (&c.registry_state, c.registry_checked_at_ms) {
                    (Some(s), Some(at)) => format!("{s} at {}", format_ms(at)),
                    _ => "not asked yet".into(),
                }
            );
        }
    }
    if let Some(c) = codes.first() {
        println!("held because: {}", c.note);
    }
    println!(
        "A station takes codes in pool order, so whatever was printed after the backup is at the top of each list.\n\
         1. `labelstation codes held check` asks the registry: codes it shows applied or written off go to review.\n\
         2. Compare with the ledger kept aside by the restore (ledger.sqlite3.before-restore-*) and the stickers on the\n\
            newest boxes and rolls: find the last sticker printed of each product.\n\
         3. A supervisor releases: `labelstation codes held release --after CODE --checked \"...\"` (CODE: that last\n\
            sticker; codes up to it go to review), or `--gtin G` when nothing of G was printed since the backup."
    );
    Ok(ExitCode::SUCCESS)
}

pub fn held(paths: &Paths, config: &Config, cmd: &HeldCmd) -> Result<ExitCode> {
    match cmd {
        HeldCmd::Check { json } => {
            let mut ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
            if ledger.held_products()?.is_empty() {
                println!("no code is held");
                return Ok(ExitCode::SUCCESS);
            }
            let (mut client, _sim) = crate::compose::registry(paths, config)?;
            let actor = Actor::system(format!(
                "cli:{}",
                std::env::var("USER").unwrap_or_else(|_| "unknown".into())
            ));
            let r = crate::registry::held::check_held(
                &mut ledger,
                client.as_mut(),
                &actor,
                crate::registry::held::LOOKUP_CHUNK,
            )?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "asked the registry about {} held code(s): {} used (applied or written off there) moved to review; {} RECEIVED and {} unknown to it stay held",
                    r.checked, r.used, r.received, r.other
                );
                if r.used > 0 {
                    println!(
                        "review them: `labelstation review list` (confirm by scanning the sticker, or write off; never reprint)"
                    );
                }
                if r.received + r.other > 0 {
                    println!(
                        "RECEIVED proves nothing (a sticker applied but not yet reported shows it): a supervisor releases those after checking (`labelstation codes held`)"
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        HeldCmd::Release {
            all,
            gtin,
            after,
            checked,
            name,
        } => {
            if checked.trim().is_empty() {
                bail!(
                    "--checked is empty: say what was checked (the kept ledger, the last stickers) before releasing"
                );
            }
            let sup = crate::cli::station::supervisor(paths, name.as_deref())?;
            let mut ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
            let what = match (all, gtin, after) {
                (true, _, _) => Release::All,
                (_, Some(g), _) => Release::Product(g.clone()),
                (_, _, Some(code)) => {
                    Release::After(crate::cli::station::resolve_code(&ledger, code)?)
                }
                _ => bail!("say which held codes: --all, --gtin G or --after CODE"),
            };
            let r = ledger.release_held(&what, checked.trim(), sup.actor())?;
            println!(
                "released {} held code(s) to the pool; {} that came before the last sticker went to review",
                r.released, r.to_review
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `codes orders`: every order, newest first, with its state and why.
pub fn orders_list(paths: &Paths, config: &Config, json: bool) -> Result<ExitCode> {
    let ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
    let orders = ledger.orders(10_000)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&orders)?);
        return Ok(ExitCode::SUCCESS);
    }
    if orders.is_empty() {
        println!("no orders yet: `labelstation codes pull --gtin G --quantity N` orders codes");
        return Ok(ExitCode::SUCCESS);
    }
    for o in &orders {
        println!(
            "#{:<5} {:<9} {:<7} GTIN {}  {}/{} codes  {}  registry {}{}",
            o.id.0,
            o.status.as_str(),
            o.api,
            o.gtin,
            o.received,
            o.quantity,
            format_ms(o.created_at_ms),
            o.registry_id.as_deref().unwrap_or("-"),
            why(o)
        );
    }
    if orders
        .iter()
        .any(|o| o.status.is_unfinished() && o.last_error.is_some())
    {
        println!(
            "An unfinished order that fails holds up new orders of its product only: `labelstation codes pull --gtin G --quantity 0` tries it again; a supervisor gives it up with `labelstation codes orders abandon ORDER --reason \"...\"`."
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What to say after an order's line: why it ended, or what stands in its way.
fn why(o: &OrderRecord) -> String {
    match o.status {
        OrderStatus::Rejected | OrderStatus::Abandoned => {
            let mut s = format!(": {}", o.reason.as_deref().unwrap_or("no reason given"));
            if o.status == OrderStatus::Abandoned {
                match (o.registry_closed_at_ms, &o.last_error) {
                    (Some(_), Some(note)) => s.push_str(&format!(" (registry: {note})")),
                    (None, Some(e)) => s.push_str(&format!(
                        " (registry order not closed yet, the next pull tries again: {e})"
                    )),
                    (None, None) => s.push_str(" (registry order not closed yet)"),
                    (Some(_), None) => {}
                }
            }
            s
        }
        OrderStatus::Requested | OrderStatus::Open => o
            .last_error
            .as_deref()
            .map(|e| format!(": stuck: {e}"))
            .unwrap_or_default(),
        OrderStatus::Closed => String::new(),
    }
}

pub fn orders(paths: &Paths, config: &Config, cmd: &OrdersCmd) -> Result<ExitCode> {
    match cmd {
        OrdersCmd::Abandon {
            order,
            reason,
            unchecked,
            name,
        } => {
            if reason.trim().is_empty() {
                bail!("--reason is empty: say why the order is abandoned");
            }
            let sup = crate::cli::station::supervisor(paths, name.as_deref())?;
            // A pull must not be working on the order meanwhile.
            let _lock = StationLock::acquire_pull(&paths.data_dir)?;
            let mut ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
            let id = OrderId(*order);
            let before = ledger.order(id)?;
            let format = config.codes.format();
            let mut registry = crate::compose::registry(paths, config);
            // Codes the registry issued for it whose answer never arrived come into the pool first:
            // once the order is given up, nothing would fetch them.
            if before.status.is_unfinished() && before.registry_id.is_some() {
                let recovered = match &mut registry {
                    Ok((client, _sim)) if client.api() == before.api => Pull {
                        ledger: &mut ledger,
                        registry: client.as_mut(),
                        format: &format,
                        opts: PullOptions::default(),
                        actor: sup.actor(),
                    }
                    .recover_lost_packs(id)
                    .map_err(|e| e.to_string()),
                    Ok((client, _sim)) => Err(format!(
                        "the order went to the {} registry, this station is set up for {}",
                        before.api,
                        client.api()
                    )),
                    Err(e) => Err(format!("{e:#}")),
                };
                match recovered {
                    Ok(0) => {}
                    Ok(n) => println!(
                        "order #{}: {n} code(s) the registry issued but whose answer was lost are now in the pool",
                        id.0
                    ),
                    Err(e) if *unchecked => println!(
                        "order #{}: not checked for codes issued with a lost answer ({e}); abandoned anyway (--unchecked)",
                        id.0
                    ),
                    Err(e) => bail!(
                        "order #{} is not abandoned: the registry could not say whether it issued codes for it whose answer was lost ({e}). Try again when the registry answers; `--unchecked` abandons it now, and then any such codes stay issued in the registry but never reach this station's pool (withdraw them in the registry's cabinet)",
                        id.0
                    ),
                }
            }
            let o = ledger.order_abandoned(id, reason.trim(), sup.actor())?;
            println!(
                "order #{} abandoned: it takes no more codes ({} of {} taken stay in the pool)",
                o.id.0, o.received, o.quantity
            );
            // Close its registry order now if the registry answers; a later pull does it otherwise.
            let closed = registry.map(|(mut client, _sim)| {
                if client.api() != o.api {
                    return false;
                }
                let mut said = false;
                let result = Pull {
                    ledger: &mut ledger,
                    registry: client.as_mut(),
                    format: &format,
                    opts: PullOptions::default(),
                    actor: sup.actor(),
                }
                .close_abandoned(&mut |e| match e {
                    PullEvent::AbandonedClosed { order, note } => {
                        said |= order == o.id.0;
                        println!("order #{order}: {note}");
                    }
                    PullEvent::AbandonedOpen { order, reason } => {
                        println!("order #{order}: its registry order is not closed yet ({reason}); the next pull tries again")
                    }
                    _ => {}
                });
                if let Err(e) = result {
                    println!(
                        "the registry could not be asked ({e}); the next pull closes the registry order"
                    );
                }
                said
            });
            if let Err(e) = closed {
                println!(
                    "the registry is not reachable from here ({e:#}); the next pull closes the registry order"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
