//! Declarations draw down allowances, on SQLite and PostgreSQL: the contract, exactly-once
//! replays, the split, every refusal with its note, cancellation and amendment, and 64
//! concurrent clients against one allowance and against many with no overdraw.

mod common;

use common::App;
use serde_json::{json, Value};
use waiver_domain::accounts::Role;
use waiver_domain::BjTime;

const HOLDER: &str = "3700HS0001";

async fn allowance(app: &App, number: &str, holder: &str, granted_t: i64, tolerance_ppm: i64) {
    waiver_store::testing::seed_allowance(
        &app.state.store,
        number,
        holder,
        "12019010",
        granted_t * 1_000_000,
        tolerance_ppm,
        (
            BjTime::parse_instant("2020-03-01").unwrap(),
            BjTime::parse_instant("2021-03-01").unwrap(),
        ),
        &["l301"],
    )
    .await
    .unwrap();
}

fn line(n: u32, tonnes: &str, allowance: Option<&str>) -> Value {
    let mut l = json!({"line": n, "code": "12019010", "origin": "US", "quantity": tonnes, "unit": "t",
        "customs_value": "400000", "currency": "USD"});
    if let Some(a) = allowance {
        l["allowance"] = json!(a);
    }
    l
}

fn declaration(number: &str, importer: &str, at: &str, lines: Vec<Value>) -> String {
    json!({"number": number, "importer": importer, "declared_at": at, "lines": lines}).to_string()
}

async fn declare(app: &App, body: &str) -> (u16, Value) {
    let (s, v) = app
        .call(
            "POST",
            "/api/v1/declarations",
            Some(app.token(Role::Customs)),
            Some(body),
        )
        .await;
    (s.as_u16(), v)
}

async fn used_g(app: &App, number: &str) -> i64 {
    let (s, a) = app
        .call(
            "GET",
            &format!("/api/v1/allowances/{number}"),
            Some(app.token(Role::Customs)),
            None,
        )
        .await;
    assert_eq!(s, 200, "{a}");
    a["used_g"].as_i64().unwrap()
}

async fn ledgers_balance(app: &App) {
    for c in app.state.store.ledger_checks().await.unwrap() {
        assert_eq!(c.used_g, c.entries_used_g, "{c:?}");
        assert!(c.used_g >= 0 && c.used_g <= c.ceiling_g, "{c:?}");
    }
    let report = app.state.store.verify_audit().await.unwrap();
    assert_eq!(report.first_bad, None, "{report:?}");
}

