//! What-if scenarios over the API (CRUD, tariff under a scenario, replay of declaration lines),
//! landed cost of quotes given as JSON (optionally under a scenario), and the applicant aid.
//!
//! Scenarios are validated against the loaded schedule before the store sees them.

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use waiver_domain::aid::{applicant_aid_lifting, Aid, DEMO_MONTHLY};
use waiver_domain::amount::{Money, QtyUnit, Quantity};
use waiver_domain::landed::{landed_cost, rank, RawQuote};
use waiver_domain::scenario::{replay, Replay, ReplayLine, ScenarioSpec, MAX_REPLAY_LINES};
use waiver_domain::{assess, BjTime, Currency, Fen, Lift, LineInput, Origin, Schedule, TariffCode};
use waiver_store::{Actor, ScenarioRecord, ScenarioSummary, ScenarioVersion};

use crate::auth::{authorize, Action, Caller};
use crate::error::Path;
use crate::error::Query;
use crate::error::{ApiError, JsonBody};
use crate::AppState;

type Res<T> = Result<T, ApiError>;

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

/// Validates a document against the schedule; the first problem is the error's field, and the
/// message lists every problem.
pub(crate) fn validate(s: &Schedule, spec: ScenarioSpec) -> Res<waiver_domain::scenario::Scenario> {
    spec.validate(s).map_err(|e| {
        let field = e
            .problems
            .first()
            .map_or("changes".to_owned(), |p| p.field.clone());
        ApiError::validation(field, e.to_string())
    })
}

/// The stored scenario, validated against the schedule (a scenario written against an older
/// schedule may no longer apply: that is a 422 naming the change).
pub(crate) async fn load(
    s: &AppState,
    id: i64,
    version: Option<i64>,
) -> Res<(ScenarioRecord, Schedule)> {
    let rec = s.store.scenario(id, version).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "no scenario {id}{}; GET /api/v1/scenarios lists them",
            version.map(|v| format!(" version {v}")).unwrap_or_default()
        ))
    })?;
    let sc = validate(&s.schedule, rec.spec.clone())?;
    let applied = sc.apply(&s.schedule);
    Ok((rec, applied))
}

#[derive(Serialize, ToSchema)]
pub struct ScenarioList {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<ScenarioSummary>,
}

#[derive(Serialize, ToSchema)]
pub struct ScenarioOut {
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub scenario: ScenarioRecord,
    #[schema(value_type = Vec<Object>)]
    pub versions: Vec<ScenarioVersion>,
}

