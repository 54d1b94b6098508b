// SPDX-License-Identifier: GPL-3.0-or-later
//! What both registry APIs have in common on the wire: error bodies, secrets, lenient numbers.
//!
//! Registry error bodies come in several shapes (the research lists them): the KZ OMS form with
//! `globalErrors` as plain strings, the RU form with objects `{error, errorCode}`, gateway bodies
//! `{timestamp, status, error, message, path}` or `{error_message}`, an empty body (xTrace answers 406
//! with nothing), or an HTML page from a proxy. All become one [`ApiError`] whose text is safe to log and
//! show: bounded, without control characters, and with any marking code cut to its identification part
//! (a registry may echo a full code, crypto tail included).

use std::fmt;

use crate::codes::clean_message;

use serde::{Deserialize, Deserializer, Serialize};

/// A credential or token. Never printed: `Debug` shows `***`, and there is no `Display`.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Accept a number sent as a JSON number or as a string of digits (`accessTokenExpiresIn: "1800000"`,
/// `businessPlaceId` as string or int: both seen in the registry's own documents).
pub fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        Int(i64),
        Text(String),
    }
    match N::deserialize(d)? {
        N::Int(n) => Ok(n),
        N::Text(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("expected a number, got {s:?}"))),
    }
}

/// [`lenient_i64`] for optional fields (absent or null is `None`).
pub fn lenient_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "lenient_i64")] i64);
    Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
}

/// A field-level complaint of the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// How the station should react to an error status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ErrorClass {
    /// 401: the token expired or was revoked: refresh once, then fail.
    Unauthorized,
    /// 403: the account lacks a permission: a supervisor must fix the registry account.
    Forbidden,
    /// 404: the order, report or block does not exist.
    NotFound,
    /// 406: the request lacked `Accept: */*`: a bug in the client.
    NotAcceptable,
    /// 408, 429, 5xx: try again later, with backoff.
    Retryable,
    /// Other 4xx: the request is wrong; retrying will not help.
    Rejected,
}

/// An error answer of a registry, in a form safe to log and show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    pub status: u16,
    pub messages: Vec<String>,
    pub field_errors: Vec<FieldError>,
    /// Seconds the registry asked to wait before the next request (`Retry-After`, with 429 or 503).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    pub fn class(&self) -> ErrorClass {
        match self.status {
            401 => ErrorClass::Unauthorized,
            403 => ErrorClass::Forbidden,
            404 => ErrorClass::NotFound,
            406 => ErrorClass::NotAcceptable,
            408 | 429 | 500..=599 => ErrorClass::Retryable,
            _ => ErrorClass::Rejected,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        let mut parts: Vec<String> = self.messages.clone();
        parts.extend(
            self.field_errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message)),
        );
        if parts.is_empty() {
            parts.push(
                match self.status {
                    406 => "not acceptable (the request lacked Accept: */*)",
                    401 => "unauthorised",
                    429 => "too many requests",
                    _ => "no details in the answer",
                }
                .to_owned(),
            );
        }
        write!(f, ": {}", parts.join("; "))
    }
}

/// At most this many messages are kept.
const MAX_MESSAGES: usize = 20;

/// Turn an error answer into an [`ApiError`]. Never fails: an unknown shape keeps a bounded excerpt.
pub fn parse_error_body(status: u16, body: &[u8]) -> ApiError {
    let mut err = ApiError {
        status,
        messages: Vec::new(),
        field_errors: Vec::new(),
        retry_after_s: None,
    };
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return err;
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(trimmed) else {
        err.messages.push(clean_message(trimmed));
        return err;
    };
    collect(&value, &mut err);
    if err.messages.is_empty() && err.field_errors.is_empty() {
        err.messages.push(clean_message(&value.to_string()));
    }
    err.messages.truncate(MAX_MESSAGES);
    err.field_errors.truncate(MAX_MESSAGES);
    err
}

