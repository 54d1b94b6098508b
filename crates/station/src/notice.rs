// SPDX-License-Identifier: GPL-3.0-or-later
//! Every notice the engine gives a person, one variant a sentence (house habit 1): how serious it is, its
//! stable key and values for the touchscreen to word in the worker's language (`app/ui/words.slint`),
//! and its English text for the CLI, the logs and as the screen's fallback. The text names no command of
//! the app (house habit 3): what to do in the app's words comes from [`Notice::remedy`], worded by the app.

use labelstation_ledger::Remedy;

use crate::Severity;

/// A sentence for whoever runs the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    // ---- the scanner --------------------------------------------------------------------------------
    /// A scan arrived while the line is stopped.
    ScanIgnoredStopped,
    /// The scanner went away mid-scan.
    ScanCutOff,
    /// A keyboard-wedge scanner sent keys the station cannot map.
    ScannerUnmappedKeys,
    /// More bytes than any label holds, without a terminator.
    ScannerNoise {
        len: usize,
        cap: usize,
    },
    /// A HID-POS report the driver could not read.
    ScannerBadReport {
        reason: String,
    },
    /// A roll run ended with stickers printed but not yet scanned.
    RollWaiting {
        waiting: u64,
    },
    /// A second sticker of an applied code was scanned.
    SecondSticker {
        masked: String,
    },

    // ---- the printer --------------------------------------------------------------------------------
    /// The printer stopped while this code's label was in it.
    LabelInterrupted {
        masked: String,
    },
    /// The printer could not be told to drop a rejected label (the link is down).
    CancelNotDelivered {
        masked: String,
    },
    /// The printer did not confirm it dropped a rejected label.
    CancelNotConfirmed {
        masked: String,
    },
    TestPrinted,
    /// The test label met a printer problem (its driver key, and what to do at the printer).
    TestPrintProblem {
        problem: &'static str,
        remedy: String,
    },
    TestPrintFailed {
        error: String,
    },

    // ---- the run ------------------------------------------------------------------------------------
    ChooseProductFirst,
    ProductNotRegistered {
        gtin: String,
    },
    RunFinished {
        printed: u32,
        verified: u32,
        rejected: u32,
        waiting: u32,
    },
    /// An error that ended what a screen asked for ([`EngineError::notice`](crate::EngineError::notice)):
    /// the error is the sentence, its key one of the error's own.
    Failed {
        key: &'static str,
        args: Vec<String>,
        text: String,
        remedy: Option<Remedy>,
    },

    // ---- the supervisor -----------------------------------------------------------------------------
    SignInUnavailable,
    PinLocked {
        secs: u64,
    },
    PinWrong,
    PinNotSet,
    /// Any other PIN trouble (a damaged or exposed PIN file, a PIN of the wrong form).
    PinError {
        error: String,
        remedy: Option<Remedy>,
    },
    UnlockNeedsPin,
    WriteOffFailed {
        error: String,
    },
    WriteOffNeedsPin,
    ReprintFailed {
        error: String,
    },
    ReprintNeedsPin,
    Confirmed,
    NotConfirmed,
    /// The scan offered to confirm a code is not that code byte for byte.
    ConfirmMismatch {
        masked: String,
    },
    ConfirmFailed {
        error: String,
    },
    ConfirmNeedsPin,
    SentAgain,
    SendAgainFailed {
        error: String,
    },
    SendAgainNeedsPin,
    StickerMissingNoted,
    StickerMissingFailed {
        error: String,
    },
    StickerMissingNeedsPin,
    StickerAlertClosed {
        alert: i64,
    },
    StickerAlertCloseFailed {
        error: String,
    },
    StickerAlertCloseNeedsPin,

    // ---- consignments -------------------------------------------------------------------------------
    ConsignmentUnknown {
        error: String,
    },
    ConsignmentDeclared {
        consignment: String,
        declaration: String,
    },
    ConsignmentDeclareFailed {
        error: String,
    },
    ConsignmentSubmitted {
        consignment: String,
        codes: u64,
        documents: usize,
    },
    ConsignmentSubmitFailed {
        error: String,
    },
    ConsignmentNeedsPin,

    // ---- boxes on the line --------------------------------------------------------------------------
    BoxLabelVerified {
        sscc: String,
        count: u64,
        capacity: u64,
    },
    /// A box label was not read; another is printing.
    BoxLabelUnread {
        sscc: String,
    },
    /// The scan is another box's label (or another GS1-128).
    BoxLabelWrong {
        read: String,
        sscc: String,
    },
    /// No label of the box was read after `labels` tries.
    BoxLabelUnverified {
        sscc: String,
        labels: u32,
    },
    BoxLabelFailed {
        sscc: String,
        error: String,
    },
    BoxNotPacking,
    BoxLabelReprinted {
        sscc: String,
    },
    BoxReprintFailed {
        error: String,
    },
    BoxReprintNeedsPin,
}

