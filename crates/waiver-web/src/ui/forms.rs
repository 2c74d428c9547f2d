//! The forms of the review workflow: an applicant files an application (errors beside each
//! field, nothing typed is lost); an officer screens, assigns experts and decides with the
//! experts' scores beside the form; an expert declares a conflict or scores. Each POST checks
//! the CSRF token and the same policy as the API, then calls the same domain rules and store.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Form, Path, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use waiver_domain::application::{ApplicationSpec, Contract, Event, PlanMonth};
use waiver_domain::review::{
    aggregate, validate_decision, CriterionScore, DecisionSpec, Outcome, Recommendation,
    ScoreSheetSpec,
};
use waiver_store::{Actor, Application};

use super::layout::{page, page_with_script, Ctx};
use super::{csrf_ok, ctx, refused, respond};
use crate::auth::{permits, Action, Caller};
use crate::AppState;

type Fields = HashMap<String, String>;
type Caught = Result<Caller, crate::error::ApiError>;

/// At most this many form fields are read.
const MAX_FIELDS: usize = 100;

fn field<'a>(f: &'a Fields, k: &str) -> &'a str {
    f.get(k).map_or("", |v| v.as_str())
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_owned())]).into_response()
}

/// Maps a problem's field (`contract.supplier`, `monthly_plan[1].quantity`) to its input id.
fn input_id(problem_field: &str) -> String {
    if problem_field == "contract" {
        // A missing contract is shown at its first field.
        return "contract_number".into();
    }
    problem_field
        .replace("monthly_plan[", "plan_")
        .replace("].", "_")
        .replace('.', "_")
}

