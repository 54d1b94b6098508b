// SPDX-License-Identifier: GPL-3.0-or-later
//! The registry behind one small trait, and its xTrace implementation over HTTPS.
//!
//! Retry policy, the rule that keeps codes from being ordered or reported twice: a request that changes
//! nothing (GET, the code lookup) is retried with backoff and jitter on transport errors, 408, 429 and
//! 5xx, waiting at least what `Retry-After` says; a request that changes something (POST) is sent once.
//! When its outcome is unknown — the answer lost, any 5xx (a proxy's 503, a CDN's 520 or 524 may come
//! after the registry committed), or a 2xx whose body cannot be read — the error says the change may
//! have been committed ([`RegistryError::maybe_committed`]), so the caller settles it from the registry's
//! evidence instead of sending it again. A 401 triggers one token refresh (or a new login), then fails.

use std::time::{Duration, Instant, SystemTime};

use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder};
use serde::de::DeserializeOwned;

use super::documents::DocumentType;
use super::wire::{
    ApiError, ErrorClass, IdentMatcher, Secret, parse_error_body, parse_retry_after,
};
use super::xtrace;
use crate::codes::Gtin;
use crate::ledger::reports::ReportKind;

mod xtrace_calls;

/// Why a registry call failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("the registry refused the request: {error}{}", remedy(error.class()))]
    Api {
        error: ApiError,
        maybe_committed: bool,
    },
    #[error(
        "no usable answer from the registry at {url}: {detail}. Check the network link; the station keeps working offline and retries later"
    )]
    Transport {
        url: String,
        detail: String,
        /// The request may have reached the registry and taken effect.
        maybe_committed: bool,
    },
    #[error(
        "the registry's answer to {what} is not in the documented shape ({detail}); report this with the log to the registry operator"
    )]
    Protocol { what: String, detail: String },
    /// A 2xx answer to a change whose body cannot be read (a numeric id where the API documents a string,
    /// an empty 201, a proxy's HTML page): the change may have been made.
    #[error(
        "the registry's answer to {what} cannot be read ({detail}); the change may have been made, so the station settles it from the registry's evidence"
    )]
    Unreadable { what: String, detail: String },
    #[error("registry configuration: {0}")]
    Config(String),
    /// The registry's API has no such operation. Not transient: retrying will not help.
    #[error("{what} is not supported by this registry ({api}): {remedy}")]
    Unsupported {
        api: &'static str,
        what: &'static str,
        remedy: &'static str,
    },
}

fn remedy(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Unauthorized => {
            ". Check registry.login and the password in the environment variable named by registry.xtrace.password_env"
        }
        ErrorClass::Forbidden => {
            ". The registry account lacks a permission for this: ask the account administrator"
        }
        ErrorClass::NotAcceptable => {
            ". The client sent no Accept header: this is a bug, please report it"
        }
        ErrorClass::Retryable => ". The registry is busy or down; the station retries later",
        ErrorClass::NotFound | ErrorClass::Rejected => "",
    }
}

impl RegistryError {
    /// Whether the request may have taken effect even though it failed.
    pub fn maybe_committed(&self) -> bool {
        match self {
            RegistryError::Api {
                maybe_committed, ..
            }
            | RegistryError::Transport {
                maybe_committed, ..
            } => *maybe_committed,
            RegistryError::Unreadable { .. } => true,
            _ => false,
        }
    }

    /// Whether trying again later may succeed (link down, registry busy).
    pub fn is_transient(&self) -> bool {
        match self {
            RegistryError::Transport { .. } => true,
            RegistryError::Api { error, .. } => error.class() == ErrorClass::Retryable,
            _ => false,
        }
    }

    /// How long the registry asked to be left alone (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            RegistryError::Api { error, .. } => error.retry_after_s.map(Duration::from_secs),
            _ => None,
        }
    }
}

/// A new order for one GTIN. `key` is the station's own id for it (see `ledger::orders`).
#[derive(Debug, Clone, Copy)]
pub struct NewOrder<'a> {
    pub key: &'a str,
    pub gtin: &'a Gtin,
    pub quantity: u32,
}

