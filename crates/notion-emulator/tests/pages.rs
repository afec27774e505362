//! Page writes and their validation (reference section 7, items 8-15 and 18).

mod common;

use common::*;
use serde_json::{Value, json};

async fn patch(base: &str, id: &str, body: Value) -> Answer {
    api(base, "PATCH", &format!("/v1/pages/{id}"), Some(body)).await
}

async fn create(base: &str, properties: Value) -> Answer {
    api(
        base,
        "POST",
        "/v1/pages",
        Some(json!({"parent": {"data_source_id": HUB}, "properties": properties})),
    )
    .await
}

#[tokio::test]
async fn created_page_has_notion_fields() {
    let emulator = start().await;
    let base = emulator.url();
    let page = create_hub_page(
        &base,
        "Run 7f3a",
        json!({
            "Work Description": {"rich_text": [{"text": {"content": "docs", "link": {"url": "https://example.com/d"}}, "annotations": {"bold": true}}]},
            "Start Time": {"date": {"start": "2025-10-01T12:00:00Z"}},
            "Duration (Minutes)": {"number": 12.5},
        }),
    )
    .await;
    let id = page["id"].as_str().unwrap();
    assert_eq!(page["object"], "page");
    assert_eq!(
        page["url"],
        format!("https://www.notion.so/Run-7f3a-{}", id.replace('-', ""))
    );
    assert_eq!(page["created_by"]["id"], notion_emulator::BOT_USER);
    assert_eq!(page["last_edited_by"]["id"], notion_emulator::BOT_USER);
    for stamp in ["created_time", "last_edited_time"] {
        assert!(
            page[stamp].as_str().unwrap().ends_with(":00.000Z"),
            "{stamp} rounded to the minute: {}",
            page[stamp]
        );
    }
    assert_eq!(
        page["parent"],
        json!({"type": "data_source_id", "data_source_id": HUB, "database_id": notion_emulator::AGENT_ACTIVITY_HUB_DATABASE})
    );
    let text = &page["properties"]["Work Description"]["rich_text"][0];
    assert_eq!(text["plain_text"], "docs");
    assert_eq!(text["href"], "https://example.com/d");
    assert_eq!(
        text["annotations"],
        json!({"bold": true, "italic": false, "strikethrough": false, "underline": false, "code": false, "color": "default"})
    );
    assert_eq!(
        page["properties"]["Start Time"]["date"]["start"],
        "2025-10-01T12:00:00.000+00:00"
    );
    assert_eq!(
        page["properties"]["Session ID"]["title"][0]["plain_text"],
        "Run 7f3a"
    );
    assert_eq!(page["properties"]["Status"]["select"], Value::Null);
    assert_eq!(
        page["properties"]["Related Notion Items"]["has_more"],
        false
    );
    let fetched = api(
        &base,
        "GET",
        &format!("/v1/pages/{}", id.replace('-', "")),
        None,
    )
    .await;
    assert_eq!(fetched.status, 200, "{}", fetched.text);
    assert_eq!(fetched.json["properties"], page["properties"]);
}

