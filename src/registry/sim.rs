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

use super::xtrace;
use crate::codes::Gtin;

mod boxes;
use crate::codes::generate::CodeGenerator;
pub use boxes::SimAggregate;

/// What goes wrong on purpose.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Share of requests answered 503 before doing anything (0.0 to 1.0).
    pub error_rate: f64,
    /// Delay before each answer.
    pub latency: Duration,
    /// Share of changing requests (POSTs, code issue) whose change is committed but whose answer is lost:
    /// the connection breaks in the middle of the body.
    pub drop_after_commit_rate: f64,
    /// Share of changing requests whose change is committed and answered with a 5xx from "a proxy in
    /// between": 500, 502, 503, 504, 520 or 524, as a CDN or gateway does when the registry was slow.
    pub error_after_commit_rate: f64,
    /// The statuses such a proxy answers with, drawn at random; empty: 500, 502, 503, 504, 520 and 524.
    pub after_commit_statuses: Vec<u16>,
    /// Share of changing requests whose change is committed and answered 2xx with a body the client
    /// cannot read: a numeric id where the API documents a UUID string, an empty 201, or a proxy's HTML
    /// page with 200.
    pub garbled_after_commit_rate: f64,
    /// Share of requests answered 429 with `Retry-After` before doing anything. A request that comes
    /// back before the time given is counted (`SimSnapshot::retry_after_ignored`) and answered 429 again.
    pub throttle_rate: f64,
    /// What `Retry-After` says (whole seconds, at least 1).
    pub retry_after: Duration,
}

/// How the code lookup (`/public/api/cod/public/codes`) echoes the codes it was asked about. The
/// registry's document shows the identification code alone (`01…21…`) in its example answer; what it
/// echoes for a full code is not documented, so the simulator can answer in any of these forms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum LookupEcho {
    /// The code exactly as it was asked about.
    #[default]
    AsAsked,
    /// The identification code only (`01` GTIN `21` serial), without separators or crypto tail.
    Identification,
    /// The full code with its GS separators written as the six characters `\u001d`.
    EscapedSeparators,
}

/// The layout of the code lookup's answer, which the registry's document shows for one code only (an
/// object with `code` and `status`): a list of those, or wrapped in an object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum LookupLayout {
    /// `[{"code": …, "status": …}, …]`.
    #[default]
    List,
    /// `{"codes": [{"code": …, "status": …}, …]}`.
    Wrapped,
}

/// A refusal of whole reports and documents, for a reason that names no code (the participant's
/// balance, business place, country): every report processed while it is set is refused with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
    /// Refuse at once with 400 when the report is sent, rather than when it is processed.
    pub at_send: bool,
}

impl Refusal {
    /// Refused when processed (the registry's usual way: the POST is answered, the status says ERROR).
    pub fn when_processed(reason: impl Into<String>) -> Refusal {
        Refusal {
            reason: reason.into(),
            at_send: false,
        }
    }
}

/// The hard cases of ordering codes, as a real registry shows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderFaults {
    /// Refuse the next create requests outright (400), one reason each, in order: a refusal of the order
    /// as a whole (balance, business place, contract), unrelated to its GTIN.
    pub refuse: Vec<String>,
    /// Accept the next orders, then decline them (their buffer turns REJECTED), one reason each.
    pub decline: Vec<String>,
    /// The next N orders are created, but the answer to the create request is lost mid-body.
    pub lose_create_answers: u32,
    /// The next N answers of xTrace `GET /api/codes` (a new pack or a repeat) are lost mid-body after
    /// the pack was issued: the codes are the station's, but it has not seen them.
    pub lose_pack_answers: u32,
    /// How the order search answers (xTrace `GET /api/orders?poNumber=`, oms-v2 `GET /orders`).
    pub search: OrderSearch,
    /// xTrace: whether listed orders carry their `poNumber` (the description does not say).
    pub echo_po_number: bool,
    /// A new order shows in searches only after this long: the registry creates orders asynchronously.
    pub search_lag: Duration,
    /// Every buffer stays PENDING while this is set: the registry is still making the codes.
    pub hold_pending: bool,
}

/// How the registry's order search answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OrderSearch {
    /// The orders asked for.
    #[default]
    Faithful,
    /// The filter is ignored: every order of every key.
    IgnoresKey,
    /// Someone else's order is answered as the one asked for (xTrace: the newest other order, under
    /// the `poNumber` asked for; oms-v2: each order listed under the next order's `productionOrderId`).
    Misdirected,
}

impl std::str::FromStr for OrderSearch {
    type Err = String;
    fn from_str(s: &str) -> Result<OrderSearch, String> {
        match s {
            "faithful" => Ok(OrderSearch::Faithful),
            "ignores-key" => Ok(OrderSearch::IgnoresKey),
            "misdirected" => Ok(OrderSearch::Misdirected),
            other => Err(format!(
                "unknown order search {other:?}: use faithful, ignores-key or misdirected"
            )),
        }
    }
}

/// One order as the simulator holds it, for tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimOrder {
    pub id: String,
    pub key: Option<String>,
    pub gtin: String,
    pub quantity: u32,
    /// Codes handed out.
    pub issued: u32,
    pub closed: bool,
    pub rejected: Option<String>,
}

/// How the simulated registry behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub login: String,
    pub password: String,
    /// Lifetime of access tokens (the registry's is 30 minutes).
    pub token_ttl: Duration,
    /// Status polls a new buffer answers PENDING before it turns ACTIVE.
    pub pending_polls: u32,
    /// Length of the crypto tails it issues (44 or 88).
    pub crypto_len: usize,
    /// GTINs it accepts orders for; `None` accepts any valid GTIN.
    pub known_gtins: Option<HashSet<String>>,
    /// Status polls a report answers IN_PROCESS at least, even once it is processed.
    pub report_polls: u32,
    /// Time from a report's (or document's) arrival to its processing. Until then its status says
    /// IN_PROCESS and a code lookup still says RECEIVED for its codes: nothing is applied yet.
    pub processing_delay: Duration,
    /// How the code lookup echoes codes, and the layout of its answer.
    pub lookup_echo: LookupEcho,
    pub lookup_layout: LookupLayout,
    /// Codes one lookup may ask about (the registry's `COD_READER_SEARCH_CODES_BY_IDS_MAX_COUNT`, value not
    /// published); more are refused with 400.
    pub lookup_max: usize,
    /// Whether the document search lists application reports (type UTILISATION) besides documents.
    pub search_lists_utilisation: bool,
    /// Refuse whole reports and documents (switch with [`RegistrySim::set_refusal`]).
    pub refusal: Option<Refusal>,
    /// Whether a refused report's reason names the codes at fault (and a refused document's errors give
    /// their index). Without it the station can only find them by sending smaller reports.
    pub refusals_name_codes: bool,
    pub faults: Faults,
    /// The hard cases of ordering codes.
    pub orders: OrderFaults,
    /// Seed of codes, ids and fault draws, so a run can be replayed.
    pub seed: u64,
    /// Which API it speaks.
    pub api: SimApi,
    /// Keep the state (orders, codes and their states, reports) in this JSON file, loaded on start and
    /// rewritten atomically (0600) before each change is answered: the embedded simulator outlives one
    /// command. `None`: in memory only.
    pub state_file: Option<std::path::PathBuf>,
    /// oms-v2: the omsId and clientToken it accepts, and the product extension in its paths.
    pub oms_id: String,
    pub client_token: String,
    pub extension: String,
}

/// The API a simulator speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum SimApi {
    /// markirovka.kz xTrace ICOM API.
    Xtrace,
    /// The older platform's code-ordering API v2.
    OmsV2,
}

