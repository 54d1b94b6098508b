// SPDX-License-Identifier: GPL-3.0-or-later
//! The registry simulator: a local HTTP server that speaks the xTrace API as documented (shared
//! research, registry API sections 3 and 7), for the demo, the tests and stations with no registry yet.
//!
//! It is as hard as the registry, not as kind as the client: bearer tokens that expire, `Accept` checked
//! (406 with an empty body), buffers that are PENDING before ACTIVE, packs whose answer can be asked for
//! again with the same `lastPackId` (the documented "repeat"), orders refused for GTINs it does not
//! know. Reports and documents are processed on the registry's own clock (`processing_delay`): until
//! then their status says IN_PROCESS and a code lookup says RECEIVED for their codes; then they are
//! applied whole or refused whole, for codes not issued, not RECEIVED or repeated (the reason naming
//! them, or not), or for a reason that names no code at all ([`Refusal`]: balance, business place).
//! Faults on demand ([`Faults`]): errors before anything is done, latency, 429 with `Retry-After`, and
//! after a change was committed: the answer lost, replaced by a proxy's 5xx (503, 520, 524 …) or made
//! unreadable (a numeric id, an empty 201, an HTML page). The code lookup may echo codes without their
//! crypto tail ([`LookupEcho`]); the document search finds documents (and application reports) by type
//! and time. It keeps its own record of every code (issued, applied, written off, applied twice, sent
//! again while still being processed), which tests compare the station's ledger against.
//!
//! One state, two APIs, in rooms by job: `settings` (how it behaves), `auth` (tokens), `orders` (xTrace
//! orders and packs), `reports` (application reports, the code lookup, the registry's clock),
//! `documents` (the document storage: write-off and import), `boxes` (aggregation and disaggregation),
//! `oms` (the older platform's API) and `persist` (the embedded simulator's state file); this file holds
//! the state, the running server, its routes and the faults every request passes.

// Handler helpers return the axum `Response` to send as their error: that is the idiom, and its size is
// irrelevant on a simulator's request path.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::json;

use crate::codes::Gtin;
use labelstation_registry::xtrace;

mod auth;
mod boxes;
use auth::{authenticate, authorised, refresh};
mod settings;
pub use settings::*;
mod reports;
use reports::{
    iso, lookup_codes, parse_iso, process_due, receive_report, refused_at_send, utilisation,
    utilisation_status,
};
mod orders;
use orders::{
    close_order, create_order, list_orders, list_packs, lose_create_answer, new_orders, searchable,
    sub_orders, take_codes, take_first,
};
mod documents;
use documents::{
    apply_import, apply_write_off, document_errors, document_json, document_search,
    document_status, import_document, receive_document, tailed, with_document, withdrawal,
};
mod oms;
mod persist;
use crate::codes::generate::CodeGenerator;
pub use boxes::SimAggregate;
use oms::{apply_utilisation, oms_router};
use persist::{load_state, lock_state_file, save_state};

/// The state of one code as the registry sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum SimCodeState {
    /// Issued to the participant ("Получен").
    Received,
    /// Reported as applied.
    Applied,
    WrittenOff,
    /// Put into circulation by an import document.
    Introduced,
}

/// Which document a simulated document is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum SimDocKind {
    /// A withdrawal (write-off).
    #[default]
    Withdrawal,
    /// An import notice: codes into circulation under a customs declaration.
    Import,
    /// Codes into boxes, boxes onto pallets (its units as JSON in its first "code").
    Aggregation,
    /// Boxes or pallets unpacked.
    Disaggregation,
}

impl SimDocKind {
    fn as_str(self) -> &'static str {
        match self {
            SimDocKind::Withdrawal => "WITHDRAWAL",
            SimDocKind::Import => "IMPORT",
            SimDocKind::Aggregation => "AGGREGATION",
            SimDocKind::Disaggregation => "TRANSPORT_CODE_DISAGGREGATION",
        }
    }
}

