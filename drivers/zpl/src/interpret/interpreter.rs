// SPDX-License-Identifier: GPL-3.0-or-later
//! The [`Interpreter`]: printer memory (settings and stored formats) and the state machine that
//! walks one stream, command by command: `~` commands act at once, `^XA … ^XZ` builds a format
//! (or captures one for `^DF`), settings outside a format still apply.

use std::collections::BTreeMap;

use super::command::{Command, next_command};
use super::error::ReadError;
use super::format::{Building, Source};
use super::job::{Event, Immediate, Job, SkipReason, Warning};
use super::settings::Settings;
use super::stored::{self, StoredFormat};

/// Bounds that keep a hostile or broken stream from exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Field data beyond this is dropped (Zebra truncates at 3072 bytes).
    pub max_field_data: usize,
    /// Stored formats kept at once.
    pub max_stored_formats: usize,
    /// Bytes per stored format body.
    pub max_stored_format_bytes: usize,
    /// Fields on one label (recalled formats included).
    pub max_fields_per_label: usize,
    /// Fields over one [`Interpreter::read`] call (recall multiplies fields per input byte).
    pub max_fields_per_read: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_field_data: 3072,
            max_stored_formats: 64,
            max_stored_format_bytes: 64 * 1024,
            max_fields_per_label: 1024,
            max_fields_per_read: 100_000,
        }
    }
}

/// A ZPL interpreter with the memory of a Zebra printer: persistent settings and stored formats,
/// across reads.
#[derive(Debug, Clone, Default)]
pub struct Interpreter {
    pub(super) limits: Limits,
    settings: Settings,
    pub(super) stored: BTreeMap<String, StoredFormat>,
}

impl Interpreter {
    /// An interpreter as a powered-on printer: default limits and empty memory.
    pub fn new() -> Self {
        Interpreter::default()
    }

    /// An interpreter with other limits.
    pub fn with_limits(limits: Limits) -> Self {
        Interpreter {
            limits,
            ..Interpreter::default()
        }
    }

    /// Names of stored formats.
    pub fn stored_formats(&self) -> impl Iterator<Item = &str> {
        self.stored.keys().map(String::as_str)
    }

    /// Settings in force.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// Power-off: DRAM (`R:`) formats and volatile settings are lost, flash formats stay.
    pub fn power_cycle(&mut self) {
        self.stored.retain(|name, _| !name.starts_with("R:"));
        self.settings = Settings::default();
    }

    /// Reads one complete stream. Stored formats persist into later reads; a failed read
    /// leaves formats stored before the error in place, as a printer would.
    pub fn read(&mut self, input: &[u8]) -> Result<Job, ReadError> {
        let mut job = Job::default();
        let mut building: Option<Building> = None;
        let mut fields_this_read = 0usize;
        let mut pos = 0;
        while let Some(cmd) = next_command(input, &mut pos)? {
            if cmd.prefix == b'~' {
                Self::immediate(&cmd, &mut job);
                continue;
            }
            if cmd.is(b'^', b"XA") {
                if let Some(open) = &building {
                    return Err(ReadError::Nested {
                        offset: cmd.offset,
                        open: open.offset,
                    });
                }
                building = Some(Building::new(cmd.offset));
                continue;
            }
            let Some(b) = building.as_mut() else {
                self.outside_format(&cmd, &mut job)?;
                continue;
            };
            if let Some(capture) = b.storing.as_mut() {
                if cmd.is(b'^', b"XZ") {
                    let capture = std::mem::take(capture);
                    self.store(capture, &mut job)?;
                    building = None;
                } else {
                    capture.push(&cmd, self.limits.max_stored_format_bytes)?;
                }
                continue;
            }
            if cmd.is(b'^', b"XZ") {
                if let Some(mut b) = building.take() {
                    // A last field without ^FS still prints.
                    b.end_field(self.limits.max_fields_per_label, &cmd, Source::Input)?;
                    fields_this_read += b.fields.len();
                    if fields_this_read > self.limits.max_fields_per_read {
                        return Err(ReadError::FieldLimit {
                            offset: b.offset,
                            limit: "fields per read",
                        });
                    }
                    let label = b.finish(self.settings, self.limits.max_field_data, &mut job)?;
                    job.events.push(Event::Label(label));
                }
                continue;
            }
            self.format_command(&cmd, b, Source::Input, &mut job)?;
        }
        if let Some(b) = building {
            return Err(ReadError::Unterminated { offset: b.offset });
        }
        Ok(job)
    }

    fn immediate(cmd: &Command<'_>, job: &mut Job) {
        let command = match &cmd.name {
            b"HS" => Some(Immediate::HostStatus),
            b"HQ" => Some(Immediate::HostQuery(
                String::from_utf8_lossy(cmd.params)
                    .trim()
                    .to_ascii_uppercase(),
            )),
            b"HI" => Some(Immediate::HostIdentification),
            b"JA" => Some(Immediate::CancelAll),
            b"PS" => Some(Immediate::PrintStart),
            b"PP" => Some(Immediate::Pause),
            _ => None,
        };
        job.events.push(match command {
            Some(command) => Event::Immediate {
                command,
                offset: cmd.offset,
            },
            None => Event::Warning(Warning::Skipped {
                command: cmd.label(),
                offset: cmd.offset,
                reason: SkipReason::Unknown,
            }),
        });
    }

    fn outside_format(&mut self, cmd: &Command<'_>, job: &mut Job) -> Result<(), ReadError> {
        if !self.settings.apply(cmd)? {
            let reason = if matches!(&cmd.name, b"FD" | b"FS" | b"FO" | b"FT" | b"XZ" | b"FX") {
                SkipReason::OutsideFormat
            } else {
                SkipReason::Unknown
            };
            job.events.push(Event::Warning(Warning::Skipped {
                command: cmd.label(),
                offset: cmd.offset,
                reason,
            }));
        }
        Ok(())
    }

    /// Applies one command inside a format (from the input or from a recalled body).
    pub(super) fn format_command(
        &mut self,
        cmd: &Command<'_>,
        b: &mut Building,
        source: Source,
        job: &mut Job,
    ) -> Result<(), ReadError> {
        if self.settings.apply(cmd)? {
            return Ok(());
        }
        b.pending.offset.get_or_insert(source.at(cmd.offset));
        let (home, max_fields) = (self.settings.home, self.limits.max_fields_per_label);
        if b.field_command(cmd, home, max_fields, source, job)? {
            return Ok(());
        }
        match (&cmd.name, source) {
            (b"DF" | b"XF", Source::Recalled(xf)) => stored::nested(cmd, xf, job),
            (b"DF", Source::Input) => stored::define(cmd, b)?,
            (b"XF", Source::Input) => self.recall(cmd, b, job)?,
            _ => job.events.push(Event::Warning(Warning::Skipped {
                command: cmd.label(),
                offset: source.at(cmd.offset),
                reason: SkipReason::Unknown,
            })),
        }
        Ok(())
    }
}
