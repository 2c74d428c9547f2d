//! Country quotas over the API (issue 5, item 7).
//!
//! `GET /api/v1/quotas` (public, as MOFCOM publishes quota use) lists every country quota with
//! its use, whether it is reached, from when its conditional layer applies and the notices
//! given at 50%, 80% and 100%. `GET /api/v1/quotas/{measure}/{origin}/{year}` adds the ledger
//! for customs, officers, analysts and administrators. Officers create a quota for a
//! conditional measure of the schedule (`POST /api/v1/quotas`) and record imports counted
//! outside Waiver's declarations (`POST …/imports`). Declarations draw quotas by themselves
//! (see `declarations.rs`).

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use waiver_domain::quota::{year_start, QuotaState};
use waiver_domain::schedule::{GoodsSelector, OriginSelector};
use waiver_domain::{BjTime, CountryCode, QtyUnit, Quantity, Role};
use waiver_store::quotas::{NewQuota, QuotaEntry, QuotaNotice, QuotaRecord};
use waiver_store::Actor;

use crate::auth::{authorize, permits, Action, Caller};
use crate::error::Path;
use crate::error::{ApiError, JsonBody};
use crate::AppState;

type Res<T> = Result<T, ApiError>;

/// Longest source text for recorded imports.
const MAX_SOURCE_CHARS: usize = 300;

fn tonnes(grams: i64) -> String {
    waiver_domain::amount::format_scaled(i128::from(grams), 6, 0)
}

#[derive(Serialize, ToSchema)]
pub struct QuotaNoticeOut {
    pub threshold_pct: i64,
    /// Used right after the draw that passed the threshold, in tonnes.
    pub used_t: String,
    /// The declared instant of the line that passed it (RFC 3339, Beijing time).
    #[schema(value_type = String)]
    pub declared_at: BjTime,
}

#[derive(Serialize, ToSchema)]
pub struct QuotaEntryOut {
    /// `grant`, `draw` or `reversal`.
    pub kind: String,
    /// Signed, in tonnes.
    pub quantity_t: String,
    /// `declaration <number> revision <n>`, or the source of recorded imports.
    pub cause: String,
    pub at_ms: i64,
}

#[derive(Serialize, ToSchema)]
pub struct QuotaOut {
    /// `<measure>/<origin>/<year>`: also the path of its own resource.
    pub id: String,
    /// The conditional measure the quota triggers, e.g. `SG-2026-beef`.
    pub measure: String,
    pub origin: String,
    pub year: i32,
    /// The code prefixes it counts.
    pub goods: Vec<String>,
    pub quota_t: String,
    pub used_t: String,
    pub remaining_t: String,
    /// Used / quota in percent, two decimals (rounded down).
    pub used_pct: String,
    /// When a line's draw took use to the quota (its declared instant).
    #[schema(value_type = Option<String>)]
    pub reached_at: Option<BjTime>,
    /// From when the measure applies to lines counted against the quota (00:00 of the third
    /// day after it was reached).
    #[schema(value_type = Option<String>)]
    pub surcharge_from: Option<BjTime>,
    /// The measure's duty, e.g. `55%`.
    pub surcharge: String,
    pub notices: Vec<QuotaNoticeOut>,
    /// The ledger (customs, officers, analysts, administrators only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<QuotaEntryOut>>,
}

#[derive(Serialize, ToSchema)]
pub struct QuotaList {
    pub items: Vec<QuotaOut>,
}

impl QuotaOut {
    fn of(s: &AppState, r: QuotaRecord, entries: Option<Vec<QuotaEntry>>) -> QuotaOut {
        let q: QuotaState = r.state;
        let bp = q.used_bp();
        QuotaOut {
            surcharge: s
                .schedule
                .measure(&q.measure)
                .map(|m| m.duty.to_string())
                .unwrap_or_default(),
            id: q.id.clone(),
            measure: q.measure.clone(),
            origin: q.origin.as_str().to_owned(),
            year: q.year,
            goods: q.goods.iter().map(|g| g.as_str().to_owned()).collect(),
            quota_t: tonnes(q.quota_g),
            used_t: tonnes(q.used_g),
            remaining_t: tonnes(q.remaining_g()),
            used_pct: format!("{}.{:02}", bp / 100, bp % 100),
            reached_at: q.reached_at,
            surcharge_from: q.surcharge_from(),
            notices: r
                .notices
                .into_iter()
                .map(|n: QuotaNotice| QuotaNoticeOut {
                    threshold_pct: n.threshold_pct,
                    used_t: tonnes(n.used_g),
                    declared_at: n.declared_at,
                })
                .collect(),
            entries: entries.map(|es| {
                es.into_iter()
                    .map(|e| QuotaEntryOut {
                        kind: e.kind,
                        quantity_t: tonnes(e.quantity_g),
                        cause: e.cause,
                        at_ms: e.at_ms,
                    })
                    .collect()
            }),
        }
    }
}

