// SPDX-License-Identifier: GPL-3.0-or-later
//! Keyboard-wedge scanners read from a Linux input device (`/dev/input/event*`).
//!
//! Keys are decoded **by key code** with a fixed US map, never through the desktop's keyboard
//! layout: a wedge scanner presses the keys a US keyboard would, and a Russian or Kazakh layout
//! on the station would turn those into Cyrillic. GS (0x1D) has no key, so it arrives as Ctrl+]
//! or as a substitute key set in the scanner (e.g. F8). A key with no mapping is never dropped
//! or guessed: the scan is reported as [`ScannerEvent::UnmappedKeys`] so it is not compared.
//!
//! The device reader takes an exclusive grab (EVIOCGRAB), so scans never type into other
//! windows. Only its error paths are tested here (no input device exists in CI); the decoding
//! is tested from event recordings in `tests/fixtures/`.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::frame::{FrameBuf, FrameEvent};
use crate::reader::{self, Backend, ChannelScanner, Poll};
use crate::uri::GsKey;
use crate::{ScannerError, ScannerEvent};

/// `EV_KEY` from `linux/input-event-codes.h`.
pub const EV_KEY: u16 = 1;
/// Bytes of one `struct input_event` on 64-bit Linux (two i64 of time, u16, u16, i32).
pub const INPUT_EVENT_LEN: usize = 24;

const KEY_ENTER: u16 = 28;
const KEY_KPENTER: u16 = 96;
const KEY_LEFTCTRL: u16 = 29;
const KEY_RIGHTCTRL: u16 = 97;
const KEY_LEFTSHIFT: u16 = 42;
const KEY_RIGHTSHIFT: u16 = 54;
const KEY_LEFTALT: u16 = 56;
const KEY_RIGHTALT: u16 = 100;
const KEY_RIGHTBRACE: u16 = 27;
const KEY_TAB: u16 = 15;
const KEY_SPACE: u16 = 57;
/// Unmapped key codes kept per scan: enough to diagnose, bounded for hostile input.
const MAX_UNMAPPED: usize = 32;

/// One input event as the kernel delivers it (time left out: framing is by Enter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputEvent {
    /// Event type (`EV_KEY` = 1; others are ignored).
    pub kind: u16,
    /// Key code (`KEY_*`).
    pub code: u16,
    /// 1 press, 0 release, 2 autorepeat.
    pub value: i32,
}

impl InputEvent {
    /// Decodes one 64-bit Linux `struct input_event` record (native little-endian layout).
    pub fn from_record(record: &[u8; INPUT_EVENT_LEN]) -> InputEvent {
        let u16_at = |i: usize| u16::from_le_bytes([record[i], record[i + 1]]);
        InputEvent {
            kind: u16_at(16),
            code: u16_at(18),
            value: i32::from_le_bytes([record[20], record[21], record[22], record[23]]),
        }
    }

    /// Splits a recording into events; a trailing partial record is ignored.
    pub fn parse_records(bytes: &[u8]) -> Vec<InputEvent> {
        bytes
            .chunks_exact(INPUT_EVENT_LEN)
            .filter_map(|c| <&[u8; INPUT_EVENT_LEN]>::try_from(c).ok())
            .map(InputEvent::from_record)
            .collect()
    }
}

/// The byte a key gives on a US keyboard, by key code and shift state.
pub fn us_key_byte(code: u16, shift: bool) -> Option<u8> {
    const ROWS: [(u16, &[u8], &[u8]); 4] = [
        (2, b"1234567890-=", b"!@#$%^&*()_+"),
        (16, b"qwertyuiop[]", b"QWERTYUIOP{}"),
        (30, b"asdfghjkl;'`", b"ASDFGHJKL:\"~"),
        (43, b"\\zxcvbnm,./", b"|ZXCVBNM<>?"),
    ];
    for (start, plain, shifted) in ROWS {
        let i = usize::from(code.checked_sub(start)?);
        if i < plain.len() {
            return Some(if shift { shifted[i] } else { plain[i] });
        }
    }
    // Keypad keys give the same characters whatever the host's NumLock says.
    let keypad: &[(u16, u8)] = &[
        (KEY_SPACE, b' '),
        (KEY_TAB, b'\t'),
        (71, b'7'),
        (72, b'8'),
        (73, b'9'),
        (74, b'-'),
        (75, b'4'),
        (76, b'5'),
        (77, b'6'),
        (78, b'+'),
        (79, b'1'),
        (80, b'2'),
        (81, b'3'),
        (82, b'0'),
        (83, b'.'),
        (55, b'*'),
        (98, b'/'),
    ];
    keypad.iter().find(|(c, _)| *c == code).map(|(_, b)| *b)
}

/// Function key number (1..=12) for a key code.
fn function_key(code: u16) -> Option<u8> {
    match code {
        59..=68 => u8::try_from(code - 58).ok(),
        87 => Some(11),
        88 => Some(12),
        _ => None,
    }
}

/// Turns key events into scans. Pure, so it is tested from recordings.
#[derive(Debug, Clone)]
pub struct WedgeDecoder {
    gs: GsKey,
    shift: [bool; 2],
    ctrl: [bool; 2],
    alt: [bool; 2],
    buf: FrameBuf,
    unmapped: Vec<u16>,
}

