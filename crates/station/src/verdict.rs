// SPDX-License-Identifier: GPL-3.0-or-later
//! What a scan of a printed sticker says: the verdict that decides whether a code counts as applied.
//!
//! The rule is strict on purpose: a sticker is good only when the scanned bytes, once transport artefacts
//! are undone (AIM prefix, configured GS substitutes already mapped by the scanner driver, a stray FNC1),
//! equal the issued code byte for byte, crypto tail and GS separators included. A scan whose separators
//! are missing is *not* a match even though the code can be rebuilt from it: the phone app of a consumer
//! reads the symbol, not our rebuild, and we cannot tell a scanner that drops GS from a label that lacks
//! it. The verdict says which is likely and what to do.

use serde::Serialize;

use labelstation_codes::{AimId, CodeError, CodeFormat, Gtin, MarkingCode, normalize};
use labelstation_ledger::{CodeId, CodeRecord, CodeState, JobId, Ledger, StoreError, now_ms};

/// What the scanned bytes are, before comparing them with anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanContent {
    /// A marking code. `exact` is the normalised scan as received (separators as sent).
    Code {
        code: MarkingCode,
        aim: Option<AimId>,
        exact: Vec<u8>,
    },
    /// The item's own retail barcode (EAN-13 / UPC-A / GTIN-8 / GTIN-14): used to pick the product.
    Retail { gtin: Gtin },
    /// A symbol that is not GS1 DataMatrix (plain Data Matrix `]d1`, QR, …).
    NotGs1 { reason: String },
    /// Not a code at all: noise, a torn read, another kind of text.
    Unreadable { reason: String },
}

/// Read what a scan holds. Pure; the bytes are what the scanner driver delivered for one scan.
pub fn classify(raw: &[u8], format: &CodeFormat) -> ScanContent {
    let n = normalize(raw);
    if let Some(gtin) = retail_gtin(&n.bytes, n.aim) {
        return ScanContent::Retail { gtin };
    }
    match MarkingCode::parse(raw, format) {
        Ok(code) => ScanContent::Code {
            code,
            aim: n.aim,
            exact: n.bytes,
        },
        Err(e @ (CodeError::PlainDataMatrix | CodeError::WrongSymbology { .. })) => {
            ScanContent::NotGs1 {
                reason: e.to_string(),
            }
        }
        Err(e) => ScanContent::Unreadable {
            reason: if raw.is_empty() {
                "the scanner sent an empty read".to_owned()
            } else {
                format!("not a marking code: {e}")
            },
        },
    }
}

/// A retail barcode: 8, 12, 13 or 14 digits with a valid check digit and, if the scanner sent an AIM id,
/// an EAN/UPC (`]E`) or GS1-128 (`]C1`, `01` + GTIN) symbology.
fn retail_gtin(bytes: &[u8], aim: Option<AimId>) -> Option<Gtin> {
    let digits = match aim {
        Some(AimId([b']', b'C', b'1'])) => bytes.strip_prefix(b"01")?,
        Some(AimId([b']', b'E', _])) | None => bytes,
        Some(_) => return None,
    };
    if !matches!(digits.len(), 8 | 12 | 13 | 14) || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Gtin::parse(std::str::from_utf8(digits).ok()?).ok()
}

/// The outcome for the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScanVerdict {
    /// The sticker carries exactly this code, which was waiting for its scan.
    Match { code: CodeId },
    /// A valid marking code, but not the one expected.
    Mismatch {
        /// The code the line expected (inline mode), if one.
        expected: Option<CodeId>,
        /// What the scan holds, masked (never the crypto tail).
        scanned: String,
        kind: MismatchKind,
    },
    /// The symbol is not GS1 DataMatrix.
    NotGs1 { reason: String },
    /// Nothing usable was read.
    Unreadable { reason: String },
    /// The item's own retail barcode, not a sticker: the station uses it to pick the product.
    Retail { gtin: String },
    /// No scan arrived in time.
    Timeout,
}

/// Why a valid code is not a match, from the ledger's point of view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MismatchKind {
    /// The expected code, but the scan lacks its GS separators: the label was printed without them or
    /// the scanner drops GS. Not counted.
    SeparatorsMissing,
    /// Already verified (or reported), and taken for the same sticker read again: its own verifying
    /// scan came moments ago with no scan between, and no other sticker of it is known to exist
    /// ([`repeat_of_applied`]). A warning, never a second count.
    AlreadyVerified { code: CodeId },
    /// Already verified (or reported), and taken for another sticker of it: an alert with a review
    /// record, because a code on two items is what the station exists to prevent. `copy_known`: the
    /// ledger knew a copy may exist (the printer was stopped while printing it, or it was printed twice).
    SecondSticker { code: CodeId, copy_known: bool },
    /// One of our codes in another state (e.g. the neighbouring sticker on the roll, or a code that was
    /// never printed by this station: an alert).
    OurOther { code: CodeId, state: CodeState },
    /// A code this ledger does not know: from another station or another company. An alert.
    Foreign,
}