/// Where a sub-order's buffer stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BufferState {
    /// Codes are being made.
    Pending,
    /// Codes can be taken.
    Ready,
    /// Every code was taken.
    Exhausted,
    /// The registry refused the order, with its reason.
    Rejected(String),
    Closed,
}

/// One pack of codes. `Debug` never shows the codes (they carry crypto tails).
#[derive(Clone, PartialEq, Eq)]
pub struct CodePack {
    pub id: String,
    pub codes: Vec<String>,
}

impl std::fmt::Debug for CodePack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodePack")
            .field("id", &self.id)
            .field("codes", &self.codes.len())
            .finish()
    }
}

/// What an application report declares besides its codes.
#[derive(Debug, Clone)]
pub struct UtilisationMeta {
    /// Manufacturer country, ISO 3166-1 alpha-2.
    pub country: String,
    /// `YYYY-MM-DD`.
    pub production_date: String,
    /// `YYYY-MM-DD`.
    pub expiration_date: String,
}

/// What a write-off (withdrawal document) declares besides its codes.
#[derive(Debug, Clone)]
pub struct WriteOffMeta {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// A value of the registry's reason dictionary (`registry.report.write_off_reason`).
    pub reason: String,
    /// Free text sent with the reason `OTHER`.
    pub reason_other: Option<String>,
}

/// What an import document declares besides its codes: the customs declaration (ДТ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportMeta {
    pub number: String,
    /// Registration date, `YYYY-MM-DD`.
    pub date: String,
    /// The customs office that released the goods.
    pub customs_office: Option<String>,
}

/// One box or pallet for an aggregation document: its SSCC in the form the registry takes
/// (`aggregation.sscc_form`), its capacity, and what was put into it (full marking codes, whose crypto
/// tails the client cuts; for a pallet, its boxes' SSCCs), in packing order.
#[derive(Debug, Clone, Copy)]
pub struct AggregateSpec<'a> {
    pub sscc: &'a str,
    pub capacity: u32,
    pub codes: &'a [String],
    /// Take the contents out of the package they are in first (a repack).
    pub unbundle: bool,
}

/// What an aggregation document declares besides its units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregationMeta {
    /// When the packing was done, RFC 3339 UTC.
    pub date_time: String,
    /// The importer's BIN when the warehouse files for it as a service provider.
    pub owner_tin: Option<String>,
}

/// Where a sent document stands. Unlike a report, a document may be processed in part: the codes its
/// errors name were refused and the others taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentOutcome {
    InProcess,
    /// Every code taken.
    Success,
    /// The codes named were refused; the others were taken.
    Partial(Refusal),
    /// Nothing taken: the codes named were refused, and if none is named, the document itself.
    Error(Refusal),
    /// The registry does not know this id.
    NotFound,
}

/// Where a sent report (or document) stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    /// Being processed.
    InProcess,
    /// Passed on to another system and not confirmed processed (oms-v2 `SENT`): not yet accepted.
    Forwarded,
    Accepted,
    /// Refused as a whole (the registry processes a report atomically).
    Rejected(Refusal),
    /// The registry does not know this id.
    NotFound,
}

/// Why the registry refused a report, and which of its codes it named (by position, as sent).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Refusal {
    /// The registry's words, cleaned (bounded, codes cut to their identification part).
    pub reason: String,
    /// Positions of codes the registry named (document errors); a reason may name more in its text.
    pub named: Vec<usize>,
}

/// A code's state in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryCodeState {
    /// Issued, not yet applied ("Получен").
    Received,
    Applied,
    WrittenOff,
    /// Not known to the registry, or a state the station does not act on.
    Other(String),
}

