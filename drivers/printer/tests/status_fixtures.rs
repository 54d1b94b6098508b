// SPDX-License-Identifier: GPL-3.0-or-later
//! Parses every recorded or documented printer reply in `tests/fixtures/`, whole and fed through
//! the frame splitter in every chunk size a serial link could deliver.

use std::path::{Path, PathBuf};

use labelstation_printer::status::{
    ErrorFlags, ExtendedStatus, FrameSplitter, HostIdentification, HostStatus, PrintMode, Problem,
    WarningFlags,
};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Frames the splitter yields when `bytes` arrive `chunk` bytes at a time.
fn frames_in_chunks(bytes: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let mut splitter = FrameSplitter::new();
    let mut frames = Vec::new();
    for piece in bytes.chunks(chunk) {
        for event in splitter.push(piece) {
            frames.push(event.unwrap_or_else(|e| panic!("chunk {chunk}: {e}")));
        }
    }
    assert!(!splitter.has_partial_frame(), "chunk {chunk}");
    frames
}

fn host_status(name: &str) -> HostStatus {
    let bytes = read(name);
    let whole = HostStatus::parse_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    for chunk in 1..=bytes.len() {
        let frames = frames_in_chunks(&bytes, chunk);
        assert_eq!(
            HostStatus::parse(&frames).as_ref(),
            Ok(&whole),
            "{name}, chunk {chunk}"
        );
    }
    whole
}

fn extended_status(name: &str) -> ExtendedStatus {
    let bytes = read(name);
    let whole = ExtendedStatus::parse_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    for chunk in 1..=bytes.len() {
        let frames = frames_in_chunks(&bytes, chunk);
        assert_eq!(frames.len(), 1, "{name}, chunk {chunk}");
        assert_eq!(
            ExtendedStatus::parse(&frames[0]),
            Ok(whole),
            "{name}, chunk {chunk}"
        );
    }
    whole
}

fn identification(name: &str) -> HostIdentification {
    let bytes = read(name);
    let whole = HostIdentification::parse_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    for chunk in 1..=bytes.len() {
        let frames = frames_in_chunks(&bytes, chunk);
        assert_eq!(frames.len(), 1, "{name}, chunk {chunk}");
        assert_eq!(
            HostIdentification::parse(&frames[0]).as_ref(),
            Ok(&whole),
            "{name}, chunk {chunk}"
        );
    }
    whole
}

fn check_hs_brother_zpl_emulation() {
    let s = host_status("hs_brother_zpl_emulation.bin");
    assert_eq!(s.comm_settings.raw(), 158);
    assert_eq!(s.comm_settings.baud(), Some(9600));
    assert_eq!(s.label_length_dots, 203);
    assert_eq!(s.print_mode, PrintMode::TearOff);
    assert_eq!(s.print_width_mode, 6);
    assert!(s.format_while_printing);
    assert!(s.problems().is_empty());
    assert!(s.is_idle());
}

fn check_hs_peel_off_label_waiting() {
    let s = host_status("hs_peel_off_label_waiting.bin");
    assert_eq!(s.label_length_dots, 406);
    assert_eq!(s.formats_in_buffer, 1);
    assert_eq!(s.print_mode, PrintMode::PeelOff);
    assert!(s.thermal_transfer);
    assert!(s.label_waiting);
    assert_eq!(s.labels_remaining, 1);
    assert_eq!(s.graphics_stored, 2);
    assert!(s.static_ram_installed);
    assert!(s.problems().is_empty());
    assert!(!s.is_idle());
}

fn check_hqes_head_open_media_out() {
    let s = extended_status("hqes_head_open_media_out.bin");
    assert_eq!(s.errors, ErrorFlags::from_bits_retain(0x5));
    assert!(s.warnings.is_empty());
    assert_eq!(s.problems(), vec![Problem::HeadOpen, Problem::PaperOut]);
}

fn check_hqes_unknown_bits_padded() {
    let s = extended_status("hqes_unknown_bits_padded.bin");
    assert!(s.errors.contains(ErrorFlags::HEAD_OPEN));
    assert_eq!(s.errors.difference(ErrorFlags::all()).bits(), 0x1_0000);
    assert_eq!(s.warnings, WarningFlags::from_bits_retain(0x100));
    assert_eq!(
        s.problems(),
        vec![
            Problem::HeadOpen,
            Problem::UnrecognisedError { bits: 0x1_0000 },
            Problem::UnrecognisedWarning { bits: 0x100 },
        ]
    );
}

fn check_hi_documented_layout() {
    let s = identification("hi_documented_layout.bin");
    assert_eq!(s.model, "XXXXXX");
    assert_eq!(s.firmware, "V1.0.0");
    assert_eq!(s.dots_per_mm, 8);
    assert_eq!(s.dpi(), Some(203));
    assert_eq!(s.memory_kb, 512);
    assert_eq!(s.options, "X");
}

const FIXTURES: [(&str, fn()); 5] = [
    (
        "hs_brother_zpl_emulation.bin",
        check_hs_brother_zpl_emulation,
    ),
    (
        "hs_peel_off_label_waiting.bin",
        check_hs_peel_off_label_waiting,
    ),
    (
        "hqes_head_open_media_out.bin",
        check_hqes_head_open_media_out,
    ),
    (
        "hqes_unknown_bits_padded.bin",
        check_hqes_unknown_bits_padded,
    ),
    ("hi_documented_layout.bin", check_hi_documented_layout),
];

#[test]
fn every_fixture_parses_as_expected() {
    for (_, check) in FIXTURES {
        check();
    }
}

/// A fixture dropped into the folder without a check here would silently go untested.
#[test]
fn every_fixture_file_has_a_check() {
    let dir = fixtures_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("list {}: {e}", dir.display()));
    let mut on_disk: Vec<String> = entries
        .map(|entry| {
            let entry = entry.unwrap_or_else(|e| panic!("list {}: {e}", dir.display()));
            entry.file_name().to_string_lossy().into_owned()
        })
        .filter(|name| name.ends_with(".bin"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = FIXTURES
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

/// A serial read after a timed-out poll: the tail of the old reply, a stale partial frame,
/// then the fresh reply, in odd-sized pieces.
#[test]
fn reply_after_garbage_and_stale_partial_frame() {
    let reply = read("hs_brother_zpl_emulation.bin");
    let mut stream = b"0,000\x03\r\n\xfe\x02158,0,0,02".to_vec();
    stream.extend_from_slice(&reply);
    let mut splitter = FrameSplitter::new();
    let mut frames = Vec::new();
    let mut lost = 0;
    for piece in stream.chunks(7) {
        for event in splitter.push(piece) {
            match event {
                Ok(frame) => frames.push(frame),
                Err(_) => lost += 1,
            }
        }
    }
    assert_eq!(lost, 1, "the stale partial frame is reported once");
    assert_eq!(
        HostStatus::parse(&frames),
        HostStatus::parse_bytes(&reply),
        "fresh reply intact"
    );
}
