//! Customs pages: the declaration entry form (one declaration, up to [`SLOTS`] lines, an
//! optional allowance per line), the recorded declaration with its assessment and draw-down
//! line by line, and cancellation. Every rule is the API's: the form builds a
//! [`DeclarationIn`] and hands it to [`crate::declarations::record_answer`].

use std::collections::{BTreeMap, HashMap};

use axum::extract::multipart::MultipartError;
use axum::extract::{DefaultBodyLimit, Form, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use serde_json::Value;
use waiver_domain::QtyUnit;

use super::layout::{bar_chart, page, Bar, Ctx};
use super::{csrf_ok, ctx, expired, may, not_found, refused, respond, urlencode, LangQuery};
use crate::auth::{Action, Caller};
use crate::declarations::{DeclarationIn, DeclarationLineIn};
use crate::AppState;

/// Lines the entry form offers; empty ones are left out. Longer declarations go through the API.
pub const SLOTS: usize = 3;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/declarations/new", get(new_form).post(submit))
        .route(
            "/declarations/csv",
            get(csv_form)
                .post(csv_submit)
                // The paste box and the file may each hold CSV_MAX_BYTES; URL-encoding grows text.
                .layer(DefaultBodyLimit::max(3 * CSV_MAX_BYTES)),
        )
        .route("/declarations/{number}", get(view))
        .route("/declarations/{number}/cancel", post(cancel))
        .route("/utilisation", get(utilisation))
        .route("/utilisation.csv", get(utilisation_csv))
        .route("/quotas", get(quotas))
        .route("/allowances/{number}/purchase-reports", post(file_report))
}

type Fields = HashMap<String, String>;

fn field<'a>(f: &'a Fields, k: &str) -> &'a str {
    f.get(k).map_or("", String::as_str)
}

/// The form's input id for an API field name (`lines[1].code` of slot 3 → `l3_code`).
fn input_id(api_field: &str, slots: &[usize]) -> String {
    if let Some(rest) = api_field.strip_prefix("lines[") {
        if let Some((i, f)) = rest.split_once("].") {
            if let Some(slot) = i.parse::<usize>().ok().and_then(|i| slots.get(i)) {
                let f = if f == "customs_value" { "value" } else { f };
                return format!("l{slot}_{f}");
            }
        }
        return "l1_code".into();
    }
    match api_field {
        "number" | "importer" | "declared_at" => api_field.into(),
        "lines" => "l1_code".into(),
        _ => "number".into(),
    }
}

fn text_input(c: &Ctx, id: &str, label: &str, f: &Fields, bad: Option<&str>) -> Markup {
    html! {
        label for=(id) { (c.t(label)) }
        @if bad == Some(id) { p.error id=(format!("{id}-error")) { (c.t("decl.fix")) } }
        input id=(id) name=(id) type="text" value=(field(f, id))
            aria-invalid=[(bad == Some(id)).then_some("true")]
            aria-describedby=[(bad == Some(id)).then(|| format!("{id}-error"))];
    }
}

fn form_page(c: &Ctx, f: &Fields, error: Option<(String, String)>) -> Markup {
    let bad = error.as_ref().map(|(id, _)| id.as_str());
    let title = c.t("decl.new");
    page(
        c,
        &title,
        html! {
            p.hint { (c.t("decl.hint")) " " a href="/declarations/csv" { (c.t("decl.csv")) } }
            @if let Some((id, msg)) = &error {
                div.error-summary role="alert" aria-labelledby="error-summary-title" {
                    h2 id="error-summary-title" { (c.t("form.errors")) }
                    ul { li { a href=(format!("#{id}")) { (msg) } } }
                }
            }
            form.stack method="post" action="/declarations/new" {
                input type="hidden" name="csrf" value=(c.csrf);
                (text_input(c, "number", "decl.number", f, bad))
                (text_input(c, "importer", "decl.importer", f, bad))
                (text_input(c, "declared_at", "decl.declared_at", f, bad))
                @for slot in 1..=SLOTS {
                    fieldset.plan {
                        legend { (c.t("decl.line")) " " (slot) }
                        @for (name, label) in [("code", "decl.code"), ("origin", "decl.origin"), ("quantity", "decl.quantity")] {
                            (text_input(c, &format!("l{slot}_{name}"), label, f, bad))
                        }
                        @let unit_id = format!("l{slot}_unit");
                        label for=(unit_id) { (c.t("decl.unit")) }
                        select id=(unit_id) name=(unit_id) {
                            @for u in ["t", "kg"] { option value=(u) selected[field(f, &unit_id) == u] { (u) } }
                        }
                        @for (name, label) in [("value", "decl.value"), ("currency", "decl.currency"), ("allowance", "decl.allowance")] {
                            (text_input(c, &format!("l{slot}_{name}"), label, f, bad))
                        }
                    }
                }
                button.primary type="submit" { (c.t("decl.submit")) }
            }
        },
    )
}

async fn new_form(
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let c = ctx(
        caller,
        &headers,
        q.lang.as_deref(),
        "/declarations/new".into(),
    )
    .await;
    if !may(&c, Action::Declare) {
        return refused(&c);
    }
    let mut f = Fields::new();
    for slot in 1..=SLOTS {
        f.insert(format!("l{slot}_unit"), "t".into());
        f.insert(format!("l{slot}_currency"), "USD".into());
        f.insert(format!("l{slot}_origin"), "US".into());
    }
    respond(&c, StatusCode::OK, form_page(&c, &f, None))
}

