//! Every row of CONTRACT 5 that is not a success, as a client of `POST /api/NotionWebhook` sees
//! it: status, JSON body, headers, and that nothing reached Notion when it should not have.

use nexus_tests::{Answer, SECRET, Stack, bytes_of, full_event, now_secs, standard_headers, text};
use serde_json::{Value, json};

fn assert_json_error(answer: &Answer, status: u16, error: &str) -> Value {
    assert_eq!(answer.status, status, "{}", text(answer));
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let body = answer.json();
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error"], error, "{body}");
    body
}

fn fields(body: &Value) -> Vec<String> {
    body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_is_not_json_is_400() {
    let stack = Stack::start().await;
    for body in [
        &b"not json"[..],
        b"",
        b"[1,2]",
        b"\"text\"",
        b"{\"sessionId\":",
    ] {
        let answer = stack.post_standard(body, "msg-notjson", now_secs()).await;
        let json = assert_json_error(&answer, 400, "invalid_payload");
        assert!(json["message"].is_string(), "{json}");
        assert!(json["fields"].is_array(), "{json}");
    }
    assert_eq!(stack.stats().await["requests"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_fields_are_400_naming_every_one() {
    let stack = Stack::start().await;
    let body = json!({
        "eventId": "",
        "agentName": 7,
        "status": "Completed",
        "startTime": "2026-12-04T10:00:00Z",
        "endTime": "2026-12-04T09:00:00Z",
        "durationMinutes": -1,
        "filesCreated": -2,
        "linesGenerated": "many",
        "deliverables": ["ok", 3],
        "performanceMetrics": [1],
        "relatedNotionItems": ["not-a-page"],
        "unknownField": "is ignored",
    });
    let answer = stack
        .post_standard(&bytes_of(&body), "msg-invalid", now_secs())
        .await;
    let json = assert_json_error(&answer, 400, "invalid_payload");
    assert_eq!(
        fields(&json),
        [
            "eventId",
            "sessionId",
            "agentName",
            "endTime",
            "durationMinutes",
            "filesCreated",
            "linesGenerated",
            "deliverables[1]",
            "performanceMetrics",
            "relatedNotionItems[0]"
        ]
    );
    for f in json["fields"].as_array().unwrap() {
        assert!(!f["problem"].as_str().unwrap().is_empty(), "{f}");
    }
    assert!(
        json["message"].as_str().unwrap().contains("10 fields"),
        "{json}"
    );
    let too_long =
        json!({"sessionId": "s".repeat(201), "agentName": "a".repeat(101), "status": "Completed"});
    let answer = stack
        .post_standard(&bytes_of(&too_long), "msg-long", now_secs())
        .await;
    assert_eq!(
        fields(&assert_json_error(&answer, 400, "invalid_payload")),
        ["sessionId", "agentName"]
    );
    assert_eq!(
        stack.stats().await["requests"],
        0,
        "nothing invalid reaches Notion"
    );

    // A status the data source's Status property does not offer.
    let answer = stack
        .post_standard(
            &bytes_of(&full_event("s-status", "Exploded")),
            "msg-status",
            now_secs(),
        )
        .await;
    let json = assert_json_error(&answer, 400, "invalid_payload");
    assert_eq!(fields(&json), ["status"]);
    assert!(stack.pages().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsigned_request_is_401() {
    let stack = Stack::start().await;
    let body = bytes_of(&full_event("s-unsigned", "Completed"));
    let answer = stack.post_with(&[], &body).await;
    let json = assert_json_error(&answer, 401, "invalid_signature");
    assert_eq!(
        json,
        json!({"success": false, "error": "invalid_signature"})
    );
    assert_eq!(stack.stats().await["requests"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_method_other_than_post_is_405_with_allow_post() {
    let stack = Stack::start().await;
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let answer = stack
            .request(method, "/api/NotionWebhook", &[], Vec::new())
            .await;
        assert_json_error(&answer, 405, "method_not_allowed");
        assert_eq!(answer.header("allow"), Some("POST"), "{method}");
    }
    // Even a signed PUT of a valid event.
    let body = bytes_of(&full_event("s-put", "Completed"));
    let answer = stack
        .request(
            "PUT",
            "/api/NotionWebhook",
            &standard_headers(SECRET, "m", now_secs(), &body),
            body,
        )
        .await;
    assert_json_error(&answer, 405, "method_not_allowed");
    assert_eq!(stack.stats().await["requests"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_one_mib_is_413() {
    let stack = Stack::start().await;
    let mut event = full_event("s-big", "Completed");
    event["workDescription"] = json!("x".repeat(1 << 20));
    let body = bytes_of(&event);
    assert!(body.len() > 1 << 20);
    let answer = stack.post_standard(&body, "msg-big", now_secs()).await;
    assert_json_error(&answer, 413, "payload_too_large");
    assert_eq!(stack.stats().await["requests"], 0);

    // Just under the limit is accepted (and the description arrives whole).
    let mut event = full_event("s-almost", "Completed");
    let room = (1 << 20) - bytes_of(&event).len() - 100;
    event["workDescription"] = json!("y".repeat(room));
    let body = bytes_of(&event);
    assert!(body.len() <= 1 << 20);
    let answer = stack.post_standard(&body, "msg-almost", now_secs()).await;
    assert_eq!(answer.status, 200, "{}", text(&answer));
    let page = &stack.pages().await[0];
    // 100 pieces of 2,000 characters at most: longer text is cut with a visible marker.
    let pieces = page["properties"]["Work Description"]["rich_text"]
        .as_array()
        .unwrap();
    assert_eq!(pieces.len(), 100);
    let kept = nexus_tests::text_of(page, "Work Description");
    let kept_y = kept.chars().filter(|c| *c == 'y').count();
    let marker = format!("… [truncated: {} more characters]", room - kept_y);
    assert!(
        kept.starts_with("yyyy") && kept.ends_with(&marker),
        "{}",
        kept.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn notion_refusing_the_page_for_good_is_422() {
    let stack = Stack::start().await;
    // A validation_error from Notion, injected on the create.
    stack.faults(json!([{"method": "POST", "path": "/v1/pages", "status": 400, "code": "validation_error"}])).await;
    let answer = stack
        .post_standard(
            &bytes_of(&full_event("s-422", "Completed")),
            "msg-422",
            now_secs(),
        )
        .await;
    let json = assert_json_error(&answer, 422, "notion_rejected");
    assert_eq!(
        (json["notionStatus"].clone(), json["notionCode"].clone()),
        (json!(400), json!("validation_error"))
    );
    assert!(json["message"].is_string());
    assert!(answer.header("retry-after").is_none());

    // One Notion really gives: a relation to a page it cannot find.
    let mut event = full_event("s-422-rel", "Completed");
    event["relatedNotionItems"] = json!(["0123456789abcdef0123456789abcdef"]);
    let answer = stack
        .post_standard(&bytes_of(&event), "msg-422-rel", now_secs())
        .await;
    let json = assert_json_error(&answer, 422, "notion_rejected");
    assert_eq!(json["notionCode"], "validation_error");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("01234567-89ab-cdef-0123-456789abcdef"),
        "{json}"
    );

    // restricted_resource and object_not_found are refusals for good too.
    for (status, code) in [(403, "restricted_resource"), (404, "object_not_found")] {
        stack
            .faults(
                json!([{"method": "POST", "path": "/v1/pages", "status": status, "code": code}]),
            )
            .await;
        let answer = stack
            .post_standard(
                &bytes_of(&full_event(&format!("s-{code}"), "Completed")),
                code,
                now_secs(),
            )
            .await;
        let json = assert_json_error(&answer, 422, "notion_rejected");
        assert_eq!(
            (json["notionStatus"].clone(), json["notionCode"].clone()),
            (json!(status), json!(code))
        );
    }
    assert!(stack.pages().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn notion_unavailable_is_503_with_retry_after() {
    let stack = Stack::start().await;
    let body = bytes_of(&full_event("s-503", "Completed"));
    // Rate-limited with Retry-After: the edge passes Notion's wait on.
    stack
        .faults(json!([{"status": 429, "retryAfter": 7}]))
        .await;
    let answer = stack.post_standard(&body, "msg-429", now_secs()).await;
    let json = assert_json_error(&answer, 503, "notion_unavailable");
    assert_eq!(json["retryAfterSeconds"], 7);
    assert_eq!(answer.header("retry-after"), Some("7"));

    // 503, 529, a Cloudflare HTML 502, a 500, each on another step of the upsert.
    let rules = [
        json!({"status": 503}),
        json!({"method": "POST", "path": "/v1/data_sources", "status": 529}),
        json!({"method": "POST", "path": "/v1/pages", "status": 502}),
        json!({"method": "POST", "path": "/v1/pages", "status": 500}),
    ];
    for (i, rule) in rules.into_iter().enumerate() {
        stack.faults(json!([rule])).await;
        let answer = stack
            .post_standard(&body, &format!("msg-5xx-{i}"), now_secs())
            .await;
        let json = assert_json_error(&answer, 503, "notion_unavailable");
        let after = answer
            .header("retry-after")
            .unwrap_or_else(|| panic!("rule {i}: no retry-after"));
        assert_eq!(
            after.parse::<u64>().unwrap(),
            json["retryAfterSeconds"].as_u64().unwrap()
        );
        assert!(json["retryAfterSeconds"].as_u64().unwrap() >= 1);
    }
    assert!(stack.pages().await.is_empty());

    // The emulator's own rate limit: a burst of one, then 429 with Retry-After.
    stack
        .control("DELETE", "/_emulator/faults", Value::Null)
        .await;
    stack
        .control(
            "POST",
            "/_emulator/rate-limit",
            json!({"requestsPerSecond": 0.05, "burst": 1}),
        )
        .await;
    let answer = stack.post_standard(&body, "msg-limited", now_secs()).await;
    let json = assert_json_error(&answer, 503, "notion_unavailable");
    assert_eq!(
        answer.header("retry-after"),
        Some(json["retryAfterSeconds"].to_string().as_str())
    );
    assert!(json["retryAfterSeconds"].as_u64().unwrap() >= 10, "{json}");

    // Once Notion is back, the same delivery goes through.
    stack
        .control(
            "POST",
            "/_emulator/rate-limit",
            json!({"requestsPerSecond": 0}),
        )
        .await;
    let answer = stack.post_standard(&body, "msg-limited", now_secs()).await;
    assert_eq!(answer.status, 200, "{}", text(&answer));
    assert_eq!(stack.pages().await.len(), 1);
}

/// Starts a stack with one variable changed and posts a valid signed event.
async fn misconfigured(variable: &'static str, value: &'static str) -> (Value, Stack) {
    let stack = Stack::start_with(move |vars| {
        vars.insert(variable.to_string(), value.to_string());
    })
    .await;
    let body = bytes_of(&full_event("s-500", "Completed"));
    let answer = stack.post_standard(&body, "msg-500", now_secs()).await;
    let json = assert_json_error(&answer, 500, "misconfigured");
    (json, stack)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_invalid_variable_is_500_naming_it_never_a_secret() {
    const WRONG_TOKEN: &str = "ntn_this_token_is_not_the_emulators_0123456789";
    let cases = [
        ("notiondatasource", "", "missing"),
        ("notionapikey", "", "missing"),
        ("webhooksecret", "", "missing"),
        ("signaturetolerance", "soon", "invalid"),
        ("requiretimestamp", "sometimes", "invalid"),
        // (An invalid `notionapibase` never gets this far: it renders `allowed_outbound_hosts`,
        // so the host, like Spin, refuses to load the application.)
        ("propertymap", "{not json", "invalid"),
        ("webhooksecret", "whsec_%%%not-base64%%%", "invalid"),
        // Values Notion refuses: the token and the data source id.
        ("notionapikey", WRONG_TOKEN, "notionapikey"),
        (
            "notiondatasource",
            "00000000-0000-4000-8000-000000000000",
            "notiondatasource",
        ),
    ];
    for (variable, value, kind) in cases {
        let (json, stack) = misconfigured(variable, value).await;
        let message = json["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("`{variable}`")),
            "{variable}: {message}"
        );
        if kind != variable {
            assert!(message.contains(kind), "{variable}: {message}");
        }
        for secret in [
            SECRET,
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            notion_emulator::DEV_TOKEN,
            WRONG_TOKEN,
        ] {
            assert!(
                !message.contains(secret),
                "{variable}: the message shows a secret: {message}"
            );
        }
        if !value.is_empty() {
            assert!(
                !message.contains(value),
                "{variable}: the message shows the value: {message}"
            );
        }
        assert!(stack.pages().await.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chunked_body_over_one_mib_is_413_too() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stack = Stack::start().await;
    let mut stream = tokio::net::TcpStream::connect(stack.server.addr())
        .await
        .unwrap();
    let head = "POST /api/NotionWebhook HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
                transfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    // No content-length: the edge has to count. 17 chunks of 64 KiB, then the end.
    let chunk = vec![b'x'; 64 * 1024];
    let writer = async {
        for _ in 0..17 {
            let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
            if stream.write_all(&framed).await.is_err() {
                return stream; // The edge answered and closed early: fine.
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
        stream
    };
    let mut stream = tokio::time::timeout(std::time::Duration::from_secs(20), writer)
        .await
        .expect("not stuck");
    let mut response = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stream.read_to_end(&mut response),
    )
    .await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains(r#""error":"payload_too_large""#),
        "{response}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_route_is_404_json() {
    let stack = Stack::start().await;
    let answer = stack.request("POST", "/api/Nope", &[], Vec::new()).await;
    assert_eq!(answer.status, 404, "{}", text(&answer));
}
