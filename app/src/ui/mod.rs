// SPDX-License-Identifier: GPL-3.0-or-later
//! The touchscreen (feature `ui`): a Slint window on the software renderer, driving the station engine.
//!
//! The screens talk to Rust only through Slint globals (`*Adapter`): one file here per global fills it
//! and wires its callbacks. Three threads keep the UI thread free: the engine (devices and the ledger's
//! writes), a forwarder that turns engine [`Event`]s into [`Update`]s, and the errands thread (ledger reads
//! for the lists from a read-only view, the shift report file, device detection, the registry test,
//! saving settings). Updates reach the window through
//! `invoke_from_event_loop`; tests apply them on their own thread with [`Ui::pump`].

mod boxes;
mod consignments;
pub mod demo;
mod devices;
mod errands;
mod line;
mod review;
mod settings;

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use slint::ComponentHandle;

use crate::config::Config;
use crate::engine::{Command, Counters, Engine, Event};

pub use crate::compose::RegistryTest;
pub use demo::{DEMO_PIN, run_demo_ui, run_station_ui};

#[allow(
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    unsafe_code,
    unused_qualifications
)]
mod generated {
    slint::include_modules!();
}
pub use generated::*;

/// What the screens need besides the engine.
pub struct UiContext {
    /// The station's data dir: the ledger is read from here, shift reports are written here.
    pub data_dir: PathBuf,
    /// The configuration in force (devices, label, station id).
    pub config: Config,
    /// Where Settings saves the configuration; None: settings cannot be saved (the demo).
    pub config_file: Option<PathBuf>,
    /// A line shown in the header and on the PIN pad (the demo's PIN).
    pub demo_hint: Option<String>,
    /// Checks the registry connection for Settings; None: the test says it is not available.
    pub registry_test: Option<RegistryTest>,
    /// The language to start in: "en", "ru" or "kk" (None: the one saved on this station, else Russian).
    pub language: Option<String>,
}

/// Something for the window to show: an engine event or an errand's answer.
pub enum Update {
    Event(Event),
    Products(Vec<errands::ProductInfo>),
    /// The review queue with the roll stickers waiting for a scan, and the open second-sticker alerts.
    Review {
        items: Vec<crate::ledger::review::ReviewItem>,
        alerts: Vec<crate::ledger::stickers::StickerAlert>,
    },
    Held(Vec<crate::ledger::reports::HeldReport>),
    /// Every consignment, with its registry documents.
    Consignments(
        Vec<(
            crate::ledger::consignments::Consignment,
            Vec<crate::ledger::documents::DocumentSummary>,
        )>,
    ),
    ReviewImage {
        id: crate::ledger::CodeId,
        image: Option<Arc<labelstation_zpl::render::Bitmap>>,
    },
    Audit(Vec<errands::AuditLine>),
    Exported(Result<PathBuf, String>),
    Devices {
        printers: Vec<(String, String)>,
        scanners: Vec<(String, String)>,
    },
    RegistryTested(String),
    /// Settings saved to the config file (its path), or why not.
    Saved(Result<PathBuf, String>),
    Failed(String),
}

/// What the UI keeps between updates (touched only under its lock, never across a wait).
#[derive(Default)]
struct State {
    products: Vec<errands::ProductInfo>,
    review: Vec<crate::ledger::review::ReviewItem>,
    last_label: String,
    counters: Counters,
    pin_pending: bool,
    scan_test: bool,
    supervisor: bool,
}

/// The window with its wiring; `run` shows it, tests drive it with `pump`.
pub struct Ui {
    pub app: AppWindow,
    updates: Option<Receiver<Update>>,
    shared: Shared,
}

/// What the callbacks and the update path share.
#[derive(Clone)]
struct Shared {
    state: Arc<Mutex<State>>,
    commands: Sender<Command>,
    asks: Sender<errands::Ask>,
}

impl Shared {
    fn send(&self, c: Command) {
        if self.commands.send(c).is_err() {
            tracing::warn!("the station engine has stopped; the command was not delivered");
        }
    }
    fn ask(&self, a: errands::Ask) {
        let _ = self.asks.send(a);
    }
    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }
}

