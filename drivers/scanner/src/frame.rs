// SPDX-License-Identifier: GPL-3.0-or-later
//! Scans and framing: turns a raw byte stream into scans without changing a byte.
//!
//! The station compares scanned bytes with the issued code exactly, so the framer only cuts the
//! stream; it never trims, maps or decodes. Hostile input (noise, endless lines, a cable pulled
//! mid-scan) is reported as its own event instead of being passed off as a scan.

use std::time::{Duration, SystemTime};

/// Longest frame kept by default. A GS1 footwear code is about 130 bytes; anything near 4 KiB is
/// noise or a stuck scanner, and capping it keeps memory bounded.
pub const DEFAULT_MAX_FRAME: usize = 4096;

const CR: u8 = b'\r';
const LF: u8 = b'\n';

/// One decoded symbol exactly as the scanner sent it, terminator removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The bytes as received; an AIM id at the start stays here too.
    pub bytes: Vec<u8>,
    /// The AIM symbology id (`]d2` for GS1 DataMatrix) if the bytes start with one.
    pub aim: Option<[u8; 3]>,
    /// When the scan was complete.
    pub at: SystemTime,
    /// The scanner address it came from, so a station with two scanners can tell them apart.
    pub source: String,
}

impl Scan {
    /// A scan completed now; the AIM id is read from the first three bytes.
    pub fn new(bytes: Vec<u8>, source: impl Into<String>) -> Self {
        Scan {
            aim: aim_prefix(&bytes),
            bytes,
            at: SystemTime::now(),
            source: source.into(),
        }
    }
}

/// The AIM symbology id (`]` + code letter + modifier) at the start of `bytes`, if any.
pub fn aim_prefix(bytes: &[u8]) -> Option<[u8; 3]> {
    match bytes {
        [b']', code, modifier, ..]
            if code.is_ascii_alphabetic() && modifier.is_ascii_alphanumeric() =>
        {
            Some([b']', *code, *modifier])
        }
        _ => None,
    }
}

/// Where one scan ends and the next begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminator {
    /// Carriage return (the usual scanner suffix).
    Cr,
    /// Line feed.
    Lf,
    /// CR followed by LF; a CR not followed by LF is data.
    CrLf,
    /// Any CR or LF; empty frames between them are skipped, so CR, LF and CRLF all work.
    AnyCrLf,
    /// No suffix: a scan ends when the line has been silent this long.
    Silence(Duration),
}

/// What the framer found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameEvent {
    /// A complete frame.
    Scan(Scan),
    /// A frame longer than the cap; its bytes were dropped and framing resumed at its end.
    Overlong {
        /// Scanner address.
        source: String,
        /// Bytes the frame had (saturating).
        len: usize,
        /// The cap it exceeded.
        cap: usize,
    },
    /// Bytes without a terminator when the stream ended (unplugged mid-scan): never a valid scan.
    Incomplete(Scan),
}

/// Cuts a byte stream into scans. Pure: the caller feeds bytes and reports idle time, so it is
/// tested without devices or clocks.
#[derive(Debug, Clone)]
pub struct Framer {
    terminator: Terminator,
    buf: FrameBuf,
    /// CRLF mode: a CR was seen and the next byte decides whether it ends the frame.
    pending_cr: bool,
}

impl Framer {
    /// A framer for `terminator` with the default 4 KiB cap, labelling scans with `source`.
    pub fn new(terminator: Terminator, source: impl Into<String>) -> Self {
        Framer {
            terminator,
            buf: FrameBuf::new(source),
            pending_cr: false,
        }
    }

    /// Sets the longest frame kept (at least 1 byte).
    pub fn with_cap(mut self, cap: usize) -> Self {
        self.buf.cap = cap.max(1);
        self
    }

    /// The configured terminator.
    pub fn terminator(&self) -> Terminator {
        self.terminator
    }

    /// The longest frame kept.
    pub fn cap(&self) -> usize {
        self.buf.cap
    }

    /// Bytes of the current unfinished frame held in memory (never more than the cap).
    pub fn pending_len(&self) -> usize {
        self.buf.len()
    }

