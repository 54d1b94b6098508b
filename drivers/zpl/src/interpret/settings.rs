// SPDX-License-Identifier: GPL-3.0-or-later
//! Printer-wide settings (`^CI`, `^PW`, `^LL`, `^LH`, `^PR`, `^MD`, `^JZ`): they stay in force
//! across formats and reads until power-off, inside a format or outside one.

use super::command::Command;
use super::error::ReadError;

/// Settings that persist in the printer between formats until power-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings {
    /// `^CI` character set (28 = UTF-8).
    pub charset: u16,
    /// `^PW` print width in dots.
    pub width: Option<u32>,
    /// `^LL` label length in dots.
    pub length: Option<u32>,
    /// `^LH` label home.
    pub home: (u32, u32),
    /// `^PR` print speed (first parameter, ips).
    pub print_speed: Option<u32>,
    /// `^MD` darkness adjustment in tenths.
    pub darkness_tenths: Option<i32>,
    /// `^JZ` reprint after error: whether a label cut short by paper out, ribbon out or an open
    /// head is printed again once that is fixed. `None` until a `^JZ` arrives, which means the
    /// firmware default: yes.
    pub reprint_after_error: Option<bool>,
}

impl Settings {
    /// Applies `cmd` if it is a setting; `false` if it is not one.
    pub(super) fn apply(&mut self, cmd: &Command<'_>) -> Result<bool, ReadError> {
        let s = self;
        match &cmd.name {
            b"CI" => s.charset = cmd.number(0, 0, 36)? as u16,
            b"PW" => s.width = Some(cmd.number(0, 0, 32_000)?.max(2)),
            b"LL" => s.length = Some(cmd.number(0, 0, 32_000)?.max(1)),
            b"LH" => {
                s.home = (
                    cmd.number(0, s.home.0, 9999)?,
                    cmd.number(1, s.home.1, 9999)?,
                )
            }
            b"PR" => {
                let letter = |v: &str| match v {
                    "A" => Some(2),
                    "B" => Some(3),
                    "C" => Some(4),
                    "D" => Some(6),
                    "E" => Some(8),
                    _ => None,
                };
                s.print_speed = match cmd.param(0) {
                    None => s.print_speed,
                    Some(v) => match letter(&v) {
                        Some(ips) => Some(ips),
                        None => Some(cmd.number(0, 0, 30)?),
                    },
                };
            }
            b"JZ" => {
                s.reprint_after_error = match cmd.param(0).as_deref() {
                    None | Some("Y" | "y") => Some(true),
                    Some("N" | "n") => Some(false),
                    Some(v) => return Err(cmd.error(0, v.to_owned(), "Y or N")),
                };
            }
            b"MD" => {
                if let Some(v) = cmd.param(0) {
                    match v.parse::<f64>() {
                        Ok(d) if (-30.0..=30.0).contains(&d) => {
                            // Range-checked above, so the cast cannot overflow.
                            s.darkness_tenths = Some((d * 10.0).round() as i32);
                        }
                        _ => return Err(cmd.error(0, v, "darkness -30 to 30")),
                    }
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
