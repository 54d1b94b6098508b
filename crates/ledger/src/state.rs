// SPDX-License-Identifier: GPL-3.0-or-later
//! The life of a marking code, as data.
//!
//! [`TRANSITIONS`] is the single list of legal moves. The ledger checks it before every change and copies
//! it into the database, where a trigger refuses any other move, so even a hand-written `UPDATE` cannot
//! put a code into a state it could not reach. Each move also says whether it is open to a code that was
//! verified before ([`WasVerified`]): a verified code's sticker was scanned on an item, so, whatever state
//! it is in later, it is never printed again.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a code is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CodeState {
    /// In the pool, never handed to a printer.
    Available,
    /// Taken by one print job; no byte has left the station yet.
    Reserved,
    /// Its label was (or was being) sent to the printer.
    Sent,
    /// The printer reported the label done.
    Printed,
    /// A scan of the sticker matched the issued code byte for byte. Counted once, ever.
    Verified,
    /// The registry accepted the application report.
    Reported,
    /// Printed or sent but failed (mismatch, unreadable, timeout, printer error): awaits a supervisor.
    Rejected,
    /// Physical fate unknown (crash mid-job) or refused by the registry: awaits a supervisor.
    NeedsReview,
    /// Spoiled and withdrawn; the write-off is reported to the registry.
    WrittenOff,
}

impl CodeState {
    pub const ALL: [CodeState; 9] = [
        CodeState::Available,
        CodeState::Reserved,
        CodeState::Sent,
        CodeState::Printed,
        CodeState::Verified,
        CodeState::Reported,
        CodeState::Rejected,
        CodeState::NeedsReview,
        CodeState::WrittenOff,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            CodeState::Available => "AVAILABLE",
            CodeState::Reserved => "RESERVED",
            CodeState::Sent => "SENT",
            CodeState::Printed => "PRINTED",
            CodeState::Verified => "VERIFIED",
            CodeState::Reported => "REPORTED",
            CodeState::Rejected => "REJECTED",
            CodeState::NeedsReview => "NEEDS_REVIEW",
            CodeState::WrittenOff => "WRITTEN_OFF",
        }
    }

    /// States in which a code belongs to a print job (and to no other).
    pub const fn is_in_flight(self) -> bool {
        matches!(
            self,
            CodeState::Reserved | CodeState::Sent | CodeState::Printed
        )
    }

    /// States that count as applied to an item.
    pub const fn is_verified(self) -> bool {
        matches!(self, CodeState::Verified | CodeState::Reported)
    }
}

impl fmt::Display for CodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown code state {0:?}")]
pub struct UnknownState(pub String);

impl FromStr for CodeState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CodeState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_owned()))
    }
}

/// Who may make a move. The engine authenticates people (supervisor PIN); the ledger refuses a move
/// whose actor lacks the role, so the rule holds for every caller, not only the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A worker at the line.
    Operator,
    /// A shift supervisor (authenticated by PIN in the engine).
    Supervisor,
    /// The station itself: printer and scanner outcomes, registry replies, crash recovery, CLI tools run by
    /// the machine's administrator.
    System,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Supervisor => "supervisor",
            Role::System => "system",
        }
    }
}