#[derive(Serialize, serde::Deserialize)]
struct Pack {
    id: String,
    codes: Vec<String>,
}

#[derive(Serialize, serde::Deserialize)]
struct Order {
    id: String,
    po_number: Option<String>,
    product_group: String,
    gtin: String,
    quantity: u32,
    issued: u32,
    polls: u32,
    rejected: Option<String>,
    closed: bool,
    packs: Vec<Pack>,
    /// When it was created (ms since the epoch), for the search lag.
    #[serde(default)]
    created_ms: i64,
    /// Creation order among all sub-orders.
    #[serde(default)]
    seq: usize,
}

/// An application report as received, and once processed, its outcome. Processed whole: any bad code
/// (or a refusal of the whole report) refuses every code in it.
#[derive(Serialize, serde::Deserialize)]
struct Report {
    #[serde(default)]
    polls: u32,
    /// The codes it carries, as sent.
    #[serde(default)]
    codes: Vec<String>,
    /// When it arrived and when it is processed (milliseconds since the epoch).
    #[serde(default)]
    created_ms: i64,
    #[serde(default)]
    due_ms: i64,
    /// `None` until processed.
    outcome: Option<Result<(), String>>,
    /// An oms-v2 aggregation report (its units as xTrace aggregation units, JSON, in `codes[0]`)
    /// rather than an application report.
    #[serde(default)]
    aggregation: bool,
    /// The request body as received (`GET /public/api/v1/doc/storage/json/{id}` answers it).
    #[serde(default)]
    body: String,
}

/// A document (withdrawal, import) as received, and once processed, its per-code errors (none:
/// accepted). A withdrawal is processed whole; an import takes the good codes and names the others
/// (PARTIALLY_PROCESSED), unless none is good or the document itself is refused (ERROR).
#[derive(Serialize, serde::Deserialize)]
struct Document {
    #[serde(default)]
    kind: SimDocKind,
    /// Some codes were taken although others were refused.
    #[serde(default)]
    partial: bool,
    #[serde(default)]
    polls: u32,
    /// Identification codes, in the document's order.
    #[serde(default)]
    codes: Vec<String>,
    #[serde(default)]
    created_ms: i64,
    #[serde(default)]
    due_ms: i64,
    /// `None` until processed.
    errors: Option<Vec<serde_json::Value>>,
    /// The envelope as received.
    #[serde(default)]
    body: String,
}

struct SimState {
    cfg: SimConfig,
    rng: CodeGenerator,
    tokens: HashMap<String, Instant>,
    refresh_tokens: HashSet<String>,
    orders: BTreeMap<String, Order>,
    codes: HashMap<String, SimCodeState>,
    /// Identification part (no crypto tail) → full code: documents name codes by it.
    idents: HashMap<String, String>,
    reports: HashMap<String, Report>,
    documents: HashMap<String, Document>,
    /// Boxes and pallets (18-digit SSCC → contents), what each code or box is in, and every SSCC ever
    /// aggregated (never to be used again).
    aggregates: HashMap<String, boxes::SimAggregate>,
    parent: HashMap<String, String>,
    ssccs_used: HashSet<String>,
    /// Codes (or boxes) put into a second box without unbundling them first.
    aggregated_twice: u64,
    /// Boxes broken up because a pair of theirs was introduced alone (the registry disbands an
    /// aggregate whose content is declared without it).
    aggregates_broken: u64,
    /// Codes that were sent in a report again after being applied (the station must never do this).
    reported_twice: u64,
    /// Codes written off again after a write-off (the station must never do this).
    written_off_twice: u64,
    /// Codes sent in an application report after they were written off (never, either).
    reported_after_write_off: u64,
    /// Codes sent in a report while an earlier report carrying them was still being processed.
    resent_while_pending: u64,
    /// Codes in an import document after they were introduced (the station must never do this).
    introduced_twice: u64,
    /// Documents refused because their JSON keys were not sorted A-Z, or because a code carried its
    /// crypto tail (the station must never send either).
    documents_unsorted: u64,
    documents_with_tails: u64,
    requests: u64,
    errors_injected: u64,
    answers_dropped: u64,
    /// Answers replaced by a 5xx or an unreadable 2xx after their change was committed.
    answers_garbled: u64,
    /// Requests answered 429, and those that came back before `Retry-After` said.
    throttled: u64,
    retry_after_ignored: u64,
    throttled_until: Option<Instant>,
    /// Answer 429 to the n-th report or document sent from now on (one-shot, for a test).
    throttle_report_in: Option<u32>,
    /// Paths (prefixes) answered 503 whatever is asked: an endpoint that is down.
    unavailable: Vec<String>,
    /// Application reports and documents received (each POST that reached a handler and was taken).
    reports_received: u64,
    documents_received: u64,
    /// Reports and documents refused as a whole (by [`Refusal`]).
    refused_whole: u64,
    /// Lookup requests, and codes asked about in them.
    lookups: u64,
    codes_looked_up: u64,
}

