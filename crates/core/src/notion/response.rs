//! What a Notion answer means for the writer: done, refused for good, or try again later.
//!
//! The line between "retry" and "refused" decides whether an event waits in the queue or goes to
//! the dead-letter file, so it follows what Notion documents: 429/529 and 409 are safe to retry;
//! 5xx and network failures are retried but, for a write, the outcome is unknown (Notion has no
//! idempotency key), so the next attempt must look before it writes again.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::request::Method;
use crate::retry::retry_after_to_ms;

/// Wait after a throttle (429, 529) or conflict (409) that names no `Retry-After`.
const THROTTLE_DEFAULT_SECS: u64 = 1;
/// Wait after a server or network failure that names no `Retry-After`.
const FAILURE_DEFAULT_SECS: u64 = 2;

/// An HTTP answer from Notion, as the caller received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotionResponse {
    /// The HTTP status.
    pub status: u16,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// A request that got no HTTP answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// No answer within the caller's deadline (the request may still complete).
    Timeout,
    /// No connection (DNS, TCP, TLS).
    Connect,
    /// Any other failure (connection reset, broken body...).
    Other,
}

/// The meaning of an answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Classified {
    /// 2xx with a JSON body.
    Done(Value),
    /// Notion refused the request; repeating it will not help.
    Refused {
        /// The HTTP status.
        status: u16,
        /// Notion's error code (`validation_error`, ...), or `unknown` without an error body.
        code: String,
        /// Notion's message.
        message: String,
    },
    /// Try again after `after_secs`.
    Retry {
        /// Seconds to wait (from `Retry-After` when given).
        after_secs: u64,
        /// The request may have taken effect (a write that failed on the server or in transit).
        outcome_unknown: bool,
        /// What happened, for logs.
        reason: String,
    },
}

fn error_fields(body: &[u8]) -> Option<(String, String)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let code = v.get("code")?.as_str()?.to_string();
    let message = v
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    Some((code, message))
}

fn wait_secs(retry_after: Option<&str>, default: u64) -> u64 {
    retry_after
        .and_then(retry_after_to_ms)
        .map_or(default, |ms| ms.div_ceil(1000))
}

/// Classifies the answer (or transport failure) to a request made with `method`.
pub fn classify(method: Method, r: Result<&NotionResponse, Transport>) -> Classified {
    let writes = matches!(method, Method::Post | Method::Patch);
    let resp = match r {
        Ok(resp) => resp,
        Err(t) => {
            let reason = match t {
                Transport::Timeout => "the Notion request timed out",
                Transport::Connect => "could not connect to Notion",
                Transport::Other => "the Notion request failed in transit",
            };
            return Classified::Retry {
                after_secs: FAILURE_DEFAULT_SECS,
                outcome_unknown: writes,
                reason: reason.to_string(),
            };
        }
    };
    let status = resp.status;
    let retry_after = resp.retry_after.as_deref();
    let code_or = |fallback: &str| {
        error_fields(&resp.body)
            .map(|(c, _)| c)
            .unwrap_or_else(|| fallback.to_string())
    };
    match status {
        200..=299 => match serde_json::from_slice::<Value>(&resp.body) {
            Ok(v) => Classified::Done(v),
            Err(_) => Classified::Retry {
                after_secs: FAILURE_DEFAULT_SECS,
                outcome_unknown: writes,
                reason: format!("Notion answered {status} with a body that is not JSON"),
            },
        },
        429 | 529 | 409 => Classified::Retry {
            after_secs: wait_secs(retry_after, THROTTLE_DEFAULT_SECS),
            // A throttled or conflicting request was not applied.
            outcome_unknown: false,
            reason: format!(
                "Notion answered {status} {}",
                code_or("without an error body")
            ),
        },
        500..=599 => Classified::Retry {
            after_secs: wait_secs(retry_after, FAILURE_DEFAULT_SECS),
            outcome_unknown: writes,
            reason: format!(
                "Notion answered {status} {}",
                code_or("without an error body")
            ),
        },
        _ => {
            let (code, message) = error_fields(&resp.body).unwrap_or_else(|| {
                (
                    "unknown".to_string(),
                    format!("Notion answered {status} without a Notion error body"),
                )
            });
            Classified::Refused {
                status,
                code,
                message,
            }
        }
    }
}

/// A page's id and URL, e.g. remembered for a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRef {
    /// The page id, as Notion writes it.
    pub id: String,
    /// The page's URL.
    pub url: String,
}

