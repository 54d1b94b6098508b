// SPDX-License-Identifier: GPL-3.0-or-later
//! The virtual printer's link side: bytes in off TCP or a pseudo-terminal (paced like a serial line,
//! late by the configured latency, held back while the receive buffer is full), cut into the units a
//! Zebra acts on (a format up to its `^XZ`, a `~` command, an SGD line), each acted on and answered.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use labelstation_zpl::interpret::{Event, Immediate};

use super::{Queued, Shared, lock};

/// Longest format kept while waiting for its `^XZ`: a station's label is under 1 KiB.
const MAX_PENDING: usize = 256 * 1024;

/// What kind of link a connection is, for [`super::VirtualPrinterHandle::set_link_down`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Link {
    /// TCP: a link that goes down closes.
    Network,
    /// A serial line: a link that goes down falls silent.
    Serial,
}

/// One connection: read ZPL, answer queries, queue labels.
pub(super) fn serve<S: Read + Write>(shared: &Shared, mut link: S, kind: Link) {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    // A paced line delivers bytes one after another: they are taken a few at a time, each when the
    // line has carried it (against a clock, so the pace does not drift).
    let mut line_free = Instant::now();
    // Bytes read off the link that reach the printer later ([`PrinterSimConfig::latency`]), each chunk
    // with the time it does; the link goes on carrying the next ones meanwhile.
    let mut on_the_way: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    while !shared.stop.load(Ordering::Relaxed) {
        let down = shared.link_down.load(Ordering::Relaxed);
        if down && kind == Link::Network {
            return;
        }
        let now = Instant::now();
        let mut arrived = false;
        while on_the_way.front().is_some_and(|(due, _)| *due <= now) {
            if let Some((_, bytes)) = on_the_way.pop_front() {
                pending.extend_from_slice(&bytes);
                arrived = true;
            }
        }
        if arrived && !take_in(shared, &mut pending, &mut link) {
            return;
        }
        let travelling: usize = on_the_way.iter().map(|(_, b)| b.len()).sum();
        // A full receive buffer reads nothing more: the link holds the sender back until a label is out.
        let room = {
            let mut s = lock(&shared.state);
            let room = s
                .cfg
                .buffer_bytes
                .saturating_sub(s.buffered_bytes() + pending.len() + travelling);
            if room == 0 && !down {
                s.counts.buffer_full += 1;
            }
            room
        };
        if room == 0 && !down {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        let baud = lock(&shared.state).cfg.baud.filter(|b| *b > 0);
        // 10 ms of the line at a time.
        let chunk = baud.map_or(buf.len(), |b| (b as usize / 1000).max(1));
        let want = buf.len().min(room.max(1)).min(chunk);
        let asked = Instant::now();
        let n = match link.read(&mut buf[..want]) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) =>
            {
                continue;
            }
            Err(_) => return,
        };
        if down {
            // Nothing reaches the printer.
            continue;
        }
        if let Some(baud) = baud {
            let now = Instant::now();
            // Bytes that were already waiting kept the line busy: the clock goes on from where it was
            // (a late wake-up of this thread is not an idle line). Bytes that had to be waited for
            // arrived on an idle line: the clock starts again now.
            let waited = now.duration_since(asked) > Duration::from_millis(1);
            if waited || now.saturating_duration_since(line_free) > Duration::from_millis(50) {
                line_free = line_free.max(now);
            }
            line_free += Duration::from_secs_f64(n as f64 * 10.0 / f64::from(baud));
            std::thread::sleep(line_free.saturating_duration_since(now));
        }
        let latency = lock(&shared.state).cfg.latency;
        if let Some(latency) = latency {
            // The bytes are on their way: the printer acts on them that much later.
            on_the_way.push_back((Instant::now() + latency, buf[..n].to_vec()));
            continue;
        }
        pending.extend_from_slice(&buf[..n]);
        if !take_in(shared, &mut pending, &mut link) {
            return;
        }
    }
}

/// Act on every complete unit that reached the printer, answering on `link`; false when the answer
/// cannot be written (the link is gone).
fn take_in<S: Write>(shared: &Shared, pending: &mut Vec<u8>, link: &mut S) -> bool {
    if pending.len() > MAX_PENDING {
        tracing::warn!(
            "virtual printer: {} bytes without a complete format; discarded",
            pending.len()
        );
        pending.clear();
    }
    while let Some(unit) = next_unit(pending) {
        let reply = handle(shared, &unit);
        if !reply.is_empty() && link.write_all(&reply).is_err() {
            return false;
        }
    }
    true
}

