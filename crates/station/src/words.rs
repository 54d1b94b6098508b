// SPDX-License-Identifier: GPL-3.0-or-later
//! The engine's sentences for people, as stable keys with their values.
//!
//! Every sentence the engine shows a worker (a notice, a printer problem, why the line paused or stopped,
//! why a label was rejected) carries a language-neutral key and its values next to the English text. The
//! touchscreen words the key in the worker's language (`ui/words.slint`, one branch per key); the English
//! text stays for the CLI, the logs and as the screen's fallback. Keys are never renamed once shipped:
//! rejection keys are stored in the ledger. Each kind lists its keys here, and a test checks that every
//! listed key has its branch in `ui/words.slint`.

use labelstation_ledger::Remedy;

use super::pin::PinError;
use super::station::EngineError;
use crate::notice::Notice;
use crate::verdict::ScanVerdict;

/// Keys of [`Event::Notice`](super::Event::Notice).
pub const NOTICE_KEYS: &[&str] = &[
    "scan-ignored-stopped",
    "unlock-needs-pin",
    "write-off-failed",
    "write-off-needs-pin",
    "sign-in-unavailable",
    "pin-locked",
    "pin-wrong",
    "pin-not-set",
    "pin-error",
    "scan-cut-off",
    "scanner-unmapped-keys",
    "scanner-noise",
    "scanner-bad-report",
    "roll-waiting",
    "confirm-mismatch",
    "choose-product-first",
    "run-finished",
    "reprint-failed",
    "reprint-needs-pin",
    "confirmed",
    "not-confirmed",
    "confirm-failed",
    "confirm-needs-pin",
    "sent-again",
    // args: the error.
    "send-again-failed",
    "send-again-needs-pin",
    "sticker-missing-noted",
    // args: the error.
    "sticker-missing-failed",
    "sticker-missing-needs-pin",
    // args: the alert (!N).
    "sticker-alert-closed",
    // args: the error.
    "sticker-alert-close-failed",
    "sticker-alert-close-needs-pin",
    // args: the error.
    "consignment-unknown",
    // args: the consignment, the declaration number.
    "consignment-declared",
    // args: the error.
    "consignment-declare-failed",
    // args: the consignment, codes, documents.
    "consignment-submitted",
    // args: the error.
    "consignment-submit-failed",
    "consignment-needs-pin",
    // Packing on the line. args: the SSCC, count, capacity.
    "box-label-verified",
    // args: the SSCC.
    "box-label-unread",
    // args: what was read, the SSCC.
    "box-label-wrong",
    // args: the SSCC, labels printed.
    "box-label-unverified",
    // args: the SSCC, the error.
    "box-label-failed",
    "box-not-packing",
    // args: the SSCC.
    "box-label-reprinted",
    // args: the error.
    "box-reprint-failed",
    "box-reprint-needs-pin",
    "test-printed",
    "test-print-problem",
    "test-print-failed",
    "product-not-registered",
    // args: the masked code.
    "label-interrupted",
    // args: the masked code.
    "second-sticker",
    // args: the masked code.
    "cancel-not-delivered",
    // args: the masked code.
    "cancel-not-confirmed",
    // An [`EngineError`] told as a notice.
    "storage-error",
    "unknown-product",
    "pool-empty",
    "pool-held",
    "label-error",
    "line-stopped",
    "printer-not-fixed",
    "printer-offline",
    "scanner-error",
    "printer-link-error",
    "interrupted",
];

/// Keys of [`Event::Settings`](super::Event::Settings) and of the screen's save result.
pub const SETTINGS_KEYS: &[&str] = &[
    // args: printer, scanner, template, dpi.
    "settings-applied",
    "settings-need-pin",
    // args: the error.
    "settings-not-applied",
    // args: the config file.
    "settings-saved",
    // args: the error.
    "settings-not-saved",
];