impl Notice {
    /// How serious it is.
    pub fn severity(&self) -> Severity {
        use Notice::*;
        match self {
            TestPrinted
            | Confirmed
            | SentAgain
            | StickerAlertClosed { .. }
            | BoxLabelReprinted { .. } => Severity::Ok,
            ConsignmentDeclared { .. } | ConsignmentSubmitted { .. } | BoxLabelVerified { .. } => {
                Severity::Ok
            }
            RollWaiting { .. } | RunFinished { .. } | StickerMissingNoted => Severity::Info,
            ScanIgnoredStopped
            | ScanCutOff
            | ScannerUnmappedKeys
            | ScannerNoise { .. }
            | ScannerBadReport { .. }
            | LabelInterrupted { .. }
            | BoxLabelUnread { .. }
            | BoxLabelWrong { .. }
            | BoxNotPacking => Severity::Warning,
            _ => Severity::Alert,
        }
    }

    /// The stable key the screens word (one of [`NOTICE_KEYS`](crate::words::NOTICE_KEYS)).
    pub fn key(&self) -> &'static str {
        use Notice::*;
        match self {
            ScanIgnoredStopped => "scan-ignored-stopped",
            ScanCutOff => "scan-cut-off",
            ScannerUnmappedKeys => "scanner-unmapped-keys",
            ScannerNoise { .. } => "scanner-noise",
            ScannerBadReport { .. } => "scanner-bad-report",
            RollWaiting { .. } => "roll-waiting",
            SecondSticker { .. } => "second-sticker",
            LabelInterrupted { .. } => "label-interrupted",
            CancelNotDelivered { .. } => "cancel-not-delivered",
            CancelNotConfirmed { .. } => "cancel-not-confirmed",
            TestPrinted => "test-printed",
            TestPrintProblem { .. } => "test-print-problem",
            TestPrintFailed { .. } => "test-print-failed",
            ChooseProductFirst => "choose-product-first",
            ProductNotRegistered { .. } => "product-not-registered",
            RunFinished { .. } => "run-finished",
            Failed { key, .. } => key,
            SignInUnavailable => "sign-in-unavailable",
            PinLocked { .. } => "pin-locked",
            PinWrong => "pin-wrong",
            PinNotSet => "pin-not-set",
            PinError { .. } => "pin-error",
            UnlockNeedsPin => "unlock-needs-pin",
            WriteOffFailed { .. } => "write-off-failed",
            WriteOffNeedsPin => "write-off-needs-pin",
            ReprintFailed { .. } => "reprint-failed",
            ReprintNeedsPin => "reprint-needs-pin",
            Confirmed => "confirmed",
            NotConfirmed => "not-confirmed",
            ConfirmMismatch { .. } => "confirm-mismatch",
            ConfirmFailed { .. } => "confirm-failed",
            ConfirmNeedsPin => "confirm-needs-pin",
            SentAgain => "sent-again",
            SendAgainFailed { .. } => "send-again-failed",
            SendAgainNeedsPin => "send-again-needs-pin",
            StickerMissingNoted => "sticker-missing-noted",
            StickerMissingFailed { .. } => "sticker-missing-failed",
            StickerMissingNeedsPin => "sticker-missing-needs-pin",
            StickerAlertClosed { .. } => "sticker-alert-closed",
            StickerAlertCloseFailed { .. } => "sticker-alert-close-failed",
            StickerAlertCloseNeedsPin => "sticker-alert-close-needs-pin",
            ConsignmentUnknown { .. } => "consignment-unknown",
            ConsignmentDeclared { .. } => "consignment-declared",
            ConsignmentDeclareFailed { .. } => "consignment-declare-failed",
            ConsignmentSubmitted { .. } => "consignment-submitted",
            ConsignmentSubmitFailed { .. } => "consignment-submit-failed",
            ConsignmentNeedsPin => "consignment-needs-pin",
            BoxLabelVerified { .. } => "box-label-verified",
            BoxLabelUnread { .. } => "box-label-unread",
            BoxLabelWrong { .. } => "box-label-wrong",
            BoxLabelUnverified { .. } => "box-label-unverified",
            BoxLabelFailed { .. } => "box-label-failed",
            BoxNotPacking => "box-not-packing",
            BoxLabelReprinted { .. } => "box-label-reprinted",
            BoxReprintFailed { .. } => "box-reprint-failed",
            BoxReprintNeedsPin => "box-reprint-needs-pin",
        }
    }

    /// The sentence's values, in order (what `app/ui/words.slint` fills in).
    pub fn args(&self) -> Vec<String> {
        use Notice::*;
        match self {
            ScannerNoise { len, cap } => vec![len.to_string(), cap.to_string()],
            ScannerBadReport { reason } => vec![reason.clone()],
            RollWaiting { waiting } => vec![waiting.to_string()],
            SecondSticker { masked }
            | LabelInterrupted { masked }
            | CancelNotDelivered { masked }
            | CancelNotConfirmed { masked }
            | ConfirmMismatch { masked } => vec![masked.clone()],
            TestPrintProblem { problem, .. } => vec![(*problem).to_owned()],
            ProductNotRegistered { gtin } => vec![gtin.clone()],
            RunFinished {
                printed,
                verified,
                rejected,
                waiting,
            } => [printed, verified, rejected, waiting]
                .iter()
                .map(|n| n.to_string())
                .collect(),
            Failed { args, .. } => args.clone(),
            PinLocked { secs } => vec![secs.to_string()],
            PinError { error, .. }
            | TestPrintFailed { error }
            | WriteOffFailed { error }
            | ReprintFailed { error }
            | ConfirmFailed { error }
            | SendAgainFailed { error }
            | StickerMissingFailed { error }
            | StickerAlertCloseFailed { error }
            | ConsignmentUnknown { error }
            | ConsignmentDeclareFailed { error }
            | ConsignmentSubmitFailed { error }
            | BoxReprintFailed { error } => vec![error.clone()],
            PinWrong => vec!["wrong supervisor PIN".into()],
            PinNotSet => vec!["no supervisor PIN is set on this station".into()],
            StickerAlertClosed { alert } => vec![format!("!{alert}")],
            ConsignmentDeclared {
                consignment,
                declaration,
            } => vec![consignment.clone(), declaration.clone()],
            ConsignmentSubmitted {
                consignment,
                codes,
                documents,
            } => vec![
                consignment.clone(),
                codes.to_string(),
                documents.to_string(),
            ],
            BoxLabelVerified {
                sscc,
                count,
                capacity,
            } => vec![sscc.clone(), count.to_string(), capacity.to_string()],
            BoxLabelUnread { sscc } | BoxLabelReprinted { sscc } => vec![sscc.clone()],
            BoxLabelWrong { read, sscc } => vec![read.clone(), sscc.clone()],
            BoxLabelUnverified { sscc, labels } => vec![sscc.clone(), labels.to_string()],
            BoxLabelFailed { sscc, error } => vec![sscc.clone(), error.clone()],
            _ => Vec::new(),
        }
    }

    /// The sentence in English: the CLI's and the logs' text, and the screen's fallback.
    pub fn text(&self) -> String {
        use Notice::*;
        match self {
            ScanIgnoredStopped => "Scan ignored: the line is stopped".into(),
            ScanCutOff => "The scan was cut off (scanner disconnected): scan again".into(),
            ScannerUnmappedKeys => "The scanner sent keys the station cannot map: set the scanner to USB-CDC mode, then scan again".into(),
            ScannerNoise { len, cap } => format!("Scanner noise ignored ({len} bytes, over the {cap}-byte limit): scan again"),
            ScannerBadReport { reason } => format!("Scanner report ignored: {reason}"),
            RollWaiting { waiting } => format!("{waiting} printed stickers wait on the roll; scan them when applied"),
            SecondSticker { masked } => format!("A second sticker of {masked}, a code already applied: do not apply it. Hand it to the supervisor to destroy"),
            LabelInterrupted { masked } => format!("The printer stopped while {masked} was in it: if a partial or second sticker of it comes out, do not apply it; hand it to the supervisor"),
            CancelNotDelivered { masked } => format!("The printer could not be told to drop the label of {masked} (the link is down): if a sticker of it comes out, hand it to the supervisor"),
            CancelNotConfirmed { masked } => format!("The printer did not confirm it dropped the label of {masked}: if a sticker of it comes out, hand it to the supervisor"),
            TestPrinted => "Test label printed".into(),
            TestPrintProblem { remedy, .. } => format!("Test label: {remedy}"),
            TestPrintFailed { error } => format!("Test print failed: {error}"),
            ChooseProductFirst => "Choose the product first (list or scan the box)".into(),
            ProductNotRegistered { gtin } => format!("Product {gtin} is not registered on this station: ask the supervisor to add it"),
            RunFinished { printed, verified, rejected, waiting } => format!("Run finished: {printed} printed, {verified} verified, {rejected} rejected, {waiting} waiting for their scan"),
            Failed { text, .. } => text.clone(),
            SignInUnavailable => "Supervisor sign-in is not available on this station".into(),
            PinLocked { secs } => format!("Too many wrong PINs: try again in {secs} s"),
            PinWrong => "wrong supervisor PIN".into(),
            PinNotSet => "no supervisor PIN is set on this station: a supervisor sets one first".into(),
            PinError { error, .. } => error.clone(),
            UnlockNeedsPin => "Unlocking the line needs the supervisor PIN".into(),
            WriteOffFailed { error } => format!("Write-off failed: {error}"),
            WriteOffNeedsPin => "Writing a code off needs the supervisor PIN".into(),
            ReprintFailed { error } => format!("Reprint failed: {error}"),
            ReprintNeedsPin => "Reprinting needs the supervisor PIN".into(),
            Confirmed => "Confirmed as applied".into(),
            NotConfirmed => "Not confirmed: no matching scan".into(),
            ConfirmMismatch { masked } => format!("This scan is not {masked} byte for byte: not confirmed"),
            ConfirmFailed { error } => format!("Confirm failed: {error}"),
            ConfirmNeedsPin => "Confirming needs the supervisor PIN".into(),
            SentAgain => "The code is verified again; its application goes with the next report".into(),
            SendAgainFailed { error } => format!("Sending the application again failed: {error}"),
            SendAgainNeedsPin => "Sending an application again needs the supervisor PIN".into(),
            StickerMissingNoted => "The code waits for review: write it off, or confirm it if the sticker turns up on an item".into(),
            StickerMissingFailed { error } => format!("Could not send the code to review: {error}"),
            StickerMissingNeedsPin => "Sending a code to review needs the supervisor PIN".into(),
            StickerAlertClosed { alert } => format!("Second-sticker alert !{alert} closed"),
            StickerAlertCloseFailed { error } => format!("Could not close the second-sticker alert: {error}"),
            StickerAlertCloseNeedsPin => "Closing a second-sticker alert needs the supervisor PIN".into(),
            ConsignmentUnknown { error } => format!("Cannot label for that consignment: {error}"),
            ConsignmentDeclared { consignment, declaration } => format!("Consignment {consignment}: declaration {declaration} recorded"),
            ConsignmentDeclareFailed { error } => format!("The declaration was not recorded: {error}"),
            ConsignmentSubmitted { consignment, codes, documents } => format!("Consignment {consignment}: {codes} code(s) in {documents} import document(s); the registry link sends them"),
            ConsignmentSubmitFailed { error } => format!("Nothing was submitted: {error}"),
            ConsignmentNeedsPin => "Declaring or submitting a consignment needs the supervisor PIN".into(),
            BoxLabelVerified { sscc, count, capacity } => format!("Box {sscc} closed with {count} of {capacity} pairs; its label is verified"),
            BoxLabelUnread { sscc } => format!("The label of box {sscc} was not read: peel it off; a new one is printing"),
            BoxLabelWrong { read, sscc } => format!("That label reads {read}, not box {sscc}: scan the label just printed for this box"),
            BoxLabelUnverified { sscc, labels } => format!("The label of box {sscc} was not read after {labels} labels: check the printer and the scanner, then print the box label again"),
            BoxLabelFailed { sscc, error } => format!("The label of box {sscc} did not print ({error}): fix the printer, then print the box label again"),
            BoxNotPacking => "The line does not pack boxes: there is no box to close".into(),
            BoxLabelReprinted { sscc } => format!("The label of box {sscc} was printed again: put it on the box"),
            BoxReprintFailed { error } => format!("The box label was not printed again: {error}"),
            BoxReprintNeedsPin => "Reprinting a box label needs the supervisor PIN".into(),
        }
    }

    /// What to do, where the app has a way to do it that the sentence cannot name (a command, a page).
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            Notice::BoxLabelUnverified { sscc, .. } | Notice::BoxLabelFailed { sscc, .. } => {
                Some(Remedy::PrintBoxLabel(sscc.clone()))
            }
            Notice::PinNotSet => Some(Remedy::SetSupervisorPin),
            Notice::PinError { remedy, .. } | Notice::Failed { remedy, .. } => remedy.clone(),
            _ => None,
        }
    }
}