fn collect(v: &serde_json::Value, err: &mut ApiError) {
    use serde_json::Value;
    let Value::Object(map) = v else {
        if let Value::String(s) = v {
            err.messages.push(clean_message(s));
        }
        return;
    };
    let text_of = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(clean_message(s)),
            Value::Object(o) => {
                let msg = ["error", "message", "errorMessage", "error_message"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(Value::as_str))?;
                let code = o.get("errorCode").map(|c| match c {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                Some(match code {
                    Some(c) => clean_message(&format!("{msg} (code {c})")),
                    None => clean_message(msg),
                })
            }
            _ => None,
        }
    };
    if let Some(Value::Array(list)) = map.get("globalErrors") {
        err.messages.extend(list.iter().filter_map(text_of));
    }
    if let Some(Value::Array(list)) = map.get("errors") {
        err.messages.extend(list.iter().filter_map(text_of));
    }
    if let Some(Value::Array(list)) = map.get("fieldErrors") {
        for fe in list {
            let field = fe.get("fieldName").and_then(Value::as_str).unwrap_or("?");
            if let Some(msg) = fe.get("fieldError").and_then(Value::as_str) {
                err.field_errors.push(FieldError {
                    field: clean_message(field),
                    message: clean_message(msg),
                });
            }
        }
    }
    for key in [
        "error_message",
        "errorMessage",
        "message",
        "error",
        "rejectReason",
        "rejectionReason",
    ] {
        if let Some(Value::String(s)) = map.get(key)
            && !s.trim().is_empty()
        {
            let s = clean_message(s);
            if !err.messages.contains(&s) {
                err.messages.push(s);
            }
        }
    }
}

/// A `Retry-After` value: whole seconds, or an HTTP date (seconds from now; 0 if it has passed).
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<u64> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs);
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).map_or(0, |d| d.as_secs()))
}

/// Finds which of the codes a client asked about an echoed code is, whatever form the registry echoes
/// it in: the full code or its identification part (`01` GTIN `21` serial) alone; GS as the byte 0x1D,
/// written out (`\u001d`, `\x1d`, `<GS>`, `{GS}`) or missing; the bracketed human form `(01)…(21)…`;
/// with a symbology prefix (`]d2`). Codes are matched by identification code, which is unique.
#[derive(Debug, Default)]
pub struct IdentMatcher {
    by_ident: std::collections::HashMap<String, usize>,
    /// Lengths of the identification codes, longest first (a serial's length varies by product group).
    lens: Vec<usize>,
}

impl IdentMatcher {
    /// For `codes` (full codes or identification codes); an echo is matched to its index in `codes`.
    pub fn new<'a>(codes: impl IntoIterator<Item = &'a str>) -> IdentMatcher {
        let mut m = IdentMatcher::default();
        for (i, c) in codes.into_iter().enumerate() {
            let id = normalise_echo(c);
            let id = id.split('\u{1d}').next().unwrap_or_default().to_owned();
            if !m.lens.contains(&id.len()) {
                m.lens.push(id.len());
            }
            m.by_ident.entry(id).or_insert(i);
        }
        m.lens.sort_unstable_by(|a, b| b.cmp(a));
        m
    }

    /// The index of the code `echo` names, if any.
    pub fn find(&self, echo: &str) -> Option<usize> {
        let s = normalise_echo(echo);
        let head = s.split('\u{1d}').next().unwrap_or_default();
        if let Some(i) = self.by_ident.get(head) {
            return Some(*i);
        }
        // No separator left: the identification code followed directly by the next AI (91, 92, 93).
        self.lens.iter().find_map(|&len| {
            let (id, rest) = (s.get(..len)?, s.get(len..)?);
            let next_ai = ["91", "92", "93"].iter().any(|ai| rest.starts_with(ai));
            next_ai.then(|| self.by_ident.get(id).copied()).flatten()
        })
    }

    /// Whether `text` (a refusal's reason) names the code at `index` of those given: its identification
    /// code appears there, not followed by more serial characters.
    pub fn named_in(text: &str, code: &str) -> bool {
        let id = code.split('\u{1d}').next().unwrap_or(code);
        if id.len() < 18 {
            return false;
        }
        text.match_indices(id).any(|(at, _)| {
            text[at + id.len()..]
                .chars()
                .next()
                .is_none_or(|c| c.is_whitespace() || "…:;,.)]}\"'".contains(c))
        })
    }
}

