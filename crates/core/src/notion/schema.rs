//! A data source's schema: the properties the writer formats values for.
//!
//! Read from `GET /v1/data_sources/{id}` and kept in a key-value cache as compact JSON, so the
//! edge does not fetch it on every request.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The type of a data source property, as far as the writer cares.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PropertyKind {
    /// `title` (exactly one per data source).
    Title,
    /// `rich_text`.
    RichText,
    /// `select`.
    Select,
    /// `status`.
    Status,
    /// `date`.
    Date,
    /// `number`.
    Number,
    /// `relation`.
    Relation,
    /// `multi_select`.
    MultiSelect,
    /// `url`.
    Url,
    /// `checkbox`.
    Checkbox,
    /// Any other type, by its Notion name (`formula`, `people`, ...): never written.
    Other(String),
}

impl PropertyKind {
    /// The kind for Notion's `type` string.
    pub fn from_type(t: &str) -> PropertyKind {
        match t {
            "title" => PropertyKind::Title,
            "rich_text" => PropertyKind::RichText,
            "select" => PropertyKind::Select,
            "status" => PropertyKind::Status,
            "date" => PropertyKind::Date,
            "number" => PropertyKind::Number,
            "relation" => PropertyKind::Relation,
            "multi_select" => PropertyKind::MultiSelect,
            "url" => PropertyKind::Url,
            "checkbox" => PropertyKind::Checkbox,
            other => PropertyKind::Other(other.to_string()),
        }
    }

    /// Notion's `type` string for this kind.
    pub fn as_str(&self) -> &str {
        match self {
            PropertyKind::Title => "title",
            PropertyKind::RichText => "rich_text",
            PropertyKind::Select => "select",
            PropertyKind::Status => "status",
            PropertyKind::Date => "date",
            PropertyKind::Number => "number",
            PropertyKind::Relation => "relation",
            PropertyKind::MultiSelect => "multi_select",
            PropertyKind::Url => "url",
            PropertyKind::Checkbox => "checkbox",
            PropertyKind::Other(t) => t,
        }
    }
}

/// One property of the data source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    /// Its name (the key of `properties`).
    pub name: String,
    /// Its short id.
    pub id: String,
    /// Its type.
    pub kind: PropertyKind,
    /// The option names of a select, status or multi_select (empty otherwise).
    pub options: Vec<String>,
}

/// The properties of one data source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema {
    data_source_id: String,
    properties: Vec<Property>,
}

/// Why a schema could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The bytes are not a JSON object.
    #[error("the data source answer is not a JSON object")]
    NotJson,
    /// Notion answered with an error object instead of a data source.
    #[error("Notion answered with an error instead of a data source: {0}")]
    NotionError(String),
    /// A required part is missing or has the wrong type.
    #[error("the data source has no {0}")]
    Missing(&'static str),
    /// Cached bytes written by another version, or damaged.
    #[error("the cached schema is unreadable")]
    BadCache,
}

#[derive(Serialize, Deserialize)]
struct CachedSchema {
    v: u32,
    id: String,
    properties: Vec<CachedProperty>,
}

#[derive(Serialize, Deserialize)]
struct CachedProperty {
    name: String,
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    options: Vec<String>,
}

const CACHE_VERSION: u32 = 1;