    /// Feeds bytes as they were read; returns every frame they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<FrameEvent> {
        let mut out = Vec::new();
        for &b in bytes {
            match self.terminator {
                Terminator::Cr if b == CR => self.end_frame(&mut out),
                Terminator::Lf if b == LF => self.end_frame(&mut out),
                Terminator::AnyCrLf if b == CR || b == LF => self.end_frame(&mut out),
                Terminator::CrLf => {
                    if self.pending_cr {
                        self.pending_cr = false;
                        if b == LF {
                            self.end_frame(&mut out);
                            continue;
                        }
                        self.buf.push(CR);
                    }
                    if b == CR {
                        self.pending_cr = true;
                    } else {
                        self.buf.push(b);
                    }
                }
                _ => self.buf.push(b),
            }
        }
        out
    }

    /// Reports that the line has been silent for `elapsed` since the last byte. In silence
    /// framing this ends the frame once the gap is reached; other modes ignore it.
    pub fn idle(&mut self, elapsed: Duration) -> Option<FrameEvent> {
        match self.terminator {
            Terminator::Silence(gap) if elapsed >= gap => self.buf.end_as(FrameEvent::Scan),
            _ => None,
        }
    }

    /// The stream ended (device gone). Whatever is pending is reported as incomplete, because a
    /// scan cut off by an unplug must never be compared as if it were whole.
    pub fn finish(&mut self) -> Option<FrameEvent> {
        if self.pending_cr {
            self.pending_cr = false;
            self.buf.push(CR);
        }
        self.buf.end_as(FrameEvent::Incomplete)
    }

    fn end_frame(&mut self, out: &mut Vec<FrameEvent>) {
        out.extend(self.buf.end_as(FrameEvent::Scan));
    }
}

/// One frame being collected, bounded by a cap: past it the bytes are dropped and only counted,
/// so noise or a stuck trigger costs no memory, and the frame ends as [`FrameEvent::Overlong`].
/// The framer, the keyboard-wedge decoder and the HID POS assembler all collect scans in one.
#[derive(Debug, Clone)]
pub(crate) struct FrameBuf {
    source: String,
    cap: usize,
    bytes: Vec<u8>,
    /// Set while dropping an overlong frame: how many bytes it had so far.
    discarding: Option<usize>,
}

impl FrameBuf {
    /// An empty frame with the default 4 KiB cap, for scans labelled `source`.
    pub(crate) fn new(source: impl Into<String>) -> Self {
        FrameBuf {
            source: source.into(),
            cap: DEFAULT_MAX_FRAME,
            bytes: Vec::new(),
            discarding: None,
        }
    }

    /// The scanner address scans are labelled with.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// Bytes held (never more than the cap).
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Adds one byte.
    pub(crate) fn push(&mut self, b: u8) {
        self.extend(&[b]);
    }