#[tokio::test]
async fn patch_merges_properties_and_trashes() {
    let emulator = start().await;
    let base = emulator.url();
    let page = create_hub_page(
        &base,
        "s-merge",
        json!({"Status": {"select": {"name": "In Progress"}}, "Lines Generated": {"number": 10}}),
    )
    .await;
    let id = page["id"].as_str().unwrap();
    let updated = patch(
        &base,
        id,
        json!({"properties": {"Status": {"select": {"name": "Completed"}}}}),
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(
        updated.json["properties"]["Status"]["select"]["name"],
        "Completed"
    );
    assert_eq!(
        updated.json["properties"]["Lines Generated"]["number"], 10,
        "omitted properties are kept"
    );
    assert_eq!(
        updated.json["properties"]["Session ID"]["title"][0]["plain_text"],
        "s-merge"
    );
    let trashed = patch(&base, id, json!({"in_trash": true})).await;
    assert_eq!(trashed.json["in_trash"], true);
    patch(
        &base,
        id,
        json!({"properties": {"Lines Generated": {"number": 1}}}),
    )
    .await
    .assert_error(
        400,
        "validation_error",
        "Can't edit block that is archived.",
    );
    let query = api(
        &base,
        "POST",
        &format!("/v1/data_sources/{HUB}/query"),
        Some(json!({})),
    )
    .await;
    assert!(
        query.json["results"].as_array().unwrap().is_empty(),
        "trashed pages drop out of queries"
    );
    let restored = patch(&base, id, json!({"in_trash": false})).await;
    assert_eq!(restored.json["in_trash"], false);
}

#[tokio::test]
async fn unknown_top_level_keys_and_parents_are_refused() {
    let emulator = start().await;
    let base = emulator.url();
    let body =
        json!({"parent": {"data_source_id": HUB}, "properties": {}, "filter_properties": ["ID"]});
    api(&base, "POST", "/v1/pages", Some(body)).await.assert_error(
        400,
        "validation_error",
        "body failed validation: body.filter_properties should be not present, instead was `[\"ID\"]`.",
    );
    api(&base, "POST", "/v1/pages", Some(json!({"properties": {}})))
        .await
        .assert_error(
            400,
            "validation_error",
            "body.parent should be defined, instead was `undefined`.",
        );
    api(
        &base,
        "POST",
        "/v1/pages",
        Some(json!({"parent": {"data_source_id": "00000000-0000-4000-8000-000000000001"}})),
    )
    .await
    .assert_error(
        404,
        "object_not_found",
        "Could not find data source with ID: 00000000-0000-4000-8000-000000000001.",
    );
    api(
        &base,
        "POST",
        "/v1/pages",
        Some(json!({"parent": {"data_source_id": HUB, "database_id": HUB}})),
    )
    .await
    .assert_error(400, "validation_error", "Fix one:");
    // A database with one data source is still a valid parent.
    let by_database = json!({"parent": {"database_id": notion_emulator::AGENT_ACTIVITY_HUB_DATABASE}, "properties": {"Session ID": title("db")}});
    assert_eq!(
        api(&base, "POST", "/v1/pages", Some(by_database))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn properties_resolve_by_name_or_id() {
    let emulator = start().await;
    let base = emulator.url();
    let answer = create(&base, json!({"title": {"title": [{"text": {"content": "by-id"}}]}, "s%5Ct%3F": {"select": {"name": "Blocked"}}, "s\\t?": {"select": {"name": "Blocked"}}})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json["properties"]["Status"]["select"]["name"],
        "Blocked"
    );
    create(
        &base,
        json!({"Nope": {"rich_text": []}, "Also Nope": {"number": 1}}),
    )
    .await
    .assert_error(
        400,
        "validation_error",
        "Also Nope is not a property that exists. Nope is not a property that exists.",
    );
}

#[tokio::test]
async fn type_mismatches_are_named_together() {
    let emulator = start().await;
    let base = emulator.url();
    create(
        &base,
        json!({"Agent Name": {"rich_text": []}, "Lines Generated": {"select": {"name": "x"}}}),
    )
    .await
    .assert_error(
        400,
        "validation_error",
        "Agent Name is expected to be select. Lines Generated is expected to be number.",
    );
    create(&base, json!({"Agent Name": {"foo": 1}}))
        .await
        .assert_error(400, "validation_error", "body failed validation: body.properties.Agent Name.select should be defined, instead was `undefined`.");
}

#[tokio::test]
async fn rich_text_limits() {
    let emulator = start().await;
    let base = emulator.url();
    let long = "a".repeat(2001);
    create(&base, json!({"Work Description": {"rich_text": [{"text": {"content": long}}]}})).await.assert_error(
        400,
        "validation_error",
        "body.properties.Work Description.rich_text[0].text.content.length should be ≤ `2000`, instead was `2001`.",
    );
    let exactly = "a".repeat(2000);
    assert_eq!(
        create(
            &base,
            json!({"Work Description": {"rich_text": [{"text": {"content": exactly}}]}})
        )
        .await
        .status,
        200
    );
    let items: Vec<Value> = (0..101)
        .map(|_| json!({"text": {"content": "x"}}))
        .collect();
    create(&base, json!({"Deliverables": {"rich_text": items}}))
        .await
        .assert_error(
            400,
            "validation_error",
            "body.properties.Deliverables.rich_text.length should be ≤ `100`, instead was `101`.",
        );
    let link = format!("https://e.com/{}", "a".repeat(2000));
    create(
        &base,
        json!({"Deliverables": {"rich_text": [{"text": {"content": "x", "link": {"url": link}}}]}}),
    )
    .await
    .assert_error(
        400,
        "validation_error",
        "text.link.url.length should be ≤ `2000`",
    );
}

#[tokio::test]
async fn select_adds_options_but_refuses_commas() {
    let emulator = start().await;
    let base = emulator.url();
    let first = create(
        &base,
        json!({"Agent Name": {"select": {"name": "planner"}}}),
    )
    .await;
    let option = first.json["properties"]["Agent Name"]["select"].clone();
    assert_eq!(option["name"], "planner");
    let schema = api(&base, "GET", &format!("/v1/data_sources/{HUB}"), None)
        .await
        .json;
    assert_eq!(
        schema["properties"]["Agent Name"]["select"]["options"][0]["id"], option["id"],
        "the new option joins the schema"
    );
    let again = create(
        &base,
        json!({"Agent Name": {"select": {"name": "planner"}}}),
    )
    .await;
    assert_eq!(
        again.json["properties"]["Agent Name"]["select"]["id"], option["id"],
        "an existing option is reused"
    );
    let by_id = create(
        &base,
        json!({"Agent Name": {"select": {"id": option["id"]}}}),
    )
    .await;
    assert_eq!(
        by_id.json["properties"]["Agent Name"]["select"]["name"],
        "planner"
    );
    create(&base, json!({"Agent Name": {"select": {"name": "a,b"}}}))
        .await
        .assert_error(400, "validation_error", "commas");
    let cleared = create(&base, json!({"Agent Name": {"select": null}})).await;
    assert_eq!(
        cleared.json["properties"]["Agent Name"]["select"],
        Value::Null
    );
    let tags = create_task(
        &base,
        "tags",
        json!({"Tags": {"multi_select": [{"name": "ci"}, {"name": "prod"}]}}),
    )
    .await;
    assert_eq!(
        tags.json["properties"]["Tags"]["multi_select"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_refused_write_adds_no_option() {
    let emulator = start().await;
    let base = emulator.url();
    create(
        &base,
        json!({"Agent Name": {"select": {"name": "ghost"}}, "Lines Generated": {"number": "1"}}),
    )
    .await;
    let schema = api(&base, "GET", &format!("/v1/data_sources/{HUB}"), None)
        .await
        .json;
    assert_eq!(
        schema["properties"]["Agent Name"]["select"]["options"],
        json!([])
    );
}

#[tokio::test]
async fn status_options_must_exist() {
    let emulator = start().await;
    let base = emulator.url();
    let ok = create_task(
        &base,
        "status",
        json!({"State": {"status": {"name": "Doing"}}}),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["properties"]["State"]["status"]["id"], "s2");
    create_task(
        &base,
        "status",
        json!({"State": {"status": {"name": "Paused"}}}),
    )
    .await
    .assert_error(400, "validation_error", "Invalid status option");
}

#[tokio::test]
async fn scalar_types_are_checked() {
    let emulator = start().await;
    let base = emulator.url();
    create_task(&base, "n", json!({"Score": {"number": "1"}}))
        .await
        .assert_error(
            400,
            "validation_error",
            "body.properties.Score.number should be a number or `null`, instead was `\"1\"`.",
        );
    assert_eq!(
        create_task(&base, "n", json!({"Score": {"number": null}}))
            .await
            .status,
        200
    );
    create_task(&base, "c", json!({"Done": {"checkbox": "true"}}))
        .await
        .assert_error(
            400,
            "validation_error",
            "body.properties.Done.checkbox should be a boolean",
        );
    let url = format!("https://e.com/{}", "u".repeat(2000));
    create_task(&base, "u", json!({"Link": {"url": url}}))
        .await
        .assert_error(
            400,
            "validation_error",
            "body.properties.Link.url.length should be ≤ `2000`",
        );
    let mail = format!("{}@e.com", "m".repeat(200));
    create_task(&base, "m", json!({"Mail": {"email": mail}}))
        .await
        .assert_error(400, "validation_error", "≤ `200`");
    let ok = create_task(&base, "ok", json!({"Done": {"checkbox": true}, "Link": {"url": "https://e.com"}, "Score": {"number": 3}})).await;
    assert_eq!(ok.json["properties"]["Done"]["checkbox"], true);
}

#[tokio::test]
async fn dates_need_an_iso_start() {
    let emulator = start().await;
    let base = emulator.url();
    create_task(&base, "d", json!({"Due": {"date": {"end": "2025-10-02"}}}))
        .await
        .assert_error(
            400,
            "validation_error",
            "body.properties.Due.date.start should be defined",
        );
    create_task(
        &base,
        "d",
        json!({"Due": {"date": {"start": "next tuesday"}}}),
    )
    .await
    .assert_error(
        400,
        "validation_error",
        "body.properties.Due.date.start should be a valid ISO 8601 date string",
    );
    let ok = create_task(&base, "d", json!({"Due": {"date": {"start": "2025-10-01", "end": "2025-10-02T10:00:00+02:00", "time_zone": null}}})).await;
    assert_eq!(
        ok.json["properties"]["Due"]["date"],
        json!({"start": "2025-10-01", "end": "2025-10-02T10:00:00.000+02:00", "time_zone": null})
    );
}

#[tokio::test]
async fn relations_name_existing_pages_of_the_related_source() {
    let emulator = start().await;
    let base = emulator.url();
    let target = create_hub_page(&base, "target", json!({})).await;
    let target_id = target["id"].as_str().unwrap();
    let linked = create(
        &base,
        json!({"Related Notion Items": {"relation": [{"id": target_id.replace('-', "")}]}}),
    )
    .await;
    assert_eq!(
        linked.json["properties"]["Related Notion Items"]["relation"],
        json!([{"id": target_id}])
    );
    create(&base, json!({"Related Notion Items": {"relation": [{"id": "00000000-0000-4000-8000-000000000009"}]}}))
        .await
        .assert_error(400, "validation_error", "Could not find page with ID: 00000000-0000-4000-8000-000000000009");
    let task = create_task(&base, "t", json!({})).await.json;
    create(
        &base,
        json!({"Related Notion Items": {"relation": [{"id": task["id"]}]}}),
    )
    .await
    .assert_error(400, "validation_error", "is not in the data source");
    let many: Vec<Value> = (0..101).map(|_| json!({"id": target_id})).collect();
    create(&base, json!({"Related Notion Items": {"relation": many}}))
        .await
        .assert_error(
            400,
            "validation_error",
            "relation.length should be ≤ `100`, instead was `101`.",
        );
}

#[tokio::test]
async fn relations_show_25_with_has_more() {
    let emulator = start().await;
    let base = emulator.url();
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(json!({"id": create_hub_page(&base, &format!("t{i}"), json!({})).await["id"]}));
    }
    let page = create(&base, json!({"Related Notion Items": {"relation": ids}}))
        .await
        .json;
    let relation = &page["properties"]["Related Notion Items"];
    assert_eq!(relation["relation"].as_array().unwrap().len(), 25);
    assert_eq!(relation["has_more"], true);
}

#[tokio::test]
async fn read_only_types_are_refused() {
    let emulator = start().await;
    let base = emulator.url();
    create_task(
        &base,
        "f",
        json!({"Computed": {"formula": {"string": "x"}}}),
    )
    .await
    .assert_error(400, "validation_error", "Computed is a formula property");
    create_task(
        &base,
        "f",
        json!({"Created": {"created_time": "2025-01-01"}}),
    )
    .await
    .assert_error(
        400,
        "validation_error",
        "Created is a created_time property",
    );
    let page = create_task(&base, "f", json!({})).await.json;
    assert_eq!(
        page["properties"]["Created"]["created_time"],
        page["created_time"]
    );
}

#[tokio::test]
async fn archived_is_gone_in_2026_03_11() {
    let emulator = start().await;
    let base = emulator.url();
    let page = create_hub_page(&base, "v", json!({})).await;
    let id = page["id"].as_str().unwrap();
    assert_eq!(page["archived"], false);
    let answer = api_as(
        &base,
        "2026-03-11",
        "PATCH",
        &format!("/v1/pages/{id}"),
        Some(json!({"archived": true})),
    )
    .await;
    answer.assert_error(
        400,
        "validation_error",
        "body.archived should be not present",
    );
    let answer = api_as(&base, "2026-03-11", "GET", &format!("/v1/pages/{id}"), None).await;
    assert!(answer.json.get("archived").is_none());
    assert_eq!(answer.json["in_trash"], false);
}

#[tokio::test]
async fn too_many_blocks_are_refused() {
    let emulator = start().await;
    let base = emulator.url();
    let blocks: Vec<Value> = (0..1001)
        .map(|_| json!({"type": "paragraph", "paragraph": {"rich_text": []}}))
        .collect();
    let body = json!({"parent": {"data_source_id": HUB}, "properties": {}, "children": blocks});
    api(&base, "POST", "/v1/pages", Some(body))
        .await
        .assert_error(400, "validation_error", "1000");
}