/// The declaration the form describes, and the form slot of each of its lines.
fn from_form(f: &Fields) -> (DeclarationIn, Vec<usize>) {
    let mut lines = Vec::new();
    let mut slots = Vec::new();
    for slot in 1..=SLOTS {
        let g = |n: &str| field(f, &format!("l{slot}_{n}")).trim().to_owned();
        if g("code").is_empty() && g("quantity").is_empty() {
            continue;
        }
        let allowance = Some(g("allowance")).filter(|a| !a.is_empty());
        lines.push(DeclarationLineIn {
            line: u32::try_from(slot).unwrap_or(1),
            code: g("code"),
            origin: g("origin"),
            quantity: g("quantity"),
            unit: g("unit"),
            customs_value: g("value"),
            currency: g("currency"),
            allowance,
        });
        slots.push(slot);
    }
    (
        DeclarationIn {
            number: field(f, "number").trim().to_owned(),
            importer: field(f, "importer").trim().to_owned(),
            declared_at: field(f, "declared_at").trim().to_owned(),
            shipped_on: None,
            lines,
        },
        slots,
    )
}

async fn submit(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let caller = caller.unwrap_or(Caller(None));
    let c = ctx(
        Ok(Caller(caller.0.clone())),
        &headers,
        None,
        "/declarations/new".into(),
    )
    .await;
    if !may(&c, Action::Declare) {
        return refused(&c);
    }
    if !csrf_ok(&headers, field(&f, "csrf")) {
        return expired(&c);
    }
    let (body, slots) = from_form(&f);
    if body.lines.is_empty() {
        let e = ("l1_code".to_owned(), c.t("decl.no_lines"));
        return respond(
            &c,
            StatusCode::UNPROCESSABLE_ENTITY,
            form_page(&c, &f, Some(e)),
        );
    }
    let number = body.number.clone();
    match crate::declarations::record_answer(&s, &caller, body, None).await {
        Ok(_) => (
            StatusCode::SEE_OTHER,
            [(LOCATION, format!("/declarations/{}", urlencode(&number)))],
        )
            .into_response(),
        Err(e) => {
            let id = e
                .field
                .as_deref()
                .map_or_else(|| "number".to_owned(), |x| input_id(x, &slots));
            let status = if e.status.is_client_error() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                e.status
            };
            let msg = c.lang.problem_of(&e.message);
            respond(&c, status, form_page(&c, &f, Some((id, msg))))
        }
    }
}

/// One declaration of a CSV: its number, its rows, and recorded (new or replayed) or why not.
type CsvOutcome = (String, Vec<usize>, Result<bool, String>);

/// Most bytes and rows a pasted declarations CSV may have.
const CSV_MAX_BYTES: usize = 1 << 20;
const CSV_MAX_ROWS: usize = 2_000;
/// The columns of the declarations CSV (one row per declaration line; rows with the same
/// `number` form one declaration). `shipped_on` and `allowance` may be empty.
const CSV_COLUMNS: [&str; 12] = [
    "number",
    "importer",
    "declared_at",
    "shipped_on",
    "line",
    "code",
    "origin",
    "quantity",
    "unit",
    "customs_value",
    "currency",
    "allowance",
];

/// The CSV page: the paste box and the file field in one `multipart/form-data` form, and, after
/// a submission, what happened to every declaration (`file`: the name of the uploaded file the
/// results or the error are about).
fn csv_page(
    c: &Ctx,
    text: &str,
    results: Option<&[CsvOutcome]>,
    error: Option<&str>,
    file: Option<&str>,
) -> Markup {
    let title = c.t("decl.csv");
    let anchor = if file.is_some() { "#csv_file" } else { "#csv" };
    page(
        c,
        &title,
        html! {
            p.hint { (c.t("decl.csv_hint")) " " code { (CSV_COLUMNS.join(",")) } }
            @if let Some(msg) = error {
                div.error-summary role="alert" aria-labelledby="error-summary-title" {
                    h2 id="error-summary-title" { (c.t("form.errors")) }
                    ul { li { a href=(anchor) { (msg) } } }
                }
            }
            @if let Some(rs) = results {
                table {
                    caption {
                        (c.t("decl.csv_results"))
                        @if let Some(name) = file { " — " (c.t("decl.csv_from_file")) " " code { (name) } }
                    }
                    thead { tr {
                        th scope="col" { (c.t("decl.number")) } th scope="col" { (c.t("decl.csv_rows")) }
                        th scope="col" { (c.t("decl.csv_outcome")) }
                    } }
                    tbody { @for (number, rows, r) in rs { tr {
                        td { @if r.is_ok() { a href=(format!("/declarations/{}", urlencode(number))) { (number) } } @else { (number) } }
                        td { (rows.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) }
                        td { @match r {
                            Ok(true) => (c.t("decl.csv_recorded")),
                            Ok(false) => (c.t("decl.csv_replayed")),
                            Err(m) => strong { (m) },
                        } }
                    } } }
                }
            }
            form.stack method="post" action="/declarations/csv" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(c.csrf);
                label for="csv" { (c.t("decl.csv_label")) }
                textarea id="csv" name="csv" rows="12" aria-invalid=[(error.is_some() && file.is_none()).then_some("true")] { (text) }
                label for="csv_file" { (c.t("decl.csv_file")) }
                p.hint id="csv_file-hint" { (c.t("decl.csv_file_hint")) }
                input id="csv_file" name="file" type="file" accept=".csv,text/csv" aria-describedby="csv_file-hint"
                    aria-invalid=[(error.is_some() && file.is_some()).then_some("true")];
                button.primary type="submit" { (c.t("decl.csv_submit")) }
            }
        },
    )
}

