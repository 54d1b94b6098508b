// SPDX-License-Identifier: GPL-3.0-or-later
//! Splitting a byte stream into `STX … ETX` frames.
//!
//! ZPL status replies carry no length header: the only structure is STX (0x02) before and
//! ETX (0x03) after each frame. Over a 9600-baud serial link a reply arrives in pieces, and a
//! reply to an earlier, timed-out query may still be in flight, so the splitter works on
//! arbitrary chunks, skips bytes between frames and resynchronises on the next STX.

use thiserror::Error;

/// Start of text: opens every frame.
pub const STX: u8 = 0x02;
/// End of text: closes every frame.
pub const ETX: u8 = 0x03;

/// Default cap for one frame's payload. The longest reply we parse (`~HQES`) is about
/// 120 bytes; anything much longer is line noise or a non-ZPL device, and the cap keeps a
/// babbling device from growing our memory.
pub const DEFAULT_MAX_FRAME_LEN: usize = 256;

/// A recoverable framing problem. The splitter has already resynchronised when it reports one,
/// so callers can log it and keep feeding bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// A frame grew past the cap without an ETX.
    #[error(
        "status frame longer than {limit} bytes without ETX; dropped it and waiting for the next STX: \
         check the serial baud rate matches the printer and that the printer is in ZPL mode"
    )]
    Overflow {
        /// The payload cap in force.
        limit: usize,
    },
    /// A new STX arrived before the open frame's ETX, so the open frame lost its end.
    #[error(
        "status frame cut off after {discarded} bytes by the start of another frame; dropped the \
         partial frame: a reply was lost on the link, poll the printer again"
    )]
    Interrupted {
        /// Payload bytes of the dropped partial frame.
        discarded: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between frames: bytes are ignored until STX.
    Idle,
    /// Inside a frame: bytes are collected until ETX.
    InFrame,
    /// Inside a frame that overflowed: bytes are dropped until ETX or the next STX.
    Overflowed,
}

/// Accumulates bytes from a link and yields complete frame payloads (without STX/ETX).
///
/// Memory is bounded by the frame cap; bytes outside frames (garbage, the CR LF after each ETX,
/// the tail of a frame whose STX we never saw) are skipped.
#[derive(Debug, Clone)]
pub struct FrameSplitter {
    buf: Vec<u8>,
    state: State,
    max_len: usize,
}

impl Default for FrameSplitter {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameSplitter {
    /// A splitter with the [`DEFAULT_MAX_FRAME_LEN`] cap.
    #[must_use]
    pub fn new() -> Self {
        Self::with_max_frame_len(DEFAULT_MAX_FRAME_LEN)
    }

    /// A splitter with a custom payload cap (at least 1 byte).
    #[must_use]
    pub fn with_max_frame_len(max_len: usize) -> Self {
        let max_len = max_len.max(1);
        Self {
            buf: Vec::new(),
            state: State::Idle,
            max_len,
        }
    }

    /// The payload cap in force.
    #[must_use]
    pub fn max_frame_len(&self) -> usize {
        self.max_len
    }

    /// Whether a frame has started but not yet ended, e.g. to tell "reply cut short" from
    /// "no reply" when a read times out.
    #[must_use]
    pub fn has_partial_frame(&self) -> bool {
        self.state != State::Idle
    }

    /// Drops any partial frame, e.g. before sending a new query after a timeout.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.state = State::Idle;
    }

    /// Feeds received bytes; returns the frames they completed and any framing problems, in
    /// stream order. The result holds at most one entry per two input bytes.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Result<Vec<u8>, FrameError>> {
        let mut out = Vec::new();
        for &byte in bytes {
            if let Some(event) = self.push_byte(byte) {
                out.push(event);
            }
        }
        out
    }

    /// Feeds one byte; returns a completed frame or a framing problem, if this byte caused one.
    pub fn push_byte(&mut self, byte: u8) -> Option<Result<Vec<u8>, FrameError>> {
        match (self.state, byte) {
            (State::Idle, STX) => {
                self.buf.clear();
                self.state = State::InFrame;
                None
            }
            (State::Idle, _) => None,
            (State::InFrame, STX) => {
                let discarded = self.buf.len();
                self.buf.clear();
                Some(Err(FrameError::Interrupted { discarded }))
            }
            (State::InFrame, ETX) => {
                self.state = State::Idle;
                Some(Ok(std::mem::take(&mut self.buf)))
            }
            (State::InFrame, _) => {
                if self.buf.len() >= self.max_len {
                    self.buf.clear();
                    self.state = State::Overflowed;
                    Some(Err(FrameError::Overflow {
                        limit: self.max_len,
                    }))
                } else {
                    self.buf.push(byte);
                    None
                }
            }
            (State::Overflowed, STX) => {
                self.state = State::InFrame;
                None
            }
            (State::Overflowed, ETX) => {
                self.state = State::Idle;
                None
            }
            (State::Overflowed, _) => None,
        }
    }
}

/// Splits a complete reply buffer into frames, skipping a stray partial frame before the reply.
///
/// Returns the frames, or the first overflow (a reply we must not trust). `truncated` tells
/// whether the buffer ended inside a frame.
pub(crate) fn split_complete(bytes: &[u8]) -> Result<SplitReply, FrameError> {
    let mut splitter = FrameSplitter::new();
    let mut frames = Vec::new();
    for event in splitter.push(bytes) {
        match event {
            Ok(frame) => frames.push(frame),
            // A stale partial frame ahead of the reply is exactly what a retry after a
            // timeout looks like; the frames after it are intact.
            Err(FrameError::Interrupted { .. }) => {}
            Err(err @ FrameError::Overflow { .. }) => return Err(err),
        }
    }
    Ok(SplitReply {
        frames,
        truncated: splitter.has_partial_frame(),
    })
}

