// SPDX-License-Identifier: GPL-3.0-or-later
//! Messages of the markirovka.kz "xTrace ICOM REST API" v1.0 (shared research, registry API section 3).
//!
//! Field names follow the official document. Statuses the document does not list deserialise as
//! `Unknown` rather than failing, so a registry that adds a status does not stop the line; the client
//! treats `Unknown` as "not yet" and logs it.

use serde::{Deserialize, Serialize};

use super::wire::{Secret, lenient_i64};

/// `POST /api/users/authenticate`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthRequest {
    pub login: String,
    pub password: Secret,
}

/// Answer to authenticate and to `POST /api/users/tokens/refresh`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    pub access_token: Secret,
    #[serde(default)]
    pub access_token_type: Option<String>,
    /// Lifetime in milliseconds (the document shows `"1800000"`, a string).
    #[serde(deserialize_with = "lenient_i64")]
    pub access_token_expires_in: i64,
    #[serde(default)]
    pub refresh_token: Option<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SerialNumberType {
    SelfMade,
    Operator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CisType {
    Unit,
    Group,
    Set,
}

/// Order release method. `COMISSION` is spelt as in the registry's document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReleaseMethod {
    Primary,
    Remains,
    #[serde(rename = "COMISSION")]
    Commission,
    Remark,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderProduct {
    pub gtin: String,
    pub quantity: u32,
    pub serial_number_type: SerialNumberType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_numbers: Option<Vec<String>>,
    pub cis_type: CisType,
}

/// `POST /api/orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrder {
    pub product_group: String,
    pub products: Vec<OrderProduct>,
    #[serde(deserialize_with = "lenient_i64")]
    pub business_place_id: i64,
    pub release_method_type: ReleaseMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub po_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreated {
    pub order_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Created,
    Pending,
    Ready,
    Closed,
    Outsourced,
    Rejected,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderInfo {
    pub order_id: String,
    /// The station's key, if the listing shows it (the description does not say it does).
    #[serde(default)]
    pub po_number: Option<String>,
    #[serde(default)]
    pub product_group: Option<String>,
    pub order_status: OrderStatus,
    #[serde(default)]
    pub reject_reason: Option<String>,
}

/// `GET /api/orders`: an empty list with 200 is normal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Orders {
    #[serde(default)]
    pub order_infos: Vec<OrderInfo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BufferStatus {
    Pending,
    Active,
    Exhausted,
    Rejected,
    Closed,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubOrderInfo {
    pub parent_order_id: String,
    pub gtin: String,
    pub buffer_status: BufferStatus,
    #[serde(default)]
    pub available_codes: i64,
    #[serde(default)]
    pub left_in_buffer: i64,
    #[serde(default)]
    pub total_passed: i64,
    #[serde(default)]
    pub last_pack_id: Option<String>,
    #[serde(default)]
    pub rejection_reason: Option<String>,
}

/// `GET /api/orders/sub-orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SubOrders {
    #[serde(default)]
    pub sub_order_infos: Vec<SubOrderInfo>,
}

/// `GET /api/codes`: one pack (the older platform's "block").
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodesPack {
    pub codes: Vec<String>,
    pub pack_id: String,
}

impl std::fmt::Debug for CodesPack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The codes carry crypto tails: never print them.
        f.debug_struct("CodesPack")
            .field("pack_id", &self.pack_id)
            .field("codes", &self.codes.len())
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackInfo {
    pub pack_id: String,
    pub quantity: i64,
    #[serde(default)]
    pub pack_date_time: Option<serde_json::Value>,
}

/// `GET /api/codes/packs`: what was issued, to recover a lost answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Packs {
    pub order_id: String,
    pub gtin: String,
    #[serde(default)]
    pub packs: Vec<PackInfo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReleaseType {
    Production,
    Import,
    Circulation,
}

/// `POST /api/utilisation` ("нанесение"): one product group per report, processed atomically.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Utilisation {
    pub product_group: String,
    pub sntins: Vec<String>,
    #[serde(deserialize_with = "lenient_i64")]
    pub business_place_id: i64,
    pub release_type: ReleaseType,
    /// `YYYY-MM-DD`.
    pub production_date: String,
    /// `YYYY-MM-DD`.
    pub expiration_date: String,
    /// ISO 3166-1 alpha-2.
    pub manufacturer_country: String,
}

impl std::fmt::Debug for Utilisation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Utilisation")
            .field("product_group", &self.product_group)
            .field("sntins", &self.sntins.len())
            .field("release_type", &self.release_type)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportCreated {
    pub report_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReportStatus {
    InProcess,
    Success,
    Error,
    #[serde(other)]
    Unknown,
}

/// `GET /api/utilisation/{reportId}`: sending is not done; poll until SUCCESS or ERROR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UtilisationStatus {
    pub report_id: String,
    pub report_status: ReportStatus,
    #[serde(default)]
    pub reject_reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WithdrawalType {
    Withdrawal,
    WriteOff,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalCode {
    pub code: String,
}

/// The body of a withdrawal document (write-off of spoiled stickers), before base64 wrapping.
/// Codes are identification parts (no crypto tail), as the document flow requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Withdrawal {
    #[serde(deserialize_with = "lenient_i64")]
    pub business_place_id: i64,
    pub withdrawal_type: WithdrawalType,
    /// `YYYY-MM-DD`.
    pub withdrawal_date: String,
    /// From the registry's reason dictionary, which its document does not publish (shared research,
    /// section 5: DEFECT, LOST, DESTRUCTION, OTHER … seen in client code): configurable.
    pub withdrawal_reason: String,
    /// Free text, for `OTHER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal_reason_other: Option<String>,
    pub codes: Vec<WithdrawalCode>,
}

/// The customs declaration (ДТ) an import document names. `date` is the registration date as the
/// registry's date-time (UTC midnight of the day); `authorityCode` is typed as a string in the field
/// table (its example shows a number): sent as a string (shared research, customs workflow 1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomsDeclaration {
    pub number: String,
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_code: Option<String>,
}

/// The body of an import document (`POST /public/api/v1/doc/import`, «Уведомление о ввозе»), before
/// base64 wrapping: identification codes (no crypto tail) or transport-package codes (SSCC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportDocument {
    #[serde(deserialize_with = "lenient_i64")]
    pub business_place_id: i64,
    pub codes: Vec<String>,
    pub customs_declaration: CustomsDeclaration,
}