impl std::str::FromStr for SimApi {
    type Err = String;
    fn from_str(s: &str) -> Result<SimApi, String> {
        match s {
            "xtrace" => Ok(SimApi::Xtrace),
            "oms-v2" => Ok(SimApi::OmsV2),
            other => Err(format!(
                "unknown registry API {other:?}: use xtrace or oms-v2"
            )),
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            login: "station".into(),
            password: "station".into(),
            token_ttl: Duration::from_secs(30 * 60),
            pending_polls: 1,
            crypto_len: 44,
            known_gtins: None,
            report_polls: 1,
            processing_delay: Duration::ZERO,
            lookup_echo: LookupEcho::AsAsked,
            lookup_layout: LookupLayout::List,
            lookup_max: 1000,
            search_lists_utilisation: true,
            refusal: None,
            refusals_name_codes: true,
            faults: Faults::default(),
            orders: OrderFaults::default(),
            seed: 1,
            api: SimApi::Xtrace,
            state_file: None,
            oms_id: "cc7e2a41-5f3b-4d0e-9a57-3d1c0b6a2e10".into(),
            client_token: "sim-client-token".into(),
            extension: "shoes".into(),
        }
    }
}

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
                cfg.seed ^ (crate::store::now_ms() as u64).rotate_left(17) ^ p.codes.len() as u64
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

fn issue_tokens(s: &mut SimState) -> serde_json::Value {
    let access = s.id();
    let refresh = s.id();
    let ttl = s.cfg.token_ttl;
    s.tokens.insert(access.clone(), Instant::now() + ttl);
    s.refresh_tokens.insert(refresh.clone());
    json!({
        "accessToken": access,
        "accessTokenType": "BEARER",
        "accessTokenExpiresIn": ttl.as_millis().to_string(),
        "refreshToken": refresh,
    })
}

async fn authenticate(State(state): State<Shared>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct Login {
        login: String,
        password: String,
    }
    let l: Login = match parse(&body) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let mut s = lock(&state);
    if l.login != s.cfg.login || l.password != s.cfg.password {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "error_message": "bad credentials" })),
        )
            .into_response();
    }
    axum::Json(issue_tokens(&mut s)).into_response()
}

async fn refresh(
    State(state): State<Shared>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    match form.get("refreshToken") {
        Some(t) if s.refresh_tokens.remove(t) => axum::Json(issue_tokens(&mut s)).into_response(),
        _ => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "error_message": "refresh token unknown" })),
        )
            .into_response(),
    }
}

/// Check the bearer token; `Err` is the 401 to send.
fn authorised(s: &SimState, headers: &HeaderMap) -> Result<(), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token.and_then(|t| s.tokens.get(t)) {
        Some(exp) if *exp > Instant::now() => Ok(()),
        Some(_) => Err((
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "error_message": "token expired" })),
        )
            .into_response()),
        None => Err((
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "error_message": "unauthorized" })),
        )
            .into_response()),
    }
}

async fn create_order(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
        return r;
    }
    let req: xtrace::CreateOrder = match parse(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if req.products.is_empty() || req.products.len() > 10 {
        return error(StatusCode::BAD_REQUEST, "an order holds 1 to 10 GTINs");
    }
    for p in &req.products {
        if !(1..=150_000).contains(&p.quantity) {
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "quantity {} for {}: must be 1 to 150000",
                    p.quantity, p.gtin
                ),
            );
        }
        if Gtin::parse(&p.gtin)
            .map(|g| g.as_str() != p.gtin)
            .unwrap_or(true)
        {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("gtin {:?} is not a valid GTIN-14", p.gtin),
            );
        }
    }
    if let Some(reason) = take_first(&mut s.cfg.orders.refuse) {
        return error(StatusCode::BAD_REQUEST, &reason);
    }
    let id = new_orders(
        &mut s,
        &req.products,
        req.po_number.as_deref(),
        &req.product_group,
    );
    let answer = axum::Json(json!({ "orderId": id })).into_response();
    lose_create_answer(&mut s, answer)
}

/// The first of a queue of scripted faults, taken off it.
fn take_first(queue: &mut Vec<String>) -> Option<String> {
    (!queue.is_empty()).then(|| queue.remove(0))
}

/// Record a new order (one sub-order per product), refused for unknown GTINs or by a scripted decline.
/// Returns its id.
fn new_orders<P: OrderedProduct>(
    s: &mut SimState,
    products: &[P],
    key: Option<&str>,
    product_group: &str,
) -> String {
    let id = s.id();
    let declined = take_first(&mut s.cfg.orders.decline).map(|r| format!("Order declined: {r}"));
    for p in products {
        let rejected = match &s.cfg.known_gtins {
            Some(known) if !known.contains(p.gtin()) => Some(format!(
                "Order declined: 0106: GTIN {} not found in the GTIN registry",
                p.gtin()
            )),
            _ => declined.clone(),
        };
        s.orders.insert(
            format!("{id}/{}", p.gtin()),
            Order {
                id: id.clone(),
                po_number: key.map(str::to_owned),
                product_group: product_group.to_owned(),
                gtin: p.gtin().to_owned(),
                quantity: p.quantity(),
                issued: 0,
                polls: 0,
                rejected,
                closed: false,
                packs: Vec::new(),
                created_ms: crate::store::now_ms(),
                seq: s.orders.len(),
            },
        );
    }
    id
}

/// A product line of a create request, in either API.
trait OrderedProduct {
    fn gtin(&self) -> &str;
    fn quantity(&self) -> u32;
}

impl OrderedProduct for xtrace::OrderProduct {
    fn gtin(&self) -> &str {
        &self.gtin
    }
    fn quantity(&self) -> u32 {
        self.quantity
    }
}

impl OrderedProduct for super::oms::OrderProduct {
    fn gtin(&self) -> &str {
        &self.gtin
    }
    fn quantity(&self) -> u32 {
        self.quantity
    }
}

/// The order is made; a scripted fault loses the answer mid-body.
fn lose_create_answer(s: &mut SimState, answer: Response) -> Response {
    if s.cfg.orders.lose_create_answers == 0 {
        return answer;
    }
    s.cfg.orders.lose_create_answers -= 1;
    s.answers_dropped += 1;
    let (parts, _) = answer.into_parts();
    let mut r = Response::from_parts(parts, broken_body());
    r.headers_mut().remove(header::CONTENT_LENGTH);
    r
}

/// Orders a search may show: old enough to be past the creation lag.
fn searchable(s: &SimState) -> impl Iterator<Item = &Order> {
    let lag = i64::try_from(s.cfg.orders.search_lag.as_millis()).unwrap_or(i64::MAX);
    let now = crate::store::now_ms();
    s.orders
        .values()
        .filter(move |o| now.saturating_sub(o.created_ms) >= lag)
}

async fn list_orders(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
        return r;
    }
    let info = |o: &Order, po: Option<&String>| {
        let mut v = json!({
            "orderId": o.id,
            "productGroup": o.product_group,
            "orderStatus": if o.closed { "CLOSED" } else if o.rejected.is_some() { "REJECTED" } else { "READY" },
            "releaseMethodType": "COMISSION",
        });
        if s.cfg.orders.echo_po_number
            && let Some(p) = po
        {
            v["poNumber"] = json!(p);
        }
        v
    };
    let by_id = q.get("orderId");
    let by_key = q.get("poNumber");
    let mut seen = HashSet::new();
    let infos: Vec<_> = match s.cfg.orders.search {
        // Someone else's order, under the key asked for.
        OrderSearch::Misdirected if by_key.is_some() => searchable(&s)
            .filter(|o| o.po_number.as_ref() != by_key)
            .max_by_key(|o| o.seq)
            .map(|o| info(o, by_key))
            .into_iter()
            .collect(),
        search => searchable(&s)
            .filter(|o| by_id.is_none_or(|id| *id == o.id))
            .filter(|o| {
                search == OrderSearch::IgnoresKey
                    || by_key.is_none_or(|p| o.po_number.as_ref() == Some(p))
            })
            .filter(|o| seen.insert(o.id.clone()))
            .map(|o| info(o, o.po_number.as_ref()))
            .collect(),
    };
    axum::Json(json!({ "orderInfos": infos })).into_response()
}