impl Ui {
    /// Build the window and its helper threads. `events` are the engine's; `commands` its inbox.
    pub fn new(commands: Sender<Command>, events: Receiver<Event>, ctx: UiContext) -> Result<Ui> {
        let app = AppWindow::new().map_err(|e| anyhow::anyhow!("{}", window_failed(&e)))?;
        let (tx, rx) = channel::<Update>();
        {
            let tx = tx.clone();
            std::thread::Builder::new()
                .name("ui-events".into())
                .spawn(move || {
                    for e in events {
                        if tx.send(Update::Event(e)).is_err() {
                            break;
                        }
                    }
                })
                .context("cannot start the UI's event thread")?;
        }
        let language = ctx
            .language
            .clone()
            .or_else(|| settings::saved_language(&ctx.data_dir))
            .unwrap_or_else(|| "ru".to_owned());
        let asks = errands::spawn(&ctx, tx)?;
        let shared = Shared {
            state: Arc::new(Mutex::new(State::default())),
            commands,
            asks,
        };
        line::wire(&app, &shared);
        review::wire(&app, &shared, ctx.demo_hint.as_deref());
        settings::wire(&app, &shared, &ctx);
        consignments::wire(&app, &shared, &ctx.config);
        boxes::wire(&app, &shared);
        settings::set_language(&app, &ctx.data_dir, &language, false);
        shared.ask(errands::Ask::Products);
        shared.ask(errands::Ask::Review);
        shared.ask(errands::Ask::Consignments);
        shared.send(Command::Refresh);
        Ok(Ui {
            app,
            updates: Some(rx),
            shared,
        })
    }

    /// Apply one update to the window (on the UI thread).
    pub fn apply(&self, update: Update) {
        apply(&self.app, &self.shared, update);
    }

    /// Tests: apply updates as they arrive until `done` holds or `timeout` passes; whether it held.
    pub fn pump(&self, timeout: Duration, done: impl Fn(&AppWindow) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let Some(rx) = &self.updates else {
            return false;
        };
        loop {
            if done(&self.app) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match rx.recv_timeout(left.min(Duration::from_millis(50))) {
                Ok(u) => self.apply(u),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return done(&self.app),
            }
        }
    }

    /// Show the window and run until it is closed. Updates reach it from a bridge thread.
    pub fn run(mut self) -> Result<()> {
        let rx = self
            .updates
            .take()
            .context("the window's update channel was already taken")?;
        let weak = self.app.as_weak();
        let shared = self.shared.clone();
        std::thread::Builder::new()
            .name("ui-bridge".into())
            .spawn(move || {
                for u in rx {
                    let shared = shared.clone();
                    if weak
                        .upgrade_in_event_loop(move |app| apply(&app, &shared, u))
                        .is_err()
                    {
                        break;
                    }
                }
            })
            .context("cannot start the UI's bridge thread")?;
        self.app
            .run()
            .map_err(|e| anyhow::anyhow!("{}", window_failed(&e)))?;
        Ok(())
    }
}

fn apply(app: &AppWindow, shared: &Shared, update: Update) {
    match update {
        Update::Event(e) => match e {
            Event::Printer { .. }
            | Event::Scanner { .. }
            | Event::Link { .. }
            | Event::Pool { .. } => devices::apply(app, shared, e),
            Event::Supervisor { .. } | Event::Review { .. } => review::apply_event(app, shared, e),
            Event::Box { .. } => boxes::apply_event(app, &e),
            Event::Consignment { .. } | Event::Consignments => {
                consignments::apply_event(app, shared, &e);
            }
            Event::Notice { .. } => {
                review::on_notice(app, shared, &e);
                line::apply(app, shared, e);
            }
            other => {
                settings::on_event(app, shared, &other);
                line::apply(app, shared, other);
            }
        },
        Update::Products(p) => line::set_products(app, shared, p),
        Update::Review { items, alerts } => {
            review::set_queue(app, shared, items);
            review::set_alerts(app, &alerts);
        }
        Update::Held(items) => devices::set_held(app, items),
        Update::Consignments(list) => consignments::set_list(app, list),
        Update::ReviewImage { id, image } => review::set_image(app, shared, id, image),
        Update::Audit(lines) => review::set_audit(app, lines),
        Update::Exported(r) => review::exported(app, r),
        Update::Devices { printers, scanners } => settings::set_devices(app, printers, scanners),
        Update::RegistryTested(t) => app
            .global::<SettingsAdapter>()
            .set_registry_test_result(t.into()),
        Update::Saved(r) => settings::saved(app, r),
        Update::Failed(t) => {
            let r = app.global::<ReviewAdapter>();
            r.set_result(t.into());
            r.set_result_key(slint::SharedString::new());
        }
    }
}