/// Frames found in a complete reply buffer.
#[derive(Debug)]
pub(crate) struct SplitReply {
    pub(crate) frames: Vec<Vec<u8>>,
    pub(crate) truncated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(events: Vec<Result<Vec<u8>, FrameError>>) -> Vec<Vec<u8>> {
        events.into_iter().filter_map(Result::ok).collect()
    }

    #[test]
    fn splits_three_frames_with_crlf() {
        let mut s = FrameSplitter::new();
        let got = s.push(b"\x02a,b\x03\r\n\x02c\x03\r\n\x02\x03\r\n");
        assert_eq!(
            got,
            vec![Ok(b"a,b".to_vec()), Ok(b"c".to_vec()), Ok(Vec::new())]
        );
        assert!(!s.has_partial_frame());
    }

    #[test]
    fn skips_garbage_and_stray_tail_before_frames() {
        let mut s = FrameSplitter::new();
        // Tail of an earlier frame (no STX seen), noise, then a real frame.
        let got = s.push(b",000\x03\r\n\xff\x00junk\x02real\x03");
        assert_eq!(got, vec![Ok(b"real".to_vec())]);
    }

    #[test]
    fn reports_interrupted_partial_frame_and_keeps_the_next() {
        let mut s = FrameSplitter::new();
        let got = s.push(b"\x02158,0,0\x02fresh\x03");
        assert_eq!(
            got,
            vec![
                Err(FrameError::Interrupted { discarded: 7 }),
                Ok(b"fresh".to_vec())
            ]
        );
    }

    #[test]
    fn every_chunking_gives_the_same_frames() {
        let reply: &[u8] = b"xx\x02158,0,0,0203,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,0,0,0,2,6,0,00000000,1,000\x03\r\n\x020000,0\x03\r\n";
        let mut whole = FrameSplitter::new();
        let expected = frames(whole.push(reply));
        assert_eq!(expected.len(), 3);
        for chunk in 1..=reply.len() {
            let mut s = FrameSplitter::new();
            let mut got = Vec::new();
            for piece in reply.chunks(chunk) {
                got.extend(frames(s.push(piece)));
            }
            assert_eq!(got, expected, "chunk size {chunk}");
            assert!(!s.has_partial_frame());
        }
    }

    #[test]
    fn partial_frame_is_kept_across_pushes() {
        let mut s = FrameSplitter::new();
        assert!(s.push(b"\x02abc").is_empty());
        assert!(s.has_partial_frame());
        assert_eq!(s.push(b"def\x03"), vec![Ok(b"abcdef".to_vec())]);
    }

    #[test]
    fn overflow_is_reported_once_and_resyncs() {
        let mut s = FrameSplitter::with_max_frame_len(4);
        let got = s.push(b"\x02123456789\x03\x02ok\x03");
        assert_eq!(
            got,
            vec![Err(FrameError::Overflow { limit: 4 }), Ok(b"ok".to_vec())]
        );
    }

    #[test]
    fn frame_of_exactly_the_cap_is_accepted() {
        let mut s = FrameSplitter::with_max_frame_len(4);
        assert_eq!(s.push(b"\x021234\x03"), vec![Ok(b"1234".to_vec())]);
    }

    #[test]
    fn overflowed_frame_resyncs_on_stx_without_etx() {
        let mut s = FrameSplitter::with_max_frame_len(2);
        let got = s.push(b"\x02abcdef\x02ok\x03");
        assert_eq!(
            got,
            vec![Err(FrameError::Overflow { limit: 2 }), Ok(b"ok".to_vec())]
        );
    }

    #[test]
    fn default_cap_bounds_memory_on_endless_input() {
        let mut s = FrameSplitter::new();
        let mut noise = vec![STX];
        noise.extend(std::iter::repeat_n(b'7', 10_000));
        let got = s.push(&noise);
        assert_eq!(
            got,
            vec![Err(FrameError::Overflow {
                limit: DEFAULT_MAX_FRAME_LEN
            })]
        );
        assert!(s.buf.capacity() <= 2 * DEFAULT_MAX_FRAME_LEN);
    }

    #[test]
    fn reset_drops_partial_frame() {
        let mut s = FrameSplitter::new();
        s.push(b"\x02stale");
        s.reset();
        assert!(!s.has_partial_frame());
        assert_eq!(s.push(b"tail\x03\x02new\x03"), vec![Ok(b"new".to_vec())]);
    }

    #[test]
    fn zero_cap_is_raised_to_one() {
        assert_eq!(FrameSplitter::with_max_frame_len(0).max_frame_len(), 1);
    }

    #[test]
    fn split_complete_reports_truncation_and_overflow() {
        let r = split_complete(b"\x02a\x03\x02b").expect("no overflow in a short reply");
        assert_eq!(r.frames, vec![b"a".to_vec()]);
        assert!(r.truncated);
        let mut long = vec![STX];
        long.extend(std::iter::repeat_n(b'x', DEFAULT_MAX_FRAME_LEN + 1));
        long.push(ETX);
        assert!(matches!(
            split_complete(&long),
            Err(FrameError::Overflow { .. })
        ));
    }

    #[test]
    fn error_messages_say_what_to_do() {
        let msg = FrameError::Overflow { limit: 256 }.to_string();
        assert!(msg.contains("256") && msg.contains("baud"), "{msg}");
        let msg = FrameError::Interrupted { discarded: 7 }.to_string();
        assert!(msg.contains('7') && msg.contains("poll"), "{msg}");
    }
}
