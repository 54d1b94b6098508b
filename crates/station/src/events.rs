// SPDX-License-Identifier: GPL-3.0-or-later
//! What the engine tells its screens (the touchscreen, the CLI, the headless log), and what they ask of it.
//!
//! Events carry masked codes only (GTIN and serial, never the crypto tail), so they can be logged and
//! serialised as JSON lines. The label image for the preview travels beside, never serialised.

use std::sync::Arc;

use serde::Serialize;

use crate::notice::Notice;
use crate::verdict::ScanVerdict;
use labelstation_codes::Gtin;
use labelstation_ledger::stickers::StickerAlertId;
use labelstation_ledger::{CodeId, JobMode};
use labelstation_zpl::render::Bitmap;

/// Something the station did or saw. The UI keeps the last of each kind; the CLI prints them.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The product the line labels (None: none chosen).
    Product {
        product: Option<ProductView>,
    },
    /// A label moved along the line.
    Label {
        code: CodeId,
        masked: String,
        phase: LabelPhase,
        /// The label as printed, for the preview (only when the engine was asked for previews).
        #[serde(skip)]
        preview: Option<Arc<Bitmap>>,
    },
    /// A scan was judged.
    Verdict {
        verdict: ScanVerdict,
        /// What happened and what to do, for the worker.
        message: String,
        severity: Severity,
    },
    Printer {
        printer: PrinterView,
    },
    Scanner {
        scanner: ScannerView,
    },
    /// The registry link, from the background sync.
    Link {
        link: LinkView,
    },
    Counters {
        counters: Counters,
    },
    Line {
        line: LineState,
    },
    /// Pool levels and alarms for every product.
    Pool {
        pool: Vec<PoolView>,
    },
    /// A supervisor session began or ended.
    Supervisor {
        active: bool,
        name: Option<String>,
    },
    /// The review queue changed (its length).
    Review {
        waiting: u64,
    },
    /// The consignment the line labels for and its line of the chosen product: pairs declared and
    /// labelled (None: no consignment, or the product is not on its packing list).
    Consignment {
        consignment: Option<ConsignmentLineView>,
    },
    /// A supervisor changed consignments (declared, submitted): lists of them are out of date.
    Consignments,
    /// Boxes on the line (`print --box-capacity`, `run --box-capacity`): whether the line packs them
    /// (for the consignment it labels for), and the box the next pair goes into (None: none open yet).
    Box {
        packing: bool,
        open: Option<BoxView>,
        /// The last box closed on the line (its label printed, verified, or not yet): the one "Reprint
        /// box label" prints.
        last: Option<BoxView>,
    },
    /// The answer to [`Command::ApplySettings`]: the devices and label in use now, and whether the asked-for
    /// ones were applied (`message` says why not).
    Settings {
        applied: bool,
        printer: String,
        scanner: String,
        template: String,
        dpi: u32,
        message: String,
        /// The message's key and values (`engine::words::SETTINGS_KEYS`), for the screen's language.
        key: &'static str,
        args: Vec<String>,
    },
    /// Anything else worth telling, with what to do: one [`Notice`] variant a sentence (its severity,
    /// key and values for the screens, English text for the CLI and the logs).
    Notice(Notice),
}

/// The consignment being labelled for, and its line of the chosen product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsignmentLineView {
    pub id: String,
    /// The product's line: pairs declared, and labelled (printed and not rejected, or verified).
    pub declared: u64,
    pub labelled: u64,
    pub verified: u64,
    /// The product is on the consignment's packing list.
    pub listed: bool,
}

