// SPDX-License-Identifier: GPL-3.0-or-later
//! The registry simulator: a local HTTP server that speaks the xTrace API as documented (shared
//! research, registry API sections 3 and 7), for the demo, the tests and stations with no registry yet.
//!
//! It is faithful where the station's correctness depends on it: bearer tokens that expire, `Accept`
//! checked (406 with an empty body), buffers that are PENDING before ACTIVE, packs whose answer can be
//! asked for again with the same `lastPackId` (the documented "repeat"), orders refused for GTINs it does
//! not know, reports processed asynchronously and refused for codes not issued or already applied. It
//! tracks every code it issued, so tests can check that nothing was lost or reported twice. Faults are
//! injected on demand: errors, latency, answers dropped after the change was committed, short tokens.

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
use crate::codes::generate::CodeGenerator;

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
    /// Status polls a report answers IN_PROCESS before its result.
    pub report_polls: u32,
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

#[derive(Serialize, serde::Deserialize)]
struct Report {
    polls: u32,
    outcome: Result<(), String>,
}

/// A processed document (withdrawal): its outcome and, when refused, the per-code errors.
#[derive(Serialize, serde::Deserialize)]
struct Document {
    polls: u32,
    errors: Vec<serde_json::Value>,
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
    /// Codes that were sent in a report again after being applied (the station must never do this).
    reported_twice: u64,
    /// Codes written off again after a write-off (the station must never do this).
    written_off_twice: u64,
    /// Codes sent in an application report after they were written off (never, either).
    reported_after_write_off: u64,
    requests: u64,
    errors_injected: u64,
    answers_dropped: u64,
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
    pub orders: usize,
    pub open_orders: usize,
    pub requests: u64,
    /// Requests answered with an injected error.
    pub errors_injected: u64,
    /// Answers dropped after their change was committed.
    pub answers_dropped: u64,
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
            reported_twice: 0,
            written_off_twice: 0,
            reported_after_write_off: 0,
            requests: 0,
            errors_injected: 0,
            answers_dropped: 0,
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

    /// Make every access token issued so far expire now (as if 30 minutes had passed).
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for t in lock(&self.state).tokens.values_mut() {
            *t = now;
        }
    }

    pub fn snapshot(&self) -> SimSnapshot {
        let s = lock(&self.state);
        let count = |st| s.codes.values().filter(|v| **v == st).count();
        SimSnapshot {
            issued: s.codes.len(),
            applied: count(SimCodeState::Applied),
            written_off: count(SimCodeState::WrittenOff),
            reported_twice: s.reported_twice,
            written_off_twice: s.written_off_twice,
            reported_after_write_off: s.reported_after_write_off,
            orders: s.orders.len(),
            open_orders: s
                .orders
                .values()
                .filter(|o| !o.closed && o.rejected.is_none())
                .count(),
            requests: s.requests,
            errors_injected: s.errors_injected,
            answers_dropped: s.answers_dropped,
        }
    }

    /// Every code issued, with its state.
    pub fn codes(&self) -> HashMap<String, SimCodeState> {
        lock(&self.state).codes.clone()
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
        .route("/public/api/v1/doc/storage/docs/{id}", get(document_status))
        .route(
            "/public/api/v1/doc/storage/errors/{id}",
            get(document_errors),
        )
        .layer(middleware::from_fn_with_state(state.clone(), faults))
        .with_state(state)
}

/// Every request passes here: count, `Accept` check, latency, injected errors, dropped answers.
async fn faults(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let (latency, fail, drop_p, xtrace) = {
        let mut s = lock(&state);
        s.requests += 1;
        let f = s.cfg.faults.clone();
        let fail = s.chance(f.error_rate);
        s.errors_injected += u64::from(fail);
        (
            f.latency,
            fail,
            f.drop_after_commit_rate,
            s.cfg.api == SimApi::Xtrace,
        )
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
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if fail {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": 503, "error": "Service Unavailable", "message": "simulated outage" })),
        )
            .into_response();
    }
    let path = req.uri().path();
    let changes = (req.method() == axum::http::Method::POST
        && !path.starts_with("/public/api/cod/"))
        || path == "/api/codes"
        || (path.starts_with("/api/v2/") && path.ends_with("/codes"));
    let auth = req.uri().path().starts_with("/api/users/");
    let resp = next.run(req).await;
    if changes && !auth && resp.status().is_success() {
        // Saved before the answer goes out: an answer the client saw is never forgotten.
        let s = lock(&state);
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
    }
    let drop = changes && !auth && resp.status().is_success() && {
        let mut s = lock(&state);
        let d = s.chance(drop_p);
        s.answers_dropped += u64::from(d);
        d
    };
    if drop {
        // The change is committed; the answer is lost mid-body, as when a link drops.
        let (parts, _) = resp.into_parts();
        let mut r = Response::from_parts(parts, broken_body());
        r.headers_mut().remove(header::CONTENT_LENGTH);
        return r;
    }
    resp
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
        return axum::Json(json!({ "codes": p.codes, "packId": p.id })).into_response();
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
    axum::Json(json!({ "codes": codes, "packId": pack_id })).into_response()
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
    let outcome = apply_utilisation(s, &req.sntins);
    let id = s.id();
    s.reports.insert(id.clone(), Report { polls: 0, outcome });
    axum::Json(json!({ "reportId": id })).into_response()
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
        Ok(()) => ("SUCCESS", None),
        Err(e) => ("ERROR", Some(e.clone())),
    };
    axum::Json(json!({ "reportId": id, "reportStatus": status, "rejectReason": reason, "createdTimestamp": 0 })).into_response()
}

