// SPDX-License-Identifier: GPL-3.0-or-later
//! `DevicesAdapter`: printer, scanner, registry link and code pool, for the status strip and the
//! supervisor's pool page.

use slint::{ComponentHandle, Model, ModelRc, VecModel};

use super::errands::Ask;
use super::{
    AppWindow, DevicesAdapter, HeldRow, LineAdapter, LinkStatus, PoolRow, PrinterStatus, Shared,
};
use crate::engine::{Event, PrinterState};
use crate::ledger::reports::HeldReport;

pub(super) fn apply(app: &AppWindow, shared: &Shared, e: Event) {
    let d = app.global::<DevicesAdapter>();
    match e {
        Event::Printer { printer } => {
            d.set_printer_state(match printer.state {
                PrinterState::Unknown => PrinterStatus::Unknown,
                PrinterState::Ready => PrinterStatus::Ready,
                PrinterState::Printing => PrinterStatus::Printing,
                PrinterState::Problem => PrinterStatus::Problem,
                PrinterState::Offline => PrinterStatus::Offline,
            });
            d.set_printer_device(printer.device.into());
            d.set_printer_detail(printer.detail.unwrap_or_default().into());
            d.set_printer_remedy(printer.remedy.unwrap_or_default().into());
            d.set_printer_key(printer.key.unwrap_or_default().into());
            d.set_printer_args(super::line::args(printer.args));
        }
        Event::Scanner { scanner } => {
            d.set_scanner_connected(scanner.connected);
            d.set_scanner_device(scanner.device.into());
            d.set_scanner_detail(scanner.detail.into());
        }
        Event::Link { link } => {
            d.set_link_state(match link.state {
                crate::engine::LinkStatus::Unknown => LinkStatus::Unknown,
                crate::engine::LinkStatus::Up => LinkStatus::Up,
                crate::engine::LinkStatus::Down => LinkStatus::Down,
            });
            d.set_backlog(i32::try_from(link.backlog).unwrap_or(i32::MAX));
            d.set_link_last_success(
                link.last_success_ms
                    .map(super::local_time)
                    .unwrap_or_default()
                    .into(),
            );
            d.set_link_error(link.last_error.unwrap_or_default().into());
            // A pass may have held a report or a supervisor sent one again.
            shared.ask(Ask::Held);
        }
        Event::Pool { pool } => {
            let current = app.global::<LineAdapter>().get_product_gtin();
            let names = shared.with_state(|s| {
                s.products
                    .iter()
                    .map(|p| (p.gtin.clone(), p.name.clone()))
                    .collect::<std::collections::HashMap<_, _>>()
            });
            let low = pool
                .iter()
                .any(|p| p.low && (current.is_empty() || p.gtin == current.as_str()));
            let total: u64 = pool.iter().map(|p| p.available).sum();
            let rows: Vec<PoolRow> = pool
                .into_iter()
                .map(|p| PoolRow {
                    name: names.get(&p.gtin).cloned().unwrap_or_default().into(),
                    available: i32::try_from(p.available).unwrap_or(i32::MAX),
                    expiring: i32::try_from(p.expiring).unwrap_or(i32::MAX),
                    low: p.low,
                    gtin: p.gtin.into(),
                })
                .collect();
            d.set_pool_low(low);
            d.set_pool_total(i32::try_from(total).unwrap_or(i32::MAX));
            d.set_pool(ModelRc::new(VecModel::from(rows)));
            // The product's own count follows the pool.
            if let Some(p) = d.get_pool().iter().find(|p| p.gtin == current) {
                app.global::<LineAdapter>()
                    .set_product_available(p.available);
            }
        }
        _ => {}
    }
}

/// Reports the registry refused as a whole, for the registry card.
pub(super) fn set_held(app: &AppWindow, held: Vec<HeldReport>) {
    let rows: Vec<HeldRow> = held
        .iter()
        .map(|h| HeldRow {
            key: h.key().into(),
            args: super::line::args(vec![
                h.id.0.to_string(),
                h.codes.to_string(),
                super::local_time(h.held_ms),
            ]),
            reason: h.reason.as_str().into(),
            report: i32::try_from(h.id.0).unwrap_or(-1),
        })
        .collect();
    app.global::<DevicesAdapter>()
        .set_held_reports(ModelRc::new(VecModel::from(rows)));
}
