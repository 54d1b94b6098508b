// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Shared set-up of the touchscreen tests (Slint's testing backend, no display): a demo data dir, and
//! pressing and reading elements by their id as a worker's finger and eyes would.
#![allow(dead_code)]

use std::path::Path;

use i_slint_backend_testing::ElementHandle;
use labelstation::config::{Config, Origin, Paths};
use labelstation::ui::AppWindow;
use labelstation::ui::demo::seed_demo;

/// The supervisor PIN the tests set.
pub const PIN: &str = "4821";

/// A data dir in `dir` seeded with the demo's products and codes (default config), and the supervisor
/// PIN set when `pin`.
pub fn demo_dir(dir: &Path, pin: bool) -> (Paths, Config) {
    let paths = Paths {
        data_dir: dir.to_path_buf(),
        data_dir_origin: Origin::Flag,
        config_file: dir.join("labelstation.toml"),
        config_origin: Origin::Flag,
    };
    let config = Config::default();
    seed_demo(&paths, &config).unwrap();
    if pin {
        labelstation::engine::PinStore::new(dir).set(PIN).unwrap();
    }
    (paths, config)
}

pub fn find(app: &AppWindow, id: &str) -> Option<ElementHandle> {
    ElementHandle::find_by_element_id(app, id).next()
}

pub fn press(app: &AppWindow, id: &str) {
    find(app, id)
        .unwrap_or_else(|| panic!("no element {id} on screen"))
        .invoke_accessible_default_action();
}

/// Press the one of the elements `id` (a `for` of buttons) whose label is `label`.
pub fn press_labelled(app: &AppWindow, id: &str, label: &str) {
    ElementHandle::find_by_element_id(app, id)
        .find(|e| e.accessible_label().is_some_and(|l| l == label))
        .unwrap_or_else(|| panic!("no {id} labelled {label:?} on screen"))
        .invoke_accessible_default_action();
}

pub fn label_of(app: &AppWindow, id: &str) -> String {
    find(app, id)
        .unwrap_or_else(|| panic!("no element {id} on screen"))
        .accessible_label()
        .unwrap_or_default()
        .to_string()
}

/// Type `digits` on the PIN pad and confirm.
pub fn pin(app: &AppWindow, digits: &str) {
    for d in digits.chars() {
        press(app, &format!("PinPad::k{d}"));
    }
    press(app, "PinPad::ok");
}