/// An echoed code with GS restored as 0x1D and the bracketed form and symbology prefixes undone.
fn normalise_echo(echo: &str) -> String {
    let mut s = echo.trim().to_owned();
    for prefix in ["]d2", "]C1", "]Q3", "]d1"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.to_owned();
        }
    }
    for written in [
        "\\u001d", "\\u001D", "\\x1d", "\\x1D", "<GS>", "{GS}", "[GS]", "\u{241d}",
    ] {
        s = s.replace(written, "\u{1d}");
    }
    let s = s.trim_start_matches(['\u{1d}', '\u{e8}']).to_owned();
    if s.starts_with("(01)") {
        // (01)GTIN(21)SERIAL(91)…: rebuild the element string, GS after the serial.
        let mut out = String::new();
        for part in s.split('(').filter(|p| !p.is_empty()) {
            let Some((ai, value)) = part.split_once(')') else {
                return s;
            };
            if !out.is_empty() && ai != "21" {
                out.push('\u{1d}');
            }
            out.push_str(ai);
            out.push_str(value);
        }
        return out;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::MAX_MESSAGE;

    #[test]
    fn error_shapes() {
        // KZ OMS: plain strings.
        let e = parse_error_body(
            400,
            "{\"success\":false,\"globalErrors\":[\"Order declined: 0106: GTIN not in registry\"],\"fieldErrors\":[{\"fieldName\":\"products[0].quantity\",\"fieldError\":\"must be <= 150000\"}]}".as_bytes(),
        );
        assert_eq!(
            e.messages,
            vec!["Order declined: 0106: GTIN not in registry"]
        );
        assert_eq!(e.field_errors[0].field, "products[0].quantity");
        assert_eq!(e.class(), ErrorClass::Rejected);
        assert_eq!(
            e.to_string(),
            "HTTP 400: Order declined: 0106: GTIN not in registry; products[0].quantity: must be <= 150000"
        );
        // RU OMS: objects with codes.
        let e = parse_error_body(
            400,
            br#"{"globalErrors":[{"error":"Bad block","errorCode":4001}]}"#,
        );
        assert_eq!(e.messages, vec!["Bad block (code 4001)"]);
        // Gateway bodies.
        let e = parse_error_body(
            503,
            br#"{"timestamp":"2025-01-01","status":503,"error":"Service Unavailable","message":"upstream down","path":"/api/codes"}"#,
        );
        assert_eq!(e.messages, vec!["upstream down", "Service Unavailable"]);
        assert_eq!(e.class(), ErrorClass::Retryable);
        assert_eq!(
            parse_error_body(401, br#"{"error_message":"token expired"}"#).messages,
            vec!["token expired"]
        );
        // xTrace 406 has no body at all.
        let e = parse_error_body(406, b"");
        assert_eq!(
            (e.class(), e.to_string()),
            (
                ErrorClass::NotAcceptable,
                "HTTP 406: not acceptable (the request lacked Accept: */*)".to_owned()
            )
        );
        // A proxy's HTML page: kept short and clean.
        let html = format!("<html>\n<body>{}</body></html>", "x".repeat(5000));
        let e = parse_error_body(502, html.as_bytes());
        assert!(e.messages[0].chars().count() <= MAX_MESSAGE + 1 && !e.messages[0].contains('\n'));
        // Unknown JSON keeps an excerpt rather than nothing.
        assert_eq!(
            parse_error_body(418, br#"{"teapot":true}"#).messages,
            vec![r#"{"teapot":true}"#]
        );
        assert_eq!(parse_error_body(429, b"[]").class(), ErrorClass::Retryable);
    }

    #[test]
    fn echoed_codes_lose_their_crypto_tail() {
        let code = "0104601234567893215ABCdef!%&'*\u{1d}91AB12\u{1d}92ZmFrZWNyeXB0b3RhaWxmYWtlY3J5cHRvdGFpbGZha2U=";
        let body = serde_json::json!({ "globalErrors": [format!("code {code} is not in RECEIVED state")] });
        let e = parse_error_body(400, body.to_string().as_bytes());
        let msg = &e.messages[0];
        assert!(
            msg.starts_with("code 0104601234567893215ABCdef!%&'*…"),
            "{msg}"
        );
        assert!(msg.ends_with(" is not in RECEIVED state"), "{msg}");
        assert!(!msg.contains("ZmFrZ") && !msg.contains("AB12"), "{msg}");
        // Not JSON at all (a raw GS inside): the excerpt is redacted the same way.
        let raw = format!("bad code {code}");
        let e = parse_error_body(500, raw.as_bytes());
        assert_eq!(e.messages, vec!["bad code 0104601234567893215ABCdef!%&'*…"]);
    }

    #[test]
    fn echoed_codes_are_matched_by_identification_code() {
        let full = "0104601234567893215ABCdef!%&'*\u{1d}91AB12\u{1d}92ZmFrZWNyeXB0b3RhaWw=";
        let other = "0104601234567893215ABCdef!%&'X\u{1d}91CD34\u{1d}92b3RoZXJ0YWls";
        let m = IdentMatcher::new([full, other]);
        let table: &[(&str, Option<usize>)] = &[
            (full, Some(0)),
            ("0104601234567893215ABCdef!%&'*", Some(0)),
            (
                "0104601234567893215ABCdef!%&'*\\u001d91AB12\\u001d92ZmFrZWNyeXB0b3RhaWw=",
                Some(0),
            ),
            (
                "0104601234567893215ABCdef!%&'*<GS>91AB12<GS>92ZmFrZWNyeXB0b3RhaWw=",
                Some(0),
            ),
            (
                "0104601234567893215ABCdef!%&'*91AB1292ZmFrZWNyeXB0b3RhaWw=",
                Some(0),
            ),
            ("]d20104601234567893215ABCdef!%&'*\u{1d}91AB12", Some(0)),
            (
                "(01)04601234567893(21)5ABCdef!%&'*(91)AB12(92)ZmFr",
                Some(0),
            ),
            ("  0104601234567893215ABCdef!%&'X  ", Some(1)),
            ("0104601234567893215ABCdef!%&'Y", None),
            ("0104601234567893215ABCdef!%&'", None),
            ("", None),
        ];
        for (echo, want) in table {
            assert_eq!(m.find(echo), *want, "{echo:?}");
        }
        assert!(IdentMatcher::named_in(
            "0104601234567893215ABCdef!%&'*…: not issued to this participant",
            full
        ));
        assert!(!IdentMatcher::named_in(
            "0104601234567893215ABCdef!%&'*Z…: not issued",
            full
        ));
        assert!(!IdentMatcher::named_in("insufficient balance", full));
        assert_eq!(
            parse_retry_after(" 7 ", std::time::SystemTime::now()),
            Some(7)
        );
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_445_412_400);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(80)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn secrets_and_numbers() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        #[derive(Deserialize)]
        struct T {
            #[serde(deserialize_with = "lenient_i64")]
            a: i64,
            #[serde(default, deserialize_with = "lenient_opt_i64")]
            b: Option<i64>,
        }
        let t: T = serde_json::from_str(r#"{"a":"1800000","b":7}"#).unwrap();
        assert_eq!((t.a, t.b), (1_800_000, Some(7)));
        let t: T = serde_json::from_str(r#"{"a":5}"#).unwrap();
        assert_eq!(t.b, None);
        assert!(serde_json::from_str::<T>(r#"{"a":"soon"}"#).is_err());
    }
}
