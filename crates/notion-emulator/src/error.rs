//! Notion's error bodies, `{object:"error", status, code, message, request_id[, additional_data]}`,
//! and the JSON responses every `/v1/` answer shares (content type and `x-notion-request-id`).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

/// Notion's message for an object that does not exist or is not shared with the integration.
const NOT_SHARED: &str =
    "Make sure the relevant pages and databases are shared with your integration.";

/// An error as Notion reports it.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub additional_data: Option<Value>,
    /// Sent as an integer `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            additional_data: None,
            retry_after: None,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "validation_error", message)
    }

    /// A structural failure, worded like Notion's request validator.
    pub fn body(path: &str, expectation: &str, was: &Value) -> Self {
        Self::validation(format!(
            "body failed validation: {path} {expectation}, instead was `{}`.",
            was_text(was)
        ))
    }

    /// `path` is missing where it is required.
    pub fn body_missing(path: &str) -> Self {
        Self::validation(format!(
            "body failed validation: {path} should be defined, instead was `undefined`."
        ))
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            404,
            "object_not_found",
            format!("Could not find {kind} with ID: {id}. {NOT_SHARED}"),
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "unauthorized", "API token is invalid.")
    }

    pub fn missing_version() -> Self {
        Self::new(
            400,
            "missing_version",
            "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.",
        )
    }

    pub fn invalid_json() -> Self {
        Self::new(400, "invalid_json", "Error parsing JSON body.")
    }

    pub fn invalid_request_url() -> Self {
        Self::new(400, "invalid_request_url", "Invalid request URL.")
    }

    pub fn too_large(size: usize) -> Self {
        Self::new(
            413,
            "payload_too_large",
            format!("Request body is too large: {size} bytes, the limit is 500 KB."),
        )
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        let mut error = Self::new(
            429,
            "rate_limited",
            "You have been rate limited. Please try again in a few minutes.",
        );
        error.retry_after = Some(retry_after);
        error.additional_data = Some(json!({"rate_limit_reason": "public_api_request_rate_limit"}));
        error
    }

    pub fn to_json(&self, request_id: &str) -> Value {
        let mut body = json!({
            "object": "error",
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "request_id": request_id,
        });
        if let Some(data) = &self.additional_data {
            body["additional_data"] = data.clone();
        }
        body
    }

    pub fn to_response(&self, request_id: &str) -> Response {
        let mut response = json_response(self.status, &self.to_json(request_id), request_id);
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Notion echoes a rejected value as JSON inside backticks, `undefined` when absent.
fn was_text(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text
    }
}

/// A JSON response carrying the request id, as every `/v1/` answer does.
pub fn json_response(status: u16, body: &Value, request_id: &str) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-notion-request-id", id);
    }
    response
}