/// One aggregate of an aggregation document: the unit's code (an SSCC for a box or pallet) and the
/// codes put into it, in the order given ("AS IS": arrays are never re-ordered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationUnit {
    pub aggregation_items_count: u32,
    pub aggregation_unit_capacity: u32,
    pub codes: Vec<String>,
    #[serde(default)]
    pub should_be_unbundled: bool,
    pub unit_serial_number: String,
}

/// The body of an aggregation document (`POST /public/api/v1/doc/aggregation`), before base64 wrapping.
/// `ownerTin` is the importer's BIN when the warehouse files for it as a service provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationDocument {
    pub aggregation_units: Vec<AggregationUnit>,
    #[serde(deserialize_with = "lenient_i64")]
    pub business_place_id: i64,
    /// The packing date-time, UTC.
    pub document_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_tin: Option<String>,
}

/// The body of a transport-code disaggregation (`POST /public/api/v1/doc/transport-code-disaggregation`):
/// the boxes or pallets unpacked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportDisaggregation {
    pub business_datetime: String,
    pub codes: Vec<String>,
}

/// A document's processing status (`GET /public/api/v1/doc/storage/docs/{id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocumentStatus {
    Created,
    Validating,
    InProcess,
    PartiallyProcessed,
    Success,
    Error,
    #[serde(other)]
    Unknown,
}

/// `GET /public/api/v1/doc/storage/docs/{id}`. The research names the statuses but not the exact
/// layout of the answer: the status is read from `status` or `documentStatus`, to be confirmed against
/// the live test environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentInfo {
    #[serde(default)]
    pub document_id: Option<String>,
    #[serde(alias = "documentStatus")]
    pub status: DocumentStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentError {
    #[serde(default)]
    pub property_name: Option<String>,
    #[serde(default)]
    pub index: Option<i64>,
    #[serde(default)]
    pub error_code: Option<serde_json::Value>,
    #[serde(default)]
    pub error_tags: Option<serde_json::Value>,
}

/// `GET /public/api/v1/doc/storage/errors/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DocumentErrors {
    #[serde(default)]
    pub document_errors: Vec<DocumentError>,
}

