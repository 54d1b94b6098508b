// SPDX-License-Identifier: GPL-3.0-or-later
//! The engine thread: runs a [`Station`] off the UI thread, takes [`Command`]s, publishes [`Event`]s.
//! Between runs it keeps listening to the scanner (stickers of a roll applied later are verified; a
//! retail barcode picks the product), and refreshes printer state, pool alarms and the registry link.

use crate::notice::Notice;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::events::*;
use super::station::{Sink, Station};
use labelstation_codes::Gtin;
use labelstation_ledger::now_ms;

/// How often idle state is refreshed.
const STATUS_EVERY: Duration = Duration::from_secs(3);

/// A source of the registry link's state (the background sync).
pub type LinkSource = Box<dyn Fn() -> Option<LinkView> + Send>;

/// A running engine. Dropping it shuts the engine down and waits for it.
pub struct Engine {
    commands: Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    /// Start the engine on its own thread with `station` (its sink is replaced by the returned event
    /// channel). `product` is the product chosen at start; `link` reports the registry link.
    pub fn spawn(
        station: Station,
        product: Option<Gtin>,
        link: Option<LinkSource>,
    ) -> (Engine, Receiver<Event>) {
        let (cmd_tx, cmd_rx) = channel();
        let (ev_tx, ev_rx) = channel::<Event>();
        let ev_tx = std::sync::Mutex::new(ev_tx);
        let sink: Sink = Arc::new(move |e| {
            if let Ok(tx) = ev_tx.lock() {
                let _ = tx.send(e);
            }
        });
        let mut station = station;
        station.sink = sink;
        let station = station.with_commands(cmd_rx);
        let thread = std::thread::Builder::new()
            .name("station-engine".into())
            .spawn(move || engine_loop(station, product, link))
            .ok();
        (
            Engine {
                commands: cmd_tx,
                thread,
            },
            ev_rx,
        )
    }

    /// Send a command; false when the engine has stopped.
    pub fn send(&self, c: Command) -> bool {
        self.commands.send(c).is_ok()
    }

    /// A sender for screens on other threads.
    pub fn commands(&self) -> Sender<Command> {
        self.commands.clone()
    }

