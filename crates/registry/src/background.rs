// SPDX-License-Identifier: GPL-3.0-or-later
//! The sync engine in the background of the station: a thread that runs [`Syncer::once`] every interval
//! (sooner when nudged), watches the link, and backs off with jitter after a failed pass — the link down
//! or the registry busy, but also an error that is not the link's (a product without a country, a
//! refused account), which would only repeat at the normal interval — waiting at least what the
//! registry's `Retry-After` asked for.
//!
//! It holds the data dir's sync claim (`StationLock::acquire_sync`, the same as `labelstation sync` and
//! the supervisor's `review settle`/`resend`) during each pass, so two syncs never settle the same
//! report and a supervisor never settles one being sent; between passes the claim is free. While another
//! process holds it, the runner says so in its state and tries again later. Its ledger connection waits for the engine's writer (the ledger's busy
//! timeout) instead of failing. Each pass is recorded in the ledger (`Ledger::record_sync`), so
//! `Ledger::sync_status` shows it to any process. Memory is bounded: one report batch at a time.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::client::{Registry, RegistryError};
use super::sync::{SyncError, SyncEvent, SyncOptions, SyncReport, Syncer};
use crate::ledger::{Actor, Ledger, StationLock, StoreError, now_ms};

/// Makes a registry client for the runner (again after a failure, for a fresh connection and login).
pub type ClientFactory = Box<dyn Fn() -> Result<Box<dyn Registry>, RegistryError> + Send>;

/// Whether the registry answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum LinkState {
    /// No pass has finished yet.
    Unknown,
    Up,
    Down {
        since_ms: i64,
        error: String,
    },
}

/// What the UI and the CLI show. Cheap to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncState {
    pub link: LinkState,
    /// Codes waiting to be reported or written off.
    pub backlog: u64,
    /// Reports sent (or being sent) whose outcome is not known yet.
    pub in_flight_reports: u64,
    /// Write-offs refused or not supported by the registry: a supervisor's turn.
    pub needs_supervisor: u64,
    /// Reports the registry refused as a whole, held for a supervisor (no more of their kind are sent
    /// until one is sent again).
    pub held_reports: u64,
    pub last_success_ms: Option<i64>,
    pub last_error: Option<String>,
    /// Passes run since the runner started.
    pub passes: u64,
}

struct Wake {
    stop: bool,
    nudged: bool,
}

struct Inner {
    state: Mutex<SyncState>,
    wake: Mutex<Wake>,
    cv: Condvar,
    cancel: Arc<AtomicBool>,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The runner never leaves these half-updated; a panic elsewhere must not stop the UI reading them.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The background sync runner. Stops (and joins its thread) on [`Background::stop`] or when dropped.
pub struct Background {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background")
            .field("state", &self.state())
            .finish()
    }
}

impl Background {
    /// Start the runner on the ledger at `ledger_path` (its directory is the data dir whose sync claim it
    /// takes). `interval` is the pause between passes while the link is up; while it is down, passes
    /// back off from half the interval to eight intervals, with jitter.
    pub fn spawn(
        ledger_path: &Path,
        station: &str,
        make_client: ClientFactory,
        opts: SyncOptions,
        interval: Duration,
    ) -> std::io::Result<Background> {
        let cancel = Arc::new(AtomicBool::new(false));
        let inner = Arc::new(Inner {
            state: Mutex::new(SyncState {
                link: LinkState::Unknown,
                backlog: 0,
                in_flight_reports: 0,
                needs_supervisor: 0,
                held_reports: 0,
                last_success_ms: None,
                last_error: None,
                passes: 0,
            }),
            wake: Mutex::new(Wake {
                stop: false,
                nudged: false,
            }),
            cv: Condvar::new(),
            cancel: cancel.clone(),
        });
        let runner = Runner {
            inner: inner.clone(),
            ledger_path: ledger_path.to_path_buf(),
            station: station.to_owned(),
            make_client,
            opts: SyncOptions {
                cancel: Some(cancel),
                ..opts
            },
            interval: interval.max(Duration::from_millis(10)),
            ledger: None,
            client: None,
            failures: 0,
        };
        let thread = std::thread::Builder::new()
            .name("registry-sync".into())
            .spawn(move || runner.run())?;
        Ok(Background {
            inner,
            thread: Some(thread),
        })
    }

    pub fn state(&self) -> SyncState {
        guard(&self.inner.state).clone()
    }

    /// Run a pass soon (e.g. after a verification). While the link is down the backoff still applies.
    pub fn nudge(&self) {
        guard(&self.inner.wake).nudged = true;
        self.inner.cv.notify_all();
    }

