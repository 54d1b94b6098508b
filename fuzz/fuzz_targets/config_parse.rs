// SPDX-License-Identifier: GPL-3.0-or-later
//! Arbitrary text as a configuration file: refused with an error or accepted, never a panic; what is
//! accepted serialises back to a file that gives the same configuration.
#![no_main]

use std::path::Path;

use labelstation::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = Config::from_toml(text, Path::new("fuzz.toml")) {
        let again = Config::from_toml(&config.to_toml(), Path::new("again.toml"))
            .expect("a written config reads back");
        assert_eq!(again, config);
    }
});