fn buffer_status(o: &Order, pending_polls: u32) -> &'static str {
    if o.rejected.is_some() {
        "REJECTED"
    } else if o.closed {
        "CLOSED"
    } else if o.polls <= pending_polls {
        "PENDING"
    } else if o.issued >= o.quantity {
        "EXHAUSTED"
    } else {
        "ACTIVE"
    }
}

async fn sub_orders(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
        return r;
    }
    let Some(order_id) = q.get("orderId") else {
        return error(StatusCode::BAD_REQUEST, "orderId is required");
    };
    let pending = s.pending_polls();
    let infos: Vec<_> = s
        .orders
        .values_mut()
        .filter(|o| o.id == *order_id)
        .map(|o| {
            o.polls = o.polls.saturating_add(1);
            json!({
                "parentOrderId": o.id,
                "gtin": o.gtin,
                "bufferStatus": buffer_status(o, pending),
                "cisType": "UNIT",
                "availableCodes": o.quantity - o.issued,
                "leftInBuffer": o.quantity - o.issued,
                "totalPassed": o.issued,
                "lastPackId": o.packs.last().map(|p| p.id.clone()),
                "rejectionReason": o.rejected,
            })
        })
        .collect();
    if infos.is_empty() {
        return error(
            StatusCode::NOT_FOUND,
            &format!("order {order_id} not found"),
        );
    }
    axum::Json(json!({ "subOrderInfos": infos })).into_response()
}

async fn take_codes(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    if let Err(r) = authorised(s, &headers) {
        return r;
    }
    let (Some(order_id), Some(gtin), Some(quantity)) =
        (q.get("orderId"), q.get("gtin"), q.get("quantity"))
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "orderId, gtin and quantity are required",
        );
    };
    let Ok(quantity) = quantity.parse::<u32>() else {
        return error(StatusCode::BAD_REQUEST, "quantity must be a number");
    };
    let pending = s.pending_polls();
    let Some(o) = s.orders.get_mut(&format!("{order_id}/{gtin}")) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("sub-order {order_id}/{gtin} not found"),
        );
    };
    let last = q.get("lastPackId").filter(|v| !v.is_empty() && *v != "0");
    // The documented repeat: asking again after the newest pack's predecessor returns the newest pack.
    let n = o.packs.len();
    let repeat = match (last, n) {
        (None, 1) => true,
        (Some(l), n) if n >= 2 => o.packs[n - 2].id == *l,
        _ => false,
    };
    if repeat {
        let p = &o.packs[n - 1];
        let resp = axum::Json(json!({ "codes": p.codes, "packId": p.id })).into_response();
        return lose_pack_answer(s, resp);
    }
    let expected = o.packs.last().map(|p| &p.id);
    if last != expected {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "lastPackId {:?} does not match the last pack issued ({:?})",
                last, expected
            ),
        );
    }
    match buffer_status(o, pending) {
        "ACTIVE" => {}
        "EXHAUSTED" => return error(StatusCode::BAD_REQUEST, "no codes left in the buffer"),
        other => return error(StatusCode::BAD_REQUEST, &format!("the buffer is {other}")),
    }
    let take = quantity.clamp(1, o.quantity - o.issued);
    let gtin = match Gtin::parse(&o.gtin) {
        Ok(g) => g,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let mut codes = Vec::with_capacity(take as usize);
    while codes.len() < take as usize {
        let c = s.rng.element_string(&gtin);
        // Serials are unique per GTIN: a new one is drawn in the (rare) case of a repeat.
        let ident = c.split('\u{1d}').next().unwrap_or_default().to_owned();
        if let std::collections::hash_map::Entry::Vacant(v) = s.idents.entry(ident) {
            v.insert(c.clone());
            s.codes.insert(c.clone(), SimCodeState::Received);
            codes.push(c);
        }
    }
    let pack_id = s.id();
    let Some(o) = s.orders.get_mut(&format!("{order_id}/{gtin}")) else {
        return error(StatusCode::NOT_FOUND, "sub-order vanished");
    };
    o.issued += take;
    // The registry closes an order by itself once every code is taken (user manual); a repeat of the
    // last pack is still answered.
    o.closed = o.issued >= o.quantity;
    o.packs.push(Pack {
        id: pack_id.clone(),
        codes: codes.clone(),
    });
    let resp = axum::Json(json!({ "codes": codes, "packId": pack_id })).into_response();
    lose_pack_answer(s, resp)
}

/// `OrderFaults::lose_pack_answers`: the pack is issued (and saved), its answer lost mid-body.
fn lose_pack_answer(s: &mut SimState, resp: Response) -> Response {
    if s.cfg.orders.lose_pack_answers == 0 {
        return resp;
    }
    s.cfg.orders.lose_pack_answers -= 1;
    s.answers_dropped += 1;
    // The fault layer saves the state before this goes out, as for any change.
    let (parts, _) = resp.into_parts();
    let mut r = Response::from_parts(parts, broken_body());
    r.headers_mut().remove(header::CONTENT_LENGTH);
    r
}

async fn list_packs(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
        return r;
    }
    let (Some(order_id), Some(gtin)) = (q.get("orderId"), q.get("gtin")) else {
        return error(StatusCode::BAD_REQUEST, "orderId and gtin are required");
    };
    let Some(o) = s.orders.get(&format!("{order_id}/{gtin}")) else {
        return error(StatusCode::NOT_FOUND, "sub-order not found");
    };
    let packs: Vec<_> = o
        .packs
        .iter()
        .map(|p| json!({ "packId": p.id, "quantity": p.codes.len() }))
        .collect();
    axum::Json(json!({ "orderId": o.id, "gtin": o.gtin, "packs": packs })).into_response()
}

async fn close_order(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
        return r;
    }
    let (Some(order_id), Some(gtin)) = (q.get("orderId"), q.get("gtin")) else {
        return error(StatusCode::BAD_REQUEST, "orderId and gtin are required");
    };
    let pending = s.pending_polls();
    let Some(o) = s.orders.get_mut(&format!("{order_id}/{gtin}")) else {
        return error(StatusCode::NOT_FOUND, "sub-order not found");
    };
    if o.rejected.is_some() {
        return error(StatusCode::BAD_REQUEST, "a rejected order cannot be closed");
    }
    // The description: only a READY order's ACTIVE or EXHAUSTED sub-order can be closed. A closed one
    // is answered as closed, so closing stays harmless to repeat.
    if buffer_status(o, pending) == "PENDING" {
        return error(
            StatusCode::BAD_REQUEST,
            "the sub-order is PENDING: only an ACTIVE or EXHAUSTED sub-order can be closed",
        );
    }
    o.closed = true;
    axum::Json(json!({ "orderId": o.id })).into_response()
}

