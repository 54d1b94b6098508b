// SPDX-License-Identifier: GPL-3.0-or-later
//! The one place where a station is built and wired from its configuration: the station itself (ledger,
//! devices, PIN store), the registry client (or the built-in simulator behind it), and the background
//! sync with the registry link the screens show. The command line, the touchscreen, the demo and the
//! bench all build through here, so none of them reaches into another to borrow its wiring.

pub mod demo;
mod station;

pub use station::{BoxLabelOnLine, Opened, Overrides, label_box_on_line, open_station};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::config::{Config, Paths, RegistryApi};
use crate::registry::client::{Registry, RegistryError, RetryPolicy, XtraceClient, XtraceSettings};
use crate::registry::sim::{RegistrySim, SimConfig};
use crate::registry::sync::{Background, LinkState, SyncOptions, SyncState};
use crate::registry::wire::Secret;

/// Where the built-in simulator (`registry.api = "sim"`) keeps its state, in the data dir.
pub const SIM_STATE_FILE: &str = "registry-sim.json";

/// How reports are made, from `[registry.report]`.
pub fn sync_options(config: &Config) -> SyncOptions {
    let r = &config.registry.report;
    SyncOptions {
        batch_size: r.batch_size,
        default_country: (!r.default_country.is_empty()).then(|| r.default_country.clone()),
        expiry_days: r.expiry_days,
        write_off_reason: r.write_off_reason.clone(),
        settle_window: Duration::from_secs(r.settle_window_secs),
        lookup_chunk: r.lookup_chunk,
        max_in_flight: r.max_in_flight,
        report_timeout: Duration::from_secs(r.wait_secs),
        check_max: Duration::from_secs(r.check_max_secs),
        sscc_form: config.aggregation.sscc_form,
        owner_is_importer: config.aggregation.file_for_importer,
        ..SyncOptions::default()
    }
}

/// The configured registry client, and the in-process simulator behind it when `api = "sim"` (keep it as
/// long as clients of it are used).
pub fn registry(
    paths: &Paths,
    config: &Config,
) -> Result<(Box<dyn Registry>, Option<RegistrySim>)> {
    if config.registry.api == RegistryApi::Sim {
        let sim = RegistrySim::start(
            ([127, 0, 0, 1], 0).into(),
            SimConfig {
                crypto_len: config.codes.crypto_length_min,
                // Kept in the data dir, so codes pulled now can be reported by a later `sync`.
                state_file: Some(paths.data_dir.join(SIM_STATE_FILE)),
                ..SimConfig::default()
            },
        )
        .context("cannot start the built-in registry simulator")?;
        let client = registry_client(config, Some(&sim.url()))?;
        return Ok((client, Some(sim)));
    }
    Ok((registry_client(config, None)?, None))
}

/// A new client of the configured registry; with `api = "sim"`, of the simulator at `sim_url`.
pub fn registry_client(
    config: &Config,
    sim_url: Option<&str>,
) -> Result<Box<dyn Registry>, RegistryError> {
    let r = &config.registry;
    match r.api {
        RegistryApi::Sim => {
            let url = sim_url.ok_or_else(|| {
                RegistryError::Config("the built-in registry simulator is not running".into())
            })?;
            sim_client(config, url)
        }
        RegistryApi::Xtrace => {
            let var = &r.xtrace.password_env;
            let password = std::env::var(var).map_err(|_| {
                RegistryError::Config(format!("the registry password is not set: put it in the environment variable {var} (named by registry.xtrace.password_env)"))
            })?;
            let client = XtraceClient::new(xtrace_settings(
                config,
                r.url.clone(),
                r.xtrace.login.clone(),
                Secret::new(password),
            ))?;
            Ok(Box::new(client))
        }
        RegistryApi::OmsV2 => {
            let o = &r.oms;
            let var = &o.client_token_env;
            let token = std::env::var(var).map_err(|_| {
                RegistryError::Config(format!("the registry client token is not set: put it in the environment variable {var} (named by registry.oms.client_token_env)"))
            })?;
            let client = crate::registry::oms_client::OmsClient::new(
                crate::registry::oms_client::OmsSettings {
                    url: r.url.clone(),
                    oms_id: o.oms_id.clone(),
                    client_token: Secret::new(token),
                    extension: o.extension.clone(),
                    contact_person: o.contact_person.clone(),
                    participant_id: o.participant_id.clone(),
                    timeout: Duration::from_secs(r.timeout_secs),
                    retry: RetryPolicy::default(),
                },
            )?;
            Ok(Box::new(client))
        }
    }
}

