//! CONTRACT 4 end to end: the Standard Webhooks vectors of `tests/vectors/standard-webhooks.json`
//! and every negative case, the seed scheme, the timestamp window, rotation and
//! `requiretimestamp`, as a client of `POST /api/NotionWebhook` sees them.

use base64::Engine as _;
use nexus_core::signature::{Secret, sign_seed, sign_standard};
use nexus_tests::{
    Answer, SECRET, Stack, bytes_of, full_event, now_secs, root, seed_headers, standard_headers,
    text,
};
use serde_json::{Value, json};

/// One Standard Webhooks vector of the shared file.
struct Vector {
    secret: String,
    id: String,
    timestamp: i64,
    body: Vec<u8>,
    signature: String,
}

fn vectors() -> Vec<Vector> {
    let path = root().join("tests/vectors/standard-webhooks.json");
    let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    file["standardWebhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Vector {
            secret: v["secret"].as_str().unwrap().into(),
            id: v["id"].as_str().unwrap().into(),
            timestamp: v["timestamp"].as_i64().unwrap(),
            body: v["body"].as_str().unwrap().as_bytes().to_vec(),
            signature: v["signature"].as_str().unwrap().into(),
        })
        .collect()
}

/// A stack that takes `secret` and any timestamp (the vectors' are years old).
async fn timeless_stack(secret: &str) -> Stack {
    let secret = secret.to_string();
    Stack::start_with(move |vars| {
        vars.insert("webhooksecret".into(), secret);
        vars.insert("signaturetolerance".into(), "100000000000".into());
    })
    .await
}

/// Header names and values.
type Headers = Vec<(&'static str, String)>;

fn headers(id: Option<&str>, ts: Option<&str>, sig: Option<&str>) -> Headers {
    let mut h = Vec::new();
    if let Some(id) = id {
        h.push(("webhook-id", id.to_string()));
    }
    if let Some(ts) = ts {
        h.push(("webhook-timestamp", ts.to_string()));
    }
    if let Some(sig) = sig {
        h.push(("webhook-signature", sig.to_string()));
    }
    h
}

/// The signature was accepted: the vectors' bodies are not events, so the edge, which verifies
/// before it validates, answers 400 naming the missing fields.
fn assert_accepted(answer: &Answer, case: &str) {
    assert_eq!(answer.status, 400, "{case}: {}", text(answer));
    let body = answer.json();
    assert_eq!(body["error"], "invalid_payload", "{case}");
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["sessionId", "agentName", "status"], "{case}");
}

