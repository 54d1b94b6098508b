// SPDX-License-Identifier: GPL-3.0-or-later
//! Field-level parsing shared by the reply parsers. Each parser wraps a [`Fault`] with its own
//! context (command, string, field name) so the final error names exactly where it failed.

/// Why one field was rejected: its text and what we expected instead.
#[derive(Debug)]
pub(crate) struct Fault {
    pub(crate) value: String,
    pub(crate) expected: String,
}

impl Fault {
    fn new(raw: &[u8], expected: impl Into<String>) -> Self {
        Self {
            value: show(raw),
            expected: expected.into(),
        }
    }
}

/// Field text for error messages; printer bytes need not be UTF-8.
pub(crate) fn show(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

/// Comma-separated fields with surrounding whitespace removed (emulations pad some fields).
pub(crate) fn split_fields(payload: &[u8]) -> Vec<&[u8]> {
    payload
        .trim_ascii()
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .collect()
}

/// A `0`/`1` flag.
pub(crate) fn flag(raw: &[u8]) -> Result<bool, Fault> {
    match raw {
        b"0" => Ok(false),
        b"1" => Ok(true),
        _ => Err(Fault::new(raw, "0 or 1")),
    }
}

/// Unsigned integer types a decimal or hex field may be read into.
pub(crate) trait Unsigned: TryFrom<u64> {
    const MAX_U64: u64;
}

impl Unsigned for u8 {
    const MAX_U64: u64 = u8::MAX as u64;
}
impl Unsigned for u16 {
    const MAX_U64: u64 = u16::MAX as u64;
}
impl Unsigned for u32 {
    const MAX_U64: u64 = u32::MAX as u64;
}

/// A decimal number of any width (printers zero-pad to the documented width, emulations may
/// not).
pub(crate) fn decimal<T: Unsigned>(raw: &[u8]) -> Result<T, Fault> {
    if raw.is_empty() || !raw.iter().all(u8::is_ascii_digit) {
        return Err(Fault::new(raw, "digits"));
    }
    let too_big = || Fault::new(raw, format!("a number no larger than {}", T::MAX_U64));
    let mut value: u64 = 0;
    for &digit in raw {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(digit - b'0')))
            .ok_or_else(too_big)?;
    }
    T::try_from(value).map_err(|_| too_big())
}

/// 1 to 8 hex digits, as in the `~HQES` flag groups.
pub(crate) fn hex_group(raw: &[u8]) -> Result<u32, Fault> {
    const EXPECTED: &str = "1 to 8 hex digits";
    if raw.is_empty() || raw.len() > 8 {
        return Err(Fault::new(raw, EXPECTED));
    }
    let mut value: u32 = 0;
    for &byte in raw {
        let nibble = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            b'A'..=b'F' => byte - b'A' + 10,
            _ => return Err(Fault::new(raw, EXPECTED)),
        };
        value = (value << 4) | u32::from(nibble);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        assert!(matches!(flag(b"0"), Ok(false)));
        assert!(matches!(flag(b"1"), Ok(true)));
        for bad in [&b""[..], b"2", b"01", b"x", b"-1"] {
            let fault = flag(bad).expect_err("not a flag");
            assert_eq!(fault.expected, "0 or 1");
        }
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal::<u32>(b"00000042").ok(), Some(42));
        assert_eq!(decimal::<u8>(b"255").ok(), Some(255));
        assert_eq!(decimal::<u32>(b"4294967295").ok(), Some(u32::MAX));
        for bad in [&b""[..], b"12a", b" 1", b"-1", b"+1", b"1.0", b"\xff"] {
            assert_eq!(
                decimal::<u32>(bad).expect_err(&show(bad)).expected,
                "digits"
            );
        }
        assert_eq!(
            decimal::<u8>(b"256").expect_err("too big").expected,
            "a number no larger than 255"
        );
        assert_eq!(
            decimal::<u32>(b"99999999999999999999999")
                .expect_err("u64 overflow")
                .expected,
            "a number no larger than 4294967295"
        );
    }

    #[test]
    fn hex_groups() {
        assert_eq!(hex_group(b"00000005").ok(), Some(5));
        assert_eq!(hex_group(b"FfFfFfFf").ok(), Some(u32::MAX));
        assert_eq!(hex_group(b"1").ok(), Some(1));
        for bad in [&b""[..], b"000000005", b"0000000g", b" 1"] {
            assert_eq!(
                hex_group(bad).expect_err("bad").expected,
                "1 to 8 hex digits"
            );
        }
    }

    #[test]
    fn splits_and_trims() {
        assert_eq!(
            split_fields(b" 1, 2 ,3\r\n"),
            vec![&b"1"[..], &b"2"[..], &b"3"[..]]
        );
        assert_eq!(split_fields(b""), vec![&b""[..]]);
    }
}