fn text_input(id: &str, label: &str, value: &str, errors: &BTreeMap<String, String>) -> Markup {
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

async fn new_form_page(
    s: &AppState,
    c: &Ctx,
    f: &Fields,
    errors: &BTreeMap<String, String>,
) -> Markup {
    let programmes = s.store.programmes().await.unwrap_or_default();
    let chosen = field(f, "programme");
    let chosen = if chosen.is_empty() {
        "CN-2020-MKT"
    } else {
        chosen
    };
    let criteria = programmes
        .iter()
        .find(|(p, _)| p.spec.id == chosen)
        .map(|(p, _)| p.spec.review.criteria.clone())
        .unwrap_or_default();
    let scopes: Vec<String> = programmes
        .iter()
        .find(|(p, _)| p.spec.id == chosen)
        .map(|(p, _)| p.spec.lifts_scopes.clone())
        .unwrap_or_default();
    let title = c.t("form.new.title");
    page_with_script(
        c,
        &title,
        html! {
            p.hint { (c.t("form.new.live")) }
            @if !errors.is_empty() {
                div.error-summary role="alert" aria-labelledby="error-summary-title" {
                    h2 id="error-summary-title" { (c.t("form.errors")) }
                    ul { @for (id, msg) in errors { li { a href=(format!("#{id}")) { (msg) } } } }
                }
            }
            form.stack method="post" action="/applications/new" novalidate data-validate="/applications/validate" {
                input type="hidden" name="csrf" value=(c.csrf);
                label for="programme" { (c.t("apps.programme")) }
                select id="programme" name="programme" {
                    @for (p, _) in &programmes {
                        option value=(p.spec.id) selected[p.spec.id == chosen] { (p.spec.id) " — " (match c.lang { super::i18n::Lang::Zh if !p.spec.name_zh.is_empty() => &p.spec.name_zh, _ => &p.spec.name_en }) }
                    }
                }
                (text_input("enterprise", &c.t("apps.enterprise"), field(f, "enterprise"), errors))
                (text_input("line", &c.t("apps.line"), field(f, "line"), errors))
                div.row {
                    (text_input("quantity", &c.t("apps.quantity"), field(f, "quantity"), errors))
                    (text_input("unit", &c.t("form.unit"), if field(f, "unit").is_empty() { "t" } else { field(f, "unit") }, errors))
                }
                (super::scenarios::aid_panel(s, c, &scopes, field(f, "line"), field(f, "quantity"), field(f, "unit")))
                div.row {
                    (text_input("value", &c.t("apps.value"), field(f, "value"), errors))
                    (text_input("currency", &c.t("form.currency"), if field(f, "currency").is_empty() { "USD" } else { field(f, "currency") }, errors))
                }
                h2 { (c.t("form.contract")) }
                (text_input("contract_number", &c.t("form.contract.number"), field(f, "contract_number"), errors))
                (text_input("contract_supplier", &c.t("form.contract.supplier"), field(f, "contract_supplier"), errors))
                (text_input("contract_signed_on", &c.t("form.contract.signed_on"), field(f, "contract_signed_on"), errors))
                div.row {
                    (text_input("contract_quantity", &c.t("form.contract.quantity"), field(f, "contract_quantity"), errors))
                    (text_input("contract_overfill_pct", &c.t("form.contract.overfill"), field(f, "contract_overfill_pct"), errors))
                }
                @let plan_err = errors.get("monthly_plan");
                fieldset.plan id="monthly_plan" aria-describedby=[plan_err.map(|_| "monthly_plan-error")] {
                    legend { (c.t("form.plan")) }
                    p.hint { (c.t("form.plan.hint")) }
                    @if let Some(e) = plan_err { p.error id="monthly_plan-error" { (e) } }
                    @for i in 0..3 {
                        div.row {
                            (text_input(&format!("plan_{i}_month"), &format!("{} {}", c.t("form.plan.month"), i + 1), field(f, &format!("plan_{i}_month")), errors))
                            (text_input(&format!("plan_{i}_quantity"), &format!("{} {}", c.t("apps.quantity"), i + 1), field(f, &format!("plan_{i}_quantity")), errors))
                        }
                    }
                }
                h2 { (c.t("form.evidence")) }
                @for cr in &criteria {
                    (text_input(&format!("evidence_{}", cr.key), match c.lang { super::i18n::Lang::Zh if !cr.name_zh.is_empty() => &cr.name_zh, _ => &cr.name_en }, field(f, &format!("evidence_{}", cr.key)), errors))
                }
                (text_input("public_summary", &c.t("apps.summary"), field(f, "public_summary"), errors))
                button.primary type="submit" { (c.t("form.submit_application")) }
                " "
                button.secondary type="submit" name="action" value="aid" { (c.t("aid.check")) }
            }
        },
        Some(super::VALIDATE_JS_PATH),
    )
}

pub async fn new_application_form(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
) -> Response {
    let c = ctx(caller, &headers, None, "/applications/new".into()).await;
    if !permits(c.role(), Action::FileApplications) {
        return refused(&c);
    }
    let mut f = Fields::new();
    if let Some(e) = c.user.as_ref().and_then(|u| u.enterprise.clone()) {
        f.insert("enterprise".into(), e);
    }
    let body = new_form_page(&s, &c, &f, &BTreeMap::new()).await;
    respond(&c, StatusCode::OK, body)
}

fn spec_from(f: &Fields) -> ApplicationSpec {
    let contract = (!field(f, "contract_number").is_empty()).then(|| Contract {
        number: field(f, "contract_number").to_owned(),
        supplier: field(f, "contract_supplier").to_owned(),
        signed_on: field(f, "contract_signed_on").to_owned(),
        quantity: field(f, "contract_quantity").to_owned(),
        overfill_pct: if field(f, "contract_overfill_pct").is_empty() {
            "0".into()
        } else {
            field(f, "contract_overfill_pct").to_owned()
        },
    });
    let monthly_plan = (0..3)
        .filter(|i| !field(f, &format!("plan_{i}_month")).is_empty())
        .map(|i| PlanMonth {
            month: field(f, &format!("plan_{i}_month")).to_owned(),
            quantity: field(f, &format!("plan_{i}_quantity")).to_owned(),
        })
        .collect();
    let evidence = f
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("evidence_")
                .map(|k| (k.to_owned(), v.clone()))
        })
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    ApplicationSpec {
        programme: field(f, "programme").to_owned(),
        enterprise: field(f, "enterprise").trim().to_owned(),
        line: field(f, "line").trim().to_owned(),
        add_product_request: false,
        quantity: field(f, "quantity").trim().to_owned(),
        unit: field(f, "unit").trim().to_owned(),
        value: field(f, "value").trim().to_owned(),
        currency: field(f, "currency").trim().to_owned(),
        contract,
        monthly_plan,
        evidence,
        confidential: vec!["value".into(), "contract.supplier".into()],
        public_summary: field(f, "public_summary").to_owned(),
    }
}

