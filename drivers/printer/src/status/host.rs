// SPDX-License-Identifier: GPL-3.0-or-later
//! `~HS` host status: three comma-separated strings, each framed `STX … ETX CR LF`.
//!
//! Field meanings follow Zebra's documented layout (ZPL II Programming Guide, `~HS`). Note that
//! field 2 of string 2 is unused: at least one peer driver skips it and so reads every later
//! field one place off; the table tests here pin each field to its documented position.

use thiserror::Error;

use super::field::{self, Fault};
use super::frame::{FrameError, split_complete};
use super::problem::Problem;

/// Decoded `~HS` reply.
///
/// Fields are public so simulators and tests can build a status and [`encode`](Self::encode)
/// it into the bytes a printer would send.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostStatus {
    // String 1: aaa,b,c,dddd,eee,f,g,h,iii,j,k,l
    /// `aaa`: serial port settings.
    pub comm_settings: CommSettings,
    /// `b`: out of labels.
    pub paper_out: bool,
    /// `c`: paused.
    pub paused: bool,
    /// `dddd`: label length in dots.
    pub label_length_dots: u32,
    /// `eee`: formats waiting in the receive buffer.
    pub formats_in_buffer: u32,
    /// `f`: receive buffer full.
    pub buffer_full: bool,
    /// `g`: communications diagnostic mode on.
    pub comm_diagnostic_mode: bool,
    /// `h`: a format has been partly received.
    pub partial_format: bool,
    // `iii` is unused.
    /// `j`: RAM corrupted (stored formats and graphics lost).
    pub corrupt_ram: bool,
    /// `k`: under temperature.
    pub under_temperature: bool,
    /// `l`: over temperature.
    pub over_temperature: bool,

    // String 2: mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www
    /// `mmm`: function settings, kept raw (the bit layout is not in our sources).
    pub function_settings: u16,
    // `n` is unused.
    /// `o`: print head up (open).
    pub head_up: bool,
    /// `p`: out of ribbon.
    pub ribbon_out: bool,
    /// `q`: thermal-transfer mode (ribbon) rather than direct thermal.
    pub thermal_transfer: bool,
    /// `r`: print mode.
    pub print_mode: PrintMode,
    /// `s`: print width mode, kept raw.
    pub print_width_mode: u16,
    /// `t`: a printed label waits to be taken (peel-off mode).
    pub label_waiting: bool,
    /// `uuuuuuuu`: labels still to print in the current batch.
    pub labels_remaining: u32,
    /// `v`: format-while-printing (documented as always 1).
    pub format_while_printing: bool,
    /// `www`: graphics stored in memory.
    pub graphics_stored: u32,

    // String 3: xxxx,y
    /// `xxxx`: front-panel password.
    pub password: u16,
    /// `y`: static RAM installed.
    pub static_ram_installed: bool,
}

impl Default for HostStatus {
    /// An idle, ready printer: nothing buffered, no flag raised (format-while-printing is always 1).
    fn default() -> Self {
        HostStatus {
            comm_settings: CommSettings::from_raw(0),
            paper_out: false,
            paused: false,
            label_length_dots: 0,
            formats_in_buffer: 0,
            buffer_full: false,
            comm_diagnostic_mode: false,
            partial_format: false,
            corrupt_ram: false,
            under_temperature: false,
            over_temperature: false,
            function_settings: 0,
            head_up: false,
            ribbon_out: false,
            thermal_transfer: false,
            print_mode: PrintMode::TearOff,
            print_width_mode: 0,
            label_waiting: false,
            labels_remaining: 0,
            format_while_printing: true,
            graphics_stored: 0,
            password: 0,
            static_ram_installed: false,
        }
    }
}

/// Serial settings from `~HS` field `aaa`: a 3-digit decimal of a 9-bit field `a8…a0`.
///
/// Only what our sources document is decoded: the baud codes for 9600 and 57600, the handshake
/// bit and the parity-enable bit. The parity odd/even (`a6`), stop-bit (`a4`) and data-bit
/// (`a3`) bits are left in [`raw`](Self::raw) because their polarity is not documented there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CommSettings(u16);