/// A registry, as the station needs it. Blocking: the station calls it from its sync thread.
pub trait Registry: Send {
    /// Short name for the ledger (`xtrace`, `oms-v2`).
    fn api(&self) -> &'static str;
    /// Create an order; returns the registry's order id.
    fn create_order(&mut self, order: &NewOrder<'_>) -> Result<String, RegistryError>;
    /// Find the order the station made under `key` for `gtin` (after a lost answer to `create_order`).
    /// An order the answer shows under another key, or without a sub-order for `gtin`, is someone
    /// else's and never returned; an order shown under this key but for another GTIN, or several
    /// orders that could each be this one, are a `Protocol` error: the search cannot be trusted.
    fn find_order(&mut self, key: &str, gtin: &Gtin) -> Result<Option<String>, RegistryError>;
    fn buffer(&mut self, order_id: &str, gtin: &Gtin) -> Result<BufferState, RegistryError>;
    /// Take the pack after `last_pack` (`None` for the first). Asking again with the same `last_pack`
    /// returns the same pack, so this may be retried.
    fn take_pack(
        &mut self,
        order_id: &str,
        gtin: &Gtin,
        quantity: u32,
        last_pack: Option<&str>,
    ) -> Result<CodePack, RegistryError>;
    /// A pack the registry issued after `last_pack` (the first when `None`) whose answer never reached
    /// the station, downloaded again; `None` when it issued nothing after `last_pack`. Asked before an
    /// order is given up, so that codes issued to the station are never left out of the ledger.
    fn lost_pack(
        &mut self,
        order_id: &str,
        gtin: &Gtin,
        last_pack: Option<&str>,
    ) -> Result<Option<CodePack>, RegistryError>;
    /// Close a sub-order; `last_pack` is the last pack stored (the older platform wants to know it).
    fn close_order(
        &mut self,
        order_id: &str,
        gtin: &Gtin,
        last_pack: Option<&str>,
    ) -> Result<(), RegistryError>;
    /// Send an application report; returns the registry's report id. Not retried when its answer is
    /// lost (see the module docs).
    fn send_utilisation(
        &mut self,
        codes: &[String],
        meta: &UtilisationMeta,
    ) -> Result<String, RegistryError>;
    fn report_outcome(&mut self, report_id: &str) -> Result<ReportOutcome, RegistryError>;
    /// The registry's state of each code, in the order given, whatever form it echoes them in. Callers
    /// ask in chunks; a registry that refuses a chunk as too big is asked in smaller ones.
    fn code_states(&mut self, codes: &[String]) -> Result<Vec<RegistryCodeState>, RegistryError>;
    /// The registry's id of a report (or write-off) of `kind` carrying exactly `codes`, sent within
    /// `window`, whose answer was lost: found by the registry's search by type and time. `Ok(None)`: no
    /// trace (yet); `Unsupported`: this registry cannot be searched.
    fn find_report(
        &mut self,
        kind: ReportKind,
        codes: &[String],
        window: (SystemTime, SystemTime),
    ) -> Result<Option<String>, RegistryError>;
    /// Send a write-off of spoiled codes (full codes; the client sends what its API wants); returns the
    /// registry's document id. Like `send_utilisation`, never retried when its answer is lost.
    fn send_write_off(
        &mut self,
        codes: &[String],
        meta: &WriteOffMeta,
    ) -> Result<String, RegistryError>;
    fn write_off_outcome(&mut self, document_id: &str) -> Result<ReportOutcome, RegistryError>;
    /// Send an import document for applied codes (full codes; the client sends their identification
    /// part) under a customs declaration; returns the registry's document id. Never retried when its
    /// answer is lost: the document may exist ([`Registry::find_import`]).
    fn send_import(&mut self, codes: &[String], meta: &ImportMeta)
    -> Result<String, RegistryError>;
    fn import_outcome(&mut self, document_id: &str) -> Result<DocumentOutcome, RegistryError>;
    /// The id of an import document carrying exactly `codes`, sent within `window`, whose answer was
    /// lost: found by the registry's document search. `Ok(None)`: no trace (yet).
    fn find_import(
        &mut self,
        codes: &[String],
        window: (SystemTime, SystemTime),
    ) -> Result<Option<String>, RegistryError>;
    /// Send an aggregation document (boxes, or pallets of boxes); returns its document id. Never
    /// retried when its answer is lost ([`Registry::find_aggregation`]).
    fn send_aggregation(
        &mut self,
        units: &[AggregateSpec<'_>],
        meta: &AggregationMeta,
    ) -> Result<String, RegistryError>;
    /// Unpack boxes or pallets (their SSCCs as sent); returns the document id.
    fn send_disaggregation(
        &mut self,
        ssccs: &[String],
        date_time: &str,
    ) -> Result<String, RegistryError>;
    /// Where an aggregation or disaggregation document stands.
    fn aggregation_outcome(&mut self, document_id: &str) -> Result<DocumentOutcome, RegistryError>;
    /// The id of an aggregation document carrying exactly these units and contents, sent within
    /// `window`, whose answer was lost.
    fn find_aggregation(
        &mut self,
        units: &[AggregateSpec<'_>],
        window: (SystemTime, SystemTime),
    ) -> Result<Option<String>, RegistryError>;
    /// The id of a disaggregation document carrying exactly `ssccs` (as sent), sent within `window`,
    /// whose answer was lost.
    fn find_disaggregation(
        &mut self,
        ssccs: &[String],
        window: (SystemTime, SystemTime),
    ) -> Result<Option<String>, RegistryError>;
    /// A cheap request that changes nothing, to tell whether the registry answers (link state).
    fn ping(&mut self) -> Result<(), RegistryError>;
}

/// The identification part of a full code (`01` GTIN `21` serial, up to the first GS): what documents
/// such as the withdrawal carry instead of the code with its crypto tail.
pub fn identification(code: &str) -> &str {
    code.split('\u{1d}').next().unwrap_or(code)
}

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(250),
            max: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// The longest `Retry-After` a call waits out itself; a longer one is left to the caller (the sync
    /// pass stops and its runner waits).
    pub const MAX_INLINE_RETRY_AFTER: Duration = Duration::from_secs(30);

    /// How long to wait before retry number `attempt + 1`: the backoff, or what the registry asked for
    /// if that is longer; `None` when the registry asked for longer than a call should wait.
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        match retry_after {
            Some(r) if r > Self::MAX_INLINE_RETRY_AFTER => None,
            Some(r) => Some(r.max(self.delay(attempt))),
            None => Some(self.delay(attempt)),
        }
    }

    /// Exponential backoff with full jitter: spreads retries of many stations after an outage.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let jitter = f64::from(nanos % 1000) / 1000.0;
        exp.mul_f64(0.5 + jitter / 2.0)
    }
}