async fn utilisation(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    if let Err(r) = authorised(s, &headers) {
        return r;
    }
    let req: xtrace::Utilisation = match parse(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if req.sntins.is_empty() {
        return error(StatusCode::BAD_REQUEST, "sntins is empty");
    }
    if let Some(r) = refused_at_send(s) {
        return r;
    }
    let id = receive_report(s, req.sntins, String::from_utf8_lossy(&body).into_owned());
    axum::Json(json!({ "reportId": id })).into_response()
}

/// A 400 for every report and document while a [`Refusal`] at send is set.
fn refused_at_send(s: &mut SimState) -> Option<Response> {
    let reason = s
        .cfg
        .refusal
        .as_ref()
        .filter(|r| r.at_send)
        .map(|r| r.reason.clone())?;
    s.refused_whole += 1;
    Some(error(StatusCode::BAD_REQUEST, &reason))
}

/// Take an application report for processing later (now, without a processing delay). Returns its id.
fn receive_report(s: &mut SimState, codes: Vec<String>, body: String) -> String {
    s.reports_received += 1;
    let pending: HashSet<&String> = s
        .reports
        .values()
        .filter(|r| r.outcome.is_none())
        .flat_map(|r| r.codes.iter())
        .collect();
    let again = codes.iter().filter(|c| pending.contains(c)).count() as u64;
    s.resent_while_pending += again;
    let id = s.id();
    let now = crate::store::now_ms();
    let delay = i64::try_from(s.cfg.processing_delay.as_millis()).unwrap_or(i64::MAX);
    s.reports.insert(
        id.clone(),
        Report {
            polls: 0,
            codes,
            created_ms: now,
            due_ms: now.saturating_add(delay),
            outcome: None,
            body,
        },
    );
    process_due(s);
    id
}

/// Process every report and document whose time has come, in the order they arrived: the registry
/// works on its own clock, whether or not anyone asks.
fn process_due(s: &mut SimState) {
    let now = crate::store::now_ms();
    let mut due: Vec<(i64, bool, String)> = s
        .reports
        .iter()
        .filter(|(_, r)| r.outcome.is_none() && r.due_ms <= now)
        .map(|(id, r)| (r.created_ms, true, id.clone()))
        .chain(
            s.documents
                .iter()
                .filter(|(_, d)| d.errors.is_none() && d.due_ms <= now)
                .map(|(id, d)| (d.created_ms, false, id.clone())),
        )
        .collect();
    due.sort();
    for (_, report, id) in due {
        if report {
            let codes = s
                .reports
                .get(&id)
                .map(|r| r.codes.clone())
                .unwrap_or_default();
            let outcome = apply_utilisation(s, &codes);
            if let Some(r) = s.reports.get_mut(&id) {
                r.outcome = Some(outcome);
            }
        } else {
            let Some((kind, codes)) = s.documents.get(&id).map(|d| (d.kind, d.codes.clone()))
            else {
                continue;
            };
            let (errors, partial) = match kind {
                SimDocKind::Withdrawal => (apply_write_off(s, &codes), false),
                SimDocKind::Import => apply_import(s, &codes),
                SimDocKind::Aggregation => (boxes::apply_aggregation(s, &codes), false),
                SimDocKind::Disaggregation => (boxes::apply_disaggregation(s, &codes), false),
            };
            if let Some(d) = s.documents.get_mut(&id) {
                d.errors = Some(errors);
                d.partial = partial;
            }
        }
    }
}

async fn utilisation_status(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    if let Err(r) = authorised(s, &headers) {
        return r;
    }
    let polls = s.cfg.report_polls;
    let Some(r) = s.reports.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, &format!("report {id} not found"));
    };
    r.polls += 1;
    let (status, reason) = match &r.outcome {
        _ if r.polls <= polls => ("IN_PROCESS", None),
        None => ("IN_PROCESS", None),
        Some(Ok(())) => ("SUCCESS", None),
        Some(Err(e)) => ("ERROR", Some(e.clone())),
    };
    axum::Json(json!({ "reportId": id, "reportStatus": status, "rejectReason": reason, "createdTimestamp": iso(r.created_ms) })).into_response()
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of milliseconds since the epoch.
fn iso(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(t).to_string()
}

/// Milliseconds since the epoch of an RFC 3339 time (`Z` or no zone: UTC).
fn parse_iso(text: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(text.trim().trim_end_matches('Z')).ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_millis()).ok()
}

/// The identification part of a code (up to its first GS).
fn ident_of(code: &str) -> &str {
    code.split('\u{1d}').next().unwrap_or(code)
}

async fn lookup_codes(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    if let Err(r) = authorised(s, &headers) {
        return r;
    }
    #[derive(serde::Deserialize)]
    struct Q {
        codes: Vec<String>,
    }
    let q: Q = match parse(&body) {
        Ok(q) => q,
        Err(r) => return r,
    };
    if q.codes.is_empty() || q.codes.len() > s.cfg.lookup_max {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "codes must hold 1 to {} codes (COD_READER_SEARCH_CODES_BY_IDS_MAX_COUNT)",
                s.cfg.lookup_max
            ),
        );
    }
    s.lookups += 1;
    s.codes_looked_up += q.codes.len() as u64;
    let echo = s.cfg.lookup_echo;
    // The answer lists the codes it knows, each as the registry's document shows one (an array of them);
    // codes it does not know are left out. Asked by full code or by identification code alike.
    let found: Vec<_> = q
        .codes
        .iter()
        .filter_map(|asked| {
            let full = s
                .codes
                .contains_key(asked)
                .then_some(asked)
                .or_else(|| s.idents.get(ident_of(asked)))?;
            let status = match s.codes.get(full)? {
                SimCodeState::Received => "RECEIVED",
                SimCodeState::Applied => "APPLIED",
                SimCodeState::WrittenOff => "WRITTEN_OFF",
                SimCodeState::Introduced => "INTRODUCED",
            };
            let code = match echo {
                LookupEcho::AsAsked => asked.clone(),
                LookupEcho::Identification => ident_of(full).to_owned(),
                LookupEcho::EscapedSeparators => full.replace('\u{1d}', "\\u001d"),
            };
            let gtin = full.get(2..16).unwrap_or_default();
            Some(json!({
                "code": code,
                "isHadExtendedCode": false,
                "packageType": "UNIT",
                "status": status,
                "template": "GS1_AISTR",
                "gtin": gtin,
            }))
        })
        .collect();
    match s.cfg.lookup_layout {
        LookupLayout::List => axum::Json(serde_json::Value::Array(found)).into_response(),
        LookupLayout::Wrapped => axum::Json(json!({ "codes": found })).into_response(),
    }
}

/// `POST /public/api/v1/doc/withdrawal`: a base64 document; only `WRITE_OFF` is simulated. Processed as a
/// whole, asynchronously: any bad code refuses the document, with per-code errors.
async fn withdrawal(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    let doc: xtrace::Withdrawal = match document_request(s, &headers, &body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    if doc.withdrawal_type != xtrace::WithdrawalType::WriteOff {
        return error(
            StatusCode::BAD_REQUEST,
            "the simulator handles withdrawalType WRITE_OFF only",
        );
    }
    if doc.codes.is_empty() || doc.withdrawal_reason.trim().is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "codes and withdrawalReason are required",
        );
    }
    if let Some(r) = refused_at_send(s) {
        return r;
    }
    let codes = doc.codes.into_iter().map(|c| c.code).collect();
    receive_document(s, SimDocKind::Withdrawal, codes, &body)
}

