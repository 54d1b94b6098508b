// SPDX-License-Identifier: GPL-3.0-or-later
//! `labelstation codes pull` (for a product, or for a consignment's lines) and `labelstation sync`:
//! the commands that talk to the registry, through the configured client.

use super::*;
use crate::ledger::documents::DocumentKind;

/// The configured registry client, and the in-process simulator behind it when `api = "sim"`.
fn registry(ctx: &Ctx) -> Result<(Box<dyn Registry>, Option<RegistrySim>)> {
    crate::compose::registry(&ctx.paths, &ctx.config)
}

pub(super) fn pull(ctx: &Ctx, gtin: &Gtin, quantity: u32, json: bool) -> Result<ExitCode> {
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
pub(super) fn pull_for_consignment(ctx: &Ctx, id: &str, json: bool) -> Result<ExitCode> {
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

/// One sync pass, as `labelstation sync --once` runs it (for commands that queue registry work).
pub(crate) fn sync_once(
    paths: &crate::config::Paths,
    config: &crate::config::Config,
) -> Result<ExitCode> {
    let ctx = Ctx {
        paths: paths.clone(),
        config: config.clone(),
    };
    sync(&ctx, true, false)
}

pub(super) fn sync(ctx: &Ctx, once: bool, json: bool) -> Result<ExitCode> {
    let _lock = StationLock::acquire_sync(&ctx.paths.data_dir)?;
    let mut ledger = ctx.ledger()?;
    let (mut client, _sim) = registry(ctx)?;
    let opts = crate::compose::sync_options(&ctx.config);
    let actor = cli_actor();
    let mut link_up = None;
    loop {
        let result = Syncer {
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
            SyncEvent::DocumentSent { document, kind, codes } => {
                eprintln!("document #{document} ({}): sent, {codes} entr(y/ies)", kind.as_str().to_lowercase())
            }
            SyncEvent::DocumentUnknown { document, reason } => eprintln!(
                "document #{document}: outcome unknown ({reason}); it is looked for in the registry, not sent again"
            ),
            SyncEvent::DocumentFound { document } => {
                eprintln!("document #{document}: found in the registry after a lost answer")
            }
            SyncEvent::DocumentAccepted { document, kind, codes } => match kind {
                DocumentKind::Import => {
                    eprintln!("document #{document}: accepted, {codes} code(s) or box(es) in circulation")
                }
                DocumentKind::Aggregation => {
                    eprintln!("document #{document}: aggregation accepted, {codes} box(es) reported")
                }
                DocumentKind::Disaggregation => {
                    eprintln!("document #{document}: disaggregation accepted, {codes} box(es) unpacked")
                }
            },
            SyncEvent::DocumentRefused { document, accepted, refused, returned, reason } => eprintln!(
                "document #{document}: {accepted} code(s) taken, {refused} refused, {returned} to submit again ({reason}); see `labelstation consignment show`"
            ),
            SyncEvent::DocumentNoTrace { document } => eprintln!(
                "document #{document}: no trace of it in the registry after the settle window; it is sent again"
            ),
            SyncEvent::DocumentWaits { document, reason } => {
                eprintln!("document #{document}: waits ({reason})")
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
                    if r.introduced > 0 || r.import_refused > 0 || backlog.documents_open > 0 {
                        println!(
                            "import documents: {} code(s) put into circulation, {} refused or to submit again; {} document(s) awaiting an answer",
                            r.introduced, r.import_refused, backlog.documents_open
                        );
                    }
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
