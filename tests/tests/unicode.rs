//! Text beyond ASCII end to end: emoji and CJK in every text field, signed as UTF-8 bytes by both
//! schemes, and long descriptions (cut into Notion's 2,000-character pieces) arriving whole.

use nexus_tests::{Stack, bytes_of, now_secs, select_of, text, text_of};
use serde_json::{Value, json};

fn rich_text_pieces(page: &Value, property: &str) -> Vec<String> {
    page["properties"][property]["rich_text"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"]["content"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn emoji_and_cjk_reach_every_text_property_with_both_schemes() {
    let stack = Stack::start().await;
    for (scheme, suffix) in [("standard", "甲"), ("seed", "乙")] {
        let event = json!({
            "eventId": format!("事件-🎯-{suffix}"),
            "sessionId": format!("会话-🚀-{suffix}"),
            "agentName": "规划者 🤖 エージェント",
            "status": "Completed",
            "workDescription": "重构了解析器 🦀, 添加了测试 ✅; テストを追加しました 👩‍👩‍👧‍👦 한국어 \u{0301}é",
            "deliverables": ["报告.md 📄", "テスト ✅"],
            "nextSteps": ["审查 👀", "部署 🚢"],
            "performanceMetrics": "速度: 快 ⚡ 𝟘𝟙𝟚",
        });
        let body = bytes_of(&event);
        let answer = match scheme {
            "standard" => {
                stack
                    .post_standard(&body, &format!("msg-unicode-{scheme}"), now_secs())
                    .await
            }
            _ => stack.post_seed(&body).await,
        };
        assert_eq!(answer.status, 200, "{scheme}: {}", text(&answer));
        let answer = answer.json();
        assert_eq!(answer["warnings"], json!([]), "{scheme}");
        let page = stack.page(answer["pageId"].as_str().unwrap()).await;
        assert_eq!(text_of(&page, "Session ID"), event["sessionId"], "{scheme}");
        assert_eq!(
            select_of(&page, "Agent Name").as_deref(),
            event["agentName"].as_str(),
            "{scheme}"
        );
        assert_eq!(
            text_of(&page, "Work Description"),
            event["workDescription"],
            "{scheme}"
        );
        assert_eq!(
            text_of(&page, "Deliverables"),
            "报告.md 📄\nテスト ✅",
            "{scheme}"
        );
        assert_eq!(text_of(&page, "Next Steps"), "审查 👀\n部署 🚢", "{scheme}");
        assert_eq!(
            text_of(&page, "Performance Metrics"),
            event["performanceMetrics"],
            "{scheme}"
        );
        assert_eq!(text_of(&page, "Event ID"), event["eventId"], "{scheme}");
    }
    // Performance metrics as a JSON object keep their unicode too.
    let event = json!({
        "sessionId": "会话-🚀-甲", "agentName": "规划者 🤖 エージェント", "status": "Completed",
        "endTime": "2030-01-01T00:00:00Z",
        "performanceMetrics": {"速度": "快 ⚡"},
    });
    let answer = stack
        .post_standard(&bytes_of(&event), "msg-unicode-object", now_secs())
        .await;
    assert_eq!(answer.status, 200, "{}", text(&answer));
    assert_eq!(answer.json()["action"], "updated");
    let page = stack.page(answer.json()["pageId"].as_str().unwrap()).await;
    assert_eq!(text_of(&page, "Performance Metrics"), r#"{"速度":"快 ⚡"}"#);
    assert_eq!(stack.pages().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_5000_character_description_arrives_whole() {
    let stack = Stack::start().await;
    let descriptions = [
        (
            "ascii",
            (0..5000)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect::<String>(),
        ),
        // Two UTF-16 units each: Notion's 2,000-unit limit cuts these into 1,000-emoji pieces.
        ("emoji", "🦀🚀✅👀".repeat(1250)),
        (
            "cjk and emoji",
            "解析器テスト🦀한".repeat(834).chars().take(5000).collect(),
        ),
    ];
    for (case, description) in descriptions {
        assert_eq!(description.chars().count(), 5000, "{case}");
        let event = json!({
            "sessionId": format!("s-long-{case}"), "agentName": "writer", "status": "Completed",
            "workDescription": description,
        });
        let answer = stack
            .post_standard(
                &bytes_of(&event),
                &format!("msg-long-{}", case.replace(' ', "-")),
                now_secs(),
            )
            .await;
        assert_eq!(answer.status, 200, "{case}: {}", text(&answer));
        let page = stack.page(answer.json()["pageId"].as_str().unwrap()).await;
        let pieces = rich_text_pieces(&page, "Work Description");
        assert_eq!(pieces.concat(), description, "{case}: not whole");
        assert!(pieces.len() >= 3, "{case}: {} pieces", pieces.len());
        for piece in &pieces {
            assert!(
                piece.chars().count() <= 2000 && piece.encode_utf16().count() <= 2000,
                "{case}"
            );
        }
        assert_eq!(text_of(&page, "Work Description"), description, "{case}");
    }
}