/// The open box on the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoxView {
    /// The 18 digits.
    pub sscc: String,
    pub count: u64,
    pub capacity: u64,
    /// OPEN, CLOSED, LABEL_PRINTED, LABEL_VERIFIED, REPORTED.
    pub state: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Good news (a match).
    Ok,
    Info,
    /// Not counted, but not a fault (a repeated scan, a retail barcode).
    Warning,
    /// Needs attention: a rejected label, an unknown code.
    Alert,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductView {
    pub gtin: String,
    pub name: String,
    pub size: Option<String>,
    pub available: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum LabelPhase {
    /// Taken from the pool; the label is being prepared.
    Reserved,
    /// Going to the printer.
    Sent,
    /// Out of the printer, waiting for its scan.
    Printed,
    /// The scan matched: counted.
    Verified,
    /// Not counted; waits for a supervisor. `reason` is English; `key` and `args` word it on screens
    /// (see [`RejectReason`](super::words::RejectReason)).
    Rejected {
        reason: String,
        key: &'static str,
        args: Vec<String>,
    },
    /// Given back to the pool (never sent).
    Released,
}

/// The printer as the worker needs to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrinterView {
    pub device: String,
    pub state: PrinterState,
    /// What is wrong, in words.
    pub detail: Option<String>,
    /// What to do about it.
    pub remedy: Option<String>,
    /// The problem for screens to word in the worker's language: a printer
    /// [`Problem`](labelstation_printer::status::Problem) key or one of
    /// [`ENGINE_PRINTER_KEYS`](super::words::ENGINE_PRINTER_KEYS). None with no problem.
    pub key: Option<&'static str>,
    /// The key's values (an error text), or empty.
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterState {
    Unknown,
    Ready,
    Printing,
    /// Paper out, ribbon out, head open, paused, ...: `detail` says which.
    Problem,
    Offline,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScannerView {
    pub device: String,
    pub connected: bool,
    pub detail: String,
}

/// Whether the registry answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    Unknown,
    Up,
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkView {
    pub state: LinkStatus,
    pub backlog: u64,
    pub last_success_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// What this run of the station did. Numbers add up: every label sent is printed or rejected, every
/// printed one verified, rejected, or still waiting for its scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Labels handed to the printer.
    pub sent: u64,
    /// Labels the printer finished.
    pub printed: u64,
    pub verified: u64,
    pub rejected: u64,
    /// Scans that were not counted and are no fault (repeats, retail barcodes).
    pub warnings: u64,
    /// Unknown codes and wrong stickers.
    pub alerts: u64,
    /// Codes a supervisor wrote off or confirmed in this run.
    pub written_off: u64,
    pub confirmed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LineState {
    Idle,
    /// A run is going: `done` of `total` labels finished (verified or rejected; printed for no-verify).
    Running {
        mode: Mode,
        done: u32,
        total: u32,
    },
    /// Waiting for the scan of the sticker just printed.
    AwaitingScan {
        masked: String,
        seconds_left: u64,
    },
    /// Batch: printed stickers waiting on the roll for their scans.
    AwaitingBatch {
        waiting: u64,
    },
    /// The printer needs a person; the run continues when it is fixed. `key` and `args` as in
    /// [`PrinterView`].
    Paused {
        reason: String,
        remedy: String,
        key: &'static str,
        args: Vec<String>,
    },
    /// Too many failures in a row: a supervisor must unlock the line. `key` is one of
    /// [`STOPPED_KEYS`](super::words::STOPPED_KEYS).
    Stopped {
        reason: String,
        key: &'static str,
        args: Vec<String>,
    },
}

/// How a run prints and verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One pair at a time: print, scan, next.
    Inline,
    /// Print a roll ahead, verify as stickers are applied, in any order.
    Batch,
    /// Print without scanning; codes stay PRINTED until scanned later.
    NoVerify,
}

impl Mode {
    pub fn job_mode(self) -> JobMode {
        match self {
            Mode::Inline => JobMode::Inline,
            Mode::Batch => JobMode::Batch,
            Mode::NoVerify => JobMode::NoVerify,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolView {
    pub gtin: String,
    pub available: u64,
    pub low: bool,
    pub expiring: u64,
}

/// What a screen asks of the engine.
#[derive(Debug, Clone)]
pub enum Command {
    /// Choose the product to label.
    SelectProduct(Gtin),
    /// Label `count` pairs of the chosen product.
    Start {
        count: u32,
        mode: Mode,
    },
    /// Finish the label in hand, then stop the run.
    Stop,
    /// Give up on the label in hand (printer error it cannot recover from, sticker lost): it is
    /// rejected, never reused.
    CancelLabel,
    /// The worker says the sticker in hand will not scan: reject it and print the next.
    Unreadable,
    /// A supervisor signs in with the PIN.
    SupervisorLogin {
        name: String,
        pin: String,
    },
    SupervisorLogout,
    /// Supervisor: let a stopped line run again.
    Unlock,
    /// Supervisor: print a rejected or reviewed code again (its sticker was not applied; never a code
    /// that was verified).
    Reprint {
        code: CodeId,
    },
    /// Supervisor: withdraw a spoiled code; queued for the registry.
    WriteOff {
        code: CodeId,
        reason: String,
    },
    /// Supervisor: the next scan is a manual check of this code's applied sticker.
    ConfirmApplied {
        code: CodeId,
    },
    /// Supervisor: a verified code the registry refused is reported again (VERIFIED, queued again).
    SendAgain {
        code: CodeId,
    },
    /// Supervisor: the printed sticker of a finished roll cannot be found; the code goes to review.
    StickerMissing {
        code: CodeId,
    },
    /// Supervisor: close a second-sticker alert with what was found (audited).
    CloseStickerAlert {
        alert: StickerAlertId,
        found: String,
    },
    /// Supervisor: run with these devices and this label from now on (the Settings page); answered by
    /// [`Event::Settings`].
    ApplySettings(crate::reconfigure::DeviceChoice),
    /// Label the next runs for this consignment (its packing list must list the product), or for none.
    LabelFor(Option<String>),
    /// Supervisor: record the customs declaration a consignment is released under (audited).
    DeclareConsignment {
        consignment: String,
        declaration: labelstation_ledger::consignments::Declaration,
    },
    /// Supervisor: file the import documents for a consignment's applied pairs (the sync sends them):
    /// to registry `api`, `document_size` codes at most each.
    SubmitConsignment {
        consignment: String,
        api: String,
        document_size: u32,
    },
    /// The line packs boxes: close the open box now (partly filled), print its label and verify it.
    CloseBox,
    /// Supervisor: print a closed box's label again (a damaged one: it carries no marking code), and
    /// verify it by scan if it was not yet.
    ReprintBoxLabel {
        sscc: String,
    },
    /// Print a test label (no marking code) to check the printer.
    TestPrint,
    /// Ask for fresh printer status, pool and review counts.
    Refresh,
    /// Stop the engine.
    Shutdown,
}