/// As the screens and `--json` readers always had it: severity, English message, key and values.
impl serde::Serialize for Notice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("Notice", 4)?;
        st.serialize_field("severity", &self.severity())?;
        st.serialize_field("message", &self.text())?;
        st.serialize_field("key", self.key())?;
        st.serialize_field("args", &self.args())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::EngineError;
    use crate::words::NOTICE_KEYS;

    /// One of each sentence (the match below fails to build when a variant is added without one here).
    fn every() -> Vec<Notice> {
        use Notice::*;
        let (m, e, s) = (
            "0104600000000000215abc".to_owned(),
            "e".to_owned(),
            "348700010000000011".to_owned(),
        );
        vec![
            ScanIgnoredStopped,
            ScanCutOff,
            ScannerUnmappedKeys,
            ScannerNoise {
                len: 9000,
                cap: 4096,
            },
            ScannerBadReport { reason: e.clone() },
            RollWaiting { waiting: 3 },
            SecondSticker { masked: m.clone() },
            LabelInterrupted { masked: m.clone() },
            CancelNotDelivered { masked: m.clone() },
            CancelNotConfirmed { masked: m.clone() },
            TestPrinted,
            TestPrintProblem {
                problem: "paper-out",
                remedy: e.clone(),
            },
            TestPrintFailed { error: e.clone() },
            ChooseProductFirst,
            ProductNotRegistered { gtin: m.clone() },
            RunFinished {
                printed: 1,
                verified: 1,
                rejected: 0,
                waiting: 0,
            },
            SignInUnavailable,
            PinLocked { secs: 30 },
            PinWrong,
            PinNotSet,
            PinError {
                error: e.clone(),
                remedy: None,
            },
            UnlockNeedsPin,
            WriteOffFailed { error: e.clone() },
            WriteOffNeedsPin,
            ReprintFailed { error: e.clone() },
            ReprintNeedsPin,
            Confirmed,
            NotConfirmed,
            ConfirmMismatch { masked: m.clone() },
            ConfirmFailed { error: e.clone() },
            ConfirmNeedsPin,
            SentAgain,
            SendAgainFailed { error: e.clone() },
            SendAgainNeedsPin,
            StickerMissingNoted,
            StickerMissingFailed { error: e.clone() },
            StickerMissingNeedsPin,
            StickerAlertClosed { alert: 7 },
            StickerAlertCloseFailed { error: e.clone() },
            StickerAlertCloseNeedsPin,
            ConsignmentUnknown { error: e.clone() },
            ConsignmentDeclared {
                consignment: "CN-1".into(),
                declaration: "D-1".into(),
            },
            ConsignmentDeclareFailed { error: e.clone() },
            ConsignmentSubmitted {
                consignment: "CN-1".into(),
                codes: 8,
                documents: 1,
            },
            ConsignmentSubmitFailed { error: e.clone() },
            ConsignmentNeedsPin,
            BoxLabelVerified {
                sscc: s.clone(),
                count: 4,
                capacity: 4,
            },
            BoxLabelUnread { sscc: s.clone() },
            BoxLabelWrong {
                read: e.clone(),
                sscc: s.clone(),
            },
            BoxLabelUnverified {
                sscc: s.clone(),
                labels: 3,
            },
            BoxLabelFailed {
                sscc: s.clone(),
                error: e.clone(),
            },
            BoxNotPacking,
            BoxLabelReprinted { sscc: s.clone() },
            BoxReprintFailed { error: e.clone() },
            BoxReprintNeedsPin,
        ]
    }

    /// Fails to build when a sentence is added and [`every`] is not told.
    fn listed(n: &Notice) -> bool {
        use Notice::*;
        match n {
            Failed { .. } => false,
            ScanIgnoredStopped
            | ScanCutOff
            | ScannerUnmappedKeys
            | ScannerNoise { .. }
            | ScannerBadReport { .. }
            | RollWaiting { .. }
            | SecondSticker { .. }
            | LabelInterrupted { .. }
            | CancelNotDelivered { .. }
            | CancelNotConfirmed { .. }
            | TestPrinted
            | TestPrintProblem { .. }
            | TestPrintFailed { .. }
            | ChooseProductFirst
            | ProductNotRegistered { .. }
            | RunFinished { .. }
            | SignInUnavailable
            | PinLocked { .. }
            | PinWrong
            | PinNotSet
            | PinError { .. }
            | UnlockNeedsPin
            | WriteOffFailed { .. }
            | WriteOffNeedsPin
            | ReprintFailed { .. }
            | ReprintNeedsPin
            | Confirmed
            | NotConfirmed
            | ConfirmMismatch { .. }
            | ConfirmFailed { .. }
            | ConfirmNeedsPin
            | SentAgain
            | SendAgainFailed { .. }
            | SendAgainNeedsPin
            | StickerMissingNoted
            | StickerMissingFailed { .. }
            | StickerMissingNeedsPin
            | StickerAlertClosed { .. }
            | StickerAlertCloseFailed { .. }
            | StickerAlertCloseNeedsPin
            | ConsignmentUnknown { .. }
            | ConsignmentDeclared { .. }
            | ConsignmentDeclareFailed { .. }
            | ConsignmentSubmitted { .. }
            | ConsignmentSubmitFailed { .. }
            | ConsignmentNeedsPin
            | BoxLabelVerified { .. }
            | BoxLabelUnread { .. }
            | BoxLabelWrong { .. }
            | BoxLabelUnverified { .. }
            | BoxLabelFailed { .. }
            | BoxNotPacking
            | BoxLabelReprinted { .. }
            | BoxReprintFailed { .. }
            | BoxReprintNeedsPin => true,
        }
    }

    #[test]
    fn every_sentence_has_a_listed_key_its_english_text_and_names_no_command() {
        let mut keys = BTreeSet::new();
        for n in every() {
            assert!(listed(&n));
            assert!(NOTICE_KEYS.contains(&n.key()), "{n:?}");
            assert!(keys.insert(n.key()), "{} twice", n.key());
            let text = n.text();
            assert!(!text.is_empty(), "{n:?}");
            assert!(
                !text.contains("labelstation "),
                "{n:?} names a command: {text}"
            );
            for a in n.args() {
                assert!(
                    text.contains(&a)
                        || n.key().starts_with("pin-")
                        || n.key() == "test-print-problem"
                        || n.key() == "sticker-alert-closed",
                    "{n:?}: {a} not in {text}"
                );
            }
        }
        // The rest are the errors' own keys: one of each error.
        let gtin = labelstation_codes::Gtin::parse("04607000000014").unwrap();
        let text = || "x".to_owned();
        let errors = [
            EngineError::Store(labelstation_ledger::StoreError::DiskFull),
            EngineError::UnknownProduct(gtin.clone()),
            EngineError::PoolEmpty(gtin.clone()),
            EngineError::PoolHeld { gtin, held: 2 },
            EngineError::Label(text()),
            EngineError::BoxOpen(text()),
            EngineError::LineStopped {
                count: 3,
                last: text(),
            },
            EngineError::PrinterNotFixed { reason: text() },
            EngineError::PrinterOffline { reason: text() },
            EngineError::Scanner(text()),
            EngineError::Printer(
                labelstation_printer::TransportError::Io {
                    device: text(),
                    operation: "write",
                    source: std::io::ErrorKind::BrokenPipe.into(),
                }
                .into(),
            ),
            EngineError::Interrupted,
        ];
        for e in &errors {
            let n = e.notice();
            assert!(!n.text().contains("labelstation "), "{e:?} names a command");
            keys.insert(n.key());
        }
        let listed: BTreeSet<&str> = NOTICE_KEYS.iter().copied().collect();
        assert_eq!(keys, listed, "NOTICE_KEYS and the sentences differ");
    }

    #[test]
    fn a_box_label_left_unverified_names_what_to_do_for_the_app_to_word() {
        let n = Notice::BoxLabelUnverified {
            sscc: "348700010000000011".into(),
            labels: 3,
        };
        assert_eq!(
            n.remedy(),
            Some(Remedy::PrintBoxLabel("348700010000000011".into()))
        );
        assert_eq!(n.severity(), Severity::Alert);
        assert_eq!(n.args(), vec!["348700010000000011".to_owned(), "3".into()]);
    }
}