impl DocumentErrors {
    /// Positions of the codes the errors name (`propertyName` `codes`, or absent, with an `index`).
    pub fn code_indices(&self) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .document_errors
            .iter()
            .filter(|e| {
                e.property_name
                    .as_deref()
                    .is_none_or(|p| p.starts_with("codes"))
            })
            .filter_map(|e| e.index.and_then(|i| usize::try_from(i).ok()))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// One line a supervisor can read: `codes[0]: CODE_NOT_RECEIVED; …` (bounded by the caller).
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .document_errors
            .iter()
            .take(20)
            .map(|e| {
                let code = match &e.error_code {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                    None => "error".into(),
                };
                let tags = match &e.error_tags {
                    Some(serde_json::Value::Array(a)) if !a.is_empty() => format!(
                        " ({})",
                        a.iter()
                            .map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_owned))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Some(serde_json::Value::String(s)) => format!(" ({s})"),
                    _ => String::new(),
                };
                match (&e.property_name, e.index) {
                    (Some(p), Some(i)) => format!("{p}[{i}]: {code}{tags}"),
                    (Some(p), None) => format!("{p}: {code}{tags}"),
                    _ => format!("{code}{tags}"),
                }
            })
            .collect();
        if parts.is_empty() {
            "the registry refused the document without details".into()
        } else {
            parts.join("; ")
        }
    }
}

/// Encode a document body the way `/public/api/v1/doc/*` wants it: JSON with every object's keys
/// sorted A–Z (the registry checks a canonical form), then base64.
pub fn encode_document<T: Serialize>(body: &T) -> Result<String, serde_json::Error> {
    use base64::Engine as _;
    let v = sorted(serde_json::to_value(body)?);
    let text = serde_json::to_string(&v)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(text.as_bytes()))
}

/// Decode a document body (the simulator's side of [`encode_document`]).
pub fn decode_document<T: serde::de::DeserializeOwned>(b64: &str) -> Result<T, String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| format!("documentBody is not base64: {e}"))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("documentBody is not the expected JSON: {e}"))
}

/// Check that every object in a document's JSON has its keys in A–Z order, as the registry requires
/// of `/public/api/v1/doc/*` bodies (arrays keep their order). The simulator refuses a body that fails.
pub fn check_keys_sorted(json: &[u8]) -> Result<(), String> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    struct Check<'p>(&'p str);
    impl<'de> DeserializeSeed<'de> for Check<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Check<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Check(self.0))?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut last: Option<String> = None;
            while let Some(key) = map.next_key::<String>()? {
                if let Some(prev) = &last
                    && *prev >= key
                {
                    return Err(serde::de::Error::custom(format!(
                        "keys are not in A-Z order: \"{key}\" comes after \"{prev}\" in {}",
                        self.0
                    )));
                }
                map.next_value_seed(Check(&key))?;
                last = Some(key);
            }
            Ok(())
        }
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    Check("the document")
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| e.to_string())
}

/// Decode a document body strictly, as the registry does: base64, keys sorted A–Z at every level, then
/// the expected JSON.
pub fn decode_document_strict<T: serde::de::DeserializeOwned>(b64: &str) -> Result<T, String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| format!("documentBody is not base64: {e}"))?;
    check_keys_sorted(&bytes).map_err(|e| format!("documentBody refused: {e}"))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("documentBody is not the expected JSON: {e}"))
}

/// The same JSON with the keys of every object in A–Z order, whatever map type serde_json was built with.
fn sorted(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// `POST /public/api/v1/doc/*` envelope: base64 of the JSON body with keys sorted A–Z.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentEnvelope {
    pub document_body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentCreated {
    pub document_id: String,
}

/// One document in `GET /public/api/v1/doc/storage/docs/search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentSummary {
    pub document_id: String,
    #[serde(default, rename = "type")]
    pub doc_type: Option<String>,
    pub status: DocumentStatus,
    #[serde(default)]
    pub create_date: Option<String>,
}

/// `GET /public/api/v1/doc/storage/docs/search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DocumentSearch {
    #[serde(default)]
    pub document_infos: Vec<DocumentSummary>,
}