impl CommSettings {
    /// Wraps the field's decimal value.
    #[must_use]
    pub const fn from_raw(raw: u16) -> Self {
        Self(raw)
    }

    /// The field's decimal value as sent.
    #[must_use]
    pub const fn raw(self) -> u16 {
        self.0
    }

    /// The 4-bit baud code `a8 a2 a1 a0`.
    #[must_use]
    pub const fn baud_code(self) -> u8 {
        (((self.0 >> 5) & 0b1000) | (self.0 & 0b0111)) as u8
    }

    /// Baud rate, for the codes our sources document (`0110` = 9600, `1010` = 57600).
    #[must_use]
    pub const fn baud(self) -> Option<u32> {
        match self.baud_code() {
            0b0110 => Some(9600),
            0b1010 => Some(57600),
            _ => None,
        }
    }

    /// Handshake from bit `a7`.
    #[must_use]
    pub const fn handshake(self) -> Handshake {
        if self.0 & (1 << 7) == 0 {
            Handshake::XonXoff
        } else {
            Handshake::Dtr
        }
    }

    /// Parity enabled (bit `a5`).
    #[must_use]
    pub const fn parity_enabled(self) -> bool {
        self.0 & (1 << 5) != 0
    }
}

/// Serial handshake reported in `~HS` (`a7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Handshake {
    /// Software flow control.
    XonXoff,
    /// The printer's DTR line tells the host when it may send.
    Dtr,
}

/// How the printer presents a printed label (`~HS` string 2 field `r`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrintMode {
    /// 0: liner rewound inside the printer.
    Rewind,
    /// 1: label peeled off the liner; see [`HostStatus::label_waiting`].
    PeelOff,
    /// 2: torn off by hand.
    TearOff,
    /// 3: cut after each label.
    Cutter,
    /// 4: applicator.
    Applicator,
    /// 5: delayed cut (newer firmware).
    DelayedCut,
    /// A code our sources do not document, kept as sent.
    Unknown(u8),
}

impl PrintMode {
    /// Decodes the `~HS` code.
    #[must_use]
    pub const fn from_code(code: u8) -> Self {
        match code {
            0 => Self::Rewind,
            1 => Self::PeelOff,
            2 => Self::TearOff,
            3 => Self::Cutter,
            4 => Self::Applicator,
            5 => Self::DelayedCut,
            other => Self::Unknown(other),
        }
    }

    /// The `~HS` code.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Rewind => 0,
            Self::PeelOff => 1,
            Self::TearOff => 2,
            Self::Cutter => 3,
            Self::Applicator => 4,
            Self::DelayedCut => 5,
            Self::Unknown(code) => code,
        }
    }
}

/// Outcome of one `~HS` poll, including silence.
///
/// Zebra firmware sends **no reply** to `~HS` while media is out, the ribbon is out, the head
/// is open, the rewinder is full or the head is over temperature. A timeout is therefore
/// "error state likely", never "ready": transports report it as [`StatusReply::NoReply`],
/// which maps to [`Problem::NoStatusReply`] (then ask `~HQES` for the details).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StatusReply {
    /// The printer answered.
    Host(HostStatus),
    /// No complete reply before the timeout.
    NoReply,
}

impl StatusReply {
    /// What stops printing; [`Problem::NoStatusReply`] when the printer was silent.
    #[must_use]
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            Self::Host(status) => status.problems(),
            Self::NoReply => vec![Problem::NoStatusReply],
        }
    }

    /// Whether the printer has finished all work; never true for a silent printer.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        match self {
            Self::Host(status) => status.is_idle(),
            Self::NoReply => false,
        }
    }
}

impl From<HostStatus> for StatusReply {
    fn from(status: HostStatus) -> Self {
        Self::Host(status)
    }
}

