// SPDX-License-Identifier: GPL-3.0-or-later
//! `ReviewAdapter`: the supervisor's PIN, the open second-sticker alerts, the review queue (with each
//! code's label image and print attempts) and the roll stickers still waiting for a scan, the audit
//! log, the shift report. Every move is the engine's (it checks the PIN) and the ledger's (it refuses
//! reprinting a verified code, it audits closing an alert); this file only asks and shows.

use std::path::PathBuf;
use std::sync::Arc;

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::errands::{Ask, AuditLine};
use super::{
    AppWindow, AuditRow, LineAdapter, PinErrorKind, PrintRow, ReviewAdapter, ReviewRowData, Shared,
    StickerAlertRow, image,
};
use crate::engine::{Command, Event, Notice, Severity};
use crate::ledger::review::{PrintStep, ReviewItem};
use crate::ledger::stickers::{StickerAlert, StickerAlertId};
use crate::ledger::{CodeId, CodeState};

pub(super) fn wire(app: &AppWindow, shared: &Shared, demo_hint: Option<&str>) {
    let r = app.global::<ReviewAdapter>();
    r.set_demo_hint(demo_hint.unwrap_or_default().into());
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        r.on_login(move |pin| {
            shared.with_state(|s| s.pin_pending = true);
            if let Some(app) = weak.upgrade() {
                let r = app.global::<ReviewAdapter>();
                r.set_pin_busy(true);
                r.set_pin_error_kind(PinErrorKind::None);
                r.set_pin_error(SharedString::new());
                r.set_pin_error_key(SharedString::new());
            }
            shared.send(Command::SupervisorLogin {
                name: "supervisor".into(),
                pin: pin.to_string(),
            });
        });
    }
    {
        let shared = shared.clone();
        r.on_logout(move || shared.send(Command::SupervisorLogout));
    }
    {
        let shared = shared.clone();
        r.on_unlock(move || shared.send(Command::Unlock));
    }
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        r.on_select(move |i| {
            let Some(app) = weak.upgrade() else { return };
            let r = app.global::<ReviewAdapter>();
            r.set_selected(i);
            r.set_has_selected_image(false);
            let id = shared.with_state(|s| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| s.review.get(i))
                    .map(|item| item.id)
            });
            if let Some(id) = id {
                shared.ask(Ask::ReviewImage(id));
            }
        });
    }
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        r.on_reprint(move |id| {
            shared.send(Command::Reprint {
                code: CodeId(i64::from(id)),
            });
            note(&weak, "reprint");
        });
    }
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        r.on_write_off(move |id, reason| {
            shared.send(Command::WriteOff {
                code: CodeId(i64::from(id)),
                reason: reason.to_string(),
            });
            note(&weak, "write-off");
        });
    }
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        r.on_confirm(move |id| {
            shared.send(Command::ConfirmApplied {
                code: CodeId(i64::from(id)),
            });
            note(&weak, "confirm");
        });
    }
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        r.on_send_again(move |id| {
            shared.send(Command::SendAgain {
                code: CodeId(i64::from(id)),
            });
            note(&weak, "send-again");
        });
    }
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        r.on_sticker_missing(move |id| {
            shared.send(Command::StickerMissing {
                code: CodeId(i64::from(id)),
            });
            note(&weak, "sticker-missing");
        });
    }
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        r.on_close_sticker(move |id, found| {
            shared.send(Command::CloseStickerAlert {
                alert: StickerAlertId(i64::from(id)),
                found: found.to_string(),
            });
            note(&weak, "close-sticker");
        });
    }
    {
        let shared = shared.clone();
        r.on_refresh(move || {
            shared.ask(Ask::Review);
            shared.ask(Ask::Audit);
            shared.ask(Ask::Held);
            shared.ask(Ask::Consignments);
        });
    }
    {
        let shared = shared.clone();
        r.on_export_report(move || {
            let counters = shared.with_state(|s| s.counters);
            shared.ask(Ask::Export(counters));
        });
    }
}

/// What the supervisor just asked for, until the engine answers.
fn note(weak: &slint::Weak<AppWindow>, what: &str) {
    if let Some(app) = weak.upgrade() {
        app.global::<ReviewAdapter>().set_action(what.into());
    }
}

pub(super) fn apply_event(app: &AppWindow, shared: &Shared, e: Event) {
    let r = app.global::<ReviewAdapter>();
    match e {
        Event::Supervisor { active, name } => {
            shared.with_state(|s| {
                s.pin_pending = false;
                s.supervisor = active;
            });
            r.set_pin_busy(false);
            r.set_active(active);
            r.set_supervisor_name(name.unwrap_or_default().into());
            if active {
                r.set_pin_error_kind(PinErrorKind::None);
                r.set_pin_error(SharedString::new());
                shared.ask(Ask::Review);
                shared.ask(Ask::Audit);
            } else {
                r.set_selected(-1);
            }
        }
        Event::Review { waiting } => {
            app.global::<LineAdapter>()
                .set_waiting_review(i32::try_from(waiting).unwrap_or(i32::MAX));
            shared.ask(Ask::Review);
            if shared.with_state(|s| s.supervisor) {
                shared.ask(Ask::Audit);
            }
        }
        _ => {}
    }
}