async fn csv_form(
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let c = ctx(
        caller,
        &headers,
        q.lang.as_deref(),
        "/declarations/csv".into(),
    )
    .await;
    if !may(&c, Action::Declare) {
        return refused(&c);
    }
    let example = format!("{}\n", CSV_COLUMNS.join(","));
    respond(&c, StatusCode::OK, csv_page(&c, &example, None, None, None))
}

/// Declarations from the CSV, in first-appearance order, with the 1-based row numbers (after
/// the header) of their lines; or the first problem, naming row and column.
fn declarations_from_csv(text: &str) -> Result<Vec<(DeclarationIn, Vec<usize>)>, String> {
    let mut rd = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rd.headers().map_err(|e| format!("header: {e}"))?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    for required in [
        "number",
        "importer",
        "declared_at",
        "line",
        "code",
        "origin",
        "quantity",
        "unit",
        "customs_value",
        "currency",
    ] {
        if col(required).is_none() {
            return Err(format!(
                "the header has no `{required}` column; the columns are {}",
                CSV_COLUMNS.join(",")
            ));
        }
    }
    let mut out: Vec<(DeclarationIn, Vec<usize>)> = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let row = i + 1;
        if row > CSV_MAX_ROWS {
            return Err(format!("more than {CSV_MAX_ROWS} rows; split the file"));
        }
        let rec = rec.map_err(|e| format!("row {row}: {e}"))?;
        let get = |n: &str| col(n).and_then(|c| rec.get(c)).unwrap_or("").to_owned();
        let opt = |n: &str| Some(get(n)).filter(|v| !v.is_empty());
        let line_no: u32 = get("line").parse().map_err(|_| {
            format!(
                "row {row}, column line: `{}` is not a line number (1, 2, …)",
                get("line")
            )
        })?;
        let line = DeclarationLineIn {
            line: line_no,
            code: get("code"),
            origin: get("origin"),
            quantity: get("quantity"),
            unit: get("unit"),
            customs_value: get("customs_value"),
            currency: get("currency"),
            allowance: opt("allowance"),
        };
        let number = get("number");
        match out.iter_mut().find(|(d, _)| d.number == number) {
            Some((d, rows)) => {
                if d.importer != get("importer") || d.declared_at != get("declared_at") {
                    return Err(format!("row {row}: declaration {number} has another importer or declared_at than its first row; one declaration has one of each"));
                }
                d.lines.push(line);
                rows.push(row);
            }
            None => out.push((
                DeclarationIn {
                    number,
                    importer: get("importer"),
                    declared_at: get("declared_at"),
                    shipped_on: opt("shipped_on"),
                    lines: vec![line],
                },
                vec![row],
            )),
        }
    }
    if out.is_empty() {
        return Err("no rows under the header".into());
    }
    Ok(out)
}

/// What the CSV form sent: its token, the CSV (the chosen file's content when a file with any
/// bytes was chosen, the pasted text otherwise) and the file's name.
#[derive(Default)]
struct CsvForm {
    csrf: String,
    text: String,
    file: Option<String>,
}

/// Why the CSV form could not be read.
enum CsvFormError {
    /// The request was not a form at all (axum's own answer).
    Rejected(Response),
    TooLarge,
    NotUtf8,
}

/// Reads the CSV form, `multipart/form-data` (the page's form, with the file field) or
/// `application/x-www-form-urlencoded` (the paste box alone); no part may exceed
/// [`CSV_MAX_BYTES`].
async fn read_csv_form(s: &AppState, req: Request) -> Result<CsvForm, CsvFormError> {
    let multipart = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let Form(f) = Form::<Fields>::from_request(req, s)
            .await
            .map_err(|r| CsvFormError::Rejected(r.into_response()))?;
        return Ok(CsvForm {
            csrf: field(&f, "csrf").to_owned(),
            text: field(&f, "csv").to_owned(),
            file: None,
        });
    }
    let too_large = |e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            CsvFormError::TooLarge
        } else {
            CsvFormError::Rejected(e.into_response())
        }
    };
    let mut m = Multipart::from_request(req, s)
        .await
        .map_err(|r| CsvFormError::Rejected(r.into_response()))?;
    let mut out = CsvForm::default();
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(mut part) = m.next_field().await.map_err(too_large)? {
        let name = part.name().unwrap_or("").to_owned();
        let file_name = part.file_name().unwrap_or("").to_owned();
        let mut buf = Vec::new();
        while let Some(chunk) = part.chunk().await.map_err(too_large)? {
            if buf.len() + chunk.len() > CSV_MAX_BYTES {
                return Err(CsvFormError::TooLarge);
            }
            buf.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf" => out.csrf = String::from_utf8(buf).unwrap_or_default(),
            "csv" => out.text = String::from_utf8(buf).map_err(|_| CsvFormError::NotUtf8)?,
            "file" if !buf.is_empty() => file = Some((file_name, buf)),
            _ => {}
        }
    }
    if let Some((name, bytes)) = file {
        let text = String::from_utf8(bytes).map_err(|_| CsvFormError::NotUtf8)?;
        // Spreadsheets often start a UTF-8 file with a byte-order mark.
        out.text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_owned(),
            None => text,
        };
        out.file = Some(name);
    }
    Ok(out)
}