async fn lookup_codes(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
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
    let found: Vec<_> = q
        .codes
        .iter()
        .filter_map(|c| {
            let status = match s.codes.get(c)? {
                SimCodeState::Received => "RECEIVED",
                SimCodeState::Applied => "APPLIED",
                SimCodeState::WrittenOff => "WRITTEN_OFF",
            };
            Some(json!({ "code": c, "status": status }))
        })
        .collect();
    axum::Json(json!({ "codes": found })).into_response()
}

/// `POST /public/api/v1/doc/withdrawal`: a base64 document; only `WRITE_OFF` is simulated. Processed as a
/// whole, asynchronously: any bad code refuses the document, with per-code errors.
async fn withdrawal(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    if let Err(r) = authorised(s, &headers) {
        return r;
    }
    let env: xtrace::DocumentEnvelope = match parse(&body) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let doc: xtrace::Withdrawal = match xtrace::decode_document(&env.document_body) {
        Ok(d) => d,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
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
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    let mut full = Vec::new();
    for (i, c) in doc.codes.iter().enumerate() {
        let problem = match s.idents.get(&c.code) {
            _ if !seen.insert(&c.code) => Some("DUPLICATE_IN_DOCUMENT"),
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
        if let Some(p) = problem {
            errors.push(
                json!({ "propertyName": "codes", "index": i, "errorCode": p, "errorTags": [] }),
            );
        }
    }
    if errors.is_empty() {
        for c in full {
            s.codes.insert(c, SimCodeState::WrittenOff);
        }
    }
    let id = s.id();
    s.documents
        .insert(id.clone(), Document { polls: 0, errors });
    axum::Json(json!({ "documentId": id })).into_response()
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
    let Some(d) = s.documents.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, &format!("document {id} not found"));
    };
    d.polls += 1;
    let status = match () {
        _ if d.polls <= polls => "IN_PROCESS",
        _ if d.errors.is_empty() => "SUCCESS",
        _ => "ERROR",
    };
    axum::Json(json!({ "documentId": id, "documentType": "WITHDRAWAL", "status": status }))
        .into_response()
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
    axum::Json(json!({ "documentErrors": d.errors })).into_response()
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
    let outcome = apply_utilisation(s, &req.sntins);
    let id = s.id();
    s.reports.insert(id.clone(), Report { polls: 0, outcome });
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
    // PENDING, then READY_TO_SEND, then SENT or REJECTED (the KZ enum).
    let (status, reason) = match &r.outcome {
        _ if r.polls <= polls => ("PENDING", None),
        _ if r.polls == polls + 1 && r.outcome.is_ok() => ("READY_TO_SEND", None),
        Ok(()) => ("SENT", None),
        Err(e) => ("REJECTED", Some(e.clone())),
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
/// registry documents. Counts codes reported twice or after a write-off.
fn apply_utilisation(s: &mut SimState, sntins: &[String]) -> Result<(), String> {
    // Processed atomically: any bad code fails the whole report, as the registry documents.
    let mut seen = HashSet::new();
    let mut problems = Vec::new();
    for c in sntins {
        match s.codes.get(c) {
            _ if !seen.insert(c) => problems.push(format!(
                "{}: repeated in the report",
                super::wire::redact_codes(c)
            )),
            None => problems.push(format!(
                "{}: not issued to this participant",
                super::wire::redact_codes(c)
            )),
            Some(SimCodeState::Received) => {}
            Some(st) => {
                match st {
                    SimCodeState::Applied => s.reported_twice += 1,
                    SimCodeState::WrittenOff => s.reported_after_write_off += 1,
                    SimCodeState::Received => {}
                }
                problems.push(format!(
                    "{}: not in RECEIVED state ({st:?})",
                    super::wire::redact_codes(c)
                ));
            }
        }
    }
    if problems.is_empty() {
        for c in sntins {
            s.codes.insert(c.clone(), SimCodeState::Applied);
        }
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

// ---- persistence (the embedded simulator) -------------------------------------------------------

/// Format version of the state file.
const STATE_VERSION: u32 = 1;

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
    if p.version != STATE_VERSION {
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
