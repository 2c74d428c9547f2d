//! Expert review and decisions over the API: the expert pool and declared interests,
//! assignment, conflicts, score sheets and their aggregate, the contact log, decisions and
//! countersignatures, appeals, allowances, policy changes, notifications, the public register
//! and service-level figures.

use axum::extract::State as AxState;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use waiver_domain::accounts::Role;
use waiver_domain::amount::{QtyUnit, Quantity, RatePpm};
use waiver_domain::policy::PolicyChangeSpec;
use waiver_domain::programme::Programme;
use waiver_domain::review::{
    aggregate, appeal_deadline, validate_decision, Aggregate, AppealOutcome, AppealSpec,
    DecisionSpec, ReconsiderationSpec, ScoreSheet, ScoreSheetSpec,
};
use waiver_store::decisions::{Appeal, Notification, PolicyChangeRecord, RegisterRow, Sla};
use waiver_store::review::{ContactRecord, Expert, ScoreRecord};
use waiver_store::{
    Actor, Allowance, Application, Assignment, Contact, DecisionRecord, ProductExclusion,
};

use crate::applications::{load, now, problems};
use crate::auth::{authorize, Action, Caller};
use crate::error::Path;
use crate::error::Query;
use crate::error::{ApiError, JsonBody};
use crate::AppState;