impl SimState {
    fn id(&mut self) -> String {
        let a = self.rng.below(u64::MAX);
        let b = self.rng.below(u64::MAX);
        let hex = format!("{a:016x}{b:016x}");
        format!(
            "{}-{}-4{}-a{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            &hex[17..20],
            &hex[20..32]
        )
    }

    /// Status polls a buffer answers PENDING; all of them while the orders are held pending.
    fn pending_polls(&self) -> u32 {
        if self.cfg.orders.hold_pending {
            u32::MAX
        } else {
            self.cfg.pending_polls
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.rng.below(1_000_000) as f64) < p * 1_000_000.0
    }
}

type Shared = Arc<Mutex<SimState>>;

fn lock(s: &Shared) -> MutexGuard<'_, SimState> {
    // A panic in a handler poisons the lock; the state itself stays consistent (each handler changes it
    // in one step), so keep serving.
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the simulator holds, for tests and the demo summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimSnapshot {
    pub issued: usize,
    pub applied: usize,
    pub written_off: usize,
    pub reported_twice: u64,
    pub written_off_twice: u64,
    pub reported_after_write_off: u64,
    /// Codes in circulation (import documents processed).
    pub introduced: usize,
    /// Codes in an import document after they were introduced.
    pub introduced_twice: u64,
    /// Documents refused for keys not in A-Z order, and for codes with a crypto tail.
    pub documents_unsorted: u64,
    pub documents_with_tails: u64,
    /// Boxes and pallets the registry knows, and codes put into a second box without unbundling.
    pub aggregates: usize,
    pub aggregated_twice: u64,
    pub aggregates_broken: u64,
    pub orders: usize,
    pub open_orders: usize,
    pub requests: u64,
    /// Requests answered with an injected error.
    pub errors_injected: u64,
    /// Answers dropped after their change was committed.
    pub answers_dropped: u64,
    /// Answers replaced by a 5xx or an unreadable 2xx after their change was committed.
    pub answers_garbled: u64,
    /// Codes sent in a report while an earlier report carrying them was still being processed.
    pub resent_while_pending: u64,
    /// Requests answered 429, and requests that came back before the `Retry-After` they were given.
    pub throttled: u64,
    pub retry_after_ignored: u64,
    /// Application reports and documents taken (each one a POST that reached the registry).
    pub reports_received: u64,
    pub documents_received: u64,
    /// Reports and documents refused as a whole (a [`Refusal`]).
    pub refused_whole: u64,
    /// Reports and documents received but not processed yet.
    pub pending: usize,
    /// Lookup requests and the codes asked about in them.
    pub lookups: u64,
    pub codes_looked_up: u64,
}

/// An application report as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimReport {
    pub codes: Vec<String>,
    pub created_ms: i64,
    /// `None` while being processed.
    pub outcome: Option<Result<(), String>>,
    /// The request body as received (its `releaseType`, `manufacturerCountry` …).
    pub body: String,
}