impl ScanVerdict {
    /// Whether the line should count this scan as a confirmation.
    pub fn is_match(&self) -> bool {
        matches!(self, ScanVerdict::Match { .. })
    }

    /// The verdict's kind for screens, which word it in the worker's language (`LineAdapter.verdict-title`
    /// in `ui/globals.slint`): match, separators, already, wrong-printed, wrong, foreign, not-gs1,
    /// unreadable, retail, timeout.
    pub fn kind(&self) -> &'static str {
        match self {
            ScanVerdict::Match { .. } => "match",
            ScanVerdict::Mismatch { kind, .. } => match kind {
                MismatchKind::SeparatorsMissing => "separators",
                MismatchKind::AlreadyVerified { .. } => "already",
                MismatchKind::SecondSticker { .. } => "second-sticker",
                MismatchKind::OurOther {
                    state: CodeState::Printed,
                    ..
                } => "wrong-printed",
                MismatchKind::OurOther { .. } => "wrong",
                MismatchKind::Foreign => "foreign",
            },
            ScanVerdict::NotGs1 { .. } => "not-gs1",
            ScanVerdict::Unreadable { .. } => "unreadable",
            ScanVerdict::Retail { .. } => "retail",
            ScanVerdict::Timeout => "timeout",
        }
    }

    /// The short upper-case name the ledger records a scan with.
    pub fn name(&self) -> &'static str {
        match self {
            ScanVerdict::Match { .. } => "MATCH",
            ScanVerdict::Mismatch { kind, .. } => match kind {
                MismatchKind::SeparatorsMissing => "SEPARATORS_MISSING",
                MismatchKind::AlreadyVerified { .. } => "ALREADY_VERIFIED",
                MismatchKind::SecondSticker { .. } => "SECOND_STICKER",
                MismatchKind::OurOther { .. } => "OUR_OTHER",
                MismatchKind::Foreign => "FOREIGN",
            },
            ScanVerdict::NotGs1 { .. } => "NOT_GS1",
            ScanVerdict::Unreadable { .. } => "UNREADABLE",
            ScanVerdict::Retail { .. } => "RETAIL",
            ScanVerdict::Timeout => "TIMEOUT",
        }
    }

    /// One line for the worker's screen: what happened and what to do.
    pub fn message(&self) -> String {
        match self {
            ScanVerdict::Match { .. } => "OK: sticker matches its code".into(),
            ScanVerdict::Mismatch { kind, .. } => match kind {
                MismatchKind::SeparatorsMissing => "Separators missing in the scan: the scanner may be dropping GS. Use USB-COM mode with GS sent, then scan again; if it repeats, call the supervisor".into(),
                MismatchKind::AlreadyVerified { .. } => "Already counted: this sticker was scanned before. Do not apply a second copy; set it aside for the supervisor".into(),
                MismatchKind::SecondSticker { .. } => "Second sticker of a code already applied: do not apply it. Hand it to the supervisor to destroy".into(),
                MismatchKind::OurOther { state: CodeState::Printed, .. } => "Wrong sticker: this is another printed label. Scan the sticker that was just printed".into(),
                MismatchKind::OurOther { .. } => "Wrong sticker: this code was not waiting for a scan. Set the sticker aside and call the supervisor".into(),
                MismatchKind::Foreign => "Unknown code: not issued to this station. Set the item aside and call the supervisor".into(),
            },
            ScanVerdict::NotGs1 { reason } => format!("Not a GS1 DataMatrix: {reason}"),
            ScanVerdict::Unreadable { reason } => format!("Unreadable: {reason}. Scan again, holding the scanner steady"),
            ScanVerdict::Retail { gtin } => format!("Product barcode {gtin}: scan the printed sticker instead"),
            ScanVerdict::Timeout => "No scan: scan the printed sticker, or report it as unreadable".into(),
        }
    }
}

