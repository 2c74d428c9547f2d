//! Account administration over the API, for administrators: API tokens (list, revoke) and
//! users (disable, enable). A revocation or a disable here takes effect at once in this server
//! (its token cache is forgotten); each change is an audit entry on the user.

use axum::extract::State as AxState;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use waiver_domain::accounts::Username;
use waiver_store::{Actor, TokenInfo};

use crate::auth::{authorize, Action, Caller};
use crate::error::ApiError;
use crate::error::Path;
use crate::error::Query;
use crate::AppState;

type Res<T> = Result<T, ApiError>;

/// An API token as an administrator sees it (never the token: only its hash is stored).
#[derive(Serialize, ToSchema)]
pub struct TokenOut {
    /// The id to revoke it by.
    pub id: i64,
    pub username: String,
    pub label: String,
    pub created_at_ms: i64,
    /// When it was revoked; absent while it works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<i64>,
}

impl From<TokenInfo> for TokenOut {
    fn from(t: TokenInfo) -> TokenOut {
        TokenOut {
            id: t.id,
            username: t.username,
            label: t.label,
            created_at_ms: t.created_at_ms,
            revoked_at_ms: t.revoked_at_ms,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TokenList {
    pub items: Vec<TokenOut>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct TokenFilter {
    /// Only this user's tokens.
    pub user: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UserStateOut {
    pub username: String,
    pub disabled: bool,
    /// False when the user already was in that state.
    pub changed: bool,
}

fn username(field: &str, raw: &str) -> Res<Username> {
    Username::parse(raw).map_err(|e| ApiError::validation(field, e.to_string()))
}

/// API tokens, oldest first (administrators).
#[utoipa::path(get, path = "/api/v1/tokens", params(TokenFilter),
    responses((status = 200, body = TokenList), (status = 401, body = crate::error::ErrorEnvelope), (status = 403, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope), (status = 404, description = "no such user", body = crate::error::ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Query(f): Query<TokenFilter>,
) -> Res<Json<TokenList>> {
    authorize(&caller, Action::ManageAccounts)?;
    let user = f.user.as_deref().map(|u| username("user", u)).transpose()?;
    let items = s
        .store
        .tokens(user.as_ref().map(|u| u.as_str()))
        .await?
        .into_iter()
        .map(TokenOut::from)
        .collect();
    Ok(Json(TokenList { items }))
}

/// Revokes an API token by its id (administrators); this server refuses it from now on.
#[utoipa::path(post, path = "/api/v1/tokens/{id}/revoke", params(("id" = i64, Path,)),
    responses((status = 200, body = TokenOut), (status = 401, body = crate::error::ErrorEnvelope), (status = 403, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope), (status = 404, body = crate::error::ErrorEnvelope),
        (status = 409, description = "`token_revoked`: it already was", body = crate::error::ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn revoke(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Res<Json<TokenOut>> {
    authorize(&caller, Action::ManageAccounts)?;
    let t = s
        .store
        .revoke_token(&Actor::user(caller.name()), id)
        .await?;
    Ok(Json(t.into()))
}

async fn set_disabled(
    s: &AppState,
    caller: &Caller,
    name: &str,
    disabled: bool,
) -> Res<Json<UserStateOut>> {
    authorize(caller, Action::ManageAccounts)?;
    let name = username("username", name)?;
    if disabled && name.as_str() == caller.name() {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "self_disable",
            "administrators cannot disable themselves; ask another administrator",
        ));
    }
    let changed = s
        .store
        .set_user_disabled(&Actor::user(caller.name()), name.as_str(), disabled)
        .await?;
    Ok(Json(UserStateOut {
        username: name.as_str().to_owned(),
        disabled,
        changed,
    }))
}

/// Disables a user (administrators): no sign-in, sessions ended, API tokens refused.
#[utoipa::path(post, path = "/api/v1/users/{username}/disable", params(("username" = String, Path,)),
    responses((status = 200, body = UserStateOut), (status = 401, body = crate::error::ErrorEnvelope), (status = 403, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope), (status = 404, body = crate::error::ErrorEnvelope),
        (status = 409, description = "`last_admin`, or `self_disable`", body = crate::error::ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn disable(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Res<Json<UserStateOut>> {
    set_disabled(&s, &caller, &name, true).await
}

/// Enables a disabled user again (administrators); their API tokens work again.
#[utoipa::path(post, path = "/api/v1/users/{username}/enable", params(("username" = String, Path,)),
    responses((status = 200, body = UserStateOut), (status = 401, body = crate::error::ErrorEnvelope), (status = 403, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope), (status = 404, body = crate::error::ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn enable(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Res<Json<UserStateOut>> {
    set_disabled(&s, &caller, &name, false).await
}
