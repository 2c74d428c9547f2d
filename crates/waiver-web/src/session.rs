//! Browser sign-in: `POST /api/v1/session` sets an HttpOnly, SameSite=Strict cookie;
//! `DELETE /api/v1/session` ends it.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, JsonBody};
use crate::AppState;

pub const COOKIE: &str = "waiver_session";
/// Sessions expire after eight hours.
pub const SESSION_TTL_MS: i64 = 8 * 3600 * 1000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub username: String,
    pub password: String,
}

/// The session cookie's value in a request, if any.
pub fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
        .filter(|v| v.len() == 64)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Signs in; after 5 wrong passwords in 15 minutes the username is locked for 15 minutes (429).
#[utoipa::path(post, path = "/api/v1/session", request_body = SignIn,
    responses((status = 200, body = Object, description = "the user; sets the session cookie"), (status = 401, body = crate::error::ErrorEnvelope),
        (status = 429, body = crate::error::ErrorEnvelope, description = "too many wrong passwords for the username")))]
pub async fn sign_in(
    State(s): State<AppState>,
    body: Result<JsonBody<SignIn>, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
    let SignIn { username, password } = body?.0;
    if username.len() > 64 || password.len() > 512 {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "wrong username or password",
        ));
    }
    let now = now_ms();
    if let Err(secs) = s.sign_in_limiter.check(&username, now) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("too many wrong passwords for this username; try again in {secs} s"),
        ));
    }
    let Some(user) = s.store.authenticate(&username, &password).await? else {
        s.sign_in_limiter.failed(&username, now);
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "wrong username or password",
        ));
    };
    s.sign_in_limiter.succeeded(&username);
    let token = s.store.create_session(&user, SESSION_TTL_MS).await?;
    let cookie = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_TTL_MS / 1000
    );
    Ok(([(SET_COOKIE, cookie)], Json(user)))
}

#[utoipa::path(delete, path = "/api/v1/session", responses((status = 204)))]
pub async fn sign_out(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(token) = cookie(&headers) {
        s.store.delete_session(token).await?;
    }
    let clear = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, clear)]))
}
