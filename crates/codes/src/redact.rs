// SPDX-License-Identifier: GPL-3.0-or-later
//! Text that may hold marking codes, made safe for a log, a screen or the ledger's notes: a crypto tail
//! never leaves the ledger, whoever echoes it (a registry's error, a rejected report).

/// The longest message kept (registry errors, report notes).
pub const MAX_MESSAGE: usize = 300;

/// Bound a message, drop control characters, and cut any marking code in it to its identification part.
pub fn clean_message(s: &str) -> String {
    // Redact first: a code's GS separators are control characters and must still hold it together.
    let redacted: String = redact_codes(s)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let redacted = redacted.trim().to_owned();
    if redacted.chars().count() > MAX_MESSAGE {
        let mut cut: String = redacted.chars().take(MAX_MESSAGE).collect();
        cut.push('…');
        cut
    } else {
        redacted
    }
}

/// Replace what follows the identification part of any marking code in `s` (`01` + 14 digits + `21` +
/// serial) by `…`, so a crypto tail echoed by the registry never reaches a log or a screen.
pub fn redact_codes(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    while i + 18 <= b.len() {
        let is_code = b[i] == b'0'
            && b[i + 1] == b'1'
            && b[i + 2..i + 16].iter().all(u8::is_ascii_digit)
            && b[i + 16] == b'2'
            && b[i + 17] == b'1';
        if !is_code {
            i += 1;
            continue;
        }
        // The code runs to whitespace, a quote or a comma (its GS separators are not whitespace). The
        // serial ends at its GS if one is within 20 characters; otherwise keep footwear's 13.
        let serial_start = i + 18;
        let token_end = b[serial_start..]
            .iter()
            .position(|&c| c.is_ascii_whitespace() || c == b'"' || c == b',')
            .map_or(b.len(), |p| serial_start + p);
        let serial_len = b[serial_start..token_end]
            .iter()
            .take(21)
            .position(|&c| c == 0x1D || c == b'<')
            .unwrap_or(13);
        let keep = (serial_start + serial_len).min(token_end);
        if token_end > keep && s.is_char_boundary(keep) && s.is_char_boundary(token_end) {
            out.push_str(&s[copied..keep]);
            out.push('…');
            copied = token_end;
        }
        i = token_end.max(i + 1);
    }
    out.push_str(&s[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_without_codes_is_untouched() {
        // A GTIN alone is not a code.
        assert_eq!(
            redact_codes("GTIN 04601234567893 unknown"),
            "GTIN 04601234567893 unknown"
        );
        assert_eq!(redact_codes("é0104601234567893"), "é0104601234567893");
    }

    #[test]
    fn clean_bounds_and_redacts() {
        let code = "0104601234567893215ABCdef!%&'*\u{1d}91AB12\u{1d}92ZmFrZWNyeXB0b3RhaWw=";
        assert_eq!(
            clean_message(&format!("  rejected:\n{code}\t ")),
            "rejected: 0104601234567893215ABCdef!%&'*…"
        );
        let long = clean_message(&"x".repeat(MAX_MESSAGE + 50));
        assert_eq!(long.chars().count(), MAX_MESSAGE + 1);
        assert!(long.ends_with('…'));
    }
}