/// A running simulator. Stops when dropped.
pub struct RegistrySim {
    state: Shared,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Held while running with a state file: one simulator per state file.
    _state_lock: Option<std::fs::File>,
}

impl std::fmt::Debug for RegistrySim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrySim")
            .field("addr", &self.addr)
            .finish()
    }
}

impl RegistrySim {
    /// Listen on `listen` (port 0 picks a free port) and serve on a thread of its own.
    pub fn start(listen: SocketAddr, cfg: SimConfig) -> std::io::Result<RegistrySim> {
        let state_lock = cfg.state_file.as_deref().map(lock_state_file).transpose()?;
        let loaded = match &cfg.state_file {
            Some(path) => load_state(path)?,
            None => None,
        };
        let std_listener = std::net::TcpListener::bind(listen)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        // A simulator that resumes a saved state draws from a fresh seed, so it does not replay serials.
        let seed = match &loaded {
            Some(p) => {
                cfg.seed ^ (crate::ledger::now_ms() as u64).rotate_left(17) ^ p.codes.len() as u64
            }
            None => cfg.seed,
        };
        let state: Shared = Arc::new(Mutex::new(SimState {
            rng: CodeGenerator::new(seed).with_crypto_len(cfg.crypto_len),
            cfg,
            tokens: HashMap::new(),
            refresh_tokens: HashSet::new(),
            orders: BTreeMap::new(),
            codes: HashMap::new(),
            idents: HashMap::new(),
            reports: HashMap::new(),
            documents: HashMap::new(),
            aggregates: HashMap::new(),
            parent: HashMap::new(),
            ssccs_used: HashSet::new(),
            aggregated_twice: 0,
            aggregates_broken: 0,
            reported_twice: 0,
            written_off_twice: 0,
            reported_after_write_off: 0,
            resent_while_pending: 0,
            introduced_twice: 0,
            documents_unsorted: 0,
            documents_with_tails: 0,
            requests: 0,
            errors_injected: 0,
            answers_dropped: 0,
            answers_garbled: 0,
            throttled: 0,
            retry_after_ignored: 0,
            throttled_until: None,
            throttle_report_in: None,
            unavailable: Vec::new(),
            reports_received: 0,
            documents_received: 0,
            refused_whole: 0,
            lookups: 0,
            codes_looked_up: 0,
        }));
        if let Some(p) = loaded {
            lock(&state).restore(p);
        }
        let app = match lock(&state).cfg.api {
            SimApi::Xtrace => router(state.clone()),
            SimApi::OmsV2 => oms_router(state.clone()),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("registry-sim")
            .build()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("registry-sim".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    let server = axum::serve(listener, app).with_graceful_shutdown(async {
                        let _ = rx.await;
                    });
                    if let Err(e) = server.await {
                        tracing::error!("registry simulator stopped: {e}");
                    }
                });
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(std::io::Error::other(
                    "registry simulator thread died on start",
                ));
            }
        }
        Ok(RegistrySim {
            state,
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
            _state_lock: state_lock,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL for a client.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_faults(&self, faults: Faults) {
        lock(&self.state).cfg.faults = faults;
    }

    pub fn set_order_faults(&self, faults: OrderFaults) {
        lock(&self.state).cfg.orders = faults;
    }

    /// Every sub-order (one per order and GTIN), oldest first.
    pub fn orders(&self) -> Vec<SimOrder> {
        let s = lock(&self.state);
        let mut out: Vec<(usize, SimOrder)> = s
            .orders
            .values()
            .map(|o| {
                (
                    o.seq,
                    SimOrder {
                        id: o.id.clone(),
                        key: o.po_number.clone(),
                        gtin: o.gtin.clone(),
                        quantity: o.quantity,
                        issued: o.issued,
                        closed: o.closed,
                        rejected: o.rejected.clone(),
                    },
                )
            })
            .collect();
        out.sort_by_key(|(at, _)| *at);
        out.into_iter().map(|(_, o)| o).collect()
    }

    /// Refuse whole reports and documents from now on (`None`: stop refusing). Reports already received
    /// but not processed yet are refused too if they are processed while it is set.
    pub fn set_refusal(&self, refusal: Option<Refusal>) {
        lock(&self.state).cfg.refusal = refusal;
    }

    /// Answer 429 (with `Retry-After`) to the `n`-th application report or document sent from now on
    /// (1: the next one).
    pub fn throttle_report(&self, n: u32) {
        lock(&self.state).throttle_report_in = Some(n.max(1));
    }

    /// Answer 503 to every request whose path starts with one of `prefixes` (empty: none), e.g. the code
    /// lookup and the document storage, to leave a report that cannot be settled.
    pub fn set_unavailable(&self, prefixes: &[&str]) {
        lock(&self.state).unavailable = prefixes.iter().map(|p| (*p).to_owned()).collect();
    }

    /// Every application report received, oldest first: its codes and, once processed, its outcome.
    pub fn reports(&self) -> Vec<SimReport> {
        let mut s = lock(&self.state);
        process_due(&mut s);
        let mut out: Vec<SimReport> = s
            .reports
            .values()
            .map(|r| SimReport {
                codes: r.codes.clone(),
                created_ms: r.created_ms,
                outcome: r.outcome.clone(),
                body: r.body.clone(),
            })
            .collect();
        out.sort_by_key(|r| r.created_ms);
        out
    }

    /// Change the processing delay (reports already received keep the time they were given).
    pub fn set_processing_delay(&self, delay: Duration) {
        lock(&self.state).cfg.processing_delay = delay;
    }

    /// How many reports (application) each code was carried in that the registry took, by code: the
    /// independent record a test compares the station's ledger with.
    pub fn applications(&self) -> HashMap<String, u32> {
        let mut s = lock(&self.state);
        process_due(&mut s);
        let mut out: HashMap<String, u32> = HashMap::new();
        for r in s.reports.values() {
            if r.outcome == Some(Ok(())) {
                for c in &r.codes {
                    *out.entry(c.clone()).or_default() += 1;
                }
            }
        }
        out
    }

    /// Make every access token issued so far expire now (as if 30 minutes had passed).
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for t in lock(&self.state).tokens.values_mut() {
            *t = now;
        }
    }

    pub fn snapshot(&self) -> SimSnapshot {
        let mut s = lock(&self.state);
        process_due(&mut s);
        let count = |st| s.codes.values().filter(|v| **v == st).count();
        SimSnapshot {
            issued: s.codes.len(),
            applied: count(SimCodeState::Applied),
            written_off: count(SimCodeState::WrittenOff),
            reported_twice: s.reported_twice,
            written_off_twice: s.written_off_twice,
            reported_after_write_off: s.reported_after_write_off,
            introduced: count(SimCodeState::Introduced),
            introduced_twice: s.introduced_twice,
            documents_unsorted: s.documents_unsorted,
            documents_with_tails: s.documents_with_tails,
            aggregates: s.aggregates.len(),
            aggregated_twice: s.aggregated_twice,
            aggregates_broken: s.aggregates_broken,
            orders: s.orders.len(),
            open_orders: s
                .orders
                .values()
                .filter(|o| !o.closed && o.rejected.is_none())
                .count(),
            requests: s.requests,
            errors_injected: s.errors_injected,
            answers_dropped: s.answers_dropped,
            answers_garbled: s.answers_garbled,
            resent_while_pending: s.resent_while_pending,
            throttled: s.throttled,
            retry_after_ignored: s.retry_after_ignored,
            reports_received: s.reports_received,
            documents_received: s.documents_received,
            refused_whole: s.refused_whole,
            pending: s.reports.values().filter(|r| r.outcome.is_none()).count()
                + s.documents.values().filter(|d| d.errors.is_none()).count(),
            lookups: s.lookups,
            codes_looked_up: s.codes_looked_up,
        }
    }

    /// Every code issued, with its state.
    pub fn codes(&self) -> HashMap<String, SimCodeState> {
        let mut s = lock(&self.state);
        process_due(&mut s);
        s.codes.clone()
    }
}