impl Schema {
    /// Reads the answer of `GET /v1/data_sources/{id}` (a 2022 `database` object, which has the
    /// same `properties`, is read too).
    pub fn from_data_source(json: &[u8]) -> Result<Schema, SchemaError> {
        let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(json) else {
            return Err(SchemaError::NotJson);
        };
        if o.get("object").and_then(Value::as_str) == Some("error") {
            let code = o.get("code").and_then(Value::as_str).unwrap_or("unknown");
            return Err(SchemaError::NotionError(code.to_string()));
        }
        let id = o
            .get("id")
            .and_then(Value::as_str)
            .ok_or(SchemaError::Missing("id"))?;
        let props = o
            .get("properties")
            .and_then(Value::as_object)
            .ok_or(SchemaError::Missing("properties object"))?;
        let mut properties = Vec::new();
        for (name, p) in props {
            let t = p.get("type").and_then(Value::as_str).unwrap_or("");
            let kind = PropertyKind::from_type(t);
            let options = p
                .get(t)
                .and_then(|config| config.get("options"))
                .and_then(Value::as_array)
                .map(|opts| {
                    opts.iter()
                        .filter_map(|o| o.get("name").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            properties.push(Property {
                name: name.clone(),
                id: p
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                kind,
                options,
            });
        }
        // The JSON map's order depends on serde_json's features; the schema's must not.
        properties.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Schema {
            data_source_id: id.to_string(),
            properties,
        })
    }

    /// The schema as compact JSON for a key-value cache.
    pub fn to_cache_bytes(&self) -> Vec<u8> {
        let cached = CachedSchema {
            v: CACHE_VERSION,
            id: self.data_source_id.clone(),
            properties: self
                .properties
                .iter()
                .map(|p| CachedProperty {
                    name: p.name.clone(),
                    id: p.id.clone(),
                    kind: p.kind.as_str().to_string(),
                    options: p.options.clone(),
                })
                .collect(),
        };
        serde_json::to_vec(&cached).expect("a schema always serializes")
    }

    /// Reads bytes written by [`Schema::to_cache_bytes`]; anything else is `BadCache` (refetch).
    pub fn from_cache_bytes(bytes: &[u8]) -> Result<Schema, SchemaError> {
        let cached: CachedSchema =
            serde_json::from_slice(bytes).map_err(|_| SchemaError::BadCache)?;
        if cached.v != CACHE_VERSION {
            return Err(SchemaError::BadCache);
        }
        Ok(Schema {
            data_source_id: cached.id,
            properties: cached
                .properties
                .into_iter()
                .map(|p| Property {
                    name: p.name,
                    id: p.id,
                    kind: PropertyKind::from_type(&p.kind),
                    options: p.options,
                })
                .collect(),
        })
    }

    /// The data source's id, as Notion wrote it.
    pub fn data_source_id(&self) -> &str {
        &self.data_source_id
    }

    /// The name of the title property (every data source has one).
    pub fn title_property(&self) -> Option<&str> {
        self.properties
            .iter()
            .find(|p| p.kind == PropertyKind::Title)
            .map(|p| p.name.as_str())
    }

    /// The property called `name`; failing that, the property whose id is `name` (Notion accepts
    /// either as a key).
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name == name).or_else(|| {
            self.properties
                .iter()
                .find(|p| !p.id.is_empty() && p.id == name)
        })
    }

