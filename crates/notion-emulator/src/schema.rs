//! Databases and data sources: their schemas (properties and options), the starting
//! "Agent Activity Hub", seeds in the shape of `GET /v1/data_sources/{id}`, and their JSON.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::{compact, parse_id, percent_decode, property_id};
use crate::richtext;
use crate::timestamps::minute;

/// Property types whose values Notion computes; writes to them are refused.
pub const READ_ONLY_TYPES: [&str; 9] = [
    "formula",
    "rollup",
    "created_time",
    "created_by",
    "last_edited_time",
    "last_edited_by",
    "unique_id",
    "button",
    "verification",
];

/// Every property type a schema may hold.
pub const PROPERTY_TYPES: [&str; 23] = [
    "title",
    "rich_text",
    "number",
    "select",
    "multi_select",
    "status",
    "date",
    "people",
    "files",
    "checkbox",
    "url",
    "email",
    "phone_number",
    "relation",
    "formula",
    "rollup",
    "created_time",
    "created_by",
    "last_edited_time",
    "last_edited_by",
    "unique_id",
    "button",
    "verification",
];

/// Colors new select options cycle through, as Notion assigns them.
const COLORS: [&str; 10] = [
    "default", "gray", "brown", "orange", "yellow", "green", "blue", "purple", "pink", "red",
];

/// One property of a data source's schema.
#[derive(Clone, Debug)]
pub struct Property {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// The type's configuration, e.g. `{"options":[...]}` for a select.
    pub config: Value,
}

impl Property {
    fn new(id: &str, name: &str, kind: &str, config: Value) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            kind: kind.to_owned(),
            config,
        }
    }

    /// The options of a select, multi_select or status property.
    pub fn options(&self) -> &[Value] {
        self.config["options"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Finds an option by id or by exact name.
    pub fn option(&self, id: Option<&str>, name: Option<&str>) -> Option<&Value> {
        self.options().iter().find(|o| match (id, name) {
            (Some(id), _) => o["id"].as_str() == Some(id),
            (None, Some(name)) => o["name"].as_str() == Some(name),
            (None, None) => false,
        })
    }

    /// Adds a select option, as Notion does when a write names one that does not exist yet.
    pub fn add_option(&mut self, name: &str, color: Option<&str>) -> Value {
        let color = color.unwrap_or(COLORS[self.options().len() % COLORS.len()]);
        let option = json!({"id": Uuid::new_v4().to_string(), "name": name, "color": color, "description": null});
        if !self.config["options"].is_array() {
            self.config["options"] = json!([]);
        }
        if let Some(options) = self.config["options"].as_array_mut() {
            options.push(option.clone());
        }
        option
    }

    pub fn is_read_only(&self) -> bool {
        READ_ONLY_TYPES.contains(&self.kind.as_str())
    }

    /// The data source a relation points to.
    pub fn related_data_source(&self) -> Option<Uuid> {
        self.config["data_source_id"].as_str().and_then(parse_id)
    }

    fn to_json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "description": "", "type": self.kind, self.kind.clone(): self.config})
    }
}

/// A table of pages with one schema.
#[derive(Clone, Debug)]
pub struct DataSource {
    pub id: Uuid,
    pub database_id: Uuid,
    pub name: String,
    pub properties: Vec<Property>,
    pub created: OffsetDateTime,
}

impl DataSource {
    /// Resolves a property key as Notion does: by name, or by id (encoded or not).
    pub fn property(&self, key: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name == key).or_else(|| {
            let decoded = percent_decode(key);
            self.properties
                .iter()
                .find(|p| p.id == key || percent_decode(&p.id) == decoded)
        })
    }

    pub fn property_mut(&mut self, id: &str) -> Option<&mut Property> {
        self.properties.iter_mut().find(|p| p.id == id)
    }

    pub fn title_property(&self) -> Option<&Property> {
        self.properties.iter().find(|p| p.kind == "title")
    }

    pub fn url(&self) -> String {
        format!("https://www.notion.so/{}", compact(self.database_id))
    }

    pub fn to_json(&self, bot: &Value) -> Value {
        let properties: Map<String, Value> = self
            .properties
            .iter()
            .map(|p| (p.name.clone(), p.to_json()))
            .collect();
        json!({
            "object": "data_source",
            "id": self.id.to_string(),
            "created_time": minute(self.created),
            "last_edited_time": minute(self.created),
            "created_by": bot,
            "last_edited_by": bot,
            "title": [richtext::plain(&self.name)],
            "description": [],
            "icon": null,
            "cover": null,
            "parent": {"type": "database_id", "database_id": self.database_id.to_string()},
            "database_parent": {"type": "workspace", "workspace": true},
            "is_inline": false,
            "archived": false,
            "in_trash": false,
            "url": self.url(),
            "public_url": null,
            "properties": properties,
        })
    }
}

/// A container of data sources.
#[derive(Clone, Debug)]
pub struct Database {
    pub id: Uuid,
    pub title: String,
    pub data_sources: Vec<Uuid>,
    pub created: OffsetDateTime,
}

impl Database {
    /// `GET /v1/databases/{id}`; under 2022-06-28 a database still shows its (first) schema.
    pub fn to_json(&self, sources: &[&DataSource], bot: &Value, version: &str) -> Value {
        let mut body = json!({
            "object": "database",
            "id": self.id.to_string(),
            "title": [richtext::plain(&self.title)],
            "description": [],
            "icon": null,
            "cover": null,
            "parent": {"type": "workspace", "workspace": true},
            "is_inline": false,
            "in_trash": false,
            "archived": false,
            "is_locked": false,
            "created_time": minute(self.created),
            "last_edited_time": minute(self.created),
            "created_by": bot,
            "last_edited_by": bot,
            "url": format!("https://www.notion.so/{}", compact(self.id)),
            "public_url": null,
        });
        if version == "2022-06-28" {
            if let Some(first) = sources.first() {
                body["properties"] = first.to_json(bot)["properties"].clone();
            }
        } else {
            body["data_sources"] = sources
                .iter()
                .map(|s| json!({"id": s.id.to_string(), "name": s.name}))
                .collect::<Vec<_>>()
                .into();
        }
        body
    }
}