/// A client of a registry simulator at `url` (xTrace API, the simulator's own login), with the timeouts
/// and the product group `config` names.
pub fn sim_client(config: &Config, url: &str) -> Result<Box<dyn Registry>, RegistryError> {
    let cfg = SimConfig::default();
    let client = XtraceClient::new(xtrace_settings(
        config,
        url.to_owned(),
        cfg.login,
        Secret::new(cfg.password),
    ))?;
    Ok(Box::new(client))
}

fn xtrace_settings(
    config: &Config,
    url: String,
    login: String,
    password: Secret,
) -> XtraceSettings {
    let r = &config.registry;
    XtraceSettings {
        url,
        login,
        password,
        product_group: r.xtrace.product_group.clone(),
        business_place_id: r.xtrace.business_place_id,
        timeout: Duration::from_secs(r.timeout_secs),
        retry: RetryPolicy::default(),
    }
}

/// The background sync of a running station and what the screens need of it.
pub struct SyncParts {
    pub sync: Arc<Mutex<Background>>,
    pub link: crate::engine::LinkSource,
    /// The built-in simulator's address (`registry.api = "sim"`), for the connection test.
    pub test_url: Option<String>,
    /// The built-in simulator, kept running while the station runs.
    pub sim: Option<RegistrySim>,
}

/// Start reporting to the configured registry in the background (the built-in simulator with
/// `registry.api = "sim"`).
pub fn start_sync(paths: &Paths, config: &Config) -> Result<SyncParts> {
    let (first, sim) = registry(paths, config)?;
    drop(first);
    let sim_url = sim.as_ref().map(|s| s.url());
    let test_url = sim_url.clone();
    let client_config = config.clone();
    let sync = Background::spawn(
        &paths.ledger(),
        &config.station.id,
        Box::new(move || registry_client(&client_config, sim_url.as_deref())),
        sync_options(config),
        Duration::from_secs(config.registry.report.interval_secs),
    )
    .context("cannot start the background sync")?;
    let sync = Arc::new(Mutex::new(sync));
    let link: crate::engine::LinkSource = {
        let sync = sync.clone();
        Box::new(move || sync.lock().ok().map(|s| link_view(&s.state())))
    };
    Ok(SyncParts {
        sync,
        link,
        test_url,
        sim,
    })
}

/// Checks the registry connection; Ok is a line for the supervisor, Err what is wrong and what to do.
pub type RegistryTest = Arc<dyn Fn() -> Result<String, String> + Send + Sync>;

/// The Settings page's registry connection test: a new client of the configured registry (of the
/// built-in simulator at `url`), pinged.
pub fn registry_test(config: &Config, url: Option<String>) -> RegistryTest {
    let config = config.clone();
    Arc::new(move || {
        let mut client = registry_client(&config, url.as_deref()).map_err(|e| e.to_string())?;
        client.ping().map_err(|e| e.to_string())?;
        Ok("the registry answers".to_owned())
    })
}

/// The registry link as the screens show it.
fn link_view(s: &SyncState) -> crate::engine::LinkView {
    crate::engine::LinkView {
        state: match &s.link {
            LinkState::Up => crate::engine::LinkStatus::Up,
            LinkState::Down { .. } => crate::engine::LinkStatus::Down,
            LinkState::Unknown => crate::engine::LinkStatus::Unknown,
        },
        backlog: s.backlog,
        last_success_ms: s.last_success_ms,
        last_error: s.last_error.clone(),
    }
}
