//! The OpenAPI document, served at `/api/v1/openapi.json` and locked by a snapshot test.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Waiver API", version = "1", description = "Tariff exclusions: programmes, applications, allowances, declarations. Errors are one envelope: {\"error\":{\"code\",\"message\",\"field\"}}."),
    paths(crate::api::healthz, crate::api::list_programmes, crate::api::get_programme, crate::api::create_programme, crate::api::me, crate::api::audit_trail,
        crate::applications::file, crate::applications::list, crate::applications::get, crate::applications::amend,
        crate::applications::submit, crate::applications::withdraw, crate::applications::screen,
        crate::attachments::upload, crate::attachments::list, crate::attachments::download,
        crate::session::sign_in, crate::session::sign_out, crate::api::get_enterprise,
        crate::review::experts, crate::review::declare_interest, crate::review::assign, crate::review::assignments, crate::review::my_assignments,
        crate::review::declare_conflict, crate::review::overdue, crate::review::escalate, crate::review::score, crate::review::scores,
        crate::review::review, crate::review::record_contact, crate::review::contacts, crate::review::decide, crate::review::get_decision,
        crate::review::countersign, crate::review::appeal, crate::review::get_appeal, crate::review::reconsider, crate::review::allowances,
        crate::review::allowance, crate::review::policy_changes, crate::review::publish_policy_change, crate::review::notifications,
        crate::review::register_exclusions, crate::review::register_exclusions_csv, crate::review::register_decisions,
        crate::review::register_decisions_csv, crate::review::sla, crate::review::assess_line,
        crate::declarations::submit, crate::declarations::get, crate::declarations::cancel, crate::declarations::amend, crate::declarations::utilisation, crate::declarations::plan,
        crate::declarations::file_purchase_report, crate::declarations::purchase_reports,
        crate::scenarios::list, crate::scenarios::create, crate::scenarios::get, crate::scenarios::edit, crate::scenarios::archive,
        crate::scenarios::tariff, crate::scenarios::replay_lines, crate::scenarios::replay_recorded, crate::scenarios::landed_cost_api, crate::scenarios::aid_api,
        crate::refunds::generate, crate::refunds::list, crate::refunds::settle,
        crate::quotas::list, crate::quotas::get, crate::quotas::create, crate::quotas::record_imports,
        crate::accounts::list, crate::accounts::revoke, crate::accounts::disable, crate::accounts::enable),
    components(schemas(crate::error::ErrorEnvelope, crate::error::ErrorBody, crate::api::ProgrammeOut, crate::api::ProgrammeList, crate::api::Health,
        crate::applications::ApplicationList, crate::applications::Screening, crate::session::SignIn, crate::api::EnterpriseOut,
        crate::review::InterestIn, crate::review::AssignIn, crate::review::ConflictIn, crate::review::ReviewOut, crate::review::AllowanceList,
        crate::review::ExclusionRegister, crate::review::DecisionRegister, crate::review::AssessIn, crate::review::AssessOut,
        crate::declarations::DeclarationIn, crate::declarations::DeclarationLineIn, crate::declarations::DeclarationOut, crate::declarations::DeclarationLineOut,
        crate::declarations::AllowanceRef, crate::declarations::DeclarationView, crate::declarations::UtilisationReport, crate::declarations::PlanReport, crate::declarations::PlanRow,
        crate::declarations::PurchaseReportIn, crate::declarations::PurchaseReportOut, crate::declarations::PurchaseReportList,
        crate::scenarios::ScenarioList, crate::scenarios::ScenarioOut, crate::scenarios::TariffCompare, crate::scenarios::ReplayIn, crate::scenarios::ReplayLineIn,
        crate::scenarios::ReplayOut, crate::scenarios::QuoteIn, crate::scenarios::LandedIn, crate::scenarios::LandedRow, crate::scenarios::LandedOut, crate::scenarios::AidOut,
        crate::refunds::GenerateOut, crate::refunds::RefundOut, crate::refunds::RefundList,
        crate::quotas::QuotaOut, crate::quotas::QuotaList, crate::quotas::QuotaNoticeOut, crate::quotas::QuotaEntryOut,
        crate::quotas::QuotaIn, crate::quotas::ImportsIn,
        crate::accounts::TokenOut, crate::accounts::TokenList, crate::accounts::UserStateOut)),
    modifiers(&Bearer)
)]
pub struct ApiDoc;

struct Bearer;
impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
