// SPDX-License-Identifier: GPL-3.0-or-later
//! The GS1 character sets a marking code may contain.

/// True for a byte of GS1 character set 82 (GS1 General Specifications, figure 7.11-1): the only
/// characters allowed in a serial, verification key or crypto tail.
///
/// Set 82 is ASCII `! " % & ' ( ) * + , - . / 0-9 : ; < = > ? A-Z _ a-z`. Space, `#`, `$`, `@`, `[`, `\`,
/// `]`, `^`, `` ` ``, `{`, `|`, `}`, `~`, control characters and every non-ASCII byte are outside it, which
/// is what lets transport artefacts (`]d2`, `\x1d`, `{GS}`, a stray `è`) be told apart from code content.
pub fn is_gs1_char82(b: u8) -> bool {
    matches!(b,
        b'!' | b'"' | b'%'..=b'/' | b'0'..=b'9' | b':'..=b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_82_has_exactly_82_characters() {
        let set: Vec<u8> = (0..=255u8).filter(|&b| is_gs1_char82(b)).collect();
        assert_eq!(set.len(), 82);
        let expected: &[u8] =
            b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
        assert_eq!(set, expected);
    }

    #[test]
    fn transport_artefacts_are_outside_set_82() {
        for b in b" #$@[\\]^`{|}~\x1d\r\n\t\0" {
            assert!(!is_gs1_char82(*b), "{b:#04x}");
        }
        assert!(!is_gs1_char82(0xE8));
        assert!(!is_gs1_char82(0xC3));
    }
}