#[derive(Deserialize, IntoParams)]
pub struct VersionQuery {
    /// A past version (default: the latest).
    pub version: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
pub struct EditQuery {
    /// The version the edit is based on; another version meanwhile is a 409.
    pub expected_version: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/scenarios", responses((status = 200, body = ScenarioList)))]
pub async fn list(AxState(s): AxState<AppState>, caller: Caller) -> Res<Json<ScenarioList>> {
    authorize(&caller, Action::ReadScenarios)?;
    Ok(Json(ScenarioList {
        items: s.store.scenarios().await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/scenarios", request_body(content = Object, description = "a scenario document: {name, description, changes: [{op: add|remove|change, …}]}"),
    responses((status = 201, body = ScenarioOut), (status = 422, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn create(
    AxState(s): AxState<AppState>,
    caller: Caller,
    body: Res<JsonBody<ScenarioSpec>>,
) -> Res<(StatusCode, Json<ScenarioOut>)> {
    authorize(&caller, Action::ManageScenarios)?;
    let sc = validate(&s.schedule, body?.0)?;
    let rec = s
        .store
        .create_scenario(&Actor::user(caller.name()), &sc.spec)
        .await?;
    let versions = s.store.scenario_versions(rec.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(ScenarioOut {
            scenario: rec,
            versions,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/scenarios/{id}", params(("id" = i64, Path), VersionQuery),
    responses((status = 200, body = ScenarioOut), (status = 404, body = crate::error::ErrorEnvelope)))]
pub async fn get(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<VersionQuery>,
) -> Res<Json<ScenarioOut>> {
    authorize(&caller, Action::ReadScenarios)?;
    let rec = s.store.scenario(id, q.version).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "no scenario {id}; GET /api/v1/scenarios lists them"
        ))
    })?;
    let versions = s.store.scenario_versions(id).await?;
    Ok(Json(ScenarioOut {
        scenario: rec,
        versions,
    }))
}

#[utoipa::path(put, path = "/api/v1/scenarios/{id}", params(("id" = i64, Path), EditQuery), request_body(content = Object, description = "the whole new document; it becomes the next version"),
    responses((status = 200, body = ScenarioOut), (status = 409, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn edit(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<EditQuery>,
    body: Res<JsonBody<ScenarioSpec>>,
) -> Res<Json<ScenarioOut>> {
    authorize(&caller, Action::ManageScenarios)?;
    let sc = validate(&s.schedule, body?.0)?;
    let rec = s
        .store
        .update_scenario(
            &Actor::user(caller.name()),
            id,
            q.expected_version,
            &sc.spec,
        )
        .await?;
    let versions = s.store.scenario_versions(id).await?;
    Ok(Json(ScenarioOut {
        scenario: rec,
        versions,
    }))
}

#[utoipa::path(delete, path = "/api/v1/scenarios/{id}", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn archive(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Res<StatusCode> {
    authorize(&caller, Action::ManageScenarios)?;
    s.store
        .archive_scenario(&Actor::user(caller.name()), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct TariffQuery {
    /// Tariff code, 8 or 10 digits.
    pub code: String,
    /// Country code or `unknown`.
    pub origin: String,
    /// Beijing instant: YYYY-MM-DD or YYYY-MM-DDTHH:MM.
    pub at: String,
    pub version: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct TariffCompare {
    pub scenario_id: i64,
    pub version: i64,
    /// Assessments of a nominal line (1 t worth CNY 10 000): every layer, rate and amount.
    #[schema(value_type = Object)]
    pub actual: serde_json::Value,
    #[schema(value_type = Object)]
    pub scenario: serde_json::Value,
}

fn nominal(code: &str, origin: &str, at: &str) -> Res<LineInput> {
    let code = TariffCode::parse(code).map_err(|e| ApiError::validation("code", e.to_string()))?;
    let origin =
        Origin::parse(origin).map_err(|e| ApiError::validation("origin", e.to_string()))?;
    let (at, p) = BjTime::parse(at).map_err(|e| ApiError::validation("at", e.to_string()))?;
    Ok(LineInput {
        code,
        origin,
        declared_at: at,
        declared_precision: p,
        shipped_on: None,
        quantity: Quantity { grams: 1_000_000 },
        customs_value: Money {
            minor: 1_000_000,
            currency: Currency::CNY,
        },
        in_quota: false,
    })
}

fn assess_json(s: &Schedule, input: &LineInput) -> Res<serde_json::Value> {
    let a =
        assess(s, input, Lift::Nothing).map_err(|e| ApiError::validation("code", e.to_string()))?;
    serde_json::to_value(&a).map_err(internal)
}

#[utoipa::path(get, path = "/api/v1/scenarios/{id}/tariff", params(("id" = i64, Path), TariffQuery),
    responses((status = 200, body = TariffCompare), (status = 404, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)))]
pub async fn tariff(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<TariffQuery>,
) -> Res<Json<TariffCompare>> {
    authorize(&caller, Action::ReadScenarios)?;
    let input = nominal(&q.code, &q.origin, &q.at)?;
    let (rec, applied) = load(&s, id, q.version).await?;
    Ok(Json(TariffCompare {
        scenario_id: id,
        version: rec.version,
        actual: assess_json(&s.schedule, &input)?,
        scenario: assess_json(&applied, &input)?,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayLineIn {
    pub code: String,
    pub origin: String,
    /// Beijing instant of the declaration.
    pub declared_at: String,
    pub quantity: String,
    /// `kg` or `t`.
    pub unit: String,
    /// CIF value, a decimal.
    pub customs_value: String,
    /// Currency of the value (default CNY).
    #[serde(default)]
    pub currency: Option<String>,
    /// The importer held an exclusion (every excludable layer lifted).
    #[serde(default)]
    pub excluded: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayIn {
    pub lines: Vec<ReplayLineIn>,
}

#[derive(Serialize, ToSchema)]
pub struct ReplayOut {
    pub scenario_id: i64,
    pub version: i64,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub replay: Replay,
}

#[utoipa::path(post, path = "/api/v1/scenarios/{id}/replay", params(("id" = i64, Path), VersionQuery), request_body = ReplayIn,
    responses((status = 200, body = ReplayOut), (status = 404, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)))]
pub async fn replay_lines(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<VersionQuery>,
    body: Res<JsonBody<ReplayIn>>,
) -> Res<Json<ReplayOut>> {
    authorize(&caller, Action::ReadScenarios)?;
    let b = body?.0;
    if b.lines.len() > MAX_REPLAY_LINES {
        return Err(ApiError::validation(
            "lines",
            format!("at most {MAX_REPLAY_LINES} lines per request; split them"),
        ));
    }
    let mut lines = Vec::with_capacity(b.lines.len());
    for (i, l) in b.lines.iter().enumerate() {
        let raw = waiver_domain::RawLine {
            declaration: "API",
            line: "1",
            importer: "0000000000",
            code: &l.code,
            origin: &l.origin,
            declared_at: &l.declared_at,
            quantity: &l.quantity,
            unit: &l.unit,
            customs_value: &l.customs_value,
            currency: l.currency.as_deref().unwrap_or("CNY"),
            shipped_on: None,
            in_quota: None,
        };
        let p = raw.parse().map_err(|e| {
            ApiError::validation(
                format!("lines[{i}].{}", e.column),
                format!("`{}`: {}", e.value, e.message),
            )
        })?;
        lines.push(ReplayLine {
            input: p.input,
            excluded: l.excluded,
        });
    }
    let (rec, applied) = load(&s, id, q.version).await?;
    Ok(Json(ReplayOut {
        scenario_id: id,
        version: rec.version,
        replay: replay(&s.schedule, &applied, &lines),
    }))
}

/// The months of recorded declarations to replay.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RecordedQuery {
    /// First month, `YYYY-MM`.
    pub from: String,
    /// Last month (inclusive), `YYYY-MM`.
    pub to: String,
    /// Scenario version (default: the latest).
    pub version: Option<i64>,
}

fn month_start(field: &str, raw: &str, next: bool) -> Res<BjTime> {
    let m = waiver_domain::time::Month::parse(raw).ok_or_else(|| {
        ApiError::validation(
            field,
            format!("`{raw}` is not a month; write YYYY-MM, e.g. 2020-07"),
        )
    })?;
    let m = m.0 + i32::from(next);
    BjTime::from_civil(
        i64::from(m.div_euclid(12)),
        i64::from(m.rem_euclid(12) + 1),
        1,
        0,
        0,
        0,
    )
    .ok_or_else(|| ApiError::validation(field, format!("`{raw}` is out of range")))
}

/// Recorded declarations (accepted, not cancelled) replayed under a scenario: the duty that
/// would have been collected per line and month against the duty under the schedule in force.
/// A line's part covered by an allowance is replayed with every excludable layer lifted (its
/// share of the customs value pro rata); the rest without. Officers, customs, analysts and
/// administrators (declarations are confidential line by line).
#[utoipa::path(get, path = "/api/v1/scenarios/{id}/replay", params(("id" = i64, Path), RecordedQuery),
    responses((status = 200, body = ReplayOut), (status = 404, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn replay_recorded(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<RecordedQuery>,
) -> Res<Json<ReplayOut>> {
    authorize(&caller, Action::ReplayRecorded)?;
    let from = month_start("from", &q.from, false)?;
    let until = month_start("to", &q.to, true)?;
    if until <= from {
        return Err(ApiError::validation(
            "to",
            "`to` is before `from`; give the months in order",
        ));
    }
    let (rec, applied) = load(&s, id, q.version).await?;
    let rows = s
        .store
        .recorded_lines(from, until, MAX_REPLAY_LINES + 1)
        .await?;
    if rows.len() > MAX_REPLAY_LINES {
        return Err(ApiError::validation(
            "from",
            format!("more than {MAX_REPLAY_LINES} declaration lines in {}..{}; replay fewer months at a time", q.from, q.to),
        ));
    }
    let mut lines = Vec::with_capacity(rows.len());
    let mut parsed: Option<(String, crate::declarations::DeclarationIn)> = None;
    for r in &rows {
        if parsed.as_ref().is_none_or(|(n, _)| *n != r.number) {
            let body: crate::declarations::DeclarationIn = serde_json::from_str(&r.request)
                .map_err(|e| internal(format!("declaration {} as stored: {e}", r.number)))?;
            parsed = Some((r.number.clone(), body));
        }
        let Some((_, body)) = parsed.as_ref() else {
            continue;
        };
        // Stored lines were parsed when recorded; a mismatch is reported, never skipped.
        let l = body
            .lines
            .iter()
            .find(|l| l.line == r.line_no)
            .ok_or_else(|| {
                internal(format!(
                    "declaration {} as stored has no line {}",
                    r.number, r.line_no
                ))
            })?;
        let line_no = l.line.to_string();
        let raw = waiver_domain::RawLine {
            declaration: &r.number,
            line: &line_no,
            importer: &body.importer,
            code: &l.code,
            origin: &l.origin,
            declared_at: &body.declared_at,
            quantity: &l.quantity,
            unit: &l.unit,
            customs_value: &l.customs_value,
            currency: &l.currency,
            shipped_on: body.shipped_on.as_deref(),
            in_quota: None,
        };
        let p = raw.parse().map_err(|e| {
            internal(format!(
                "declaration {} line {} as stored no longer parses ({}: {})",
                r.number, r.line_no, e.column, e.message
            ))
        })?;
        let total_g = p.input.quantity.grams;
        let covered_g = r.covered_g.clamp(0, total_g);
        if covered_g == 0 || covered_g == total_g {
            lines.push(ReplayLine {
                input: p.input,
                excluded: covered_g > 0,
            });
            continue;
        }
        let value = p.input.customs_value.minor;
        let covered_value =
            i64::try_from(i128::from(value) * i128::from(covered_g) / i128::from(total_g))
                .unwrap_or(value);
        let mut covered = p.input;
        covered.quantity.grams = covered_g;
        covered.customs_value.minor = covered_value;
        let mut rest = p.input;
        rest.quantity.grams = total_g - covered_g;
        rest.customs_value.minor = value - covered_value;
        lines.push(ReplayLine {
            input: covered,
            excluded: true,
        });
        lines.push(ReplayLine {
            input: rest,
            excluded: false,
        });
    }
    Ok(Json(ReplayOut {
        scenario_id: id,
        version: rec.version,
        replay: replay(&s.schedule, &applied, &lines),
    }))
}

/// One quote, as strings (the `waiver landed` CSV columns).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct QuoteIn {
    #[serde(default)]
    pub label: String,
    pub origin: String,
    pub code: String,
    pub at: Option<String>,
    pub cbot_c_bu: Option<String>,
    pub premium_c_bu: Option<String>,
    pub fob_usd_t: Option<String>,
    pub freight_usd_t: Option<String>,
    pub insurance_usd_t: Option<String>,
    pub fx_cny_usd: Option<String>,
    pub port_charge_cny_t: Option<String>,
    pub excluded: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LandedIn {
    pub quotes: Vec<QuoteIn>,
    /// Default instant for quotes without `at`.
    pub at: Option<String>,
    /// A scenario id: each quote is also costed under it.
    pub scenario: Option<i64>,
}

#[derive(Serialize, ToSchema, Clone)]
pub struct LandedRow {
    pub label: String,
    pub origin: String,
    pub code: String,
    pub at: String,
    #[schema(value_type = String)]
    pub fob_usd_t: String,
    #[schema(value_type = String)]
    pub cfr_usd_t: String,
    #[schema(value_type = String)]
    pub customs_value_cny_t: Fen,
    #[schema(value_type = String)]
    pub duty_cny_t: Fen,
    #[schema(value_type = String)]
    pub vat_cny_t: Fen,
    #[schema(value_type = String)]
    pub landed_cny_t: Fen,
    pub rank: u32,
    #[schema(value_type = String)]
    pub spread_cny_t: Fen,
    /// Under the scenario, when one was given.
    #[schema(value_type = Option<String>)]
    pub scenario_duty_cny_t: Option<Fen>,
    #[schema(value_type = Option<String>)]
    pub scenario_landed_cny_t: Option<Fen>,
    pub scenario_rank: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct LandedOut {
    pub scenario: Option<i64>,
    pub scenario_version: Option<i64>,
    pub rows: Vec<LandedRow>,
}

fn cost<'s>(
    sched: &'s Schedule,
    quotes: &[waiver_domain::landed::Quote],
) -> Res<Vec<waiver_domain::landed::LandedCost<'s>>> {
    quotes
        .iter()
        .enumerate()
        .map(|(i, q)| {
            landed_cost(sched, q)
                .map_err(|e| ApiError::validation(format!("quotes[{i}]"), e.to_string()))
        })
        .collect()
}

/// Landed cost of quotes under the schedule and, optionally, a scenario (shared with the pages).
pub(crate) async fn landed(s: &AppState, b: &LandedIn) -> Res<LandedOut> {
    if b.quotes.is_empty() || b.quotes.len() > 1_000 {
        return Err(ApiError::validation("quotes", "give 1 to 1000 quotes"));
    }
    let default_at = match b.at.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => Some(BjTime::parse(a).map_err(|e| ApiError::validation("at", e.to_string()))?),
        None => None,
    };
    let mut quotes = Vec::with_capacity(b.quotes.len());
    for (i, q) in b.quotes.iter().enumerate() {
        let raw = RawQuote {
            code: &q.code,
            origin: &q.origin,
            at: q.at.as_deref(),
            cbot_c_bu: q.cbot_c_bu.as_deref(),
            premium_c_bu: q.premium_c_bu.as_deref(),
            fob_usd_t: q.fob_usd_t.as_deref(),
            freight_usd_t: q.freight_usd_t.as_deref(),
            insurance_usd_t: q.insurance_usd_t.as_deref(),
            fx_cny_usd: q.fx_cny_usd.as_deref(),
            port_charge_cny_t: q.port_charge_cny_t.as_deref(),
            excluded: q.excluded.as_deref(),
        };
        quotes.push(raw.parse(default_at).map_err(|e| {
            ApiError::validation(
                format!("quotes[{i}].{}", e.column),
                format!("`{}`: {}", e.value, e.message),
            )
        })?);
    }
    let scen = match b.scenario {
        Some(id) => Some(load(s, id, None).await?),
        None => None,
    };
    let actual = cost(&s.schedule, &quotes)?;
    let ranks = rank(&quotes, &actual);
    let under = match &scen {
        Some((_, sched)) => {
            let c = cost(sched, &quotes)?;
            let r = rank(&quotes, &c);
            Some((
                c.into_iter()
                    .map(|c| (c.charged.duty_fen_per_t, c.charged.landed_fen_per_t))
                    .collect::<Vec<_>>(),
                r,
            ))
        }
        None => None,
    };
    let rows = quotes
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let c = &actual[i];
            LandedRow {
                label: b.quotes[i].label.clone(),
                origin: q.origin.to_string(),
                code: q.code.to_string(),
                at: q.at.to_string(),
                fob_usd_t: c.fob_usd_per_t.to_string(),
                cfr_usd_t: c.cfr_usd_per_t.to_string(),
                customs_value_cny_t: c.customs_value_fen_per_t,
                duty_cny_t: c.charged.duty_fen_per_t,
                vat_cny_t: c.charged.vat_fen_per_t,
                landed_cny_t: c.charged.landed_fen_per_t,
                rank: ranks[i].rank,
                spread_cny_t: ranks[i].spread_fen_per_t,
                scenario_duty_cny_t: under.as_ref().map(|(c, _)| c[i].0),
                scenario_landed_cny_t: under.as_ref().map(|(c, _)| c[i].1),
                scenario_rank: under.as_ref().map(|(_, r)| r[i].rank),
            }
        })
        .collect();
    Ok(LandedOut {
        scenario: b.scenario,
        scenario_version: scen.map(|(r, _)| r.version),
        rows,
    })
}

#[utoipa::path(post, path = "/api/v1/landed-cost", request_body = LandedIn,
    responses((status = 200, body = LandedOut), (status = 404, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)))]
pub async fn landed_cost_api(
    AxState(s): AxState<AppState>,
    caller: Caller,
    body: Res<JsonBody<LandedIn>>,
) -> Res<Json<LandedOut>> {
    authorize(&caller, Action::ReadPublic)?;
    let b = body?.0;
    Ok(Json(landed(&s, &b).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct AidQuery {
    /// Programme id (checked to exist and to cover the line).
    pub programme: String,
    pub code: String,
    pub quantity: String,
    /// `kg` or `t`.
    pub unit: String,
    /// Beijing instant (default: now).
    pub at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AidOut {
    pub programme: String,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub aid: Aid,
}

/// The aid for a request (shared with the application form).
pub(crate) async fn aid(s: &AppState, q: &AidQuery) -> Res<AidOut> {
    let (programme, _) = s
        .store
        .programme(q.programme.trim())
        .await?
        .ok_or_else(|| {
            ApiError::validation(
                "programme",
                format!(
                    "no programme `{}`; GET /api/v1/programmes lists them",
                    q.programme
                ),
            )
        })?;
    let code =
        TariffCode::parse(&q.code).map_err(|e| ApiError::validation("code", e.to_string()))?;
    if !programme
        .eligible_lines
        .iter()
        .any(|l| *l == code || code.parent8() == Some(*l))
    {
        return Err(ApiError::validation(
            "code",
            format!("line {code} is not eligible under {}", programme.spec.id),
        ));
    }
    let unit =
        QtyUnit::parse(&q.unit).ok_or_else(|| ApiError::validation("unit", "use kg or t"))?;
    let quantity = Quantity::parse(&q.quantity, unit)
        .map_err(|e| ApiError::validation("quantity", e.to_string()))?;
    let at = match q.at.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => {
            BjTime::parse(a)
                .map_err(|e| ApiError::validation("at", e.to_string()))?
                .0
        }
        None => crate::applications::now(),
    };
    // What an approval under this programme would lift: its scopes only.
    let scopes: Vec<&str> = programme
        .spec
        .lifts_scopes
        .iter()
        .map(String::as_str)
        .collect();
    let aid = applicant_aid_lifting(
        &s.schedule,
        DEMO_MONTHLY,
        code,
        quantity,
        at,
        waiver_domain::Lift::Scopes(&scopes),
    )
    .map_err(|e| {
        let field = match e {
            waiver_domain::aid::AidError::NoQuotesForLine { .. } => "code",
            _ => "at",
        };
        ApiError::validation(field, e.to_string())
    })?;
    Ok(AidOut {
        programme: programme.spec.id,
        aid,
    })
}

#[utoipa::path(get, path = "/api/v1/applications/aid", params(AidQuery),
    responses((status = 200, body = AidOut), (status = 422, body = crate::error::ErrorEnvelope)))]
pub async fn aid_api(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Query(q): Query<AidQuery>,
) -> Res<Json<AidOut>> {
    authorize(&caller, Action::ReadPublic)?;
    Ok(Json(aid(&s, &q).await?))
}