/// Every problem of a draft, keyed by input id: the enterprise must be the caller's (or a
/// member's), then the domain's field-by-field validation (`ApplicationSpec::validate`) and any
/// published suspension of intake. The submit handler and the as-you-type endpoint share it, so
/// the rules and messages are the same in both.
async fn check_draft(
    s: &AppState,
    c: &Ctx,
    scope: &Result<waiver_store::Scope, crate::error::ApiError>,
    spec: &ApplicationSpec,
) -> (
    Option<waiver_domain::application::Validated>,
    BTreeMap<String, String>,
) {
    let mut errors: BTreeMap<String, String> = BTreeMap::new();
    let allowed = matches!(scope, Ok(waiver_store::Scope::Enterprises(codes)) if codes.contains(&spec.enterprise));
    if !allowed {
        errors.insert("enterprise".into(), c.t("form.enterprise_not_yours"));
    }
    let validated = match crate::applications::validate(s, spec).await {
        Ok(v) => Some(v),
        Err(e) => {
            if e.problems.is_empty() {
                errors.insert(
                    input_id(e.field.as_deref().unwrap_or("line")),
                    super::i18n::problem(c.lang, &e.message),
                );
            }
            for p in e.problems {
                errors
                    .entry(input_id(&p.field))
                    .or_insert_with(|| super::i18n::problem(c.lang, &p.message));
            }
            None
        }
    };
    (validated, errors)
}

/// What the as-you-type check answers: the problems of the draft by input id, in the page's
/// language (the same text the form shows after a submit).
#[derive(serde::Serialize)]
pub struct DraftCheck {
    pub errors: BTreeMap<String, String>,
}

/// `POST /applications/validate`: validates the form as it stands, stores nothing. The
/// script `validate.js` calls it while the applicant types; the CSRF token is required as for
/// any form post.
pub async fn validate_draft(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let caller = caller.unwrap_or(Caller(None));
    let scope = crate::applications::caller_scope(&s, &caller).await;
    let c = ctx(
        Ok(caller),
        &headers,
        Some(field(&f, "lang")).filter(|l| !l.is_empty()),
        "/applications/new".into(),
    )
    .await;
    if !permits(c.role(), Action::FileApplications) {
        return crate::error::ApiError::forbidden("file or amend applications").into_response();
    }
    if f.len() > MAX_FIELDS || !csrf_ok(&headers, field(&f, "csrf")) {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(DraftCheck {
                errors: BTreeMap::from([("csrf".to_owned(), c.t("csrf.bad"))]),
            }),
        )
            .into_response();
    }
    let spec = spec_from(&f);
    let (_, errors) = check_draft(&s, &c, &scope, &spec).await;
    (
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::Json(DraftCheck { errors }),
    )
        .into_response()
}

pub async fn new_application(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let caller = caller.unwrap_or(Caller(None));
    let scope = crate::applications::caller_scope(&s, &caller).await;
    let c = ctx(Ok(caller), &headers, None, "/applications/new".into()).await;
    if !permits(c.role(), Action::FileApplications) {
        return refused(&c);
    }
    if f.len() > MAX_FIELDS || !csrf_ok(&headers, field(&f, "csrf")) {
        return super::expired(&c);
    }
    // "Check the saving": show the form again with the aid panel; nothing is filed.
    if field(&f, "action") == "aid" {
        let body = new_form_page(&s, &c, &f, &BTreeMap::new()).await;
        return respond(&c, StatusCode::OK, body);
    }
    let spec = spec_from(&f);
    let (validated, mut errors) = check_draft(&s, &c, &scope, &spec).await;
    let (Some(v), true) = (validated, errors.is_empty()) else {
        let body = new_form_page(&s, &c, &f, &errors).await;
        return respond(&c, StatusCode::UNPROCESSABLE_ENTITY, body);
    };
    let (year, ..) = crate::applications::now().civil();
    let user = c.user.as_ref().map_or("", |u| u.username.as_str());
    let own = c.user.as_ref().and_then(|u| u.enterprise.as_deref());
    let actor = Actor {
        user: user.to_owned(),
        on_behalf_of: (own != Some(spec.enterprise.as_str())).then(|| spec.enterprise.clone()),
    };
    match s
        .store
        .create_application(&actor, &spec, &v, true, year)
        .await
    {
        Ok(a) => see_other(&format!("/applications/{}", a.number)),
        Err(e) => {
            errors.insert("line".into(), e.to_string());
            let body = new_form_page(&s, &c, &f, &errors).await;
            respond(&c, StatusCode::CONFLICT, body)
        }
    }
}

