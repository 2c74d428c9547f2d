//! Pages for commission officers and experts beyond the application workflow: programme
//! set-up (list, view, create from a form, or start from an existing programme), policy
//! changes (list, publish), overdue reviews (list, escalate), the contact log of an
//! application, an expert's queue with deadlines, and the applicant's enterprise profile.
//! Every handler asks `auth::permits` first and calls the same domain validation and store
//! methods as the JSON API.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Form, Path, Query, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;
use waiver_domain::policy::{PolicyAction, PolicyChangeSpec};
use waiver_domain::programme::{Criterion, ProgrammeKind, ProgrammeSpec, RefundRule, ReviewPolicy};
use waiver_domain::schedule::Confidence;
use waiver_domain::BjTime;
use waiver_store::{Actor, Contact};

use super::i18n::Lang;
use super::layout::{page, Ctx};
use super::{csrf_ok, ctx, expired, not_found, refused, respond, LangQuery};
use crate::auth::{permits, Action, Caller};
use crate::AppState;

type Fields = HashMap<String, String>;
type Caught = Result<Caller, crate::error::ApiError>;
type Errors = BTreeMap<String, String>;

const MAX_FIELDS: usize = 60;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/programmes", get(programmes))
        .route(
            "/programmes/new",
            get(new_programme_form).post(new_programme),
        )
        .route("/programmes/{id}", get(programme))
        .route(
            "/programmes/{id}/edit",
            get(edit_programme_form).post(edit_programme),
        )
        .route(
            "/policy-changes",
            get(policy_changes).post(publish_policy_change),
        )
        .route("/reviews/overdue", get(overdue))
        .route("/reviews/escalate", post(escalate))
        .route("/applications/{number}/contact", post(record_contact))
        .route("/queue", get(queue))
        .route("/enterprise", get(enterprise))
}

fn field<'a>(f: &'a Fields, k: &str) -> &'a str {
    f.get(k).map_or("", |v| v.as_str())
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_owned())]).into_response()
}

fn bj(ms: i64) -> BjTime {
    BjTime(ms / 1000 + 8 * 3600)
}

fn server_error(e: impl Into<crate::error::ApiError>) -> Response {
    e.into().into_response()
}

/// A labelled input with its error beside it (the same shape as the application form's).
fn input(id: &str, label: &str, value: &str, errors: &Errors) -> Markup {
    let err = errors.get(id);
    html! {
        div.field {
            label for=(id) { (label) }
            @if let Some(e) = err { p.error id=(format!("{id}-error")) { (e) } }
            input id=(id) name=(id) type="text" value=(value)
                aria-invalid=[err.map(|_| "true")]
                aria-describedby=[err.map(|_| format!("{id}-error"))];
        }
    }
}

fn textarea(id: &str, label: &str, hint: &str, value: &str, errors: &Errors) -> Markup {
    let err = errors.get(id);
    let described = match err {
        Some(_) => format!("{id}-hint {id}-error"),
        None => format!("{id}-hint"),
    };
    html! {
        div.field {
            label for=(id) { (label) }
            p.hint id=(format!("{id}-hint")) { (hint) }
            @if let Some(e) = err { p.error id=(format!("{id}-error")) { (e) } }
            textarea id=(id) name=(id) rows="4" aria-invalid=[err.map(|_| "true")] aria-describedby=(described) { (value) }
        }
    }
}

fn error_summary(c: &Ctx, errors: &Errors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.error-summary role="alert" aria-labelledby="error-summary-title" {
                h2 id="error-summary-title" { (c.t("form.errors")) }
                ul { @for (id, msg) in errors { li { a href=(format!("#{id}")) { (msg) } } } }
            }
        }
    }
}

fn name_of<'a>(c: &Ctx, en: &'a str, zh: &'a str) -> &'a str {
    match c.lang {
        Lang::Zh if !zh.is_empty() => zh,
        _ => en,
    }
}

// ---------------------------------------------------------------- programmes

async fn programmes(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let c = ctx(caller, &headers, q.lang.as_deref(), "/programmes".into()).await;
    if !permits(c.role(), Action::ReadProgrammes) {
        return refused(&c);
    }
    let items = match s.store.programmes().await {
        Ok(i) => i,
        Err(e) => return server_error(e),
    };
    let body = html! {
        p.lead { (c.t("prog.intro")) }
        @if permits(c.role(), Action::ManageProgrammes) {
            p { a href="/programmes/new" { (c.t("prog.new")) } }
        }
        table {
            thead { tr {
                th scope="col" { (c.t("prog.id")) } th scope="col" { (c.t("prog.name")) }
                th scope="col" { (c.t("prog.kind")) } th scope="col" { (c.t("prog.window")) }
                th.num scope="col" { (c.t("prog.version")) }
            } }
            tbody { @for (p, v) in &items { tr {
                td { a href=(format!("/programmes/{}", p.spec.id)) { (p.spec.id) } }
                td { (name_of(&c, &p.spec.name_en, &p.spec.name_zh)) }
                td { (c.t(kind_key(p.spec.kind))) }
                td { (c.lang.date(p.applications_open)) " – " (p.applications_close.map(|t| c.lang.date(t)).unwrap_or_default()) }
                td.num { (v) }
            } } }
        }
    };
    let title = c.t("prog.title");
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

fn kind_key(k: ProgrammeKind) -> &'static str {
    match k {
        ProgrammeKind::Product => "prog.kind.product",
        ProgrammeKind::Purchase => "prog.kind.purchase",
    }
}