    /// Every property, ordered by name.
    pub fn properties(&self) -> &[Property] {
        &self.properties
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// The emulator's "Agent Activity Hub" (CONTRACT 8), in the shape Notion answers.
    pub(crate) fn hub_json() -> Value {
        let opts = |names: &[&str]| json!({"options": names.iter().map(|n| json!({"id": n, "name": n, "color": "default"})).collect::<Vec<_>>()});
        json!({
            "object": "data_source",
            "id": "7163aa38-f3d9-444b-9674-bde61868bd2b",
            "parent": {"type": "database_id", "database_id": "x"},
            "properties": {
                "Session ID": {"id": "title", "name": "Session ID", "type": "title", "title": {}},
                "Agent Name": {"id": "a1", "name": "Agent Name", "type": "select", "select": opts(&["planner"])},
                "Status": {"id": "s1", "name": "Status", "type": "select",
                           "select": opts(&["In Progress", "Completed", "Blocked", "Failed", "Cancelled"])},
                "Start Time": {"id": "t1", "name": "Start Time", "type": "date", "date": {}},
                "End Time": {"id": "t2", "name": "End Time", "type": "date", "date": {}},
                "Duration (Minutes)": {"id": "d1", "name": "Duration (Minutes)", "type": "number", "number": {"format": "number"}},
                "Work Description": {"id": "w1", "name": "Work Description", "type": "rich_text", "rich_text": {}},
                "Files Created / Updated": {"id": "f1", "name": "Files Created / Updated", "type": "number", "number": {}},
                "Lines Generated": {"id": "l1", "name": "Lines Generated", "type": "number", "number": {}},
                "Deliverables": {"id": "dl", "name": "Deliverables", "type": "rich_text", "rich_text": {}},
                "Next Steps": {"id": "ns", "name": "Next Steps", "type": "rich_text", "rich_text": {}},
                "Performance Metrics": {"id": "pm", "name": "Performance Metrics", "type": "rich_text", "rich_text": {}},
                "Related Notion Items": {"id": "ri", "name": "Related Notion Items", "type": "relation",
                    "relation": {"data_source_id": "7163aa38-f3d9-444b-9674-bde61868bd2b", "type": "single_property"}},
                "Event ID": {"id": "ev", "name": "Event ID", "type": "rich_text", "rich_text": {}}
            }
        })
    }

    pub(crate) fn hub() -> Schema {
        Schema::from_data_source(hub_json().to_string().as_bytes()).unwrap()
    }

    #[test]
    fn reads_properties_kinds_and_options() {
        let s = hub();
        assert_eq!(s.data_source_id(), "7163aa38-f3d9-444b-9674-bde61868bd2b");
        assert_eq!(s.title_property(), Some("Session ID"));
        let status = s.property("Status").unwrap();
        assert_eq!(status.kind, PropertyKind::Select);
        assert_eq!(status.id, "s1");
        assert_eq!(status.options.len(), 5);
        assert_eq!(
            s.property("Related Notion Items").unwrap().kind,
            PropertyKind::Relation
        );
        assert_eq!(s.property("Nope"), None);
        assert_eq!(s.properties().len(), 14);
    }

    #[test]
    fn finds_a_property_by_id_too() {
        assert_eq!(hub().property("title").unwrap().name, "Session ID");
    }

    #[test]
    fn every_kind_maps_both_ways() {
        for t in [
            "title",
            "rich_text",
            "select",
            "status",
            "date",
            "number",
            "relation",
            "multi_select",
            "url",
            "checkbox",
            "formula",
        ] {
            assert_eq!(PropertyKind::from_type(t).as_str(), t);
        }
        assert_eq!(
            PropertyKind::from_type("people"),
            PropertyKind::Other("people".into())
        );
    }

    #[test]
    fn status_options_are_read_from_a_status_property() {
        let json = json!({"object": "data_source", "id": "ds", "properties": {
            "Name": {"id": "title", "type": "title", "title": {}},
            "State": {"id": "x", "type": "status", "status": {"options": [{"name": "Done"}], "groups": []}},
            "Odd": {"id": "y"}
        }});
        let s = Schema::from_data_source(json.to_string().as_bytes()).unwrap();
        assert_eq!(s.property("State").unwrap().options, vec!["Done"]);
        assert_eq!(
            s.property("Odd").unwrap().kind,
            PropertyKind::Other(String::new())
        );
    }

    #[test]
    fn refuses_errors_and_shapeless_answers() {
        assert_eq!(Schema::from_data_source(b"nope"), Err(SchemaError::NotJson));
        assert_eq!(Schema::from_data_source(b"[]"), Err(SchemaError::NotJson));
        let err =
            json!({"object": "error", "status": 404, "code": "object_not_found", "message": "m"});
        assert_eq!(
            Schema::from_data_source(err.to_string().as_bytes()),
            Err(SchemaError::NotionError("object_not_found".into()))
        );
        assert_eq!(
            Schema::from_data_source(br#"{"properties":{}}"#),
            Err(SchemaError::Missing("id"))
        );
        assert_eq!(
            Schema::from_data_source(br#"{"id":"x"}"#),
            Err(SchemaError::Missing("properties object"))
        );
        assert_eq!(
            SchemaError::Missing("id").to_string(),
            "the data source has no id"
        );
    }

    #[test]
    fn the_cache_round_trips_and_refuses_other_bytes() {
        let s = hub();
        let bytes = s.to_cache_bytes();
        assert!(!bytes.contains(&b'\n'));
        assert_eq!(Schema::from_cache_bytes(&bytes), Ok(s));
        assert_eq!(Schema::from_cache_bytes(b"{}"), Err(SchemaError::BadCache));
        assert_eq!(
            Schema::from_cache_bytes(br#"{"v":2,"id":"x","properties":[]}"#),
            Err(SchemaError::BadCache)
        );
    }
}