/// A document POST's common part: the bearer token, the envelope, and its body decoded as the registry
/// does (keys A-Z at every level, counted when not).
fn document_request<T: serde::de::DeserializeOwned>(
    s: &mut SimState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, Response> {
    authorised(s, headers)?;
    let env: xtrace::DocumentEnvelope = parse(body)?;
    strict_body(s, &env.document_body)
}

/// Take a document for processing on the registry's clock (now, without a processing delay) and
/// answer its id.
fn receive_document(
    s: &mut SimState,
    kind: SimDocKind,
    codes: Vec<String>,
    body: &Bytes,
) -> Response {
    s.documents_received += 1;
    let id = s.id();
    let now = crate::store::now_ms();
    let delay = i64::try_from(s.cfg.processing_delay.as_millis()).unwrap_or(i64::MAX);
    s.documents.insert(
        id.clone(),
        Document {
            kind,
            partial: false,
            polls: 0,
            codes,
            created_ms: now,
            due_ms: now.saturating_add(delay),
            errors: None,
            body: String::from_utf8_lossy(body).into_owned(),
        },
    );
    process_due(s);
    axum::Json(json!({ "documentId": id })).into_response()
}

/// A code carries a crypto tail: with its GS separators, or glued on after a known identification
/// code.
fn tailed(s: &SimState, c: &str) -> bool {
    c.contains('\u{1d}')
        || (!s.idents.contains_key(c)
            && (16..c.len()).any(|n| c.is_char_boundary(n) && s.idents.contains_key(&c[..n])))
}

/// Process a write-off document: every code must be RECEIVED, or the whole document is refused with an
/// error per bad code (by its index). Returns the errors (none: written off).
fn apply_write_off(s: &mut SimState, idents: &[String]) -> Vec<serde_json::Value> {
    if let Some(r) = s.cfg.refusal.clone() {
        s.refused_whole += 1;
        return vec![
            json!({ "propertyName": null, "index": null, "errorCode": "DOCUMENT_REFUSED", "errorTags": [r.reason] }),
        ];
    }
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    let mut full = Vec::new();
    for (i, ident) in idents.iter().enumerate() {
        let problem = match s.idents.get(ident) {
            _ if !seen.insert(ident) => Some("DUPLICATE_IN_DOCUMENT"),
            None => Some("CODE_NOT_FOUND"),
            Some(code) => match s.codes.get(code) {
                Some(SimCodeState::Received) => {
                    full.push(code.clone());
                    None
                }
                Some(SimCodeState::WrittenOff) => {
                    s.written_off_twice += 1;
                    Some("CODE_ALREADY_WRITTEN_OFF")
                }
                _ => Some("CODE_NOT_RECEIVED"),
            },
        };
        match problem {
            Some(p) if s.cfg.refusals_name_codes => errors.push(
                json!({ "propertyName": "codes", "index": i, "errorCode": p, "errorTags": [] }),
            ),
            Some(_) if errors.is_empty() => {
                errors.push(json!({ "errorCode": "CODES_NOT_VALID", "errorTags": [] }));
            }
            _ => {}
        }
    }
    if errors.is_empty() {
        for c in full {
            s.codes.insert(c, SimCodeState::WrittenOff);
        }
    }
    errors
}

/// A document body decoded as the registry does: base64, keys in A-Z order at every level (counted
/// when not), then the expected JSON.
fn strict_body<T: serde::de::DeserializeOwned>(s: &mut SimState, b64: &str) -> Result<T, Response> {
    xtrace::decode_document_strict(b64).map_err(|e| {
        if e.contains("A-Z order") {
            s.documents_unsorted += 1;
        }
        error(StatusCode::BAD_REQUEST, &e)
    })
}

/// `POST /public/api/v1/doc/import`: an import notice, base64 with sorted keys. Codes must be
/// identification codes without their crypto tail (refused with 400 otherwise, and counted), with a
/// customs declaration (number and date). Processed asynchronously: applied codes are introduced, the
/// others named by index (not applied yet, introduced already, written off, unknown, repeated).
async fn import_document(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    let doc: xtrace::ImportDocument = match document_request(s, &headers, &body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    if doc.codes.is_empty() {
        return error(StatusCode::BAD_REQUEST, "codes are required");
    }
    let decl = &doc.customs_declaration;
    if decl.number.trim().is_empty() || parse_iso(&decl.date).is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "customsDeclaration needs its number and its date as a date-time (e.g. 2026-03-02T00:00:00Z)",
        );
    }
    if let Some(i) = doc.codes.iter().position(|c| tailed(s, c)) {
        s.documents_with_tails += 1;
        return error(
            StatusCode::BAD_REQUEST,
            &format!("codes[{i}]: an identification code without its crypto tail is expected"),
        );
    }
    if let Some(r) = refused_at_send(s) {
        return r;
    }
    receive_document(s, SimDocKind::Import, doc.codes, &body)
}

/// Process an import document: applied codes are introduced, each other code gets an error by its
/// index. Returns the errors, and whether some codes were introduced beside them.
fn apply_import(s: &mut SimState, idents: &[String]) -> (Vec<serde_json::Value>, bool) {
    if let Some(r) = s.cfg.refusal.clone() {
        s.refused_whole += 1;
        return (
            vec![
                json!({ "propertyName": "customsDeclaration", "index": null, "errorCode": "DOCUMENT_REFUSED", "errorTags": [r.reason] }),
            ],
            false,
        );
    }
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    let mut good = Vec::new();
    for (i, ident) in idents.iter().enumerate() {
        // A box or pallet stands for everything in it: each must be applied.
        if let Some(sscc) = boxes::sscc_digits(ident).filter(|d| s.aggregates.contains_key(*d)) {
            let inner = boxes::leaves(s, sscc);
            let full: Vec<String> = inner
                .iter()
                .filter_map(|c| s.idents.get(c).cloned())
                .collect();
            let all_applied = full.len() == inner.len()
                && full
                    .iter()
                    .all(|c| s.codes.get(c) == Some(&SimCodeState::Applied));
            if !seen.insert(ident) {
                errors.push(json!({ "propertyName": "codes", "index": i, "errorCode": "DUPLICATE_IN_DOCUMENT", "errorTags": [] }));
            } else if all_applied {
                good.extend(full);
            } else {
                if full
                    .iter()
                    .any(|c| s.codes.get(c) == Some(&SimCodeState::Introduced))
                {
                    s.introduced_twice += 1;
                }
                errors.push(json!({ "propertyName": "codes", "index": i, "errorCode": "AGGREGATE_NOT_APPLIED", "errorTags": [] }));
            }
            continue;
        }
        let problem = match s.idents.get(ident) {
            _ if !seen.insert(ident) => Some("DUPLICATE_IN_DOCUMENT"),
            None => Some("CODE_NOT_FOUND"),
            Some(code) => match s.codes.get(code) {
                Some(SimCodeState::Applied) => {
                    good.push(code.clone());
                    None
                }
                Some(SimCodeState::Introduced) => {
                    s.introduced_twice += 1;
                    Some("CODE_ALREADY_INTRODUCED")
                }
                Some(SimCodeState::WrittenOff) => Some("CODE_WRITTEN_OFF"),
                _ => Some("CODE_NOT_APPLIED"),
            },
        };
        if let Some(p) = problem {
            errors.push(
                json!({ "propertyName": "codes", "index": i, "errorCode": p, "errorTags": [] }),
            );
        }
    }
    if !s.cfg.refusals_name_codes && !errors.is_empty() {
        // A registry that does not say which: the document is refused as a whole.
        return (
            vec![json!({ "errorCode": "CODES_NOT_VALID", "errorTags": [] })],
            false,
        );
    }
    let partial = !errors.is_empty() && !good.is_empty();
    for c in good {
        s.codes.insert(c, SimCodeState::Introduced);
    }
    (errors, partial)
}

/// A processed document's status: SUCCESS, PARTIALLY_PROCESSED or ERROR (IN_PROCESS before).
fn document_status_of(d: &Document) -> &'static str {
    match &d.errors {
        None => "IN_PROCESS",
        Some(e) if e.is_empty() => "SUCCESS",
        Some(_) if d.partial => "PARTIALLY_PROCESSED",
        Some(_) => "ERROR",
    }
}