/// Printer keys the engine adds to the driver's [`Problem::ALL_KEYS`] (in [`PrinterView`] and
/// [`LineState::Paused`]): troubles of the link rather than of the printer.
///
/// [`Problem::ALL_KEYS`]: labelstation_printer::status::Problem::ALL_KEYS
/// [`PrinterView`]: super::PrinterView
/// [`LineState::Paused`]: super::LineState::Paused
pub const ENGINE_PRINTER_KEYS: &[&str] = &[
    // args: the error.
    "send-failed",
    "unexpected-state",
    // args: the error.
    "link-error",
    "no-status",
    // args: the error.
    "offline",
    // The link carries no replies (JobOutcome::Unknown).
    "no-status-channel",
    // args: why (the disconnect, or why the last attempt to reopen failed). The line waits, reopening
    // the link with backoff, and goes on when the printer answers again.
    "link-down",
];

/// Every printer key: the driver's problems and the engine's own.
pub fn printer_keys() -> Vec<&'static str> {
    labelstation_printer::status::Problem::ALL_KEYS
        .iter()
        .chain(ENGINE_PRINTER_KEYS)
        .copied()
        .collect()
}

/// Keys of [`LineState::Stopped`](super::LineState::Stopped).
pub const STOPPED_KEYS: &[&str] = &["too-many-failures", "line-locked"];

/// Keys of rejection reasons: [`RejectReason::key`] and the ledger's own (written by the store when it
/// moves a code to review).
pub const REASON_KEYS: &[&str] = &[
    "maybe-not-sent",
    // Written by earlier versions for a label cancelled at a printer error (its buffer not cleared).
    "printer-error",
    "printer-cancelled",
    "odometer-disagrees",
    "worker-unreadable",
    "cancelled",
    "no-scan",
    "stopped-on-wrong-scan",
    "rescans-failed",
    // Written by the store (`Ledger::halt_job`, `Ledger::recover`, `Ledger::close_job`,
    // `Ledger::registry_refused`, `Ledger::sticker_missing`).
    "line-error",
    "station-stopped",
    "run-ended",
    "registry-refused",
    "sticker-missing",
];

/// Why a label was rejected: a key for the screens, values, and the English text for the ledger's
/// `reason` column, the CLI and the audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    /// The link failed while sending: the label may or may not be on paper.
    MaybeNotSent,
    /// The printer stopped on it and the worker cancelled it (or it was not fixed in time). The
    /// printer was told to drop it (`~JA`) before the rejection, but a sticker may still exist: part
    /// of it may have printed, or it may come out once the printer is fixed.
    PrinterCancelled {
        /// The printer key (a [`Problem`](labelstation_printer::status::Problem) key or an engine one).
        key: &'static str,
        /// The printer key's value (an error text), or empty.
        arg: String,
        /// What was wrong, in English.
        detail: String,
    },
    /// The printer's odometer counted fewer labels out than its status (`~HS`) did over a roll: one
    /// marked PRINTED did not come out, and nothing tells which. A sticker of this code may exist, or
    /// may not.
    OdometerDisagrees {
        /// Labels out by the odometer since its base reading.
        odometer: u64,
        /// Labels marked PRINTED from the status counts over the same time.
        counted: u64,
    },
    WorkerUnreadable,
    Cancelled,
    NoScan {
        secs: u64,
    },
    /// Too many wrong scans in a row stopped the line on this label.
    StoppedOnWrongScan {
        verdict: ScanVerdict,
    },
    /// Unreadable (or not GS1, or separators missing) after every rescan allowed.
    RescansFailed {
        verdict: ScanVerdict,
    },
    /// Not a rejection: the run ended on an error with the code in flight, and it went to NEEDS_REVIEW
    /// at once (`Ledger::halt_job`, key `line-error`; the ledger puts the code's state first in the
    /// values).
    LineError {
        /// The error, in English.
        error: String,
    },
}

