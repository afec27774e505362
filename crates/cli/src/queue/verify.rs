//! `nexus queue verify`: reconciles the queue's proofs of delivery (synced receipts still in the
//! main file, and the delivery log compaction keeps) with Notion: every delivered entry has its
//! page and the page's title is the entry's Session ID; lists what is missing or duplicated.
//! It reads Notion directly, so it needs `NEXUS_NOTION_TOKEN` and `NEXUS_NOTION_DATA_SOURCE`.

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use nexus_core::notion::{NotionClient, NotionRequest};
use nexus_queue::State;
use nexus_queue::scan::LineReader;
use serde_json::{Value, json};

use crate::settings::Settings;

struct Delivered {
    event_id: String,
    session_id: Option<String>,
    page_id: Option<String>,
}

/// Runs `nexus queue verify`.
pub fn run(settings: &Settings, json_out: bool) -> anyhow::Result<ExitCode> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let (Some(token), Some(ds)) = (env("NEXUS_NOTION_TOKEN"), env("NEXUS_NOTION_DATA_SOURCE"))
    else {
        bail!("set NEXUS_NOTION_TOKEN and NEXUS_NOTION_DATA_SOURCE: verify reads Notion directly");
    };
    let base = env("NEXUS_NOTION_API_BASE").unwrap_or_else(|| "https://api.notion.com".into());
    let queue = settings.queue();
    let mut expected: Vec<Delivered> = Vec::new();
    let delivered_log = queue.paths().delivered();
    if let Ok(f) = std::fs::File::open(&delivered_log) {
        let mut r = LineReader::new(f);
        while let Some((_, line)) = r.next_line()? {
            if let Ok(v) = serde_json::from_slice::<Value>(line) {
                let s = |k: &str| v[k].as_str().map(str::to_owned);
                if let Some(event_id) = s("eventId") {
                    expected.push(Delivered {
                        event_id,
                        session_id: s("sessionId"),
                        page_id: s("pageId"),
                    });
                }
            }
        }
    }
    for q in queue.entries()? {
        if q.state == State::Synced {
            expected.push(Delivered {
                event_id: q.entry.event_id.clone(),
                session_id: q.entry.event_str("sessionId").map(str::to_owned),
                page_id: q.delivery.page_id.clone(),
            });
        }
    }

    // Every page of the data source: id -> title.
    let client = NotionClient::new(token);
    let agent = crate::delivery::agent(Duration::from_secs(30));
    let mut titles: HashMap<String, String> = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut body = json!({"page_size": 100});
        if let Some(c) = &cursor {
            body["start_cursor"] = json!(c);
        }
        let req = NotionRequest {
            body: Some(body.to_string().into_bytes()),
            ..NotionRequest::query_by_title(&ds, "", "")
        };
        let url = format!("{}{}", base.trim_end_matches('/'), req.path);
        let mut call = agent.post(&url);
        for (k, v) in client.headers(&req) {
            call = call.header(k, v);
        }
        let mut resp = call
            .send(req.body.as_deref().unwrap_or_default())
            .with_context(|| format!("querying {url}"))?;
        let status = resp.status().as_u16();
        let v: Value = resp
            .body_mut()
            .read_json()
            .context("reading Notion's answer")?;
        if status != 200 {
            bail!(
                "Notion answered {status}: {}",
                v["message"].as_str().unwrap_or("")
            );
        }
        for page in v["results"].as_array().into_iter().flatten() {
            let Some(id) = page["id"].as_str() else {
                continue;
            };
            let title = page["properties"]
                .as_object()
                .into_iter()
                .flat_map(|o| o.values())
                .find(|p| p["type"] == "title")
                .and_then(|p| p["title"].as_array())
                .map(|t| {
                    t.iter()
                        .filter_map(|x| x["plain_text"].as_str())
                        .collect::<String>()
                })
                .unwrap_or_default();
            titles.insert(id.to_string(), title);
        }
        match v["next_cursor"].as_str() {
            Some(c) if v["has_more"] == true => cursor = Some(c.to_string()),
            _ => break,
        }
    }
    let mut pages_by_title: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, title) in &titles {
        pages_by_title
            .entry(title.as_str())
            .or_default()
            .push(id.as_str());
    }

    let mut missing = Vec::new();
    let mut mismatched = Vec::new();
    let mut sessions = std::collections::BTreeSet::new();
    for d in &expected {
        if let Some(s) = &d.session_id {
            sessions.insert(s.as_str());
        }
        match d.page_id.as_deref().and_then(|p| titles.get(p).map(|t| (p, t))) {
            None => missing.push(json!({"eventId": d.event_id, "sessionId": d.session_id, "pageId": d.page_id})),
            Some((p, title)) if Some(title.as_str()) != d.session_id.as_deref() => mismatched.push(
                json!({"eventId": d.event_id, "sessionId": d.session_id, "pageId": p, "pageTitle": title}),
            ),
            Some(_) => {}
        }
    }
    let duplicated: Vec<Value> = sessions
        .iter()
        .filter_map(|s| {
            let pages = pages_by_title.get(s)?;
            (pages.len() > 1).then(|| json!({"sessionId": s, "pages": pages}))
        })
        .collect();
    let ok = missing.is_empty() && mismatched.is_empty() && duplicated.is_empty();
    if json_out {
        println!(
            "{}",
            json!({"checked": expected.len(), "ok": ok, "missing": missing,
                   "mismatched": mismatched, "duplicated": duplicated})
        );
    } else {
        println!(
            "checked {} delivered entries against {} pages: {} missing, {} with another Session ID, {} sessions with several pages",
            expected.len(),
            titles.len(),
            missing.len(),
            mismatched.len(),
            duplicated.len()
        );
        for m in &missing {
            println!(
                "missing     {} (session {}, page {})",
                m["eventId"], m["sessionId"], m["pageId"]
            );
        }
        for m in &mismatched {
            println!(
                "mismatched  {} (session {}, page {} titled {})",
                m["eventId"], m["sessionId"], m["pageId"], m["pageTitle"]
            );
        }
        for d in &duplicated {
            println!(
                "duplicated  session {} on pages {}",
                d["sessionId"], d["pages"]
            );
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