async fn document_status(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    if let Err(r) = authorised(s, &headers) {
        return r;
    }
    let polls = s.cfg.report_polls;
    if let Some(d) = s.documents.get_mut(&id) {
        d.polls += 1;
        let status = if d.polls <= polls {
            "IN_PROCESS"
        } else {
            document_status_of(d)
        };
        return axum::Json(json!({ "documentId": id, "type": d.kind.as_str(), "status": status, "createDate": iso(d.created_ms) }))
            .into_response();
    }
    error(StatusCode::NOT_FOUND, &format!("document {id} not found"))
}

async fn document_errors(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
        return r;
    }
    let Some(d) = s.documents.get(&id) else {
        return error(StatusCode::NOT_FOUND, &format!("document {id} not found"));
    };
    axum::Json(json!({ "documentErrors": d.errors.clone().unwrap_or_default() })).into_response()
}

/// `GET /public/api/v1/doc/storage/docs/search`: documents (and, if so configured, application reports)
/// by type and creation time, oldest first, `limit` at a time after `cursor` (the last id of the previous
/// page). `types` may be repeated or comma-separated.
async fn document_search(
    State(state): State<Shared>,
    headers: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Response {
    let s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
        return r;
    }
    let mut types: Vec<String> = Vec::new();
    let (mut from, mut to, mut limit, mut cursor) = (None, None, 100usize, None);
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "types" => types.extend(v.split(',').map(|t| t.trim().to_owned())),
            "dateFrom" => from = parse_iso(&v),
            "dateTo" => to = parse_iso(&v),
            "limit" => limit = v.parse().unwrap_or(100).clamp(1, 1000),
            "cursor" => cursor = Some(v.into_owned()),
            _ => {}
        }
    }
    let wanted = |t: &str| types.is_empty() || types.iter().any(|w| w == t);
    let mut rows: Vec<(i64, String, &'static str, &'static str)> = Vec::new();
    for (id, d) in &s.documents {
        if wanted(d.kind.as_str()) {
            rows.push((
                d.created_ms,
                id.clone(),
                d.kind.as_str(),
                document_status_of(d),
            ));
        }
    }
    if wanted("UTILISATION") && s.cfg.search_lists_utilisation {
        for (id, r) in &s.reports {
            let status = match &r.outcome {
                None => "IN_PROCESS",
                Some(Ok(())) => "SUCCESS",
                Some(Err(_)) => "ERROR",
            };
            rows.push((r.created_ms, id.clone(), "UTILISATION", status));
        }
    }
    rows.retain(|(at, ..)| from.is_none_or(|f| *at >= f) && to.is_none_or(|t| *at <= t));
    rows.sort();
    let start = cursor
        .and_then(|c| rows.iter().position(|(_, id, ..)| *id == c).map(|i| i + 1))
        .unwrap_or(0);
    let infos: Vec<_> = rows
        .iter()
        .skip(start)
        .take(limit)
        .map(|(at, id, ty, st)| json!({ "documentId": id, "type": ty, "status": st, "createDate": iso(*at) }))
        .collect();
    axum::Json(json!({ "documentInfos": infos })).into_response()
}

/// `GET /public/api/v1/doc/storage/json/{id}`: the document (or report) "as it reached the storage":
/// the withdrawal's envelope with its base64 body, the application report's request.
async fn document_json(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
        return r;
    }
    let body = match (s.documents.get(&id), s.reports.get(&id)) {
        (Some(d), _) => d.body.clone(),
        (None, Some(r)) if s.cfg.search_lists_utilisation => r.body.clone(),
        _ => return error(StatusCode::NOT_FOUND, &format!("document {id} not found")),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

// ---- oms-v2 -------------------------------------------------------------------------------------

fn oms_router(state: Shared) -> Router {
    Router::new()
        .route(
            "/api/v2/{ext}/orders",
            post(oms_create_order).get(oms_orders),
        )
        .route("/api/v2/{ext}/buffer/status", get(oms_buffer))
        .route("/api/v2/{ext}/codes", get(oms_codes))
        .route("/api/v2/{ext}/codes/blocks", get(oms_blocks))
        .route("/api/v2/{ext}/codes/retry", get(oms_retry))
        .route("/api/v2/{ext}/buffer/close", post(oms_close))
        .route("/api/v2/{ext}/utilisation", post(oms_utilisation))
        .route("/api/v2/{ext}/report/info", get(oms_report_info))
        .route("/api/v2/{ext}/ping", get(oms_ping))
        .route("/api/v2/{ext}/version", get(oms_version))
        .layer(middleware::from_fn_with_state(state.clone(), faults))
        .with_state(state)
}

/// Check the extension, the `clientToken` header and the `omsId` parameter.
fn oms_authorised(
    s: &SimState,
    ext: &str,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Result<(), Response> {
    if ext != s.cfg.extension {
        return Err(error(
            StatusCode::NOT_FOUND,
            &format!("extension {ext} is not served here"),
        ));
    }
    let token = headers.get("clientToken").and_then(|v| v.to_str().ok());
    if token != Some(s.cfg.client_token.as_str()) {
        return Err(error(StatusCode::UNAUTHORIZED, "clientToken is invalid"));
    }
    if q.get("omsId") != Some(&s.cfg.oms_id) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "omsId is missing or unknown",
        ));
    }
    Ok(())
}

fn oms_buffer_json(o: &Order, oms_id: &str, pending: u32) -> serde_json::Value {
    json!({
        "omsId": oms_id,
        "orderId": o.id,
        "gtin": o.gtin,
        "bufferStatus": oms_buffer_status(o, pending),
        "totalCodes": o.quantity,
        "availableCodes": o.quantity - o.issued,
        "leftInBuffer": o.quantity - o.issued,
        "unavailableCodes": 0,
        "totalPassed": o.issued,
        "poolsExhausted": o.issued >= o.quantity,
        "rejectionReason": o.rejected,
        "expiredDate": 0,
        "poolInfos": [],
    })
}

/// Unlike xTrace, an OMS buffer that gave every code is EXHAUSTED until it is closed.
fn oms_buffer_status(o: &Order, pending: u32) -> &'static str {
    if o.rejected.is_some() {
        "REJECTED"
    } else if o.closed {
        "CLOSED"
    } else if o.polls <= pending {
        "PENDING"
    } else if o.issued >= o.quantity {
        "EXHAUSTED"
    } else {
        "ACTIVE"
    }
}

async fn oms_create_order(
    State(state): State<Shared>,
    Path(ext): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let mut s = lock(&state);
    if let Err(r) = oms_authorised(&s, &ext, &headers, &q) {
        return r;
    }
    let req: super::oms::CreateOrder = match parse(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if req.products.is_empty() || req.products.len() > 10 {
        return error(StatusCode::BAD_REQUEST, "an order holds 1 to 10 GTINs");
    }
    if req.contact_person.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "contactPerson is required");
    }
    for p in &req.products {
        if !(1..=150_000).contains(&p.quantity) {
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "quantity {} for {}: must be 1 to 150000",
                    p.quantity, p.gtin
                ),
            );
        }
        if p.template_id != 1 {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("templateId {}: footwear uses template 1", p.template_id),
            );
        }
        if Gtin::parse(&p.gtin)
            .map(|g| g.as_str() != p.gtin)
            .unwrap_or(true)
        {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("gtin {:?} is not a valid GTIN-14", p.gtin),
            );
        }
    }
    let active: HashSet<&str> = s
        .orders
        .values()
        .filter(|o| !o.closed && o.rejected.is_none())
        .map(|o| o.id.as_str())
        .collect();
    if active.len() >= 100 {
        return error(
            StatusCode::BAD_REQUEST,
            "100 active orders at most: close finished orders first",
        );
    }
    if let Some(reason) = take_first(&mut s.cfg.orders.refuse) {
        return error(StatusCode::BAD_REQUEST, &reason);
    }
    let id = new_orders(
        &mut s,
        &req.products,
        req.production_order_id.as_deref(),
        &ext,
    );
    let expected = crate::store::now_ms() + 1_000;
    let answer = axum::Json(
        json!({ "omsId": s.cfg.oms_id, "orderId": id, "expectedCompleteTimestamp": expected }),
    )
    .into_response();
    lose_create_answer(&mut s, answer)
}