/// Why a `~HS` reply was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HostStatusError {
    /// The framing itself was broken.
    #[error("~HS reply unusable: {0}")]
    Frame(#[from] FrameError),
    /// The bytes ended inside a frame.
    #[error(
        "~HS reply ends inside frame {} of 3: the reply was cut short; keep reading or poll again",
        complete + 1
    )]
    Truncated {
        /// Complete frames before the cut.
        complete: usize,
    },
    /// Not exactly three frames (or lines, for an unframed reply).
    #[error(
        "~HS reply has {found} strings, expected 3: it was cut short or mixed with another reply; \
         poll again"
    )]
    FrameCount {
        /// Strings found.
        found: usize,
    },
    /// A string had the wrong number of fields.
    #[error(
        "~HS string {string} has {found} fields, expected {expected} ({layout}): the reply was \
         garbled or the firmware uses another layout; poll again, and report the raw reply if it \
         persists"
    )]
    FieldCount {
        /// 1-based string number.
        string: u8,
        /// Fields found.
        found: usize,
        /// Fields in the documented layout.
        expected: usize,
        /// The documented layout, for the reader of the log.
        layout: &'static str,
    },
    /// A field did not hold what the layout says.
    #[error(
        "~HS string {string} field {field} ({name}) is {value:?}, expected {expected}; poll again, \
         and if it persists check the printer is in ZPL mode"
    )]
    Field {
        /// 1-based string number.
        string: u8,
        /// 1-based field number within the string.
        field: u8,
        /// The field's meaning.
        name: &'static str,
        /// The field's text as received.
        value: String,
        /// What the layout allows.
        expected: String,
    },
}

const LAYOUTS: [(&str, usize); 3] = [
    ("aaa,b,c,dddd,eee,f,g,h,iii,j,k,l", 12),
    ("mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www", 11),
    ("xxxx,y", 2),
];

/// One string's fields, with the context each error needs.
struct StringFields<'a> {
    string: u8,
    fields: Vec<&'a [u8]>,
}

impl<'a> StringFields<'a> {
    fn new(index: usize, payload: &'a [u8]) -> Result<Self, HostStatusError> {
        let (layout, expected) = LAYOUTS[index];
        let string = (index + 1) as u8;
        let fields = field::split_fields(payload);
        if fields.len() != expected {
            return Err(HostStatusError::FieldCount {
                string,
                found: fields.len(),
                expected,
                layout,
            });
        }
        Ok(Self { string, fields })
    }

    /// Applies `parse` to 1-based field `number`, naming it in any error.
    fn get<T>(
        &self,
        number: u8,
        name: &'static str,
        parse: impl FnOnce(&[u8]) -> Result<T, Fault>,
    ) -> Result<T, HostStatusError> {
        let raw = self.fields[usize::from(number) - 1];
        parse(raw).map_err(|fault| HostStatusError::Field {
            string: self.string,
            field: number,
            name,
            value: fault.value,
            expected: fault.expected,
        })
    }
}

impl HostStatus {
    /// Parses the three frame payloads (without STX/ETX), e.g. from a
    /// [`FrameSplitter`](super::FrameSplitter).
    ///
    /// # Errors
    /// [`HostStatusError`] naming the string and field that does not match the layout.
    pub fn parse<F: AsRef<[u8]>>(frames: &[F]) -> Result<Self, HostStatusError> {
        let [s1, s2, s3] = frames else {
            return Err(HostStatusError::FrameCount {
                found: frames.len(),
            });
        };
        let s1 = StringFields::new(0, s1.as_ref())?;
        let s2 = StringFields::new(1, s2.as_ref())?;
        let s3 = StringFields::new(2, s3.as_ref())?;
        let flag = field::flag;
        Ok(Self {
            comm_settings: CommSettings(s1.get(1, "communication settings", field::decimal)?),
            paper_out: s1.get(2, "paper out", flag)?,
            paused: s1.get(3, "pause", flag)?,
            label_length_dots: s1.get(4, "label length", field::decimal)?,
            formats_in_buffer: s1.get(5, "formats in receive buffer", field::decimal)?,
            buffer_full: s1.get(6, "buffer full", flag)?,
            comm_diagnostic_mode: s1.get(7, "communications diagnostic mode", flag)?,
            partial_format: s1.get(8, "partial format in progress", flag)?,
            // Field 9 is unused: firmware may put anything there.
            corrupt_ram: s1.get(10, "corrupt RAM", flag)?,
            under_temperature: s1.get(11, "under temperature", flag)?,
            over_temperature: s1.get(12, "over temperature", flag)?,

            function_settings: s2.get(1, "function settings", field::decimal)?,
            // Field 2 is unused.
            head_up: s2.get(3, "head up", flag)?,
            ribbon_out: s2.get(4, "ribbon out", flag)?,
            thermal_transfer: s2.get(5, "thermal transfer mode", flag)?,
            print_mode: PrintMode::from_code(s2.get(6, "print mode", field::decimal)?),
            print_width_mode: s2.get(7, "print width mode", field::decimal)?,
            label_waiting: s2.get(8, "label waiting", flag)?,
            labels_remaining: s2.get(9, "labels remaining", field::decimal)?,
            format_while_printing: s2.get(10, "format while printing", flag)?,
            graphics_stored: s2.get(11, "graphics stored", field::decimal)?,

            password: s3.get(1, "password", field::decimal)?,
            static_ram_installed: s3.get(2, "static RAM installed", flag)?,
        })
    }