/// Every country quota with its use and notices. Public.
#[utoipa::path(get, path = "/api/v1/quotas", responses((status = 200, body = QuotaList)))]
pub async fn list(AxState(s): AxState<AppState>, caller: Caller) -> Res<Json<QuotaList>> {
    authorize(&caller, Action::ReadQuotas)?;
    let items = s
        .store
        .quotas()
        .await?
        .into_iter()
        .map(|r| QuotaOut::of(&s, r, None))
        .collect();
    Ok(Json(QuotaList { items }))
}

/// One quota; its ledger for customs, officers, analysts and administrators.
#[utoipa::path(get, path = "/api/v1/quotas/{measure}/{origin}/{year}",
    params(("measure" = String, Path), ("origin" = String, Path), ("year" = i32, Path)),
    responses((status = 200, body = QuotaOut), (status = 404, body = crate::error::ErrorEnvelope)))]
pub async fn get(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path((measure, origin, year)): Path<(String, String, String)>,
) -> Res<Json<QuotaOut>> {
    authorize(&caller, Action::ReadQuotas)?;
    let id = format!("{measure}/{origin}/{year}");
    let Some(r) = s.store.quota(&id).await? else {
        return Err(ApiError::not_found(format!(
            "no quota {id}; GET /api/v1/quotas lists them"
        )));
    };
    let entries = if permits(caller.role(), Action::ReadQuotaLedgers) {
        Some(s.store.quota_entries(&id, 10_000).await?)
    } else {
        None
    };
    Ok(Json(QuotaOut::of(&s, r, entries)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaIn {
    /// A conditional measure of the schedule (kind `safeguard_over_quota`), e.g. `SG-2026-beef`.
    pub measure: String,
    /// ISO 3166 alpha-2.
    pub origin: String,
    pub year: i32,
    /// Decimal string.
    pub quota: String,
    /// `t` or `kg`.
    pub unit: String,
}

fn unit_of(field: &str, raw: &str) -> Res<QtyUnit> {
    QtyUnit::parse(raw).ok_or_else(|| {
        ApiError::validation(field, format!("`{raw}` is not a unit; use `t` or `kg`"))
    })
}

/// Sets a country's quota for a year under a conditional measure (officers, administrators).
#[utoipa::path(post, path = "/api/v1/quotas", request_body = QuotaIn,
    responses((status = 201, body = QuotaOut), (status = 409, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn create(
    AxState(s): AxState<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<QuotaIn>,
) -> Res<(StatusCode, Json<QuotaOut>)> {
    authorize(&caller, Action::ManageQuotas)?;
    let Some(m) = s.schedule.measure(b.measure.trim()) else {
        return Err(ApiError::validation(
            "measure",
            format!(
                "`{}` is not a measure of the schedule; name a safeguard_over_quota measure, e.g. SG-2026-beef",
                b.measure
            ),
        ));
    };
    if m.kind.role() != Role::Conditional {
        return Err(ApiError::validation(
            "measure",
            format!(
                "{} is a {} measure, which applies without a quota; name a safeguard_over_quota measure",
                m.id,
                m.kind.as_str()
            ),
        ));
    }
    let origin = CountryCode::parse(&b.origin)
        .map_err(|e| ApiError::validation("origin", format!("`{}`: {e}; e.g. US", b.origin)))?;
    if let OriginSelector::Country(c) = m.origin {
        if c != origin {
            return Err(ApiError::validation(
                "origin",
                format!(
                    "{} applies to {} only, not {}",
                    m.id,
                    c.as_str(),
                    origin.as_str()
                ),
            ));
        }
    }
    let in_force = match (year_start(b.year), year_start(b.year.saturating_add(1))) {
        (Some(a), Some(z)) => m.validity.start < z && m.validity.end.is_none_or(|e| a < e),
        _ => false,
    };
    if !in_force {
        return Err(ApiError::validation(
            "year",
            format!(
                "{} is not in force in {} (from {}{}); give a year it covers",
                m.id,
                b.year,
                m.validity.start,
                m.validity
                    .end
                    .map_or_else(String::new, |e| format!(" until {e}"))
            ),
        ));
    }
    let GoodsSelector::Codes(goods) = &m.goods else {
        return Err(ApiError::validation(
            "measure",
            format!(
                "{} does not name tariff lines; a quota counts named lines",
                m.id
            ),
        ));
    };
    let unit = unit_of("unit", &b.unit)?;
    let quota = Quantity::parse(&b.quota, unit)
        .ok()
        .filter(|q| q.grams > 0)
        .ok_or_else(|| {
            ApiError::validation(
                "quota",
                format!(
                    "`{}` is not a positive quantity in {}; e.g. \"164000\"",
                    b.quota,
                    unit.as_str()
                ),
            )
        })?;
    let r = s
        .store
        .create_quota(
            &Actor::user(caller.name()),
            &NewQuota {
                measure: m.id.clone(),
                origin,
                goods: goods.clone(),
                year: b.year,
                quota_g: quota.grams,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(QuotaOut::of(&s, r, None))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportsIn {
    /// Decimal string.
    pub quantity: String,
    /// `t` or `kg`.
    pub unit: String,
    /// The instant the imports are counted at (`YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` Beijing time, or
    /// RFC 3339); decides when the quota is reached if they reach it.
    pub declared_at: String,
    /// Where the figure comes from, e.g. "customs statistics January–October".
    pub source: String,
}

/// Records imports counted against a quota outside Waiver's declarations (officers,
/// administrators): a draw naming its source, with notices like any other draw.
#[utoipa::path(post, path = "/api/v1/quotas/{measure}/{origin}/{year}/imports", request_body = ImportsIn,
    params(("measure" = String, Path), ("origin" = String, Path), ("year" = i32, Path)),
    responses((status = 201, body = QuotaOut), (status = 404, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn record_imports(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path((measure, origin, year)): Path<(String, String, String)>,
    JsonBody(b): JsonBody<ImportsIn>,
) -> Res<(StatusCode, Json<QuotaOut>)> {
    authorize(&caller, Action::ManageQuotas)?;
    let id = format!("{measure}/{origin}/{year}");
    let unit = unit_of("unit", &b.unit)?;
    let q = Quantity::parse(&b.quantity, unit)
        .ok()
        .filter(|q| q.grams > 0)
        .ok_or_else(|| {
            ApiError::validation(
                "quantity",
                format!(
                    "`{}` is not a positive quantity in {}",
                    b.quantity,
                    unit.as_str()
                ),
            )
        })?;
    let at = BjTime::parse_instant(&b.declared_at).map_err(|e| {
        ApiError::validation("declared_at", format!("`{}`: {}", b.declared_at, e.0))
    })?;
    let in_year = year
        .parse::<i32>()
        .ok()
        .and_then(|y| Some((year_start(y)?, year_start(y.checked_add(1)?)?)))
        .is_some_and(|(a, z)| a <= at && at < z);
    if !in_year {
        return Err(ApiError::validation(
            "declared_at",
            format!(
                "`{}` is not in the quota's year {year}; give an instant in that year",
                b.declared_at
            ),
        ));
    }
    let source = b.source.trim();
    if source.is_empty() || source.chars().count() > MAX_SOURCE_CHARS {
        return Err(ApiError::validation(
            "source",
            format!("name where the figure comes from, 1 to {MAX_SOURCE_CHARS} characters"),
        ));
    }
    let r = s
        .store
        .record_quota_imports(
            &Actor::user(caller.name()),
            &id,
            q.grams,
            at,
            &format!("imports recorded: {source}"),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(QuotaOut::of(&s, r, None))))
}