impl WedgeDecoder {
    /// A decoder with the given GS key, labelling scans with `source`; frames over 4 KiB are
    /// reported as overlong.
    pub fn new(gs: GsKey, source: impl Into<String>) -> Self {
        WedgeDecoder {
            gs,
            shift: [false; 2],
            ctrl: [false; 2],
            alt: [false; 2],
            buf: FrameBuf::new(source),
            unmapped: Vec::new(),
        }
    }

    /// Feeds one event; returns an event when Enter ends a scan.
    pub fn feed(&mut self, ev: InputEvent) -> Option<ScannerEvent> {
        if ev.kind != EV_KEY {
            return None;
        }
        let down = ev.value != 0;
        let side = |code, left| usize::from(code != left);
        match ev.code {
            KEY_LEFTSHIFT | KEY_RIGHTSHIFT => self.shift[side(ev.code, KEY_LEFTSHIFT)] = down,
            KEY_LEFTCTRL | KEY_RIGHTCTRL => self.ctrl[side(ev.code, KEY_LEFTCTRL)] = down,
            KEY_LEFTALT | KEY_RIGHTALT => self.alt[side(ev.code, KEY_LEFTALT)] = down,
            // Releases carry no characters; autorepeat comes from the kernel when a release is
            // late, not from the scanner, so it must not add a character.
            _ if ev.value != 1 => {}
            KEY_ENTER | KEY_KPENTER => return self.end(),
            code => self.press(code),
        }
        None
    }

    /// The device went away: a scan without its Enter is reported as incomplete.
    pub fn finish(&mut self) -> Option<ScannerEvent> {
        self.shift = [false; 2];
        self.ctrl = [false; 2];
        self.alt = [false; 2];
        // Keys with no byte still mean a scan was under way.
        let typed = !std::mem::take(&mut self.unmapped).is_empty();
        match self.buf.end() {
            FrameEvent::Scan(scan) if scan.bytes.is_empty() && !typed => None,
            FrameEvent::Scan(scan) => Some(ScannerEvent::Incomplete(scan)),
            overlong => Some(overlong.into()),
        }
    }

    fn press(&mut self, code: u16) {
        let shift = self.shift.iter().any(|s| *s);
        let ctrl = self.ctrl.iter().any(|s| *s);
        let alt = self.alt.iter().any(|s| *s);
        let byte = if alt {
            // Alt+numpad "typing" cannot be decoded by key code.
            None
        } else if ctrl {
            (code == KEY_RIGHTBRACE && self.gs != GsKey::None).then_some(0x1d)
        } else if let Some(n) = function_key(code) {
            (self.gs == GsKey::F(n)).then_some(0x1d)
        } else {
            us_key_byte(code, shift)
        };
        match byte {
            Some(b) => self.buf.push(b),
            None if self.unmapped.len() < MAX_UNMAPPED => self.unmapped.push(code),
            None => {}
        }
    }

    fn end(&mut self) -> Option<ScannerEvent> {
        let unmapped = std::mem::take(&mut self.unmapped);
        match self.buf.end() {
            FrameEvent::Scan(scan) if !unmapped.is_empty() => Some(ScannerEvent::UnmappedKeys {
                scan,
                keys: unmapped,
            }),
            FrameEvent::Scan(scan) if scan.bytes.is_empty() => None,
            event => Some(event.into()),
        }
    }
}

/// An open, exclusively grabbed input device.
pub struct EvdevDevice {
    path: PathBuf,
    device: ::evdev::Device,
}

impl EvdevDevice {
    /// Opens `path` and grabs it so its key presses reach only the station.
    pub fn open(path: &Path) -> Result<EvdevDevice, ScannerError> {
        let mut device = ::evdev::Device::open(path).map_err(|cause| ScannerError::Open {
            path: path.to_path_buf(),
            cause,
        })?;
        device.grab().map_err(|cause| ScannerError::Grab {
            path: path.to_path_buf(),
            cause,
        })?;
        // Non-blocking so the reader thread can notice a stop request.
        device
            .set_nonblocking(true)
            .map_err(|cause| ScannerError::Open {
                path: path.to_path_buf(),
                cause,
            })?;
        Ok(EvdevDevice {
            path: path.to_path_buf(),
            device,
        })
    }