async fn a_declaration_draws_once_splits_notes_refusals_and_cancels(app: &App) {
    app.add_enterprise("3200JY0002", "Jiayue (fictional)", None)
        .await;
    allowance(app, "WVR-2020-000001", HOLDER, 1000, 100_000).await; // 1 100 t with tolerance
    allowance(app, "WVR-2020-000002", "3200JY0002", 1000, 0).await;
    let body = declaration(
        "DEC-1",
        HOLDER,
        "2020-06-01",
        vec![
            line(1, "600", Some("WVR-2020-000001")),
            line(2, "600", Some("WVR-2020-000001")),
            line(3, "10", Some("WVR-2020-000002")),
            line(4, "10", Some("WVR-2099-999999")),
            line(5, "10", None),
        ],
    );
    let (s, a) = declare(app, &body).await;
    assert_eq!(s, 201, "{a}");
    let l = &a["lines"];
    assert_eq!(l[0]["covered_quantity"], "600");
    assert_eq!(l[0]["uncovered_quantity"], "0");
    assert_eq!(l[0]["allowance"]["remaining"], "500");
    assert_eq!(l[1]["covered_quantity"], "500");
    assert_eq!(l[1]["uncovered_quantity"], "100");
    assert_eq!(l[1]["allowance"]["remaining"], "0");
    assert!(
        l[1]["notes"][0].as_str().unwrap().contains("only part"),
        "{a}"
    );
    assert!(
        l[2]["notes"][0]
            .as_str()
            .unwrap()
            .contains("held by 3200JY0002"),
        "{a}"
    );
    assert!(
        l[3]["notes"][0]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{a}"
    );
    assert_eq!(l[2]["covered_quantity"], "0");
    assert!(l[4].get("allowance").is_none(), "{a}");
    // The covered line has its l301 layers lifted; the refused line pays them.
    assert_ne!(l[0]["excluded_duty_cny"], "0.00");
    assert_eq!(l[2]["excluded_duty_cny"], "0.00");
    let lifted: Vec<&Value> = l[0]["measures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["status"] == "lifted")
        .collect();
    assert!(!lifted.is_empty(), "{a}");
    let total: i64 = l
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let t = x["total_cny"].as_str().unwrap().replace('.', "");
            t.parse::<i64>().unwrap()
        })
        .sum();
    assert_eq!(
        a["total_cny"]
            .as_str()
            .unwrap()
            .replace('.', "")
            .parse::<i64>()
            .unwrap(),
        total
    );
    assert_eq!(used_g(app, "WVR-2020-000001").await, 1_100_000_000);

    // Exactly once: the identical re-send replays the answer; different content is refused.
    let (s, again) = declare(app, &body).await;
    assert_eq!((s, &again), (200, &a));
    let other = declaration("DEC-1", HOLDER, "2020-06-01", vec![line(1, "1", None)]);
    let (s, e) = declare(app, &other).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("declaration_exists")),
        "{e}"
    );
    assert_eq!(used_g(app, "WVR-2020-000001").await, 1_100_000_000);

    // Wrong line, expired, not yet valid, exhausted.
    let mut wrong = line(1, "1", Some("WVR-2020-000001"));
    wrong["code"] = json!("12019090");
    let (s, a2) = declare(
        app,
        &declaration("DEC-2", HOLDER, "2020-06-01", vec![wrong]),
    )
    .await;
    assert_eq!(s, 201, "{a2}");
    assert!(
        a2["lines"][0]["notes"][0]
            .as_str()
            .unwrap()
            .contains("covers tariff line 12019010"),
        "{a2}"
    );
    let (_, a3) = declare(
        app,
        &declaration(
            "DEC-3",
            HOLDER,
            "2021-03-01",
            vec![line(1, "1", Some("WVR-2020-000001"))],
        ),
    )
    .await;
    assert!(
        a3["lines"][0]["notes"][0]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{a3}"
    );
    let (_, a4) = declare(
        app,
        &declaration(
            "DEC-4",
            HOLDER,
            "2020-02-01",
            vec![line(1, "1", Some("WVR-2020-000001"))],
        ),
    )
    .await;
    assert!(
        a4["lines"][0]["notes"][0]
            .as_str()
            .unwrap()
            .contains("not valid before"),
        "{a4}"
    );
    let (_, a5) = declare(
        app,
        &declaration(
            "DEC-5",
            HOLDER,
            "2020-06-01",
            vec![line(1, "1", Some("WVR-2020-000001"))],
        ),
    )
    .await;
    assert!(
        a5["lines"][0]["notes"][0]
            .as_str()
            .unwrap()
            .contains("exhausted"),
        "{a5}"
    );

    // Cancel reverses every draw, once; the number cannot be reused.
    let customs = app.token(Role::Customs).to_owned();
    for _ in 0..2 {
        let (s, c) = app
            .call(
                "POST",
                "/api/v1/declarations/DEC-1/cancel",
                Some(&customs),
                None,
            )
            .await;
        assert_eq!(
            (s.as_u16(), c["status"].as_str()),
            (200, Some("cancelled")),
            "{c}"
        );
        assert_eq!(used_g(app, "WVR-2020-000001").await, 0);
    }
    let (s, e) = declare(app, &body).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("declaration_cancelled")),
        "{e}"
    );

    // Amendment: the old draw is reversed and the new one drawn in one step; replayable.
    let (s, _) = declare(
        app,
        &declaration(
            "DEC-6",
            HOLDER,
            "2020-06-01",
            vec![line(1, "800", Some("WVR-2020-000001"))],
        ),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(used_g(app, "WVR-2020-000001").await, 800_000_000);
    let amended = declaration(
        "DEC-6",
        HOLDER,
        "2020-06-01",
        vec![line(1, "1100", Some("WVR-2020-000001"))],
    );
    for _ in 0..2 {
        let (s, am) = app
            .call(
                "POST",
                "/api/v1/declarations/DEC-6/amend",
                Some(&customs),
                Some(&amended),
            )
            .await;
        assert_eq!(s, 200, "{am}");
        assert_eq!(am["lines"][0]["covered_quantity"], "1100", "{am}");
        assert_eq!(used_g(app, "WVR-2020-000001").await, 1_100_000_000);
    }
    let (s, g) = app
        .call("GET", "/api/v1/declarations/DEC-6", Some(&customs), None)
        .await;
    assert_eq!((s.as_u16(), g["revision"].as_i64()), (200, Some(2)), "{g}");
    let (_, al) = app
        .call(
            "GET",
            "/api/v1/allowances/WVR-2020-000001",
            Some(&customs),
            None,
        )
        .await;
    let kinds: Vec<&str> = al["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["grant", "draw", "draw", "reversal", "draw", "reversal", "draw"],
        "{al}"
    );
    ledgers_balance(app).await;

    // Limits and bad input get the envelope.
    let many: Vec<Value> = (1..=201).map(|i| line(i, "1", None)).collect();
    let (s, e) = declare(app, &declaration("DEC-7", HOLDER, "2020-06-01", many)).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (422, Some("lines")),
        "{e}"
    );
    let (s, e) = declare(
        app,
        &declaration(
            &"X".repeat(33),
            HOLDER,
            "2020-06-01",
            vec![line(1, "1", None)],
        ),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (422, Some("number")),
        "{e}"
    );
    let mut bad = line(1, "-1", None);
    bad["unit"] = json!("t");
    let (s, e) = declare(app, &declaration("DEC-8", HOLDER, "2020-06-01", vec![bad])).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (422, Some("lines[0].quantity")),
        "{e}"
    );
    let (s, e) = declare(
        app,
        &declaration(
            "DEC-9",
            HOLDER,
            "2020-06-01",
            vec![line(1, "1", None), line(1, "1", None)],
        ),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (422, Some("lines[1].line")),
        "{e}"
    );
}

async fn de_minimis_waives_a_small_tax_per_declaration(app: &App) {
    // 1 kg worth USD 10: duty and VAT are far under CNY 50 and are not collected.
    let mut l = line(1, "1", None);
    l["unit"] = json!("kg");
    l["customs_value"] = json!("10");
    let (s, a) = declare(app, &declaration("DEC-DM", HOLDER, "2020-06-01", vec![l])).await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["total_cny"], "0.00", "{a}");
    assert!(
        a["lines"][0]["notes"].to_string().contains("de minimis"),
        "{a}"
    );
}