impl Drop for RegistrySim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/users/authenticate", post(authenticate))
        .route("/api/users/tokens/refresh", post(refresh))
        .route("/api/orders", post(create_order).get(list_orders))
        .route("/api/orders/sub-orders", get(sub_orders))
        .route("/api/codes", get(take_codes))
        .route("/api/codes/packs", get(list_packs))
        .route("/api/order/close", post(close_order))
        .route("/api/utilisation", post(utilisation))
        .route("/api/utilisation/{id}", get(utilisation_status))
        .route("/public/api/cod/public/codes", post(lookup_codes))
        .route("/public/api/v1/doc/withdrawal", post(withdrawal))
        .route("/public/api/v1/doc/import", post(import_document))
        .route(
            "/public/api/v1/doc/aggregation",
            post(boxes::aggregation_document),
        )
        .route(
            "/public/api/v1/doc/transport-code-disaggregation",
            post(boxes::disaggregation_document),
        )
        .route(
            "/public/api/v1/doc/storage/docs/search",
            get(document_search),
        )
        .route("/public/api/v1/doc/storage/docs/{id}", get(document_status))
        .route("/public/api/v1/doc/storage/json/{id}", get(document_json))
        .route(
            "/public/api/v1/doc/storage/errors/{id}",
            get(document_errors),
        )
        .layer(middleware::from_fn_with_state(state.clone(), faults))
        .with_state(state)
}

