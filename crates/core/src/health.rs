//! `GET /api/health` (CONTRACT 5): the checks and their answer.
//!
//! A shallow check covers what the edge holds itself (its variables, its key-value store); a
//! deep one (`?deep=true`) also asks Notion for the data source, which proves the token and
//! the schema. A failing check is named with its reason; no value of a secret is ever shown.

use serde_json::{Map, Value, json};

use crate::edge_config::{EdgeConfig, Misconfigured};
use crate::edge_response::EdgeResponse;
use crate::notion::{Classified, Method, NotionResponse, PropertyMap, Schema, Transport, classify};

/// One named check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Its name in `checks`.
    pub name: &'static str,
    /// `Err` holds why it fails.
    pub result: Result<(), String>,
}

/// The `config` check.
pub fn config_check(config: &Result<EdgeConfig, Misconfigured>) -> Check {
    Check {
        name: "config",
        result: config.as_ref().map(drop).map_err(|e| e.to_string()),
    }
}

/// The `keyvalue` check, from whether a read of the store worked.
pub fn keyvalue_check(read: Result<(), ()>) -> Check {
    Check {
        name: "keyvalue",
        result: read.map_err(|()| "the key-value store `default` cannot be read".into()),
    }
}

/// The `notion` and `schema` checks, from Notion's answer to `GET /v1/data_sources/{id}`.
pub fn data_source_checks(
    response: Result<NotionResponse, Transport>,
    map: &PropertyMap,
) -> Vec<Check> {
    let body = response.as_ref().ok().map(|r| r.body.clone());
    let notion = match classify(Method::Get, response.as_ref().map_err(|t| *t)) {
        Classified::Done(_) => Ok(()),
        Classified::Refused { status, code, .. } if status == 401 => Err(format!(
            "Notion refused the token in `notionapikey` ({status} {code})"
        )),
        Classified::Refused { status, code, .. } => Err(format!(
            "Notion refused the data source in `notiondatasource` ({status} {code}); is it shared with the integration?"
        )),
        Classified::Retry { reason, .. } => Err(format!("Notion is unavailable: {reason}")),
    };
    let schema = match (&notion, body) {
        (Ok(()), Some(body)) => schema_check(&body, map),
        _ => Err("not checked: Notion did not describe the data source".to_string()),
    };
    vec![
        Check {
            name: "notion",
            result: notion,
        },
        Check {
            name: "schema",
            result: schema,
        },
    ]
}

fn schema_check(body: &[u8], map: &PropertyMap) -> Result<(), String> {
    let schema =
        Schema::from_data_source(body).map_err(|e| format!("unreadable data source: {e}"))?;
    if schema.title_property().is_none() {
        return Err("the data source has no title property".into());
    }
    match map.property_for("status") {
        Some(status) if schema.property(status).is_none() => Err(format!(
            "the data source has no `{status}` property for the event's status"
        )),
        _ => Ok(()),
    }
}

/// The answer: 200 `{"status":"ok",...}` when every check passes, else 503 with the failing
/// checks named in `failing`.
pub fn health_response(version: &str, checks: &[Check]) -> EdgeResponse {
    let mut results = Map::new();
    let mut failing = Vec::new();
    for check in checks {
        let text = match &check.result {
            Ok(()) => "ok".to_string(),
            Err(why) => {
                failing.push(check.name);
                format!("failing: {why}")
            }
        };
        results.insert(check.name.to_string(), Value::String(text));
    }
    let (status, word) = if failing.is_empty() {
        (200, "ok")
    } else {
        (503, "failing")
    };
    let mut body = json!({"status": word, "version": version, "checks": results});
    if !failing.is_empty() {
        body["failing"] = json!(failing);
    }
    EdgeResponse {
        status,
        headers: Vec::new(),
        body: serde_json::to_vec(&body).expect("JSON values serialize"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &EdgeResponse) -> Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn all_ok_is_200() {
        let r = health_response(
            "1.2.3",
            &[Check {
                name: "config",
                result: Ok(()),
            }],
        );
        assert_eq!(r.status, 200);
        assert_eq!(
            body(&r),
            json!({"status":"ok","version":"1.2.3","checks":{"config":"ok"}})
        );
    }

    #[test]
    fn a_failing_check_is_503_and_named() {
        let missing = Err(Misconfigured {
            variable: "notionapikey",
            problem: "is missing or empty".into(),
        });
        let r = health_response("1", &[config_check(&missing), keyvalue_check(Ok(()))]);
        assert_eq!(r.status, 503);
        let b = body(&r);
        assert_eq!(b["failing"], json!(["config"]));
        assert_eq!(
            b["checks"]["config"],
            "failing: variable `notionapikey` is missing or empty"
        );
        assert_eq!(b["checks"]["keyvalue"], "ok");
    }

    #[test]
    fn data_source_checks_name_the_variable_at_fault() {
        let map = PropertyMap::default();
        let refused = |status: u16, code: &str| {
            Ok(NotionResponse {
                status,
                retry_after: None,
                body: format!(
                    r#"{{"object":"error","status":{status},"code":"{code}","message":"m"}}"#
                )
                .into_bytes(),
            })
        };
        let checks = data_source_checks(refused(401, "unauthorized"), &map);
        assert!(
            checks[0]
                .result
                .as_ref()
                .unwrap_err()
                .contains("notionapikey")
        );
        assert!(checks[1].result.is_err());
        let checks = data_source_checks(refused(404, "object_not_found"), &map);
        assert!(
            checks[0]
                .result
                .as_ref()
                .unwrap_err()
                .contains("notiondatasource")
        );
        let checks = data_source_checks(Err(Transport::Timeout), &map);
        assert!(
            checks[0]
                .result
                .as_ref()
                .unwrap_err()
                .starts_with("Notion is unavailable")
        );
    }

    #[test]
    fn the_schema_needs_a_title_and_the_status_property() {
        let ok = br#"{"object":"data_source","id":"d","properties":{
            "Session ID":{"id":"title","name":"Session ID","type":"title","title":{}},
            "Status":{"id":"s","name":"Status","type":"select","select":{"options":[]}}}}"#;
        let map = PropertyMap::default();
        let ok_resp = Ok(NotionResponse {
            status: 200,
            retry_after: None,
            body: ok.to_vec(),
        });
        assert_eq!(data_source_checks(ok_resp, &map)[1].result, Ok(()));
        let no_status = br#"{"object":"data_source","id":"d","properties":{
            "Session ID":{"id":"title","name":"Session ID","type":"title","title":{}}}}"#;
        let resp = Ok(NotionResponse {
            status: 200,
            retry_after: None,
            body: no_status.to_vec(),
        });
        assert!(
            data_source_checks(resp, &map)[1]
                .result
                .as_ref()
                .unwrap_err()
                .contains("`Status`")
        );
    }
}
