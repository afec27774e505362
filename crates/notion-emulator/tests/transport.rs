//! Transport and auth checks of `/v1/` (reference section 7, items 1-7 and 16).

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn missing_or_wrong_token_is_unauthorized() {
    let emulator = start().await;
    let base = emulator.url();
    let path = format!("/v1/data_sources/{HUB}");
    let none = send(
        &base,
        "GET",
        &path,
        &[("notion-version", "2025-09-03")],
        None,
    )
    .await;
    none.assert_error(401, "unauthorized", "API token is invalid.");
    let wrong = send(
        &base,
        "GET",
        &path,
        &[
            ("notion-version", "2025-09-03"),
            ("authorization", "Bearer ntn_nope"),
        ],
        None,
    )
    .await;
    wrong.assert_error(401, "unauthorized", "API token is invalid.");
}

#[tokio::test]
async fn notion_version_is_required_and_checked() {
    let emulator = start().await;
    let base = emulator.url();
    let path = format!("/v1/data_sources/{HUB}");
    let auth = [("authorization", "Bearer ntn_emulator_dev_token")];
    send(&base, "GET", &path, &auth, None).await.assert_error(
        400,
        "missing_version",
        "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.",
    );
    api_as(&base, "2021-05-13", "GET", &path, None)
        .await
        .assert_error(400, "validation_error", "Notion-Version");
    for version in ["2022-06-28", "2025-09-03", "2026-03-11"] {
        let answer = api_as(
            &base,
            version,
            "GET",
            &format!(
                "/v1/databases/{}",
                notion_emulator::AGENT_ACTIVITY_HUB_DATABASE
            ),
            None,
        )
        .await;
        assert_eq!(answer.status, 200, "{version}: {}", answer.text);
    }
}

#[tokio::test]
async fn data_sources_are_not_routes_under_2022_06_28_but_database_queries_are() {
    let emulator = start().await;
    let base = emulator.url();
    let database = notion_emulator::AGENT_ACTIVITY_HUB_DATABASE;
    api_as(
        &base,
        "2022-06-28",
        "GET",
        &format!("/v1/data_sources/{HUB}"),
        None,
    )
    .await
    .assert_error(400, "invalid_request_url", "Invalid request URL");
    let old = api_as(
        &base,
        "2022-06-28",
        "POST",
        &format!("/v1/databases/{database}/query"),
        Some(json!({})),
    )
    .await;
    assert_eq!(old.status, 200, "{}", old.text);
    assert_eq!(old.json["type"], "page");
    let schema = api_as(
        &base,
        "2022-06-28",
        "GET",
        &format!("/v1/databases/{database}"),
        None,
    )
    .await;
    assert!(
        schema.json["properties"]["Session ID"].is_object(),
        "{}",
        schema.text
    );
    api(
        &base,
        "POST",
        &format!("/v1/databases/{database}/query"),
        Some(json!({})),
    )
    .await
    .assert_error(400, "invalid_request_url", "Invalid request URL");
}

#[tokio::test]
async fn unparseable_json_is_invalid_json() {
    let emulator = start().await;
    let base = emulator.url();
    let headers = [
        ("authorization", "Bearer ntn_emulator_dev_token"),
        ("notion-version", "2025-09-03"),
        ("content-type", "application/json"),
    ];
    let answer = send(
        &base,
        "POST",
        "/v1/pages",
        &headers,
        Some(b"{\"parent\":".to_vec()),
    )
    .await;
    answer.assert_error(400, "invalid_json", "Error parsing JSON body.");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_invalid_request_url() {
    let emulator = start().await;
    let base = emulator.url();
    api(&base, "GET", "/v1/blocks/x/y/z", None)
        .await
        .assert_error(400, "invalid_request_url", "Invalid request URL");
    api(&base, "DELETE", &format!("/v1/data_sources/{HUB}"), None)
        .await
        .assert_error(400, "invalid_request_url", "Invalid request URL");
    api(&base, "GET", "/v2/pages", None).await.assert_error(
        400,
        "invalid_request_url",
        "Invalid request URL",
    );
}

#[tokio::test]
async fn ids_are_normalised_and_checked() {
    let emulator = start().await;
    let base = emulator.url();
    let compact = HUB.replace('-', "").to_uppercase();
    let answer = api(&base, "GET", &format!("/v1/data_sources/{compact}"), None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["id"], HUB);
    api(&base, "GET", "/v1/pages/not-a-uuid", None)
        .await
        .assert_error(
            400,
            "validation_error",
            "path failed validation: path.page_id should be a valid uuid",
        );
    let missing = "0000000000004000800000000000abcd";
    api(&base, "GET", &format!("/v1/pages/{missing}"), None).await.assert_error(
        404,
        "object_not_found",
        "Could not find page with ID: 00000000-0000-4000-8000-00000000abcd. Make sure the relevant pages and databases are shared with your integration.",
    );
    api(&base, "GET", &format!("/v1/databases/{missing}"), None)
        .await
        .assert_error(404, "object_not_found", "Could not find database");
    api(
        &base,
        "POST",
        &format!("/v1/data_sources/{missing}/query"),
        Some(json!({})),
    )
    .await
    .assert_error(404, "object_not_found", "Could not find data source");
}

#[tokio::test]
async fn every_answer_is_json_with_a_request_id() {
    let emulator = start().await;
    let base = emulator.url();
    for answer in [
        api(&base, "GET", &format!("/v1/data_sources/{HUB}"), None).await,
        api(&base, "GET", "/v1/nowhere", None).await,
    ] {
        assert!(
            answer
                .header("content-type")
                .starts_with("application/json"),
            "{:?}",
            answer.headers
        );
        assert!(!answer.header("x-notion-request-id").is_empty());
    }
}

#[tokio::test]
async fn bodies_over_500_kb_are_413() {
    let emulator = start().await;
    let base = emulator.url();
    let big = "x".repeat(600 * 1000);
    let body = json!({"parent": {"data_source_id": HUB}, "properties": {"Work Description": {"rich_text": [{"text": {"content": big}}]}}});
    let answer = api(&base, "POST", "/v1/pages", Some(body)).await;
    assert_eq!(answer.status, 413, "{}", answer.text);
    assert_eq!(answer.json["object"], "error");
}

#[tokio::test]
async fn schema_and_database_answers_have_notion_shapes() {
    let emulator = start().await;
    let base = emulator.url();
    let source = api(&base, "GET", &format!("/v1/data_sources/{HUB}"), None)
        .await
        .json;
    assert_eq!(source["object"], "data_source");
    assert_eq!(source["title"][0]["plain_text"], "Agent Activity Hub");
    let properties = &source["properties"];
    assert_eq!(properties["Session ID"]["id"], "title");
    assert_eq!(properties["Session ID"]["type"], "title");
    let status: Vec<&str> = properties["Status"]["select"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        status,
        ["In Progress", "Completed", "Blocked", "Failed", "Cancelled"]
    );
    assert_eq!(
        properties["Related Notion Items"]["relation"]["data_source_id"],
        HUB
    );
    assert_eq!(properties["Event ID"]["type"], "rich_text");
    assert_eq!(properties.as_object().unwrap().len(), 14);
    let database_id = source["parent"]["database_id"].as_str().unwrap();
    let database = api(&base, "GET", &format!("/v1/databases/{database_id}"), None)
        .await
        .json;
    assert_eq!(database["data_sources"][0]["id"], HUB);
    let me = api(&base, "GET", "/v1/users/me", None).await.json;
    assert_eq!(me["id"], notion_emulator::BOT_USER);
}