    /// Adds bytes; the frame turns overlong as soon as they would pass the cap.
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        if let Some(len) = self.discarding.as_mut() {
            *len = len.saturating_add(bytes.len());
        } else if self.bytes.len() + bytes.len() > self.cap {
            self.discarding = Some(self.bytes.len() + bytes.len());
            // Release the memory: an overlong frame is dropped whole.
            self.bytes = Vec::new();
        } else {
            self.bytes.extend_from_slice(bytes);
        }
    }

    /// Ends the frame: [`FrameEvent::Overlong`] if it passed the cap, else its bytes as a
    /// [`FrameEvent::Scan`] (empty if nothing came). The next frame starts empty.
    pub(crate) fn end(&mut self) -> FrameEvent {
        if let Some(len) = self.discarding.take() {
            return FrameEvent::Overlong {
                source: self.source.clone(),
                len,
                cap: self.cap,
            };
        }
        let bytes = std::mem::take(&mut self.bytes);
        FrameEvent::Scan(Scan::new(bytes, self.source.clone()))
    }

    /// Ends the frame as `whole` (a scan, or an incomplete one) or as overlong; an empty frame
    /// is nothing.
    pub(crate) fn end_as(&mut self, whole: fn(Scan) -> FrameEvent) -> Option<FrameEvent> {
        match self.end() {
            FrameEvent::Scan(scan) if scan.bytes.is_empty() => None,
            FrameEvent::Scan(scan) => Some(whole(scan)),
            overlong => Some(overlong),
        }
    }

    /// Drops the frame, overlong or not.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.discarding = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events without timestamps, for comparison.
    #[derive(Debug, PartialEq, Eq)]
    enum E {
        S(Vec<u8>),
        Over(usize),
        Inc(Vec<u8>),
    }

    fn strip(events: Vec<FrameEvent>) -> Vec<E> {
        events
            .into_iter()
            .map(|e| match e {
                FrameEvent::Scan(s) => E::S(s.bytes),
                FrameEvent::Overlong { len, .. } => E::Over(len),
                FrameEvent::Incomplete(s) => E::Inc(s.bytes),
            })
            .collect()
    }

    fn run(term: Terminator, cap: usize, input: &[u8]) -> Vec<E> {
        let mut f = Framer::new(term, "test").with_cap(cap);
        let mut ev = f.push(input);
        ev.extend(f.finish());
        strip(ev)
    }

    fn s(b: &[u8]) -> E {
        E::S(b.to_vec())
    }

    const CODE: &[u8] = b"]d20104600000000017215abcDEF!\"%&\x1d91EE11\x1d92abc+/=";

    #[test]
    fn table() {
        use Terminator::*;
        type Case = (&'static str, Terminator, usize, Vec<u8>, Vec<E>);
        let cases: Vec<Case> = vec![
            ("cr single", Cr, 4096, [CODE, b"\r"].concat(), vec![s(CODE)]),
            ("lf single", Lf, 4096, [CODE, b"\n"].concat(), vec![s(CODE)]),
            (
                "crlf single",
                CrLf,
                4096,
                [CODE, b"\r\n"].concat(),
                vec![s(CODE)],
            ),
            (
                "any takes crlf",
                AnyCrLf,
                4096,
                [CODE, b"\r\n"].concat(),
                vec![s(CODE)],
            ),
            (
                "any takes lf",
                AnyCrLf,
                4096,
                [CODE, b"\n"].concat(),
                vec![s(CODE)],
            ),
            (
                "back to back",
                Cr,
                4096,
                b"a\rb\rc\r".to_vec(),
                vec![s(b"a"), s(b"b"), s(b"c")],
            ),
            (
                "empty frames skipped",
                Cr,
                4096,
                b"\r\r\ra\r\r".to_vec(),
                vec![s(b"a")],
            ),
            (
                "crlf lone cr is data",
                CrLf,
                4096,
                b"a\rb\r\n".to_vec(),
                vec![s(b"a\rb")],
            ),
            (
                "crlf double cr",
                CrLf,
                4096,
                b"a\r\r\n".to_vec(),
                vec![s(b"a\r")],
            ),
            (
                "cr mode keeps lf as data",
                Cr,
                4096,
                b"a\r\nb\r".to_vec(),
                vec![s(b"a"), s(b"\nb")],
            ),
            (
                "gs preserved",
                Cr,
                4096,
                b"01\x1d91\x1d92\r".to_vec(),
                vec![s(b"01\x1d91\x1d92")],
            ),
            (
                "binary noise passes unchanged",
                Cr,
                4096,
                b"\x00\xff\xe8\x1b[\x7f\r".to_vec(),
                vec![s(b"\x00\xff\xe8\x1b[\x7f")],
            ),
            (
                "partial at disconnect",
                Cr,
                4096,
                b"a\rpart".to_vec(),
                vec![s(b"a"), E::Inc(b"part".to_vec())],
            ),
            (
                "crlf pending cr at disconnect",
                CrLf,
                4096,
                b"ab\r".to_vec(),
                vec![E::Inc(b"ab\r".to_vec())],
            ),
            (
                "exactly the cap",
                Cr,
                4,
                b"abcd\r".to_vec(),
                vec![s(b"abcd")],
            ),
            (
                "overlong resyncs",
                Cr,
                4,
                b"abcdefgh\rok\r".to_vec(),
                vec![E::Over(8), s(b"ok")],
            ),
            (
                "overlong at disconnect",
                Cr,
                4,
                b"abcdefgh".to_vec(),
                vec![E::Over(8)],
            ),
            (
                "silence without idle is incomplete",
                Silence(Duration::from_millis(50)),
                4096,
                b"abc".to_vec(),
                vec![E::Inc(b"abc".to_vec())],
            ),
            (
                "silence keeps cr",
                Silence(Duration::from_millis(50)),
                4096,
                b"a\rb\n".to_vec(),
                vec![E::Inc(b"a\rb\n".to_vec())],
            ),
        ];
        for (name, term, cap, input, want) in cases {
            assert_eq!(run(term, cap, &input), want, "case {name}");
        }
    }

    #[test]
    fn aim_ids() {
        let f = |b: &[u8]| aim_prefix(b);
        assert_eq!(f(b"]d2010"), Some(*b"]d2"));
        assert_eq!(f(b"]Q3x"), Some(*b"]Q3"));
        assert_eq!(f(b"]C1"), Some(*b"]C1"));
        assert_eq!(f(b"]d"), None);
        assert_eq!(f(b"d2]"), None);
        assert_eq!(f(b"]2d"), None);
        assert_eq!(f(b"\xe8]d2"), None);
        let scan = Scan::new(b"]d2010".to_vec(), "x");
        assert_eq!(scan.aim, Some(*b"]d2"));
        assert_eq!(scan.bytes, b"]d2010", "the AIM id stays in the bytes");
    }

    #[test]
    fn silence_framing() {
        let gap = Duration::from_millis(50);
        let mut f = Framer::new(Terminator::Silence(gap), "t");
        assert!(f.push(b"]d2ab").is_empty());
        assert_eq!(
            f.idle(Duration::from_millis(10)),
            None,
            "short pause inside a scan"
        );
        assert!(f.push(b"\x1dcd").is_empty());
        let ev = strip(f.idle(gap).into_iter().collect());
        assert_eq!(ev, vec![s(b"]d2ab\x1dcd")]);
        assert_eq!(f.idle(Duration::from_secs(5)), None, "no empty scans");
        f.push(b"next");
        assert_eq!(strip(f.idle(gap).into_iter().collect()), vec![s(b"next")]);
    }

    #[test]
    fn silence_overlong_resyncs_at_silence() {
        let gap = Duration::from_millis(50);
        let mut f = Framer::new(Terminator::Silence(gap), "t").with_cap(3);
        f.push(b"abcdef");
        assert_eq!(strip(f.idle(gap).into_iter().collect()), vec![E::Over(6)]);
        f.push(b"ok");
        assert_eq!(strip(f.idle(gap).into_iter().collect()), vec![s(b"ok")]);
    }

    #[test]
    fn idle_is_ignored_with_a_terminator() {
        let mut f = Framer::new(Terminator::Cr, "t");
        f.push(b"abc");
        assert_eq!(f.idle(Duration::from_secs(60)), None);
        assert_eq!(strip(f.push(b"\r")), vec![s(b"abc")]);
    }

    #[test]
    fn source_is_carried() {
        let mut f = Framer::new(Terminator::Cr, "serial:///dev/ttyACM0");
        match f.push(b"x\r").pop() {
            Some(FrameEvent::Scan(scan)) => assert_eq!(scan.source, "serial:///dev/ttyACM0"),
            other => panic!("expected a scan, got {other:?}"),
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn term() -> impl Strategy<Value = Terminator> {
            prop_oneof![
                Just(Terminator::Cr),
                Just(Terminator::Lf),
                Just(Terminator::CrLf),
                Just(Terminator::AnyCrLf),
            ]
        }

        /// Streams rich in terminators so frames, empty frames and overlong frames all occur.
        fn stream() -> impl Strategy<Value = Vec<u8>> {
            prop::collection::vec(
                prop_oneof![
                    4 => any::<u8>(),
                    1 => Just(CR),
                    1 => Just(LF),
                    1 => Just(0x1d),
                ],
                0..600,
            )
        }

        proptest! {
            #[test]
            fn chunking_does_not_change_scans(
                t in term(),
                cap in 1usize..64,
                data in stream(),
                cuts in prop::collection::vec(0usize..600, 0..20),
            ) {
                let whole = run(t, cap, &data);
                let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
                cuts.sort_unstable();
                let mut f = Framer::new(t, "test").with_cap(cap);
                let mut ev = Vec::new();
                let mut start = 0;
                for c in cuts.into_iter().chain([data.len()]) {
                    ev.extend(f.push(&data[start..c]));
                    prop_assert!(f.pending_len() <= cap, "memory bounded by the cap");
                    start = c;
                }
                ev.extend(f.finish());
                prop_assert_eq!(strip(ev), whole);
            }

            #[test]
            fn scans_are_exact_substrings(t in term(), data in stream()) {
                // Every scan is a contiguous piece of the input with nothing added or changed.
                for e in run(t, 4096, &data) {
                    if let E::S(b) | E::Inc(b) = e {
                        prop_assert!(!b.is_empty());
                        prop_assert!(data.windows(b.len()).any(|w| w == b.as_slice()));
                    }
                }
            }

            #[test]
            fn codes_round_trip(codes in prop::collection::vec(
                prop::collection::vec(any::<u8>().prop_filter("no CR/LF", |b| *b != CR && *b != LF), 1..200),
                0..10,
            )) {
                for (t, sep) in [(Terminator::Cr, &b"\r"[..]), (Terminator::CrLf, b"\r\n"), (Terminator::AnyCrLf, b"\r\n"), (Terminator::Lf, b"\n")] {
                    let mut data = Vec::new();
                    for c in &codes { data.extend_from_slice(c); data.extend_from_slice(sep); }
                    let want: Vec<E> = codes.iter().map(|c| E::S(c.clone())).collect();
                    prop_assert_eq!(run(t, 4096, &data), want);
                }
            }

            #[test]
            fn silence_never_panics_and_stays_bounded(
                cap in 1usize..64,
                steps in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..100), 0u64..100), 0..30),
            ) {
                let mut f = Framer::new(Terminator::Silence(Duration::from_millis(50)), "t").with_cap(cap);
                for (chunk, idle) in steps {
                    for e in f.push(&chunk) { prop_assert!(false, "silence framing cut at a byte: {:?}", e); }
                    let _ = f.idle(Duration::from_millis(idle));
                    prop_assert!(f.pending_len() <= cap);
                }
                let _ = f.finish();
            }
        }
    }
}