/// Decide a scan against the ledger.
///
/// `expected` is the code the line waits for (inline mode); `None` in batch mode, where any code of
/// this station that is PRINTED and waiting is a match for itself. `batch_job`, if given, limits batch
/// matches to codes of that job.
pub fn decide(
    ledger: &Ledger,
    raw: &[u8],
    format: &CodeFormat,
    expected: Option<&CodeRecord>,
    batch_job: Option<JobId>,
) -> Result<ScanVerdict, StoreError> {
    let (code, exact) = match classify(raw, format) {
        ScanContent::Code { code, exact, .. } => (code, exact),
        ScanContent::Retail { gtin } => {
            return Ok(ScanVerdict::Retail {
                gtin: gtin.to_string(),
            });
        }
        ScanContent::NotGs1 { reason } => return Ok(ScanVerdict::NotGs1 { reason }),
        ScanContent::Unreadable { reason } => return Ok(ScanVerdict::Unreadable { reason }),
    };
    let byte_exact = exact == code.as_str().as_bytes();
    let mismatch = |kind| ScanVerdict::Mismatch {
        expected: expected.map(|e| e.id),
        scanned: code.masked(),
        kind,
    };
    if let Some(e) = expected
        && e.code == code
    {
        return Ok(if !byte_exact {
            mismatch(MismatchKind::SeparatorsMissing)
        } else if e.state == CodeState::Printed {
            ScanVerdict::Match { code: e.id }
        } else if e.state.is_verified() {
            mismatch(MismatchKind::AlreadyVerified { code: e.id })
        } else {
            mismatch(MismatchKind::OurOther {
                code: e.id,
                state: e.state,
            })
        });
    }
    let Some(found) = ledger.find_code(&code)? else {
        return Ok(mismatch(MismatchKind::Foreign));
    };
    Ok(if found.state.is_verified() {
        mismatch(MismatchKind::AlreadyVerified { code: found.id })
    } else if expected.is_none()
        && found.state == CodeState::Printed
        && batch_job.is_none_or(|j| found.job == Some(j))
    {
        if byte_exact {
            ScanVerdict::Match { code: found.id }
        } else {
            mismatch(MismatchKind::SeparatorsMissing)
        }
    } else {
        mismatch(MismatchKind::OurOther {
            code: found.id,
            state: found.state,
        })
    })
}

