//! Page writes: `POST /v1/pages` and `PATCH /v1/pages/{id}` (and the same edits made by a person).
//! Each write validates against a copy of the schema and commits page and schema together, so a
//! refused write leaves no trace (not even a new select option).

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ApiError;
use crate::ids::parse_id;
use crate::schema::DataSource;
use crate::store::{Author, Page, Store, empty_value};
use crate::timestamps::now;
use crate::validate::{self, MAX_BLOCKS, allowed_keys};

const CREATE_KEYS: [&str; 9] = [
    "parent",
    "properties",
    "icon",
    "cover",
    "content",
    "children",
    "markdown",
    "template",
    "position",
];
const UPDATE_KEYS: [&str; 9] = [
    "properties",
    "icon",
    "cover",
    "is_locked",
    "template",
    "erase_content",
    "in_trash",
    "archived",
    "is_archived",
];
/// 2026-03-11 removed `archived` in favour of `in_trash`.
const UPDATE_KEYS_2026: [&str; 8] = [
    "properties",
    "icon",
    "cover",
    "is_locked",
    "template",
    "erase_content",
    "in_trash",
    "is_archived",
];

/// What happened to a page, for webhook events.
#[derive(Clone, Debug)]
pub struct PageChange {
    pub page: Uuid,
    pub data_source: Uuid,
    pub database: Uuid,
    pub author: Author,
    pub kind: ChangeKind,
    pub at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ChangeKind {
    Created,
    /// The ids of the properties whose values changed.
    PropertiesUpdated(Vec<String>),
    Deleted,
    Undeleted,
}

impl ChangeKind {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Created => "page.created",
            Self::PropertiesUpdated(_) => "page.properties_updated",
            Self::Deleted => "page.deleted",
            Self::Undeleted => "page.undeleted",
        }
    }
}

/// A written page, as Notion answers it, and what changed.
pub type Written = (Value, Vec<PageChange>);

/// `POST /v1/pages`.
pub fn create(
    store: &mut Store,
    body: &Map<String, Value>,
    author: Author,
    version: &str,
) -> Result<Written, ApiError> {
    allowed_keys(body, &CREATE_KEYS)?;
    let source_id = parent(store, body.get("parent"))?;
    check_children(body.get("children"))?;
    let mut schema = store
        .data_source(source_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("data source", &source_id.to_string()))?;
    let given = body.get("properties").cloned().unwrap_or_else(|| json!({}));
    let values = validate::properties(&mut schema, &given, &|id| {
        store.page(id).map(|p| p.data_source)
    })?;
    let at = now();
    let page = Page {
        id: Uuid::new_v4(),
        data_source: source_id,
        database: schema.database_id,
        seq: store.next_seq,
        created: at,
        edited: at,
        created_by: author,
        edited_by: author,
        in_trash: false,
        is_locked: false,
        icon: object_or_null("body.icon", body.get("icon"))?,
        cover: object_or_null("body.cover", body.get("cover"))?,
        values: values.into_iter().collect(),
    };
    store.next_seq += 1;
    let answer = page.to_json(&schema, version, None);
    let change = change(&page, author, ChangeKind::Created, at);
    commit(store, schema, page);
    Ok((answer, vec![change]))
}

/// `PATCH /v1/pages/{id}`: properties not sent stay as they are.
pub fn update(
    store: &mut Store,
    id: Uuid,
    body: &Map<String, Value>,
    author: Author,
    version: &str,
) -> Result<Written, ApiError> {
    allowed_keys(
        body,
        if version == "2026-03-11" {
            &UPDATE_KEYS_2026
        } else {
            &UPDATE_KEYS
        },
    )?;
    let mut page = store
        .page(id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("page", &id.to_string()))?;
    let trash = trash_flag(body)?;
    if page.in_trash && trash != Some(false) {
        return Err(ApiError::validation(
            "Can't edit block that is archived. You must unarchive the block before editing.",
        ));
    }
    let mut schema = store
        .data_source(page.data_source)
        .cloned()
        .ok_or_else(|| ApiError::not_found("page", &id.to_string()))?;
    let values = match body.get("properties") {
        Some(given) => validate::properties(&mut schema, given, &|id| {
            store.page(id).map(|p| p.data_source)
        })?,
        None => Vec::new(),
    };
    let at = now();
    let mut changes = Vec::new();
    let changed = apply_values(&mut page, &schema, values);
    if !changed.is_empty() {
        changes.push(change(
            &page,
            author,
            ChangeKind::PropertiesUpdated(changed),
            at,
        ));
    }
    if let Some(trash) = trash.filter(|t| *t != page.in_trash) {
        page.in_trash = trash;
        let kind = if trash {
            ChangeKind::Deleted
        } else {
            ChangeKind::Undeleted
        };
        changes.push(change(&page, author, kind, at));
    }
    let cosmetic = apply_cosmetics(&mut page, body)?;
    if !changes.is_empty() || cosmetic {
        page.edited = at;
        page.edited_by = author;
    }
    let answer = page.to_json(&schema, version, None);
    commit(store, schema, page);
    Ok((answer, changes))
}