/// 64 clients at once: 80 declarations of 3 t against one 100 t allowance (33 fit, one more
/// partly), and 64 × 2 declarations spread over 16 allowances of 10 t.
async fn concurrent_clients_never_overdraw(app: &App) {
    allowance(app, "WVR-2020-000100", HOLDER, 100, 0).await;
    for i in 0..16 {
        allowance(app, &format!("WVR-2020-1{i:05}"), HOLDER, 10, 0).await;
    }
    let customs = app.token(Role::Customs).to_owned();
    let one = (0..80).map(|i| {
        let body = declaration(
            &format!("ONE-{i}"),
            HOLDER,
            "2020-06-01",
            vec![line(1, "3", Some("WVR-2020-000100"))],
        );
        let customs = customs.clone();
        async move {
            app.call("POST", "/api/v1/declarations", Some(&customs), Some(&body))
                .await
        }
    });
    let many = (0..128).map(|i| {
        let a = format!("WVR-2020-1{:05}", i % 16);
        let body = declaration(
            &format!("MANY-{i}"),
            HOLDER,
            "2020-06-01",
            vec![line(1, "1.5", Some(&a))],
        );
        let customs = customs.clone();
        async move {
            app.call("POST", "/api/v1/declarations", Some(&customs), Some(&body))
                .await
        }
    });
    let (one, many) = futures_util::future::join(
        futures_util::future::join_all(one),
        futures_util::future::join_all(many),
    )
    .await;
    let mut covered_one = 0i64;
    for (s, a) in &one {
        assert_eq!(s.as_u16(), 201, "{a}");
        let c = a["lines"][0]["covered_quantity"].as_str().unwrap();
        covered_one += waiver_domain::amount::parse_scaled(c, 6).unwrap();
    }
    assert_eq!(covered_one, 100_000_000);
    assert_eq!(used_g(app, "WVR-2020-000100").await, 100_000_000);
    for (s, a) in &many {
        assert_eq!(s.as_u16(), 201, "{a}");
    }
    for i in 0..16 {
        assert_eq!(used_g(app, &format!("WVR-2020-1{i:05}")).await, 10_000_000);
    }
    // The declarations were group-committed: concurrent ones shared transactions, and no batch
    // had to fall back to one-by-one.
    let stats = app.state.store.batch_stats();
    assert_eq!(stats.declarations, 208, "{stats:?}");
    assert!(
        stats.largest > 1,
        "no two declarations shared a commit: {stats:?}"
    );
    assert!(stats.batches < 208, "{stats:?}");
    assert_eq!(stats.fallbacks, 0, "{stats:?}");
    // One audit entry per declaration, written in its transaction.
    let audited = app
        .state
        .store
        .count_raw("SELECT COUNT(*) FROM audit_log WHERE entity_type = 'declaration' AND action = 'submit'")
        .await
        .unwrap();
    assert_eq!(audited, 80 + 128);
    // Every acknowledged declaration is recorded with the answer it was given.
    for (i, (_, a)) in one.iter().enumerate() {
        let (s, g) = app
            .call(
                "GET",
                &format!("/api/v1/declarations/ONE-{i}"),
                Some(&customs),
                None,
            )
            .await;
        assert_eq!((s.as_u16(), &g["answer"]), (200, a));
    }
    ledgers_balance(app).await;
}

