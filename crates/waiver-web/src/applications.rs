//! Application endpoints: file (draft or submit), list and read in scope, amend, submit,
//! withdraw, and screening by an officer.

use std::collections::BTreeMap;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use waiver_domain::accounts::Role;
use waiver_domain::application::{ApplicationSpec, Event, FieldProblem, State, Validated};
use waiver_domain::BjTime;
use waiver_store::{Actor, Application, Scope};

use crate::auth::{authorize, Action, Caller};
use crate::error::Path;
use crate::error::Query;
use crate::error::{ApiError, JsonBody};
use crate::AppState;

pub const DEFAULT_PAGE_SIZE: i64 = 50;

#[derive(Deserialize, IntoParams)]
pub struct FileParams {
    /// Submit at once (default: keep as a draft).
    #[serde(default)]
    pub submit: bool,
}

#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    pub state: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
pub struct VersionParams {
    /// The version the change is based on (optimistic concurrency).
    pub version: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationList {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Application>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Screening {
    /// `accept` or `return`.
    pub decision: String,
    /// For `return`: what to fix, per field (e.g. `contract.supplier`).
    #[serde(default)]
    pub reasons: BTreeMap<String, String>,
}

pub(crate) fn now() -> BjTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    BjTime(secs + 8 * 3600)
}

pub(crate) fn problems(p: Vec<FieldProblem>) -> ApiError {
    let first = p
        .first()
        .map(|f| (f.field.clone(), f.message.clone()))
        .unwrap_or_default();
    let mut e = ApiError::validation(
        first.0,
        format!("{} problem(s); the first: {}", p.len(), first.1),
    );
    e.problems = p;
    e
}

/// The enterprises whose applications the caller may see and act for.
pub(crate) async fn caller_scope(s: &AppState, caller: &Caller) -> Result<Scope, ApiError> {
    let user = caller.0.as_ref().ok_or_else(ApiError::unauthenticated)?;
    match user.role {
        Role::Officer | Role::Admin => Ok(Scope::All),
        Role::Applicant => {
            let own = user.enterprise.clone().unwrap_or_default();
            let mut codes = vec![own.clone()];
            if let Ok(code) = waiver_domain::RegistrationCode::parse(&own) {
                codes.extend(s.store.members(&code).await?);
            }
            Ok(Scope::Enterprises(codes))
        }
        // Experts see the applications they review or reviewed; not one they withdrew from
        // over a conflict.
        Role::Expert => Ok(Scope::Numbers(
            s.store
                .assignments_of(&user.username)
                .await?
                .into_iter()
                .filter(|a| a.status != "replaced")
                .map(|a| a.application)
                .collect(),
        )),
        Role::Customs | Role::Analyst => Err(ApiError::forbidden("read applications")),
    }
}

fn in_scope(scope: &Scope, a: &Application) -> bool {
    match scope {
        Scope::All => true,
        Scope::Enterprises(codes) => codes.contains(&a.enterprise),
        Scope::Numbers(numbers) => numbers.contains(&a.number),
    }
}

/// The actor, recording the member an association files for.
fn actor_for(caller: &Caller, enterprise: &str) -> Actor {
    let own = caller.0.as_ref().and_then(|u| u.enterprise.as_deref());
    Actor {
        user: caller.name().to_owned(),
        on_behalf_of: (own != Some(enterprise)).then(|| enterprise.to_owned()),
    }
}

pub(crate) async fn load(
    s: &AppState,
    caller: &Caller,
    number: &str,
) -> Result<Application, ApiError> {
    let scope = caller_scope(s, caller).await?;
    let a = s.store.application(number).await?;
    // Out-of-scope records are reported as absent, so numbers cannot be probed.
    a.filter(|a| in_scope(&scope, a))
        .ok_or_else(|| ApiError::not_found(format!("no application {number} that you may see")))
}

pub(crate) async fn validate(s: &AppState, spec: &ApplicationSpec) -> Result<Validated, ApiError> {
    let (programme, _) = s.store.programme(&spec.programme).await?.ok_or_else(|| {
        ApiError::validation(
            "programme",
            format!(
                "no programme {}; GET /api/v1/programmes lists them",
                spec.programme
            ),
        )
    })?;
    let at = now();
    let v = spec
        .validate(&programme, &s.schedule, at)
        .map_err(problems)?;
    // Intake suspended by a published policy change (not by a pop-up).
    let changes = s.store.policy_changes(Some(&spec.programme)).await?;
    for pc in changes.iter().filter(|p| p.superseded_by.is_none()) {
        if let Ok(change) = pc.spec.validate() {
            if change.suspends(&v.line, at) {
                return Err(ApiError::validation(
                    "line",
                    format!(
                        "intake for line {} is suspended from {} by policy change {}: {}",
                        v.line, change.effective_at, pc.number, pc.spec.reason
                    ),
                ));
            }
        }
    }
    Ok(v)
}

#[utoipa::path(post, path = "/api/v1/applications", params(FileParams), request_body(content = Object, description = "an application document (ApplicationSpec)"),
    responses((status = 201, body = Object), (status = 409, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn file(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Query(params): Query<FileParams>,
    body: Result<JsonBody<ApplicationSpec>, ApiError>,
) -> Result<(StatusCode, Json<Application>), ApiError> {
    authorize(&caller, Action::FileApplications)?;
    let spec = body?.0;
    let scope = caller_scope(&s, &caller).await?;
    let allowed = match &scope {
        Scope::All => false,
        Scope::Enterprises(codes) => codes.contains(&spec.enterprise),
        Scope::Numbers(_) => false,
    };
    if !allowed {
        return Err(ApiError::validation("enterprise", format!("you may not file for {}; file for your own enterprise or, as an association, for a member", spec.enterprise)));
    }
    let v = validate(&s, &spec).await?;
    let (year, ..) = now().civil();
    let a = s
        .store
        .create_application(
            &actor_for(&caller, &spec.enterprise),
            &spec,
            &v,
            params.submit,
            year,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

#[utoipa::path(get, path = "/api/v1/applications", params(ListParams), responses((status = 200, body = ApplicationList)), security(("bearer" = [])))]
pub async fn list(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> Result<Json<ApplicationList>, ApiError> {
    authorize(&caller, Action::ReadApplications)?;
    let scope = caller_scope(&s, &caller).await?;
    let state = match p.state.as_deref() {
        None => None,
        Some(raw) => Some(
            State::parse(raw)
                .ok_or_else(|| ApiError::validation("state", format!("unknown state `{raw}`")))?,
        ),
    };
    let limit = p.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=waiver_store::applications::MAX_PAGE_SIZE).contains(&limit) {
        return Err(ApiError::validation(
            "limit",
            format!(
                "a page holds 1 to {} items",
                waiver_store::applications::MAX_PAGE_SIZE
            ),
        ));
    }
    let offset = p.offset.unwrap_or(0).max(0);
    let items = s.store.applications(&scope, state, limit, offset).await?;
    Ok(Json(ApplicationList {
        items,
        limit,
        offset,
    }))
}

#[utoipa::path(get, path = "/api/v1/applications/{number}", params(("number" = String, Path)), responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn get(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Result<Json<Application>, ApiError> {
    authorize(&caller, Action::ReadApplications)?;
    Ok(Json(load(&s, &caller, &number).await?))
}

/// Replaces the document of a draft, or of a returned application (which resubmits it).
#[utoipa::path(put, path = "/api/v1/applications/{number}", params(("number" = String, Path), VersionParams), request_body(content = Object),
    responses((status = 200, body = Object), (status = 409, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn amend(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Query(v): Query<VersionParams>,
    body: Result<JsonBody<ApplicationSpec>, ApiError>,
) -> Result<Json<Application>, ApiError> {
    authorize(&caller, Action::FileApplications)?;
    let a = load(&s, &caller, &number).await?;
    let spec = body?.0;
    if spec.enterprise != a.enterprise || spec.programme != a.programme {
        return Err(ApiError::validation(
            "enterprise",
            "an amendment keeps the application's enterprise and programme",
        ));
    }
    let validated = validate(&s, &spec).await?;
    let events: &[Event] = match a.state {
        State::Draft => &[],
        State::Returned => &[Event::Resubmit],
        other => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!(
                    "an application that is {} cannot be amended",
                    other.as_str()
                ),
            ))
        }
    };
    let out = s
        .store
        .transition(
            &Actor::user(caller.name()),
            &number,
            events,
            v.version,
            Some((&spec, &validated)),
            None,
        )
        .await?;
    Ok(Json(out))
}

async fn applicant_event(
    s: AppState,
    caller: Caller,
    number: String,
    v: Option<i64>,
    event: Event,
) -> Result<Json<Application>, ApiError> {
    authorize(&caller, Action::FileApplications)?;
    load(&s, &caller, &number).await?;
    Ok(Json(
        s.store
            .transition(
                &Actor::user(caller.name()),
                &number,
                &[event],
                v,
                None,
                None,
            )
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/applications/{number}/submit", params(("number" = String, Path), VersionParams), responses((status = 200, body = Object), (status = 409, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn submit(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Query(v): Query<VersionParams>,
) -> Result<Json<Application>, ApiError> {
    applicant_event(s, caller, number, v.version, Event::Submit).await
}

#[utoipa::path(post, path = "/api/v1/applications/{number}/withdraw", params(("number" = String, Path), VersionParams), responses((status = 200, body = Object), (status = 409, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn withdraw(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Query(v): Query<VersionParams>,
) -> Result<Json<Application>, ApiError> {
    applicant_event(s, caller, number, v.version, Event::Withdraw).await
}

#[utoipa::path(post, path = "/api/v1/applications/{number}/screen", params(("number" = String, Path), VersionParams), request_body = Screening,
    responses((status = 200, body = Object), (status = 409, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn screen(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Query(v): Query<VersionParams>,
    body: Result<JsonBody<Screening>, ApiError>,
) -> Result<Json<Application>, ApiError> {
    authorize(&caller, Action::ScreenApplications)?;
    let body = body?.0;
    load(&s, &caller, &number).await?;
    let (events, notes): (&[Event], _) = match body.decision.as_str() {
        "accept" => (&[Event::StartScreening, Event::Accept], None),
        "return" => {
            if body.reasons.is_empty()
                || body.reasons.len() > 50
                || body
                    .reasons
                    .iter()
                    .any(|(k, r)| k.len() > 64 || r.trim().is_empty() || r.chars().count() > 2000)
            {
                return Err(ApiError::validation(
                    "reasons",
                    "returning needs 1 to 50 reasons, each naming a field and saying what to fix",
                ));
            }
            (
                &[Event::StartScreening, Event::Return],
                Some(serde_json::to_value(&body.reasons).unwrap_or_default()),
            )
        }
        other => {
            return Err(ApiError::validation(
                "decision",
                format!("`{other}` is not a decision; use accept or return"),
            ))
        }
    };
    Ok(Json(
        s.store
            .transition(
                &Actor::user(caller.name()),
                &number,
                events,
                v.version,
                None,
                notes,
            )
            .await?,
    ))
}
