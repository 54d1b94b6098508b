// SPDX-License-Identifier: GPL-3.0-or-later
//! `labelstation status`: the station at a glance (whether it runs, the pool per product, codes waiting
//! for review or for a scan, what a stopped run left in flight, the registry backlog and sync, alarms),
//! as text or JSON.

use super::*;

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
    backlog: crate::ledger::reports::Backlog,
    sync: crate::ledger::reports::SyncStatus,
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
    codes: Vec<crate::ledger::InFlight>,
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
    let horizon = crate::ledger::now_ms()
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
            ms.map(crate::ledger::format_ms)
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
