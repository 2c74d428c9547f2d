//! The one error envelope: `{"error":{"code","message","field"}}` with stable codes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use waiver_store::StoreError;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable: `bad_request`, `invalid_json`, `validation`, `unauthenticated`,
    /// `forbidden`, `cross_site`, `not_found`, `conflict`, `declaration_exists`,
    /// `declaration_cancelled`, `token_revoked`, `user_disabled`, `last_admin`, `self_disable`,
    /// `payload_too_large`, `internal`.
    pub code: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
    /// The offending field, when there is one.
    pub field: Option<String>,
    /// Every field problem, when a document was validated as a whole.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub problems: Vec<waiver_domain::application::FieldProblem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub problems: Vec<waiver_domain::application::FieldProblem>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            problems: Vec::new(),
        }
    }
    pub fn field(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", message).field(field)
    }
    pub fn unauthenticated() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in, or send `Authorization: Bearer <token>` (`waiver token create <username>` makes one)")
    }
    pub fn forbidden(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("your role may not {what}"),
        )
    }
    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", what)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: self.code,
                message: self.message,
                field: self.field,
                problems: self.problems,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            StoreError::NotFound(m) => ApiError::not_found(m),
            StoreError::Rejected { code, message } => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            StoreError::Invalid(m) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", m)
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the server could not complete the request; it has been logged",
                )
            }
        }
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(r: axum::extract::rejection::JsonRejection) -> ApiError {
        use axum::extract::rejection::JsonRejection as R;
        match r {
            R::JsonDataError(e) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                format!("the JSON does not fit: {}", e.body_text()),
            ),
            R::JsonSyntaxError(e) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the body is not valid JSON: {}", e.body_text()),
            ),
            R::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad_request",
                "send `Content-Type: application/json`",
            ),
            R::BytesRejection(_) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body is larger than {} bytes", crate::MAX_BODY_BYTES),
            ),
            other => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", other.body_text()),
        }
    }
}

/// A JSON body whose rejections become the envelope.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct JsonBody<T>(pub T);

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(r: axum::extract::rejection::QueryRejection) -> ApiError {
        // serde_urlencoded says `field: problem` (e.g. `limit: invalid digit found in string`).
        let text = r.body_text();
        let detail = text
            .strip_prefix("Failed to deserialize query string: ")
            .unwrap_or(&text);
        let field = detail
            .split_once(": ")
            .map(|(f, _)| f)
            .filter(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        let e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            format!("the query string does not fit: {detail}; see the parameters in /api/v1/openapi.json"),
        );
        match field {
            Some(f) => e.field(f),
            None => e,
        }
    }
}

/// Query parameters whose rejections become the envelope (named `Query` like axum's, which
/// utoipa recognises by name to document the parameters as query parameters).
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// A path rejection as the envelope; `names` are the route's parameter names, in order (to
/// name the field when axum cannot).
fn path_error(r: axum::extract::rejection::PathRejection, names: &[String]) -> ApiError {
    use axum::extract::path::ErrorKind;
    use axum::extract::rejection::PathRejection;
    let PathRejection::FailedToDeserializePathParams(e) = r else {
        // The route and the handler disagree: a bug of ours, not of the request.
        tracing::error!(error = %r.body_text(), "path parameters missing");
        return ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not complete the request; it has been logged",
        );
    };
    let (key, value, expected) = match e.kind() {
        ErrorKind::ParseErrorAtKey {
            key,
            value,
            expected_type,
        } => (Some(key.as_str()), value, *expected_type),
        ErrorKind::ParseErrorAtIndex {
            index,
            value,
            expected_type,
        } => (names.get(*index).map(String::as_str), value, *expected_type),
        ErrorKind::ParseError {
            value,
            expected_type,
        } => (
            (names.len() == 1).then(|| names[0].as_str()),
            value,
            *expected_type,
        ),
        _ => return ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()),
    };
    let shown: String = value.chars().take(40).collect();
    let expected = match expected {
        "i64" | "i32" | "u32" | "u64" => "a whole number",
        other => other,
    };
    let e = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
        format!(
            "`{shown}` in the path is not a valid {}: expected {expected}",
            key.unwrap_or("parameter")
        ),
    );
    match key {
        Some(k) => e.field(k),
        None => e,
    }
}

/// Path parameters whose rejections become the envelope (named like axum's `Path`, which utoipa
/// recognises by name, as [`Query`] is).
pub struct Path<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(r) => {
                let names: Vec<String> =
                    axum::extract::RawPathParams::from_request_parts(parts, state)
                        .await
                        .map(|p| p.iter().map(|(k, _)| k.to_owned()).collect())
                        .unwrap_or_default();
                Err(path_error(r, &names))
            }
        }
    }
}