/// Declares every row of a pasted or uploaded CSV (same limits, same answer either way).
async fn csv_submit(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    req: Request,
) -> Response {
    let caller = caller.unwrap_or(Caller(None));
    let c = ctx(
        Ok(Caller(caller.0.clone())),
        &headers,
        None,
        "/declarations/csv".into(),
    )
    .await;
    if !may(&c, Action::Declare) {
        return refused(&c);
    }
    let unreadable = |msg: String| {
        respond(
            &c,
            StatusCode::UNPROCESSABLE_ENTITY,
            csv_page(&c, "", None, Some(&msg), None),
        )
    };
    let form = match read_csv_form(&s, req).await {
        Ok(f) => f,
        Err(CsvFormError::Rejected(r)) => return r,
        Err(CsvFormError::TooLarge) => {
            return unreadable(format!(
                "the CSV is larger than {CSV_MAX_BYTES} bytes; split it"
            ))
        }
        Err(CsvFormError::NotUtf8) => {
            return unreadable("the CSV is not UTF-8 text; save it as CSV UTF-8".into())
        }
    };
    if !csrf_ok(&headers, &form.csrf) {
        return expired(&c);
    }
    let file = form.file.as_deref();
    // An uploaded file is not echoed into the paste box.
    let echo = if file.is_some() {
        ""
    } else {
        form.text.as_str()
    };
    let text = form.text.as_str();
    if text.len() > CSV_MAX_BYTES {
        let msg = format!("the CSV is larger than {CSV_MAX_BYTES} bytes; split it");
        return respond(
            &c,
            StatusCode::UNPROCESSABLE_ENTITY,
            csv_page(&c, "", None, Some(&msg), file),
        );
    }
    let decls = match declarations_from_csv(text) {
        Ok(d) => d,
        Err(msg) => {
            return respond(
                &c,
                StatusCode::UNPROCESSABLE_ENTITY,
                csv_page(&c, echo, None, Some(&msg), file),
            )
        }
    };
    let mut results = Vec::with_capacity(decls.len());
    for (d, rows) in decls {
        let number = d.number.clone();
        let r = match crate::declarations::record_answer(&s, &caller, d, None).await {
            Ok((created, _)) => Ok(created),
            Err(e) => Err(match e.field.as_deref() {
                // `lines[i].column` → the CSV row and column.
                Some(fld) => match fld.strip_prefix("lines[").and_then(|r| r.split_once("].")) {
                    Some((i, column)) => {
                        let row = i
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| rows.get(i))
                            .copied()
                            .unwrap_or(0);
                        format!(
                            "row {row}, column {column}: {}",
                            c.lang.problem_of(&e.message)
                        )
                    }
                    None => format!(
                        "rows {:?}, column {fld}: {}",
                        rows,
                        c.lang.problem_of(&e.message)
                    ),
                },
                None => c.lang.problem_of(&e.message),
            }),
        };
        results.push((number, rows, r));
    }
    let any_error = results.iter().any(|(_, _, r)| r.is_err());
    respond(
        &c,
        if any_error {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        csv_page(&c, echo, Some(&results), None, file),
    )
}

