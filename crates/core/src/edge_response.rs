//! The answers of `POST /api/NotionWebhook` (CONTRACT 5), as bytes ready to send.
//!
//! Every answer is JSON with `success`. A 401 says nothing beyond `invalid_signature`; a 500
//! names a variable, never its value.

use serde_json::{Value, json};

use crate::edge_config::Misconfigured;
use crate::event::InvalidPayload;
use crate::idempotency::Receipt;

/// An HTTP answer: status, headers and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeResponse {
    /// Status code.
    pub status: u16,
    /// Headers beyond `content-type: application/json`, which every answer has.
    pub headers: Vec<(&'static str, String)>,
    /// JSON body.
    pub body: Vec<u8>,
}

impl EdgeResponse {
    fn json(status: u16, body: Value) -> EdgeResponse {
        EdgeResponse {
            status,
            headers: Vec::new(),
            body: serde_json::to_vec(&body).expect("JSON values serialize"),
        }
    }

    /// 200: the page was created, updated, left unchanged, or this is a duplicate.
    pub fn applied(receipt: &Receipt, duplicate: bool) -> EdgeResponse {
        EdgeResponse::json(
            200,
            json!({
                "success": true,
                "pageId": receipt.page_id,
                "pageUrl": receipt.page_url,
                "action": receipt.action,
                "duplicate": duplicate,
                "warnings": receipt.warnings,
            }),
        )
    }

    /// 400: not JSON, or invalid.
    pub fn invalid_payload(problem: &InvalidPayload) -> EdgeResponse {
        EdgeResponse::json(
            400,
            json!({
                "success": false,
                "error": "invalid_payload",
                "message": problem.message,
                "fields": problem.fields,
            }),
        )
    }

    /// 401: missing, malformed or wrong signature, or a timestamp outside the window.
    pub fn invalid_signature() -> EdgeResponse {
        EdgeResponse::json(401, json!({"success": false, "error": "invalid_signature"}))
    }

    /// 405: only POST.
    pub fn method_not_allowed() -> EdgeResponse {
        let mut r = EdgeResponse::json(
            405,
            json!({"success": false, "error": "method_not_allowed"}),
        );
        r.headers.push(("allow", "POST".to_string()));
        r
    }

    /// 413: body over [`MAX_BODY_BYTES`](crate::delivery::MAX_BODY_BYTES).
    pub fn payload_too_large() -> EdgeResponse {
        EdgeResponse::json(413, json!({"success": false, "error": "payload_too_large"}))
    }

    /// 422: Notion refused the page for good.
    pub fn notion_rejected(status: u16, code: &str, message: &str) -> EdgeResponse {
        EdgeResponse::json(
            422,
            json!({
                "success": false,
                "error": "notion_rejected",
                "notionStatus": status,
                "notionCode": code,
                "message": message,
            }),
        )
    }

    /// 503: Notion is rate-limiting, overloaded or failing; retry after `seconds`.
    pub fn notion_unavailable(seconds: u64) -> EdgeResponse {
        let mut r = EdgeResponse::json(
            503,
            json!({"success": false, "error": "notion_unavailable", "retryAfterSeconds": seconds}),
        );
        r.headers.push(("retry-after", seconds.to_string()));
        r
    }

    /// 503: the edge's own key-value store failed or a session stayed busy; retry shortly.
    pub fn storage_unavailable(seconds: u64, message: &str) -> EdgeResponse {
        let mut r = EdgeResponse::json(
            503,
            json!({"success": false, "error": "storage_unavailable", "retryAfterSeconds": seconds, "message": message}),
        );
        r.headers.push(("retry-after", seconds.to_string()));
        r
    }

    /// 500: a variable is missing or invalid.
    pub fn misconfigured(problem: &Misconfigured) -> EdgeResponse {
        EdgeResponse::json(
            500,
            json!({"success": false, "error": "misconfigured", "message": problem.to_string()}),
        )
    }

    /// 500: the data source cannot be used (Notion refused the token or the id).
    pub fn misconfigured_message(message: &str) -> EdgeResponse {
        EdgeResponse::json(
            500,
            json!({"success": false, "error": "misconfigured", "message": message}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upsert::Action;

    fn body(r: &EdgeResponse) -> Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn each_row_of_contract_5() {
        let receipt = Receipt {
            page_id: "p".into(),
            page_url: "u".into(),
            action: Action::Updated,
            warnings: vec!["w".into()],
        };
        let ok = EdgeResponse::applied(&receipt, true);
        assert_eq!(
            body(&ok),
            json!({"success":true,"pageId":"p","pageUrl":"u","action":"updated","duplicate":true,"warnings":["w"]})
        );
        assert_eq!(
            body(&EdgeResponse::invalid_signature()),
            json!({"success":false,"error":"invalid_signature"})
        );
        let m = EdgeResponse::method_not_allowed();
        assert_eq!(
            (m.status, m.headers.clone()),
            (405, vec![("allow", "POST".to_string())])
        );
        assert_eq!(EdgeResponse::payload_too_large().status, 413);
        let rejected = EdgeResponse::notion_rejected(400, "validation_error", "bad");
        assert_eq!(
            body(&rejected),
            json!({"success":false,"error":"notion_rejected","notionStatus":400,"notionCode":"validation_error","message":"bad"})
        );
        let busy = EdgeResponse::notion_unavailable(7);
        assert_eq!(busy.headers, vec![("retry-after", "7".to_string())]);
        assert_eq!(body(&busy)["retryAfterSeconds"], 7);
        let mis = EdgeResponse::misconfigured(&Misconfigured {
            variable: "notionapikey",
            problem: "is missing or empty".into(),
        });
        assert_eq!(
            (mis.status, body(&mis)["message"].as_str()),
            (500, Some("variable `notionapikey` is missing or empty"))
        );
        let bad = InvalidPayload::from_fields(vec![crate::event::FieldProblem::new(
            "status",
            "is required",
        )]);
        let r = EdgeResponse::invalid_payload(&bad);
        assert_eq!(
            body(&r)["fields"],
            json!([{"field":"status","problem":"is required"}])
        );
    }
}