/// Settings of the xTrace client.
#[derive(Debug, Clone)]
pub struct XtraceSettings {
    /// Base URL, e.g. `https://prod.markirovka.kz`.
    pub url: String,
    pub login: String,
    pub password: Secret,
    pub product_group: String,
    pub business_place_id: i64,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

/// Plain HTTP is allowed only to this machine (the simulator); everything else must be HTTPS.
pub fn check_url(url: &str) -> Result<reqwest::Url, RegistryError> {
    let u = reqwest::Url::parse(url)
        .map_err(|e| RegistryError::Config(format!("registry.url {url:?} is not a URL: {e}")))?;
    let loopback = match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match u.scheme() {
        "https" => Ok(u),
        "http" if loopback => Ok(u),
        "http" => Err(RegistryError::Config(format!(
            "registry.url {url} uses plain HTTP to another machine: use https:// (plain HTTP is only for a simulator on this machine)"
        ))),
        other => Err(RegistryError::Config(format!(
            "registry.url {url}: unsupported scheme {other}"
        ))),
    }
}

struct Token {
    access: Secret,
    refresh: Option<Secret>,
    renew_at: Instant,
}

/// The markirovka.kz xTrace client.
pub struct XtraceClient {
    http: Client,
    base: reqwest::Url,
    s: XtraceSettings,
    token: Option<Token>,
}

impl std::fmt::Debug for XtraceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XtraceClient")
            .field("base", &self.base.as_str())
            .field("login", &self.s.login)
            .finish()
    }
}

