//! Shared set-up of the API tests: a router over a fresh database with one user (and API
//! token) per role, and request helpers.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use waiver_domain::accounts::{Role, Username};
use waiver_domain::schedule_csv::demo_schedule;
use waiver_domain::RegistrationCode;
use waiver_store::{Actor, NewEnterprise, NewUser};
use waiver_web::{router, AppState};

pub struct App {
    pub state: AppState,
    pub tokens: Vec<(Role, String)>,
    pub db: waiver_store::testing::TestDb,
}

pub async fn app(db: waiver_store::testing::TestDb) -> App {
    let store = db.store.clone();
    store.seed_programmes(&Actor::system()).await.unwrap();
    let e = NewEnterprise {
        registration_code: RegistrationCode::parse("3700HS0001").unwrap(),
        name_en: "Huasheng (fictional)".into(),
        name_zh: String::new(),
        parent_group: None,
        is_association: false,
    };
    store.create_enterprise(&Actor::system(), &e).await.unwrap();
    let mut tokens = Vec::new();
    for role in Role::ALL {
        let name = format!("user.{}", role.as_str());
        let u = NewUser {
            username: Username::parse(&name).unwrap(),
            display_name: name.clone(),
            role,
            enterprise: (role == Role::Applicant)
                .then(|| RegistrationCode::parse("3700HS0001").unwrap()),
            affiliation: None,
        };
        store
            .create_user(&Actor::system(), &u, "correct horse battery")
            .await
            .unwrap();
        tokens.push((
            role,
            store
                .create_token(&Actor::system(), &name, "test")
                .await
                .unwrap(),
        ));
    }
    App {
        state: AppState::new(store, demo_schedule().unwrap()),
        tokens,
        db,
    }
}

impl App {
    pub fn token(&self, role: Role) -> &str {
        &self.tokens.iter().find(|(r, _)| *r == role).unwrap().1
    }
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(body.map_or(Body::empty(), |b| Body::from(b.to_owned())))
            .unwrap();
        let resp = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

pub fn new_programme(id: &str) -> String {
    let mut spec = waiver_domain::programme::seed_programmes()
        .unwrap()
        .remove(2)
        .spec;
    spec.id = id.to_owned();
    serde_json::to_string(&spec).unwrap()
}

pub fn application_json(enterprise: &str, line: &str) -> String {
    serde_json::json!({
        "programme": "CN-2020-MKT",
        "enterprise": enterprise,
        "line": line,
        "quantity": "60000",
        "unit": "t",
        "value": "24000000",
        "currency": "USD",
        "contract": { "number": "HS-2020-017", "supplier": "Gulf Grain Exporters (fictional)", "signed_on": "2020-03-05", "quantity": "60000", "overfill_pct": "10" },
        "monthly_plan": [{ "month": "2020-04", "quantity": "30000" }, { "month": "2020-05", "quantity": "30000" }],
        "evidence": { "commercial_need": "crush margin", "contract_credibility": "signed", "plan_feasibility": "two cargoes" },
        "confidential": ["value"],
        "public_summary": "60 000 t for crushing"
    })
    .to_string()
}

impl App {
    /// Adds a user with an API token and returns the token.
    pub async fn add_user(
        &self,
        name: &str,
        role: Role,
        enterprise: Option<&str>,
        affiliation: Option<&str>,
    ) -> String {
        let store = &self.state.store;
        let u = NewUser {
            username: Username::parse(name).unwrap(),
            display_name: name.to_owned(),
            role,
            enterprise: enterprise.map(|e| RegistrationCode::parse(e).unwrap()),
            affiliation: affiliation.map(str::to_owned),
        };
        store
            .create_user(&Actor::system(), &u, "correct horse battery")
            .await
            .unwrap();
        store
            .create_token(&Actor::system(), name, "test")
            .await
            .unwrap()
    }

    /// Adds an enterprise.
    pub async fn add_enterprise(&self, code: &str, name: &str, group: Option<&str>) {
        let e = NewEnterprise {
            registration_code: RegistrationCode::parse(code).unwrap(),
            name_en: name.into(),
            name_zh: String::new(),
            parent_group: group.map(str::to_owned),
            is_association: false,
        };
        self.state
            .store
            .create_enterprise(&Actor::system(), &e)
            .await
            .unwrap();
    }
}

/// GETs a path anonymously and returns the body as text (CSV endpoints).
pub async fn raw_get(app: &App, uri: &str) -> String {
    let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
    let resp = router(app.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "GET {uri}");
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Runs each test function `f(&App)` named on SQLite and on PostgreSQL (skipped without
/// `DATABASE_URL`).
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::app(waiver_store::testing::sqlite().await).await;
                    super::$name(&app).await;
                    app.db.finish().await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = waiver_store::testing::postgres().await {
                        let app = $crate::common::app(db).await;
                        super::$name(&app).await;
                        app.db.finish().await;
                    }
                }
            )*
        }
    };
}
