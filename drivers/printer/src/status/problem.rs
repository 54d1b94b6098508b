// SPDX-License-Identifier: GPL-3.0-or-later
//! What is wrong with the printer, in words a warehouse worker can act on.

use std::fmt;

/// One condition that stops or degrades printing, decoded from `~HS` or `~HQES` (or from the
/// absence of a reply).
///
/// Every variant has a one-line [`remedy`](Problem::remedy) for the touchscreen; the UI shows
/// it as is, so the wording lives here next to the flag it explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Problem {
    /// The printer did not answer `~HS`. Zebra firmware stays silent while media is out, the
    /// ribbon is out, the head is open, the rewinder is full or the head is too hot, so silence
    /// most likely means one of those, not "ready".
    NoStatusReply,
    /// Out of labels (`~HS` paper out, `~HQES` media out).
    PaperOut,
    /// Out of ribbon.
    RibbonOut,
    /// Print head lifted.
    HeadOpen,
    /// Paused from the front panel or by `~PP`.
    Paused,
    /// Receive buffer full: the printer takes no more formats.
    BufferFull,
    /// The printer found its RAM corrupted; stored formats are lost.
    CorruptRam,
    /// Too cold to print (`~HS` under-temperature).
    UnderTemperature,
    /// Too hot to print (`~HS` over-temperature).
    OverTemperature,
    /// Cutter jammed or failed.
    CutterFault,
    /// Print head over temperature (`~HQES`).
    HeadOverTemperature,
    /// Stepper motor over temperature (`~HQES`).
    MotorOverTemperature,
    /// A heating element of the head is dead: codes may print with gaps.
    BadHeadElement,
    /// The printer cannot detect its print head.
    HeadDetectionError,
    /// Firmware configuration invalid.
    InvalidFirmwareConfig,
    /// Head temperature sensor open.
    HeadThermistorOpen,
    /// `~HQES` error bits this driver does not know (kept so nothing is silently ignored).
    UnrecognisedError {
        /// The unknown error bits, as placed in [`ErrorFlags`](super::ErrorFlags).
        bits: u64,
    },
    /// Warning: media calibration needed.
    NeedsCalibration,
    /// Warning: the head needs cleaning.
    CleanHead,
    /// Warning: the head is worn out.
    ReplaceHead,
    /// Warning: the label roll is nearly used up.
    PaperNearEnd,
    /// `~HQES` warning bits this driver does not know.
    UnrecognisedWarning {
        /// The unknown warning bits, as placed in [`WarningFlags`](super::WarningFlags).
        bits: u64,
    },
}