enum Payload<'a> {
    None,
    Json(&'a serde_json::Value),
    Form(&'a [(&'a str, &'a str)]),
}

impl XtraceClient {
    pub fn new(settings: XtraceSettings) -> Result<XtraceClient, RegistryError> {
        let base = check_url(&settings.url)?;
        if settings.login.is_empty() || settings.password.is_empty() {
            return Err(RegistryError::Config(
                "registry.xtrace.login and the password (environment variable named by registry.xtrace.password_env) must be set".into(),
            ));
        }
        let mut headers = reqwest::header::HeaderMap::new();
        // Mandatory: without it the registry answers 406 with an empty body.
        headers.insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("*/*"),
        );
        let http = http_client(headers, settings.timeout)?;
        Ok(XtraceClient {
            http,
            base,
            s: settings,
            token: None,
        })
    }

    fn url(&self, path: &str) -> Result<reqwest::Url, RegistryError> {
        self.base
            .join(path)
            .map_err(|e| RegistryError::Config(format!("bad path {path}: {e}")))
    }

    fn transport(&self, e: reqwest::Error, maybe_committed: bool) -> RegistryError {
        // A request that never connected cannot have taken effect.
        let connected = !e.is_connect();
        RegistryError::Transport {
            url: self.base.to_string(),
            detail: e.without_url().to_string(),
            maybe_committed: maybe_committed && connected,
        }
    }

    fn auth(&mut self, force_login: bool) -> Result<(), RegistryError> {
        let refresh = if force_login {
            None
        } else {
            self.token.as_ref().and_then(|t| t.refresh.clone())
        };
        let started = Instant::now();
        let answer = match refresh {
            Some(r) => {
                let form = [("refreshToken", r.expose())];
                match self.send_raw(
                    Method::POST,
                    "/api/users/tokens/refresh",
                    &[],
                    Payload::Form(&form),
                    None,
                ) {
                    Ok(b) => Ok(b),
                    Err(_) => self.login_raw(),
                }
            }
            None => self.login_raw(),
        }?;
        let a: xtrace::AuthResponse = decode("authenticate", &answer)?;
        let ttl = Duration::from_millis(u64::try_from(a.access_token_expires_in).unwrap_or(0));
        // Renew a little before expiry, so a long pack download does not straddle it.
        let margin = (ttl / 10).min(Duration::from_secs(60));
        self.token = Some(Token {
            access: a.access_token,
            refresh: a.refresh_token,
            renew_at: started + ttl.saturating_sub(margin),
        });
        tracing::info!("registry: signed in as {}", self.s.login);
        Ok(())
    }

    fn login_raw(&self) -> Result<Vec<u8>, RegistryError> {
        let body = serde_json::to_value(xtrace::AuthRequest {
            login: self.s.login.clone(),
            password: self.s.password.clone(),
        })
        .map_err(|e| RegistryError::Config(e.to_string()))?;
        self.send_raw(
            Method::POST,
            "/api/users/authenticate",
            &[],
            Payload::Json(&body),
            None,
        )
    }

    /// One HTTP exchange; a non-2xx status becomes `RegistryError::Api`.
    fn send_raw(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        payload: Payload<'_>,
        bearer: Option<&Secret>,
    ) -> Result<Vec<u8>, RegistryError> {
        let changes = method != Method::GET;
        let mut req: RequestBuilder = self
            .http
            .request(method.clone(), self.url(path)?)
            .query(query);
        if let Some(t) = bearer {
            req = req.bearer_auth(t.expose());
        }
        req = match payload {
            Payload::None => req,
            Payload::Json(v) => req.json(v),
            Payload::Form(f) => req.form(f),
        };
        let resp = req.send().map_err(|e| self.transport(e, changes))?;
        let status = resp.status();
        let retry_after = retry_after_header(resp.headers());
        let body = resp.bytes().map_err(|e| self.transport(e, changes))?;
        tracing::debug!(%method, path, status = status.as_u16(), bytes = body.len(), "registry");
        if status.is_success() {
            Ok(body.to_vec())
        } else {
            Err(api_error(status.as_u16(), &retry_after, &body, changes))
        }
    }

    /// An authenticated call with the retry policy of the module docs.
    pub(super) fn call(
        &mut self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>, RegistryError> {
        let idempotent = method == Method::GET;
        self.call_with(method, path, query, body, idempotent)
    }

    /// [`Self::call`] for a request whose idempotency is not told by its method (a lookup sent as POST).
    fn call_with(
        &mut self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        idempotent: bool,
    ) -> Result<Vec<u8>, RegistryError> {
        let mut attempt = 0;
        let mut reauthed = false;
        loop {
            if self
                .token
                .as_ref()
                .is_none_or(|t| Instant::now() >= t.renew_at)
            {
                self.auth(false)?;
            }
            let token = self.token.as_ref().map(|t| t.access.clone());
            let payload = body.map_or(Payload::None, Payload::Json);
            match self.send_raw(method.clone(), path, query, payload, token.as_ref()) {
                Ok(b) => return Ok(b),
                Err(RegistryError::Api { error, .. })
                    if error.class() == ErrorClass::Unauthorized && !reauthed =>
                {
                    reauthed = true;
                    self.auth(false)?;
                }
                Err(e) if idempotent && e.is_transient() && attempt + 1 < self.s.retry.attempts => {
                    let Some(wait) = self.s.retry.wait(attempt, e.retry_after()) else {
                        return Err(e);
                    };
                    tracing::warn!("registry: {e}; retrying in {} ms", wait.as_millis());
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Orders a search may answer before the station gives up telling its own from the others (each is
/// looked at through its sub-orders).
const MAX_FOUND_ORDERS: usize = 5;

impl XtraceClient {
    /// The sub-orders (one per GTIN) of an order.
    fn sub_orders(&mut self, order_id: &str) -> Result<Vec<xtrace::SubOrderInfo>, RegistryError> {
        let answer = self.call(
            Method::GET,
            "/api/orders/sub-orders",
            &[("orderId", order_id.to_owned())],
            None,
        )?;
        Ok(decode::<xtrace::SubOrders>("sub-orders", &answer)?.sub_order_infos)
    }
}

/// `Retry-After` of an answer, if it has one.
pub(crate) fn retry_after_header(h: &reqwest::header::HeaderMap) -> Option<u64> {
    h.get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

/// A non-2xx answer as an error. Any 5xx to a change may come after the change was made (a proxy's
/// 503, a CDN's 520 or 524 when the registry was slow): its outcome is unknown.
pub(crate) fn api_error(
    status: u16,
    retry_after: &Option<u64>,
    body: &[u8],
    changes: bool,
) -> RegistryError {
    let mut error = parse_error_body(status, body);
    error.retry_after_s = *retry_after;
    RegistryError::Api {
        error,
        maybe_committed: changes && status >= 500,
    }
}

/// Read the 2xx answer to a change: a body that cannot be read means the outcome is unknown, never that
/// the change was not made.
pub(crate) fn decode_change<T: DeserializeOwned>(
    what: &str,
    body: &[u8],
) -> Result<T, RegistryError> {
    serde_json::from_slice(body).map_err(|e| {
        let text = String::from_utf8_lossy(body);
        let excerpt: String = text.trim().chars().take(60).collect();
        RegistryError::Unreadable {
            what: what.to_owned(),
            detail: format!(
                "{e}; body begins {:?}",
                crate::codes::clean_message(&excerpt)
            ),
        }
    })
}

pub(crate) fn decode<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, RegistryError> {
    serde_json::from_slice(body).map_err(|e| RegistryError::Protocol {
        what: what.to_owned(),
        detail: e.to_string(),
    })
}

/// The HTTP client both registry APIs use: rustls with certificate checks, our user agent, `headers` on
/// every request, and `timeout` per request (connecting gives up sooner).
pub(crate) fn http_client(
    headers: reqwest::header::HeaderMap,
    timeout: Duration,
) -> Result<Client, RegistryError> {
    Client::builder()
        .default_headers(headers)
        .user_agent(concat!("labelstation/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(|e| RegistryError::Config(format!("cannot set up HTTPS: {e}")))
}