/// A refused PIN arrives as an alert notice while the sign-in is pending.
pub(super) fn on_notice(app: &AppWindow, shared: &Shared, e: &Event) {
    let Event::Notice(notice) = e else {
        return;
    };
    let r = app.global::<ReviewAdapter>();
    if notice.severity() == Severity::Alert
        && shared.with_state(|s| std::mem::take(&mut s.pin_pending))
    {
        r.set_pin_busy(false);
        r.set_pin_error_kind(match notice {
            Notice::PinWrong => PinErrorKind::Wrong,
            Notice::PinLocked { .. } => PinErrorKind::Locked,
            Notice::PinNotSet => PinErrorKind::NotSet,
            _ => PinErrorKind::Other,
        });
        r.set_pin_error(notice.text().into());
        r.set_pin_error_key(notice.key().into());
        r.set_pin_error_args(super::line::args(notice.args()));
        return;
    }
    if !r.get_action().is_empty() {
        r.set_result(notice.text().into());
        r.set_result_key(notice.key().into());
        r.set_result_args(super::line::args(notice.args()));
        r.set_action(SharedString::new());
    }
}

pub(super) fn set_queue(app: &AppWindow, shared: &Shared, items: Vec<ReviewItem>) {
    let r = app.global::<ReviewAdapter>();
    // Keep the selection on the same code when the list moves.
    let selected_id = shared.with_state(|s| {
        usize::try_from(r.get_selected())
            .ok()
            .and_then(|i| s.review.get(i))
            .map(|i| i.id)
    });
    let rows: Vec<ReviewRowData> = items
        .iter()
        .map(|i| ReviewRowData {
            id: i32::try_from(i.id.0).unwrap_or(-1),
            masked: i.masked.as_str().into(),
            reason: i.reason.clone().unwrap_or_default().into(),
            reason_key: i.reason_key.clone().unwrap_or_default().into(),
            reason_args: super::line::args(i.reason_args.clone()),
            time: super::local_time(i.at_ms).into(),
            actor: i.actor.as_str().into(),
            state: i.state.as_str().into(),
            verified: i.verified_at_ms.is_some(),
            sends: i32::try_from(
                i.prints
                    .iter()
                    .filter(|p| p.step == PrintStep::Sent)
                    .count(),
            )
            .unwrap_or(i32::MAX),
            prints: ModelRc::new(VecModel::from(
                i.prints
                    .iter()
                    .map(|p| PrintRow {
                        step: p.step.as_str().into(),
                        time: super::local_time(p.at_ms).into(),
                        job: p.job.and_then(|j| i32::try_from(j).ok()).unwrap_or(0),
                    })
                    .collect::<Vec<_>>(),
            )),
        })
        .collect();
    // Roll stickers waiting for a scan come after the review queue and are not counted as review.
    let in_review = items
        .iter()
        .filter(|i| i.state != CodeState::Printed)
        .count();
    let new_index = selected_id
        .and_then(|id| items.iter().position(|i| i.id == id))
        .and_then(|p| i32::try_from(p).ok());
    let count = in_review;
    shared.with_state(|s| s.review = items);
    r.set_queue(ModelRc::new(VecModel::from(rows)));
    r.set_review_count(i32::try_from(count).unwrap_or(i32::MAX));
    match new_index {
        Some(i) => r.set_selected(i),
        None => {
            r.set_selected(-1);
            r.set_has_selected_image(false);
        }
    }
    if app.global::<LineAdapter>().get_waiting_review() < i32::try_from(count).unwrap_or(0) {
        app.global::<LineAdapter>()
            .set_waiting_review(i32::try_from(count).unwrap_or(i32::MAX));
    }
}

/// Open second-sticker alerts, shown above the review queue until a supervisor closes them.
pub(super) fn set_alerts(app: &AppWindow, alerts: &[StickerAlert]) {
    let rows: Vec<StickerAlertRow> = alerts
        .iter()
        .map(|a| StickerAlertRow {
            id: i32::try_from(a.id.0).unwrap_or(-1),
            masked: a.masked.as_str().into(),
            time: super::local_time(a.at_ms).into(),
            copy_known: a.copy_known,
        })
        .collect();
    app.global::<ReviewAdapter>()
        .set_sticker_alerts(ModelRc::new(VecModel::from(rows)));
}

pub(super) fn set_image(
    app: &AppWindow,
    shared: &Shared,
    id: CodeId,
    bitmap: Option<Arc<labelstation_zpl::render::Bitmap>>,
) {
    let r = app.global::<ReviewAdapter>();
    let current = shared.with_state(|s| {
        usize::try_from(r.get_selected())
            .ok()
            .and_then(|i| s.review.get(i))
            .map(|i| i.id)
    });
    if current != Some(id) {
        return;
    }
    match bitmap {
        Some(b) => {
            r.set_selected_image(image(&b));
            r.set_has_selected_image(true);
        }
        None => r.set_has_selected_image(false),
    }
}

pub(super) fn set_audit(app: &AppWindow, lines: Vec<AuditLine>) {
    let rows: Vec<AuditRow> = lines
        .into_iter()
        .map(|a| AuditRow {
            time: super::local_time(a.at_ms).into(),
            actor: a.actor.into(),
            action: a.action.into(),
            subject: a.subject.into(),
        })
        .collect();
    app.global::<ReviewAdapter>()
        .set_audit(ModelRc::new(VecModel::from(rows)));
}

pub(super) fn exported(app: &AppWindow, r: Result<PathBuf, String>) {
    let a = app.global::<ReviewAdapter>();
    match r {
        Ok(path) => a.set_export_path(path.display().to_string().into()),
        Err(e) => {
            a.set_export_path(SharedString::new());
            a.set_result(e.into());
            a.set_result_key(SharedString::new());
        }
    }
}