/// The id and URL of a page object; the URL is derived from the id when Notion gives none.
pub fn parse_page(v: &Value) -> Option<PageRef> {
    if let Some(object) = v.get("object").and_then(Value::as_str)
        && object != "page"
    {
        return None;
    }
    let id = v.get("id")?.as_str()?.to_string();
    if id.is_empty() {
        return None;
    }
    let url = match v.get("url").and_then(Value::as_str) {
        Some(u) if !u.is_empty() => u.to_string(),
        _ => format!("https://www.notion.so/{}", id.replace('-', "")),
    };
    Some(PageRef { id, url })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resp(status: u16, retry_after: Option<&str>, body: &str) -> NotionResponse {
        NotionResponse {
            status,
            retry_after: retry_after.map(str::to_string),
            body: body.as_bytes().to_vec(),
        }
    }

    fn error(status: u16, code: &str) -> String {
        json!({"object": "error", "status": status, "code": code, "message": "m"}).to_string()
    }

    fn retry(c: Classified) -> (u64, bool) {
        match c {
            Classified::Retry {
                after_secs,
                outcome_unknown,
                ..
            } => (after_secs, outcome_unknown),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_200_is_done_with_its_json() {
        let c = classify(
            Method::Post,
            Ok(&resp(200, None, r#"{"object":"page","id":"p"}"#)),
        );
        assert_eq!(c, Classified::Done(json!({"object": "page", "id": "p"})));
    }

    #[test]
    fn a_200_without_json_is_retried_as_unknown_for_writes() {
        assert_eq!(
            retry(classify(Method::Patch, Ok(&resp(200, None, "<html>")))),
            (2, true)
        );
        assert_eq!(
            retry(classify(Method::Get, Ok(&resp(200, None, "")))),
            (2, false)
        );
    }

    #[test]
    fn throttles_and_conflicts_wait_as_told_and_were_not_applied() {
        let r = resp(429, Some("7"), &error(429, "rate_limited"));
        let c = classify(Method::Post, Ok(&r));
        assert_eq!(
            c,
            Classified::Retry {
                after_secs: 7,
                outcome_unknown: false,
                reason: "Notion answered 429 rate_limited".into()
            }
        );
        assert_eq!(
            retry(classify(Method::Post, Ok(&resp(529, None, "")))),
            (1, false)
        );
        assert_eq!(
            retry(classify(Method::Patch, Ok(&resp(409, Some("1.2"), "")))),
            (2, false)
        );
        assert_eq!(
            retry(classify(
                Method::Post,
                Ok(&resp(429, Some("Wed, 21 Oct 2015 07:28:00 GMT"), ""))
            )),
            (1, false)
        );
    }

    #[test]
    fn server_errors_are_retried_and_unknown_for_writes() {
        for status in [500, 502, 503, 504, 599] {
            assert_eq!(
                retry(classify(Method::Post, Ok(&resp(status, None, "<html>")))),
                (2, true)
            );
            assert_eq!(
                retry(classify(Method::Patch, Ok(&resp(status, None, "")))),
                (2, true)
            );
            assert_eq!(
                retry(classify(Method::Get, Ok(&resp(status, None, "")))),
                (2, false)
            );
        }
        assert_eq!(
            retry(classify(
                Method::Get,
                Ok(&resp(503, Some("30"), &error(503, "service_unavailable")))
            )),
            (30, false)
        );
    }

    #[test]
    fn transport_failures_are_retried_and_unknown_for_writes() {
        for t in [Transport::Timeout, Transport::Connect, Transport::Other] {
            assert_eq!(retry(classify(Method::Post, Err(t))), (2, true));
            assert_eq!(retry(classify(Method::Get, Err(t))), (2, false));
        }
        match classify(Method::Patch, Err(Transport::Timeout)) {
            Classified::Retry { reason, .. } => assert_eq!(reason, "the Notion request timed out"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn client_errors_are_refused_with_notions_code_and_message() {
        for (status, code) in [
            (400, "validation_error"),
            (401, "unauthorized"),
            (403, "restricted_resource"),
            (404, "object_not_found"),
            (413, "payload_too_large"),
            (418, "teapot"),
        ] {
            assert_eq!(
                classify(Method::Post, Ok(&resp(status, None, &error(status, code)))),
                Classified::Refused {
                    status,
                    code: code.into(),
                    message: "m".into()
                }
            );
        }
    }

    #[test]
    fn a_refusal_without_an_error_body_has_code_unknown() {
        assert_eq!(
            classify(Method::Get, Ok(&resp(403, None, "<html>cloudflare</html>"))),
            Classified::Refused {
                status: 403,
                code: "unknown".into(),
                message: "Notion answered 403 without a Notion error body".into()
            }
        );
        // A redirect is not something the API does: refused rather than retried forever.
        match classify(Method::Get, Ok(&resp(302, None, ""))) {
            Classified::Refused { status: 302, .. } => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pages_give_their_id_and_url() {
        assert_eq!(
            parse_page(
                &json!({"object": "page", "id": "59833787-2cf9", "url": "https://www.notion.so/x-598337872cf9"})
            ),
            Some(PageRef {
                id: "59833787-2cf9".into(),
                url: "https://www.notion.so/x-598337872cf9".into()
            })
        );
        assert_eq!(
            parse_page(&json!({"id": "59833787-2cf9"})).unwrap().url,
            "https://www.notion.so/598337872cf9"
        );
        assert_eq!(parse_page(&json!({"object": "list", "id": "x"})), None);
        assert_eq!(parse_page(&json!({"object": "page"})), None);
        assert_eq!(parse_page(&json!({"object": "page", "id": ""})), None);
    }
}
