//! The JSON API through its router: authorisation for every role × endpoint, the error envelope,
//! validation, and the OpenAPI document.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{application_json, new_programme, App};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use waiver_domain::accounts::Role;
use waiver_web::router;

async fn every_role_on_every_endpoint(app: &App) {
    // A draft of the applicant's, to act on.
    let draft = application_json("3700HS0001", "12019090");
    let (_, a) = app
        .call(
            "POST",
            "/api/v1/applications",
            Some(app.token(Role::Applicant)),
            Some(&draft),
        )
        .await;
    let n = a["number"].as_str().expect("a draft was filed").to_owned();
    let programme = new_programme("CN-TEST-1");
    let application = application_json("3700HS0001", "02032900");
    let accept = r#"{"decision":"accept"}"#.to_owned();
    let sign_in = r#"{"username":"nobody","password":"wrong password"}"#.to_owned();
    let none = None::<String>;
    let declaration = |quantity: &str| {
        serde_json::json!({"number": "DEC-MATRIX-1", "importer": "3700HS0001", "declared_at": "2020-06-01",
            "lines": [{"line": 1, "code": "12019010", "origin": "US", "quantity": quantity, "unit": "t",
                "customs_value": "400000", "currency": "USD"}]})
        .to_string()
    };
    let scenario =
        r#"{"name":"No 2018 layer","changes":[{"op":"remove","measure":"L301-1-soy"}]}"#.to_owned();
    let replay_lines = r#"{"lines":[{"code":"12019010","origin":"US","declared_at":"2020-07-15","quantity":"60000","unit":"t","customs_value":"24000000"}]}"#.to_owned();
    let quotes = r#"{"quotes":[{"origin":"US","code":"12019010","at":"2020-07-15","fob_usd_t":"380","freight_usd_t":"38"},{"origin":"BR","code":"12019010","at":"2020-07-15","fob_usd_t":"370","freight_usd_t":"29"}]}"#.to_owned();
    // (method, uri, body, expected status for: anonymous, applicant, expert, officer, customs,
    // analyst, admin). Rows run in order: the draft is amended, submitted, screened, withdrawn.
    let cases: Vec<(&str, String, Option<String>, [u16; 7])> = vec![
        ("GET", "/healthz".into(), none.clone(), [200; 7]),
        ("GET", "/metrics".into(), none.clone(), [200; 7]),
        ("GET", "/api/v1/openapi.json".into(), none.clone(), [200; 7]),
        ("GET", "/api/v1/programmes".into(), none.clone(), [200; 7]),
        (
            "GET",
            "/api/v1/programmes/CN-2020-MKT".into(),
            none.clone(),
            [200; 7],
        ),
        (
            "POST",
            "/api/v1/programmes".into(),
            Some(programme),
            [401, 403, 403, 201, 403, 403, 403],
        ),
        (
            "GET",
            "/api/v1/me".into(),
            none.clone(),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/tokens".into(),
            none.clone(),
            [401, 403, 403, 403, 403, 403, 200],
        ),
        (
            "POST",
            "/api/v1/users/user.analyst/enable".into(),
            none.clone(),
            [401, 403, 403, 403, 403, 403, 200],
        ),
        (
            "GET",
            "/api/v1/audit/programme/CN-2020-MKT".into(),
            none.clone(),
            [401, 403, 403, 200, 403, 403, 200],
        ),
        (
            "GET",
            "/api/v1/enterprises/3700HS0001".into(),
            none.clone(),
            [401, 200, 403, 200, 403, 403, 200],
        ),
        (
            "GET",
            "/api/v1/enterprises/3200JY0002".into(),
            none.clone(),
            [401, 404, 403, 404, 403, 403, 404],
        ),
        (
            "GET",
            "/api/v1/applications".into(),
            none.clone(),
            [401, 200, 200, 200, 403, 403, 200],
        ),
        (
            "POST",
            "/api/v1/applications".into(),
            Some(application),
            [401, 201, 403, 403, 403, 403, 403],
        ),
        (
            "GET",
            format!("/api/v1/applications/{n}"),
            none.clone(),
            [401, 200, 404, 200, 403, 403, 200],
        ),
        (
            "PUT",
            format!("/api/v1/applications/{n}"),
            Some(draft.clone()),
            [401, 200, 403, 403, 403, 403, 403],
        ),
        (
            "POST",
            format!("/api/v1/applications/{n}/attachments?filename=plan.json"),
            Some(draft),
            [401, 201, 403, 403, 403, 403, 403],
        ),
        (
            "GET",
            format!("/api/v1/applications/{n}/attachments"),
            none.clone(),
            [401, 200, 404, 200, 403, 403, 200],
        ),
        (
            "GET",
            format!("/api/v1/applications/{n}/attachments/1"),
            none.clone(),
            [401, 200, 404, 200, 403, 403, 200],
        ),
        (
            "POST",
            format!("/api/v1/applications/{n}/submit"),
            none.clone(),
            [401, 200, 403, 403, 403, 403, 403],
        ),
        (
            "POST",
            format!("/api/v1/applications/{n}/screen"),
            Some(accept),
            [401, 403, 403, 200, 403, 403, 403],
        ),
        (
            "POST",
            format!("/api/v1/applications/{n}/withdraw"),
            none.clone(),
            [401, 200, 403, 403, 403, 403, 403],
        ),
        (
            "GET",
            "/api/v1/applications/APP-2099-000001".into(),
            none.clone(),
            [401, 404, 404, 404, 403, 403, 404],
        ),
        // Declarations: customs submits, amends and cancels; the importer, customs and officers
        // read.
        (
            "POST",
            "/api/v1/declarations".into(),
            Some(declaration("1000")),
            [401, 403, 403, 403, 201, 403, 403],
        ),
        (
            "GET",
            "/api/v1/declarations/DEC-MATRIX-1".into(),
            none.clone(),
            [401, 200, 403, 200, 200, 403, 200],
        ),
        (
            "POST",
            "/api/v1/declarations/DEC-MATRIX-1/amend".into(),
            Some(declaration("900")),
            [401, 403, 403, 403, 200, 403, 403],
        ),
        (
            "POST",
            "/api/v1/declarations/DEC-MATRIX-1/cancel".into(),
            none.clone(),
            [401, 403, 403, 403, 200, 403, 403],
        ),
        (
            "GET",
            "/api/v1/allowances/WVR-2099-000001/plan".into(),
            none.clone(),
            [401, 404, 403, 404, 404, 403, 404],
        ),
        (
            "POST",
            "/api/v1/allowances/WVR-2099-000001/purchase-reports".into(),
            Some(r#"{"month":"2020-04","quantity":"1","price":"1","currency":"USD"}"#.into()),
            [401, 404, 403, 403, 403, 403, 403],
        ),
        (
            "GET",
            "/api/v1/allowances/WVR-2099-000001/purchase-reports".into(),
            none.clone(),
            [401, 404, 403, 404, 404, 403, 404],
        ),
        (
            "GET",
            "/api/v1/reports/utilisation".into(),
            none.clone(),
            [200; 7],
        ),
        (
            "GET",
            "/api/v1/reports/utilisation?format=csv".into(),
            none.clone(),
            [200; 7],
        ),
        ("GET", "/api/v1/scenarios".into(), none.clone(), [200; 7]),
        (
            "POST",
            "/api/v1/scenarios".into(),
            Some(scenario.clone()),
            [401, 403, 403, 201, 403, 201, 201],
        ),
        ("GET", "/api/v1/scenarios/1".into(), none.clone(), [200; 7]),
        (
            "GET",
            "/api/v1/scenarios/1/replay?from=2020-07&to=2020-07".into(),
            none.clone(),
            [401, 403, 403, 200, 200, 200, 200],
        ),
        (
            "PUT",
            "/api/v1/scenarios/1".into(),
            Some(scenario),
            [401, 403, 403, 200, 403, 200, 200],
        ),
        (
            "GET",
            "/api/v1/scenarios/1/tariff?code=12019010&origin=US&at=2020-07-15".into(),
            none.clone(),
            [200; 7],
        ),
        (
            "POST",
            "/api/v1/scenarios/1/replay".into(),
            Some(replay_lines),
            [200; 7],
        ),
        (
            "POST",
            "/api/v1/landed-cost".into(),
            Some(quotes),
            [200; 7],
        ),
        (
            "GET",
            "/api/v1/applications/aid?programme=CN-2020-MKT&code=12019010&quantity=60000&unit=t&at=2020-07-15".into(),
            none.clone(),
            [200; 7],
        ),
        (
            "DELETE",
            "/api/v1/scenarios/1".into(),
            none.clone(),
            [401, 403, 403, 204, 403, 404, 404],
        ),
        (
            "POST",
            "/api/v1/refunds/generate".into(),
            none.clone(),
            [401, 403, 403, 200, 403, 403, 403],
        ),
        (
            "GET",
            "/api/v1/refunds".into(),
            none.clone(),
            [401, 200, 403, 200, 200, 403, 403],
        ),
        (
            "GET",
            "/api/v1/refunds?format=csv".into(),
            none.clone(),
            [401, 200, 403, 200, 200, 403, 403],
        ),
        (
            "POST",
            "/api/v1/refunds/999999/settle".into(),
            none.clone(),
            [401, 403, 403, 403, 404, 403, 403],
        ),
        ("GET", "/api/v1/quotas".into(), none.clone(), [200; 7]),
        (
            "GET",
            "/api/v1/quotas/SG-2026-beef/US/2026".into(),
            none.clone(),
            [404; 7],
        ),
        (
            "POST",
            "/api/v1/quotas".into(),
            Some(r#"{"measure":"SG-2026-beef","origin":"US","year":2026,"quota":"164000","unit":"t"}"#.into()),
            [401, 403, 403, 201, 403, 403, 409],
        ),
        (
            "POST",
            "/api/v1/quotas/SG-2026-beef/US/2026/imports".into(),
            Some(r#"{"quantity":"10","unit":"t","declared_at":"2026-02-01","source":"customs statistics"}"#.into()),
            [401, 403, 403, 201, 403, 403, 201],
        ),
        (
            "GET",
            "/api/v1/quotas/SG-2026-beef/US/2026".into(),
            none.clone(),
            [200; 7],
        ),
        // Five wrong passwords for one username lock it: the sixth attempt is refused.
        (
            "POST",
            "/api/v1/session".into(),
            Some(sign_in),
            [401, 401, 401, 401, 401, 429, 429],
        ),
        ("DELETE", "/api/v1/session".into(), none, [204; 7]),
    ];
    let callers: Vec<Option<Role>> = std::iter::once(None).chain(Role::ALL.map(Some)).collect();
    for (method, uri, body, expected) in &cases {
        for (caller, want) in callers.iter().zip(expected) {
            let token = caller.map(|r| app.token(r).to_owned());
            let (status, json) = app
                .call(method, uri, token.as_deref(), body.as_deref())
                .await;
            assert_eq!(
                status.as_u16(),
                *want,
                "{method} {uri} as {caller:?}: {json}"
            );
            if status.is_client_error() {
                assert!(
                    json["error"]["code"].is_string(),
                    "envelope for {method} {uri} as {caller:?}: {json}"
                );
            }
        }
    }
}

async fn bad_requests_get_the_envelope_and_change_nothing(app: &App) {
    let officer = app.token(Role::Officer).to_owned();
    let cases: [(&str, u16, &str); 4] = [
        ("{\"id\": ", 400, "invalid_json"),
        ("{\"id\": 5}", 422, "validation"),
        (
            &new_programme("CN-TEST-2").replacen("{", "{\"colour\":\"red\",", 1),
            422,
            "validation",
        ),
        (&"x".repeat(2 * 1024 * 1024), 413, "payload_too_large"),
    ];
    for (body, status, code) in cases {
        let (s, json) = app
            .call("POST", "/api/v1/programmes", Some(&officer), Some(body))
            .await;
        assert_eq!(
            (s.as_u16(), json["error"]["code"].as_str()),
            (status, Some(code)),
            "{json}"
        );
    }
    // A field-level validation error names the field.
    let mut bad: Value = serde_json::from_str(&new_programme("CN-TEST-3")).unwrap();
    bad["review"]["criteria"][0]["weight_pct"] = 99.into();
    let (s, json) = app
        .call(
            "POST",
            "/api/v1/programmes",
            Some(&officer),
            Some(&bad.to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json["error"]["field"], "review.criteria");
    let mut bad: Value = serde_json::from_str(&new_programme("CN-TEST-4")).unwrap();
    bad["eligible_lines"][0] = "99999999".into();
    let (_, json) = app
        .call(
            "POST",
            "/api/v1/programmes",
            Some(&officer),
            Some(&bad.to_string()),
        )
        .await;
    assert_eq!(json["error"]["field"], "eligible_lines[0]");
    // Nothing was written.
    let (_, list) = app.call("GET", "/api/v1/programmes", None, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    // A duplicate is a conflict; an unknown endpoint and a bad token are enveloped too.
    let (s, _) = app
        .call(
            "POST",
            "/api/v1/programmes",
            Some(&officer),
            Some(&new_programme("CN-2020-MKT")),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, json) = app.call("GET", "/api/v1/nothing", None, None).await;
    assert_eq!(
        (s, json["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    // Query parameters that do not parse get the envelope too, naming the parameter.
    for uri in [
        "/api/v1/applications?limit=abc",
        "/api/v1/applications?offset=-x",
    ] {
        let (s, json) = app.call("GET", uri, Some(&officer), None).await;
        assert_eq!(
            (s, json["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("validation")),
            "{uri}: {json}"
        );
        let field = uri.split(['?', '=']).nth(1).unwrap();
        assert_eq!(json["error"]["field"], field, "{json}");
        assert!(json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("openapi.json"));
    }
    // So do path parameters that do not parse.
    let (s, json) = app
        .call("GET", "/api/v1/scenarios/first", Some(&officer), None)
        .await;
    assert_eq!(
        (
            s,
            json["error"]["code"].as_str(),
            json["error"]["field"].as_str()
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("validation"),
            Some("id")
        ),
        "{json}"
    );
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`first`"),
        "{json}"
    );
    let (s, json) = app
        .call("GET", "/api/v1/me", Some("wvr_forged"), None)
        .await;
    assert_eq!(
        (s, json["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
}

async fn creating_a_programme_is_audited_with_the_officer_as_actor(app: &App) {
    let officer = app.token(Role::Officer).to_owned();
    let (s, json) = app
        .call(
            "POST",
            "/api/v1/programmes",
            Some(&officer),
            Some(&new_programme("CN-TEST-9")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{json}");
    let (_, trail) = app
        .call(
            "GET",
            "/api/v1/audit/programme/CN-TEST-9",
            Some(&officer),
            None,
        )
        .await;
    assert_eq!(trail[0]["actor"], "user.officer");
    assert_eq!(trail[0]["action"], "create");
}

async fn metrics_count_requests(app: &App) {
    app.call("GET", "/healthz", None, None).await;
    let req = Request::builder()
        .uri("/metrics")
        .body(Body::empty())
        .unwrap();
    let resp = router(app.state.clone()).oneshot(req).await.unwrap();
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(
        text.contains("waiver_http_requests_total{method=\"GET\",status=\"2xx\"} 1"),
        "{text}"
    );
    assert!(text.contains("waiver_http_request_duration_seconds_count"));
}

async fn the_openapi_document_is_locked(app: &App) {
    let (s, doc) = app.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    insta::assert_json_snapshot!("openapi_document", doc);
}

async fn an_application_is_filed_fixed_screened_returned_amended_and_accepted(app: &App) {
    let applicant = app.token(Role::Applicant).to_owned();
    let officer = app.token(Role::Officer).to_owned();
    // A filing with two mistakes gets every problem back, field by field, and stores nothing.
    let mut bad: Value = serde_json::from_str(&application_json("3700HS0001", "12019010")).unwrap();
    bad["monthly_plan"][1]["quantity"] = "20000".into();
    bad["contract"]["overfill_pct"] = "12".into();
    let (s, json) = app
        .call(
            "POST",
            "/api/v1/applications?submit=true",
            Some(&applicant),
            Some(&bad.to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{json}");
    let fields: Vec<&str> = json["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["contract.overfill_pct", "monthly_plan"]);
    let (_, list) = app
        .call("GET", "/api/v1/applications", Some(&applicant), None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    // Fixed, it is filed and submitted.
    let (s, a) = app
        .call(
            "POST",
            "/api/v1/applications?submit=true",
            Some(&applicant),
            Some(&application_json("3700HS0001", "12019010")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(a["state"], "submitted");
    let number = a["number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("APP-") && number.len() == 15, "{number}");
    // Filing again for the same line points to the open one.
    let (s, json) = app
        .call(
            "POST",
            "/api/v1/applications",
            Some(&applicant),
            Some(&application_json("3700HS0001", "12019010")),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(json["error"]["message"].as_str().unwrap().contains(&number));
    // Nobody files for someone else's enterprise.
    let (s, json) = app
        .call(
            "POST",
            "/api/v1/applications",
            Some(&applicant),
            Some(&application_json("3200JY0002", "12019010")),
        )
        .await;
    assert_eq!(
        (s, json["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("enterprise"))
    );

    // The officer returns it with a reason per field.
    let ret = r#"{"decision":"return","reasons":{"contract.supplier":"give the supplier's full legal name"}}"#;
    let (s, r) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{number}/screen?version=1"),
            Some(&officer),
            Some(ret),
        )
        .await;
    assert_eq!(
        (s, r["state"].as_str()),
        (StatusCode::OK, Some("returned")),
        "{r}"
    );
    assert_eq!(
        r["screening_notes"]["contract.supplier"],
        "give the supplier's full legal name"
    );

    // The applicant amends; that resubmits it.
    let mut fixed: Value =
        serde_json::from_str(&application_json("3700HS0001", "12019010")).unwrap();
    fixed["contract"]["supplier"] = "Gulf Grain Exporters LLC, New Orleans (fictional)".into();
    let (s, r) = app
        .call(
            "PUT",
            &format!("/api/v1/applications/{number}?version=2"),
            Some(&applicant),
            Some(&fixed.to_string()),
        )
        .await;
    assert_eq!(
        (s, r["state"].as_str()),
        (StatusCode::OK, Some("resubmitted")),
        "{r}"
    );
    // A stale version is refused.
    let (s, _) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{number}/screen?version=2"),
            Some(&officer),
            Some(r#"{"decision":"accept"}"#),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, r) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{number}/screen?version=3"),
            Some(&officer),
            Some(r#"{"decision":"accept"}"#),
        )
        .await;
    assert_eq!(
        (s, r["state"].as_str()),
        (StatusCode::OK, Some("under_review")),
        "{r}"
    );
    // Withdrawn at the applicant's request; then nothing more can happen to it.
    let (s, r) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{number}/withdraw"),
            Some(&applicant),
            None,
        )
        .await;
    assert_eq!(
        (s, r["state"].as_str()),
        (StatusCode::OK, Some("withdrawn"))
    );
    let (s, _) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{number}/submit"),
            Some(&applicant),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, trail) = app
        .call(
            "GET",
            &format!("/api/v1/audit/application/{number}"),
            Some(&officer),
            None,
        )
        .await;
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "submit",
            "start_screening+return",
            "resubmit",
            "start_screening+accept",
            "withdraw"
        ]
    );
}

async fn raw(app: &App, req: Request<Body>) -> axum::response::Response {
    router(app.state.clone()).oneshot(req).await.unwrap()
}

async fn browsers_sign_in_with_an_http_only_same_site_cookie(app: &App) {
    let bad = Request::post("/api/v1/session")
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"username":"user.officer","password":"wrong password!"}"#,
        ))
        .unwrap();
    let resp = raw(app, bad).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().get("set-cookie").is_none());

    let good = Request::post("/api/v1/session")
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"username":"user.officer","password":"correct horse battery"}"#,
        ))
        .unwrap();
    let resp = raw(app, good).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_owned();
    let me = raw(
        app,
        Request::get("/api/v1/me")
            .header("cookie", &pair)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(me.status(), StatusCode::OK);
    // A change made with the cookie from another site's page is refused (the browser says
    // where a request comes from); from Waiver's own pages it goes through.
    let programme = |headers: &[(&str, &str)]| {
        let mut r = Request::post("/api/v1/programmes")
            .header("cookie", &pair)
            .header("content-type", "application/json");
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.body(Body::from(new_programme("CN-CSRF-1"))).unwrap()
    };
    for refused in [
        programme(&[("sec-fetch-site", "cross-site")]),
        programme(&[("sec-fetch-site", "same-site")]),
        programme(&[
            ("origin", "https://evil.example"),
            ("host", "waiver.example"),
        ]),
    ] {
        let resp = raw(app, refused).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let err: Value =
            serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!(err["error"]["code"], "cross_site");
    }
    assert!(
        app.db.store.programme("CN-CSRF-1").await.unwrap().is_none(),
        "nothing was created"
    );
    let resp = raw(
        app,
        programme(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "https://waiver.example"),
            ("host", "waiver.example"),
        ]),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let out = raw(
        app,
        Request::delete("/api/v1/session")
            .header("cookie", &pair)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let me = raw(
        app,
        Request::get("/api/v1/me")
            .header("cookie", &pair)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

async fn sign_in_is_locked_after_five_wrong_passwords(app: &App) {
    let attempt = |password: &str| {
        serde_json::json!({ "username": "user.analyst", "password": password }).to_string()
    };
    for _ in 0..5 {
        let (st, _) = app
            .call(
                "POST",
                "/api/v1/session",
                None,
                Some(&attempt("guess guess guess")),
            )
            .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    let (st, e) = app
        .call(
            "POST",
            "/api/v1/session",
            None,
            Some(&attempt("correct horse battery")),
        )
        .await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{e}");
    assert_eq!(e["error"]["code"], "too_many_attempts");
    // Other usernames are not affected.
    let other =
        serde_json::json!({ "username": "user.officer", "password": "correct horse battery" });
    let (st, _) = app
        .call("POST", "/api/v1/session", None, Some(&other.to_string()))
        .await;
    assert_eq!(st, StatusCode::OK);
}

async fn attachments_keep_their_sha256_and_size_limit(app: &App) {
    let applicant = app.token(Role::Applicant).to_owned();
    let (_, a) = app
        .call(
            "POST",
            "/api/v1/applications",
            Some(&applicant),
            Some(&application_json("3700HS0001", "12019010")),
        )
        .await;
    let number = a["number"].as_str().unwrap().to_owned();
    let upload = |bytes: Vec<u8>, token: String| {
        Request::post(format!(
            "/api/v1/applications/{number}/attachments?filename=contract.pdf"
        ))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/pdf")
        .body(Body::from(bytes))
        .unwrap()
    };
    let content = b"%PDF-1.4 contract HS-2020-017".to_vec();
    let resp = raw(app, upload(content.clone(), applicant.clone())).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let meta: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(meta["size_bytes"], content.len());
    assert_eq!(meta["sha256"].as_str().unwrap().len(), 64);
    // Over 10 MiB: 413 with the envelope, nothing stored.
    let resp = raw(app, upload(vec![0u8; (10 << 20) + 1], applicant.clone())).await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let err: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(err["error"]["code"], "payload_too_large");
    let (_, list) = app
        .call(
            "GET",
            &format!("/api/v1/applications/{number}/attachments"),
            Some(&applicant),
            None,
        )
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // Download returns the same bytes and hash.
    let id = meta["id"].as_i64().unwrap();
    let get = Request::get(format!("/api/v1/applications/{number}/attachments/{id}"))
        .header("authorization", format!("Bearer {applicant}"))
        .body(Body::empty())
        .unwrap();
    let resp = raw(app, get).await;
    assert_eq!(
        resp.headers()["x-content-sha256"],
        meta["sha256"].as_str().unwrap()
    );
    assert_eq!(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
        content
    );
    // Another role cannot upload, and customs cannot even see it.
    let resp = raw(
        app,
        upload(b"x".to_vec(), app.token(Role::Officer).to_owned()),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(
            "GET",
            &format!("/api/v1/applications/{number}/attachments"),
            Some(app.token(Role::Customs)),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn administrators_revoke_tokens_and_disable_users_at_once(app: &App) {
    let admin = Some(app.token(Role::Admin));
    let customs = app.token(Role::Customs).to_owned();
    let analyst = app.token(Role::Analyst).to_owned();
    // Both work, and are now in the server's token cache.
    for t in [&customs, &analyst] {
        assert_eq!(
            app.call("GET", "/api/v1/me", Some(t), None).await.0,
            StatusCode::OK
        );
    }
    let (s, list) = app
        .call("GET", "/api/v1/tokens?user=user.customs", admin, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["label"], "test");
    assert!(items[0].get("revoked_at_ms").is_none(), "{list}");
    assert!(
        !list.to_string().contains("wvr_"),
        "never the token itself: {list}"
    );
    let id = items[0]["id"].as_i64().unwrap();

    // Revoked: refused at once, not after the cache's 2 s.
    let (s, t) = app
        .call("POST", &format!("/api/v1/tokens/{id}/revoke"), admin, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert!(t["revoked_at_ms"].as_i64().unwrap() > 0);
    let (s, _) = app.call("GET", "/api/v1/me", Some(&customs), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, e) = app
        .call("POST", &format!("/api/v1/tokens/{id}/revoke"), admin, None)
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("token_revoked"))
    );
    let (s, e) = app
        .call("POST", "/api/v1/tokens/x1/revoke", admin, None)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["field"], "id", "{e}");
    let (s, _) = app
        .call("POST", "/api/v1/tokens/999999/revoke", admin, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Disabled: the analyst's token is refused at once; enabled: it works again.
    let (s, u) = app
        .call("POST", "/api/v1/users/user.analyst/disable", admin, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (u["disabled"].as_bool(), u["changed"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(
        app.call("GET", "/api/v1/me", Some(&analyst), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, u) = app
        .call("POST", "/api/v1/users/user.analyst/disable", admin, None)
        .await;
    assert_eq!(u["changed"], false);
    let (s, _) = app
        .call("POST", "/api/v1/users/user.analyst/enable", admin, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        app.call("GET", "/api/v1/me", Some(&analyst), None).await.0,
        StatusCode::OK
    );
    // An administrator cannot lock themselves out; unknown users are 404, bad names 422.
    let (s, e) = app
        .call("POST", "/api/v1/users/user.admin/disable", admin, None)
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("self_disable")),
        "{e}"
    );
    let (s, _) = app
        .call("GET", "/api/v1/tokens?user=nobody.here", admin, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, e) = app
        .call("GET", "/api/v1/tokens?user=No%20Body", admin, None)
        .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("user")),
        "{e}"
    );
    let (s, _) = app
        .call("POST", "/api/v1/users/nobody.here/disable", admin, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The changes are in the users' audit trails, with the administrator as actor.
    let (_, trail) = app
        .call("GET", "/api/v1/audit/user/user.analyst", admin, None)
        .await;
    let actions: Vec<(String, String)> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .filter(|(a, _)| a == "disable" || a == "enable")
        .collect();
    assert_eq!(
        actions,
        [
            ("disable".to_owned(), "user.admin".to_owned()),
            ("enable".to_owned(), "user.admin".to_owned())
        ],
        "{trail}"
    );
}

both!(
    administrators_revoke_tokens_and_disable_users_at_once,
    every_role_on_every_endpoint,
    bad_requests_get_the_envelope_and_change_nothing,
    creating_a_programme_is_audited_with_the_officer_as_actor,
    metrics_count_requests,
    the_openapi_document_is_locked,
    an_application_is_filed_fixed_screened_returned_amended_and_accepted,
    browsers_sign_in_with_an_http_only_same_site_cookie,
    sign_in_is_locked_after_five_wrong_passwords,
    attachments_keep_their_sha256_and_size_limit
);
