// SPDX-License-Identifier: GPL-3.0-or-later
//! Formats stored with `^DF` and recalled with `^XF`: a `^DF` captures the rest of its format
//! instead of printing it; `^XF` replays the stored body into the format being built, and the
//! `^FN` data that follows fills its fields. A recalled body cannot store or recall again.

use super::command::{Command, next_command, normalise_name};
use super::error::ReadError;
use super::format::{Building, Pending, Source};
use super::interpreter::Interpreter;
use super::job::{Event, Job, SkipReason, Warning};

/// A stored format's body with the `~` commands already acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StoredFormat {
    body: Vec<u8>,
}

/// A `^DF` capturing the rest of its format, filed at `^XZ`.
#[derive(Debug, Default)]
pub(super) struct Capture {
    /// Normalised name.
    name: String,
    /// Offset of the `^DF`.
    offset: usize,
    body: Vec<u8>,
}

impl Capture {
    /// Adds `cmd` to the body, within the bytes a stored format may take.
    pub(super) fn push(&mut self, cmd: &Command<'_>, max_bytes: usize) -> Result<(), ReadError> {
        if self.body.len() + 3 + cmd.params.len() > max_bytes {
            return Err(ReadError::StoredLimit {
                offset: self.offset,
                limit: "bytes per stored format",
            });
        }
        self.body.push(cmd.prefix);
        self.body.extend_from_slice(&cmd.name);
        self.body.extend_from_slice(cmd.params);
        Ok(())
    }
}

/// `^DF`: the rest of the format is captured under the given name instead of printed.
pub(super) fn define(cmd: &Command<'_>, b: &mut Building) -> Result<(), ReadError> {
    let raw = cmd.param(0).unwrap_or_default();
    if raw.is_empty() {
        return Err(cmd.error(0, raw, "a format name such as R:LS.ZPL"));
    }
    b.storing = Some(Capture {
        name: normalise_name(&raw),
        offset: cmd.offset,
        body: Vec::new(),
    });
    Ok(())
}

/// A `^DF` or `^XF` inside a recalled body is skipped: recursion is not followed.
pub(super) fn nested(cmd: &Command<'_>, xf: usize, job: &mut Job) {
    job.events.push(Event::Warning(Warning::Skipped {
        command: cmd.label(),
        offset: xf,
        reason: SkipReason::NestedRecall,
    }));
}

impl Interpreter {
    /// Files a captured format at its `^XZ`, within the number of formats the memory holds.
    pub(super) fn store(&mut self, capture: Capture, job: &mut Job) -> Result<(), ReadError> {
        let Capture { name, offset, body } = capture;
        if !self.stored.contains_key(&name) && self.stored.len() >= self.limits.max_stored_formats {
            return Err(ReadError::StoredLimit {
                offset,
                limit: "number of stored formats",
            });
        }
        self.stored.insert(name.clone(), StoredFormat { body });
        job.events.push(Event::Stored { name, offset });
        Ok(())
    }

    /// `^XF`: replays a stored body into the format being built; an unknown name is a warning.
    pub(super) fn recall(
        &mut self,
        cmd: &Command<'_>,
        b: &mut Building,
        job: &mut Job,
    ) -> Result<(), ReadError> {
        let name = normalise_name(&cmd.param(0).unwrap_or_default());
        let Some(stored) = self.stored.get(&name) else {
            job.events.push(Event::Warning(Warning::UnknownFormat {
                name,
                offset: cmd.offset,
            }));
            return Ok(());
        };
        let body = stored.body.clone();
        b.recalled = Some(name);
        b.pending = Pending::default();
        let mut pos = 0;
        while let Some(inner) = next_command(&body, &mut pos)? {
            if inner.prefix == b'^' {
                self.format_command(&inner, b, Source::Recalled(cmd.offset), job)?;
            }
        }
        b.pending = Pending::default();
        Ok(())
    }
}