fn txt(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One line of the answer: covered and uncovered, every layer, the allowance left, notes.
fn line_block(c: &Ctx, l: &Value, unit: &str) -> Markup {
    let money = |k: &str| c.lang.number(&txt(&l[k]));
    html! {
        h2 { (c.t("decl.line")) " " (txt(&l["line"])) }
        dl.facts {
            dt { (c.t("decl.covered")) } dd { (c.lang.number(&txt(&l["covered_quantity"]))) " " (unit) }
            dt { (c.t("decl.uncovered")) } dd { (c.lang.number(&txt(&l["uncovered_quantity"]))) " " (unit) }
            @if let Some(a) = l.get("allowance").filter(|a| !a.is_null()) {
                dt { (c.t("decl.allowance")) } dd { a href=(format!("/allowances/{}", urlencode(&txt(&a["number"])))) { (txt(&a["number"])) } }
                dt { (c.t("allow.remaining")) } dd { strong { (c.lang.number(&txt(&a["remaining"]))) " " (unit) } }
            }
            dt { (c.t("decl.base")) } dd { (money("base_duty_cny")) " CNY" }
            dt { (c.t("decl.additional")) } dd { (money("additional_duty_cny")) " CNY" }
            dt { (c.t("decl.excluded")) } dd { (money("excluded_duty_cny")) " CNY" }
            dt { (c.t("decl.vat")) } dd { (money("vat_cny")) " CNY" }
            dt { (c.t("decl.total")) } dd { strong { (money("total_cny")) " CNY" } }
        }
        table {
            caption { (c.t("decl.layers")) }
            thead { tr {
                th scope="col" { (c.t("decl.layer")) } th scope="col" { (c.t("decl.basis")) }
                th scope="col" { (c.t("decl.scope")) } th scope="col" { (c.t("decl.status")) }
                th.num scope="col" { (c.t("decl.charged")) } th.num scope="col" { (c.t("decl.lifted")) }
            } }
            tbody { @for m in l["measures"].as_array().map_or(&[][..], Vec::as_slice) { tr {
                td { (txt(&m["id"])) } td { (txt(&m["legal_basis"])) } td { (txt(&m["scope"])) }
                td { (c.t(&format!("decl.status.{}", txt(&m["status"])))) }
                td.num { (c.lang.number(&txt(&m["charged_cny"]))) } td.num { (c.lang.number(&txt(&m["lifted_cny"]))) }
            } } }
        }
        @let notes = l["notes"].as_array().map_or(&[][..], Vec::as_slice);
        @if !notes.is_empty() {
            h3 { (c.t("decl.notes")) }
            ul { @for n in notes { li { (c.lang.problem_of(&txt(n))) } } }
        }
    }
}

async fn view(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Path(number): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let caller = caller.unwrap_or(Caller(None));
    let scope = crate::review::holder_scope(&s, &caller).await.ok();
    let c = ctx(
        Ok(caller),
        &headers,
        q.lang.as_deref(),
        format!("/declarations/{}", urlencode(&number)),
    )
    .await;
    if !may(&c, Action::ReadDeclarations) {
        return refused(&c);
    }
    let found = match s.store.declaration(&number).await {
        Ok(d) => d,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let Some(d) = found.filter(|d| {
        scope
            .as_ref()
            .is_some_and(|h| h.as_ref().is_none_or(|h| h.contains(&d.importer)))
    }) else {
        return not_found(&c);
    };
    let request: Value = serde_json::from_str(&d.request).unwrap_or(Value::Null);
    let answer: Value = serde_json::from_str(&d.answer).unwrap_or(Value::Null);
    let req_lines = request["lines"].as_array().map_or(&[][..], Vec::as_slice);
    let unit_of = |line: &Value| {
        req_lines
            .iter()
            .find(|r| r["line"] == *line)
            .map_or(String::new(), |r| txt(&r["unit"]))
    };
    let cancelled = d.status == "cancelled";
    let body = html! {
        dl.facts {
            dt { (c.t("decl.status")) } dd { span class=(if cancelled { "tag bad" } else { "tag ok" }) { (c.t(&format!("decl.state.{}", d.status))) } }
            dt { (c.t("decl.importer")) } dd { (d.importer) }
            dt { (c.t("decl.declared_at")) } dd { (txt(&request["declared_at"])) }
            dt { (c.t("decl.revision")) } dd { (d.revision) }
            dt { (c.t("decl.total")) } dd { strong { (c.lang.number(&txt(&answer["total_cny"]))) " CNY" } }
        }
        @if cancelled { p { (c.t("decl.cancelled_note")) } }
        @for l in answer["lines"].as_array().map_or(&[][..], Vec::as_slice) {
            (line_block(&c, l, &unit_of(&l["line"])))
        }
        @if !cancelled && may(&c, Action::Declare) {
            form.stack method="post" action=(format!("/declarations/{}/cancel", urlencode(&d.number))) {
                input type="hidden" name="csrf" value=(c.csrf);
                button type="submit" { (c.t("decl.cancel")) }
            }
        }
        @if may(&c, Action::Declare) { p { a href="/declarations/new" { (c.t("decl.new")) } } }
    };
    let title = format!("{} {}", c.t("decl.title"), d.number);
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

async fn cancel(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Path(number): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let caller = caller.unwrap_or(Caller(None));
    let c = ctx(
        Ok(Caller(caller.0.clone())),
        &headers,
        None,
        format!("/declarations/{}", urlencode(&number)),
    )
    .await;
    if !may(&c, Action::Declare) {
        return refused(&c);
    }
    if !csrf_ok(&headers, field(&f, "csrf")) {
        return expired(&c);
    }
    match s
        .store
        .cancel_declaration(&waiver_store::Actor::user(caller.name()), &number)
        .await
    {
        Ok(_) => (
            StatusCode::SEE_OTHER,
            [(LOCATION, format!("/declarations/{}", urlencode(&number)))],
        )
            .into_response(),
        Err(waiver_store::StoreError::NotFound(_)) => not_found(&c),
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}

/// Utilisation per programme: a chart of granted, used and unused per tariff line (whole life)
/// and used per month, and a chart of the duty forgone per month; the same figures as
/// `/api/v1/reports/utilisation`. Public (PRODUCT.md: utilisation statistics are for analysts
/// and the public): the figures are aggregates per programme, line and month and name no
/// importer and no allowance; the CSV download (`/utilisation.csv`) is public too.
async fn utilisation(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let c = ctx(caller, &headers, q.lang.as_deref(), "/utilisation".into()).await;
    if !may(&c, Action::ReadPublic) {
        return refused(&c);
    }
    let items = match s.store.utilisation(crate::applications::now()).await {
        Ok(i) => i,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let mut programmes: Vec<&str> = items.iter().map(|u| u.programme.as_str()).collect();
    programmes.dedup();
    let t = |g: i64| {
        c.lang
            .number(&waiver_domain::amount::format_scaled(i128::from(g), 6, 0))
    };
    let cny = |f: i64| c.lang.number(&waiver_domain::Fen(f).to_string());
    // Duty forgone per programme and month, summed over the programme's lines.
    let mut forgone: BTreeMap<&str, BTreeMap<&str, i64>> = BTreeMap::new();
    for u in &items {
        if let Some(m) = u.month.as_deref() {
            *forgone
                .entry(u.programme.as_str())
                .or_default()
                .entry(m)
                .or_default() += u.duty_forgone_fen;
        }
    }
    let forgone_chart = |p: &str| {
        let groups: Vec<(String, Vec<Bar>)> = forgone
            .get(p)
            .map(|months| {
                months
                    .iter()
                    .map(|(m, f)| {
                        let bar = Bar {
                            class: "forgone",
                            value: *f,
                            text: format!("{} {}", cny(*f), c.t("unit.cny")),
                        };
                        ((*m).to_owned(), vec![bar])
                    })
                    .collect()
            })
            .unwrap_or_default();
        (groups.is_empty(), {
            let label = format!("{} — {p}", c.t("util.forgone_chart"));
            bar_chart(&label, &c.t("chart.desc_table"), &groups)
        })
    };
    let body = html! {
        p.hint { (c.t("util.public")) }
        p { a href="/utilisation.csv" download { (c.t("util.csv")) } }
        @if programmes.is_empty() { p { (c.t("util.none")) } }
        @for p in &programmes {
            @let rows: Vec<_> = items.iter().filter(|u| u.programme == *p).collect();
            @let max = rows.iter().map(|u| u.granted_g.max(u.used_g)).max().unwrap_or(1).max(1);
            @let w = |g: i64| (i128::from(g.max(0)) * 60 / i128::from(max)).to_string();
            h2 { (p) }
            div.charts {
                figure {
                    svg.chart viewBox=(format!("0 0 100 {}", rows.len() * 6 + 1)) role="img" aria-label=(format!("{} — {p}", c.t("util.chart"))) {
                        title { (c.t("util.chart")) " — " (p) }
                        desc { (c.t("chart.desc_table")) }
                        @for (i, u) in rows.iter().enumerate() {
                            @let y = i * 6;
                            text x="0" y=(y + 4) font-size="3" { (u.line) " " (u.month.as_deref().unwrap_or("")) }
                            @if u.month.is_none() {
                                rect.granted x="35" y=(y + 1) width=(w(u.granted_g)) height="1.3" {}
                            }
                            rect.used x="35" y=(format!("{}.5", y + 2)) width=(w(u.used_g)) height="1.3" {}
                            @if u.month.is_none() {
                                rect.unused x="35" y=(y + 4) width=(w(u.unused_g)) height="1.3" {}
                            }
                        }
                    }
                    figcaption.legend { (c.t("util.legend")) }
                }
                @let (no_forgone, chart) = forgone_chart(p);
                figure {
                    @if no_forgone { p { (c.t("util.forgone_none")) } } @else { (chart) }
                    figcaption.legend { (c.t("util.forgone_legend")) }
                }
            }
            table {
                caption { (c.t("util.table")) " — " (p) }
                thead { tr {
                    th scope="col" { (c.t("apps.line")) } th scope="col" { (c.t("util.month")) }
                    th.num scope="col" { (c.t("util.granted")) } th.num scope="col" { (c.t("util.used")) }
                    th.num scope="col" { (c.t("util.unused")) } th.num scope="col" { (c.t("util.expired")) }
                    th.num scope="col" { (c.t("util.forgone")) }
                } }
                tbody { @for u in &rows { tr {
                    td { (u.line) } td { (u.month.as_deref().map_or_else(|| c.t("util.all"), str::to_owned)) }
                    @if u.month.is_none() {
                        td.num { (t(u.granted_g)) } td.num { (t(u.used_g)) } td.num { (t(u.unused_g)) } td.num { (t(u.expired_g)) }
                    } @else {
                        td.num { "–" } td.num { (t(u.used_g)) } td.num { "–" } td.num { "–" }
                    }
                    td.num { (cny(u.duty_forgone_fen)) }
                } } }
            }
        }
    };
    let title = c.t("util.title");
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

/// Country quotas (the 2026 beef safeguard): use against the quota as a chart and figures,
/// whether and when it was reached, from when the surcharge applies, the notices given; the
/// ledger for customs, officers, analysts and administrators. Public, like `GET /api/v1/quotas`.
async fn quotas(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let c = ctx(caller, &headers, q.lang.as_deref(), "/quotas".into()).await;
    if !may(&c, Action::ReadQuotas) {
        return refused(&c);
    }
    let records = match s.store.quotas().await {
        Ok(r) => r,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let ledgers = may(&c, Action::ReadQuotaLedgers);
    let mut entries = Vec::with_capacity(records.len());
    for r in &records {
        entries.push(if ledgers {
            match s.store.quota_entries(&r.state.id, 200).await {
                Ok(e) => e,
                Err(e) => return crate::error::ApiError::from(e).into_response(),
            }
        } else {
            Vec::new()
        });
    }
    let t = |g: i64| {
        c.lang
            .number(&waiver_domain::amount::format_scaled(i128::from(g), 6, 0))
    };
    let tonnes = c.t("unit.t");
    let body = html! {
        p.hint { (c.t("quota.intro")) }
        @if records.is_empty() { p { (c.t("quota.none")) } }
        @for (r, es) in records.iter().zip(&entries) {
            @let q = &r.state;
            @let bp = q.used_bp();
            @let pct = format!("{}.{:02}%", bp / 100, bp % 100);
            @let surcharge = s.schedule.measure(&q.measure).map(|m| m.duty.to_string()).unwrap_or_default();
            h2 { (q.measure) " — " (q.origin.as_str()) " — " (q.year) }
            @let groups = vec![(q.origin.as_str().to_owned(), vec![
                Bar { class: "granted", value: q.quota_g, text: format!("{} {tonnes}", t(q.quota_g)) },
                Bar { class: "used", value: q.used_g, text: format!("{} {tonnes} ({pct})", t(q.used_g)) },
            ])];
            figure {
                (bar_chart(&format!("{} — {}", c.t("quota.chart"), q.id), &c.t("chart.desc_table"), &groups))
                figcaption.legend { (c.t("quota.legend")) }
            }
            dl {
                dt { (c.t("quota.goods")) } dd { (q.goods.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(", ")) }
                dt { (c.t("quota.quota")) } dd { (t(q.quota_g)) " " (tonnes) }
                dt { (c.t("quota.used")) } dd { (t(q.used_g)) " " (tonnes) " (" (pct) ")" }
                dt { (c.t("quota.remaining")) } dd { (t(q.remaining_g())) " " (tonnes) }
                dt { (c.t("quota.reached")) } dd { (q.reached_at.map_or_else(|| c.t("quota.not_reached"), |r| c.lang.date(r))) }
                dt { (c.t("quota.surcharge")) " (" (surcharge) ")" }
                dd { (q.surcharge_from().map_or_else(|| c.t("quota.surcharge_after"), |f| c.lang.date(f))) }
            }
            table {
                caption { (c.t("quota.notices")) " — " (q.id) }
                thead { tr { th scope="col" { (c.t("quota.threshold")) } th scope="col" { (c.t("quota.at")) } th.num scope="col" { (c.t("quota.used")) } } }
                tbody {
                    @if r.notices.is_empty() { tr { td colspan="3" { (c.t("quota.no_notices")) } } }
                    @for n in &r.notices { tr {
                        td { (n.threshold_pct) "%" } td { (c.lang.date(n.declared_at)) } td.num { (t(n.used_g)) " " (tonnes) }
                    } }
                }
            }
            @if ledgers {
                table {
                    caption { (c.t("quota.ledger")) " — " (q.id) }
                    thead { tr { th scope="col" { (c.t("quota.kind")) } th.num scope="col" { (c.t("quota.quantity")) } th scope="col" { (c.t("quota.cause")) } } }
                    tbody { @for e in es { tr {
                        td { (e.kind) } td.num { (t(e.quantity_g)) " " (tonnes) } td { (e.cause) }
                    } } }
                }
            }
        }
    };
    let title = c.t("quota.title");
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

/// The utilisation figures of the page as CSV, for everyone (the same aggregates and columns as
/// `/api/v1/reports/utilisation?format=csv`).
async fn utilisation_csv(State(s): State<AppState>) -> Response {
    let body = match s.store.utilisation(crate::applications::now()).await {
        Ok(items) => crate::reports::utilisation_csv(items),
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    match body {
        Ok(b) => (
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    CONTENT_DISPOSITION,
                    "attachment; filename=\"utilisation.csv\"",
                ),
            ],
            b,
        )
            .into_response(),
        Err(e) => crate::error::ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            e.to_string(),
        )
        .into_response(),
    }
}

/// The holder's monthly purchase plan against actual imports (and what purchase reports say
/// was bought), as a chart and a table; the same figures as `/api/v1/allowances/{number}/plan`.
pub(crate) async fn plan_panel(
    s: &AppState,
    c: &Ctx,
    a: &waiver_store::Allowance,
) -> Result<Markup, waiver_store::StoreError> {
    let unit = QtyUnit::parse(&a.unit).unwrap_or(QtyUnit::Kg);
    let months = crate::plan::plan_vs_imports(&s.store, a, unit).await?;
    let q = |g: i64| {
        c.lang.number(&waiver_domain::amount::format_scaled(
            i128::from(g),
            unit.grams().ilog10(),
            0,
        ))
    };
    let with_unit = |g: i64| format!("{} {}", q(g), unit.as_str());
    let groups: Vec<(String, Vec<Bar>)> = months
        .iter()
        .map(|m| {
            let mut bars = vec![
                Bar {
                    class: "planned",
                    value: m.planned_g,
                    text: with_unit(m.planned_g),
                },
                Bar {
                    class: "imported",
                    value: m.imported_g,
                    text: with_unit(m.imported_g),
                },
            ];
            if let Some(r) = m.reported_g {
                bars.push(Bar {
                    class: "reported",
                    value: r,
                    text: with_unit(r),
                });
            }
            (m.month.clone(), bars)
        })
        .collect();
    Ok(html! {
        h2 id="plan" { (c.t("plan.title")) }
        @if months.is_empty() { p { (c.t("plan.none")) } } @else {
            figure {
                (bar_chart(&c.t("plan.chart"), &c.t("chart.desc_table"), &groups))
                figcaption.legend { (c.t("plan.legend")) }
            }
            table {
                caption { (c.t("plan.table")) " (" (unit.as_str()) ")" }
                thead { tr {
                    th scope="col" { (c.t("util.month")) } th.num scope="col" { (c.t("plan.planned")) }
                    th.num scope="col" { (c.t("plan.imported")) } th.num scope="col" { (c.t("plan.difference")) }
                    th.num scope="col" { (c.t("plan.reported")) }
                } }
                tbody { @for m in &months { tr {
                    td { (m.month) } td.num { (q(m.planned_g)) } td.num { (q(m.imported_g)) }
                    td.num { (q(m.imported_g - m.planned_g)) }
                    td.num { (m.reported_g.map_or_else(|| "–".to_owned(), q)) }
                } } }
            }
            p { a href=(format!("/api/v1/allowances/{}/plan?format=csv", urlencode(&a.number))) download { (c.t("util.csv")) } }
        }
    })
}

/// An applicant files a monthly purchase report from the allowance page.
async fn file_report(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Path(number): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let caller = caller.unwrap_or(Caller(None));
    let c = ctx(
        Ok(Caller(caller.0.clone())),
        &headers,
        None,
        format!("/allowances/{}", urlencode(&number)),
    )
    .await;
    if !may(&c, Action::FilePurchaseReports) {
        return refused(&c);
    }
    if !csrf_ok(&headers, field(&f, "csrf")) {
        return expired(&c);
    }
    let r = crate::declarations::PurchaseReportIn {
        month: field(&f, "month").trim().to_owned(),
        quantity: field(&f, "quantity").trim().to_owned(),
        price: field(&f, "price").trim().to_owned(),
        currency: field(&f, "currency").trim().to_owned(),
    };
    match crate::declarations::file_report(&s, &caller, &number, r).await {
        Ok(_) => (
            StatusCode::SEE_OTHER,
            [(LOCATION, format!("/allowances/{}", urlencode(&number)))],
        )
            .into_response(),
        Err(e) if e.status == StatusCode::NOT_FOUND => not_found(&c),
        Err(e) => {
            let title = c.t("error.input");
            let body = html! {
                div.error-summary role="alert" { p.error { (e.field.as_deref().unwrap_or("")) ": " (c.lang.problem_of(&e.message)) } }
                p { a href=(format!("/allowances/{}", urlencode(&number))) { (c.t("form.back")) } }
            };
            respond(&c, StatusCode::UNPROCESSABLE_ENTITY, page(&c, &title, body))
        }
    }
}

/// The purchase reports of an allowance and, for its holder, the form to file one.
pub(crate) async fn reports_panel(s: &AppState, c: &Ctx, number: &str) -> Markup {
    let unit = s
        .store
        .allowance(number)
        .await
        .ok()
        .flatten()
        .map_or_else(String::new, |a| a.unit);
    let reports = s.store.purchase_reports(number).await.unwrap_or_default();
    let qty = |g: i64| {
        c.lang.number(&waiver_domain::amount::format_scaled(
            i128::from(g),
            if unit == "t" { 6 } else { 3 },
            0,
        ))
    };
    html! {
        h2 { (c.t("pr.title")) }
        @if reports.is_empty() { p { (c.t("pr.none")) } } @else {
            table {
                thead { tr {
                    th scope="col" { (c.t("util.month")) } th.num scope="col" { (c.t("decl.quantity")) }
                    th.num scope="col" { (c.t("pr.price")) } th scope="col" { (c.t("pr.filed_by")) }
                } }
                tbody { @for r in &reports { tr {
                    td { (r.month) } td.num { (qty(r.quantity_g)) " " (unit) }
                    td.num { (c.lang.number(&waiver_domain::amount::format_scaled(i128::from(r.price_minor), 2, 2))) " " (r.currency) }
                    td { (r.filed_by) }
                } } }
            }
        }
        @if may(c, Action::FilePurchaseReports) {
            form.stack method="post" action=(format!("/allowances/{}/purchase-reports", urlencode(number))) {
                input type="hidden" name="csrf" value=(c.csrf);
                label for="month" { (c.t("pr.month")) }
                input id="month" name="month" type="text" placeholder="2026-11";
                label for="quantity" { (c.t("decl.quantity")) " (" (unit) ")" }
                input id="quantity" name="quantity" type="text";
                label for="price" { (c.t("pr.price")) }
                input id="price" name="price" type="text";
                label for="currency" { (c.t("decl.currency")) }
                input id="currency" name="currency" type="text" value="USD";
                button.primary type="submit" { (c.t("pr.submit")) }
            }
        }
    }
}

/// The balance of an allowance after each ledger entry, as an SVG step line (server-side, no
/// script): remaining = ceiling − the running sum of draws and reversals.
pub(crate) fn balance_chart(label: &str, ceiling_g: i64, entries: &[(i64, &str)]) -> Markup {
    let mut used = 0i64;
    let mut points = vec![ceiling_g];
    for (q, kind) in entries {
        if matches!(*kind, "draw" | "reversal") {
            used += q;
            points.push(ceiling_g - used);
        }
    }
    let top = ceiling_g.max(1);
    let n = points.len().max(2) - 1;
    let xy: Vec<String> = points
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            let x = i * 100 / n;
            let y = 38 - i128::from((*r).clamp(0, top)) * 36 / i128::from(top);
            [
                format!("{x},{y}"),
                format!("{},{y}", ((i + 1) * 100 / n).min(100)),
            ]
        })
        .collect();
    html! {
        svg.chart viewBox="0 0 100 40" role="img" aria-label=(label) {
            line.axis x1="0" y1="38" x2="100" y2="38" {}
            polyline.balance points=(xy.join(" ")) {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_fields_map_to_form_inputs() {
        assert_eq!(input_id("lines[1].code", &[1, 3]), "l3_code");
        assert_eq!(input_id("lines[0].customs_value", &[2]), "l2_value");
        assert_eq!(input_id("importer", &[1]), "importer");
        assert_eq!(input_id("lines", &[1]), "l1_code");
    }

    #[test]
    fn the_balance_line_steps_down_with_draws_and_back_with_reversals() {
        let m = balance_chart("b", 100, &[(100, "grant"), (60, "draw"), (-60, "reversal")])
            .into_string();
        assert!(
            m.contains("points=\"0,2 50,2 50,24 100,24 100,2 100,2\""),
            "{m}"
        );
    }
}
