// SPDX-License-Identifier: GPL-3.0-or-later
//! The ZPL interpreter: the subset the writer emits plus what real job streams carry, interpreted
//! the way the firmware does, so the virtual printer and the tests see what a Zebra would print.
//!
//! Order of processing per field, as in the firmware: `^FH` hex bytes first, then (for `^BX`
//! quality 200) the DataMatrix escape sequences. [`Interpreter`] keeps `^DF`-stored formats
//! between reads so `^XF` + `^FN` recall them. Memory is bounded by [`Limits`]: field data is cut
//! at 3072 bytes as Zebra does, stored formats and fields are capped.
//!
//! One job per file: `command` tokenises, `interpreter` walks the stream, `settings` keeps the
//! printer-wide settings, `format` builds fields between `^XA` and `^XZ`, `stored` files and
//! recalls `^DF` formats, `data` resolves field data at `^XZ` (`code128` encodes `^BC` data); `label`, `job` and `error` are what
//! a read gives back.

mod code128;
mod command;
mod data;
mod error;
mod format;
mod interpreter;
mod job;
mod label;
mod settings;
mod stored;
#[cfg(test)]
mod tests;

pub use error::ReadError;
pub use interpreter::{Interpreter, Limits};
pub use job::{Event, Immediate, Job, SkipReason, Warning};
pub use label::{
    C128Element, Code128Content, Code128Mode, Code128Params, DataMatrixContent, DataMatrixParams,
    DmElement, Field, FieldContent, Font, Graphic, Justify, Label, Orientation, Origin, TextBlock,
};
pub use settings::Settings;
