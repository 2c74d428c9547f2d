//! Waiver's HTTP layer (axum): the web interface ([`ui`]), the JSON API under `/api/v1`, its
//! OpenAPI document at `/api/v1/openapi.json`, `/healthz` and `/metrics`.
//!
//! Architecture invariant: handlers parse input into domain types, ask [`auth::authorize`]
//! whether the caller may act (deny by default), call the store, and answer either a JSON body
//! or the one error envelope ([`error::ApiError`]). No SQL and no duty rules live here.

pub mod accounts;
pub mod api;
pub mod applications;
pub mod attachments;
pub mod auth;
pub mod declarations;
pub mod error;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod plan;
pub mod quotas;
pub mod refunds;
pub mod reports;
pub mod review;
pub mod scenarios;
pub mod session;
pub mod ui;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use waiver_domain::Schedule;
use waiver_store::Store;

/// The largest request body accepted (JSON; attachments have their own limit).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub schedule: Arc<Schedule>,
    pub metrics: Arc<metrics::Metrics>,
    pub sign_in_limiter: Arc<limits::SignInLimiter>,
}

impl AppState {
    pub fn new(store: Store, schedule: Schedule) -> AppState {
        AppState {
            store,
            schedule: Arc::new(schedule),
            metrics: Arc::new(metrics::Metrics::default()),
            sign_in_limiter: Arc::new(limits::SignInLimiter::default()),
        }
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route(
            "/programmes",
            get(api::list_programmes).post(api::create_programme),
        )
        .route("/programmes/{id}", get(api::get_programme))
        .route(
            "/applications",
            get(applications::list).post(applications::file),
        )
        .route(
            "/applications/{number}",
            get(applications::get).put(applications::amend),
        )
        .route("/applications/{number}/submit", post(applications::submit))
        .route(
            "/applications/{number}/withdraw",
            post(applications::withdraw),
        )
        .route("/applications/{number}/screen", post(applications::screen))
        .route(
            "/applications/{number}/attachments",
            get(attachments::list)
                .post(attachments::upload)
                .layer(DefaultBodyLimit::max(
                    waiver_store::sessions::MAX_ATTACHMENT_BYTES,
                )),
        )
        .route(
            "/applications/{number}/attachments/{id}",
            get(attachments::download),
        )
        .route("/applications/{number}/assign", post(review::assign))
        .route(
            "/applications/{number}/assignments",
            get(review::assignments),
        )
        .route(
            "/applications/{number}/conflict",
            post(review::declare_conflict),
        )
        .route(
            "/applications/{number}/scores",
            get(review::scores).post(review::score),
        )
        .route("/applications/{number}/review", get(review::review))
        .route(
            "/applications/{number}/contacts",
            get(review::contacts).post(review::record_contact),
        )
        .route(
            "/applications/{number}/decision",
            get(review::get_decision).post(review::decide),
        )
        .route(
            "/applications/{number}/decision/countersign",
            post(review::countersign),
        )
        .route(
            "/applications/{number}/appeal",
            get(review::get_appeal).post(review::appeal),
        )
        .route(
            "/applications/{number}/reconsider",
            post(review::reconsider),
        )
        .route("/applications/aid", get(scenarios::aid_api))
        .route("/scenarios", get(scenarios::list).post(scenarios::create))
        .route(
            "/scenarios/{id}",
            get(scenarios::get)
                .put(scenarios::edit)
                .delete(scenarios::archive),
        )
        .route("/scenarios/{id}/tariff", get(scenarios::tariff))
        .route(
            "/scenarios/{id}/replay",
            post(scenarios::replay_lines).get(scenarios::replay_recorded),
        )
        .route("/landed-cost", post(scenarios::landed_cost_api))
        .route("/experts", get(review::experts))
        .route("/me/interests", post(review::declare_interest))
        .route("/assignments", get(review::my_assignments))
        .route("/reviews/overdue", get(review::overdue))
        .route("/reviews/escalate", post(review::escalate))
        .route("/allowances", get(review::allowances))
        .route("/allowances/{number}", get(review::allowance))
        .route("/allowances/{number}/plan", get(declarations::plan))
        .route(
            "/allowances/{number}/purchase-reports",
            get(declarations::purchase_reports).post(declarations::file_purchase_report),
        )
        .route(
            "/policy-changes",
            get(review::policy_changes).post(review::publish_policy_change),
        )
        .route("/notifications", get(review::notifications))
        .route("/register/exclusions", get(review::register_exclusions))
        .route(
            "/register/exclusions.csv",
            get(review::register_exclusions_csv),
        )
        .route("/register/decisions", get(review::register_decisions))
        .route(
            "/register/decisions.csv",
            get(review::register_decisions_csv),
        )
        .route("/programmes/{id}/sla", get(review::sla))
        .route("/assess", post(review::assess_line))
        .route("/declarations", post(declarations::submit))
        .route("/declarations/{number}", get(declarations::get))
        .route("/declarations/{number}/cancel", post(declarations::cancel))
        .route("/declarations/{number}/amend", post(declarations::amend))
        .route("/reports/utilisation", get(declarations::utilisation))
        .route("/quotas", get(quotas::list).post(quotas::create))
        .route("/quotas/{measure}/{origin}/{year}", get(quotas::get))
        .route(
            "/quotas/{measure}/{origin}/{year}/imports",
            post(quotas::record_imports),
        )
        .route("/refunds", get(refunds::list))
        .route("/refunds/generate", post(refunds::generate))
        .route("/refunds/{id}/settle", post(refunds::settle))
        .route("/session", post(session::sign_in).delete(session::sign_out))
        .route("/enterprises/{code}", get(api::get_enterprise))
        .route("/me", get(api::me))
        .route("/tokens", get(accounts::list))
        .route("/tokens/{id}/revoke", post(accounts::revoke))
        .route("/users/{username}/disable", post(accounts::disable))
        .route("/users/{username}/enable", post(accounts::enable))
        .route("/audit/{entity_type}/{entity_id}", get(api::audit_trail))
        .route("/openapi.json", get(openapi::document))
        .fallback(api::not_found);
    Router::new()
        .merge(ui::routes())
        .nest("/api/v1", api)
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(metrics::render))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(ui::security_headers))
        .with_state(state)
}

/// Serves until Ctrl-C or SIGTERM.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown())
        .await
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