/// Every request passes here: count, `Accept` check, latency, throttling, injected errors, the
/// processing of reports whose time has come, and what happens to an answer after its change was
/// committed (lost, replaced by a proxy's 5xx, or unreadable).
async fn faults(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let auth = path.starts_with("/api/users/");
    let changes = !auth
        && ((req.method() == axum::http::Method::POST && !path.starts_with("/public/api/cod/"))
            || path == "/api/codes"
            || (path.starts_with("/api/v2/") && path.ends_with("/codes")));
    let (f, xtrace, throttle) = {
        let mut s = lock(&state);
        s.requests += 1;
        let f = s.cfg.faults.clone();
        let now = Instant::now();
        // A client that comes back before the Retry-After it was given is throttled again.
        let report_post = req.method() == axum::http::Method::POST
            && (path == "/api/utilisation"
                || path.starts_with("/public/api/v1/doc/")
                || (path.starts_with("/api/v2/") && path.ends_with("/utilisation")));
        let nth = match s.throttle_report_in {
            Some(n) if report_post => {
                s.throttle_report_in = (n > 1).then(|| n - 1);
                n == 1
            }
            _ => false,
        };
        let until = s.throttled_until;
        let throttle = match until {
            _ if nth => {
                let wait = f.retry_after.max(Duration::from_secs(1));
                s.throttled_until = Some(now + wait);
                Some(wait)
            }
            Some(until) if now < until && !auth => {
                s.retry_after_ignored += 1;
                Some(until - now)
            }
            _ if !auth && s.chance(f.throttle_rate) => {
                let wait = f.retry_after.max(Duration::from_secs(1));
                s.throttled_until = Some(now + wait);
                Some(wait)
            }
            _ => None,
        };
        s.throttled += u64::from(throttle.is_some());
        (f, s.cfg.api == SimApi::Xtrace, throttle)
    };
    let accepts = req
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("*/*"));
    if !accepts && xtrace {
        return StatusCode::NOT_ACCEPTABLE.into_response();
    }
    if !f.latency.is_zero() {
        tokio::time::sleep(f.latency).await;
    }
    if let Some(wait) = throttle {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut r = (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({ "status": 429, "error": "Too Many Requests", "message": "rate limit exceeded" })),
        )
            .into_response();
        if let Ok(v) = header::HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let fail = {
        let mut s = lock(&state);
        let down = s.unavailable.iter().any(|p| path.starts_with(p.as_str()));
        let fail = down || s.chance(f.error_rate);
        s.errors_injected += u64::from(fail);
        process_due(&mut s);
        fail
    };
    if fail {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": 503, "error": "Service Unavailable", "message": "simulated outage" })),
        )
            .into_response();
    }
    let resp = next.run(req).await;
    if !(changes && resp.status().is_success()) {
        return resp;
    }
    // Saved before the answer goes out: an answer the client saw is never forgotten.
    let after = {
        let mut s = lock(&state);
        if let Some(path) = &s.cfg.state_file
            && let Err(e) = save_state(&s, path)
        {
            tracing::error!(
                "registry simulator: cannot save its state to {}: {e}",
                path.display()
            );
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the simulator could not save its state; see its log",
            );
        }
        // One fate per answer: lost, replaced by a proxy's 5xx, garbled, or delivered.
        if s.chance(f.drop_after_commit_rate) {
            s.answers_dropped += 1;
            AfterCommit::Drop
        } else if s.chance(f.error_after_commit_rate) {
            s.answers_garbled += 1;
            const PROXY: [u16; 6] = [500, 502, 503, 504, 520, 524];
            let list: &[u16] = if f.after_commit_statuses.is_empty() {
                &PROXY
            } else {
                &f.after_commit_statuses
            };
            AfterCommit::ProxyError(list[s.rng.below(list.len() as u64) as usize])
        } else if s.chance(f.garbled_after_commit_rate) {
            s.answers_garbled += 1;
            AfterCommit::Garble(s.rng.below(3))
        } else {
            AfterCommit::Deliver
        }
    };
    match after {
        AfterCommit::Deliver => resp,
        AfterCommit::Drop => {
            // The change is committed; the answer is lost mid-body, as when a link drops.
            let (parts, _) = resp.into_parts();
            let mut r = Response::from_parts(parts, broken_body());
            r.headers_mut().remove(header::CONTENT_LENGTH);
            r
        }
        AfterCommit::ProxyError(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
            let page = format!(
                "<html><head><title>{code}</title></head><body><h1>Error {code}</h1><p>The origin web server timed out.</p></body></html>"
            );
            (status, [(header::CONTENT_TYPE, "text/html")], page).into_response()
        }
        AfterCommit::Garble(kind) => garble(resp, kind).await,
    }
}