    /// Stop the engine (after the label in hand) and wait for it.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}

fn engine_loop(mut st: Station, mut product: Option<Gtin>, link: Option<LinkSource>) {
    publish_product(&st, product.as_ref());
    publish_status(&mut st);
    if let Err(e) = st.publish_box() {
        st.notice_error(&e);
    }
    st.emit(Event::Line {
        line: if st.is_stopped() {
            LineState::Stopped {
                reason: "too many failures: a supervisor must unlock the line".into(),
                key: "line-locked",
                args: Vec::new(),
            }
        } else {
            LineState::Idle
        },
    });
    let mut last_status = Instant::now();
    let mut last_link: Option<LinkView> = None;
    loop {
        st.poll_commands();
        if let Err(e) = st.close_box_if_asked() {
            st.notice_error(&e);
        }
        while let Some(cmd) = st.deferred.pop_front() {
            match cmd {
                Command::Shutdown => return,
                Command::SelectProduct(g) => {
                    select(&st, &mut product, g);
                    publish_consignment(&st, product.as_ref());
                }
                Command::LabelFor(k) => {
                    match k.as_deref().map(|id| st.ledger().consignment(id)) {
                        Some(Err(e)) => st.notice(Notice::ConsignmentUnknown {
                            error: e.to_string(),
                        }),
                        _ => st.label_for(k),
                    }
                    publish_consignment(&st, product.as_ref());
                    if let Err(e) = st.publish_box() {
                        st.notice_error(&e);
                    }
                }
                Command::DeclareConsignment {
                    consignment,
                    declaration,
                } => match st.supervisor() {
                    Some(sup) => match st.declare_consignment(&sup, &consignment, &declaration) {
                        Ok(()) => {
                            st.notice(Notice::ConsignmentDeclared {
                                consignment: consignment.clone(),
                                declaration: declaration.number.clone(),
                            });
                            st.emit(Event::Consignments);
                        }
                        Err(e) => st.notice(Notice::ConsignmentDeclareFailed {
                            error: e.to_string(),
                        }),
                    },
                    None => st.notice(Notice::ConsignmentNeedsPin),
                },
                Command::SubmitConsignment {
                    consignment,
                    api,
                    document_size,
                } => match st.supervisor() {
                    Some(sup) => {
                        match st.submit_consignment(&sup, &consignment, &api, document_size) {
                            Ok(done) => {
                                st.notice(Notice::ConsignmentSubmitted {
                                    consignment: consignment.clone(),
                                    codes: done.codes,
                                    documents: done.documents.len(),
                                });
                                st.emit(Event::Consignments);
                            }
                            Err(e) => st.notice(Notice::ConsignmentSubmitFailed {
                                error: e.to_string(),
                            }),
                        }
                    }
                    None => st.notice(Notice::ConsignmentNeedsPin),
                },
                Command::Start { count, mode } => {
                    let Some(g) = product.clone() else {
                        st.notice(Notice::ChooseProductFirst);
                        continue;
                    };
                    match st.run(&g, mode, count) {
                        Ok(s) => st.notice(Notice::RunFinished {
                            printed: s.printed,
                            verified: s.verified,
                            rejected: s.rejected,
                            waiting: s.waiting,
                        }),
                        Err(e) => st.notice_error(&e),
                    }
                    publish_product(&st, product.as_ref());
                    publish_consignment(&st, product.as_ref());
                    publish_pool(&st);
                }
                Command::Reprint { code } => match st.supervisor() {
                    Some(sup) => {
                        if let Err(e) =
                            st.reprint(&sup, code, "reprint from the review screen", true)
                        {
                            st.notice(Notice::ReprintFailed {
                                error: e.to_string(),
                            });
                        }
                    }
                    None => st.notice(Notice::ReprintNeedsPin),
                },
                Command::ConfirmApplied { code } => match st.supervisor() {
                    Some(sup) => match st.confirm_applied(&sup, code, Duration::from_secs(60)) {
                        Ok(true) => st.notice(Notice::Confirmed),
                        Ok(false) => st.notice(Notice::NotConfirmed),
                        Err(e) => st.notice(Notice::ConfirmFailed {
                            error: e.to_string(),
                        }),
                    },
                    None => st.notice(Notice::ConfirmNeedsPin),
                },
                Command::SendAgain { code } => match st.supervisor() {
                    Some(sup) => match st.send_again(&sup, code) {
                        Ok(()) => st.notice(Notice::SentAgain),
                        Err(e) => st.notice(Notice::SendAgainFailed {
                            error: e.to_string(),
                        }),
                    },
                    None => st.notice(Notice::SendAgainNeedsPin),
                },
                Command::StickerMissing { code } => match st.supervisor() {
                    Some(sup) => match st.sticker_missing(&sup, code, "") {
                        Ok(()) => st.notice(Notice::StickerMissingNoted),
                        Err(e) => st.notice(Notice::StickerMissingFailed {
                            error: e.to_string(),
                        }),
                    },
                    None => st.notice(Notice::StickerMissingNeedsPin),
                },
                Command::CloseStickerAlert { alert, found } => match st.supervisor() {
                    Some(sup) => match st.close_sticker_alert(&sup, alert, &found) {
                        Ok(()) => st.notice(Notice::StickerAlertClosed { alert: alert.0 }),
                        Err(e) => st.notice(Notice::StickerAlertCloseFailed {
                            error: e.to_string(),
                        }),
                    },
                    None => st.notice(Notice::StickerAlertCloseNeedsPin),
                },
                Command::ApplySettings(choice) => apply_settings(&mut st, &choice),
                Command::ReprintBoxLabel { sscc } => match st.supervisor() {
                    Some(sup) => {
                        if let Err(e) = st.reprint_box_label(&sup, &sscc) {
                            st.notice(Notice::BoxReprintFailed {
                                error: e.to_string(),
                            });
                        }
                    }
                    None => st.notice(Notice::BoxReprintNeedsPin),
                },
                Command::TestPrint => match st.test_print() {
                    Ok(outcome) => match (outcome.key(), outcome.remedy()) {
                        (Some(key), Some(r)) => st.notice(Notice::TestPrintProblem {
                            problem: key,
                            remedy: r,
                        }),
                        _ => st.notice(Notice::TestPrinted),
                    },
                    Err(e) => st.notice(Notice::TestPrintFailed {
                        error: e.to_string(),
                    }),
                },
                Command::Refresh => {
                    publish_status(&mut st);
                    last_status = Instant::now();
                }
                // Run signals with no run going, and session commands already handled.
                _ => {}
            }
        }
        match st.take_scans(Duration::from_millis(100)) {
            Ok((_, retail)) => {
                for g in retail {
                    select(&st, &mut product, g);
                    publish_consignment(&st, product.as_ref());
                }
            }
            Err(e) => {
                st.notice_error(&e);
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        if last_status.elapsed() >= STATUS_EVERY {
            publish_status(&mut st);
            last_status = Instant::now();
        }
        if let Some(view) = link.as_ref().and_then(|f| f())
            && last_link.as_ref() != Some(&view)
        {
            st.emit(Event::Link { link: view.clone() });
            last_link = Some(view);
        }
    }
}

fn select(st: &Station, product: &mut Option<Gtin>, g: Gtin) {
    match st.ledger().product(&g) {
        Ok(Some(_)) => {
            *product = Some(g);
            publish_product(st, product.as_ref());
        }
        Ok(None) => st.notice(Notice::ProductNotRegistered {
            gtin: g.to_string(),
        }),
        Err(e) => st.notice_error(&e.into()),
    }
}

fn publish_product(st: &Station, gtin: Option<&Gtin>) {
    let product = gtin
        .and_then(|g| st.ledger().product(g).ok().flatten())
        .map(|p| {
            let available = st
                .ledger()
                .balance()
                .ok()
                .and_then(|b| b.into_iter().find(|b| b.gtin == p.gtin.as_str()))
                .map(|b| b.states.get("AVAILABLE").copied().unwrap_or(0))
                .unwrap_or(0);
            ProductView {
                gtin: p.gtin.to_string(),
                name: p.name,
                size: p.size,
                available,
            }
        });
    st.emit(Event::Product { product });
}

/// The consignment being labelled for and the chosen product's line of it.
fn publish_consignment(st: &Station, gtin: Option<&Gtin>) {
    let consignment = st.labelling_for().and_then(|id| {
        let c = st.ledger().consignment(id).ok()?;
        let line = gtin.and_then(|g| c.lines.iter().find(|l| l.gtin == *g));
        Some(ConsignmentLineView {
            id: c.id.clone(),
            declared: line.map_or(0, |l| l.declared),
            labelled: line.map_or(0, |l| l.labelled),
            verified: line.map_or(0, |l| l.verified),
            listed: line.is_some(),
        })
    });
    st.emit(Event::Consignment { consignment });
}

fn publish_pool(st: &Station) {
    let horizon = now_ms()
        + i64::try_from(st.line.expiry_warning_days)
            .unwrap_or(0)
            .saturating_mul(86_400_000);
    match st.ledger().pool_levels(horizon) {
        Ok(levels) => {
            let pool = levels
                .into_iter()
                .map(|(gtin, available, expiring)| PoolView {
                    low: available < st.line.low_pool_threshold,
                    gtin,
                    available,
                    expiring,
                })
                .collect();
            st.emit(Event::Pool { pool });
        }
        Err(e) => st.notice_error(&e.into()),
    }
}

/// Printer state, pool, review queue and counters, for a screen that just connected or refreshes.
fn publish_status(st: &mut Station) {
    use super::station::Trouble;
    use labelstation_printer::status::StatusReply;
    // A lost link is reopened between runs too (with the driver's backoff), so the strip shows it back.
    if !matches!(st.printer.link(), labelstation_printer::LinkState::Up) {
        st.restore_link();
    }
    let view = match st.printer.host_status() {
        Ok(StatusReply::Host(s)) => {
            let problems = s.problems();
            match problems.iter().find(|p| p.is_blocking()) {
                Some(p) => (PrinterState::Problem, Some(Trouble::of(p))),
                None if s.is_idle() => (PrinterState::Ready, None),
                None => (PrinterState::Printing, None),
            }
        }
        Ok(StatusReply::NoReply) => {
            let p = st
                .printer
                .extended_status()
                .ok()
                .flatten()
                .and_then(|e| e.problems().into_iter().find(|p| p.is_blocking()));
            match p {
                Some(p) => (PrinterState::Problem, Some(Trouble::of(&p))),
                None => (
                    PrinterState::Problem,
                    Some(Trouble::new(
                        "no-status",
                        None,
                        "the printer does not answer status requests",
                        "Check the printer's display for an error (paper, ribbon, head)",
                    )),
                ),
            }
        }
        Err(labelstation_printer::PrinterError::NoStatusChannel { .. }) => {
            (PrinterState::Unknown, None)
        }
        Err(e) if e.is_disconnect() => (
            PrinterState::Offline,
            Some(Trouble::link_down(&e.to_string())),
        ),
        Err(e) => (
            PrinterState::Offline,
            Some(Trouble::new(
                "offline",
                Some(e.to_string()),
                e.to_string(),
                "Check the printer is on and connected",
            )),
        ),
    };
    st.emit_printer(view.0, view.1.as_ref());
    let state = st.scanner.state().clone();
    st.emit_scanner(&state);
    publish_pool(st);
    st.emit(Event::Review {
        waiting: st.review_len(),
    });
    st.emit(Event::Counters {
        counters: st.counters(),
    });
}

/// Apply the Settings page's choice (supervisor only) and answer with what is in use now.
fn apply_settings(st: &mut Station, choice: &crate::reconfigure::DeviceChoice) {
    let outcome = match st.supervisor() {
        None => Err(None),
        Some(sup) => st
            .apply_settings(&sup, choice)
            .map_err(|e| Some(e.to_string())),
    };
    let now = st.device_choice();
    let (applied, message, key, args) = match outcome {
        Ok(_) => (
            true,
            format!(
                "Applied: printer {}, scanner {}, label {} at {} dpi",
                now.printer, now.scanner, now.label.template, now.label.dpi
            ),
            "settings-applied",
            vec![
                now.printer.clone(),
                now.scanner.clone(),
                now.label.template.clone(),
                now.label.dpi.to_string(),
            ],
        ),
        Err(None) => (
            false,
            "Changing the settings needs the supervisor PIN".to_owned(),
            "settings-need-pin",
            vec![],
        ),
        Err(Some(e)) => (
            false,
            format!("Not applied, the station keeps its settings: {e}"),
            "settings-not-applied",
            vec![e],
        ),
    };
    st.emit(Event::Settings {
        applied,
        printer: now.printer,
        scanner: now.scanner,
        template: now.label.template,
        dpi: now.label.dpi,
        message,
        key,
        args,
    });
    if applied {
        publish_status(st);
    }
}