/// The named moves a code can make. Each maps to exactly one set of (from, to) pairs in [`TRANSITIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Move {
    /// Take a code from the pool for a print job.
    Reserve,
    /// Give a reserved code back: the job ended before any byte was sent.
    Release,
    /// The label is being handed to the printer (recorded before the first byte leaves).
    Send,
    /// The printer finished the label.
    Print,
    /// The scan matched.
    Verify,
    /// Printing or verification failed.
    Reject,
    /// The registry accepted the application report.
    Report,
    /// The registry refused this code in a report.
    RegistryRefuse,
    /// The code was in flight when its run ended without finishing its label: start-up found it (crash,
    /// power cut), or its job was closed while it still held it (a run that ended on an error).
    Recover,
    /// Supervisor: print the same code again (only if the earlier sticker was not applied, and never
    /// for a code that was verified).
    Reprint,
    /// Supervisor: a manual scan shows the sticker is applied and correct.
    ConfirmApplied,
    /// Supervisor: a verified code the registry refused is to be reported again (after the cause was
    /// fixed): it is VERIFIED again and its application report queued again.
    SendAgain,
    /// Supervisor: a printed sticker of a finished roll (batch or no-verify job) cannot be found; the
    /// code goes to review, to be written off (or confirmed if the sticker turns up on an item).
    StickerMissing,
    /// Supervisor: the code is spoiled; withdraw it.
    WriteOff,
    /// The pool held the code, but it was used (after a restore, the ledger kept aside or the registry
    /// shows it moved on): a sticker of it exists somewhere.
    FoundUsed,
}

impl Move {
    pub const fn as_str(self) -> &'static str {
        match self {
            Move::Reserve => "reserve",
            Move::Release => "release",
            Move::Send => "send",
            Move::Print => "print",
            Move::Verify => "verify",
            Move::Reject => "reject",
            Move::Report => "report",
            Move::RegistryRefuse => "registry_refuse",
            Move::Recover => "recover",
            Move::Reprint => "reprint",
            Move::ConfirmApplied => "confirm_applied",
            Move::SendAgain => "send_again",
            Move::StickerMissing => "sticker_missing",
            Move::WriteOff => "write_off",
            Move::FoundUsed => "found_used",
        }
    }

    /// The role needed to make this move, beyond [`Role::System`] which may make any.
    pub const fn needs_supervisor(self) -> bool {
        matches!(
            self,
            Move::Reprint
                | Move::ConfirmApplied
                | Move::SendAgain
                | Move::StickerMissing
                | Move::WriteOff
        )
    }
}

/// Which codes a move is open to, by whether the code was ever verified (`verified_at` set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WasVerified {
    /// Only codes never verified.
    No,
    /// Only codes verified before.
    Yes,
    /// Either. (Codes in flight or rejected with a verification come from ledgers written before
    /// reprinting a verified code was refused; they still reach review and a supervisor.)
    Either,
}

impl WasVerified {
    /// Whether a code that was (or was not) verified may make the move.
    pub const fn admits(self, verified: bool) -> bool {
        match self {
            WasVerified::No => !verified,
            WasVerified::Yes => verified,
            WasVerified::Either => true,
        }
    }
}

use CodeState::*;
use WasVerified::{Either, No, Yes};

/// Every legal (move, from, to, for which codes). Nothing else is allowed, in Rust or in SQL.
pub const TRANSITIONS: &[(Move, CodeState, CodeState, WasVerified)] = &[
    (Move::Reserve, Available, Reserved, No),
    // A code that was verified never goes back to the pool.
    (Move::Release, Reserved, Available, No),
    (Move::Send, Reserved, Sent, Either),
    (Move::Print, Sent, Printed, Either),
    // Counted once, ever.
    (Move::Verify, Printed, Verified, No),
    (Move::Reject, Sent, Rejected, Either),
    (Move::Reject, Printed, Rejected, Either),
    (Move::Report, Verified, Reported, Yes),
    (Move::RegistryRefuse, Verified, NeedsReview, Yes),
    (Move::Recover, Reserved, NeedsReview, Either),
    (Move::Recover, Sent, NeedsReview, Either),
    (Move::Recover, Printed, NeedsReview, Either),
    // A verified code's sticker is on an item: a second sticker of it is never printed.
    (Move::Reprint, Rejected, Reserved, No),
    (Move::Reprint, NeedsReview, Reserved, No),
    (Move::ConfirmApplied, Rejected, Verified, No),
    (Move::ConfirmApplied, NeedsReview, Verified, No),
    (Move::SendAgain, Rejected, Verified, Yes),
    (Move::SendAgain, NeedsReview, Verified, Yes),
    (Move::StickerMissing, Printed, NeedsReview, Either),
    (Move::WriteOff, Available, WrittenOff, No),
    (Move::WriteOff, Rejected, WrittenOff, Either),
    (Move::WriteOff, NeedsReview, WrittenOff, Either),
    // After a restore: the pool held it, but it was used since the backup.
    (Move::FoundUsed, Available, NeedsReview, No),
];