/// The codes of a stored document (`GET /public/api/v1/doc/storage/json/{id}`), whose layout the
/// registry does not document: the envelope as sent (`documentBody` in base64) or the body itself; codes
/// under `codes` (strings or `{code}` objects) or `sntins` (an application report); an aggregation
/// document as each unit's code (`unitSerialNumber`) followed by the codes put into it.
pub fn stored_document_codes(v: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    if let Some(Value::String(b64)) = v.get("documentBody")
        && let Ok(inner) = decode_document::<Value>(b64)
    {
        return stored_document_codes(&inner);
    }
    // An aggregation document: each unit's code (its SSCC) followed by the codes put into it.
    if let Some(units) = v.get("aggregationUnits").and_then(Value::as_array) {
        let mut out = Vec::new();
        for u in units {
            if let Some(sscc) = u.get("unitSerialNumber").and_then(Value::as_str) {
                out.push(sscc.to_owned());
            }
            out.extend(stored_document_codes(u));
        }
        return out;
    }
    let list = v
        .get("codes")
        .or_else(|| v.get("sntins"))
        .and_then(Value::as_array);
    list.map(|a| {
        a.iter()
            .filter_map(|c| match c {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("code").and_then(Value::as_str).map(str::to_owned),
                _ => None,
            })
            .collect()
    })
    .unwrap_or_default()
}

/// One code's state from `POST /public/api/cod/public/codes`: the code as the registry echoes it (with
/// or without its crypto tail) and its status (RECEIVED, APPLIED, INTRODUCED, WITHDRAWN, WRITTEN_OFF).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeState {
    pub code: String,
    pub status: String,
}

