//! The browser view at `/`: data sources and their pages, newest first, refreshed every 2 s from
//! `GET /_emulator/snapshot`, with a control per select/status property to change it as a person
//! would (through `PATCH /_emulator/pages/{id}`). No external assets.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::json_response;
use crate::richtext::plain_text;
use crate::schema::{DataSource, Property};
use crate::server::EmulatorState;
use crate::store::{Author, Page};
use crate::timestamps::minute;

/// `GET /`.
pub async fn index() -> Response {
    let mut response = INDEX.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// `GET /_emulator/snapshot`: what the view shows, as JSON.
pub async fn snapshot(State(state): State<EmulatorState>) -> Response {
    let store = state.store();
    let sources: Vec<Value> = store
        .data_sources
        .iter()
        .map(|source| {
            let mut pages: Vec<&Page> = store
                .pages
                .iter()
                .filter(|p| p.data_source == source.id)
                .collect();
            pages.sort_by_key(|p| std::cmp::Reverse(p.seq));
            json!({
                "id": source.id.to_string(),
                "databaseId": source.database_id.to_string(),
                "name": source.name,
                "properties": source.properties.iter().map(property_summary).collect::<Vec<_>>(),
                "pages": pages.iter().map(|p| page_summary(source, p)).collect::<Vec<_>>(),
            })
        })
        .collect();
    json_response(200, &json!({ "dataSources": sources }), "")
}

fn property_summary(property: &Property) -> Value {
    let options: Vec<&Value> = property.options().iter().map(|o| &o["name"]).collect();
    json!({"id": property.id, "name": property.name, "type": property.kind, "options": options})
}

fn page_summary(source: &DataSource, page: &Page) -> Value {
    let values: serde_json::Map<String, Value> = source
        .properties
        .iter()
        .filter(|p| p.kind != "title")
        .map(|p| {
            (
                p.name.clone(),
                json!(display(&page.property_json(p)[&p.kind], &p.kind)),
            )
        })
        .collect();
    json!({
        "id": page.id.to_string(),
        "url": page.url(source),
        "title": page.title(source),
        "createdTime": minute(page.created),
        "lastEditedTime": minute(page.edited),
        "lastEditedBy": if page.edited_by == Author::Person { "person" } else { "bot" },
        "inTrash": page.in_trash,
        "values": values,
    })
}

/// A value as one line of text.
fn display(value: &Value, kind: &str) -> String {
    match kind {
        "rich_text" => plain_text(value),
        "select" | "status" => value["name"].as_str().unwrap_or_default().to_owned(),
        "multi_select" => value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["name"].as_str())
            .collect::<Vec<_>>()
            .join(", "),
        "date" => match (value["start"].as_str(), value["end"].as_str()) {
            (Some(start), Some(end)) => format!("{start} → {end}"),
            (Some(start), None) => start.to_owned(),
            _ => String::new(),
        },
        "relation" | "people" => match value.as_array().map_or(0, Vec::len) {
            0 => String::new(),
            n => format!("{n} linked"),
        },
        _ => match value {
            Value::Null => String::new(),
            Value::String(text) => text.clone(),
            other => other.to_string(),
        },
    }
}

const INDEX: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Notion emulator</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.muted{color:#777;font-size:12px}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #e3e3e3;padding:6px 8px;vertical-align:top;text-align:left}
th{background:#f3f3f3;font-weight:600}tr.trash{opacity:.45}
.details{font-size:12px;color:#555;max-width:480px}.details b{color:#333;font-weight:600}
a{color:#2a6ad3;text-decoration:none}select{font:inherit}
</style></head><body>
<h1>Notion emulator</h1>
<div class="muted">Token <code>ntn_emulator_dev_token</code> · refreshes every 2 s · <span id="status"></span></div>
<div id="sources"></div>
<script>
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node[k] = v;
  for (const child of children) node.append(child);
  return node;
};
async function setOption(pageId, property, type, name) {
  const value = name === "" ? null : { name };
  const body = { properties: { [property]: { [type]: value } } };
  const response = await fetch(`/_emulator/pages/${pageId}`, {
    method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  if (!response.ok) alert((await response.json()).message);
  refresh();
}
function optionControl(page, property) {
  const select = el("select", { onchange: (e) => setOption(page.id, property.name, property.type, e.target.value) });
  select.append(el("option", { value: "", textContent: "—" }));
  for (const name of property.options) {
    select.append(el("option", { value: name, textContent: name, selected: page.values[property.name] === name }));
  }
  return select;
}
function render(data) {
  const root = document.getElementById("sources");
  root.replaceChildren();
  for (const source of data.dataSources) {
    const choices = source.properties.filter((p) => p.type === "select" || p.type === "status");
    const others = source.properties.filter((p) => p.type !== "title" && !choices.includes(p));
    root.append(el("h2", {}, `${source.name} `, el("span", { className: "muted", textContent: `data source ${source.id} · ${source.pages.length} pages` })));
    const head = el("tr", {}, el("th", { textContent: "Title" }), ...choices.map((p) => el("th", { textContent: p.name })),
      el("th", { textContent: "Details" }), el("th", { textContent: "Last edited" }));
    const table = el("table", {}, head);
    for (const page of source.pages) {
      const details = el("div", { className: "details" });
      for (const p of others) {
        const v = page.values[p.name];
        if (v !== "" && v !== undefined) details.append(el("div", {}, el("b", { textContent: `${p.name}: ` }), v));
      }
      table.append(el("tr", { className: page.inTrash ? "trash" : "" },
        el("td", {}, el("a", { href: page.url, textContent: page.title || "Untitled", title: page.id })),
        ...choices.map((p) => el("td", {}, optionControl(page, p))),
        el("td", {}, details),
        el("td", { className: "muted", textContent: `${page.lastEditedTime} by ${page.lastEditedBy}` })));
    }
    root.append(table);
  }
}
async function refresh() {
  // A select being changed keeps its value: re-rendering now would reset it.
  if (document.activeElement && document.activeElement.tagName === "SELECT") return;
  try {
    const response = await fetch("/_emulator/snapshot");
    render(await response.json());
    document.getElementById("status").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    document.getElementById("status").textContent = `unreachable: ${error}`;
  }
}
refresh();
setInterval(refresh, 2000);
</script></body></html>
"#;
