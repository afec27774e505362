//! `POST /v1/data_sources/{id}/query`: filters, sorts, pagination and their checks (item 17).

mod common;

use common::*;
use serde_json::{Value, json};

async fn query(base: &str, source: &str, body: Value) -> Answer {
    api(
        base,
        "POST",
        &format!("/v1/data_sources/{source}/query"),
        Some(body),
    )
    .await
}

fn names(answer: &Answer, property: &str) -> Vec<String> {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["properties"][property]["title"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["plain_text"].as_str().unwrap())
                .collect()
        })
        .collect()
}

async fn seed_hub(base: &str) {
    create_hub_page(base, "alpha-1", json!({"Status": {"select": {"name": "Blocked"}}, "Lines Generated": {"number": 5}, "Start Time": {"date": {"start": "2025-10-01T08:00:00Z"}}, "Event ID": {"rich_text": [{"text": {"content": "evt-1"}}]}})).await;
    create_hub_page(base, "alpha-2", json!({"Status": {"select": {"name": "Completed"}}, "Lines Generated": {"number": 50}, "Start Time": {"date": {"start": "2025-10-02T08:00:00Z"}}})).await;
    create_hub_page(base, "beta-3", json!({"Lines Generated": {"number": 500}})).await;
}

#[tokio::test]
async fn text_filters() {
    let emulator = start().await;
    let base = emulator.url();
    seed_hub(&base).await;
    let by = |filter: Value| query(&base, HUB, json!({ "filter": filter }));
    assert_eq!(
        names(
            &by(json!({"property": "Session ID", "title": {"equals": "alpha-2"}})).await,
            "Session ID"
        ),
        ["alpha-2"]
    );
    assert_eq!(
        names(
            &by(json!({"property": "title", "rich_text": {"starts_with": "beta"}})).await,
            "Session ID"
        ),
        ["beta-3"]
    );
    assert_eq!(
        names(
            &by(json!({"property": "Session ID", "title": {"ends_with": "-1"}})).await,
            "Session ID"
        ),
        ["alpha-1"]
    );
    assert_eq!(
        names(
            &by(json!({"property": "Session ID", "title": {"contains": "lpha"}})).await,
            "Session ID"
        )
        .len(),
        2
    );
    assert_eq!(
        names(
            &by(json!({"property": "Session ID", "title": {"does_not_equal": "alpha-1"}})).await,
            "Session ID"
        )
        .len(),
        2
    );
    assert_eq!(
        names(
            &by(json!({"property": "Event ID", "rich_text": {"equals": "evt-1"}})).await,
            "Session ID"
        ),
        ["alpha-1"]
    );
    assert_eq!(
        names(
            &by(json!({"property": "Event ID", "rich_text": {"is_empty": true}})).await,
            "Session ID"
        )
        .len(),
        2
    );
    assert_eq!(
        names(
            &by(json!({"property": "Event ID", "rich_text": {"is_not_empty": true}})).await,
            "Session ID"
        ),
        ["alpha-1"]
    );
}

#[tokio::test]
async fn select_number_date_and_compound_filters() {
    let emulator = start().await;
    let base = emulator.url();
    seed_hub(&base).await;
    let by = |filter: Value| query(&base, HUB, json!({ "filter": filter }));
    assert_eq!(
        names(
            &by(json!({"property": "Status", "select": {"equals": "Blocked"}})).await,
            "Session ID"
        ),
        ["alpha-1"]
    );
    assert_eq!(
        names(
            &by(json!({"property": "Status", "select": {"does_not_equal": "Blocked"}})).await,
            "Session ID"
        )
        .len(),
        2
    );
    assert_eq!(
        names(
            &by(json!({"property": "Status", "select": {"is_empty": true}})).await,
            "Session ID"
        ),
        ["beta-3"]
    );
    assert_eq!(
        names(
            &by(json!({"property": "Status", "select": {"is_not_empty": true}})).await,
            "Session ID"
        )
        .len(),
        2
    );
    assert_eq!(
        names(
            &by(json!({"property": "Lines Generated", "number": {"greater_than": 10}})).await,
            "Session ID"
        )
        .len(),
        2
    );
    assert_eq!(
        names(
            &by(json!({"property": "Lines Generated", "number": {"less_than_or_equal_to": 5}}))
                .await,
            "Session ID"
        ),
        ["alpha-1"]
    );
    assert_eq!(
        names(
            &by(json!({"property": "Start Time", "date": {"after": "2025-10-01T12:00:00Z"}})).await,
            "Session ID"
        ),
        ["alpha-2"]
    );
    assert_eq!(
        names(
            &by(json!({"property": "Start Time", "date": {"equals": "2025-10-01"}})).await,
            "Session ID"
        ),
        ["alpha-1"]
    );
    assert_eq!(
        names(
            &by(json!({"property": "Start Time", "date": {"is_empty": true}})).await,
            "Session ID"
        ),
        ["beta-3"]
    );
    let and = json!({"and": [{"property": "Session ID", "title": {"starts_with": "alpha"}}, {"property": "Lines Generated", "number": {"greater_than": 10}}]});
    assert_eq!(names(&by(and).await, "Session ID"), ["alpha-2"]);
    let or = json!({"or": [{"property": "Status", "select": {"equals": "Blocked"}}, {"property": "Lines Generated", "number": {"equals": 500}}]});
    assert_eq!(names(&by(or).await, "Session ID").len(), 2);
    let recent =
        json!({"timestamp": "created_time", "created_time": {"on_or_after": "2020-01-01"}});
    assert_eq!(names(&by(recent).await, "Session ID").len(), 3);
    let done = create_task(&base, "done", json!({"Done": {"checkbox": true}})).await;
    assert_eq!(done.status, 200);
    create_task(&base, "open", json!({})).await;
    let checked = query(
        &base,
        TASKS,
        json!({"filter": {"property": "Done", "checkbox": {"equals": true}}}),
    )
    .await;
    assert_eq!(names(&checked, "Name"), ["done"]);
}

