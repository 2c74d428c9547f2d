//! The OpenAPI document, served at `/api/v1/openapi.json` and locked by a snapshot test.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Waiver API", version = "1", description = "Tariff exclusions: programmes, applications, allowances. Errors are one envelope: {\"error\":{\"code\",\"message\",\"field\"}}."),
    paths(crate::api::healthz, crate::api::list_programmes, crate::api::get_programme, crate::api::create_programme, crate::api::me, crate::api::audit_trail,
        crate::applications::file, crate::applications::list, crate::applications::get, crate::applications::amend,
        crate::applications::submit, crate::applications::withdraw, crate::applications::screen,
        crate::attachments::upload, crate::attachments::list, crate::attachments::download,
        crate::session::sign_in, crate::session::sign_out, crate::api::get_enterprise),
    components(schemas(crate::error::ErrorEnvelope, crate::error::ErrorBody, crate::api::ProgrammeOut, crate::api::ProgrammeList, crate::api::Health,
        crate::applications::ApplicationList, crate::applications::Screening, crate::session::SignIn, crate::api::EnterpriseOut)),
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
