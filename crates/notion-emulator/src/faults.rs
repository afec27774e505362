//! Scripted faults (`POST /_emulator/faults`): rules matched in order against `/v1/` requests,
//! each spent after `count` uses. A rule can answer an error, delay, or let the write happen and
//! then fail ("commit then fail", the case that tests duplicate prevention).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use crate::error::ApiError;

/// One fault rule, as posted to `/_emulator/faults`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// HTTP method to match; any when absent.
    pub method: Option<String>,
    /// Path prefix to match (e.g. `/v1/pages`); any when absent.
    pub path: Option<String>,
    /// Status to answer; none means "only delay".
    pub status: Option<u16>,
    /// Notion error code; `html` answers a Cloudflare-like HTML page instead of JSON.
    pub code: Option<String>,
    /// How many matching requests the rule applies to (default 1).
    pub count: Option<u64>,
    pub retry_after: Option<u64>,
    pub delay_ms: Option<u64>,
    #[serde(default)]
    pub commit_then_fail: bool,
}

impl FaultRule {
    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path.as_deref().is_none_or(|p| path.starts_with(p))
    }

    /// The answer this rule gives, if it answers at all.
    pub fn response(&self, request_id: &str) -> Option<Response> {
        let status = self.status?;
        let code = self
            .code
            .clone()
            .unwrap_or_else(|| default_code(status).to_owned());
        if code == "html" {
            return Some(html_response(status));
        }
        let mut error = ApiError::new(status, &code, default_message(&code));
        error.retry_after = self
            .retry_after
            .or((status == 429 || status == 529).then_some(1));
        if code == "rate_limited" {
            error.additional_data =
                Some(serde_json::json!({"rate_limit_reason": "public_api_request_rate_limit"}));
        }
        Some(error.to_response(request_id))
    }
}

/// The rules in force, in order.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<(FaultRule, u64)>,
}

impl Faults {
    pub fn set(&mut self, rules: Vec<FaultRule>) {
        self.rules = rules
            .into_iter()
            .map(|r| (r.count.unwrap_or(1), r))
            .map(|(n, r)| (r, n))
            .collect();
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// Takes one use of the first live rule matching this request.
    pub fn take(&mut self, method: &str, path: &str) -> Option<FaultRule> {
        let (rule, left) = self
            .rules
            .iter_mut()
            .find(|(rule, left)| *left > 0 && rule.matches(method, path))?;
        *left -= 1;
        Some(rule.clone())
    }
}

fn default_code(status: u16) -> &'static str {
    match status {
        400 => "validation_error",
        401 => "unauthorized",
        403 => "restricted_resource",
        404 => "object_not_found",
        409 => "conflict_error",
        429 => "rate_limited",
        // Notion's 502s come from its edge proxy, not the API: HTML, not JSON.
        502 => "html",
        503 => "service_unavailable",
        504 => "gateway_timeout",
        529 => "service_overload",
        _ => "internal_server_error",
    }
}

fn default_message(code: &str) -> &'static str {
    match code {
        "conflict_error" => "Conflict occurred while saving. Please try again.",
        "rate_limited" => "You have been rate limited. Please try again in a few minutes.",
        "service_unavailable" => "Notion is unavailable, please try again later.",
        "database_connection_unavailable" => {
            "Notion's database is unavailable, please try again later."
        }
        "gateway_timeout" => "Notion timed out while processing the request.",
        "service_overload" => "Notion is overloaded, please try again later.",
        "restricted_resource" => "API token does not have access to this resource.",
        "unauthorized" => "API token is invalid.",
        "internal_server_error" => "Unexpected error occurred.",
        _ => "Fault injected by the emulator.",
    }
}

/// What Cloudflare answers in front of Notion: HTML, a `cf-ray`, no request id.
fn html_response(status: u16) -> Response {
    let ray = format!("{}-IAD", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let body = format!(
        "<!DOCTYPE html>\n<html><head><title>{status} | api.notion.com | Cloudflare</title></head>\
         <body><h1>Error {status}</h1><p>Bad gateway</p><p>Cloudflare Ray ID: <strong>{ray}</strong></p></body></html>\n"
    );
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    headers.insert(header::SERVER, HeaderValue::from_static("cloudflare"));
    if let Ok(ray) = HeaderValue::from_str(&ray) {
        headers.insert("cf-ray", ray);
    }
    response
}
