//! Who is calling (bearer API tokens now; browser sessions arrive with the web interface) and
//! what they may do: one decision per action, deny by default.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use waiver_domain::accounts::Role;
use waiver_store::User;

use crate::error::ApiError;
use crate::AppState;

/// Everything an API caller may ask to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    ReadProgrammes,
    ManageProgrammes,
    ReadAuditTrail,
    ReadOwnAccount,
    FileApplications,
    ReadApplications,
    ScreenApplications,
    ReadEnterprises,
    /// Assign experts, see the pool, escalate overdue reviews.
    ManageReview,
    /// Score, declare interests and conflicts (experts, on their assignments).
    Review,
    ReadScores,
    /// Aggregates, assignments and the contact log of an application.
    ReadReviews,
    RecordContacts,
    Decide,
    ReadDecisions,
    Appeal,
    ReadAllowances,
    ManagePolicy,
    /// Published rules, exclusions and aggregate decisions: no login needed.
    ReadPublic,
    ReadSla,
    /// Submit, amend and cancel declarations (customs, or the customs system's API token).
    Declare,
    /// Read recorded declarations; importers are narrowed to their own.
    ReadDeclarations,
    /// Utilisation reports (aggregates per programme, line and month).
    ReadUtilisation,
    /// Replay recorded declarations line by line under a scenario (confidential lines).
    ReplayRecorded,
    /// File monthly purchase reports on one's own allowances.
    FilePurchaseReports,
    /// Read what-if scenarios and compute under them (public, as tariff look-ups are).
    ReadScenarios,
    /// Create, edit and archive scenarios.
    ManageScenarios,
    /// Generate refund claims from the published product exclusions (officers).
    GenerateRefunds,
    /// Read refund claims; importers are narrowed to their own.
    ReadRefunds,
    /// Mark refund claims settled (customs).
    SettleRefunds,
    /// Country quotas and their notices (public, as quota use is published).
    ReadQuotas,
    /// A country quota's ledger (its entries name declarations).
    ReadQuotaLedgers,
    /// Set country quotas and record imports counted outside Waiver.
    ManageQuotas,
    /// List and revoke API tokens, disable and enable users.
    ManageAccounts,
}

impl Action {
    pub const ALL: [Action; 4] = [
        Action::ReadProgrammes,
        Action::ManageProgrammes,
        Action::ReadAuditTrail,
        Action::ReadOwnAccount,
    ];
    fn describe(self) -> &'static str {
        match self {
            Action::ReadProgrammes => "read programmes",
            Action::ManageProgrammes => "set up programmes",
            Action::ReadAuditTrail => "read the audit trail",
            Action::ReadOwnAccount => "read an account",
            Action::FileApplications => "file or amend applications",
            Action::ReadApplications => "read applications",
            Action::ScreenApplications => "screen applications",
            Action::ReadEnterprises => "read enterprise records",
            Action::ManageReview => "assign experts or manage reviews",
            Action::Review => "review applications (experts only)",
            Action::ReadScores => "read score sheets",
            Action::ReadReviews => "read reviews and contact logs",
            Action::RecordContacts => "record contacts",
            Action::Decide => "decide applications",
            Action::ReadDecisions => "read decisions",
            Action::Appeal => "appeal decisions",
            Action::ReadAllowances => "read allowances",
            Action::ManagePolicy => "publish policy changes",
            Action::ReadPublic => "read the public register",
            Action::ReadSla => "read service-level figures",
            Action::Declare => "submit, amend or cancel declarations (customs only)",
            Action::ReadDeclarations => "read declarations",
            Action::ReadUtilisation => "read utilisation reports",
            Action::ReplayRecorded => "replay recorded declarations",
            Action::FilePurchaseReports => "file purchase reports (allowance holders only)",
            Action::ReadScenarios => "read scenarios",
            Action::ManageScenarios => {
                "create or edit scenarios (analysts, officers, administrators)"
            }
            Action::GenerateRefunds => "generate refund claims (officers only)",
            Action::ReadRefunds => "read refund claims",
            Action::SettleRefunds => "settle refund claims (customs only)",
            Action::ReadQuotas => "read country quotas",
            Action::ReadQuotaLedgers => "read quota ledgers",
            Action::ManageQuotas => "set country quotas (officers, administrators)",
            Action::ManageAccounts => "manage accounts and API tokens (administrators only)",
        }
    }
}