/// Take the next complete unit off `pending`: a `~` command, an SGD line (`! U1 …` up to its line
/// ending) or a whole `^XA … ^XZ` format. Bytes before any of them are line noise and dropped.
fn next_unit(pending: &mut Vec<u8>) -> Option<Vec<u8>> {
    let start = pending
        .iter()
        .position(|&b| b == b'~' || b == b'^' || b == b'!')?;
    pending.drain(..start);
    if pending.first() == Some(&b'!') {
        let end = pending.iter().position(|&b| b == b'\n' || b == b'\r')?;
        return Some(pending.drain(..=end).collect());
    }
    if pending.first() == Some(&b'~') {
        let len = if pending.get(1..3) == Some(b"HQ") {
            5
        } else {
            3
        };
        if pending.len() < len {
            return None;
        }
        return Some(pending.drain(..len).collect());
    }
    if !pending.starts_with(b"^XA") {
        if pending.len() < 3 {
            return None;
        }
        // A stray caret outside a format: skip it.
        pending.drain(..1);
        return next_unit(pending);
    }
    // A Zebra acts on `~` commands at once, even in the middle of a format (a status query after a
    // link broke mid-label must still be answered): one that comes before the format's end goes
    // first. `~JA` also drops the unfinished format before it, and only that: a whole label sent
    // after it (`^XA … ^XZ` read in the same chunk) is kept and printed on its own.
    let end = pending.windows(3).position(|w| w == b"^XZ");
    let tilde = pending.iter().position(|&b| b == b'~');
    let tilde = match (tilde, end) {
        (Some(t), Some(e)) if t < e => t,
        (Some(t), None) => t,
        (_, Some(e)) => return Some(pending.drain(..e + 3).collect()),
        (None, None) => return None,
    };
    let len = if pending.get(tilde + 1..tilde + 3) == Some(b"HQ") {
        5
    } else {
        3
    };
    if pending.len() < tilde + len {
        return None;
    }
    let unit: Vec<u8> = pending.drain(tilde..tilde + len).collect();
    if unit == b"~JA" {
        pending.drain(..tilde);
    }
    Some(unit)
}

/// Act on one unit; returns what the printer sends back.
fn handle(shared: &Shared, unit: &[u8]) -> Vec<u8> {
    let mut s = lock(&shared.state);
    if unit.first() == Some(&b'!') {
        return s.sgd(unit);
    }
    let job = match s.reader.read(unit) {
        Ok(job) => job,
        Err(e) => {
            tracing::warn!("virtual printer: malformed ZPL ignored: {e}");
            return Vec::new();
        }
    };
    let mut reply = Vec::new();
    for event in job.events {
        match event {
            Event::Label(label) => {
                s.counts.jobs += 1;
                let drop_rate = s.cfg.drop_rate;
                if s.chance(drop_rate) {
                    s.counts.dropped += 1;
                    continue;
                }
                s.formats += 1;
                let format = s.formats;
                for i in 0..label.quantity.max(1) {
                    s.queue.push_back(Queued {
                        label: label.clone(),
                        copies: 0,
                        format,
                        // The format's bytes are held once, by its first label.
                        bytes: if i == 0 { unit.len() } else { 0 },
                        lost: false,
                    });
                }
                let held = s.queue.len() as u64;
                s.counts.most_buffered = s.counts.most_buffered.max(held);
            }
            Event::Immediate { command, .. } => match command {
                Immediate::HostStatus => {
                    s.counts.status_queries += 1;
                    // Current firmware does not answer while media or ribbon is out or the head is open.
                    if !(s.flags.paper_out || s.flags.ribbon_out || s.flags.head_open) {
                        reply.extend(s.host_status().encode());
                    }
                }
                Immediate::HostQuery(q) if q.eq_ignore_ascii_case("ES") => {
                    reply.extend(s.extended_status())
                }
                Immediate::HostIdentification => reply.extend(s.identification()),
                Immediate::CancelAll => s.cancel_all(),
                Immediate::PrintStart => s.flags.paused = false,
                Immediate::Pause => s.flags.paused = true,
                Immediate::HostQuery(_) => {}
            },
            Event::Stored { .. } | Event::Warning(_) => {}
        }
    }
    reply
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::next_unit;

    fn units(bytes: &[u8]) -> Vec<String> {
        let mut pending = bytes.to_vec();
        let mut out = Vec::new();
        while let Some(u) = next_unit(&mut pending) {
            out.push(String::from_utf8(u).unwrap());
        }
        out
    }

    #[test]
    fn a_tilde_command_before_the_end_of_an_unfinished_format_goes_first() {
        // Half a label (the link broke), then the station's `~JA` and the next label, read at once:
        // the half is dropped, the next label is printed whole and alone.
        assert_eq!(
            units(b"^XA^FO10,10^FDhalf~JA^XA^FDnext^FS^XZ"),
            vec!["~JA", "^XA^FDnext^FS^XZ"]
        );
        // A status query inside a format still arriving is answered; the format goes on.
        assert_eq!(units(b"^XA^FDa~HS"), vec!["~HS"]);
        // An SGD line is one unit up to its line ending; not before it has come.
        assert_eq!(
            units(b"! U1 getvar \"odometer.total_label_count\"\r\n~HS"),
            vec!["! U1 getvar \"odometer.total_label_count\"\r", "~HS"]
        );
        assert!(units(b"! U1 getvar \"odo").is_empty());
        assert_eq!(units(b"^XA^FDa^FS^XZ~HS"), vec!["^XA^FDa^FS^XZ", "~HS"]);
    }
}
