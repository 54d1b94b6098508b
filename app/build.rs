// SPDX-License-Identifier: GPL-3.0-or-later
//! Compiles the touchscreen (`ui/app.slint`, with its Russian and Kazakh translations bundled) when the
//! `ui` feature is on. Without it the crate builds with no Slint at all.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "ui")]
    ui();
}

#[cfg(feature = "ui")]
fn ui() {
    use slint_build::{CompilerConfiguration, DefaultTranslationContext};
    println!("cargo:rerun-if-changed=ui");
    // Element ids for the headless UI tests (`ElementHandle::find_by_element_id`) in debug builds.
    let debug = std::env::var("PROFILE").is_ok_and(|p| p == "debug");
    let config = CompilerConfiguration::new()
        .with_style("fluent-light".into())
        .with_bundled_translations("ui/translations")
        .with_default_translation_context(DefaultTranslationContext::None)
        .with_debug_info(debug);
    if let Err(e) = slint_build::compile_with_config("ui/app.slint", config) {
        panic!("ui/app.slint: {e}");
    }
}