/// The workflow panel on an application's page: what this caller may do next.
pub async fn workflow_panel(s: &AppState, c: &Ctx, a: &Application) -> Markup {
    use waiver_domain::application::State as St;
    let role = c.role();
    let programme = s
        .store
        .programme(&a.programme)
        .await
        .ok()
        .flatten()
        .map(|(p, _)| p);
    let criteria = programme
        .as_ref()
        .map(|p| p.spec.review.criteria.clone())
        .unwrap_or_default();
    let name = |cr: &waiver_domain::programme::Criterion| match c.lang {
        super::i18n::Lang::Zh if !cr.name_zh.is_empty() => cr.name_zh.clone(),
        _ => cr.name_en.clone(),
    };
    let assignments = s.store.assignments(&a.number).await.unwrap_or_default();
    let me = c
        .user
        .as_ref()
        .map(|u| u.username.clone())
        .unwrap_or_default();
    let my_assignment = assignments
        .iter()
        .find(|x| x.expert == me && x.status == "active");
    let action = |what: &str| format!("/applications/{}/{what}", a.number);
    let scores = if permits(role, Action::ReadReviews) {
        s.store.scores(&a.number, None).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    // The experts' scores taken together, for the decision form.
    let agg = match (&programme, crate::review::requested(a)) {
        (Some(p), Ok((qty, unit, _)))
            if permits(role, Action::Decide) && a.state == St::Reviewed =>
        {
            s.store
                .latest_sheets(&a.number, |sh| sh.validate(&p.spec.review, qty, unit).ok())
                .await
                .ok()
                .map(|sheets| aggregate(&p.spec.review, &sheets))
        }
        _ => None,
    };
    let milli = |m: i64| format!("{}.{}", m / 1000, (m % 1000) / 100);
    html! {
        @if permits(role, Action::ScreenApplications) && matches!(a.state, St::Submitted | St::Resubmitted) {
            h2 { (c.t("form.screen")) }
            form.stack method="post" action=(action("screen")) {
                input type="hidden" name="csrf" value=(c.csrf);
                label for="return_reason" { (c.t("form.return_reason")) }
                input id="return_reason" name="return_reason" type="text";
                div.row {
                    button.primary type="submit" name="decision" value="accept" { (c.t("form.accept")) }
                    button.primary type="submit" name="decision" value="return" { (c.t("form.return")) }
                }
            }
        }
        @if permits(role, Action::ManageReview) && a.state == St::UnderReview && assignments.iter().all(|x| x.status == "replaced") {
            h2 { (c.t("form.assign")) }
            form.stack method="post" action=(action("assign")) {
                input type="hidden" name="csrf" value=(c.csrf);
                button.primary type="submit" { (c.t("form.assign")) }
            }
        }
        @if !assignments.is_empty() && permits(role, Action::ReadReviews) {
            h2 { (c.t("form.experts")) }
            table {
                tbody { @for x in &assignments { tr {
                    td { (x.expert) } td { (x.status) } td { (x.replaced_reason.clone().unwrap_or_default()) }
                } } }
            }
        }
        @if let Some(_) = my_assignment {
            h2 { (c.t("form.score")) }
            form.stack method="post" action=(action("score")) {
                input type="hidden" name="csrf" value=(c.csrf);
                @for cr in &criteria {
                    fieldset {
                        legend { (name(cr)) " (1–" (cr.scale_max) ")" }
                        label for=(format!("score_{}", cr.key)) { (c.t("form.score.mark")) }
                        input id=(format!("score_{}", cr.key)) name=(format!("score_{}", cr.key)) type="number" min="1" max=(cr.scale_max) required;
                        label for=(format!("rationale_{}", cr.key)) { (c.t("form.score.rationale")) }
                        input id=(format!("rationale_{}", cr.key)) name=(format!("rationale_{}", cr.key)) type="text" required;
                    }
                }
                label for="recommendation" { (c.t("form.recommendation")) }
                select id="recommendation" name="recommendation" {
                    option value="approve" { (c.t("form.recommend.approve")) }
                    option value="reject" { (c.t("form.recommend.reject")) }
                }
                label for="recommended_quantity" { (c.t("form.recommended_quantity")) }
                input id="recommended_quantity" name="recommended_quantity" type="text";
                button.primary type="submit" { (c.t("form.score.submit")) }
            }
            h2 { (c.t("form.conflict")) }
            form.stack method="post" action=(action("conflict")) {
                input type="hidden" name="csrf" value=(c.csrf);
                label for="conflict_reason" { (c.t("form.conflict.reason")) }
                input id="conflict_reason" name="reason" type="text" required;
                button.primary type="submit" { (c.t("form.conflict.submit")) }
            }
        }
        @if permits(role, Action::Appeal) && matches!(a.state, St::Rejected | St::PartiallyApproved) {
            h2 { (c.t("form.appeal")) }
            form.stack method="post" action=(action("appeal")) {
                input type="hidden" name="csrf" value=(c.csrf);
                label for="grounds" { (c.t("form.appeal.grounds")) }
                textarea id="grounds" name="grounds" rows="4" required {}
                button.primary type="submit" { (c.t("form.appeal.submit")) }
            }
        }
        @if permits(role, Action::Decide) && a.state == St::Reviewed {
            h2 { (c.t("form.scores")) }
            table {
                thead { tr { th scope="col" { (c.t("form.expert")) } @for cr in &criteria { th.num scope="col" { (name(cr)) } } th scope="col" { (c.t("form.recommendation")) } } }
                tbody {
                    @for sc in &scores { tr {
                        td { (sc.expert) " v" (sc.version) }
                        @for cr in &criteria { td.num {
                            (sc.sheet.scores.get(&cr.key).map(|x| x.score).unwrap_or(0))
                            @if let Some(x) = sc.sheet.scores.get(&cr.key) { span.rationale { (x.rationale) } }
                        } }
                        td { (match sc.sheet.recommendation { Recommendation::Approve => c.t("form.recommend.approve"), Recommendation::Reject => c.t("form.recommend.reject") }) " " (sc.sheet.recommended_quantity.clone().unwrap_or_default()) }
                    } }
                    @if let Some(g) = &agg { tr.aggregate {
                        th scope="row" { (c.t("form.agg.mean")) }
                        @for cr in &criteria { td.num {
                            @if let Some(x) = g.criteria.iter().find(|x| x.key == cr.key) {
                                (milli(x.mean_milli)) span.rationale { (c.t("form.agg.range")) " " (x.min) "–" (x.max) }
                            }
                        } }
                        td { (g.approve_votes) " : " (g.reject_votes) }
                    } }
                }
            }
            @if let Some(g) = &agg {
                p { (c.t("form.agg.overall")) ": " strong { (milli(g.overall_pct_milli)) "%" } }
                @if g.disagreement {
                    div.panel role="note" {
                        p.error { (c.t("form.agg.disagreement")) }
                        ul { @for r in &g.disagreement_reasons { li { (r) } } }
                    }
                }
            }
            h2 { (c.t("form.decide")) }
            form.stack method="post" action=(action("decide")) {
                input type="hidden" name="csrf" value=(c.csrf);
                label for="outcome" { (c.t("form.outcome")) }
                select id="outcome" name="outcome" {
                    option value="approve" { (c.t("state.approved")) }
                    option value="partially_approve" { (c.t("state.partially_approved")) }
                    option value="reject" { (c.t("state.rejected")) }
                }
                label for="quantity" { (c.t("form.granted_quantity")) }
                input id="quantity" name="quantity" type="text";
                @for cr in &criteria {
                    label for=(format!("reason_{}", cr.key)) { (c.t("form.reason")) ": " (name(cr)) }
                    input id=(format!("reason_{}", cr.key)) name=(format!("reason_{}", cr.key)) type="text" required;
                }
                label for="departure_reason" { (c.t("form.departure_reason")) }
                input id="departure_reason" name="departure_reason" type="text";
                button.primary type="submit" { (c.t("form.decide")) }
            }
        }
    }
}

/// Runs a workflow POST: CSRF, policy, then `run`; success returns to the application.
async fn act<F, Fut>(
    s: AppState,
    caller: Caught,
    headers: HeaderMap,
    number: String,
    f: Fields,
    action: Action,
    run: F,
) -> Response
where
    F: FnOnce(AppState, Caller, Application, Fields) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let caller = caller.unwrap_or(Caller(None));
    let role = caller.role();
    let loaded = if permits(role, Action::ReadApplications) {
        crate::applications::load(&s, &caller, &number).await.ok()
    } else {
        None
    };
    let user = caller.0.clone();
    let c = ctx(
        Ok(Caller(user)),
        &headers,
        None,
        format!("/applications/{number}"),
    )
    .await;
    if !permits(role, action) {
        return refused(&c);
    }
    if f.len() > MAX_FIELDS || !csrf_ok(&headers, field(&f, "csrf")) {
        return super::expired(&c);
    }
    let Some(a) = loaded else {
        return super::not_found(&c);
    };
    match run(s, caller, a, f).await {
        Ok(()) => see_other(&format!("/applications/{number}")),
        Err(msg) => {
            let title = c.t("error.input");
            let body = html! {
                div.error-summary role="alert" { p.error { (msg) } }
                p { a href=(format!("/applications/{number}")) { (c.t("form.back")) } }
            };
            respond(&c, StatusCode::UNPROCESSABLE_ENTITY, page(&c, &title, body))
        }
    }
}

