// SPDX-License-Identifier: GPL-3.0-or-later
//! `LineAdapter`: the product, the run, the verdict banner, the label preview, the shift counters.

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::errands::ProductInfo;
use super::{AppWindow, LineAdapter, LineKind, NoticeSeverity, ProductRow, Shared, image};
use crate::codes::Gtin;
use crate::engine::{Command, Event, LabelPhase, LineState, Mode, Severity};
use crate::verdict::ScanVerdict;

pub(super) fn wire(app: &AppWindow, shared: &Shared) {
    let line = app.global::<LineAdapter>();
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        line.on_print(move || {
            let Some(app) = weak.upgrade() else { return };
            let l = app.global::<LineAdapter>();
            let count = u32::try_from(l.get_count()).unwrap_or(1).max(1);
            let mode = if l.get_batch() {
                Mode::Batch
            } else {
                Mode::Inline
            };
            l.set_verdict_kind(SharedString::new());
            l.set_verdict_code(SharedString::new());
            // Shown at once; the engine's own Running event follows.
            l.set_line_kind(LineKind::Running);
            l.set_done(0);
            l.set_total(i32::try_from(count).unwrap_or(i32::MAX));
            shared.send(Command::Start { count, mode });
        });
    }
    {
        let shared = shared.clone();
        line.on_stop(move || shared.send(Command::Stop));
    }
    {
        let shared = shared.clone();
        line.on_unreadable(move || shared.send(Command::Unreadable));
    }
    {
        let shared = shared.clone();
        line.on_cancel_label(move || shared.send(Command::CancelLabel));
    }
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        line.on_choose_product(move || {
            if let Some(app) = weak.upgrade() {
                let l = app.global::<LineAdapter>();
                l.set_product_filter(SharedString::new());
                show_products(&app, &shared, "");
                l.set_choosing_product(true);
            }
            shared.ask(super::errands::Ask::Products);
            shared.ask(super::errands::Ask::Consignments);
        });
    }
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        line.on_select_product(move |gtin| {
            if let Some(app) = weak.upgrade() {
                app.global::<LineAdapter>().set_choosing_product(false);
            }
            match Gtin::parse(&gtin) {
                Ok(g) => shared.send(Command::SelectProduct(g)),
                Err(e) => tracing::warn!("product list holds a bad GTIN {gtin}: {e}"),
            }
        });
    }
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        line.on_filter_key(move |key| {
            let Some(app) = weak.upgrade() else { return };
            let l = app.global::<LineAdapter>();
            let mut text = l.get_product_filter().to_string();
            match key.as_str() {
                "" => text.clear(),
                "\u{8}" => {
                    text.pop();
                }
                k => text.push_str(k),
            }
            l.set_product_filter(text.as_str().into());
            show_products(&app, &shared, &text);
        });
    }
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        line.on_filter_products(move |text| {
            if let Some(app) = weak.upgrade() {
                show_products(&app, &shared, &text);
            }
        });
    }
}

pub(super) fn set_products(app: &AppWindow, shared: &Shared, products: Vec<ProductInfo>) {
    shared.with_state(|s| s.products = products);
    let filter = app.global::<LineAdapter>().get_product_filter();
    show_products(app, shared, &filter);
}

fn show_products(app: &AppWindow, shared: &Shared, filter: &str) {
    let needle = filter.trim().to_lowercase();
    let rows: Vec<ProductRow> = shared.with_state(|s| {
        s.products
            .iter()
            .filter(|p| {
                needle.is_empty()
                    || p.name.to_lowercase().contains(&needle)
                    || p.gtin.contains(&needle)
            })
            .map(|p| ProductRow {
                gtin: p.gtin.as_str().into(),
                name: p.name.as_str().into(),
                size: p.size.as_str().into(),
                available: i32::try_from(p.available).unwrap_or(i32::MAX),
            })
            .collect()
    });
    app.global::<LineAdapter>()
        .set_products(ModelRc::new(VecModel::from(rows)));
}