/// Eight identical sends at once: one is recorded (201), the others replay it (200), one draw.
/// Then utilisation per programme, line and month, as JSON and CSV.
async fn identical_sends_race_to_one_draw_and_utilisation_reports_it(app: &App) {
    allowance(app, "WVR-2020-000300", HOLDER, 100, 0).await;
    let customs = app.token(Role::Customs).to_owned();
    let body = declaration(
        "RACE-1",
        HOLDER,
        "2020-06-01T10:00",
        vec![line(1, "30", Some("WVR-2020-000300"))],
    );
    let sends = (0..8).map(|_| {
        let (body, customs) = (body.clone(), customs.clone());
        async move {
            app.call("POST", "/api/v1/declarations", Some(&customs), Some(&body))
                .await
        }
    });
    let got = futures_util::future::join_all(sends).await;
    let mut statuses: Vec<u16> = got.iter().map(|(s, _)| s.as_u16()).collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 200, 200, 201],
        "{got:?}"
    );
    assert!(got.iter().all(|(_, a)| a == &got[0].1));
    assert_eq!(used_g(app, "WVR-2020-000300").await, 30_000_000);
    let (s, _) = declare(
        app,
        &declaration(
            "RACE-2",
            HOLDER,
            "2020-07-02",
            vec![line(1, "20", Some("WVR-2020-000300"))],
        ),
    )
    .await;
    assert_eq!(s, 201);

    let (s, r) = app
        .call("GET", "/api/v1/reports/utilisation", Some(&customs), None)
        .await;
    assert_eq!(s, 200, "{r}");
    let items = r["items"].as_array().unwrap();
    let whole = items.iter().find(|u| u["month"].is_null()).unwrap();
    assert_eq!(
        (
            whole["granted_g"].as_i64(),
            whole["used_g"].as_i64(),
            whole["unused_g"].as_i64(),
            whole["expired_g"].as_i64()
        ),
        (
            Some(100_000_000),
            Some(50_000_000),
            Some(50_000_000),
            Some(50_000_000)
        ),
        "{r}"
    );
    assert!(whole["duty_forgone_fen"].as_i64().unwrap() > 0, "{r}");
    let months: Vec<(&str, i64)> = items
        .iter()
        .filter(|u| !u["month"].is_null())
        .map(|u| (u["month"].as_str().unwrap(), u["used_g"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        months,
        [("2020-06", 30_000_000), ("2020-07", 20_000_000)],
        "{r}"
    );
    let req = axum::http::Request::builder()
        .uri("/api/v1/reports/utilisation?format=csv")
        .header("authorization", format!("Bearer {customs}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(waiver_web::router(app.state.clone()), req)
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let csv = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(
        csv.starts_with(
            "programme,line,month,granted_kg,used_kg,unused_kg,expired_kg,duty_forgone_cny\n"
        ),
        "{csv}"
    );
    assert!(
        csv.contains("CN-2020-MKT,12019010,all,100000,50000,50000,50000,"),
        "{csv}"
    );
    assert!(
        csv.contains("CN-2020-MKT,12019010,2020-07,,20000,,,"),
        "{csv}"
    );
}

/// An appeal may lower the grant below what is already used: no new draw, but cancelling the
/// declaration still gives its quantity back.
async fn a_reversal_is_allowed_after_the_grant_was_lowered(app: &App) {
    allowance(app, "WVR-2020-000400", HOLDER, 100, 0).await;
    let (s, _) = declare(
        app,
        &declaration(
            "LOW-1",
            HOLDER,
            "2020-06-01",
            vec![line(1, "80", Some("WVR-2020-000400"))],
        ),
    )
    .await;
    assert_eq!(s, 201);
    app.state
        .store
        .execute_raw("UPDATE allowances SET granted_g = 50000000 WHERE number = 'WVR-2020-000400'")
        .await
        .unwrap();
    let (_, a) = declare(
        app,
        &declaration(
            "LOW-2",
            HOLDER,
            "2020-06-01",
            vec![line(1, "1", Some("WVR-2020-000400"))],
        ),
    )
    .await;
    assert!(
        a["lines"][0]["notes"][0]
            .as_str()
            .unwrap()
            .contains("exhausted"),
        "{a}"
    );
    let (s, c) = app
        .call(
            "POST",
            "/api/v1/declarations/LOW-1/cancel",
            Some(app.token(Role::Customs)),
            None,
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(used_g(app, "WVR-2020-000400").await, 0);
    ledgers_balance(app).await;
}

/// The application's monthly plan (2020-04 and 2020-05, 30 000 t each) against imports and the
/// holder's purchase reports.
async fn the_purchase_plan_is_compared_with_imports_per_month(app: &App) {
    allowance(app, "WVR-2020-000500", HOLDER, 60_000, 100_000).await;
    let spec = common::application_json(HOLDER, "12019010");
    app.state
        .store
        .execute_raw(&format!(
            "UPDATE applications SET spec = '{spec}' WHERE number = 'APP-WVR-2020-000500'"
        ))
        .await
        .unwrap();
    for (n, at, t) in [
        ("P-1", "2020-04-03", "20000"),
        ("P-2", "2020-04-20", "15000"),
        ("P-3", "2020-06-01", "5000"),
    ] {
        let (s, a) = declare(
            app,
            &declaration(n, HOLDER, at, vec![line(1, t, Some("WVR-2020-000500"))]),
        )
        .await;
        assert_eq!(s, 201, "{a}");
    }
    // The holder reports April's purchases, once; customs may not file for it.
    let report = r#"{"month":"2020-04","quantity":"34000","price":"398.50","currency":"USD"}"#;
    let uri = "/api/v1/allowances/WVR-2020-000500/purchase-reports";
    let (s, r) = app
        .call("POST", uri, Some(app.token(Role::Applicant)), Some(report))
        .await;
    assert_eq!(
        (s.as_u16(), r["quantity"].as_str(), r["price"].as_str()),
        (201, Some("34000"), Some("398.50")),
        "{r}"
    );
    let (s, r) = app
        .call("POST", uri, Some(app.token(Role::Applicant)), Some(report))
        .await;
    assert_eq!(
        (s.as_u16(), r["error"]["code"].as_str()),
        (409, Some("report_exists")),
        "{r}"
    );
    let (s, _) = app
        .call("POST", uri, Some(app.token(Role::Customs)), Some(report))
        .await;
    assert_eq!(s, 403);
    let bad = r#"{"month":"2020-13","quantity":"1","price":"1","currency":"USD"}"#;
    let (s, r) = app
        .call("POST", uri, Some(app.token(Role::Applicant)), Some(bad))
        .await;
    assert_eq!(
        (s.as_u16(), r["error"]["field"].as_str()),
        (422, Some("month")),
        "{r}"
    );
    let (s, r) = app
        .call("GET", uri, Some(app.token(Role::Customs)), None)
        .await;
    assert_eq!(
        (s.as_u16(), r["items"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{r}"
    );
    let (s, p) = app
        .call(
            "GET",
            "/api/v1/allowances/WVR-2020-000500/plan",
            Some(app.token(Role::Applicant)),
            None,
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(
        p["months"],
        json!([
            {"month": "2020-04", "planned": "30000", "imported": "35000", "difference": "5000", "reported": "34000"},
            {"month": "2020-05", "planned": "30000", "imported": "0", "difference": "-30000", "reported": null},
            {"month": "2020-06", "planned": "0", "imported": "5000", "difference": "5000", "reported": null}
        ])
    );
    let req = axum::http::Request::builder()
        .uri("/api/v1/allowances/WVR-2020-000500/plan?format=csv")
        .header(
            "authorization",
            format!("Bearer {}", app.token(Role::Officer)),
        )
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(waiver_web::router(app.state.clone()), req)
        .await
        .unwrap();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(
        String::from_utf8(bytes.to_vec()).unwrap(),
        "allowance,unit,month,planned,imported,difference,reported\n\
         WVR-2020-000500,t,2020-04,30000,35000,5000,34000\n\
         WVR-2020-000500,t,2020-05,30000,0,-30000,\n\
         WVR-2020-000500,t,2020-06,0,5000,5000,\n"
    );
}

fn beef(n: u32, tonnes: &str, origin: &str) -> Value {
    json!({"line": n, "code": "02023000", "origin": origin, "quantity": tonnes, "unit": "t",
        "customs_value": "50000", "currency": "USD"})
}

async fn quota(app: &App, who: Role) -> Value {
    let (s, q) = app
        .call(
            "GET",
            "/api/v1/quotas/SG-2026-beef/US/2026",
            (who != Role::Expert).then(|| app.token(who)),
            None,
        )
        .await;
    assert_eq!(s, 200, "{q}");
    q
}

fn has_measure(line: &Value, id: &str) -> bool {
    line["measures"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == id)
}

async fn the_country_quota_is_drawn_by_origin_and_line_with_notices_and_the_surcharge(app: &App) {
    let officer = app.token(Role::Officer).to_owned();
    let create = |body: &'static str| {
        let officer = officer.clone();
        async move {
            app.call("POST", "/api/v1/quotas", Some(&officer), Some(body))
                .await
        }
    };
    // Only a conditional measure, its origin and a year it covers make a quota.
    for (body, field) in [
        (
            r#"{"measure":"L301-1-beef","origin":"US","year":2026,"quota":"100","unit":"t"}"#,
            "measure",
        ),
        (
            r#"{"measure":"SG-2026-beef","origin":"US","year":2031,"quota":"100","unit":"t"}"#,
            "year",
        ),
        (
            r#"{"measure":"SG-2026-beef","origin":"USA","year":2026,"quota":"100","unit":"t"}"#,
            "origin",
        ),
        (
            r#"{"measure":"SG-2026-beef","origin":"US","year":2026,"quota":"-5","unit":"t"}"#,
            "quota",
        ),
    ] {
        let (s, e) = create(body).await;
        assert_eq!(
            (s.as_u16(), e["error"]["field"].as_str()),
            (422, Some(field)),
            "{e}"
        );
    }
    let (s, q) =
        create(r#"{"measure":"SG-2026-beef","origin":"US","year":2026,"quota":"100","unit":"t"}"#)
            .await;
    assert_eq!(s, 201, "{q}");
    assert_eq!(
        (
            q["id"].as_str(),
            q["quota_t"].as_str(),
            q["surcharge"].as_str()
        ),
        (Some("SG-2026-beef/US/2026"), Some("100"), Some("55%"))
    );
    assert_eq!(q["goods"], json!(["0201", "0202"]));
    let (s, _) =
        create(r#"{"measure":"SG-2026-beef","origin":"US","year":2026,"quota":"100","unit":"t"}"#)
            .await;
    assert_eq!(s, 409);

    // 45 t of U.S. beef count; Australian beef and U.S. soybeans do not.
    let (s, a) = declare(
        app,
        &declaration(
            "Q-1",
            HOLDER,
            "2026-03-01",
            vec![
                beef(1, "45", "US"),
                beef(2, "30", "AU"),
                line(3, "500", None),
            ],
        ),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let notes = a["lines"][0]["notes"].to_string();
    assert!(
        notes.contains("counts against country quota SG-2026-beef/US/2026"),
        "{a}"
    );
    assert!(
        !a["lines"][1]["notes"].to_string().contains("country quota"),
        "{a}"
    );
    assert!(!has_measure(&a["lines"][0], "SG-2026-beef"), "{a}");
    let q = quota(app, Role::Analyst).await;
    assert_eq!(
        (q["used_t"].as_str(), q["notices"].as_array().map(Vec::len)),
        (Some("45"), Some(0)),
        "{q}"
    );

    let (s, _) = declare(
        app,
        &declaration("Q-2", HOLDER, "2026-03-02", vec![beef(1, "10", "US")]),
    )
    .await;
    assert_eq!(s, 201);
    let q = quota(app, Role::Customs).await;
    assert_eq!(q["notices"][0]["threshold_pct"], 50, "{q}");
    assert_eq!(q["used_pct"], "55.00");

    // Eight clients at once (the group-commit writer decides them against the quota in memory).
    let mut set = tokio::task::JoinSet::new();
    for i in 0..8 {
        let app_state = app.state.clone();
        let token = app.token(Role::Customs).to_owned();
        set.spawn(async move {
            let body = declaration(
                &format!("Q-C{i}"),
                HOLDER,
                "2026-03-10T09:00",
                vec![beef(1, "5", "US")],
            );
            let req = axum::http::Request::builder()
                .method("POST")
                .uri("/api/v1/declarations")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            tower::ServiceExt::oneshot(waiver_web::router(app_state), req)
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    while let Some(r) = set.join_next().await {
        assert_eq!(r.unwrap(), 201);
    }
    let q = quota(app, Role::Officer).await;
    assert_eq!(
        (q["used_t"].as_str(), q["reached_at"].is_null()),
        (Some("95"), true),
        "{q}"
    );
    assert_eq!(q["notices"][1]["threshold_pct"], 80, "{q}");

    // The draw that reaches the quota dates it; the layer applies from the third day after.
    let (s, a) = declare(
        app,
        &declaration("Q-4", HOLDER, "2026-03-10T16:00", vec![beef(1, "10", "US")]),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let q = quota(app, Role::Officer).await;
    assert_eq!(q["reached_at"], "2026-03-10T16:00:00+08:00", "{q}");
    assert_eq!(q["surcharge_from"], "2026-03-13T00:00:00+08:00", "{q}");
    assert_eq!(q["notices"][2]["threshold_pct"], 100, "{q}");
    assert_eq!(q["remaining_t"], "0");
    let (_, before) = declare(
        app,
        &declaration("Q-5", HOLDER, "2026-03-12T23:59", vec![beef(1, "1", "US")]),
    )
    .await;
    assert!(
        !has_measure(&before["lines"][0], "SG-2026-beef"),
        "{before}"
    );
    assert!(
        before["lines"][0]["notes"]
            .to_string()
            .contains("not yet to this one"),
        "{before}"
    );
    let (_, after) = declare(
        app,
        &declaration("Q-6", HOLDER, "2026-03-13", vec![beef(1, "1", "US")]),
    )
    .await;
    assert!(has_measure(&after["lines"][0], "SG-2026-beef"), "{after}");
    // 1 t at USD 50 000 ⇒ the 55% layer adds to the additional duty the day before had.
    let add = |v: &Value| {
        v["lines"][0]["additional_duty_cny"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    assert!(
        add(&after) > add(&before) + 50_000.0 * 6.0 * 0.55,
        "{before} {after}"
    );
    let (_, au) = declare(
        app,
        &declaration("Q-7", HOLDER, "2026-03-20", vec![beef(1, "1", "AU")]),
    )
    .await;
    assert!(!has_measure(&au["lines"][0], "SG-2026-beef"), "{au}");

    // Cancelling the declaration that reached it takes the quota back under: no longer reached.
    let (s, c) = app
        .call(
            "POST",
            "/api/v1/declarations/Q-4/cancel",
            Some(app.token(Role::Customs)),
            None,
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let q = quota(app, Role::Analyst).await;
    assert_eq!(
        (q["used_t"].as_str(), q["reached_at"].is_null()),
        (Some("97"), true),
        "{q}"
    );
    let kinds: Vec<&str> = q["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"grant"));
    assert_eq!(kinds.last(), Some(&"reversal"));
    assert_eq!(kinds.iter().filter(|k| **k == "draw").count(), 13, "{q}");
    // The public sees use and notices, not the ledger (its causes name declarations).
    let public = quota(app, Role::Expert).await;
    assert!(public.get("entries").is_none(), "{public}");
    let (s, list) = app.call("GET", "/api/v1/quotas", None, None).await;
    assert_eq!(
        (s.as_u16(), list["items"][0]["used_t"].as_str()),
        (200, Some("97")),
        "{list}"
    );

    // An amendment moves the quota with it.
    let (s, a) = app
        .call(
            "POST",
            "/api/v1/declarations/Q-2/amend",
            Some(app.token(Role::Customs)),
            Some(&declaration(
                "Q-2",
                HOLDER,
                "2026-03-02",
                vec![beef(1, "2", "US")],
            )),
        )
        .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(quota(app, Role::Analyst).await["used_t"], "89");

    // Imports counted outside Waiver reach it again, dated; only inside the quota's year.
    let imports = |body: &'static str| {
        let officer = officer.clone();
        async move {
            app.call(
                "POST",
                "/api/v1/quotas/SG-2026-beef/US/2026/imports",
                Some(&officer),
                Some(body),
            )
            .await
        }
    };
    let (s, e) = imports(
        r#"{"quantity":"20","unit":"t","declared_at":"2027-01-02","source":"customs statistics"}"#,
    )
    .await;
    assert_eq!(
        (s.as_u16(), e["error"]["field"].as_str()),
        (422, Some("declared_at")),
        "{e}"
    );
    let (s, q) = imports(r#"{"quantity":"20","unit":"t","declared_at":"2026-04-30","source":"customs statistics, April"}"#).await;
    assert_eq!(s, 201, "{q}");
    assert_eq!(
        (q["used_t"].as_str(), q["reached_at"].as_str()),
        (Some("109"), Some("2026-04-30T00:00:00+08:00")),
        "{q}"
    );

    for c in app.state.store.quota_checks().await.unwrap() {
        assert_eq!(c.used_g, c.entries_used_g, "{c:?}");
    }
    ledgers_balance(app).await;
}

/// The imports per month read the allowance's draw entries (the lines are not indexed by
/// allowance): an amendment moves its grams to the new month, a cancelled declaration counts
/// nothing, and a refused claim (nothing drawn) lists no month.
async fn imports_per_month_follow_amendments_and_cancellations(app: &App) {
    allowance(app, "WVR-2020-000600", HOLDER, 60_000, 0).await;
    app.add_enterprise("3200JY0002", "Jiayue (fictional)", None)
        .await;
    let customs = app.token(Role::Customs);
    for (n, importer, at, t) in [
        ("M-1", HOLDER, "2020-04-03", "100"),
        ("M-2", HOLDER, "2020-05-03", "200"),
        ("M-3", HOLDER, "2020-06-03", "300"),
        ("M-4", "3200JY0002", "2020-09-03", "400"),
    ] {
        let (s, a) = declare(
            app,
            &declaration(
                n,
                importer,
                at,
                vec![
                    line(1, t, Some("WVR-2020-000600")),
                    line(2, "1", Some("WVR-2020-000600")),
                ],
            ),
        )
        .await;
        assert_eq!(s, 201, "{a}");
    }
    let amended = declaration(
        "M-2",
        HOLDER,
        "2020-07-01",
        vec![line(1, "250", Some("WVR-2020-000600"))],
    );
    let (s, am) = app
        .call(
            "POST",
            "/api/v1/declarations/M-2/amend",
            Some(customs),
            Some(&amended),
        )
        .await;
    assert_eq!(s, 200, "{am}");
    let (s, c) = app
        .call(
            "POST",
            "/api/v1/declarations/M-3/cancel",
            Some(customs),
            None,
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let imports = app
        .state
        .store
        .imports_by_month("WVR-2020-000600")
        .await
        .unwrap();
    assert_eq!(
        imports.into_iter().collect::<Vec<_>>(),
        vec![
            ("2020-04".to_owned(), 101_000_000),
            ("2020-07".to_owned(), 250_000_000),
        ]
    );
    assert_eq!(used_g(app, "WVR-2020-000600").await, 351_000_000);
    ledgers_balance(app).await;
}

/// A declaration recorded before migration 0014 (request and answer as JSON text) still replays
/// its original answer byte for byte after the migration, and still refuses different content.
async fn a_declaration_stored_as_text_before_0014_replays_after_it(app: &App) {
    let store = &app.state.store;
    allowance(app, "WVR-2020-000700", HOLDER, 10, 0).await;
    let body = declaration(
        "DEC-OLD",
        HOLDER,
        "2020-06-01",
        vec![line(1, "2", Some("WVR-2020-000700"))],
    );
    let (s, first) = declare(app, &body).await;
    assert_eq!(s, 201, "{first}");
    let before = store.declaration("DEC-OLD").await.unwrap().unwrap();

    // Put the row back in its pre-0014 form (text columns holding JSON), then run 0014 on it.
    let q = |t: &str| format!("'{}'", t.replace('\'', "''"));
    let (undo, migration) = match store.dialect() {
        waiver_store::Dialect::Sqlite => (
            format!(
                "UPDATE declarations SET request = {}, answer = {} WHERE number = 'DEC-OLD'",
                q(&before.request),
                q(&before.answer)
            ),
            include_str!("../../waiver-store/migrations/sqlite/0014_declarations_stored_json.sql"),
        ),
        waiver_store::Dialect::Postgres => (
            format!(
                "ALTER TABLE declarations ALTER COLUMN request TYPE TEXT USING '', \
                 ALTER COLUMN answer TYPE TEXT USING ''; \
                 UPDATE declarations SET request = {}, answer = {} WHERE number = 'DEC-OLD'",
                q(&before.request),
                q(&before.answer)
            ),
            include_str!(
                "../../waiver-store/migrations/postgres/0014_declarations_stored_json.sql"
            ),
        ),
    };
    let migration: String = migration
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    for sql in [undo.as_str(), migration.as_str()] {
        for stmt in sql.split(';').filter(|x| !x.trim().is_empty()) {
            store.execute_raw(stmt).await.unwrap();
        }
    }
    let after = store.declaration("DEC-OLD").await.unwrap().unwrap();
    assert_eq!(
        (&after.request, &after.answer),
        (&before.request, &before.answer)
    );

    let (s, again) = declare(app, &body).await;
    assert_eq!((s, &again), (200, &first));
    let other = declaration("DEC-OLD", HOLDER, "2020-06-01", vec![line(1, "1", None)]);
    let (s, e) = declare(app, &other).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("declaration_exists")),
        "{e}"
    );
    assert_eq!(used_g(app, "WVR-2020-000700").await, 2_000_000);
    ledgers_balance(app).await;
}

/// Guards the page saving of 0014: a typical declaration's stored request and answer stay a
/// small fraction of their text, so that many rows share a 4 KiB SQLite page.
async fn stored_declarations_are_compact_enough_to_share_pages(app: &App) {
    allowance(app, "WVR-2020-000701", HOLDER, 10, 0).await;
    let body = declaration(
        "DEC-SMALL",
        HOLDER,
        "2020-06-01",
        vec![line(1, "2", Some("WVR-2020-000701"))],
    );
    let (s, a) = declare(app, &body).await;
    assert_eq!(s, 201, "{a}");
    let text = app
        .state
        .store
        .declaration("DEC-SMALL")
        .await
        .unwrap()
        .unwrap();
    let size = match app.state.store.dialect() {
        waiver_store::Dialect::Sqlite => "length",
        waiver_store::Dialect::Postgres => "octet_length",
    };
    let stored = app
        .state
        .store
        .count_raw(&format!(
            "SELECT CAST(SUM({size}(request) + {size}(answer)) AS BIGINT) FROM declarations WHERE number = 'DEC-SMALL'"
        ))
        .await
        .unwrap();
    let plain = (text.request.len() + text.answer.len()) as i64;
    assert!(
        stored * 3 < plain,
        "stored {stored} bytes for {plain} bytes of JSON"
    );
}

/// Regression: a quota created after some of its year's declarations were recorded did not count
/// them, so its use started at zero and its notices came late.
async fn a_quota_created_mid_year_counts_the_declarations_already_recorded(app: &App) {
    // Before any quota: 40 t of U.S. beef in March, 30 t in April (one line of it Australian,
    // which does not count), 20 t cancelled, and 2025 beef (another year).
    for (number, at, lines) in [
        ("E-1", "2026-03-02", vec![beef(1, "40", "US")]),
        (
            "E-2",
            "2026-04-02",
            vec![beef(1, "30", "US"), beef(2, "25", "AU")],
        ),
        ("E-3", "2026-04-03", vec![beef(1, "20", "US")]),
        ("E-4", "2025-12-30", vec![beef(1, "50", "US")]),
    ] {
        let (s, a) = declare(app, &declaration(number, HOLDER, at, lines)).await;
        assert_eq!(s, 201, "{a}");
    }
    let (s, c) = app
        .call(
            "POST",
            "/api/v1/declarations/E-3/cancel",
            Some(app.token(Role::Customs)),
            None,
        )
        .await;
    assert_eq!(s, 200, "{c}");

    let (s, q) = app
        .call(
            "POST",
            "/api/v1/quotas",
            Some(app.token(Role::Officer)),
            Some(
                r#"{"measure":"SG-2026-beef","origin":"US","year":2026,"quota":"100","unit":"t"}"#,
            ),
        )
        .await;
    assert_eq!(s, 201, "{q}");
    let q = quota(app, Role::Analyst).await;
    let draws: Vec<(&str, &str)> = q["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "draw")
        .map(|e| {
            (
                e["quantity_t"].as_str().unwrap_or("?"),
                e["cause"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(q["used_t"].as_str(), Some("70"), "{q}");
    assert_eq!(draws.len(), 2, "{q}");
    assert!(
        draws[0].1.contains("E-1") && draws[1].1.contains("E-2"),
        "{q}"
    );
    // 70% used: the 50% notice was given, dated by the declaration that passed it.
    let notices = q["notices"].as_array().unwrap();
    assert_eq!(notices.len(), 1, "{q}");
    assert_eq!(notices[0]["threshold_pct"], 50, "{q}");

    // The counted declarations give their quantity back like any other draw, and later ones
    // draw as usual.
    let (s, c) = app
        .call(
            "POST",
            "/api/v1/declarations/E-1/cancel",
            Some(app.token(Role::Customs)),
            None,
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let (s, a) = declare(
        app,
        &declaration("E-5", HOLDER, "2026-05-02", vec![beef(1, "5", "US")]),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let q = quota(app, Role::Analyst).await;
    assert_eq!(q["used_t"].as_str(), Some("35"), "{q}");
}

/// A quota created while declarations it covers are being recorded counts each exactly once:
/// either while it is created or by the declaration's own draw.
async fn a_quota_created_under_load_counts_every_declaration_once(app: &App) {
    let customs = app.token(Role::Customs).to_owned();
    let officer = app.token(Role::Officer).to_owned();
    let declarations = (0..64).map(|i| {
        let body = declaration(
            &format!("L-{i}"),
            HOLDER,
            "2026-06-01",
            vec![beef(1, "1", "US")],
        );
        let customs = customs.clone();
        async move {
            app.call("POST", "/api/v1/declarations", Some(&customs), Some(&body))
                .await
        }
    });
    let create = async {
        tokio::task::yield_now().await;
        app.call(
            "POST",
            "/api/v1/quotas",
            Some(&officer),
            Some(
                r#"{"measure":"SG-2026-beef","origin":"US","year":2026,"quota":"100","unit":"t"}"#,
            ),
        )
        .await
    };
    let (answers, (s, q)) =
        futures_util::future::join(futures_util::future::join_all(declarations), create).await;
    assert_eq!(s, 201, "{q}");
    for (s, a) in &answers {
        assert_eq!(s.as_u16(), 201, "{a}");
    }
    let q = quota(app, Role::Analyst).await;
    let draws = q["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "draw")
        .count();
    assert_eq!((q["used_t"].as_str(), draws), (Some("64"), 64), "{q}");
}

both!(
    a_quota_created_under_load_counts_every_declaration_once,
    a_quota_created_mid_year_counts_the_declarations_already_recorded,
    a_declaration_stored_as_text_before_0014_replays_after_it,
    stored_declarations_are_compact_enough_to_share_pages,
    imports_per_month_follow_amendments_and_cancellations,
    the_country_quota_is_drawn_by_origin_and_line_with_notices_and_the_surcharge,
    the_purchase_plan_is_compared_with_imports_per_month,
    a_reversal_is_allowed_after_the_grant_was_lowered,
    identical_sends_race_to_one_draw_and_utilisation_reports_it,
    a_declaration_draws_once_splits_notes_refusals_and_cancels,
    de_minimis_waives_a_small_tax_per_declaration,
    concurrent_clients_never_overdraw,
);
