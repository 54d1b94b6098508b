// SPDX-License-Identifier: GPL-3.0-or-later
//! The Prometheus text endpoint (`GET /metrics`), opt-in with `[metrics] listen`.
//!
//! Each scrape opens the ledger afresh to read only (`Ledger::open_read_only`: it never creates or changes
//! the file) and adds whatever the caller's `extra` closure reports, so the station engine can publish its
//! printer and registry-link state without this module knowing about them. Nothing here carries a code:
//! only counts per GTIN and state.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::ledger::{Ledger, StoreError};

/// Extra samples: `(name or name{labels}, value)`, e.g. `("labelstation_printer_ready", 1.0)` or
/// `("labelstation_registry_link_up{api=\"xtrace\"}", 0.0)`.
pub type Extra = Arc<dyn Fn() -> Vec<(String, f64)> + Send + Sync>;

/// No extra samples.
pub fn no_extra() -> Extra {
    Arc::new(Vec::new)
}

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error(
        "cannot listen on {addr} for metrics: {source}. Pick a free port in [metrics] listen (e.g. \"127.0.0.1:9464\"), or \"\" to turn the endpoint off."
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the metrics server thread: {0}")]
    Thread(std::io::Error),
}

/// A running endpoint; stops when dropped.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MetricsServer {
    /// The address it listens on (with the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Block until the server ends (it ends only when dropped from another thread or on error).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serve `GET /metrics` on `listen` from the ledger at `ledger_path`, plus `extra`. Binds before
/// returning, so an address in use is reported here. A non-loopback address is allowed (it was given
/// explicitly) but logged as a warning: the counts then reach the network.
pub fn serve(
    listen: SocketAddr,
    ledger_path: PathBuf,
    extra: Extra,
) -> Result<MetricsServer, MetricsError> {
    if !listen.ip().is_loopback() {
        tracing::warn!(
            "metrics endpoint on the non-loopback address {listen}: every host that can reach it sees this station's counts; firewall it to the monitoring server"
        );
    }
    let std_listener =
        std::net::TcpListener::bind(listen).map_err(|source| MetricsError::Bind {
            addr: listen,
            source,
        })?;
    let addr = std_listener
        .local_addr()
        .map_err(|source| MetricsError::Bind {
            addr: listen,
            source,
        })?;
    std_listener
        .set_nonblocking(true)
        .map_err(|source| MetricsError::Bind { addr, source })?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("metrics endpoint not started: {e}");
                    return;
                }
            };
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(std_listener) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!("metrics endpoint not started: {e}");
                        return;
                    }
                };
                let app = axum::Router::new().route(
                    "/metrics",
                    axum::routing::get(move || {
                        let path = ledger_path.clone();
                        let extra = extra.clone();
                        async move {
                            let body = tokio::task::spawn_blocking(move || render(&path, &extra))
                                .await
                                .unwrap_or_else(|_| "labelstation_up 0\n".to_owned());
                            (
                                [(
                                    axum::http::header::CONTENT_TYPE,
                                    "text/plain; version=0.0.4; charset=utf-8",
                                )],
                                body,
                            )
                        }
                    }),
                );
                let result = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await;
                if let Err(e) = result {
                    tracing::error!("metrics endpoint stopped: {e}");
                }
            });
        })
        .map_err(MetricsError::Thread)?;
    tracing::info!("metrics endpoint on http://{addr}/metrics");
    Ok(MetricsServer {
        addr,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The exposition text for one scrape.
pub fn render(ledger_path: &Path, extra: &Extra) -> String {
    let mut s = String::new();
    let ledger = read_ledger(ledger_path);
    let _ = writeln!(
        s,
        "# HELP labelstation_up Whether the ledger could be read for this scrape.\n# TYPE labelstation_up gauge\nlabelstation_up {}",
        u8::from(ledger.is_ok())
    );
    match ledger {
        Ok(body) => s.push_str(&body),
        Err(e) => {
            tracing::warn!(
                "metrics: cannot read the ledger {}: {e}",
                ledger_path.display()
            );
        }
    }
    for (name, value) in extra() {
        let name: String = name.chars().filter(|c| *c != '\n' && *c != '\r').collect();
        let _ = writeln!(s, "{name} {value}");
    }
    s
}

fn read_ledger(path: &Path) -> Result<String, StoreError> {
    // Read only: never creates the file, never changes it, and reads a WAL-mode ledger whether or not
    // the station has it open.
    let ledger = Ledger::open_read_only(path, "metrics", std::time::Duration::from_secs(2))?;
    let mut s = String::new();

    s.push_str("# HELP labelstation_codes Marking codes in the ledger, per product and state.\n# TYPE labelstation_codes gauge\n");
    for b in ledger.balance()? {
        for (state, n) in b.states.iter().filter(|(_, n)| **n > 0) {
            let _ = writeln!(
                s,
                "labelstation_codes{{gtin=\"{}\",state=\"{}\"}} {n}",
                label(&b.gtin),
                label(state)
            );
        }
    }

    s.push_str("# HELP labelstation_code_moves_total Codes that entered a state, per product (printed, verified, rejected, ...).\n# TYPE labelstation_code_moves_total counter\n");
    for m in ledger.moves_by_state()? {
        let _ = writeln!(
            s,
            "labelstation_code_moves_total{{gtin=\"{}\",to_state=\"{}\"}} {}",
            label(&m.gtin),
            label(&m.to_state),
            m.n
        );
    }

    let backlog = ledger.backlog()?;
    s.push_str("# HELP labelstation_outbox_queued Reports owed to the registry and not yet sent, per kind.\n# TYPE labelstation_outbox_queued gauge\n");
    for (kind, n) in [
        ("UTILISATION", backlog.utilisation_queued),
        ("WRITE_OFF", backlog.write_off_queued),
    ] {
        let _ = writeln!(s, "labelstation_outbox_queued{{kind=\"{kind}\"}} {n}");
    }
    let _ = writeln!(
        s,
        "# HELP labelstation_reports_in_flight Reports sent whose outcome is not known yet.\n# TYPE labelstation_reports_in_flight gauge\nlabelstation_reports_in_flight {}",
        backlog.reports_open
    );
    Ok(s)
}