    /// Parses a whole reply buffer: three `STX … ETX` frames (garbage and a stale partial frame
    /// before them are skipped), or, with no STX at all, three lines as SGD
    /// `device.host_status` returns them.
    ///
    /// # Errors
    /// [`HostStatusError`]: broken framing, a cut-off reply, or a field that does not match.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, HostStatusError> {
        if bytes.contains(&super::frame::STX) {
            let reply = split_complete(bytes)?;
            if reply.truncated && reply.frames.len() < 3 {
                return Err(HostStatusError::Truncated {
                    complete: reply.frames.len(),
                });
            }
            Self::parse(&reply.frames)
        } else {
            let lines: Vec<&[u8]> = bytes
                .split(|&b| b == b'\r' || b == b'\n')
                .filter(|line| !line.trim_ascii().is_empty())
                .collect();
            Self::parse(&lines)
        }
    }

    /// What stops printing, in the order a worker should check them.
    #[must_use]
    pub fn problems(&self) -> Vec<Problem> {
        [
            (self.head_up, Problem::HeadOpen),
            (self.paper_out, Problem::PaperOut),
            (self.ribbon_out, Problem::RibbonOut),
            (self.paused, Problem::Paused),
            (self.buffer_full, Problem::BufferFull),
            (self.corrupt_ram, Problem::CorruptRam),
            (self.under_temperature, Problem::UnderTemperature),
            (self.over_temperature, Problem::OverTemperature),
        ]
        .into_iter()
        .filter_map(|(set, problem)| set.then_some(problem))
        .collect()
    }

    /// Whether the printer has finished everything sent: no formats buffered, no labels left
    /// in the batch, no format half-received. This is the "label done" condition to poll for.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.formats_in_buffer == 0 && self.labels_remaining == 0 && !self.partial_format
    }

    /// The reply bytes a printer would send for this status, zero-padded to the documented
    /// widths; for simulators and tests.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let b = u8::from;
        let s1 = format!(
            "{:03},{},{},{:04},{:03},{},{},{},000,{},{},{}",
            self.comm_settings.raw(),
            b(self.paper_out),
            b(self.paused),
            self.label_length_dots,
            self.formats_in_buffer,
            b(self.buffer_full),
            b(self.comm_diagnostic_mode),
            b(self.partial_format),
            b(self.corrupt_ram),
            b(self.under_temperature),
            b(self.over_temperature),
        );
        let s2 = format!(
            "{:03},0,{},{},{},{},{},{},{:08},{},{:03}",
            self.function_settings,
            b(self.head_up),
            b(self.ribbon_out),
            b(self.thermal_transfer),
            self.print_mode.code(),
            self.print_width_mode,
            b(self.label_waiting),
            self.labels_remaining,
            b(self.format_while_printing),
            self.graphics_stored,
        );
        let s3 = format!("{:04},{}", self.password, b(self.static_ram_installed));
        let mut out = Vec::with_capacity(s1.len() + s2.len() + s3.len() + 12);
        for s in [s1, s2, s3] {
            out.push(super::frame::STX);
            out.extend_from_slice(s.as_bytes());
            out.extend_from_slice(b"\x03\r\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Real reply from a Brother printer's ZPL emulation (research S37).
    const BROTHER: &[u8] = b"\x02158,0,0,0203,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,0,0,0,2,6,0,00000000,1,000\x03\r\n\x020000,0\x03\r\n";

    const S1: &str = "158,0,0,0203,000,0,0,0,000,0,0,0";
    const S2: &str = "000,0,0,0,0,2,6,0,00000000,1,000";
    const S3: &str = "0000,0";

    fn parse3(s1: &str, s2: &str, s3: &str) -> Result<HostStatus, HostStatusError> {
        HostStatus::parse(&[s1, s2, s3])
    }

    /// `base` with field `field` (1-based) replaced by `value`.
    fn with_field(base: &str, field: usize, value: &str) -> String {
        let mut parts: Vec<&str> = base.split(',').collect();
        parts[field - 1] = value;
        parts.join(",")
    }

    fn brother() -> HostStatus {
        HostStatus::parse_bytes(BROTHER).expect("documented sample parses")
    }

    #[test]
    fn brother_sample_decodes_every_field() {
        let s = brother();
        assert_eq!(
            s,
            HostStatus {
                comm_settings: CommSettings::from_raw(158),
                paper_out: false,
                paused: false,
                label_length_dots: 203,
                formats_in_buffer: 0,
                buffer_full: false,
                comm_diagnostic_mode: false,
                partial_format: false,
                corrupt_ram: false,
                under_temperature: false,
                over_temperature: false,
                function_settings: 0,
                head_up: false,
                ribbon_out: false,
                thermal_transfer: false,
                print_mode: PrintMode::TearOff,
                print_width_mode: 6,
                label_waiting: false,
                labels_remaining: 0,
                format_while_printing: true,
                graphics_stored: 0,
                password: 0,
                static_ram_installed: false,
            }
        );
        assert!(s.problems().is_empty());
        assert!(s.is_idle());
        // 158 = 0b0_1001_1110: baud code 0110 (9600), a7 = 1 (DTR), parity off.
        assert_eq!(s.comm_settings.baud_code(), 0b0110);
        assert_eq!(s.comm_settings.baud(), Some(9600));
        assert_eq!(s.comm_settings.handshake(), Handshake::Dtr);
        assert!(!s.comm_settings.parity_enabled());
    }

    /// Each flag of string 1 and 2, set alone, lands in its own field and nowhere else.
    #[test]
    fn each_flag_maps_to_its_documented_field() {
        type Get = fn(&HostStatus) -> bool;
        let table: [(u8, usize, Get, Option<Problem>); 13] = [
            (1, 2, |s| s.paper_out, Some(Problem::PaperOut)),
            (1, 3, |s| s.paused, Some(Problem::Paused)),
            (1, 6, |s| s.buffer_full, Some(Problem::BufferFull)),
            (1, 7, |s| s.comm_diagnostic_mode, None),
            (1, 8, |s| s.partial_format, None),
            (1, 10, |s| s.corrupt_ram, Some(Problem::CorruptRam)),
            (
                1,
                11,
                |s| s.under_temperature,
                Some(Problem::UnderTemperature),
            ),
            (
                1,
                12,
                |s| s.over_temperature,
                Some(Problem::OverTemperature),
            ),
            (2, 3, |s| s.head_up, Some(Problem::HeadOpen)),
            (2, 4, |s| s.ribbon_out, Some(Problem::RibbonOut)),
            (2, 5, |s| s.thermal_transfer, None),
            (2, 8, |s| s.label_waiting, None),
            (3, 2, |s| s.static_ram_installed, None),
        ];
        let base = brother();
        for (string, field, get, problem) in table {
            let (mut s1, mut s2, mut s3) = (S1.to_owned(), S2.to_owned(), S3.to_owned());
            match string {
                1 => s1 = with_field(S1, field, "1"),
                2 => s2 = with_field(S2, field, "1"),
                _ => s3 = with_field(S3, field, "1"),
            }
            let s = parse3(&s1, &s2, &s3).expect("valid flag");
            assert!(get(&s), "string {string} field {field}");
            assert!(!get(&base), "string {string} field {field}");
            // Exactly one field differs from the all-clear sample.
            let mut cleared = s.clone();
            cleared.paper_out = false;
            cleared.paused = false;
            cleared.buffer_full = false;
            cleared.comm_diagnostic_mode = false;
            cleared.partial_format = false;
            cleared.corrupt_ram = false;
            cleared.under_temperature = false;
            cleared.over_temperature = false;
            cleared.head_up = false;
            cleared.ribbon_out = false;
            cleared.thermal_transfer = false;
            cleared.label_waiting = false;
            cleared.static_ram_installed = false;
            assert_eq!(cleared, base, "string {string} field {field}");
            assert_eq!(s.problems(), problem.into_iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn unused_fields_are_ignored() {
        // String 1 field 9 and string 2 field 2 carry nothing; a set `n` must not read as
        // head up (the peer bug the research warns about).
        let s = parse3(&with_field(S1, 9, "123"), &with_field(S2, 2, "1"), S3).expect("valid");
        assert_eq!(s, brother());
        assert!(!s.head_up);
    }

    #[test]
    fn numeric_fields() {
        let s1 = "511,0,0,32000,012,0,0,0,000,0,0,0";
        let s2 = "255,0,0,0,0,1,2,1,99999999,1,042";
        let s = parse3(s1, s2, "1234,1").expect("valid");
        assert_eq!(s.comm_settings.raw(), 511);
        assert_eq!(s.label_length_dots, 32000);
        assert_eq!(s.formats_in_buffer, 12);
        assert_eq!(s.function_settings, 255);
        assert_eq!(s.print_mode, PrintMode::PeelOff);
        assert_eq!(s.print_width_mode, 2);
        assert!(s.label_waiting);
        assert_eq!(s.labels_remaining, 99_999_999);
        assert_eq!(s.graphics_stored, 42);
        assert_eq!(s.password, 1234);
        assert!(s.static_ram_installed);
        assert!(!s.is_idle());
    }

    #[test]
    fn every_print_mode() {
        let table = [
            ("0", PrintMode::Rewind),
            ("1", PrintMode::PeelOff),
            ("2", PrintMode::TearOff),
            ("3", PrintMode::Cutter),
            ("4", PrintMode::Applicator),
            ("5", PrintMode::DelayedCut),
            ("6", PrintMode::Unknown(6)),
            ("9", PrintMode::Unknown(9)),
            ("17", PrintMode::Unknown(17)),
        ];
        for (code, mode) in table {
            let s = parse3(S1, &with_field(S2, 6, code), S3).expect("valid mode");
            assert_eq!(s.print_mode, mode, "code {code}");
            assert_eq!(mode.code().to_string(), code);
            assert_eq!(PrintMode::from_code(mode.code()), mode);
        }
    }

    #[test]
    fn comm_settings_bits() {
        let table: [(u16, u8, Option<u32>, Handshake, bool); 5] = [
            (0b0_0000_0110, 0b0110, Some(9600), Handshake::XonXoff, false),
            (
                0b1_0000_0010,
                0b1010,
                Some(57600),
                Handshake::XonXoff,
                false,
            ),
            (0b0_1000_0110, 0b0110, Some(9600), Handshake::Dtr, false),
            (0b0_0010_0110, 0b0110, Some(9600), Handshake::XonXoff, true),
            (0b1_1111_1111, 0b1111, None, Handshake::Dtr, true),
        ];
        for (raw, code, baud, handshake, parity) in table {
            let c = CommSettings::from_raw(raw);
            assert_eq!(c.raw(), raw);
            assert_eq!(c.baud_code(), code, "{raw:#b}");
            assert_eq!(c.baud(), baud, "{raw:#b}");
            assert_eq!(c.handshake(), handshake, "{raw:#b}");
            assert_eq!(c.parity_enabled(), parity, "{raw:#b}");
        }
    }

    #[test]
    fn idle_needs_all_three_conditions() {
        let base = brother();
        assert!(base.is_idle());
        let mut s = base.clone();
        s.formats_in_buffer = 1;
        assert!(!s.is_idle());
        let mut s = base.clone();
        s.labels_remaining = 1;
        assert!(!s.is_idle());
        let mut s = base;
        s.partial_format = true;
        assert!(!s.is_idle());
    }

    #[test]
    fn no_reply_is_a_problem_not_ready() {
        assert_eq!(
            StatusReply::NoReply.problems(),
            vec![Problem::NoStatusReply]
        );
        assert!(!StatusReply::NoReply.is_idle());
        let reply = StatusReply::from(brother());
        assert!(reply.problems().is_empty());
        assert!(reply.is_idle());
    }

    #[test]
    fn documented_error_message() {
        let err = parse3(S1, &with_field(S2, 9, "12a"), S3).expect_err("non-digit");
        assert!(
            err.to_string()
                .starts_with("~HS string 2 field 9 (labels remaining) is \"12a\", expected digits"),
            "{err}"
        );
    }

    #[test]
    fn malformed_fields_are_named() {
        let table: [(u8, usize, &str, &str, &str); 10] = [
            (1, 1, "15x", "communication settings", "digits"),
            (1, 2, "2", "paper out", "0 or 1"),
            (1, 4, "", "label length", "digits"),
            (1, 5, "-1", "formats in receive buffer", "digits"),
            (1, 12, "Y", "over temperature", "0 or 1"),
            (2, 3, "01", "head up", "0 or 1"),
            (2, 6, "256", "print mode", "a number no larger than 255"),
            (
                2,
                9,
                "99999999999",
                "labels remaining",
                "a number no larger than 4294967295",
            ),
            (2, 11, "0x0", "graphics stored", "digits"),
            (3, 1, "abcd", "password", "digits"),
        ];
        for (string, field, value, name, expected) in table {
            let (mut s1, mut s2, mut s3) = (S1.to_owned(), S2.to_owned(), S3.to_owned());
            match string {
                1 => s1 = with_field(S1, field, value),
                2 => s2 = with_field(S2, field, value),
                _ => s3 = with_field(S3, field, value),
            }
            let err = parse3(&s1, &s2, &s3).expect_err(value);
            assert_eq!(
                err,
                HostStatusError::Field {
                    string,
                    field: field as u8,
                    name,
                    value: value.to_owned(),
                    expected: expected.to_owned(),
                }
            );
        }
    }

    #[test]
    fn truncated_and_extra_fields_are_rejected() {
        let table = [
            (S1.rsplit_once(',').map(|(a, _)| a.to_owned()), 1u8, 11usize),
            (Some(format!("{S1},0")), 1, 13),
            (Some(format!("{S2},000")), 2, 12),
            (S2.rsplit_once(',').map(|(a, _)| a.to_owned()), 2, 10),
            (Some("0000".to_owned()), 3, 1),
            (Some("0000,0,0".to_owned()), 3, 3),
        ];
        for (changed, string, found) in table {
            let changed = changed.expect("table row");
            let (s1, s2, s3) = match string {
                1 => (changed.as_str(), S2, S3),
                2 => (S1, changed.as_str(), S3),
                _ => (S1, S2, changed.as_str()),
            };
            match parse3(s1, s2, s3) {
                Err(HostStatusError::FieldCount {
                    string: s,
                    found: f,
                    ..
                }) => assert_eq!((s, f), (string, found)),
                other => panic!("string {string}: {other:?}"),
            }
        }
    }

    #[test]
    fn tolerates_padding_and_crlf_inside_frames() {
        let padded = b"\x02 158, 0,0,0203 ,000,0,0,0,000,0,0,0\r\n\x03\x02000,0,0,0,0,2,6,0,00000000,1,000\x03\x020000,0 \x03";
        assert_eq!(HostStatus::parse_bytes(padded), Ok(brother()));
    }

    #[test]
    fn accepts_unframed_sgd_form() {
        let sgd = format!("{S1}\r\n{S2}\r\n{S3}\r\n");
        assert_eq!(HostStatus::parse_bytes(sgd.as_bytes()), Ok(brother()));
    }

    #[test]
    fn skips_garbage_and_stale_partial_frame() {
        let mut bytes = b"\xffnoise\x02158,0,0,02".to_vec();
        bytes.extend_from_slice(BROTHER);
        assert_eq!(HostStatus::parse_bytes(&bytes), Ok(brother()));
    }

    #[test]
    fn cut_off_and_surplus_frames_are_rejected() {
        let cut = &BROTHER[..BROTHER.len() - 6];
        assert_eq!(
            HostStatus::parse_bytes(cut),
            Err(HostStatusError::Truncated { complete: 2 })
        );
        let two_frames = &BROTHER[..BROTHER.len() - 10];
        assert_eq!(
            HostStatus::parse_bytes(two_frames),
            Err(HostStatusError::FrameCount { found: 2 })
        );
        let mut doubled = BROTHER.to_vec();
        doubled.extend_from_slice(b"\x020000,0\x03\r\n");
        assert_eq!(
            HostStatus::parse_bytes(&doubled),
            Err(HostStatusError::FrameCount { found: 4 })
        );
        assert_eq!(
            HostStatus::parse_bytes(b""),
            Err(HostStatusError::FrameCount { found: 0 })
        );
    }

    #[test]
    fn overlong_frame_is_rejected() {
        let mut bytes = vec![super::super::frame::STX];
        bytes.extend(std::iter::repeat_n(b'0', 300));
        bytes.extend_from_slice(b"\x03");
        bytes.extend_from_slice(BROTHER);
        assert_eq!(
            HostStatus::parse_bytes(&bytes),
            Err(HostStatusError::Frame(FrameError::Overflow { limit: 256 }))
        );
    }

    #[test]
    fn encode_reproduces_the_brother_bytes() {
        assert_eq!(brother().encode(), BROTHER);
    }

    fn arb_status() -> impl Strategy<Value = HostStatus> {
        let s1 = (0u16..=511, any::<[bool; 8]>(), any::<u32>(), any::<u32>());
        let s2 = (
            any::<u16>(),
            any::<[bool; 5]>(),
            any::<u8>(),
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
        );
        let s3 = (any::<u16>(), any::<bool>());
        (s1, s2, s3).prop_map(
            |(
                (comm, f1, length, formats),
                (func, f2, mode, width, remaining, graphics),
                (password, sram),
            )| {
                HostStatus {
                    comm_settings: CommSettings::from_raw(comm),
                    paper_out: f1[0],
                    paused: f1[1],
                    label_length_dots: length,
                    formats_in_buffer: formats,
                    buffer_full: f1[2],
                    comm_diagnostic_mode: f1[3],
                    partial_format: f1[4],
                    corrupt_ram: f1[5],
                    under_temperature: f1[6],
                    over_temperature: f1[7],
                    function_settings: func,
                    head_up: f2[0],
                    ribbon_out: f2[1],
                    thermal_transfer: f2[2],
                    print_mode: PrintMode::from_code(mode),
                    print_width_mode: width,
                    label_waiting: f2[3],
                    labels_remaining: remaining,
                    format_while_printing: f2[4],
                    graphics_stored: graphics,
                    password,
                    static_ram_installed: sram,
                }
            },
        )
    }

    proptest! {
        #[test]
        fn encode_then_parse_round_trips(status in arb_status()) {
            prop_assert_eq!(HostStatus::parse_bytes(&status.encode()), Ok(status));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = HostStatus::parse_bytes(&bytes);
        }

        #[test]
        fn mutated_replies_never_panic(
            pos in 0usize..BROTHER.len(),
            byte in any::<u8>(),
        ) {
            let mut bytes = BROTHER.to_vec();
            bytes[pos] = byte;
            let _ = HostStatus::parse_bytes(&bytes);
        }
    }
}