type Res<T> = Result<T, ApiError>;

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn actor(caller: &Caller) -> Actor {
    Actor::user(caller.name())
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

async fn programme_of(s: &AppState, a: &Application) -> Res<Programme> {
    Ok(s.store
        .programme(&a.programme)
        .await?
        .ok_or_else(|| internal(format!("programme {} is missing", a.programme)))?
        .0)
}

/// The quantity requested, its unit, and the contract's overfill clause.
pub(crate) fn requested(a: &Application) -> Res<(Quantity, QtyUnit, RatePpm)> {
    let unit = QtyUnit::parse(&a.spec.unit).ok_or_else(|| internal("stored unit"))?;
    let q = Quantity::parse(&a.spec.quantity, unit).map_err(internal)?;
    let overfill = match &a.spec.contract {
        Some(c) => RatePpm::parse_pct(&c.overfill_pct).map_err(internal)?,
        None => RatePpm(0),
    };
    Ok((q, unit, overfill))
}

/// The latest sheet of each current expert, validated against the programme.
async fn sheets(s: &AppState, a: &Application, p: &Programme) -> Res<Vec<ScoreSheet>> {
    let (q, unit, _) = requested(a)?;
    Ok(s.store
        .latest_sheets(&a.number, |sheet| {
            sheet.validate(&p.spec.review, q, unit).ok()
        })
        .await?)
}

// ---------------------------------------------------------------- experts and assignment

#[utoipa::path(get, path = "/api/v1/experts", responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
pub async fn experts(AxState(s): AxState<AppState>, caller: Caller) -> Res<Json<Vec<Expert>>> {
    authorize(&caller, Action::ManageReview)?;
    Ok(Json(s.store.experts().await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterestIn {
    /// An employer, client, shareholding or association, by name or customs code.
    pub interest: String,
}

/// An expert declares an interest (for themself).
#[utoipa::path(post, path = "/api/v1/me/interests", request_body = InterestIn, responses((status = 201, body = Object)), security(("bearer" = [])))]
pub async fn declare_interest(
    AxState(s): AxState<AppState>,
    caller: Caller,
    body: Res<JsonBody<InterestIn>>,
) -> Res<(StatusCode, Json<Vec<Expert>>)> {
    authorize(&caller, Action::Review)?;
    let body = body?.0;
    s.store
        .declare_interest(&actor(&caller), caller.name(), &body.interest)
        .await?;
    let me: Vec<Expert> = s
        .store
        .experts()
        .await?
        .into_iter()
        .filter(|e| e.username == caller.name())
        .collect();
    Ok((StatusCode::CREATED, Json(me)))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AssignIn {
    /// The draw's seed (decimal u64); a fresh random seed is drawn and recorded when absent.
    #[serde(default)]
    pub seed: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/applications/{number}/assign", params(("number" = String, Path)), request_body = AssignIn,
    responses((status = 201, body = Vec<Object>), (status = 409, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn assign(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    body: Res<JsonBody<AssignIn>>,
) -> Res<(StatusCode, Json<Vec<Assignment>>)> {
    authorize(&caller, Action::ManageReview)?;
    let body = body?.0;
    let a = load(&s, &caller, &number).await?;
    let p = programme_of(&s, &a).await?;
    let seed = match body.seed {
        Some(raw) => raw.trim().parse::<u64>().map_err(|_| {
            ApiError::validation(
                "seed",
                format!("`{raw}` is not a whole number from 0 to 18446744073709551615"),
            )
        })?,
        None => rand_seed(),
    };
    let out = s
        .store
        .assign_experts(
            &actor(&caller),
            &number,
            seed,
            usize::from(p.spec.review.experts_per_application),
            i64::from(p.spec.review.review_days),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

pub(crate) fn rand_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS; mixing in the clock gives a fresh seed per call.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(now_ms());
    h.finish()
}

#[utoipa::path(get, path = "/api/v1/applications/{number}/assignments", params(("number" = String, Path)), responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
pub async fn assignments(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Res<Json<Vec<Assignment>>> {
    authorize(&caller, Action::ReadReviews)?;
    load(&s, &caller, &number).await?;
    Ok(Json(s.store.assignments(&number).await?))
}

/// The caller's own assignments (experts).
#[utoipa::path(get, path = "/api/v1/assignments", responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
pub async fn my_assignments(
    AxState(s): AxState<AppState>,
    caller: Caller,
) -> Res<Json<Vec<Assignment>>> {
    authorize(&caller, Action::Review)?;
    Ok(Json(s.store.assignments_of(caller.name()).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConflictIn {
    /// The party the expert is connected with, and how.
    pub reason: String,
}

/// An assigned expert declares a conflict; another expert replaces them at once.
#[utoipa::path(post, path = "/api/v1/applications/{number}/conflict", params(("number" = String, Path)), request_body = ConflictIn,
    responses((status = 201, body = Object), (status = 404, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn declare_conflict(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    body: Res<JsonBody<ConflictIn>>,
) -> Res<(StatusCode, Json<Assignment>)> {
    authorize(&caller, Action::Review)?;
    let body = body?.0;
    let a = load(&s, &caller, &number).await?;
    let p = programme_of(&s, &a).await?;
    let out = s
        .store
        .declare_conflict(
            &actor(&caller),
            &number,
            &body.reason,
            i64::from(p.spec.review.review_days),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[utoipa::path(get, path = "/api/v1/reviews/overdue", responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
pub async fn overdue(AxState(s): AxState<AppState>, caller: Caller) -> Res<Json<Vec<Assignment>>> {
    authorize(&caller, Action::ReadReviews)?;
    Ok(Json(s.store.overdue_reviews(now_ms()).await?))
}

/// Escalates every overdue review not yet escalated (the expert and the officers are told).
#[utoipa::path(post, path = "/api/v1/reviews/escalate", responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
pub async fn escalate(AxState(s): AxState<AppState>, caller: Caller) -> Res<Json<Vec<Assignment>>> {
    authorize(&caller, Action::ManageReview)?;
    Ok(Json(
        s.store.escalate_overdue(&actor(&caller), now_ms()).await?,
    ))
}

// ---------------------------------------------------------------- scores and contacts

#[utoipa::path(post, path = "/api/v1/applications/{number}/scores", params(("number" = String, Path)), request_body(content = Object, description = "ScoreSheetSpec"),
    responses((status = 201, body = Object), (status = 422, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn score(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    body: Res<JsonBody<ScoreSheetSpec>>,
) -> Res<(StatusCode, Json<ScoreRecord>)> {
    authorize(&caller, Action::Review)?;
    let sheet = body?.0;
    let a = load(&s, &caller, &number).await?;
    let p = programme_of(&s, &a).await?;
    let (q, unit, _) = requested(&a)?;
    sheet.validate(&p.spec.review, q, unit).map_err(problems)?;
    let out = s.store.add_score(&actor(&caller), &number, &sheet).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Every version of the sheets: officers see all experts', an expert only their own.
#[utoipa::path(get, path = "/api/v1/applications/{number}/scores", params(("number" = String, Path)), responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
pub async fn scores(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Res<Json<Vec<ScoreRecord>>> {
    authorize(&caller, Action::ReadScores)?;
    load(&s, &caller, &number).await?;
    let only = (caller.role() == Some(Role::Expert)).then(|| caller.name());
    Ok(Json(s.store.scores(&number, only).await?))
}

#[derive(Serialize, ToSchema)]
pub struct ReviewOut {
    pub application: String,
    pub state: String,
    #[schema(value_type = Object)]
    pub aggregate: Aggregate,
    #[schema(value_type = Vec<Object>)]
    pub assignments: Vec<Assignment>,
}

/// The experts' scores taken together: weighted means, spread, disagreement.
#[utoipa::path(get, path = "/api/v1/applications/{number}/review", params(("number" = String, Path)), responses((status = 200, body = ReviewOut)), security(("bearer" = [])))]
pub async fn review(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Res<Json<ReviewOut>> {
    authorize(&caller, Action::ReadReviews)?;
    let a = load(&s, &caller, &number).await?;
    let p = programme_of(&s, &a).await?;
    let sh = sheets(&s, &a, &p).await?;
    Ok(Json(ReviewOut {
        application: number.clone(),
        state: a.state.as_str().to_owned(),
        aggregate: aggregate(&p.spec.review, &sh),
        assignments: s.store.assignments(&number).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/applications/{number}/contacts", params(("number" = String, Path)), request_body(content = Object, description = "party, with_applicant, at, channel, summary"),
    responses((status = 201, body = Object), (status = 422, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn record_contact(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    body: Res<JsonBody<Contact>>,
) -> Res<(StatusCode, Json<ContactRecord>)> {
    authorize(&caller, Action::RecordContacts)?;
    let c = body?.0;
    load(&s, &caller, &number).await?;
    Ok((
        StatusCode::CREATED,
        Json(s.store.record_contact(&actor(&caller), &number, &c).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/applications/{number}/contacts", params(("number" = String, Path)), responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
pub async fn contacts(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Res<Json<Vec<ContactRecord>>> {
    authorize(&caller, Action::ReadReviews)?;
    load(&s, &caller, &number).await?;
    Ok(Json(s.store.contacts(&number).await?))
}

// ---------------------------------------------------------------- decisions and appeals

/// An officer decides. If the officer recorded a contact with the applicant, the decision
/// waits for a second officer's countersignature.
#[utoipa::path(post, path = "/api/v1/applications/{number}/decision", params(("number" = String, Path)), request_body(content = Object, description = "DecisionSpec"),
    responses((status = 201, body = Object), (status = 409, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn decide(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    body: Res<JsonBody<DecisionSpec>>,
) -> Res<(StatusCode, Json<DecisionRecord>)> {
    authorize(&caller, Action::Decide)?;
    let spec = body?.0;
    let a = load(&s, &caller, &number).await?;
    let p = programme_of(&s, &a).await?;
    let (q, unit, overfill) = requested(&a)?;
    let agg = aggregate(&p.spec.review, &sheets(&s, &a, &p).await?);
    let d = validate_decision(&spec, &p, q, overfill, unit, &agg, now()).map_err(problems)?;
    let contact = s
        .store
        .had_contact_with_applicant(&number, caller.name())
        .await?;
    let out = s
        .store
        .decide(&actor(&caller), &number, &p, &spec, &d, contact)
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[utoipa::path(get, path = "/api/v1/applications/{number}/decision", params(("number" = String, Path)), responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn get_decision(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Res<Json<DecisionRecord>> {
    authorize(&caller, Action::ReadDecisions)?;
    load(&s, &caller, &number).await?;
    s.store
        .decision(&number)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no decision on {number} yet")))
}

#[utoipa::path(post, path = "/api/v1/applications/{number}/decision/countersign", params(("number" = String, Path)),
    responses((status = 200, body = Object), (status = 409, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn countersign(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Res<Json<DecisionRecord>> {
    authorize(&caller, Action::Decide)?;
    let a = load(&s, &caller, &number).await?;
    let p = programme_of(&s, &a).await?;
    Ok(Json(
        s.store.countersign(&actor(&caller), &number, &p).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/applications/{number}/appeal", params(("number" = String, Path)), request_body(content = Object, description = "{\"grounds\": \"…\"}"),
    responses((status = 201, body = Object), (status = 409, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn appeal(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    body: Res<JsonBody<AppealSpec>>,
) -> Res<(StatusCode, Json<Appeal>)> {
    authorize(&caller, Action::Appeal)?;
    let spec = body?.0;
    spec.validate().map_err(problems)?;
    let a = load(&s, &caller, &number).await?;
    let p = programme_of(&s, &a).await?;
    let d = s
        .store
        .decision(&number)
        .await?
        .filter(|d| d.status == "final")
        .ok_or_else(|| ApiError::not_found(format!("no final decision on {number} to appeal")))?;
    let decided = waiver_domain::BjTime(d.final_at_ms.unwrap_or(d.decided_at_ms) / 1000 + 8 * 3600);
    let deadline = appeal_deadline(decided, p.spec.appeal_days);
    if now() >= deadline {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "appeal_period_over",
            format!(
                "the appeal period of {} days ended at {deadline}; the decision is final",
                p.spec.appeal_days
            ),
        ));
    }
    let actor = Actor {
        user: caller.name().to_owned(),
        on_behalf_of: Some(a.enterprise.clone()),
    };
    Ok((
        StatusCode::CREATED,
        Json(s.store.file_appeal(&actor, &number, &spec.grounds).await?),
    ))
}

#[utoipa::path(post, path = "/api/v1/applications/{number}/reconsider", params(("number" = String, Path)), request_body(content = Object, description = "ReconsiderationSpec"),
    responses((status = 200, body = Object), (status = 409, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn reconsider(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    body: Res<JsonBody<ReconsiderationSpec>>,
) -> Res<Json<Appeal>> {
    authorize(&caller, Action::Decide)?;
    let spec = body?.0;
    let a = load(&s, &caller, &number).await?;
    let p = programme_of(&s, &a).await?;
    let (q, unit, _) = requested(&a)?;
    let granted = spec.validate(q, unit).map_err(problems)?;
    let outcome = match spec.outcome {
        AppealOutcome::Uphold => "uphold",
        AppealOutcome::Amend => "amend",
    };
    Ok(Json(
        s.store
            .reconsider(
                &actor(&caller),
                &number,
                &p,
                outcome,
                granted,
                &spec.reasons,
            )
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/applications/{number}/appeal", params(("number" = String, Path)), responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn get_appeal(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Res<Json<Appeal>> {
    authorize(&caller, Action::ReadDecisions)?;
    load(&s, &caller, &number).await?;
    s.store
        .appeal(&number)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no appeal on {number}")))
}

// ---------------------------------------------------------------- allowances

/// Which holders' allowances the caller may see: `None` = all.
pub(crate) async fn holder_scope(s: &AppState, caller: &Caller) -> Res<Option<Vec<String>>> {
    let user = caller.0.as_ref().ok_or_else(ApiError::unauthenticated)?;
    match user.role {
        Role::Applicant => {
            let own = user.enterprise.clone().unwrap_or_default();
            let mut codes = vec![own.clone()];
            if let Ok(code) = waiver_domain::RegistrationCode::parse(&own) {
                codes.extend(s.store.members(&code).await?);
            }
            Ok(Some(codes))
        }
        _ => Ok(None),
    }
}

#[derive(Serialize, ToSchema)]
pub struct AllowanceList {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Allowance>,
}

#[utoipa::path(get, path = "/api/v1/allowances", responses((status = 200, body = AllowanceList)), security(("bearer" = [])))]
pub async fn allowances(AxState(s): AxState<AppState>, caller: Caller) -> Res<Json<AllowanceList>> {
    authorize(&caller, Action::ReadAllowances)?;
    let scope = holder_scope(&s, &caller).await?;
    Ok(Json(AllowanceList {
        items: s.store.allowances(scope.as_deref()).await?,
    }))
}

/// An allowance with its ledger: granted, tolerance, used, remaining, validity, entries.
#[utoipa::path(get, path = "/api/v1/allowances/{number}", params(("number" = String, Path, description = "WVR-<year>-<6 digits>")),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn allowance(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Res<Json<Allowance>> {
    authorize(&caller, Action::ReadAllowances)?;
    let scope = holder_scope(&s, &caller).await?;
    s.store
        .allowance(&number)
        .await?
        .filter(|a| scope.as_ref().is_none_or(|h| h.contains(&a.holder)))
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no allowance {number} that you may see")))
}

// ---------------------------------------------------------------- policy changes, notices

#[derive(Deserialize, IntoParams)]
pub struct ProgrammeFilter {
    pub programme: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/policy-changes", params(ProgrammeFilter), responses((status = 200, body = Vec<Object>)))]
pub async fn policy_changes(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Query(f): Query<ProgrammeFilter>,
) -> Res<Json<Vec<PolicyChangeRecord>>> {
    authorize(&caller, Action::ReadPublic)?;
    Ok(Json(s.store.policy_changes(f.programme.as_deref()).await?))
}

/// Publishes a policy change; it is applied at once and atomically, and every affected holder
/// is notified.
#[utoipa::path(post, path = "/api/v1/policy-changes", request_body(content = Object, description = "PolicyChangeSpec: programme, effective_at, action {kind: suspend_intake | redate, …}, reason, source"),
    responses((status = 201, body = Object), (status = 422, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn publish_policy_change(
    AxState(s): AxState<AppState>,
    caller: Caller,
    body: Res<JsonBody<PolicyChangeSpec>>,
) -> Res<(StatusCode, Json<PolicyChangeRecord>)> {
    authorize(&caller, Action::ManagePolicy)?;
    let spec = body?.0;
    let change = spec.validate().map_err(problems)?;
    if s.store.programme(&spec.programme).await?.is_none() {
        return Err(ApiError::validation(
            "programme",
            format!(
                "no programme {}; GET /api/v1/programmes lists them",
                spec.programme
            ),
        ));
    }
    Ok((
        StatusCode::CREATED,
        Json(
            s.store
                .publish_policy_change(&actor(&caller), &spec, &change)
                .await?,
        ),
    ))
}

/// Notices for the caller: their enterprise's (applicants), their own, and their role's.
#[utoipa::path(get, path = "/api/v1/notifications", responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
pub async fn notifications(
    AxState(s): AxState<AppState>,
    caller: Caller,
) -> Res<Json<Vec<Notification>>> {
    authorize(&caller, Action::ReadOwnAccount)?;
    let user = caller.0.as_ref().ok_or_else(ApiError::unauthenticated)?;
    let mut r = vec![
        format!("user:{}", user.username),
        format!("role:{}", user.role.as_str()),
    ];
    if let Some(e) = &user.enterprise {
        r.push(format!("enterprise:{e}"));
    }
    Ok(Json(s.store.notifications(&r, 200).await?))
}

// ---------------------------------------------------------------- public register, SLA

#[derive(Serialize, ToSchema)]
pub struct ExclusionRegister {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<ProductExclusion>,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionRegister {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<RegisterRow>,
}

/// Published product exclusions (no login).
#[utoipa::path(get, path = "/api/v1/register/exclusions", responses((status = 200, body = ExclusionRegister)))]
pub async fn register_exclusions(
    AxState(s): AxState<AppState>,
    caller: Caller,
) -> Res<Json<ExclusionRegister>> {
    authorize(&caller, Action::ReadPublic)?;
    Ok(Json(ExclusionRegister {
        items: s.store.product_exclusions(None).await?,
    }))
}

fn csv_response(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response()
}

#[utoipa::path(get, path = "/api/v1/register/exclusions.csv", responses((status = 200, content_type = "text/csv", body = String)))]
pub async fn register_exclusions_csv(
    AxState(s): AxState<AppState>,
    caller: Caller,
) -> Res<Response> {
    authorize(&caller, Action::ReadPublic)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let row_err = |e: csv::Error| internal(e);
    w.write_record([
        "programme",
        "line",
        "application",
        "valid_from",
        "valid_until",
        "refunds",
        "scopes",
    ])
    .map_err(row_err)?;
    for e in s.store.product_exclusions(None).await? {
        w.write_record([
            e.programme,
            e.line,
            e.application,
            e.valid_from.to_string(),
            e.valid_until.to_string(),
            e.refunds,
            e.scopes.join(";"),
        ])
        .map_err(row_err)?;
    }
    Ok(csv_response(w.into_inner().map_err(internal)?))
}

/// Purchase-programme decisions in aggregate per programme and line (no login, no
/// enterprise, no confidential field).
#[utoipa::path(get, path = "/api/v1/register/decisions", responses((status = 200, body = DecisionRegister)))]
pub async fn register_decisions(
    AxState(s): AxState<AppState>,
    caller: Caller,
) -> Res<Json<DecisionRegister>> {
    authorize(&caller, Action::ReadPublic)?;
    Ok(Json(DecisionRegister {
        items: s.store.register_decisions().await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/register/decisions.csv", responses((status = 200, content_type = "text/csv", body = String)))]
pub async fn register_decisions_csv(
    AxState(s): AxState<AppState>,
    caller: Caller,
) -> Res<Response> {
    authorize(&caller, Action::ReadPublic)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "programme",
        "line",
        "decided",
        "approved",
        "partially_approved",
        "rejected",
        "amended_on_appeal",
        "granted_kg",
    ])
    .map_err(internal)?;
    for r in s.store.register_decisions().await? {
        w.write_record([
            r.programme,
            r.line,
            r.decided.to_string(),
            r.approved.to_string(),
            r.partially_approved.to_string(),
            r.rejected.to_string(),
            r.amended_on_appeal.to_string(),
            waiver_domain::amount::format_scaled(i128::from(r.granted_g), 3, 0),
        ])
        .map_err(internal)?;
    }
    Ok(csv_response(w.into_inner().map_err(internal)?))
}

/// Applications per state, age, overdue reviews and decisions per week of a programme.
#[utoipa::path(get, path = "/api/v1/programmes/{id}/sla", params(("id" = String, Path)), responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn sla(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Res<Json<Sla>> {
    authorize(&caller, Action::ReadSla)?;
    if s.store.programme(&id).await?.is_none() {
        return Err(ApiError::not_found(format!(
            "no programme {id}; GET /api/v1/programmes lists them"
        )));
    }
    Ok(Json(s.store.sla(&id, now_ms()).await?))
}

// ---------------------------------------------------------------- assessment with exclusions

/// One line to assess; decimals as strings.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessIn {
    pub code: String,
    pub origin: String,
    /// Beijing time, `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`.
    pub declared_at: String,
    #[serde(default)]
    pub shipped_on: Option<String>,
    pub quantity: String,
    pub unit: String,
    /// CIF value.
    pub customs_value: String,
    pub currency: String,
    #[serde(default)]
    pub in_quota: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct AssessOut {
    /// Layers, duties, VAT and total (CNY decimal strings).
    #[schema(value_type = Object)]
    pub assessment: serde_json::Value,
    /// The published product exclusion that lifted layers, if any.
    #[schema(value_type = Object)]
    pub product_exclusion: Option<ProductExclusion>,
}

/// Assesses one line as customs would for any importer: every layer, with the layers lifted by
/// a published product exclusion in force at `declared_at`. No login needed.
#[utoipa::path(post, path = "/api/v1/assess", request_body = AssessIn,
    responses((status = 200, body = AssessOut), (status = 422, body = crate::error::ErrorEnvelope)))]
pub async fn assess_line(
    AxState(s): AxState<AppState>,
    caller: Caller,
    body: Res<JsonBody<AssessIn>>,
) -> Res<Json<AssessOut>> {
    authorize(&caller, Action::ReadPublic)?;
    let b = body?.0;
    let in_quota = b.in_quota.map(|q| if q { "true" } else { "false" });
    let raw = waiver_domain::RawLine {
        declaration: "API",
        line: "1",
        importer: "0000000000",
        code: &b.code,
        origin: &b.origin,
        declared_at: &b.declared_at,
        quantity: &b.quantity,
        unit: &b.unit,
        customs_value: &b.customs_value,
        currency: &b.currency,
        shipped_on: b.shipped_on.as_deref(),
        in_quota,
    };
    let parsed = raw
        .parse()
        .map_err(|e| ApiError::validation(e.column, format!("`{}`: {}", e.value, e.message)))?;
    let input = parsed.input;
    let line = input.code.to_string();
    let parent = input.code.parent8().map(|c| c.to_string());
    let at = input.declared_at;
    let exclusion = s
        .store
        .product_exclusions(None)
        .await?
        .into_iter()
        .find(|e| {
            (e.line == line || parent.as_deref() == Some(e.line.as_str()))
                && e.valid_from <= at
                && at < e.valid_until
        });
    let scopes: Vec<&str> = exclusion
        .as_ref()
        .map(|e| e.scopes.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let lift = if exclusion.is_some() {
        waiver_domain::Lift::Scopes(&scopes)
    } else {
        waiver_domain::Lift::Nothing
    };
    let a = waiver_domain::assess(&s.schedule, &input, lift).map_err(|e| {
        let field = match e {
            waiver_domain::AssessError::NoExchangeRate { .. } => "currency",
            waiver_domain::AssessError::LineNotInForce { .. } => "declared_at",
            _ => "code",
        };
        ApiError::validation(field, e.to_string())
    })?;
    Ok(Json(AssessOut {
        assessment: serde_json::to_value(&a).map_err(internal)?,
        product_exclusion: exclusion,
    }))
}