/// A scan of `code`, which is already applied: the same sticker read again, or another sticker of it?
///
/// Two stickers of one code carry the same bytes, so no scan can tell them apart. The station takes a
/// repeat for the same sticker only when its own verifying scan (or a repeat of it) is the last scan
/// this station recorded, less than `window` ago, and the ledger knows of no other sticker of it (no
/// interrupted print, no second print): a double read, or the worker pulling the trigger again. Any
/// other scan of an applied code is taken as another sticker ([`MismatchKind::SecondSticker`]). This
/// errs towards alerts: a supervisor who finds only the one sticker on the pair closes the alert so.
pub fn repeat_of_applied(
    ledger: &Ledger,
    code: CodeId,
    window: std::time::Duration,
) -> Result<MismatchKind, StoreError> {
    let copy_known = ledger.copy_may_exist(code)?;
    if copy_known {
        return Ok(MismatchKind::SecondSticker { code, copy_known });
    }
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let just_read = ledger
        .last_scan()?
        .is_some_and(|last| last.code == Some(code) && now_ms() - last.at_ms < window_ms);
    Ok(if just_read {
        MismatchKind::AlreadyVerified { code }
    } else {
        MismatchKind::SecondSticker { code, copy_known }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use labelstation_codes::generate::{CodeGenerator, gtin_from_number};
    use labelstation_ledger::{Actor, JobMode, Product, ScanProof};

    struct Line {
        _dir: tempfile::TempDir,
        l: Ledger,
        gtin: Gtin,
        codes: Vec<MarkingCode>,
    }

    fn line(n: usize) -> Line {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(&dir.path().join("l.sqlite3"), "st").unwrap();
        let gtin = gtin_from_number(460_555_000_001);
        let sys = Actor::system("t");
        l.add_product(
            Product {
                gtin: gtin.clone(),
                name: "Сапоги".into(),
                size: None,
                colour: None,
                model: None,
                country: None,
            },
            &sys,
        )
        .unwrap();
        let mut g = CodeGenerator::new(5);
        let codes: Vec<MarkingCode> = (0..n).map(|_| g.code(&gtin)).collect();
        let file: String = codes.iter().map(|c| format!("{}\n", c.as_str())).collect();
        l.import_codes(&gtin, "f", file.as_bytes(), &CodeFormat::default(), &sys)
            .unwrap();
        Line {
            _dir: dir,
            l,
            gtin,
            codes,
        }
    }

    /// Reserve, send and print the next code under `job`.
    fn print(line: &mut Line, job: JobId) -> CodeRecord {
        let op = Actor::operator("op");
        let r = line.l.reserve(job, &op).unwrap();
        line.l
            .mark_sent(r.id, job, "sim:", b"", false, &op)
            .unwrap();
        line.l.mark_printed(r.id, job, &op).unwrap();
        line.l.code(r.id).unwrap()
    }

    fn scan_of(c: &MarkingCode) -> Vec<u8> {
        let mut v = b"]d2".to_vec();
        v.extend_from_slice(c.as_str().as_bytes());
        v.extend_from_slice(b"\r\n");
        v
    }

    #[test]
    fn inline_verdicts() {
        let mut t = line(4);
        let f = CodeFormat::default();
        let op = Actor::operator("op");
        let job = t.l.open_job(&t.gtin, JobMode::Inline, &op).unwrap();
        let first = print(&mut t, job);
        let second = print(&mut t, job);
        let d =
            |t: &Line, raw: &[u8], e: &CodeRecord| decide(&t.l, raw, &f, Some(e), None).unwrap();

        assert_eq!(
            d(&t, &scan_of(&second.code), &second),
            ScanVerdict::Match { code: second.id }
        );
        // Without the AIM prefix and terminator, or with a stray FNC1 artefact: still the same bytes.
        let mut e8 = vec![0xE8];
        e8.extend_from_slice(second.code.as_str().as_bytes());
        assert!(d(&t, &e8, &second).is_match());
        // The neighbouring sticker.
        let v = d(&t, &scan_of(&first.code), &second);
        assert!(
            matches!(
                v,
                ScanVerdict::Mismatch {
                    kind: MismatchKind::OurOther {
                        state: CodeState::Printed,
                        ..
                    },
                    ..
                }
            ),
            "{v:?}"
        );
        assert!(v.message().contains("another printed label"));
        // GS dropped by the scanner: rebuilt for display, never counted.
        let dropped: Vec<u8> = second
            .code
            .as_str()
            .bytes()
            .filter(|&b| b != 0x1D)
            .collect();
        let v = d(&t, &dropped, &second);
        assert!(
            matches!(
                v,
                ScanVerdict::Mismatch {
                    kind: MismatchKind::SeparatorsMissing,
                    ..
                }
            ),
            "{v:?}"
        );
        // A code never printed by this station, and one from elsewhere.
        let avail =
            t.l.codes_in_state(CodeState::Available, 1)
                .unwrap()
                .remove(0);
        let v = d(&t, &scan_of(&avail.code), &second);
        assert!(
            matches!(
                v,
                ScanVerdict::Mismatch {
                    kind: MismatchKind::OurOther {
                        state: CodeState::Available,
                        ..
                    },
                    ..
                }
            ),
            "{v:?}"
        );
        let foreign = CodeGenerator::new(999).code(&t.gtin);
        let v = d(&t, &scan_of(&foreign), &second);
        assert!(
            matches!(
                v,
                ScanVerdict::Mismatch {
                    kind: MismatchKind::Foreign,
                    ..
                }
            ),
            "{v:?}"
        );
        // The verdict never carries the crypto tail.
        let text = serde_json::to_string(&v).unwrap() + &v.message();
        assert!(!text.contains(foreign.crypto().unwrap()));

        // Once verified, a repeat is a warning, not a second count.
        t.l.verify(
            second.id,
            job,
            &ScanProof {
                raw: &scan_of(&second.code),
                aim: Some("]d2"),
            },
            &op,
        )
        .unwrap();
        let again = t.l.code(second.id).unwrap();
        let v = d(&t, &scan_of(&second.code), &again);
        assert!(
            matches!(
                v,
                ScanVerdict::Mismatch {
                    kind: MismatchKind::AlreadyVerified { .. },
                    ..
                }
            ),
            "{v:?}"
        );
        let v = d(&t, &scan_of(&second.code), &first);
        assert!(
            matches!(
                v,
                ScanVerdict::Mismatch {
                    kind: MismatchKind::AlreadyVerified { .. },
                    ..
                }
            ),
            "{v:?}"
        );
    }

    #[test]
    fn a_repeat_is_the_same_sticker_only_right_after_its_own_scan_and_with_no_copy_known() {
        use std::time::Duration;
        let mut t = line(4);
        let op = Actor::operator("op");
        let job = t.l.open_job(&t.gtin, JobMode::Batch, &op).unwrap();
        let a = print(&mut t, job);
        let b = print(&mut t, job);
        let window = Duration::from_secs(60);
        let verify = |t: &mut Line, r: &CodeRecord| {
            let raw = scan_of(&r.code);
            t.l.verify(
                r.id,
                job,
                &ScanProof {
                    raw: &raw,
                    aim: Some("]d2"),
                },
                &op,
            )
            .unwrap();
        };
        verify(&mut t, &a);
        // Read again at once: the same sticker.
        assert_eq!(
            repeat_of_applied(&t.l, a.id, window).unwrap(),
            MismatchKind::AlreadyVerified { code: a.id }
        );
        // Too late to be a double read.
        assert_eq!(
            repeat_of_applied(&t.l, a.id, Duration::ZERO).unwrap(),
            MismatchKind::SecondSticker {
                code: a.id,
                copy_known: false
            }
        );
        // Another code was scanned since: another sticker.
        verify(&mut t, &b);
        assert_eq!(
            repeat_of_applied(&t.l, a.id, window).unwrap(),
            MismatchKind::SecondSticker {
                code: a.id,
                copy_known: false
            }
        );
        // The printer was stopped while printing b: any repeat of it is another sticker.
        t.l.print_interrupted(b.id, "paper-out").unwrap();
        assert!(t.l.copy_may_exist(b.id).unwrap());
        assert!(!t.l.copy_may_exist(a.id).unwrap());
        assert_eq!(
            repeat_of_applied(&t.l, b.id, window).unwrap(),
            MismatchKind::SecondSticker {
                code: b.id,
                copy_known: true
            }
        );
        let v = ScanVerdict::Mismatch {
            expected: None,
            scanned: b.code.masked(),
            kind: MismatchKind::SecondSticker {
                code: b.id,
                copy_known: true,
            },
        };
        assert_eq!((v.kind(), v.name()), ("second-sticker", "SECOND_STICKER"));
        assert!(v.message().contains("supervisor"));
    }

    #[test]
    fn batch_matches_any_waiting_sticker_of_the_job() {
        let mut t = line(4);
        let f = CodeFormat::default();
        let op = Actor::operator("op");
        let a = t.l.open_job(&t.gtin, JobMode::Batch, &op).unwrap();
        let b = t.l.open_job(&t.gtin, JobMode::Batch, &op).unwrap();
        let roll: Vec<CodeRecord> = (0..2).map(|_| print(&mut t, a)).collect();
        let other = print(&mut t, b);
        for r in roll.iter().rev() {
            assert_eq!(
                decide(&t.l, &scan_of(&r.code), &f, None, Some(a)).unwrap(),
                ScanVerdict::Match { code: r.id }
            );
        }
        assert!(
            !decide(&t.l, &scan_of(&other.code), &f, None, Some(a))
                .unwrap()
                .is_match()
        );
        assert!(
            decide(&t.l, &scan_of(&other.code), &f, None, None)
                .unwrap()
                .is_match()
        );
        let _ = &t.codes;
    }

    #[test]
    fn what_is_not_a_sticker() {
        let f = CodeFormat::default();
        let t = line(1);
        let g = t.gtin.as_str();
        let ean13 = &g[1..];
        assert_eq!(
            classify(ean13.as_bytes(), &f),
            ScanContent::Retail {
                gtin: t.gtin.clone()
            }
        );
        assert_eq!(
            classify(format!("]E0{ean13}\r").as_bytes(), &f),
            ScanContent::Retail {
                gtin: t.gtin.clone()
            }
        );
        assert_eq!(
            classify(format!("]C101{g}").as_bytes(), &f),
            ScanContent::Retail {
                gtin: t.gtin.clone()
            }
        );
        // A wrong check digit is not a product.
        let mut bad = ean13.to_owned();
        let last = bad.pop().unwrap();
        bad.push(if last == '0' { '1' } else { '0' });
        assert!(matches!(
            classify(bad.as_bytes(), &f),
            ScanContent::Unreadable { .. }
        ));

        let c = t.codes[0].as_str();
        assert!(matches!(
            classify(format!("]d1{c}").as_bytes(), &f),
            ScanContent::NotGs1 { .. }
        ));
        assert!(matches!(
            classify(format!("]Q3{c}").as_bytes(), &f),
            ScanContent::NotGs1 { .. }
        ));
        for junk in [
            &b""[..],
            b"\r\n",
            b"\x00\xff\xfe garbage",
            b"]d2",
            &c.as_bytes()[..40],
            &[0x1D; 300][..],
        ] {
            let v = decide(&t.l, junk, &f, None, None).unwrap();
            assert!(
                matches!(v, ScanVerdict::Unreadable { .. }),
                "{junk:?} -> {v:?}"
            );
        }
        assert!(
            decide(&t.l, ean13.as_bytes(), &f, None, None)
                .unwrap()
                .message()
                .contains("scan the printed sticker")
        );
    }
}