fn options(names: &[(&str, &str)]) -> Value {
    let list: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, (name, color))| json!({"id": format!("opt-{}", i + 1), "name": name, "color": color, "description": null}))
        .collect();
    json!({ "options": list })
}

/// The data source every emulator starts with (CONTRACT 3 and 8).
pub fn agent_activity_hub(id: Uuid, database_id: Uuid, created: OffsetDateTime) -> DataSource {
    let status = options(&[
        ("In Progress", "blue"),
        ("Completed", "green"),
        ("Blocked", "red"),
        ("Failed", "orange"),
        ("Cancelled", "gray"),
    ]);
    let relation = json!({
        "database_id": database_id.to_string(),
        "data_source_id": id.to_string(),
        "type": "single_property",
        "single_property": {},
    });
    let properties = vec![
        Property::new("title", "Session ID", "title", json!({})),
        Property::new("%3AUPp", "Agent Name", "select", json!({"options": []})),
        Property::new("s%5Ct%3F", "Status", "select", status),
        Property::new("%40Hbq", "Start Time", "date", json!({})),
        Property::new("O%7B%5Dy", "End Time", "date", json!({})),
        Property::new(
            "BJ%3Bh",
            "Duration (Minutes)",
            "number",
            json!({"format": "number"}),
        ),
        Property::new("gx%3Ak", "Work Description", "rich_text", json!({})),
        Property::new(
            "Lr%5Ef",
            "Files Created / Updated",
            "number",
            json!({"format": "number"}),
        ),
        Property::new(
            "%7DnIa",
            "Lines Generated",
            "number",
            json!({"format": "number"}),
        ),
        Property::new("Wc%5Cv", "Deliverables", "rich_text", json!({})),
        Property::new("vX%3Fs", "Next Steps", "rich_text", json!({})),
        Property::new("%3Ez%5Bo", "Performance Metrics", "rich_text", json!({})),
        Property::new("rNi%40", "Related Notion Items", "relation", relation),
        Property::new("eVt%3D", "Event ID", "rich_text", json!({})),
    ];
    DataSource {
        id,
        database_id,
        name: "Agent Activity Hub".into(),
        properties,
        created,
    }
}

/// A seeded data source and the database it names (or `None` to get a fresh one).
pub struct Seed {
    pub source: DataSource,
    pub database: Option<(Uuid, String)>,
}

/// Reads one data source in the shape of `GET /v1/data_sources/{id}`.
pub fn parse_seed(value: &Value, created: OffsetDateTime) -> Result<Seed, String> {
    let id = value["id"]
        .as_str()
        .and_then(parse_id)
        .ok_or("a seeded data source needs an `id` that is a UUID")?;
    let name = seed_title(value).unwrap_or_else(|| "Untitled".into());
    let database = value["parent"]["database_id"].as_str().map(|db| {
        parse_id(db).map(|db| (db, name.clone())).ok_or(format!(
            "data source {id}: parent.database_id is not a UUID"
        ))
    });
    let database = database.transpose()?;
    let database_id = database.as_ref().map_or_else(Uuid::new_v4, |(db, _)| *db);
    let map = value["properties"]
        .as_object()
        .ok_or(format!("data source {id}: `properties` must be an object"))?;
    let mut properties = Vec::new();
    for (key, spec) in map {
        properties.push(seed_property(id, key, spec, &properties)?);
    }
    if properties.iter().filter(|p| p.kind == "title").count() != 1 {
        return Err(format!(
            "data source {id}: exactly one property must have type `title`"
        ));
    }
    Ok(Seed {
        source: DataSource {
            id,
            database_id,
            name,
            properties,
            created,
        },
        database,
    })
}

fn seed_title(value: &Value) -> Option<String> {
    if let Some(items) = value["title"].as_array() {
        let text: String = items
            .iter()
            .filter_map(|i| {
                i["plain_text"]
                    .as_str()
                    .or_else(|| i["text"]["content"].as_str())
            })
            .collect();
        return Some(text);
    }
    value["name"].as_str().map(str::to_owned)
}

fn seed_property(
    source: Uuid,
    key: &str,
    spec: &Value,
    taken: &[Property],
) -> Result<Property, String> {
    let kind = spec["type"].as_str().ok_or(format!(
        "data source {source}: property `{key}` needs a `type`"
    ))?;
    if !PROPERTY_TYPES.contains(&kind) {
        return Err(format!(
            "data source {source}: property `{key}` has unknown type `{kind}`"
        ));
    }
    let name = spec["name"].as_str().unwrap_or(key);
    let id = match (kind, spec["id"].as_str()) {
        ("title", _) => "title".to_owned(),
        (_, Some(id)) => id.to_owned(),
        (_, None) => (0..)
            .map(|salt| property_id(name, salt))
            .find(|id| taken.iter().all(|p| &p.id != id))
            .unwrap_or_default(),
    };
    let mut config = spec.get(kind).cloned().unwrap_or_else(|| json!({}));
    if kind == "relation" && config["data_source_id"].is_null() {
        config["data_source_id"] = json!(source.to_string());
    }
    Ok(Property::new(&id, name, kind, config))
}