/// Replaces the values given and returns the ids of those that really changed.
fn apply_values(page: &mut Page, schema: &DataSource, values: Vec<(String, Value)>) -> Vec<String> {
    let mut changed = Vec::new();
    for (id, value) in values {
        let kind = schema
            .properties
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.kind.clone())
            .unwrap_or_default();
        let old = page
            .values
            .get(&id)
            .cloned()
            .unwrap_or_else(|| empty_value(&kind));
        if old != value {
            changed.push(id.clone());
        }
        page.values.insert(id, value);
    }
    changed
}

/// Icon, cover and lock: edits that change no property.
fn apply_cosmetics(page: &mut Page, body: &Map<String, Value>) -> Result<bool, ApiError> {
    let mut changed = false;
    if body.contains_key("icon") {
        page.icon = object_or_null("body.icon", body.get("icon"))?;
        changed = true;
    }
    if body.contains_key("cover") {
        page.cover = object_or_null("body.cover", body.get("cover"))?;
        changed = true;
    }
    if let Some(lock) = body.get("is_locked") {
        page.is_locked = lock
            .as_bool()
            .ok_or_else(|| ApiError::body("body.is_locked", "should be a boolean", lock))?;
        changed = true;
    }
    Ok(changed)
}

fn commit(store: &mut Store, schema: DataSource, page: Page) {
    if let Some(source) = store.data_source_mut(schema.id) {
        *source = schema;
    }
    match store.page_mut(page.id) {
        Some(existing) => *existing = page,
        None => store.pages.push(page),
    }
}

fn change(page: &Page, author: Author, kind: ChangeKind, at: OffsetDateTime) -> PageChange {
    PageChange {
        page: page.id,
        data_source: page.data_source,
        database: page.database,
        author,
        kind,
        at,
    }
}

/// `in_trash`, or its older spellings `archived` and `is_archived`.
fn trash_flag(body: &Map<String, Value>) -> Result<Option<bool>, ApiError> {
    let mut flag = None;
    for key in ["in_trash", "archived", "is_archived"] {
        match body.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => flag = Some(*b),
            Some(other) => {
                return Err(ApiError::body(
                    &format!("body.{key}"),
                    "should be a boolean",
                    other,
                ));
            }
        }
    }
    Ok(flag)
}

fn object_or_null(path: &str, value: Option<&Value>) -> Result<Value, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        Some(other) => Err(ApiError::body(path, "should be an object or `null`", other)),
    }
}

fn check_children(children: Option<&Value>) -> Result<(), ApiError> {
    let Some(children) = children else {
        return Ok(());
    };
    if !children.is_array() {
        return Err(ApiError::body(
            "body.children",
            "should be an array",
            children,
        ));
    }
    let count = validate::count_blocks(children);
    if count > MAX_BLOCKS {
        return Err(ApiError::validation(format!(
            "body failed validation: body.children should contain at most `{MAX_BLOCKS}` block elements, instead was `{count}`."
        )));
    }
    Ok(())
}

/// Resolves `parent` to a data source: `data_source_id`, or `database_id` of a one-source database.
fn parent(store: &Store, parent: Option<&Value>) -> Result<Uuid, ApiError> {
    let parent = parent.ok_or_else(|| ApiError::body_missing("body.parent"))?;
    let object = parent
        .as_object()
        .ok_or_else(|| ApiError::body("body.parent", "should be an object", parent))?;
    let variants: Vec<&str> = ["data_source_id", "database_id", "page_id", "workspace"]
        .into_iter()
        .filter(|k| object.contains_key(*k))
        .collect();
    if variants.len() != 1 {
        return Err(ApiError::validation(
            "body failed validation. Fix one:\nbody.parent.data_source_id should be defined, instead was `undefined`.\n\
             body.parent.database_id should be defined, instead was `undefined`.\n\
             body.parent.page_id should be defined, instead was `undefined`.\n\
             body.parent.workspace should be defined, instead was `undefined`.",
        ));
    }
    let variant = variants[0];
    if let Some(kind) = object.get("type").filter(|t| t.as_str() != Some(variant)) {
        return Err(ApiError::body(
            "body.parent.type",
            &format!("should be `\"{variant}\"`"),
            kind,
        ));
    }
    let raw = &object[variant];
    let path = format!("body.parent.{variant}");
    let id = || {
        raw.as_str()
            .and_then(parse_id)
            .ok_or_else(|| ApiError::body(&path, "should be a valid uuid", raw))
    };
    match variant {
        "data_source_id" => {
            let id = id()?;
            store
                .data_source(id)
                .map(|s| s.id)
                .ok_or_else(|| ApiError::not_found("data source", &id.to_string()))
        }
        "database_id" => database_parent(store, id()?),
        _ => Err(ApiError::validation(format!(
            "The emulator only creates pages in data sources: use parent.data_source_id (got parent.{variant})."
        ))),
    }
}

fn database_parent(store: &Store, id: Uuid) -> Result<Uuid, ApiError> {
    let database = store
        .database(id)
        .ok_or_else(|| ApiError::not_found("database", &id.to_string()))?;
    match database.data_sources.as_slice() {
        [only] => Ok(*only),
        _ => Err(ApiError::validation(format!(
            "Database {id} has several data sources: create the page with parent.data_source_id."
        ))),
    }
}