impl std::fmt::Debug for CodeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeState")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// The code lookup's answer, whose layout for several codes the registry does not document (its
/// example shows one object): a list of entries, one entry alone, or a list under `codes`, `results` or
/// `items`; each entry with `code` and `status` at its top or under `codeData` (the private lookup's
/// layout). Entries without both are skipped.
pub fn parse_code_lookup(v: &serde_json::Value) -> Option<Vec<CodeState>> {
    use serde_json::Value;
    let entry = |e: &Value| -> Option<CodeState> {
        let src = e.get("codeData").filter(|d| d.is_object()).unwrap_or(e);
        Some(CodeState {
            code: src.get("code")?.as_str()?.to_owned(),
            status: src
                .get("status")
                .or_else(|| e.get("status"))?
                .as_str()?
                .to_owned(),
        })
    };
    let list = match v {
        Value::Array(a) => a,
        Value::Object(o) => {
            match ["codes", "results", "items"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_array))
            {
                Some(a) => a,
                None => return entry(v).map(|c| vec![c]),
            }
        }
        _ => return None,
    };
    Some(list.iter().filter_map(entry).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_order_is_checked_at_every_level() {
        assert!(check_keys_sorted(br#"{"a":1,"b":{"c":[{"d":1,"e":2}],"z":null}}"#).is_ok());
        assert!(check_keys_sorted(br#"[{"a":1},{"b":2}]"#).is_ok());
        let e = check_keys_sorted(br#"{"b":1,"a":2}"#).unwrap_err();
        assert!(e.contains("\"a\" comes after \"b\""), "{e}");
        let e = check_keys_sorted(br#"{"a":{"y":1,"x":2}}"#).unwrap_err();
        assert!(e.contains("in a"), "{e}");
        assert!(check_keys_sorted(br#"{"a":[{"q":1,"p":2}]}"#).is_err());
        assert!(
            check_keys_sorted(br#"{"a":1,"a":2}"#).is_err(),
            "a repeated key is not sorted"
        );
        assert!(check_keys_sorted(br#"{"a":1} x"#).is_err());
        assert!(check_keys_sorted(b"").is_err());
        // What the station encodes passes.
        let doc = ImportDocument {
            business_place_id: 803,
            codes: vec!["0104870001000011215Ab3dE7gH9jK1".into()],
            customs_declaration: CustomsDeclaration {
                number: "55201/020326/0001234".into(),
                date: "2026-03-02T00:00:00Z".into(),
                authority_code: Some("55201".into()),
            },
        };
        let b64 = encode_document(&doc).unwrap();
        assert_eq!(decode_document_strict::<ImportDocument>(&b64).unwrap(), doc);
        // The research's example body, keys sorted.
        let plain = br#"{"businessPlaceId":803,"codes":["0104870001000011215Ab3dE7gH9jK1","00048700010000001230"],"customsDeclaration":{"authorityCode":"55201","date":"2026-03-02T00:00:00Z","number":"55201/020326/0001234"}}"#;
        assert!(check_keys_sorted(plain).is_ok());
        let unsorted = serde_json::to_vec(&serde_json::json!({"businessPlaceId": 803})).unwrap();
        assert!(check_keys_sorted(&unsorted).is_ok());
        use base64::Engine as _;
        let bad = base64::engine::general_purpose::STANDARD.encode(
            br#"{"codes":[],"businessPlaceId":803,"customsDeclaration":{"number":"1","date":"2"}}"#,
        );
        let e = decode_document_strict::<ImportDocument>(&bad).unwrap_err();
        assert!(e.contains("A-Z"), "{e}");
    }

    use super::*;

    #[test]
    fn documented_shapes_parse() {
        let a: AuthResponse = serde_json::from_str(
            r#"{"accessToken":"eyJhbGci","accessTokenType":"BEARER","accessTokenExpiresIn":"1800000","refreshToken":"r-1"}"#,
        )
        .unwrap();
        assert_eq!(a.access_token_expires_in, 1_800_000);
        assert_eq!(a.access_token.expose(), "eyJhbGci");
        assert!(
            !format!("{a:?}").contains("eyJhbGci"),
            "tokens never in Debug"
        );

        let subs: SubOrders = serde_json::from_str(
            r#"{"subOrderInfos":[{"parentOrderId":"o-1","gtin":"04601234567893","bufferStatus":"ACTIVE","cisType":"UNIT","availableCodes":100,"leftInBuffer":60,"totalPassed":40,"lastPackId":"p-2","createDate":"2025-11-01"}]}"#,
        )
        .unwrap();
        let s = &subs.sub_order_infos[0];
        assert_eq!(
            (s.buffer_status, s.left_in_buffer, s.last_pack_id.as_deref()),
            (BufferStatus::Active, 60, Some("p-2"))
        );
        let odd: SubOrderInfo =
            serde_json::from_str(r#"{"parentOrderId":"o","gtin":"g","bufferStatus":"ARCHIVED"}"#)
                .unwrap();
        assert_eq!(odd.buffer_status, BufferStatus::Unknown);

        let pack: CodesPack = serde_json::from_str(r#"{"codes":["0104601234567893215ABCDEFGH12345\u001d91AB12\u001d92secret"],"packId":"p-1"}"#).unwrap();
        assert!(pack.codes[0].contains('\u{1d}'));
        assert!(!format!("{pack:?}").contains("secret"));

        let st: UtilisationStatus =
            serde_json::from_str(r#"{"reportId":"r","reportStatus":"ERROR","rejectReason":"codes not RECEIVED","createdTimestamp":1}"#).unwrap();
        assert_eq!(st.report_status, ReportStatus::Error);
        let empty: Orders = serde_json::from_str("{}").unwrap();
        assert!(empty.order_infos.is_empty());
    }

    #[test]
    fn withdrawal_documents() {
        let w = Withdrawal {
            business_place_id: 7,
            withdrawal_type: WithdrawalType::WriteOff,
            withdrawal_date: "2026-01-31".into(),
            withdrawal_reason: "DEFECT".into(),
            withdrawal_reason_other: None,
            codes: vec![WithdrawalCode {
                code: "0104601234567893215ABCDEFGH1234".into(),
            }],
        };
        let b64 = encode_document(&w).unwrap();
        use base64::Engine as _;
        let text = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(&b64)
                .unwrap(),
        )
        .unwrap();
        // Keys A–Z at every level.
        assert_eq!(
            text,
            r#"{"businessPlaceId":7,"codes":[{"code":"0104601234567893215ABCDEFGH1234"}],"withdrawalDate":"2026-01-31","withdrawalReason":"DEFECT","withdrawalType":"WRITE_OFF"}"#
        );
        assert_eq!(decode_document::<Withdrawal>(&b64).unwrap(), w);
        assert!(decode_document::<Withdrawal>("not base64!").is_err());
        assert!(
            decode_document::<Withdrawal>("e30=").is_err(),
            "{{}} lacks fields"
        );
    }

    #[test]
    fn document_status_and_errors() {
        let table: &[(&str, Option<DocumentStatus>)] = &[
            (
                r#"{"documentId":"d","status":"SUCCESS"}"#,
                Some(DocumentStatus::Success),
            ),
            (
                r#"{"documentStatus":"IN_PROCESS"}"#,
                Some(DocumentStatus::InProcess),
            ),
            (
                r#"{"status":"PARTIALLY_PROCESSED"}"#,
                Some(DocumentStatus::PartiallyProcessed),
            ),
            (r#"{"status":"ARCHIVED"}"#, Some(DocumentStatus::Unknown)),
            (r#"{"status":7}"#, None),
            (r#"{}"#, None),
            (r#"[]"#, None),
        ];
        for (body, want) in table {
            let got = serde_json::from_str::<DocumentInfo>(body)
                .ok()
                .map(|d| d.status);
            assert_eq!(got, *want, "{body}");
        }
        let e: DocumentErrors = serde_json::from_str(
            r#"{"documentErrors":[{"propertyName":"codes","index":0,"errorCode":"CODE_NOT_RECEIVED","errorTags":["WRITTEN_OFF"]},{"errorCode":17}]}"#,
        )
        .unwrap();
        assert_eq!(e.summary(), "codes[0]: CODE_NOT_RECEIVED (WRITTEN_OFF); 17");
        assert_eq!(
            DocumentErrors::default().summary(),
            "the registry refused the document without details"
        );
    }

    #[test]
    fn lookup_answers_in_every_layout() {
        let table: &[(&str, Option<usize>)] = &[
            (
                r#"[{"code":"a","status":"APPLIED"},{"code":"b","status":"RECEIVED"}]"#,
                Some(2),
            ),
            (r#"{"codes":[{"code":"a","status":"APPLIED"}]}"#, Some(1)),
            (
                r#"{"results":[{"codeData":{"code":"a","status":"APPLIED"}}]}"#,
                Some(1),
            ),
            (
                r#"{"code":"0104601234567893215ABCDEFGH1234","isHadExtendedCode":false,"status":"RECEIVED"}"#,
                Some(1),
            ),
            (r#"[{"code":"a"},{"status":"APPLIED"},7]"#, Some(0)),
            (r#"{"teapot":true}"#, None),
            (r#""SUCCESS""#, None),
        ];
        for (body, want) in table {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(parse_code_lookup(&v).map(|l| l.len()), *want, "{body}");
        }
        let w = Withdrawal {
            business_place_id: 1,
            withdrawal_type: WithdrawalType::WriteOff,
            withdrawal_date: "2026-01-31".into(),
            withdrawal_reason: "DEFECT".into(),
            withdrawal_reason_other: None,
            codes: vec![WithdrawalCode {
                code: "0104601234567893215ABCDEFGH1234".into(),
            }],
        };
        let env = serde_json::json!({ "documentBody": encode_document(&w).unwrap() });
        assert_eq!(
            stored_document_codes(&env),
            vec!["0104601234567893215ABCDEFGH1234"]
        );
        let util = serde_json::json!({ "sntins": ["x", "y"], "productGroup": "shoes" });
        assert_eq!(stored_document_codes(&util), vec!["x", "y"]);
        assert!(stored_document_codes(&serde_json::json!({ "OK": true })).is_empty());
        let errors: DocumentErrors = serde_json::from_str(
            r#"{"documentErrors":[{"propertyName":"codes","index":3,"errorCode":"X"},{"index":1},{"propertyName":"businessPlaceId","index":0},{"errorCode":"Y"}]}"#,
        )
        .unwrap();
        assert_eq!(errors.code_indices(), vec![1, 3]);
    }

    #[test]
    fn requests_serialise_as_documented() {
        let order = CreateOrder {
            product_group: "shoes".into(),
            products: vec![OrderProduct {
                gtin: "04601234567893".into(),
                quantity: 500,
                serial_number_type: SerialNumberType::Operator,
                serial_numbers: None,
                cis_type: CisType::Unit,
            }],
            business_place_id: 42,
            release_method_type: ReleaseMethod::Commission,
            po_number: None,
        };
        assert_eq!(
            serde_json::to_string(&order).unwrap(),
            r#"{"productGroup":"shoes","products":[{"gtin":"04601234567893","quantity":500,"serialNumberType":"OPERATOR","cisType":"UNIT"}],"businessPlaceId":42,"releaseMethodType":"COMISSION"}"#
        );
        let back: CreateOrder = serde_json::from_str(
            &serde_json::to_string(&order)
                .unwrap()
                .replace("42", "\"42\""),
        )
        .unwrap();
        assert_eq!(back, order, "businessPlaceId as string or number");
        let auth = AuthRequest {
            login: "api-user".into(),
            password: Secret::new("pw"),
        };
        assert_eq!(
            serde_json::to_string(&auth).unwrap(),
            r#"{"login":"api-user","password":"pw"}"#
        );
        let dbg = format!("{auth:?}");
        assert!(dbg.contains("***") && !dbg.contains("\"pw\""), "{dbg}");
    }
}