async fn oms_orders(
    State(state): State<Shared>,
    Path(ext): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = lock(&state);
    if let Err(r) = oms_authorised(&s, &ext, &headers, &q) {
        return r;
    }
    let pending = s.pending_polls();
    let mut by_id: BTreeMap<&str, Vec<&Order>> = BTreeMap::new();
    for o in searchable(&s) {
        by_id.entry(o.id.as_str()).or_default().push(o);
    }
    let keys: Vec<Option<&String>> = by_id
        .values()
        .map(|subs| subs[0].po_number.as_ref())
        .collect();
    let infos: Vec<_> = by_id
        .into_iter()
        .enumerate()
        .map(|(i, (id, subs))| {
            let first = subs[0];
            let status = if first.rejected.is_some() {
                "DECLINED"
            } else if subs.iter().all(|o| o.closed) {
                "CLOSED"
            } else {
                "READY"
            };
            // Misdirected: each order is listed under the next one's key.
            let key = match s.cfg.orders.search {
                OrderSearch::Misdirected => keys[(i + 1) % keys.len()],
                _ => first.po_number.as_ref(),
            };
            json!({
                "orderId": id,
                "orderStatus": status,
                "createdTimestamp": first.created_ms,
                "declineReason": first.rejected,
                "productionOrderId": key,
                "buffers": subs.iter().map(|o| oms_buffer_json(o, &s.cfg.oms_id, pending)).collect::<Vec<_>>(),
            })
        })
        .collect();
    axum::Json(json!({ "omsId": s.cfg.oms_id, "orderInfos": infos })).into_response()
}

/// The sub-order a query names (`orderId` and `gtin`), or the error to send.
fn oms_sub_order_key(q: &HashMap<String, String>) -> Result<String, Response> {
    match (q.get("orderId"), q.get("gtin")) {
        (Some(o), Some(g)) => Ok(format!("{o}/{g}")),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            "orderId and gtin are required",
        )),
    }
}

async fn oms_buffer(
    State(state): State<Shared>,
    Path(ext): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    if let Err(r) = oms_authorised(s, &ext, &headers, &q) {
        return r;
    }
    let key = match oms_sub_order_key(&q) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let pending = s.pending_polls();
    let Some(o) = s.orders.get_mut(&key) else {
        return error(StatusCode::NOT_FOUND, &format!("sub-order {key} not found"));
    };
    o.polls = o.polls.saturating_add(1);
    axum::Json(oms_buffer_json(o, &s.cfg.oms_id, pending)).into_response()
}

async fn oms_codes(
    State(state): State<Shared>,
    Path(ext): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    if let Err(r) = oms_authorised(s, &ext, &headers, &q) {
        return r;
    }
    let key = match oms_sub_order_key(&q) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let Some(Ok(quantity)) = q.get("quantity").map(|v| v.parse::<u32>()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "quantity is required and must be a number",
        );
    };
    let pending = s.pending_polls();
    let Some(o) = s.orders.get_mut(&key) else {
        return error(StatusCode::NOT_FOUND, &format!("sub-order {key} not found"));
    };
    // lastBlockId names the newest block the client holds ("0": none); anything else means the
    // client missed a block: it must recover it through /codes/blocks and /codes/retry.
    let last = q.get("lastBlockId").map_or("0", String::as_str);
    let newest = o.packs.last().map_or("0", |p| p.id.as_str());
    if last != newest {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("lastBlockId {last} is not the last block issued ({newest})"),
        );
    }
    match oms_buffer_status(o, pending) {
        "ACTIVE" => {}
        other => return error(StatusCode::BAD_REQUEST, &format!("the buffer is {other}")),
    }
    let take = quantity.clamp(1, o.quantity - o.issued);
    let gtin = o.gtin.clone();
    let (block_id, codes) = match issue(s, &key, &gtin, take) {
        Ok(b) => b,
        Err(r) => return r,
    };
    axum::Json(json!({ "omsId": s.cfg.oms_id, "codes": codes, "blockId": block_id }))
        .into_response()
}

/// Issue `take` new codes for a sub-order as one pack (block). Returns its id and codes.
fn issue(
    s: &mut SimState,
    key: &str,
    gtin: &str,
    take: u32,
) -> Result<(String, Vec<String>), Response> {
    let gtin =
        Gtin::parse(gtin).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
    let mut codes = Vec::with_capacity(take as usize);
    while codes.len() < take as usize {
        let c = s.rng.element_string(&gtin);
        let ident = c.split('\u{1d}').next().unwrap_or_default().to_owned();
        if let std::collections::hash_map::Entry::Vacant(v) = s.idents.entry(ident) {
            v.insert(c.clone());
            s.codes.insert(c.clone(), SimCodeState::Received);
            codes.push(c);
        }
    }
    let id = s.id();
    let Some(o) = s.orders.get_mut(key) else {
        return Err(error(StatusCode::NOT_FOUND, "sub-order vanished"));
    };
    o.issued += take;
    o.packs.push(Pack {
        id: id.clone(),
        codes: codes.clone(),
    });
    Ok((id, codes))
}

async fn oms_blocks(
    State(state): State<Shared>,
    Path(ext): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = lock(&state);
    if let Err(r) = oms_authorised(&s, &ext, &headers, &q) {
        return r;
    }
    let key = match oms_sub_order_key(&q) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let Some(o) = s.orders.get(&key) else {
        return error(StatusCode::NOT_FOUND, &format!("sub-order {key} not found"));
    };
    let blocks: Vec<_> = o
        .packs
        .iter()
        .map(|p| json!({ "blockId": p.id, "blockDateTime": 0, "quantity": p.codes.len() }))
        .collect();
    axum::Json(json!({ "omsId": s.cfg.oms_id, "orderId": o.id, "gtin": o.gtin, "blocks": blocks }))
        .into_response()
}

async fn oms_retry(
    State(state): State<Shared>,
    Path(ext): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = lock(&state);
    if let Err(r) = oms_authorised(&s, &ext, &headers, &q) {
        return r;
    }
    let key = match oms_sub_order_key(&q) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let Some(block) = q.get("blockId") else {
        return error(StatusCode::BAD_REQUEST, "blockId is required");
    };
    match s
        .orders
        .get(&key)
        .and_then(|o| o.packs.iter().find(|p| p.id == *block))
    {
        Some(p) => axum::Json(json!({ "omsId": s.cfg.oms_id, "codes": p.codes, "blockId": p.id }))
            .into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("block {block} not found")),
    }
}

async fn oms_close(
    State(state): State<Shared>,
    Path(ext): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    if let Err(r) = oms_authorised(s, &ext, &headers, &q) {
        return r;
    }
    let Some(order_id) = q.get("orderId") else {
        return error(StatusCode::BAD_REQUEST, "orderId is required");
    };
    let mut found = false;
    for o in s.orders.values_mut() {
        if o.id == *order_id && q.get("gtin").is_none_or(|g| *g == o.gtin) {
            found = true;
            if o.rejected.is_none() {
                o.closed = true;
            }
        }
    }
    if !found {
        return error(
            StatusCode::NOT_FOUND,
            &format!("order {order_id} not found"),
        );
    }
    axum::Json(json!({ "omsId": s.cfg.oms_id })).into_response()
}