impl Problem {
    /// Every key [`key`](Problem::key) returns, for screens that word each problem in the worker's
    /// language (a test checks each has a translation).
    pub const ALL_KEYS: &'static [&'static str] = &[
        "no-status-reply",
        "paper-out",
        "ribbon-out",
        "head-open",
        "paused",
        "buffer-full",
        "corrupt-ram",
        "under-temperature",
        "over-temperature",
        "cutter-fault",
        "head-over-temperature",
        "motor-over-temperature",
        "bad-head-element",
        "head-detection-error",
        "invalid-firmware-config",
        "head-thermistor-open",
        "unrecognised-error",
        "needs-calibration",
        "clean-head",
        "replace-head",
        "paper-near-end",
        "unrecognised-warning",
    ];

    /// A stable, language-neutral name for the problem: screens word it from this (the English
    /// [`remedy`](Problem::remedy) stays for logs and the CLI). Never renamed once shipped.
    #[must_use]
    pub fn key(&self) -> &'static str {
        match self {
            Self::NoStatusReply => "no-status-reply",
            Self::PaperOut => "paper-out",
            Self::RibbonOut => "ribbon-out",
            Self::HeadOpen => "head-open",
            Self::Paused => "paused",
            Self::BufferFull => "buffer-full",
            Self::CorruptRam => "corrupt-ram",
            Self::UnderTemperature => "under-temperature",
            Self::OverTemperature => "over-temperature",
            Self::CutterFault => "cutter-fault",
            Self::HeadOverTemperature => "head-over-temperature",
            Self::MotorOverTemperature => "motor-over-temperature",
            Self::BadHeadElement => "bad-head-element",
            Self::HeadDetectionError => "head-detection-error",
            Self::InvalidFirmwareConfig => "invalid-firmware-config",
            Self::HeadThermistorOpen => "head-thermistor-open",
            Self::UnrecognisedError { .. } => "unrecognised-error",
            Self::NeedsCalibration => "needs-calibration",
            Self::CleanHead => "clean-head",
            Self::ReplaceHead => "replace-head",
            Self::PaperNearEnd => "paper-near-end",
            Self::UnrecognisedWarning { .. } => "unrecognised-warning",
        }
    }

    /// What happened and what to do, as two separate sentences: the screens show them apart.
    fn texts(&self) -> (&'static str, &'static str) {
        match self {
            Self::NoStatusReply => (
                "Printer not answering",
                "check its screen for no labels, no ribbon or an open head, then that it is switched on and the cable is plugged in",
            ),
            Self::PaperOut => ("Paper out", "load a new roll of labels and press FEED"),
            Self::RibbonOut => (
                "Ribbon out",
                "load a new ribbon, close the head and tap Resume",
            ),
            Self::HeadOpen => ("Printer head open", "close the head and tap Resume"),
            Self::Paused => ("Printer paused", "press PAUSE on the printer to continue"),
            Self::BufferFull => (
                "Printer busy",
                "wait until the queued labels are printed, then try again",
            ),
            Self::CorruptRam => (
                "Printer memory error",
                "switch the printer off and on, then tap Resume; call a supervisor if it repeats",
            ),
            Self::UnderTemperature => (
                "Printer too cold",
                "move it somewhere warmer and wait a few minutes before printing",
            ),
            Self::OverTemperature | Self::HeadOverTemperature => (
                "Print head too hot",
                "stop printing for a few minutes to let it cool, then tap Resume",
            ),
            Self::CutterFault => (
                "Cutter fault",
                "switch the printer off, clear the jam from the cutter, switch it on",
            ),
            Self::MotorOverTemperature => (
                "Printer motor too hot",
                "let the printer rest for a few minutes, then tap Resume",
            ),
            Self::BadHeadElement => (
                "Print head damaged",
                "codes may not scan; call a supervisor to replace the head",
            ),
            Self::HeadDetectionError => (
                "Print head not detected",
                "switch the printer off and on; call a supervisor if it repeats",
            ),
            Self::InvalidFirmwareConfig => (
                "Printer firmware problem",
                "call a supervisor to reload the printer's firmware",
            ),
            Self::HeadThermistorOpen => (
                "Print head sensor fault",
                "call a supervisor to service the print head",
            ),
            Self::UnrecognisedError { .. } => (
                "Printer reports an error",
                "read the message on the printer's screen and call a supervisor",
            ),
            Self::NeedsCalibration => (
                "Printer needs calibrating",
                "run media calibration from the printer menu or ask a supervisor",
            ),
            Self::CleanHead => (
                "Print head dirty",
                "clean it with a cleaning pen at the next roll change",
            ),
            Self::ReplaceHead => (
                "Print head worn",
                "tell a supervisor it needs replacing soon",
            ),
            Self::PaperNearEnd => ("Labels nearly used up", "have a new roll ready"),
            Self::UnrecognisedWarning { .. } => (
                "Printer shows a warning",
                "read the message on the printer's screen",
            ),
        }
    }

    /// What happened, in a few words ("Paper out").
    #[must_use]
    pub fn what(&self) -> &'static str {
        self.texts().0
    }

    /// What the worker does about it ("load a new roll of labels and press FEED").
    #[must_use]
    pub fn action(&self) -> &'static str {
        self.texts().1
    }

    /// The one-line instruction shown to the worker: what happened, then what to do.
    #[must_use]
    pub fn remedy(&self) -> String {
        format!("{}: {}", self.what(), self.action())
    }

    /// Whether printing must stop until the problem is fixed. Warnings (near end, clean head,
    /// …) let the job go on; the UI shows them without blocking.
    #[must_use]
    pub fn is_blocking(&self) -> bool {
        !matches!(
            self,
            Self::NeedsCalibration
                | Self::CleanHead
                | Self::ReplaceHead
                | Self::PaperNearEnd
                | Self::UnrecognisedWarning { .. }
        )
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what(), self.action())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Problem; 22] = [
        Problem::NoStatusReply,
        Problem::PaperOut,
        Problem::RibbonOut,
        Problem::HeadOpen,
        Problem::Paused,
        Problem::BufferFull,
        Problem::CorruptRam,
        Problem::UnderTemperature,
        Problem::OverTemperature,
        Problem::CutterFault,
        Problem::HeadOverTemperature,
        Problem::MotorOverTemperature,
        Problem::BadHeadElement,
        Problem::HeadDetectionError,
        Problem::InvalidFirmwareConfig,
        Problem::HeadThermistorOpen,
        Problem::UnrecognisedError { bits: 1 << 16 },
        Problem::NeedsCalibration,
        Problem::CleanHead,
        Problem::ReplaceHead,
        Problem::PaperNearEnd,
        Problem::UnrecognisedWarning { bits: 1 << 8 },
    ];

    #[test]
    fn every_remedy_is_one_line_naming_the_problem_then_the_action() {
        for p in ALL {
            let r = p.remedy();
            assert!(!r.contains('\n') && !r.contains("  "), "{p:?}: {r:?}");
            assert!(
                !p.what().is_empty() && !p.action().is_empty(),
                "{p:?}: {r:?}"
            );
            assert_eq!(r, format!("{}: {}", p.what(), p.action()));
            assert_eq!(p.to_string(), r);
        }
    }

    #[test]
    fn every_problem_has_its_own_listed_key() {
        let keys: Vec<&str> = ALL.iter().map(Problem::key).collect();
        assert_eq!(keys, Problem::ALL_KEYS);
    }

    #[test]
    fn documented_remedies() {
        assert_eq!(
            Problem::PaperOut.remedy(),
            "Paper out: load a new roll of labels and press FEED"
        );
        assert_eq!(
            Problem::HeadOpen.remedy(),
            "Printer head open: close the head and tap Resume"
        );
    }

    #[test]
    fn only_warnings_are_non_blocking() {
        let non_blocking: Vec<Problem> = ALL.into_iter().filter(|p| !p.is_blocking()).collect();
        assert_eq!(
            non_blocking,
            vec![
                Problem::NeedsCalibration,
                Problem::CleanHead,
                Problem::ReplaceHead,
                Problem::PaperNearEnd,
                Problem::UnrecognisedWarning { bits: 1 << 8 },
            ]
        );
    }
}
