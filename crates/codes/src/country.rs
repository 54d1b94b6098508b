// SPDX-License-Identifier: GPL-3.0-or-later
//! Countries of origin as reports and products name them.

/// Whether `s` looks like an ISO 3166-1 alpha-2 country code (two upper-case Latin letters).
pub fn is_country_code(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::is_country_code;

    #[test]
    fn two_upper_case_latin_letters() {
        assert!(is_country_code("CN") && is_country_code("KZ"));
        for no in ["", "C", "cn", "CHN", "C1", "КЗ"] {
            assert!(!is_country_code(no), "{no:?}");
        }
    }
}
