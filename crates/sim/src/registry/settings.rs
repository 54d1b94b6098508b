// SPDX-License-Identifier: GPL-3.0-or-later
//! How the simulated registry behaves: its configuration and the hard cases it can be told to play
//! (faults on any request, refusals of whole reports, the hard cases of ordering codes, the layouts of its
//! code lookup).

use super::*;

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