async fn programme(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let c = ctx(
        caller,
        &headers,
        q.lang.as_deref(),
        format!("/programmes/{id}"),
    )
    .await;
    if !permits(c.role(), Action::ReadProgrammes) {
        return refused(&c);
    }
    let (p, version) = match s.store.programme(&id).await {
        Ok(Some(x)) => x,
        Ok(None) => return not_found(&c),
        Err(e) => return server_error(e),
    };
    let sp = &p.spec;
    let body = html! {
        dl.facts {
            dt { (c.t("prog.name")) } dd { (sp.name_en) @if !sp.name_zh.is_empty() { " / " (sp.name_zh) } }
            dt { (c.t("prog.legal_basis")) } dd { (sp.legal_basis) }
            dt { (c.t("prog.kind")) } dd { (c.t(kind_key(sp.kind))) }
            dt { (c.t("prog.window")) } dd { (c.lang.date(p.applications_open)) " – " (p.applications_close.map(|t| c.lang.date(t)).unwrap_or_default()) }
            dt { (c.t("prog.validity_days")) } dd { (sp.validity_days) }
            dt { (c.t("prog.overfill")) } dd { (sp.overfill_tolerance_pct) "%" }
            dt { (c.t("prog.refunds")) } dd { (c.t(match sp.refunds { RefundRule::None => "no", RefundRule::AdditionalDuty => "yes" })) }
            dt { (c.t("prog.appeal_days")) } dd { (sp.appeal_days) }
            dt { (c.t("prog.scopes")) } dd { (sp.lifts_scopes.join(", ")) }
            dt { (c.t("prog.unlisted")) } dd { (c.t(if sp.allow_unlisted_lines { "yes" } else { "no" })) }
            dt { (c.t("prog.experts")) } dd { (sp.review.experts_per_application) }
            dt { (c.t("prog.review_days")) } dd { (sp.review.review_days) }
            dt { (c.t("prog.version")) } dd { (version) }
        }
        h2 { (c.t("prog.criteria")) }
        table {
            thead { tr { th scope="col" { (c.t("prog.criterion")) } th.num scope="col" { (c.t("prog.weight")) } th.num scope="col" { (c.t("prog.scale")) } } }
            tbody { @for cr in &sp.review.criteria { tr {
                td { (name_of(&c, &cr.name_en, &cr.name_zh)) } td.num { (cr.weight_pct) "%" } td.num { "1–" (cr.scale_max) }
            } } }
        }
        h2 { (c.t("prog.lines")) }
        p { (sp.eligible_lines.join(", ")) }
        ul {
            li { a href=(format!("/policy-changes?programme={id}")) { (c.t("policy.title")) } }
            @if permits(c.role(), Action::ReadSla) { li { a href=(format!("/programmes/{id}/sla")) { (c.t("sla.title")) } } }
            @if permits(c.role(), Action::ManageProgrammes) {
                li { a href=(format!("/programmes/{id}/edit")) { (c.t("prog.edit")) } }
                li { a href=(format!("/programmes/new?from={id}")) { (c.t("prog.copy")) } }
            }
        }
    };
    let title = format!("{} — {}", sp.id, name_of(&c, &sp.name_en, &sp.name_zh));
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

#[derive(Deserialize, Default)]
pub struct FromQuery {
    pub from: Option<String>,
    pub lang: Option<String>,
}

/// The form fields of a programme document.
fn fields_of(sp: &ProgrammeSpec) -> Fields {
    let mut f = Fields::new();
    let mut put = |k: &str, v: String| {
        f.insert(k.to_owned(), v);
    };
    put("id", String::new());
    put("name_en", sp.name_en.clone());
    put("name_zh", sp.name_zh.clone());
    put("legal_basis", sp.legal_basis.clone());
    put(
        "kind",
        match sp.kind {
            ProgrammeKind::Product => "product",
            ProgrammeKind::Purchase => "purchase",
        }
        .into(),
    );
    put("eligible_lines", sp.eligible_lines.join("\n"));
    put(
        "allow_unlisted_lines",
        if sp.allow_unlisted_lines { "on" } else { "" }.into(),
    );
    put("lifts_scopes", sp.lifts_scopes.join(", "));
    put("applications_open", sp.applications_open.clone());
    put(
        "applications_close",
        sp.applications_close.clone().unwrap_or_default(),
    );
    put("validity_days", sp.validity_days.to_string());
    put("overfill_tolerance_pct", sp.overfill_tolerance_pct.clone());
    put(
        "refunds",
        match sp.refunds {
            RefundRule::None => "none",
            RefundRule::AdditionalDuty => "additional_duty",
        }
        .into(),
    );
    put("appeal_days", sp.appeal_days.to_string());
    put(
        "experts_per_application",
        sp.review.experts_per_application.to_string(),
    );
    put("review_days", sp.review.review_days.to_string());
    put(
        "criteria",
        sp.review
            .criteria
            .iter()
            .map(|c| {
                format!(
                    "{} | {} | {} | {} | {}",
                    c.key, c.weight_pct, c.scale_max, c.name_en, c.name_zh
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
    );
    put("sources", sp.sources.join("\n"));
    put("notes", sp.notes.clone());
    f
}

/// The programme form: blank or copied (`edit` is `None`), or editing programme `id` at
/// `version`.
fn programme_form(c: &Ctx, f: &Fields, errors: &Errors, edit: Option<(&str, i64)>) -> Markup {
    let v = |k: &str| field(f, k).to_owned();
    let (title, action) = match edit {
        Some((id, _)) => (
            format!("{} {id}", c.t("prog.edit")),
            format!("/programmes/{id}/edit"),
        ),
        None => (c.t("prog.new"), "/programmes/new".to_owned()),
    };
    page(
        c,
        &title,
        html! {
            @if edit.is_some() { p.hint { (c.t("prog.edit_hint")) } }
            (error_summary(c, errors))
            form.stack method="post" action=(action) novalidate {
                input type="hidden" name="csrf" value=(c.csrf);
                @if let Some((id, version)) = edit {
                    input type="hidden" name="version" value=(version);
                    input type="hidden" name="id" value=(id);
                } @else {
                    (input("id", &c.t("prog.id_hint"), &v("id"), errors))
                }
                (input("name_en", &c.t("prog.name_en"), &v("name_en"), errors))
                (input("name_zh", &c.t("prog.name_zh"), &v("name_zh"), errors))
                (input("legal_basis", &c.t("prog.legal_basis"), &v("legal_basis"), errors))
                label for="kind" { (c.t("prog.kind")) }
                select id="kind" name="kind" {
                    option value="purchase" selected[v("kind") != "product"] { (c.t("prog.kind.purchase")) }
                    option value="product" selected[v("kind") == "product"] { (c.t("prog.kind.product")) }
                }
                (textarea("eligible_lines", &c.t("prog.lines"), &c.t("prog.lines_hint"), &v("eligible_lines"), errors))
                div.check {
                    input id="allow_unlisted_lines" name="allow_unlisted_lines" type="checkbox" checked[!v("allow_unlisted_lines").is_empty()];
                    label for="allow_unlisted_lines" { (c.t("prog.unlisted")) }
                }
                (input("lifts_scopes", &c.t("prog.scopes_hint"), &v("lifts_scopes"), errors))
                div.row {
                    (input("applications_open", &c.t("prog.open"), &v("applications_open"), errors))
                    (input("applications_close", &c.t("prog.close"), &v("applications_close"), errors))
                }
                div.row {
                    (input("validity_days", &c.t("prog.validity_days"), &v("validity_days"), errors))
                    (input("overfill_tolerance_pct", &c.t("prog.overfill"), &v("overfill_tolerance_pct"), errors))
                    (input("appeal_days", &c.t("prog.appeal_days"), &v("appeal_days"), errors))
                }
                label for="refunds" { (c.t("prog.refunds")) }
                select id="refunds" name="refunds" {
                    option value="none" selected[v("refunds") != "additional_duty"] { (c.t("no")) }
                    option value="additional_duty" selected[v("refunds") == "additional_duty"] { (c.t("yes")) }
                }
                h2 { (c.t("prog.review")) }
                div.row {
                    (input("experts_per_application", &c.t("prog.experts"), &v("experts_per_application"), errors))
                    (input("review_days", &c.t("prog.review_days"), &v("review_days"), errors))
                }
                (textarea("criteria", &c.t("prog.criteria"), &c.t("prog.criteria_hint"), &v("criteria"), errors))
                (textarea("sources", &c.t("prog.sources"), &c.t("prog.sources_hint"), &v("sources"), errors))
                (input("notes", &c.t("prog.notes"), &v("notes"), errors))
                button.primary type="submit" { (c.t(if edit.is_some() { "prog.save" } else { "prog.create" })) }
            }
        },
    )
}

async fn new_programme_form(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Query(q): Query<FromQuery>,
) -> Response {
    let c = ctx(
        caller,
        &headers,
        q.lang.as_deref(),
        "/programmes/new".into(),
    )
    .await;
    if !permits(c.role(), Action::ManageProgrammes) {
        return refused(&c);
    }
    let f = match q.from.as_deref() {
        Some(id) => match s.store.programme(id).await {
            Ok(Some((p, _))) => fields_of(&p.spec),
            Ok(None) => return not_found(&c),
            Err(e) => return server_error(e),
        },
        None => {
            let mut f = Fields::new();
            for (k, v) in [
                ("validity_days", "365"),
                ("overfill_tolerance_pct", "0"),
                ("appeal_days", "30"),
                ("experts_per_application", "3"),
                ("review_days", "14"),
            ] {
                f.insert(k.into(), v.into());
            }
            f
        }
    };
    respond(
        &c,
        StatusCode::OK,
        programme_form(&c, &f, &Errors::new(), None),
    )
}

fn lines(raw: &str) -> Vec<String> {
    raw.split(|ch: char| ch == ',' || ch.is_whitespace())
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The programme document the form describes; numbers that do not parse are reported by field.
fn spec_of(c: &Ctx, f: &Fields) -> Result<ProgrammeSpec, Errors> {
    let mut errors = Errors::new();
    let mut num = |k: &str| -> u32 {
        match field(f, k).trim().parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                errors.insert(k.to_owned(), c.t("prog.whole_number"));
                0
            }
        }
    };
    let validity_days = num("validity_days");
    let appeal_days = num("appeal_days");
    let experts = num("experts_per_application");
    let review_days = num("review_days");
    let mut criteria = Vec::new();
    for line in field(f, "criteria")
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        let parsed = match parts.as_slice() {
            [key, w, scale, en, rest @ ..] if rest.len() <= 1 => {
                match (w.trim_end_matches('%').parse(), scale.parse()) {
                    (Ok(weight_pct), Ok(scale_max)) => Some(Criterion {
                        key: (*key).to_owned(),
                        name_en: (*en).to_owned(),
                        name_zh: rest.first().map_or(String::new(), |z| (*z).to_owned()),
                        weight_pct,
                        scale_max,
                    }),
                    _ => None,
                }
            }
            _ => None,
        };
        match parsed {
            Some(cr) => criteria.push(cr),
            None => {
                errors.insert("criteria".into(), c.t("prog.criteria_hint"));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let close = field(f, "applications_close").trim();
    Ok(ProgrammeSpec {
        id: field(f, "id").trim().to_owned(),
        name_en: field(f, "name_en").trim().to_owned(),
        name_zh: field(f, "name_zh").trim().to_owned(),
        legal_basis: field(f, "legal_basis").trim().to_owned(),
        kind: if field(f, "kind") == "product" {
            ProgrammeKind::Product
        } else {
            ProgrammeKind::Purchase
        },
        eligible_lines: lines(field(f, "eligible_lines")),
        allow_unlisted_lines: !field(f, "allow_unlisted_lines").is_empty(),
        lifts_scopes: lines(field(f, "lifts_scopes")),
        applications_open: field(f, "applications_open").trim().to_owned(),
        applications_close: (!close.is_empty()).then(|| close.to_owned()),
        validity_days,
        overfill_tolerance_pct: field(f, "overfill_tolerance_pct").trim().to_owned(),
        refunds: if field(f, "refunds") == "additional_duty" {
            RefundRule::AdditionalDuty
        } else {
            RefundRule::None
        },
        appeal_days: u16::try_from(appeal_days).unwrap_or(u16::MAX),
        review: ReviewPolicy {
            criteria,
            experts_per_application: u8::try_from(experts).unwrap_or(u8::MAX),
            review_days: u16::try_from(review_days).unwrap_or(u16::MAX),
        },
        confidence: Confidence::Sourced,
        sources: field(f, "sources")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        notes: field(f, "notes").trim().to_owned(),
    })
}

/// Maps a programme problem's field (`review.criteria[1].key`, `eligible_lines[3]`) to the
/// form input that holds it.
fn programme_input(problem: &str) -> String {
    if problem.starts_with("review.criteria") {
        return "criteria".into();
    }
    let last = problem.rsplit('.').next().unwrap_or(problem);
    last.split('[').next().unwrap_or(last).to_owned()
}

/// The validated programme the form describes (the API's rules: `ProgrammeSpec::validate`
/// and every eligible line in the schedule), or the problems by input id.
fn programme_of(
    s: &AppState,
    c: &Ctx,
    f: &Fields,
) -> Result<waiver_domain::programme::Programme, Errors> {
    let programme = spec_of(c, f)?
        .validate()
        .map_err(|e| Errors::from([(programme_input(&e.field), c.lang.problem_of(&e.message))]))?;
    for code in &programme.eligible_lines {
        if s.schedule
            .lines()
            .iter()
            .all(|l| l.code != *code && code.parent8() != Some(l.code))
        {
            return Err(Errors::from([(
                "eligible_lines".to_owned(),
                c.lang.problem_of(&format!(
                    "tariff line {code} is not in the nomenclature; check the code"
                )),
            )]));
        }
    }
    Ok(programme)
}

async fn edit_programme_form(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let c = ctx(
        caller,
        &headers,
        q.lang.as_deref(),
        format!("/programmes/{id}/edit"),
    )
    .await;
    if !permits(c.role(), Action::ManageProgrammes) {
        return refused(&c);
    }
    let (p, version) = match s.store.programme(&id).await {
        Ok(Some(x)) => x,
        Ok(None) => return not_found(&c),
        Err(e) => return server_error(e),
    };
    let f = fields_of(&p.spec);
    respond(
        &c,
        StatusCode::OK,
        programme_form(&c, &f, &Errors::new(), Some((&p.spec.id, version))),
    )
}

async fn edit_programme(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(mut f): Form<Fields>,
) -> Response {
    let c = ctx(caller, &headers, None, format!("/programmes/{id}/edit")).await;
    if !permits(c.role(), Action::ManageProgrammes) {
        return refused(&c);
    }
    if f.len() > MAX_FIELDS || !csrf_ok(&headers, field(&f, "csrf")) {
        return expired(&c);
    }
    match s.store.programme(&id).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(&c),
        Err(e) => return server_error(e),
    }
    // The id is the page's, whatever the form says.
    f.insert("id".into(), id.clone());
    let version = field(&f, "version").trim().parse::<i64>().unwrap_or(0);
    let fail = |errors: Errors| {
        respond(
            &c,
            StatusCode::UNPROCESSABLE_ENTITY,
            programme_form(&c, &f, &errors, Some((&id, version))),
        )
    };
    let programme = match programme_of(&s, &c, &f) {
        Ok(p) => p,
        Err(errors) => return fail(errors),
    };
    let actor = Actor::user(c.user.as_ref().map_or("", |u| u.username.as_str()));
    match s.store.update_programme(&actor, &programme, version).await {
        Ok(_) => see_other(&format!("/programmes/{id}")),
        Err(waiver_store::StoreError::Conflict(m)) => fail(Errors::from([(
            "name_en".to_owned(),
            c.lang.problem_of(&m),
        )])),
        Err(e) => server_error(e),
    }
}

async fn new_programme(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let c = ctx(caller, &headers, None, "/programmes/new".into()).await;
    if !permits(c.role(), Action::ManageProgrammes) {
        return refused(&c);
    }
    if f.len() > MAX_FIELDS || !csrf_ok(&headers, field(&f, "csrf")) {
        return expired(&c);
    }
    let fail = |errors: Errors| {
        respond(
            &c,
            StatusCode::UNPROCESSABLE_ENTITY,
            programme_form(&c, &f, &errors, None),
        )
    };
    let programme = match programme_of(&s, &c, &f) {
        Ok(p) => p,
        Err(errors) => return fail(errors),
    };
    let actor = Actor::user(c.user.as_ref().map_or("", |u| u.username.as_str()));
    match s.store.create_programme(&actor, &programme).await {
        Ok(()) => see_other(&format!("/programmes/{}", programme.spec.id)),
        Err(waiver_store::StoreError::Conflict(_)) => {
            fail(Errors::from([("id".to_owned(), c.t("prog.exists"))]))
        }
        Err(e) => server_error(e),
    }
}

// ---------------------------------------------------------------- policy changes

#[derive(Deserialize, Default)]
pub struct ProgrammeQuery {
    pub programme: Option<String>,
    pub lang: Option<String>,
}

async fn policy_page(
    s: &AppState,
    c: &Ctx,
    f: &Fields,
    errors: &Errors,
) -> Result<Markup, Response> {
    let chosen = Some(field(f, "programme")).filter(|p| !p.is_empty());
    let items = s.store.policy_changes(chosen).await.map_err(server_error)?;
    let programmes = s.store.programmes().await.map_err(server_error)?;
    let v = |k: &str| field(f, k).to_owned();
    let title = c.t("policy.title");
    Ok(page(
        c,
        &title,
        html! {
            p.lead { (c.t("policy.intro")) }
            @if items.is_empty() { p { (c.t("policy.none")) } } @else {
                table {
                    thead { tr {
                        th scope="col" { (c.t("policy.number")) } th scope="col" { (c.t("apps.programme")) }
                        th scope="col" { (c.t("policy.effective")) } th scope="col" { (c.t("policy.action")) }
                        th scope="col" { (c.t("policy.reason")) } th.num scope="col" { (c.t("policy.affected")) }
                    } }
                    tbody { @for p in &items { tr {
                        td { (p.number) " v" (p.version) @if let Some(by) = &p.superseded_by { " (" (c.t("policy.superseded")) " " (by) ")" } }
                        td { (p.spec.programme) }
                        td { (c.lang.date(p.effective_at)) }
                        td { (match &p.spec.action {
                            PolicyAction::SuspendIntake { lines } => format!("{} {}", c.t("policy.suspend"), lines.join(", ")),
                            PolicyAction::Redate { valid_until, line, holder } => format!("{} {valid_until} {} {}", c.t("policy.redate"), line.clone().unwrap_or_default(), holder.clone().unwrap_or_default()),
                        }) }
                        td { (p.spec.reason) }
                        td.num { (p.affected) }
                    } } }
                }
            }
            @if permits(c.role(), Action::ManagePolicy) {
                h2 { (c.t("policy.publish")) }
                (error_summary(c, errors))
                form.stack method="post" action="/policy-changes" novalidate {
                    input type="hidden" name="csrf" value=(c.csrf);
                    label for="programme" { (c.t("apps.programme")) }
                    select id="programme" name="programme" {
                        @for (p, _) in &programmes { option value=(p.spec.id) selected[Some(p.spec.id.as_str()) == chosen] { (p.spec.id) } }
                    }
                    (input("effective_at", &c.t("policy.effective_hint"), &v("effective_at"), errors))
                    label for="kind" { (c.t("policy.action")) }
                    select id="kind" name="kind" {
                        option value="suspend_intake" selected[v("kind") != "redate"] { (c.t("policy.suspend")) }
                        option value="redate" selected[v("kind") == "redate"] { (c.t("policy.redate")) }
                    }
                    (input("lines", &c.t("policy.lines"), &v("lines"), errors))
                    (input("valid_until", &c.t("policy.valid_until"), &v("valid_until"), errors))
                    div.row {
                        (input("line", &c.t("policy.line"), &v("line"), errors))
                        (input("holder", &c.t("policy.holder"), &v("holder"), errors))
                    }
                    (input("reason", &c.t("policy.reason"), &v("reason"), errors))
                    (input("source", &c.t("policy.source"), &v("source"), errors))
                    (input("supersedes", &c.t("policy.supersedes"), &v("supersedes"), errors))
                    button.primary type="submit" { (c.t("policy.publish")) }
                }
            }
        },
    ))
}

async fn policy_changes(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Query(q): Query<ProgrammeQuery>,
) -> Response {
    let here = match &q.programme {
        Some(p) => format!("/policy-changes?programme={}", super::urlencode(p)),
        None => "/policy-changes".into(),
    };
    let c = ctx(caller, &headers, q.lang.as_deref(), here).await;
    if !permits(c.role(), Action::ReadPublic) {
        return refused(&c);
    }
    let mut f = Fields::new();
    if let Some(p) = q.programme.filter(|p| p.len() <= 32) {
        f.insert("programme".into(), p);
    }
    match policy_page(&s, &c, &f, &Errors::new()).await {
        Ok(body) => respond(&c, StatusCode::OK, body),
        Err(r) => r,
    }
}

fn policy_input(problem: &str) -> String {
    match problem {
        p if p.starts_with("action.lines") => "lines".into(),
        "action.valid_until" => "valid_until".into(),
        "action.line" => "line".into(),
        "action.holder" => "holder".into(),
        "reason" | "effective_at" | "supersedes" | "programme" | "source" => problem.into(),
        p if p.starts_with("action") => "kind".into(),
        _ => "reason".into(),
    }
}

async fn publish_policy_change(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let c = ctx(caller, &headers, None, "/policy-changes".into()).await;
    if !permits(c.role(), Action::ManagePolicy) {
        return refused(&c);
    }
    if f.len() > MAX_FIELDS || !csrf_ok(&headers, field(&f, "csrf")) {
        return expired(&c);
    }
    let opt = |k: &str| Some(field(&f, k).trim().to_owned()).filter(|v| !v.is_empty());
    let spec = PolicyChangeSpec {
        programme: field(&f, "programme").trim().to_owned(),
        effective_at: field(&f, "effective_at").trim().to_owned(),
        action: if field(&f, "kind") == "redate" {
            PolicyAction::Redate {
                valid_until: field(&f, "valid_until").trim().to_owned(),
                line: opt("line"),
                holder: opt("holder"),
            }
        } else {
            PolicyAction::SuspendIntake {
                lines: lines(field(&f, "lines")),
            }
        },
        reason: field(&f, "reason").trim().to_owned(),
        source: opt("source"),
        supersedes: opt("supersedes"),
    };
    let mut errors = Errors::new();
    let change = match spec.validate() {
        Ok(ch) => Some(ch),
        Err(problems) => {
            for p in problems {
                errors
                    .entry(policy_input(&p.field))
                    .or_insert_with(|| c.lang.problem_of(&p.message));
            }
            None
        }
    };
    match s.store.programme(&spec.programme).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            errors.insert("programme".into(), c.t("error.not_found"));
        }
        Err(e) => return server_error(e),
    }
    let published = match (change, errors.is_empty()) {
        (Some(ch), true) => {
            let actor = Actor::user(c.user.as_ref().map_or("", |u| u.username.as_str()));
            match s.store.publish_policy_change(&actor, &spec, &ch).await {
                Ok(_) => true,
                Err(e) => {
                    errors.insert("reason".into(), e.to_string());
                    false
                }
            }
        }
        _ => false,
    };
    if published {
        return see_other(&format!(
            "/policy-changes?programme={}",
            super::urlencode(&spec.programme)
        ));
    }
    match policy_page(&s, &c, &f, &errors).await {
        Ok(body) => respond(&c, StatusCode::UNPROCESSABLE_ENTITY, body),
        Err(r) => r,
    }
}

// ---------------------------------------------------------------- reviews

async fn overdue(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let c = ctx(
        caller,
        &headers,
        q.lang.as_deref(),
        "/reviews/overdue".into(),
    )
    .await;
    if !permits(c.role(), Action::ReadReviews) {
        return refused(&c);
    }
    let now = crate::review::now_ms();
    let items = match s.store.overdue_reviews(now).await {
        Ok(i) => i,
        Err(e) => return server_error(e),
    };
    let body = html! {
        p.lead { (c.t("overdue.intro")) }
        @if items.is_empty() { p { (c.t("overdue.none")) } } @else {
            table {
                thead { tr {
                    th scope="col" { (c.t("apps.number")) } th scope="col" { (c.t("form.expert")) }
                    th scope="col" { (c.t("queue.due")) } th.num scope="col" { (c.t("overdue.days")) }
                    th scope="col" { (c.t("overdue.escalated")) }
                } }
                tbody { @for a in &items { tr {
                    td { a href=(format!("/applications/{}", a.application)) { (a.application) } }
                    td { (a.expert) }
                    td { (c.lang.date(bj(a.due_at_ms))) }
                    td.num { ((now - a.due_at_ms).max(0) / 86_400_000) }
                    td { (a.escalated_at_ms.map(|t| c.lang.date(bj(t))).unwrap_or_else(|| c.t("no"))) }
                } } }
            }
            @if permits(c.role(), Action::ManageReview) {
                form.stack method="post" action="/reviews/escalate" {
                    input type="hidden" name="csrf" value=(c.csrf);
                    p.hint { (c.t("overdue.escalate_hint")) }
                    button.primary type="submit" { (c.t("overdue.escalate")) }
                }
            }
        }
    };
    let title = c.t("overdue.title");
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

async fn escalate(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let c = ctx(caller, &headers, None, "/reviews/overdue".into()).await;
    if !permits(c.role(), Action::ManageReview) {
        return refused(&c);
    }
    if f.len() > MAX_FIELDS || !csrf_ok(&headers, field(&f, "csrf")) {
        return expired(&c);
    }
    let actor = Actor::user(c.user.as_ref().map_or("", |u| u.username.as_str()));
    match s
        .store
        .escalate_overdue(&actor, crate::review::now_ms())
        .await
    {
        Ok(_) => see_other("/reviews/overdue"),
        Err(e) => server_error(e),
    }
}

/// An expert's assignments with their deadlines, the open ones first.
async fn queue(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let c = ctx(caller, &headers, q.lang.as_deref(), "/queue".into()).await;
    if !permits(c.role(), Action::Review) {
        return refused(&c);
    }
    let me = c.user.as_ref().map_or("", |u| u.username.as_str());
    let mut items = match s.store.assignments_of(me).await {
        Ok(i) => i,
        Err(e) => return server_error(e),
    };
    items.sort_by_key(|a| (a.status != "active", a.due_at_ms));
    let now = crate::review::now_ms();
    let body = html! {
        p.lead { (c.t("queue.intro")) }
        @if items.is_empty() { p { (c.t("queue.none")) } } @else {
            table {
                thead { tr {
                    th scope="col" { (c.t("apps.number")) } th scope="col" { (c.t("queue.assigned")) }
                    th scope="col" { (c.t("queue.due")) } th scope="col" { (c.t("apps.state")) }
                } }
                tbody { @for a in &items { tr {
                    td { @if a.status == "replaced" { (a.application) } @else { a href=(format!("/applications/{}", a.application)) { (a.application) } } }
                    td { (c.lang.date(bj(a.assigned_at_ms))) }
                    td {
                        (c.lang.date(bj(a.due_at_ms)))
                        @if a.status == "active" && a.due_at_ms < now { " " span.tag.bad { (c.t("queue.overdue")) } }
                    }
                    td { (c.t(&format!("queue.status.{}", a.status))) }
                } } }
            }
        }
    };
    let title = c.t("queue.title");
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

// ---------------------------------------------------------------- contact log

/// The contact log of an application and, for officers and assigned experts, the form that
/// adds to it. Shown on the application's page.
pub async fn contact_panel(s: &AppState, c: &Ctx, number: &str) -> Markup {
    let read = permits(c.role(), Action::ReadReviews);
    let record = permits(c.role(), Action::RecordContacts);
    if !read && !record {
        return html! {};
    }
    let items = if read {
        s.store.contacts(number).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    html! {
        h2 { (c.t("contact.title")) }
        p.hint { (c.t("contact.intro")) }
        @if read {
            @if items.is_empty() { p { (c.t("contact.none")) } } @else {
                table {
                    thead { tr {
                        th scope="col" { (c.t("contact.at")) } th scope="col" { (c.t("contact.party")) }
                        th scope="col" { (c.t("contact.channel")) } th scope="col" { (c.t("contact.summary")) }
                        th scope="col" { (c.t("contact.by")) }
                    } }
                    tbody { @for x in &items { tr {
                        td { (x.contact.at) }
                        td { (x.contact.party) @if x.contact.with_applicant { " " span.tag { (c.t("contact.applicant")) } } }
                        td { (c.t(&format!("contact.channel.{}", x.contact.channel))) }
                        td { (x.contact.summary) }
                        td { (x.recorded_by) }
                    } } }
                }
            }
        }
        @if record {
            form.stack method="post" action=(format!("/applications/{number}/contact")) {
                input type="hidden" name="csrf" value=(c.csrf);
                label for="contact_party" { (c.t("contact.party")) }
                input id="contact_party" name="party" type="text" required;
                div.check {
                    input id="contact_with_applicant" name="with_applicant" type="checkbox";
                    label for="contact_with_applicant" { (c.t("contact.with_applicant")) }
                }
                label for="contact_at" { (c.t("contact.at_hint")) }
                input id="contact_at" name="at" type="text" required;
                label for="contact_channel" { (c.t("contact.channel")) }
                select id="contact_channel" name="channel" {
                    @for ch in ["phone", "meeting", "email", "letter", "other"] {
                        option value=(ch) { (c.t(&format!("contact.channel.{ch}"))) }
                    }
                }
                label for="contact_summary" { (c.t("contact.summary")) }
                textarea id="contact_summary" name="summary" rows="3" required {}
                button.primary type="submit" { (c.t("contact.record")) }
            }
        }
    }
}

async fn record_contact(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Path(number): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let caller = caller.unwrap_or(Caller(None));
    let loaded = if permits(caller.role(), Action::ReadApplications) {
        crate::applications::load(&s, &caller, &number).await.ok()
    } else {
        None
    };
    let c = ctx(
        Ok(caller),
        &headers,
        None,
        format!("/applications/{number}"),
    )
    .await;
    if !permits(c.role(), Action::RecordContacts) {
        return refused(&c);
    }
    if f.len() > MAX_FIELDS || !csrf_ok(&headers, field(&f, "csrf")) {
        return expired(&c);
    }
    if loaded.is_none() {
        return not_found(&c);
    }
    let contact = Contact {
        party: field(&f, "party").trim().to_owned(),
        with_applicant: !field(&f, "with_applicant").is_empty(),
        at: field(&f, "at").trim().to_owned(),
        channel: field(&f, "channel").to_owned(),
        summary: field(&f, "summary").trim().to_owned(),
    };
    let actor = Actor::user(c.user.as_ref().map_or("", |u| u.username.as_str()));
    match s.store.record_contact(&actor, &number, &contact).await {
        Ok(_) => see_other(&format!("/applications/{number}")),
        Err(e) => {
            let title = c.t("error.input");
            let body = html! {
                div.error-summary role="alert" { p.error { (c.lang.problem_of(&e.to_string())) } }
                p { a href=(format!("/applications/{number}")) { (c.t("form.back")) } }
            };
            respond(&c, StatusCode::UNPROCESSABLE_ENTITY, page(&c, &title, body))
        }
    }
}

// ---------------------------------------------------------------- enterprise profile

/// The signed-in applicant's enterprise: registration, names, group, and for an association
/// its members.
async fn enterprise(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let c = ctx(caller, &headers, q.lang.as_deref(), "/enterprise".into()).await;
    if !permits(c.role(), Action::ReadEnterprises) {
        return refused(&c);
    }
    let Some(code) = c
        .user
        .as_ref()
        .and_then(|u| u.enterprise.as_deref())
        .and_then(|e| waiver_domain::RegistrationCode::parse(e).ok())
    else {
        return not_found(&c);
    };
    let e = match s.store.enterprise(&code).await {
        Ok(Some(e)) => e,
        Ok(None) => return not_found(&c),
        Err(e) => return server_error(e),
    };
    let members = if e.is_association {
        s.store.members(&code).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let body = html! {
        dl.facts {
            dt { (c.t("ent.code")) } dd { (e.registration_code) }
            dt { (c.t("ent.name_en")) } dd { (e.name_en) }
            dt { (c.t("ent.name_zh")) } dd { (if e.name_zh.is_empty() { "–" } else { &e.name_zh }) }
            dt { (c.t("ent.group")) } dd { (e.parent_group.clone().unwrap_or_else(|| "–".into())) }
            dt { (c.t("ent.association")) } dd { (c.t(if e.is_association { "yes" } else { "no" })) }
        }
        @if e.is_association {
            h2 { (c.t("ent.members")) }
            @if members.is_empty() { p { (c.t("ent.no_members")) } } @else { ul { @for m in &members { li { (m) } } } }
        }
        ul {
            li { a href="/applications" { (c.t("nav.applications")) } }
            li { a href="/allowances" { (c.t("nav.allowances")) } }
        }
    };
    let title = name_of(&c, &e.name_en, &e.name_zh).to_owned();
    respond(&c, StatusCode::OK, page(&c, &title, body))
}
