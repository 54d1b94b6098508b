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

/// The longest message kept from an error body.
const MAX_MESSAGE: usize = 300;
/// At most this many messages are kept.
const MAX_MESSAGES: usize = 20;

/// Turn an error answer into an [`ApiError`]. Never fails: an unknown shape keeps a bounded excerpt.
pub fn parse_error_body(status: u16, body: &[u8]) -> ApiError {
    let mut err = ApiError {
        status,
        messages: Vec::new(),
        field_errors: Vec::new(),
    };
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return err;
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(trimmed) else {
        err.messages.push(clean(trimmed));
        return err;
    };
    collect(&value, &mut err);
    if err.messages.is_empty() && err.field_errors.is_empty() {
        err.messages.push(clean(&value.to_string()));
    }
    err.messages.truncate(MAX_MESSAGES);
    err.field_errors.truncate(MAX_MESSAGES);
    err
}

fn collect(v: &serde_json::Value, err: &mut ApiError) {
    use serde_json::Value;
    let Value::Object(map) = v else {
        if let Value::String(s) = v {
            err.messages.push(clean(s));
        }
        return;
    };
    let text_of = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(clean(s)),
            Value::Object(o) => {
                let msg = ["error", "message", "errorMessage", "error_message"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(Value::as_str))?;
                let code = o.get("errorCode").map(|c| match c {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                Some(match code {
                    Some(c) => clean(&format!("{msg} (code {c})")),
                    None => clean(msg),
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
                    field: clean(field),
                    message: clean(msg),
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
            let s = clean(s);
            if !err.messages.contains(&s) {
                err.messages.push(s);
            }
        }
    }
}

/// Bound a message, drop control characters, and cut any marking code in it to its identification part.
pub fn clean(s: &str) -> String {
    // Redact first: a code's GS separators are control characters and must still hold it together.
    let redacted: String = redact_codes(s)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let redacted = redacted.trim().to_owned();
    if redacted.chars().count() > MAX_MESSAGE {
        let mut cut: String = redacted.chars().take(MAX_MESSAGE).collect();
        cut.push('…');
        cut
    } else {
        redacted
    }
}

/// Replace what follows the identification part of any marking code in `s` (`01` + 14 digits + `21` +
/// serial) by `…`, so a crypto tail echoed by the registry never reaches a log or a screen.
pub fn redact_codes(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    while i + 18 <= b.len() {
        let is_code = b[i] == b'0'
            && b[i + 1] == b'1'
            && b[i + 2..i + 16].iter().all(u8::is_ascii_digit)
            && b[i + 16] == b'2'
            && b[i + 17] == b'1';
        if !is_code {
            i += 1;
            continue;
        }
        // The code runs to whitespace, a quote or a comma (its GS separators are not whitespace). The
        // serial ends at its GS if one is within 20 characters; otherwise keep footwear's 13.
        let serial_start = i + 18;
        let token_end = b[serial_start..]
            .iter()
            .position(|&c| c.is_ascii_whitespace() || c == b'"' || c == b',')
            .map_or(b.len(), |p| serial_start + p);
        let serial_len = b[serial_start..token_end]
            .iter()
            .take(21)
            .position(|&c| c == 0x1D || c == b'<')
            .unwrap_or(13);
        let keep = (serial_start + serial_len).min(token_end);
        if token_end > keep && s.is_char_boundary(keep) && s.is_char_boundary(token_end) {
            out.push_str(&s[copied..keep]);
            out.push('…');
            copied = token_end;
        }
        i = token_end.max(i + 1);
    }
    out.push_str(&s[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // Text without codes is untouched; a GTIN alone is not a code.
        assert_eq!(
            redact_codes("GTIN 04601234567893 unknown"),
            "GTIN 04601234567893 unknown"
        );
        assert_eq!(redact_codes("é0104601234567893"), "é0104601234567893");
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
