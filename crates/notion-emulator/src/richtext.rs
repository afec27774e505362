//! Rich text arrays: the checks Notion applies to each item (lengths, shape) and the fields it
//! fills in its answers (`plain_text`, default `annotations`, `href`).

use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// Longest `text.content` and `link.url` Notion accepts.
pub const MAX_TEXT: usize = 2000;
/// Most items in one rich text array.
pub const MAX_ITEMS: usize = 100;
const MAX_EQUATION: usize = 1000;
const ANNOTATIONS: [&str; 5] = ["bold", "italic", "strikethrough", "underline", "code"];

/// Notion measures lengths as JavaScript does, in UTF-16 code units.
pub fn js_length(text: &str) -> usize {
    text.encode_utf16().count()
}

/// A plain text item, as Notion answers it.
pub fn plain(content: &str) -> Value {
    json!({
        "type": "text",
        "text": {"content": content, "link": null},
        "annotations": default_annotations(),
        "plain_text": content,
        "href": null,
    })
}

fn default_annotations() -> Value {
    json!({"bold": false, "italic": false, "strikethrough": false, "underline": false, "code": false, "color": "default"})
}

/// Validates a rich text array at `path` (e.g. `body.properties.X.rich_text`) and returns it filled in.
pub fn normalise_array(path: &str, value: &Value) -> Result<Value, ApiError> {
    let items = value
        .as_array()
        .ok_or_else(|| ApiError::body(path, "should be an array", value))?;
    if items.len() > MAX_ITEMS {
        return Err(too_long(&format!("{path}.length"), MAX_ITEMS, items.len()));
    }
    let normalised: Result<Vec<Value>, ApiError> = items
        .iter()
        .enumerate()
        .map(|(i, item)| normalise_item(&format!("{path}[{i}]"), item))
        .collect();
    Ok(Value::Array(normalised?))
}

/// The plain text of a rich text array.
pub fn plain_text(value: &Value) -> String {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["plain_text"].as_str())
        .collect()
}

fn too_long(path: &str, limit: usize, actual: usize) -> ApiError {
    ApiError::validation(format!(
        "body failed validation: {path} should be ≤ `{limit}`, instead was `{actual}`."
    ))
}

fn normalise_item(path: &str, item: &Value) -> Result<Value, ApiError> {
    let object = item
        .as_object()
        .ok_or_else(|| ApiError::body(path, "should be an object", item))?;
    let annotations = annotations(path, object.get("annotations"))?;
    let kind = object.get("type").and_then(Value::as_str);
    match kind {
        Some("text") | None if object.contains_key("text") => {
            text_item(path, &object["text"], annotations)
        }
        Some("equation") | None if object.contains_key("equation") => {
            equation_item(path, &object["equation"], annotations)
        }
        Some("mention") | None if object.contains_key("mention") => Ok(json!({
            "type": "mention",
            "mention": object["mention"],
            "annotations": annotations,
            "plain_text": object.get("plain_text").cloned().unwrap_or(json!("")),
            "href": null,
        })),
        _ => Err(ApiError::body_missing(&format!("{path}.text"))),
    }
}

fn text_item(path: &str, text: &Value, annotations: Value) -> Result<Value, ApiError> {
    let content = text["content"]
        .as_str()
        .ok_or_else(|| match text.get("content") {
            None => ApiError::body_missing(&format!("{path}.text.content")),
            Some(other) => {
                ApiError::body(&format!("{path}.text.content"), "should be a string", other)
            }
        })?;
    let length = js_length(content);
    if length > MAX_TEXT {
        return Err(too_long(
            &format!("{path}.text.content.length"),
            MAX_TEXT,
            length,
        ));
    }
    let link = link(path, text.get("link"))?;
    let href = link.get("url").cloned().unwrap_or(Value::Null);
    Ok(json!({
        "type": "text",
        "text": {"content": content, "link": link},
        "annotations": annotations,
        "plain_text": content,
        "href": href,
    }))
}

fn link(path: &str, link: Option<&Value>) -> Result<Value, ApiError> {
    let Some(link) = link.filter(|l| !l.is_null()) else {
        return Ok(Value::Null);
    };
    let url = link["url"].as_str().ok_or_else(|| {
        ApiError::body(
            &format!("{path}.text.link.url"),
            "should be a string",
            &link["url"],
        )
    })?;
    if js_length(url) > MAX_TEXT {
        return Err(too_long(
            &format!("{path}.text.link.url.length"),
            MAX_TEXT,
            js_length(url),
        ));
    }
    Ok(json!({ "url": url }))
}

fn equation_item(path: &str, equation: &Value, annotations: Value) -> Result<Value, ApiError> {
    let expression = equation["expression"].as_str().ok_or_else(|| {
        ApiError::body(
            &format!("{path}.equation.expression"),
            "should be a string",
            &equation["expression"],
        )
    })?;
    if js_length(expression) > MAX_EQUATION {
        return Err(too_long(
            &format!("{path}.equation.expression.length"),
            MAX_EQUATION,
            js_length(expression),
        ));
    }
    Ok(json!({
        "type": "equation",
        "equation": {"expression": expression},
        "annotations": annotations,
        "plain_text": expression,
        "href": null,
    }))
}

fn annotations(path: &str, given: Option<&Value>) -> Result<Value, ApiError> {
    let mut result = default_annotations();
    let Some(given) = given else {
        return Ok(result);
    };
    let object: &Map<String, Value> = given.as_object().ok_or_else(|| {
        ApiError::body(&format!("{path}.annotations"), "should be an object", given)
    })?;
    for (key, value) in object {
        let valid = if key == "color" {
            value.is_string()
        } else {
            ANNOTATIONS.contains(&key.as_str()) && value.is_boolean()
        };
        if !valid {
            return Err(ApiError::body(
                &format!("{path}.annotations.{key}"),
                "should be a boolean or a color",
                value,
            ));
        }
        result[key] = value.clone();
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_plain_text_annotations_and_href() {
        let out = normalise_array(
            "p",
            &json!([{"text": {"content": "hi", "link": {"url": "https://x.y"}}}]),
        )
        .unwrap();
        assert_eq!(out[0]["plain_text"], "hi");
        assert_eq!(out[0]["href"], "https://x.y");
        assert_eq!(out[0]["annotations"]["color"], "default");
    }

    #[test]
    fn counts_utf16_units() {
        assert_eq!(js_length("😀"), 2);
    }
}