impl RejectReason {
    pub fn key(&self) -> &'static str {
        match self {
            Self::MaybeNotSent => "maybe-not-sent",
            Self::PrinterCancelled { .. } => "printer-cancelled",
            Self::OdometerDisagrees { .. } => "odometer-disagrees",
            Self::WorkerUnreadable => "worker-unreadable",
            Self::Cancelled => "cancelled",
            Self::NoScan { .. } => "no-scan",
            Self::StoppedOnWrongScan { .. } => "stopped-on-wrong-scan",
            Self::RescansFailed { .. } => "rescans-failed",
            Self::LineError { .. } => "line-error",
        }
    }

    /// The values the screen's sentence takes (verdicts as their kind, see [`ScanVerdict::kind`]).
    pub fn args(&self) -> Vec<String> {
        match self {
            Self::PrinterCancelled { key, arg, detail } => {
                vec![(*key).to_owned(), arg.clone(), detail.clone()]
            }
            Self::LineError { error } => vec![error.clone()],
            Self::OdometerDisagrees { odometer, counted } => {
                vec![odometer.to_string(), counted.to_string()]
            }
            Self::NoScan { secs } => vec![secs.to_string()],
            Self::StoppedOnWrongScan { verdict } | Self::RescansFailed { verdict } => {
                vec![verdict.kind().to_owned()]
            }
            Self::MaybeNotSent | Self::WorkerUnreadable | Self::Cancelled => Vec::new(),
        }
    }

    /// The English text (as the ledger has always stored it).
    pub fn text(&self) -> String {
        match self {
            Self::MaybeNotSent => "the label may not have reached the printer (the link failed while sending): if a sticker came out, set it aside for the supervisor".into(),
            Self::PrinterCancelled { detail, .. } => format!(
                "printer error while printing: {detail}; the label was cancelled and cleared from the printer, but a sticker of this code may still come out or have partly printed: hand any such sticker to the supervisor"
            ),
            Self::OdometerDisagrees { odometer, counted } => format!(
                "the printer's odometer counted {odometer} labels out where its status counted {counted}: a label called printed did not come out and this one cannot be told apart; a sticker of this code may exist: look for it before it is reprinted or written off"
            ),
            Self::WorkerUnreadable => "the worker reported the sticker unreadable".into(),
            Self::Cancelled => "the label was cancelled at the station".into(),
            Self::NoScan { secs } => format!("no scan within {secs} s"),
            Self::StoppedOnWrongScan { verdict } => {
                format!("stopped on {}: {}", verdict.name(), verdict.message())
            }
            Self::RescansFailed { verdict } => verdict.message(),
            Self::LineError { error } => format!(
                "the line stopped on an error while this code was in flight ({error}): check whether its sticker was printed or applied"
            ),
        }
    }
}

impl EngineError {
    /// The notice key this error is told with (one of [`NOTICE_KEYS`]).
    pub fn key(&self) -> &'static str {
        match self {
            Self::Store(_) => "storage-error",
            Self::UnknownProduct(_) => "unknown-product",
            Self::PoolEmpty(_) => "pool-empty",
            Self::PoolHeld { .. } => "pool-held",
            Self::Label(_) | Self::BoxOpen(_) => "label-error",
            Self::LineStopped { .. } => "line-stopped",
            Self::PrinterNotFixed { .. } => "printer-not-fixed",
            Self::PrinterOffline { .. } => "printer-offline",
            Self::Scanner(_) => "scanner-error",
            Self::Printer(_) => "printer-link-error",
            Self::Interrupted => "interrupted",
        }
    }

    /// The values of the notice. Internal errors travel in English inside a translated frame.
    pub fn args(&self) -> Vec<String> {
        match self {
            Self::Store(e) => vec![e.to_string()],
            Self::UnknownProduct(g) | Self::PoolEmpty(g) => vec![g.to_string()],
            Self::PoolHeld { gtin, held } => vec![gtin.to_string(), held.to_string()],
            Self::Label(e) | Self::Scanner(e) => vec![e.clone()],
            Self::BoxOpen(sscc) => vec![format!("box {sscc} is open")],
            Self::LineStopped { count, .. } => vec![count.to_string()],
            Self::PrinterNotFixed { reason } | Self::PrinterOffline { reason } => {
                vec![reason.clone()]
            }
            Self::Printer(e) => vec![e.to_string()],
            Self::Interrupted => Vec::new(),
        }
    }

    /// What to do, where the app has a way to do it that the message cannot name.
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            Self::Store(e) => e.remedy(),
            Self::UnknownProduct(g) => Some(Remedy::AddProduct(g.clone())),
            Self::PoolEmpty(g) => Some(Remedy::PullCodes(g.clone())),
            Self::PoolHeld { gtin, .. } => Some(Remedy::CheckHeldCodes(gtin.clone())),
            Self::LineStopped { .. } => Some(Remedy::ReviewRejects),
            Self::BoxOpen(sscc) => Some(Remedy::CloseBox(sscc.clone())),
            _ => None,
        }
    }

    /// The error told to the screens.
    pub fn notice(&self) -> Notice {
        Notice::Failed {
            key: self.key(),
            args: self.args(),
            text: self.to_string(),
            remedy: self.remedy(),
        }
    }
}