    /// Stop after the current step (a report being polled is left to the next start) and join.
    pub fn stop(&mut self) {
        self.inner.cancel.store(true, Ordering::Relaxed);
        guard(&self.inner.wake).stop = true;
        self.inner.cv.notify_all();
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("registry sync: the runner thread panicked");
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Runner {
    inner: Arc<Inner>,
    ledger_path: PathBuf,
    station: String,
    make_client: ClientFactory,
    opts: SyncOptions,
    interval: Duration,
    ledger: Option<Ledger>,
    client: Option<Box<dyn Registry>>,
    failures: u32,
}

/// What went wrong in a pass, whether it means the link is down, and how long the registry asked to
/// be left alone.
struct PassError {
    text: String,
    link_down: bool,
    retry_after: Option<Duration>,
}

impl Runner {
    fn run(mut self) {
        let actor = Actor::system("sync");
        loop {
            if guard(&self.inner.wake).stop {
                break;
            }
            let result = self.pass(&actor);
            self.publish(&result);
            let (failed, down, retry_after) = match &result {
                Ok(_) => (false, false, None),
                Err(e) => (true, e.link_down, e.retry_after),
            };
            if failed {
                self.failures = self.failures.saturating_add(1);
            } else {
                self.failures = 0;
            }
            if down {
                // A fresh client next time: new connection, new login.
                self.client = None;
            }
            if !self.wait(failed, retry_after) {
                break;
            }
        }
        // The connection is released here, when the thread ends.
    }

    fn pass(&mut self, actor: &Actor) -> Result<SyncReport, PassError> {
        let store = |e: StoreError| PassError {
            link_down: false,
            text: e.to_string(),
            retry_after: None,
        };
        let dir = self
            .ledger_path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // Held for this pass only: between passes a supervisor may settle or re-send a report.
        let _claim = StationLock::acquire_sync(dir).map_err(store)?;
        if self.ledger.is_none() {
            self.ledger = Some(Ledger::open(&self.ledger_path, &self.station).map_err(store)?);
        }
        if self.client.is_none() {
            self.client = Some((self.make_client)().map_err(|e| PassError {
                link_down: false,
                text: e.to_string(),
                retry_after: None,
            })?);
        }
        let (Some(ledger), Some(client)) = (self.ledger.as_mut(), self.client.as_mut()) else {
            return Err(PassError {
                link_down: false,
                text: "internal: sync runner not set up".into(),
                retry_after: None,
            });
        };
        let backlog = ledger.backlog().map_err(store)?;
        let result =
            if backlog.utilisation_queued + backlog.write_off_queued + backlog.reports_open == 0 {
                // Nothing to send: ask the registry anyway, so the link state is true.
                client
                    .ping()
                    .map(|()| SyncReport {
                        backlog,
                        ..SyncReport::default()
                    })
                    .map_err(SyncError::from)
            } else {
                Syncer {
                    ledger,
                    registry: client.as_mut(),
                    opts: self.opts.clone(),
                    actor,
                }
                .once(&mut |e| log_event(&e))
            };
        let recorded = match &result {
            Ok(_) => ledger.record_sync(Ok(())),
            Err(SyncError::Cancelled) => Ok(()),
            Err(e) => ledger.record_sync(Err((&e.to_string(), e.is_transient()))),
        };
        if let Err(e) = recorded {
            tracing::warn!("registry sync: cannot record the pass in the ledger: {e}");
        }
        result.map_err(|e| PassError {
            link_down: e.is_transient(),
            retry_after: e.retry_after(),
            text: e.to_string(),
        })
    }

    fn publish(&mut self, result: &Result<SyncReport, PassError>) {
        let backlog = self.ledger.as_ref().and_then(|l| l.backlog().ok());
        let mut st = guard(&self.inner.state);
        st.passes += 1;
        match result {
            Ok(_) => {
                st.link = LinkState::Up;
                st.last_success_ms = Some(now_ms());
            }
            Err(e) if e.link_down => {
                if !matches!(st.link, LinkState::Down { .. }) {
                    tracing::warn!("registry link down: {}", e.text);
                    st.link = LinkState::Down {
                        since_ms: now_ms(),
                        error: e.text.clone(),
                    };
                } else if let LinkState::Down { error, .. } = &mut st.link {
                    error.clone_from(&e.text);
                }
                st.last_error = Some(e.text.clone());
            }
            Err(e) => {
                tracing::warn!("registry sync: {}", e.text);
                st.last_error = Some(e.text.clone());
            }
        }
        if let Some(b) = backlog {
            st.backlog = b.utilisation_queued + b.write_off_queued;
            st.in_flight_reports = b.reports_open;
            st.needs_supervisor = b.write_off_refused;
            st.held_reports = b.reports_held;
        }
    }

    /// Wait for the next pass; `false` when asked to stop. After a failed pass the wait grows from half
    /// the interval to eight intervals, with jitter, and is at least what the registry asked for.
    fn wait(&self, failed: bool, retry_after: Option<Duration>) -> bool {
        let pause = if failed {
            let steps = self.failures.saturating_sub(1).min(4);
            let base = (self.interval / 2).saturating_mul(1 << steps);
            let cap = self.interval.saturating_mul(8);
            base.min(cap).mul_f64(0.5 + jitter() / 2.0)
        } else {
            self.interval
        };
        let pause = retry_after.map_or(pause, |r| pause.max(r));
        let deadline = std::time::Instant::now() + pause;
        let mut w = guard(&self.inner.wake);
        loop {
            if w.stop {
                return false;
            }
            if w.nudged && !failed {
                w.nudged = false;
                return true;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                w.nudged = false;
                return true;
            }
            w = self
                .inner
                .cv
                .wait_timeout(w, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }
}

/// 0.0 to 1.0, from the clock: enough to spread the retries of many stations.
fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1000) / 1000.0
}

fn log_event(e: &SyncEvent) {
    tracing::info!("registry sync: {e:?}");
}

/// Record a pass of `labelstation sync` in the ledger, as the runner does, for `Ledger::sync_status`.
pub fn record_pass(
    ledger: &mut Ledger,
    result: &Result<SyncReport, SyncError>,
) -> Result<(), StoreError> {
    match result {
        Ok(_) => ledger.record_sync(Ok(())),
        Err(e) => ledger.record_sync(Err((&e.to_string(), e.is_transient()))),
    }
}