async fn oms_utilisation(
    State(state): State<Shared>,
    Path(ext): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    if let Err(r) = oms_authorised(s, &ext, &headers, &q) {
        return r;
    }
    let req: super::oms::Utilisation = match parse(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if req.sntins.is_empty() || req.sntins.len() > 30_000 {
        return error(StatusCode::BAD_REQUEST, "sntins must hold 1 to 30000 codes");
    }
    if let Some(r) = refused_at_send(s) {
        return r;
    }
    let id = receive_report(s, req.sntins, String::from_utf8_lossy(&body).into_owned());
    axum::Json(json!({ "omsId": s.cfg.oms_id, "reportId": id })).into_response()
}

async fn oms_report_info(
    State(state): State<Shared>,
    Path(ext): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    if let Err(r) = oms_authorised(s, &ext, &headers, &q) {
        return r;
    }
    let Some(id) = q.get("reportId") else {
        return error(StatusCode::BAD_REQUEST, "reportId is required");
    };
    let polls = s.cfg.report_polls;
    let oms_id = s.cfg.oms_id.clone();
    let Some(r) = s.reports.get_mut(id) else {
        return error(StatusCode::NOT_FOUND, &format!("report {id} not found"));
    };
    r.polls += 1;
    // PENDING (first polls), then SENT: forwarded to the registry, not processed yet; then PROCESSED
    // (the RU enum's final state; Kazakhstan's enum stops at SENT, see README) or REJECTED.
    let (status, reason) = match &r.outcome {
        _ if r.polls <= polls => ("PENDING", None),
        None => ("SENT", None),
        Some(Ok(())) => ("PROCESSED", None),
        Some(Err(e)) => ("REJECTED", Some(e.clone())),
    };
    axum::Json(
        json!({ "omsId": oms_id, "reportId": id, "reportStatus": status, "errorReason": reason }),
    )
    .into_response()
}

async fn oms_ping(
    State(state): State<Shared>,
    Path(ext): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = lock(&state);
    if let Err(r) = oms_authorised(&s, &ext, &headers, &q) {
        return r;
    }
    axum::Json(json!({ "omsId": s.cfg.oms_id })).into_response()
}

async fn oms_version() -> Response {
    axum::Json(json!({ "apiVersion": "2.0.0.54", "omsVersion": "3.1.8.0-sim" })).into_response()
}

/// Apply an application report: processed atomically, any bad code fails the whole report, as the
/// registry documents; so does a [`Refusal`]. Counts codes reported twice or after a write-off.
fn apply_utilisation(s: &mut SimState, sntins: &[String]) -> Result<(), String> {
    if let Some(r) = s.cfg.refusal.clone() {
        s.refused_whole += 1;
        return Err(r.reason);
    }
    // Processed atomically: any bad code fails the whole report, as the registry documents.
    let mut seen = HashSet::new();
    let mut problems = Vec::new();
    for c in sntins {
        match s.codes.get(c) {
            _ if !seen.insert(c) => problems.push(format!(
                "{}: repeated in the report",
                crate::codes::redact_codes(c)
            )),
            None => problems.push(format!(
                "{}: not issued to this participant",
                crate::codes::redact_codes(c)
            )),
            Some(SimCodeState::Received) => {}
            Some(st) => {
                match st {
                    SimCodeState::Applied | SimCodeState::Introduced => s.reported_twice += 1,
                    SimCodeState::WrittenOff => s.reported_after_write_off += 1,
                    SimCodeState::Received => {}
                }
                problems.push(format!(
                    "{}: not in RECEIVED state ({st:?})",
                    crate::codes::redact_codes(c)
                ));
            }
        }
    }
    if problems.is_empty() {
        for c in sntins {
            s.codes.insert(c.clone(), SimCodeState::Applied);
        }
        Ok(())
    } else if s.cfg.refusals_name_codes {
        Err(problems.join("; "))
    } else {
        Err("the report holds codes that cannot be applied".into())
    }
}

// ---- persistence (the embedded simulator) -------------------------------------------------------

/// Format version of the state file. Version 2 keeps reports and documents with their codes and
/// processing time; a version 1 file (all processed) loads as it is.
const STATE_VERSION: u32 = 2;

#[derive(Serialize)]
struct PersistRef<'a> {
    version: u32,
    orders: &'a BTreeMap<String, Order>,
    codes: &'a HashMap<String, SimCodeState>,
    reports: &'a HashMap<String, Report>,
    documents: &'a HashMap<String, Document>,
    reported_twice: u64,
    written_off_twice: u64,
    reported_after_write_off: u64,
    resent_while_pending: u64,
    introduced_twice: u64,
    aggregates: &'a HashMap<String, boxes::SimAggregate>,
    ssccs_used: &'a HashSet<String>,
}

#[derive(serde::Deserialize)]
struct Persisted {
    version: u32,
    orders: BTreeMap<String, Order>,
    codes: HashMap<String, SimCodeState>,
    reports: HashMap<String, Report>,
    documents: HashMap<String, Document>,
    reported_twice: u64,
    written_off_twice: u64,
    reported_after_write_off: u64,
    #[serde(default)]
    resent_while_pending: u64,
    #[serde(default)]
    introduced_twice: u64,
    #[serde(default)]
    aggregates: HashMap<String, boxes::SimAggregate>,
    #[serde(default)]
    ssccs_used: HashSet<String>,
}

impl SimState {
    fn restore(&mut self, p: Persisted) {
        self.idents = p
            .codes
            .keys()
            .map(|c| {
                (
                    c.split('\u{1d}').next().unwrap_or_default().to_owned(),
                    c.clone(),
                )
            })
            .collect();
        self.orders = p.orders;
        self.codes = p.codes;
        self.reports = p.reports;
        self.documents = p.documents;
        self.reported_twice = p.reported_twice;
        self.written_off_twice = p.written_off_twice;
        self.reported_after_write_off = p.reported_after_write_off;
        self.resent_while_pending = p.resent_while_pending;
        self.introduced_twice = p.introduced_twice;
        self.parent = p
            .aggregates
            .iter()
            .flat_map(|(u, a)| a.contents.iter().map(move |m| (m.clone(), u.clone())))
            .collect();
        self.aggregates = p.aggregates;
        self.ssccs_used = p.ssccs_used;
    }
}

fn lock_state_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let lock_path = path.with_extension("lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            format!(
                "another labelstation process is using the built-in registry simulator ({}): wait for it to finish",
                path.display()
            ),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

fn load_state(path: &std::path::Path) -> std::io::Result<Option<Persisted>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let p: Persisted = serde_json::from_slice(&bytes).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the simulator state {} is damaged ({e}); move it aside to start the simulator afresh",
                path.display()
            ),
        )
    })?;
    if !(1..=STATE_VERSION).contains(&p.version) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the simulator state {} has format {}, this program knows {STATE_VERSION}",
                path.display(),
                p.version
            ),
        ));
    }
    Ok(Some(p))
}

/// Write the state atomically: a temporary file (0600), flushed to disk, renamed over the old one.
fn save_state(s: &SimState, path: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)?;
    let state = PersistRef {
        version: STATE_VERSION,
        orders: &s.orders,
        codes: &s.codes,
        reports: &s.reports,
        documents: &s.documents,
        reported_twice: s.reported_twice,
        written_off_twice: s.written_off_twice,
        reported_after_write_off: s.reported_after_write_off,
        resent_while_pending: s.resent_while_pending,
        introduced_twice: s.introduced_twice,
        aggregates: &s.aggregates,
        ssccs_used: &s.ssccs_used,
    };
    let mut w = std::io::BufWriter::new(&mut f);
    serde_json::to_writer(&mut w, &state).map_err(std::io::Error::other)?;
    w.flush()?;
    drop(w);
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