/// A rendered label as an image for the screen.
pub fn image(bitmap: &labelstation_zpl::render::Bitmap) -> slint::Image {
    let luma = bitmap.to_luma();
    let mut buf = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(bitmap.width, bitmap.height);
    for (px, l) in buf.make_mut_slice().iter_mut().zip(luma) {
        *px = slint::Rgb8Pixel { r: l, g: l, b: l };
    }
    slint::Image::from_rgb8(buf)
}

/// Local wall-clock time of a ledger timestamp, for lists.
pub(crate) fn local_time(ms: i64) -> String {
    use chrono::TimeZone;
    match chrono::Local.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%d.%m %H:%M").to_string(),
        None => String::new(),
    }
}

/// Run the touchscreen on a running engine until the window is closed, then stop the engine.
pub fn run(engine: Engine, events: Receiver<Event>, ctx: UiContext) -> Result<()> {
    let ui = Ui::new(engine.commands(), events, ctx)?;
    let result = ui.run();
    engine.shutdown();
    result
}

/// Whether this build carries Slint's linuxkms backend (cargo feature `kms`), which draws on the display
/// without a compositor (deploy/kiosk/labelstation-kms.service). Off by default: it links libudev,
/// libinput and xkbcommon, whose -dev packages a fresh machine lacks.
pub const KMS_BUILT: bool = cfg!(feature = "kms");

/// Whether a window can be shown here: a Wayland or X11 display, or the kiosk asked to draw on the screen
/// itself (`SLINT_BACKEND=linuxkms…`: DRM/KMS and libinput, no compositor; deploy/kiosk) in a build that
/// can.
///
/// A DRM device alone is not enough: a headless station on a PC with a graphics card must not grab its
/// console, so drawing without a compositor is opt-in.
pub fn display_available() -> bool {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    set("WAYLAND_DISPLAY") || set("DISPLAY") || (kms_requested() && KMS_BUILT)
}

/// Whether `SLINT_BACKEND` asks for the linuxkms backend (with any renderer).
pub fn kms_requested() -> bool {
    std::env::var("SLINT_BACKEND")
        .is_ok_and(|v| v.trim().to_ascii_lowercase().starts_with("linuxkms"))
}

/// `SLINT_BACKEND` asks for the linuxkms backend and this build lacks it (Slint alone would warn and fall
/// back to a window that cannot open on a kiosk without a compositor).
pub fn kms_missing() -> Option<KmsNotBuilt> {
    match (kms_requested(), KMS_BUILT) {
        (true, false) => Some(KmsNotBuilt {
            backend: std::env::var("SLINT_BACKEND").unwrap_or_default(),
        }),
        _ => None,
    }
}

/// The kiosk asked to draw without a compositor, and this build cannot.
#[derive(Debug, thiserror::Error)]
#[error(
    "SLINT_BACKEND={backend} asks to draw on the display without a compositor, but this build has no \
     linuxkms backend (it was built without the cargo feature `kms`): {remedy}",
    remedy = KmsNotBuilt::REMEDY
)]
pub struct KmsNotBuilt {
    /// What `SLINT_BACKEND` says.
    pub backend: String,
}

impl KmsNotBuilt {
    /// What to do.
    pub const REMEDY: &str = "install the Debian package, which is built with it, or build with \
        `cargo build --release --features kms` (needs libudev-dev, libinput-dev and libxkbcommon-dev); \
        or use the cage kiosk (labelstation-kiosk.service), which needs no SLINT_BACKEND";
}

/// Why the window could not open, and what to do.
fn window_failed(e: &dyn std::fmt::Display) -> String {
    if kms_requested() {
        format!(
            "the touchscreen could not draw on the display directly (SLINT_BACKEND=linuxkms): {e}. \
             Check that /dev/dri/card0 and /dev/input/event* exist and that the service user is in the groups \
             video, render and input (deploy/kiosk/README.md), or use the cage kiosk instead"
        )
    } else {
        format!(
            "the touchscreen window could not open: {e}. Check the display (WAYLAND_DISPLAY or DISPLAY), \
             or run `labelstation run --headless`"
        )
    }
}