/// Where `mv` takes a code that is in `from` and was (or was not) `verified`, if it may.
pub fn target(mv: Move, from: CodeState, verified: bool) -> Option<CodeState> {
    TRANSITIONS
        .iter()
        .find(|(m, f, _, v)| *m == mv && *f == from && v.admits(verified))
        .map(|(_, _, to, _)| *to)
}

/// The states `mv` may start from (for error messages).
pub fn sources(mv: Move) -> Vec<CodeState> {
    let mut out: Vec<CodeState> = TRANSITIONS
        .iter()
        .filter(|(m, _, _, _)| *m == mv)
        .map(|(_, f, _, _)| *f)
        .collect();
    out.dedup();
    out
}

/// Whether any move takes a code that was (or was not) `verified` from `from` to `to`.
pub fn is_legal(from: CodeState, to: CodeState, verified: bool) -> bool {
    TRANSITIONS
        .iter()
        .any(|(_, f, t, v)| *f == from && *t == to && v.admits(verified))
}

/// The (from, to, verified) triples the database trigger allows: [`TRANSITIONS`] without the move names.
pub fn allowed_triples() -> Vec<(CodeState, CodeState, bool)> {
    let mut out: Vec<(CodeState, CodeState, bool)> = TRANSITIONS
        .iter()
        .flat_map(|(_, f, t, v)| {
            [false, true]
                .into_iter()
                .filter(|verified| v.admits(*verified))
                .map(|verified| (*f, *t, verified))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in CodeState::ALL {
            assert_eq!(s.as_str().parse::<CodeState>().unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!("available".parse::<CodeState>().is_err());
    }

    #[test]
    fn each_move_has_one_target_per_source() {
        for (m, f, t, v) in TRANSITIONS {
            for verified in [false, true] {
                if v.admits(verified) {
                    assert_eq!(target(*m, *f, verified), Some(*t), "{m:?} from {f}");
                }
            }
            assert_ne!(f, t, "a move must change the state");
        }
    }

    #[test]
    fn terminal_and_guarded_states() {
        // Nothing leaves REPORTED or WRITTEN_OFF: those codes are done for good.
        for to in CodeState::ALL {
            for verified in [false, true] {
                assert!(!is_legal(Reported, to, verified));
                assert!(!is_legal(WrittenOff, to, verified));
            }
        }
        // A code that was ever verified never goes back to the pool or to a printer, whatever its
        // state now.
        for from in CodeState::ALL {
            assert!(!is_legal(from, Available, true), "{from} -> AVAILABLE");
            assert!(!is_legal(from, Reserved, true), "{from} -> RESERVED");
            assert_eq!(
                target(Move::Reprint, from, true),
                None,
                "reprint from {from}"
            );
        }
        // ... and is counted once: only "send again" takes it back to VERIFIED.
        for (m, _, t, v) in TRANSITIONS {
            if *t == Verified && v.admits(true) {
                assert_eq!(*m, Move::SendAgain);
            }
        }
        // A code that may exist on paper never returns to the pool.
        for from in [Sent, Printed, Rejected, NeedsReview] {
            assert!(!is_legal(from, Available, false), "{from} -> AVAILABLE");
        }
    }

    #[test]
    fn every_state_is_reachable_from_available() {
        let mut seen = vec![Available];
        let mut i = 0;
        while i < seen.len() {
            for (_, f, t, _) in TRANSITIONS {
                if *f == seen[i] && !seen.contains(t) {
                    seen.push(*t);
                }
            }
            i += 1;
        }
        assert_eq!(seen.len(), CodeState::ALL.len(), "{seen:?}");
    }
}