/// What becomes of the answer to a committed change.
enum AfterCommit {
    Deliver,
    Drop,
    ProxyError(u16),
    Garble(u64),
}

/// A committed change's answer made unreadable: (0) every id a number instead of the documented string,
/// (1) an empty 201, (2) a proxy's HTML page with 200.
async fn garble(resp: Response, kind: u64) -> Response {
    match kind {
        0 => {
            let (parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
                .await
                .unwrap_or_default();
            let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(json!({}));
            if let serde_json::Value::Object(map) = &mut v {
                for (k, val) in map.iter_mut() {
                    if k.ends_with("Id") {
                        let digits: String = val
                            .as_str()
                            .unwrap_or_default()
                            .chars()
                            .filter(char::is_ascii_digit)
                            .take(9)
                            .collect();
                        *val = json!(digits.parse::<u64>().unwrap_or(7));
                    }
                }
            }
            let mut r = Response::from_parts(parts, Body::from(v.to_string()));
            r.headers_mut().remove(header::CONTENT_LENGTH);
            r
        }
        1 => StatusCode::CREATED.into_response(),
        _ => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html")],
            "<!DOCTYPE html><html><body><p>Request accepted. Thank you for your patience.</p></body></html>",
        )
            .into_response(),
    }
}

/// A body that fails after its headers were sent, so the client sees a broken answer.
fn broken_body() -> Body {
    Body::from_stream(futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "simulated lost answer",
        ))
    }))
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "globalErrors": [message] }))).into_response()
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("malformed JSON: {e}")))
}
