//! The emulator's state: databases, data sources and pages, and how a page is written as Notion
//! answers it. Writes go through `validate` first; this module never checks a client's input.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::compact;
use crate::richtext::plain_text;
use crate::schema::{DataSource, Database, Property};
use crate::timestamps::minute;

/// Most references Notion returns in one relation value; the rest is behind `has_more`.
const MAX_REFERENCES: usize = 25;

/// Who made a change: the integration (through `/v1/`) or a person (through the UI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Author {
    Bot,
    Person,
}

impl Author {
    pub fn id(self) -> &'static str {
        match self {
            Self::Bot => crate::BOT_USER,
            Self::Person => crate::PERSON_USER,
        }
    }

    /// The user object Notion puts in `created_by`/`last_edited_by`.
    pub fn user(self) -> Value {
        json!({"object": "user", "id": self.id()})
    }

    /// The `type` of this author in webhook events.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Bot => "bot",
            Self::Person => "person",
        }
    }
}

/// A row of a data source.
#[derive(Clone, Debug)]
pub struct Page {
    pub id: Uuid,
    pub data_source: Uuid,
    pub database: Uuid,
    /// Creation order; breaks ties between pages created in the same minute.
    pub seq: u64,
    pub created: OffsetDateTime,
    pub edited: OffsetDateTime,
    pub created_by: Author,
    pub edited_by: Author,
    pub in_trash: bool,
    pub is_locked: bool,
    pub icon: Value,
    pub cover: Value,
    /// Values by property id, already in the form Notion answers them.
    pub values: HashMap<String, Value>,
}

impl Page {
    /// The plain text of the title, used for the URL slug and the browser view.
    pub fn title(&self, source: &DataSource) -> String {
        source
            .title_property()
            .map(|p| plain_text(&self.values.get(&p.id).cloned().unwrap_or_default()))
            .unwrap_or_default()
    }

    /// `https://www.notion.so/<slug>-<id without dashes>`, as Notion builds page URLs.
    pub fn url(&self, source: &DataSource) -> String {
        let slug: String = self
            .title(source)
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        if slug.is_empty() {
            format!("https://www.notion.so/{}", compact(self.id))
        } else {
            format!("https://www.notion.so/{slug}-{}", compact(self.id))
        }
    }

    /// The value of one property as Notion answers it (`{id, type, <type>: ...}`).
    pub fn property_json(&self, property: &Property) -> Value {
        let kind = property.kind.as_str();
        let mut out = json!({"id": property.id, "type": kind});
        let stored = self.values.get(&property.id);
        let value = match kind {
            "created_time" => json!(minute(self.created)),
            "last_edited_time" => json!(minute(self.edited)),
            "created_by" => self.created_by.user(),
            "last_edited_by" => self.edited_by.user(),
            "unique_id" => json!({"prefix": property.config["prefix"], "number": self.seq}),
            "formula" => json!({"type": "string", "string": null}),
            "rollup" => json!({"type": "array", "array": [], "function": "show_original"}),
            "button" => json!({}),
            "relation" => {
                let all = stored
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                out["has_more"] = json!(all.len() > MAX_REFERENCES);
                Value::Array(all.into_iter().take(MAX_REFERENCES).collect())
            }
            _ => stored.cloned().unwrap_or_else(|| empty_value(kind)),
        };
        out[kind] = value;
        out
    }

    /// The page object. `only` limits the properties (`filter_properties`).
    pub fn to_json(&self, source: &DataSource, version: &str, only: Option<&[String]>) -> Value {
        let properties: Map<String, Value> = source
            .properties
            .iter()
            .filter(|p| only.is_none_or(|ids| ids.contains(&p.id)))
            .map(|p| (p.name.clone(), self.property_json(p)))
            .collect();
        let parent = if version == "2022-06-28" {
            json!({"type": "database_id", "database_id": self.database.to_string()})
        } else {
            json!({"type": "data_source_id", "data_source_id": self.data_source.to_string(), "database_id": self.database.to_string()})
        };
        let mut page = json!({
            "object": "page",
            "id": self.id.to_string(),
            "created_time": minute(self.created),
            "last_edited_time": minute(self.edited),
            "created_by": self.created_by.user(),
            "last_edited_by": self.edited_by.user(),
            "cover": self.cover,
            "icon": self.icon,
            "parent": parent,
            "in_trash": self.in_trash,
            "is_archived": self.in_trash,
            "is_locked": self.is_locked,
            "properties": properties,
            "url": self.url(source),
            "public_url": null,
        });
        // 2026-03-11 dropped `archived` in favour of `in_trash`.
        if version != "2026-03-11" {
            page["archived"] = json!(self.in_trash);
        }
        page
    }
}

/// The value of a property a page has never set.
pub fn empty_value(kind: &str) -> Value {
    match kind {
        "title" | "rich_text" | "multi_select" | "people" | "files" | "relation" => json!([]),
        "checkbox" => json!(false),
        _ => Value::Null,
    }
}

/// Everything the emulator holds.
#[derive(Clone, Debug, Default)]
pub struct Store {
    pub databases: Vec<Database>,
    pub data_sources: Vec<DataSource>,
    pub pages: Vec<Page>,
    pub next_seq: u64,
}

impl Store {
    pub fn data_source(&self, id: Uuid) -> Option<&DataSource> {
        self.data_sources.iter().find(|s| s.id == id)
    }

    pub fn data_source_mut(&mut self, id: Uuid) -> Option<&mut DataSource> {
        self.data_sources.iter_mut().find(|s| s.id == id)
    }

    pub fn database(&self, id: Uuid) -> Option<&Database> {
        self.databases.iter().find(|d| d.id == id)
    }

    pub fn sources_of(&self, database: &Database) -> Vec<&DataSource> {
        database
            .data_sources
            .iter()
            .filter_map(|id| self.data_source(*id))
            .collect()
    }

    pub fn page(&self, id: Uuid) -> Option<&Page> {
        self.pages.iter().find(|p| p.id == id)
    }

    pub fn page_mut(&mut self, id: Uuid) -> Option<&mut Page> {
        self.pages.iter_mut().find(|p| p.id == id)
    }

    /// Adds a data source, and its database if new.
    pub fn add_data_source(&mut self, source: DataSource, database_title: &str) {
        match self
            .databases
            .iter_mut()
            .find(|d| d.id == source.database_id)
        {
            Some(database) => database.data_sources.push(source.id),
            None => self.databases.push(Database {
                id: source.database_id,
                title: database_title.to_owned(),
                data_sources: vec![source.id],
                created: source.created,
            }),
        }
        self.data_sources.retain(|s| s.id != source.id);
        self.data_sources.push(source);
    }
}
