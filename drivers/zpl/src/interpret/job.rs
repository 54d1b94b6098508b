// SPDX-License-Identifier: GPL-3.0-or-later
//! What one read gives: a [`Job`] of events in stream order (labels, stored formats, `~`
//! commands) and the warnings a real printer would survive.

use std::fmt;

use super::label::Label;

/// `~` commands, which the printer acts on as soon as it receives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Immediate {
    /// `~HS` host status.
    HostStatus,
    /// `~HQ` host query, e.g. `ES`.
    HostQuery(String),
    /// `~HI` host identification.
    HostIdentification,
    /// `~JA` cancel all.
    CancelAll,
    /// `~PS` print start (resume).
    PrintStart,
    /// `~PP` programmable pause.
    Pause,
}

/// Why a command was not acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Not in the supported subset.
    Unknown,
    /// A field command outside `^XA … ^XZ`.
    OutsideFormat,
    /// `^XF` inside a recalled format (recursion is not followed).
    NestedRecall,
}

/// Something a real printer would survive but an operator may want to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A command was skipped.
    Skipped {
        /// The command, e.g. `^GB`.
        command: String,
        /// Byte offset.
        offset: usize,
        /// Why.
        reason: SkipReason,
    },
    /// Field data beyond the limit was dropped.
    Truncated {
        /// Offset of the field data.
        offset: usize,
        /// Bytes before truncation.
        len: usize,
    },
    /// `^BX` without an escape character: `_` assumed, but old firmware defaults to `~`.
    ImplicitEscape {
        /// Offset of the `^BX`.
        offset: usize,
    },
    /// `^XF` names a format the printer does not hold.
    UnknownFormat {
        /// Normalised name.
        name: String,
        /// Offset of the `^XF`.
        offset: usize,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Skipped {
                command,
                offset,
                reason,
            } => {
                let why = match reason {
                    SkipReason::Unknown => "not supported here",
                    SkipReason::OutsideFormat => "outside ^XA…^XZ",
                    SkipReason::NestedRecall => "^XF inside a recalled format",
                };
                write!(f, "{command} at byte {offset} skipped: {why}")
            }
            Warning::Truncated { offset, len } => write!(
                f,
                "field data at byte {offset} is {len} bytes; the printer keeps only the first 3072"
            ),
            Warning::ImplicitEscape { offset } => write!(
                f,
                "^BX at byte {offset} has no escape character; firmware defaults differ, give `_` explicitly"
            ),
            Warning::UnknownFormat { name, offset } => write!(
                f,
                "^XF at byte {offset} recalls {name}, which is not stored; send the ^DF format first"
            ),
        }
    }
}

/// One thing that happened while reading, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A label to print.
    Label(Label),
    /// A format stored with `^DF`.
    Stored {
        /// Normalised name.
        name: String,
        /// Offset of the `^DF`.
        offset: usize,
    },
    /// An immediate `~` command.
    Immediate {
        /// Which.
        command: Immediate,
        /// Byte offset.
        offset: usize,
    },
    /// A problem the printer would survive.
    Warning(Warning),
}

/// Everything in one stream, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Job {
    /// Events in stream order.
    pub events: Vec<Event>,
}

impl Job {
    /// The labels, in order.
    pub fn labels(&self) -> impl Iterator<Item = &Label> {
        self.events.iter().filter_map(|e| match e {
            Event::Label(l) => Some(l),
            _ => None,
        })
    }

    /// The warnings, in order.
    pub fn warnings(&self) -> impl Iterator<Item = &Warning> {
        self.events.iter().filter_map(|e| match e {
            Event::Warning(w) => Some(w),
            _ => None,
        })
    }
}