/// The policy: which roles (and anonymous callers, `None`) may do what.
pub fn permits(role: Option<Role>, action: Action) -> bool {
    match action {
        // Programmes are public information.
        Action::ReadProgrammes => true,
        Action::ManageProgrammes => role == Some(Role::Officer),
        Action::ReadAuditTrail => matches!(role, Some(Role::Officer | Role::Admin)),
        Action::ReadOwnAccount => role.is_some(),
        Action::FileApplications => role == Some(Role::Applicant),
        // Experts see only their assignments; the scope narrows it further per record.
        Action::ReadApplications => matches!(
            role,
            Some(Role::Applicant | Role::Expert | Role::Officer | Role::Admin)
        ),
        Action::ScreenApplications => role == Some(Role::Officer),
        // Applicants are narrowed to their own enterprise (and members) per record.
        Action::ReadEnterprises => {
            matches!(role, Some(Role::Applicant | Role::Officer | Role::Admin))
        }
        Action::ManageReview | Action::Decide | Action::ManagePolicy => role == Some(Role::Officer),
        Action::Review => role == Some(Role::Expert),
        // Experts are narrowed to their own sheets per request.
        Action::ReadScores => matches!(role, Some(Role::Expert | Role::Officer | Role::Admin)),
        Action::ReadReviews => matches!(role, Some(Role::Officer | Role::Admin)),
        Action::RecordContacts => matches!(role, Some(Role::Expert | Role::Officer)),
        Action::ReadDecisions => {
            matches!(role, Some(Role::Applicant | Role::Officer | Role::Admin))
        }
        Action::Appeal => role == Some(Role::Applicant),
        // Applicants are narrowed to their own (and members') allowances.
        Action::ReadAllowances => matches!(
            role,
            Some(Role::Applicant | Role::Officer | Role::Customs | Role::Admin)
        ),
        Action::ReadPublic => true,
        Action::ReadSla => matches!(role, Some(Role::Officer | Role::Admin | Role::Analyst)),
        Action::Declare => role == Some(Role::Customs),
        Action::FilePurchaseReports => role == Some(Role::Applicant),
        Action::GenerateRefunds => role == Some(Role::Officer),
        // Importers (applicants) are narrowed to their own enterprise's claims.
        Action::ReadRefunds => {
            matches!(role, Some(Role::Applicant | Role::Officer | Role::Customs))
        }
        Action::SettleRefunds => role == Some(Role::Customs),
        Action::ReadQuotas => true,
        Action::ReadQuotaLedgers => matches!(
            role,
            Some(Role::Officer | Role::Customs | Role::Analyst | Role::Admin)
        ),
        Action::ManageQuotas => matches!(role, Some(Role::Officer | Role::Admin)),
        Action::ManageAccounts => role == Some(Role::Admin),
        // Aggregates per programme, line and month name no importer and no allowance: public,
        // like the /utilisation page.
        Action::ReadUtilisation => true,
        Action::ReplayRecorded => matches!(
            role,
            Some(Role::Officer | Role::Customs | Role::Analyst | Role::Admin)
        ),
        Action::ReadDeclarations => matches!(
            role,
            Some(Role::Applicant | Role::Officer | Role::Customs | Role::Admin)
        ),
        // What-if scenarios are for analysts and the public (PRODUCT.md, "Who uses it").
        Action::ReadScenarios => true,
        Action::ManageScenarios => {
            matches!(role, Some(Role::Analyst | Role::Officer | Role::Admin))
        }
    }
}

/// The authenticated caller, if any. A malformed or unknown token is an error, not anonymity.
pub struct Caller(pub Option<User>);

impl Caller {
    pub fn role(&self) -> Option<Role> {
        self.0.as_ref().map(|u| u.role)
    }
    pub fn name(&self) -> &str {
        self.0.as_ref().map_or("anonymous", |u| u.username.as_str())
    }
}

/// Allows the action or answers 401 (anonymous) / 403 (signed in, wrong role).
pub fn authorize(caller: &Caller, action: Action) -> Result<(), ApiError> {
    if permits(caller.role(), action) {
        Ok(())
    } else if caller.0.is_none() {
        Err(ApiError::unauthenticated())
    } else {
        Err(ApiError::forbidden(action.describe()))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        if let Some(h) = parts.headers.get(axum::http::header::AUTHORIZATION) {
            let token = h
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .filter(|t| t.len() <= 128)
                .ok_or_else(ApiError::unauthenticated)?;
            let user = state
                .store
                .user_by_token(token.trim())
                .await?
                .ok_or_else(ApiError::unauthenticated)?;
            return Ok(Caller(Some(user)));
        }
        match crate::session::cookie(&parts.headers) {
            // A browser's cookie rides along on requests other sites make it send: a change made
            // with a session must come from Waiver's own pages (machine clients send a token).
            Some(_) if cross_site(parts) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "cross_site",
                "a change made with a session cookie must come from Waiver's own pages; machine clients send `Authorization: Bearer <token>`",
            )),
            // An expired or unknown session is a request to sign in again.
            Some(token) => Ok(Caller(Some(
                state
                    .store
                    .user_by_session(token)
                    .await?
                    .ok_or_else(ApiError::unauthenticated)?,
            ))),
            None => Ok(Caller(None)),
        }
    }
}

/// Whether an unsafe request (POST, PUT, DELETE…) comes from another site, as the browser tells:
/// `Sec-Fetch-Site` when sent, else `Origin` against `Host`. Requests with neither (not from a
/// browser, or a very old one) pass; browsers send `Origin` on every cross-origin POST.
fn cross_site(parts: &Parts) -> bool {
    if parts.method.is_safe() {
        return false;
    }
    let header =
        |name: axum::http::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header(axum::http::HeaderName::from_static("sec-fetch-site")) {
        return !matches!(site, "same-origin" | "none");
    }
    match (
        header(axum::http::header::ORIGIN),
        header(axum::http::header::HOST),
    ) {
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, h)| h) != Some(host),
        (Some(_), None) => true,
        _ => false,
    }
}
