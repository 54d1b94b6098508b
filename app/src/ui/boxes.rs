// SPDX-License-Identifier: GPL-3.0-or-later
//! Boxes on the line, on the work card: the open box (SSCC as `(00) …`, pairs / capacity), "Close box",
//! and "Reprint box label" behind the supervisor PIN. The engine packs, checks the PIN and prints; the
//! ledger audits; this file only asks and shows.

use slint::{ComponentHandle, SharedString};

use super::{AppWindow, LineAdapter, Shared};
use crate::engine::{Command, Event};

pub(super) fn wire(app: &AppWindow, shared: &Shared) {
    let l = app.global::<LineAdapter>();
    {
        let shared = shared.clone();
        l.on_close_box(move || shared.send(Command::CloseBox));
    }
    {
        let shared = shared.clone();
        l.on_reprint_box_label(move |sscc, pin| {
            // Signed in first: the engine takes commands in order and checks the PIN on the sign-in.
            shared.send(Command::SupervisorLogin {
                name: "supervisor".into(),
                pin: pin.to_string(),
            });
            shared.send(Command::ReprintBoxLabel {
                sscc: sscc.to_string(),
            });
        });
    }
}

/// An engine event about boxes on the line.
pub(super) fn apply_event(app: &AppWindow, e: &Event) {
    let Event::Box {
        packing,
        open,
        last,
    } = e
    else {
        return;
    };
    let l = app.global::<LineAdapter>();
    l.set_packing(*packing);
    match open {
        Some(b) => {
            l.set_box_sscc(b.sscc.as_str().into());
            l.set_box_count(n(b.count));
            l.set_box_capacity(n(b.capacity));
        }
        None => l.set_box_sscc(SharedString::new()),
    }
    match last {
        Some(b) => {
            l.set_last_box_sscc(b.sscc.as_str().into());
            l.set_last_box_state(b.state.into());
        }
        None => {
            l.set_last_box_sscc(SharedString::new());
            l.set_last_box_state(SharedString::new());
        }
    }
}

fn n(v: u64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}