fn severity(s: Severity) -> NoticeSeverity {
    match s {
        Severity::Ok => NoticeSeverity::Ok,
        Severity::Info => NoticeSeverity::Info,
        Severity::Warning => NoticeSeverity::Warning,
        Severity::Alert => NoticeSeverity::Alert,
    }
}

/// An engine sentence's values, for a `Words` function.
pub(super) fn args(v: Vec<String>) -> ModelRc<SharedString> {
    ModelRc::new(VecModel::from(
        v.into_iter().map(SharedString::from).collect::<Vec<_>>(),
    ))
}

fn n(v: u64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

pub(super) fn apply(app: &AppWindow, shared: &Shared, e: Event) {
    let l = app.global::<LineAdapter>();
    match e {
        Event::Product { product } => match product {
            Some(p) => {
                l.set_has_product(true);
                l.set_product_name(p.name.into());
                l.set_product_size(p.size.unwrap_or_default().into());
                l.set_product_gtin(p.gtin.into());
                l.set_product_available(n(p.available));
            }
            None => l.set_has_product(false),
        },
        Event::Label {
            masked,
            phase,
            preview,
            ..
        } => {
            if let Some(bitmap) = preview {
                l.set_preview(image(&bitmap));
                l.set_has_preview(true);
                l.set_preview_code(masked.as_str().into());
            }
            match phase {
                LabelPhase::Rejected { .. } => {
                    l.set_verdict_kind("rejected".into());
                    l.set_verdict_code(masked.as_str().into());
                }
                LabelPhase::Printed | LabelPhase::Sent => {
                    shared.with_state(|s| s.last_label = masked.clone());
                }
                _ => {}
            }
        }
        Event::Verdict {
            verdict, message, ..
        } => {
            let code = match &verdict {
                ScanVerdict::Mismatch { scanned, .. } => scanned.clone(),
                ScanVerdict::Match { .. } => shared.with_state(|s| s.last_label.clone()),
                ScanVerdict::Retail { gtin } => gtin.clone(),
                _ => String::new(),
            };
            l.set_verdict_kind(verdict.kind().into());
            l.set_verdict_message(message.into());
            l.set_verdict_code(code.into());
        }
        Event::Line { line } => {
            let mut key = "";
            let mut values = Vec::new();
            let (kind, detail, remedy) = match line {
                LineState::Idle => (LineKind::Idle, String::new(), String::new()),
                LineState::Running { done, total, .. } => {
                    l.set_done(i32::try_from(done).unwrap_or(i32::MAX));
                    l.set_total(i32::try_from(total).unwrap_or(i32::MAX));
                    (LineKind::Running, String::new(), String::new())
                }
                LineState::AwaitingScan {
                    masked,
                    seconds_left,
                } => {
                    l.set_seconds_left(n(seconds_left));
                    (LineKind::AwaitingScan, masked, String::new())
                }
                LineState::AwaitingBatch { waiting } => {
                    l.set_done(n(waiting));
                    (LineKind::AwaitingBatch, String::new(), String::new())
                }
                LineState::Paused {
                    reason,
                    remedy,
                    key: k,
                    args: a,
                } => {
                    (key, values) = (k, a);
                    (LineKind::Paused, reason, remedy)
                }
                LineState::Stopped {
                    reason,
                    key: k,
                    args: a,
                } => {
                    (key, values) = (k, a);
                    (LineKind::Stopped, String::new(), reason)
                }
            };
            l.set_line_key(key.into());
            l.set_line_args(args(values));
            l.set_line_kind(kind);
            l.set_line_detail(detail.into());
            l.set_line_remedy(remedy.into());
        }
        Event::Counters { counters } => {
            shared.with_state(|s| s.counters = counters);
            l.set_printed(n(counters.printed));
            l.set_verified(n(counters.verified));
            l.set_rejected(n(counters.rejected));
            l.set_warnings(n(counters.warnings));
        }
        Event::Notice(notice) => {
            l.set_notice(notice.text().into());
            l.set_notice_key(notice.key().into());
            l.set_notice_args(args(notice.args()));
            l.set_notice_severity(severity(notice.severity()));
        }
        _ => {}
    }
}