    /// Events read so far; empty when none are waiting.
    pub fn read(&mut self) -> std::io::Result<Vec<InputEvent>> {
        match self.device.fetch_events() {
            Ok(events) => Ok(events
                .map(|e| InputEvent {
                    kind: e.event_type().0,
                    code: e.code(),
                    value: e.value(),
                })
                .collect()),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// The device path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Starts reading a keyboard-wedge scanner; retries in the background while it is absent.
pub fn open_evdev(
    path: PathBuf,
    gs: GsKey,
    source: String,
) -> Result<ChannelScanner, ScannerError> {
    let mut wedge = Wedge {
        path,
        decoder: WedgeDecoder::new(gs, source.clone()),
    };
    ChannelScanner::spawn(source, true, move |feed| reader::run(&feed, &mut wedge))
}

/// A keyboard-wedge scanner as its reader thread drives it.
struct Wedge {
    path: PathBuf,
    decoder: WedgeDecoder,
}

impl Backend for Wedge {
    type Device = EvdevDevice;

    fn open(&mut self) -> Result<EvdevDevice, String> {
        EvdevDevice::open(&self.path).map_err(|e| e.to_string())
    }

    fn read(&mut self, device: &mut EvdevDevice) -> Poll {
        match device.read() {
            Ok(events) if events.is_empty() => Poll::Nothing,
            Ok(events) => Poll::Events(
                events
                    .into_iter()
                    .filter_map(|ev| self.decoder.feed(ev))
                    .collect(),
            ),
            Err(e) => Poll::Gone(reader::went_away(device.path(), e)),
        }
    }

    fn finish(&mut self) -> Option<ScannerEvent> {
        self.decoder.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: u16, value: i32) -> InputEvent {
        InputEvent {
            kind: EV_KEY,
            code,
            value,
        }
    }

    fn decode(gs: GsKey, events: &[InputEvent]) -> Vec<ScannerEvent> {
        let mut d = WedgeDecoder::new(gs, "evdev:test");
        events.iter().filter_map(|e| d.feed(*e)).collect()
    }

    #[test]
    fn us_map_covers_the_gs1_character_set() {
        // GS1 set 82, which serials and crypto tails are drawn from.
        let set82 =
            b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
        let mut reachable = Vec::new();
        for code in 0..256u16 {
            for shift in [false, true] {
                reachable.extend(us_key_byte(code, shift));
            }
        }
        for b in set82 {
            assert!(reachable.contains(b), "{} has no key", char::from(*b));
        }
        assert_eq!(us_key_byte(30, false), Some(b'a'), "KEY_A");
        assert_eq!(us_key_byte(30, true), Some(b'A'));
        assert_eq!(us_key_byte(11, false), Some(b'0'), "KEY_0");
        assert_eq!(us_key_byte(40, true), Some(b'"'), "KEY_APOSTROPHE shifted");
        assert_eq!(us_key_byte(1, false), None, "KEY_ESC");
    }

    #[test]
    fn ctrl_bracket_is_gs_unless_gs_is_none() {
        let seq = [
            key(29, 1),
            key(27, 1),
            key(27, 0),
            key(29, 0),
            key(2, 1),
            key(28, 1),
        ];
        match &decode(GsKey::CtrlBracket, &seq)[..] {
            [ScannerEvent::Scan(s)] => assert_eq!(s.bytes, b"\x1d1"),
            other => panic!("{other:?}"),
        }
        match &decode(GsKey::None, &seq)[..] {
            [ScannerEvent::UnmappedKeys { scan, keys }] => {
                assert_eq!(scan.bytes, b"1");
                assert_eq!(keys, &[27]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_the_configured_function_key_is_gs() {
        let f8 = [key(66, 1), key(66, 0), key(28, 1)];
        assert!(
            matches!(&decode(GsKey::F(8), &f8)[..], [ScannerEvent::Scan(s)] if s.bytes == b"\x1d")
        );
        assert!(matches!(
            &decode(GsKey::F(7), &f8)[..],
            [ScannerEvent::UnmappedKeys { keys, .. }] if keys == &[66]
        ));
    }

    #[test]
    fn right_shift_and_keypad_enter() {
        let seq = [key(54, 1), key(30, 1), key(54, 0), key(30, 1), key(96, 1)];
        assert!(
            matches!(&decode(GsKey::CtrlBracket, &seq)[..], [ScannerEvent::Scan(s)] if s.bytes == b"Aa")
        );
    }

    #[test]
    fn enter_alone_gives_nothing_and_other_event_types_are_ignored() {
        let seq = [
            InputEvent {
                kind: 4,
                code: 4,
                value: 0x70028,
            },
            key(28, 1),
            InputEvent {
                kind: 0,
                code: 0,
                value: 0,
            },
        ];
        assert!(decode(GsKey::CtrlBracket, &seq).is_empty());
    }

    #[test]
    fn overlong_and_incomplete() {
        let mut d = WedgeDecoder::new(GsKey::CtrlBracket, "t");
        for _ in 0..5000 {
            assert_eq!(d.feed(key(30, 1)), None);
        }
        assert!(d.buf.len() <= crate::frame::DEFAULT_MAX_FRAME);
        assert!(matches!(
            d.feed(key(28, 1)),
            Some(ScannerEvent::Overlong { len: 5000, .. })
        ));
        d.feed(key(31, 1));
        assert!(matches!(d.finish(), Some(ScannerEvent::Incomplete(s)) if s.bytes == b"s"));
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn missing_device_says_which_and_what_to_do() {
        let err = match EvdevDevice::open(Path::new("/nonexistent/input/event99")) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("opened a device that does not exist"),
        };
        assert!(
            err.starts_with("cannot open scanner device /nonexistent/input/event99: "),
            "{err}"
        );
        assert!(err.contains("check it is plugged in"), "{err}");
    }
}