impl PinError {
    /// What to do, where the app has a way to do it that the message cannot name.
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            PinError::NotSet | PinError::Damaged { .. } => Some(Remedy::SetSupervisorPin),
            _ => None,
        }
    }

    /// A refused PIN told to the screens.
    pub fn notice(&self) -> Notice {
        match self {
            PinError::Wrong => Notice::PinWrong,
            PinError::NotSet => Notice::PinNotSet,
            e => Notice::PinError {
                error: e.to_string(),
                remedy: e.remedy(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_within_each_kind() {
        for keys in [
            NOTICE_KEYS.iter().chain(SETTINGS_KEYS).copied().collect(),
            printer_keys(),
            STOPPED_KEYS.to_vec(),
            REASON_KEYS.to_vec(),
        ] {
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), keys.len(), "{keys:?}");
        }
    }

    #[test]
    fn reject_reasons_keep_their_english_text_and_list_their_keys() {
        let all = [
            RejectReason::MaybeNotSent,
            RejectReason::PrinterCancelled {
                key: "paper-out",
                arg: String::new(),
                detail: "Paper out".into(),
            },
            RejectReason::WorkerUnreadable,
            RejectReason::Cancelled,
            RejectReason::NoScan { secs: 30 },
            RejectReason::OdometerDisagrees {
                odometer: 7,
                counted: 8,
            },
            RejectReason::StoppedOnWrongScan {
                verdict: ScanVerdict::Timeout,
            },
            RejectReason::RescansFailed {
                verdict: ScanVerdict::Timeout,
            },
            RejectReason::LineError {
                error: "scanner: gone".into(),
            },
        ];
        for r in &all {
            assert!(REASON_KEYS.contains(&r.key()), "{r:?}");
            assert!(!r.text().is_empty());
        }
        assert_eq!(all[4].text(), "no scan within 30 s");
        assert_eq!(all[4].args(), vec!["30".to_owned()]);
        assert!(
            all[1]
                .text()
                .starts_with("printer error while printing: Paper out;"),
            "the ledger's English text begins as it always did"
        );
        assert!(
            all[1]
                .text()
                .contains("a sticker of this code may still come out")
        );
        assert_eq!(all[2].text(), "the worker reported the sticker unreadable");
    }

    #[test]
    fn engine_errors_and_pin_errors_are_told_with_listed_keys() {
        let errors = [
            EngineError::Interrupted,
            EngineError::Label("x".into()),
            EngineError::Scanner("x".into()),
            EngineError::LineStopped {
                count: 3,
                last: "x".into(),
            },
            EngineError::PrinterNotFixed { reason: "x".into() },
            EngineError::PrinterOffline { reason: "x".into() },
        ];
        for e in &errors {
            assert!(NOTICE_KEYS.contains(&e.key()), "{e:?}");
        }
        for e in [PinError::Wrong, PinError::NotSet, PinError::BadFormat] {
            assert!(NOTICE_KEYS.contains(&e.notice().key()));
        }
    }
}