fn assert_refused(answer: &Answer, case: &str) {
    assert_eq!(answer.status, 401, "{case}: {}", text(answer));
    // Nothing beyond the kind: no detail that would help an attacker.
    assert_eq!(
        answer.json(),
        json!({"success": false, "error": "invalid_signature"}),
        "{case}"
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{case}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_standard_webhooks_vector_verifies() {
    for v in vectors() {
        let stack = timeless_stack(&v.secret).await;
        let answer = stack
            .post_with(
                &headers(
                    Some(&v.id),
                    Some(&v.timestamp.to_string()),
                    Some(&v.signature),
                ),
                &v.body,
            )
            .await;
        assert_accepted(&answer, &v.id);
        // Our signer computes the same signature as the reference libraries.
        assert_eq!(
            sign_standard(
                &Secret::parse(&v.secret).unwrap(),
                &v.id,
                v.timestamp,
                &v.body
            ),
            v.signature
        );
        assert_eq!(
            stack.stats().await["requests"],
            0,
            "a refused body never reaches Notion"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_negative_case_of_the_canonical_vector_is_401() {
    let v = &vectors()[0];
    let stack = timeless_stack(&v.secret).await;
    let ts = v.timestamp.to_string();
    let (id, sig) = (v.id.as_str(), v.signature.as_str());
    let encoded = sig.strip_prefix("v1,").unwrap();
    let raw = base64_decode(encoded);
    let truncated = format!("v1,{}", base64_encode(&raw[..raw.len() - 1]));
    let over_long = format!("v1,{}", base64_encode(&[raw.as_slice(), &[0]].concat()));
    let mut flipped = raw.clone();
    flipped[0] ^= 1;
    let wrong = format!("v1,{}", base64_encode(&flipped));
    let decoys_only = format!(
        "v1,{} v2,{encoded} v1a,{encoded} v1,Zm9v",
        base64_encode(&flipped)
    );
    let cases: Vec<(&str, Headers, Vec<u8>)> = vec![
        (
            "webhook-id missing",
            headers(None, Some(&ts), Some(sig)),
            v.body.clone(),
        ),
        (
            "webhook-timestamp missing",
            headers(Some(id), None, Some(sig)),
            v.body.clone(),
        ),
        (
            "webhook-signature missing",
            headers(Some(id), Some(&ts), None),
            v.body.clone(),
        ),
        ("no signature header at all", Vec::new(), v.body.clone()),
        (
            "timestamp \"hello\"",
            headers(Some(id), Some("hello"), Some(sig)),
            v.body.clone(),
        ),
        (
            "timestamp changed by one second",
            headers(Some(id), Some(&(v.timestamp + 1).to_string()), Some(sig)),
            v.body.clone(),
        ),
        (
            "another webhook-id",
            headers(Some("msg_other"), Some(&ts), Some(sig)),
            v.body.clone(),
        ),
        (
            "a webhook-id with a dot",
            headers(Some("msg.1"), Some(&ts), Some(sig)),
            v.body.clone(),
        ),
        (
            "wrong signature",
            headers(Some(id), Some(&ts), Some(&wrong)),
            v.body.clone(),
        ),
        (
            "empty signature `v1,`",
            headers(Some(id), Some(&ts), Some("v1,")),
            v.body.clone(),
        ),
        (
            "truncated signature",
            headers(Some(id), Some(&ts), Some(&truncated)),
            v.body.clone(),
        ),
        (
            "over-long signature",
            headers(Some(id), Some(&ts), Some(&over_long)),
            v.body.clone(),
        ),
        (
            "no version",
            headers(Some(id), Some(&ts), Some(encoded)),
            v.body.clone(),
        ),
        (
            "the right bytes under v2 and v1a only, among decoys",
            headers(Some(id), Some(&ts), Some(&decoys_only)),
            v.body.clone(),
        ),
        (
            "signature as hex",
            headers(Some(id), Some(&ts), Some(&format!("v1,{}", hex(&raw)))),
            v.body.clone(),
        ),
        (
            "tampered body",
            headers(Some(id), Some(&ts), Some(sig)),
            br#"{"test": 2432232315}"#.to_vec(),
        ),
        (
            "body with a trailing newline",
            headers(Some(id), Some(&ts), Some(sig)),
            [v.body.as_slice(), b"\n"].concat(),
        ),
        (
            "empty body",
            headers(Some(id), Some(&ts), Some(sig)),
            Vec::new(),
        ),
    ];
    for (case, h, body) in cases {
        assert_refused(&stack.post_with(&h, &body).await, case);
    }

    // The valid signature hidden among decoys, one of them `v2,...`: accepted.
    let decoys = format!("v1,{} v2,{encoded} {sig} v1,Zm9v", base64_encode(&flipped));
    assert_accepted(
        &stack
            .post_with(&headers(Some(id), Some(&ts), Some(&decoys)), &v.body)
            .await,
        "decoys",
    );
    assert_eq!(stack.stats().await["requests"], 0);

    // A wrong secret: the second vector's.
    let other = timeless_stack(&vectors()[1].secret).await;
    assert_refused(
        &other
            .post_with(&headers(Some(id), Some(&ts), Some(sig)), &v.body)
            .await,
        "wrong secret",
    );
    // The secret without its whsec_ prefix is another key (its raw text, CONTRACT 4).
    let bare = timeless_stack(v.secret.strip_prefix("whsec_").unwrap()).await;
    assert_refused(
        &bare
            .post_with(&headers(Some(id), Some(&ts), Some(sig)), &v.body)
            .await,
        "prefix dropped",
    );
    let raw_key = Secret::parse(v.secret.strip_prefix("whsec_").unwrap()).unwrap();
    let raw_sig = sign_standard(&raw_key, id, v.timestamp, &v.body);
    assert_accepted(
        &bare
            .post_with(&headers(Some(id), Some(&ts), Some(&raw_sig)), &v.body)
            .await,
        "raw key",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timestamp_301_seconds_away_is_refused_and_299_is_not() {
    let stack = Stack::start().await;
    let body = bytes_of(&full_event("s-window", "Completed"));
    let now = now_secs();
    for (case, ts) in [
        ("301 s old", now - 301),
        ("301 s ahead", now + 301),
        ("a day old", now - 86_400),
    ] {
        let answer = stack
            .post_with(&standard_headers(SECRET, "msg-window", ts, &body), &body)
            .await;
        assert_refused(&answer, case);
    }
    assert_eq!(stack.stats().await["requests"], 0);
    assert!(stack.pages().await.is_empty());
    // Inside the window, either way (with room for a slow machine).
    let old = stack
        .post_with(
            &standard_headers(SECRET, "msg-window-old", now - 290, &body),
            &body,
        )
        .await;
    assert_eq!(old.status, 200, "{}", text(&old));
    let ahead = stack
        .post_with(
            &standard_headers(SECRET, "msg-window-ahead", now + 290, &body),
            &body,
        )
        .await;
    assert_eq!(ahead.status, 200, "{}", text(&ahead));
    assert_eq!(stack.pages().await.len(), 1);

    // The window follows `signaturetolerance`.
    let strict = Stack::start_with(|vars| {
        vars.insert("signaturetolerance".into(), "10".into());
    })
    .await;
    let answer = strict
        .post_with(
            &standard_headers(SECRET, "msg-strict", now - 60, &body),
            &body,
        )
        .await;
    assert_refused(&answer, "60 s old with a 10 s window");
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_scheme_negative_cases_are_401() {
    let stack = Stack::start().await;
    let body = bytes_of(&full_event("s-seed-neg", "Completed"));
    let good = sign_seed(&Secret::parse(SECRET).unwrap(), &body);
    let hex_part = good.strip_prefix("v1=").unwrap();
    let wrong = sign_seed(&Secret::parse("another secret").unwrap(), &body);
    let cases: Vec<(&str, String, Vec<u8>)> = vec![
        ("wrong secret", wrong, body.clone()),
        ("empty", "v1=".into(), body.clone()),
        ("truncated", format!("v1={}", &hex_part[..62]), body.clone()),
        ("no prefix", hex_part.to_string(), body.clone()),
        (
            "GitHub's prefix",
            format!("sha256={hex_part}"),
            body.clone(),
        ),
        ("not hex", format!("v1={}", "z".repeat(64)), body.clone()),
        (
            "tampered body",
            good.clone(),
            bytes_of(&full_event("s-seed-neg", "Failed")),
        ),
    ];
    for (case, header, body) in cases {
        assert_refused(
            &stack
                .post_with(&[("notion-signature", header)], &body)
                .await,
            case,
        );
    }
    // A stripped or broken Standard Webhooks header does not fall back to the seed signature:
    // no downgrade to the scheme without a timestamp.
    let mut h = seed_headers(SECRET, &body);
    h.push(("webhook-id", "msg-x".into()));
    assert_refused(
        &stack.post_with(&h, &body).await,
        "seed signature beside a partial Standard header",
    );
    assert!(stack.pages().await.is_empty());
    // And the right one is accepted.
    let answer = stack.post_with(&[("notion-signature", good)], &body).await;
    assert_eq!(answer.status, 200, "{}", text(&answer));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_correctly_signed_body_that_is_not_utf8_is_400_not_401() {
    let stack = Stack::start().await;
    let body = b"{\"sessionId\": \"\xff\xfe\"}".to_vec();
    let answer = stack
        .post_with(
            &standard_headers(SECRET, "msg-bytes", now_secs(), &body),
            &body,
        )
        .await;
    assert_eq!(answer.status, 400, "{}", text(&answer));
    assert_eq!(answer.json()["error"], "invalid_payload");
    let answer = stack.post_with(&seed_headers(SECRET, &body), &body).await;
    assert_eq!(answer.status, 400, "{}", text(&answer));
}

#[tokio::test(flavor = "multi_thread")]
async fn requiretimestamp_refuses_the_seed_scheme_alone() {
    let stack = Stack::start_with(|vars| {
        vars.insert("requiretimestamp".into(), "true".into());
    })
    .await;
    let body = bytes_of(&full_event("s-require", "Completed"));
    assert_refused(
        &stack.post_seed(&body).await,
        "seed scheme with requiretimestamp=true",
    );
    assert!(stack.pages().await.is_empty());
    // Both schemes at once, as `nexus` sends them: the Standard one carries the timestamp.
    let mut both = seed_headers(SECRET, &body);
    both.extend(standard_headers(SECRET, "msg-require", now_secs(), &body));
    let answer = stack.post_with(&both, &body).await;
    assert_eq!(answer.status, 200, "{}", text(&answer));
    assert_eq!(stack.pages().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_of_several_secrets_verifies_during_a_rotation() {
    const OLD: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const PLAIN: &str = "a-plain-secret-without-prefix";
    let secrets = format!("  {OLD}\n{SECRET}\t{PLAIN} ");
    let stack = Stack::start_with(move |vars| {
        vars.insert("webhooksecret".into(), secrets);
    })
    .await;
    for (i, secret) in [OLD, SECRET, PLAIN].into_iter().enumerate() {
        let body = bytes_of(&full_event(&format!("s-rot-{i}"), "Completed"));
        let answer = stack
            .post_with(
                &standard_headers(secret, &format!("msg-rot-{i}"), now_secs(), &body),
                &body,
            )
            .await;
        assert_eq!(
            answer.status,
            200,
            "standard, secret {i}: {}",
            text(&answer)
        );
        let body = bytes_of(&full_event(&format!("s-rot-seed-{i}"), "Completed"));
        let answer = stack.post_with(&seed_headers(secret, &body), &body).await;
        assert_eq!(answer.status, 200, "seed, secret {i}: {}", text(&answer));
    }
    assert_eq!(stack.pages().await.len(), 6);
    // A sender that signs with the old and the new key at once (Standard Webhooks rotation).
    let body = bytes_of(&full_event("s-rot-both", "Completed"));
    let ts = now_secs();
    let both = format!(
        "{} {}",
        sign_standard(
            &Secret::parse("whsec_dW5rbm93bg==").unwrap(),
            "msg-both",
            ts,
            &body
        ),
        sign_standard(&Secret::parse(OLD).unwrap(), "msg-both", ts, &body)
    );
    let answer = stack
        .post_with(
            &headers(Some("msg-both"), Some(&ts.to_string()), Some(&both)),
            &body,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", text(&answer));
    // A secret outside the list does not verify.
    let body = bytes_of(&full_event("s-rot-out", "Completed"));
    let answer = stack
        .post_with(
            &standard_headers("whsec_dW5rbm93bg==", "msg-out", now_secs(), &body),
            &body,
        )
        .await;
    assert_refused(&answer, "a retired secret");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}
