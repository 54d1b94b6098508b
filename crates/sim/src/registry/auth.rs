// SPDX-License-Identifier: GPL-3.0-or-later
//! The simulated registry's sign-in: bearer tokens that expire, refresh tokens used once, and the check
//! every xTrace request passes.

// Handler helpers return the axum `Response` to send as their error (see the parent module).
#![allow(clippy::result_large_err)]

use super::*;

pub(super) fn issue_tokens(s: &mut SimState) -> serde_json::Value {
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

pub(super) async fn authenticate(State(state): State<Shared>, body: Bytes) -> Response {
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

pub(super) async fn refresh(
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
pub(super) fn authorised(s: &SimState, headers: &HeaderMap) -> Result<(), Response> {
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