fn problems_text(p: Vec<waiver_domain::application::FieldProblem>) -> String {
    p.into_iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

pub async fn screen(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Path(number): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    act(
        s,
        caller,
        headers,
        number,
        f,
        Action::ScreenApplications,
        |s, caller, a, f| async move {
            let (events, notes): (&[Event], _) = match field(&f, "decision") {
                "accept" => (&[Event::StartScreening, Event::Accept], None),
                _ => {
                    let reason = field(&f, "return_reason").trim();
                    if reason.is_empty() || reason.chars().count() > 2000 {
                        return Err(
                            "give a reason (1 to 2000 characters) to return the application".into(),
                        );
                    }
                    (
                        &[Event::StartScreening, Event::Return],
                        Some(serde_json::json!({ "application": reason })),
                    )
                }
            };
            s.store
                .transition(
                    &Actor::user(caller.name()),
                    &a.number,
                    events,
                    None,
                    None,
                    notes,
                )
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    )
    .await
}

pub async fn assign(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Path(number): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    act(
        s,
        caller,
        headers,
        number,
        f,
        Action::ManageReview,
        |s, caller, a, _| async move {
            let p = s
                .store
                .programme(&a.programme)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("programme missing")?
                .0;
            s.store
                .assign_experts(
                    &Actor::user(caller.name()),
                    &a.number,
                    crate::review::rand_seed(),
                    usize::from(p.spec.review.experts_per_application),
                    i64::from(p.spec.review.review_days),
                )
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    )
    .await
}

pub async fn conflict(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Path(number): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let r = act(
        s,
        caller,
        headers,
        number,
        f,
        Action::Review,
        |s, caller, a, f| async move {
            let p = s
                .store
                .programme(&a.programme)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("programme missing")?
                .0;
            s.store
                .declare_conflict(
                    &Actor::user(caller.name()),
                    &a.number,
                    field(&f, "reason"),
                    i64::from(p.spec.review.review_days),
                )
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    )
    .await;
    // The expert no longer sees the application; send them to their home page.
    if r.status() == StatusCode::SEE_OTHER {
        return see_other("/");
    }
    r
}

pub async fn score(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Path(number): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    act(
        s,
        caller,
        headers,
        number,
        f,
        Action::Review,
        |s, caller, a, f| async move {
            let p = s
                .store
                .programme(&a.programme)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("programme missing")?
                .0;
            let scores = p
                .spec
                .review
                .criteria
                .iter()
                .map(|cr| {
                    (
                        cr.key.clone(),
                        CriterionScore {
                            score: field(&f, &format!("score_{}", cr.key))
                                .trim()
                                .parse()
                                .unwrap_or(0),
                            rationale: field(&f, &format!("rationale_{}", cr.key)).to_owned(),
                        },
                    )
                })
                .collect();
            let approve = field(&f, "recommendation") != "reject";
            let q = field(&f, "recommended_quantity").trim();
            let sheet = ScoreSheetSpec {
                scores,
                recommendation: if approve {
                    Recommendation::Approve
                } else {
                    Recommendation::Reject
                },
                recommended_quantity: (approve && !q.is_empty()).then(|| q.to_owned()),
            };
            let (qty, unit, _) = crate::review::requested(&a).map_err(|e| e.message)?;
            sheet
                .validate(&p.spec.review, qty, unit)
                .map_err(problems_text)?;
            s.store
                .add_score(&Actor::user(caller.name()), &a.number, &sheet)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    )
    .await
}

pub async fn decide(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Path(number): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    act(
        s,
        caller,
        headers,
        number,
        f,
        Action::Decide,
        |s, caller, a, f| async move {
            let p = s
                .store
                .programme(&a.programme)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("programme missing")?
                .0;
            let outcome = match field(&f, "outcome") {
                "approve" => Outcome::Approve,
                "partially_approve" => Outcome::PartiallyApprove,
                _ => Outcome::Reject,
            };
            let q = field(&f, "quantity").trim();
            let dep = field(&f, "departure_reason").trim();
            let spec = DecisionSpec {
                outcome,
                quantity: (!q.is_empty()).then(|| q.to_owned()),
                valid_from: None,
                reasons: p
                    .spec
                    .review
                    .criteria
                    .iter()
                    .map(|cr| {
                        (
                            cr.key.clone(),
                            field(&f, &format!("reason_{}", cr.key)).to_owned(),
                        )
                    })
                    .collect(),
                departure_reason: (!dep.is_empty()).then(|| dep.to_owned()),
            };
            let (qty, unit, overfill) = crate::review::requested(&a).map_err(|e| e.message)?;
            let sheets = s
                .store
                .latest_sheets(&a.number, |sh| sh.validate(&p.spec.review, qty, unit).ok())
                .await
                .map_err(|e| e.to_string())?;
            let agg = aggregate(&p.spec.review, &sheets);
            let d = validate_decision(
                &spec,
                &p,
                qty,
                overfill,
                unit,
                &agg,
                crate::applications::now(),
            )
            .map_err(problems_text)?;
            let contact = s
                .store
                .had_contact_with_applicant(&a.number, caller.name())
                .await
                .map_err(|e| e.to_string())?;
            s.store
                .decide(
                    &Actor::user(caller.name()),
                    &a.number,
                    &p,
                    &spec,
                    &d,
                    contact,
                )
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    )
    .await
}

pub async fn appeal(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Path(number): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    act(
        s,
        caller,
        headers,
        number,
        f,
        Action::Appeal,
        |s, caller, a, f| async move {
            let spec = waiver_domain::review::AppealSpec {
                grounds: field(&f, "grounds").to_owned(),
            };
            spec.validate().map_err(problems_text)?;
            let p = s
                .store
                .programme(&a.programme)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("programme missing")?
                .0;
            let d = s
                .store
                .decision(&a.number)
                .await
                .map_err(|e| e.to_string())?
                .filter(|d| d.status == "final")
                .ok_or("no final decision to appeal")?;
            let decided =
                waiver_domain::BjTime(d.final_at_ms.unwrap_or(d.decided_at_ms) / 1000 + 8 * 3600);
            let deadline = waiver_domain::review::appeal_deadline(decided, p.spec.appeal_days);
            if crate::applications::now() >= deadline {
                return Err(format!(
                    "the appeal period ended at {deadline}; the decision is final"
                ));
            }
            let actor = Actor {
                user: caller.name().to_owned(),
                on_behalf_of: Some(a.enterprise.clone()),
            };
            s.store
                .file_appeal(&actor, &a.number, &spec.grounds)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    )
    .await
}