#[tokio::test]
async fn sorts_by_property_and_timestamp() {
    let emulator = start().await;
    let base = emulator.url();
    seed_hub(&base).await;
    let default = query(&base, HUB, json!({})).await;
    assert_eq!(
        names(&default, "Session ID"),
        ["beta-3", "alpha-2", "alpha-1"],
        "newest first by default"
    );
    let by_number = query(
        &base,
        HUB,
        json!({"sorts": [{"property": "Lines Generated", "direction": "descending"}]}),
    )
    .await;
    assert_eq!(
        names(&by_number, "Session ID"),
        ["beta-3", "alpha-2", "alpha-1"]
    );
    let by_title = query(
        &base,
        HUB,
        json!({"sorts": [{"property": "Session ID", "direction": "ascending"}]}),
    )
    .await;
    assert_eq!(
        names(&by_title, "Session ID"),
        ["alpha-1", "alpha-2", "beta-3"]
    );
    let by_created = query(
        &base,
        HUB,
        json!({"sorts": [{"timestamp": "created_time", "direction": "ascending"}]}),
    )
    .await;
    assert_eq!(
        names(&by_created, "Session ID"),
        ["alpha-1", "alpha-2", "beta-3"]
    );
}

#[tokio::test]
async fn pagination_with_opaque_cursors() {
    let emulator = start().await;
    let base = emulator.url();
    for i in 0..5 {
        create_hub_page(&base, &format!("p{i}"), json!({})).await;
    }
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = query(&base, HUB, json!({"page_size": 2, "start_cursor": cursor})).await;
        assert_eq!(page.json["object"], "list");
        assert_eq!(page.json["type"], "page_or_data_source");
        assert_eq!(page.json["request_status"]["type"], "complete");
        seen.extend(names(&page, "Session ID"));
        if page.json["has_more"] == false {
            assert_eq!(page.json["next_cursor"], Value::Null);
            break;
        }
        cursor = page.json["next_cursor"].clone();
    }
    assert_eq!(seen, ["p4", "p3", "p2", "p1", "p0"]);
}

#[tokio::test]
async fn query_bodies_are_checked() {
    let emulator = start().await;
    let base = emulator.url();
    query(&base, HUB, json!({"page_size": 101}))
        .await
        .assert_error(
            400,
            "validation_error",
            "body.page_size should be ≤ `100`, instead was `101`.",
        );
    query(&base, HUB, json!({"page_size": 0}))
        .await
        .assert_error(400, "validation_error", "body.page_size should be ≥ `1`");
    query(
        &base,
        HUB,
        json!({"filter": {"property": "Nope", "rich_text": {"equals": "x"}}}),
    )
    .await
    .assert_error(
        400,
        "validation_error",
        "Could not find property with name or id: Nope",
    );
    query(
        &base,
        HUB,
        json!({"filter": {"property": "Status", "rich_text": {"equals": "x"}}}),
    )
    .await
    .assert_error(
        400,
        "validation_error",
        "body.filter.select should be defined",
    );
    query(
        &base,
        HUB,
        json!({"filter": {"property": "Status", "select": {"contains": "x"}}}),
    )
    .await
    .assert_error(400, "validation_error", "contains");
    query(&base, HUB, json!({"filter_properties": ["x"]}))
        .await
        .assert_error(
            400,
            "validation_error",
            "body.filter_properties should be not present",
        );
    query(
        &base,
        HUB,
        json!({"sorts": [{"property": "Nope", "direction": "ascending"}]}),
    )
    .await
    .assert_error(400, "validation_error", "Nope");
    query(&base, HUB, json!({"start_cursor": "nope"}))
        .await
        .assert_error(400, "validation_error", "body.start_cursor");
}

#[tokio::test]
async fn filter_properties_limits_the_answer() {
    let emulator = start().await;
    let base = emulator.url();
    seed_hub(&base).await;
    let answer = api(
        &base,
        "POST",
        &format!(
            "/v1/data_sources/{HUB}/query?filter_properties=title&filter_properties=s%255Ct%253F"
        ),
        Some(json!({})),
    )
    .await;
    let properties = answer.json["results"][0]["properties"].as_object().unwrap();
    let mut keys: Vec<&String> = properties.keys().collect();
    keys.sort();
    assert_eq!(keys, ["Session ID", "Status"]);
}
