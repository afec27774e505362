//! `spin.toml` (manifest version 2): the parts the host serves, read by Spin's rules.
//!
//! Owns parsing and checking the manifest and rendering `{{ variable }}` templates. It never
//! touches the environment: variable values come from [`crate::variables`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::HostError;

/// A parsed and checked `spin.toml`.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// `[application].name`.
    pub name: String,
    /// `[application].version`.
    pub version: String,
    /// `[variables]`: the application's variables.
    pub variables: BTreeMap<String, VariableDecl>,
    /// `[[trigger.http]]`, in manifest order.
    pub http_triggers: Vec<HttpTrigger>,
    /// `[component.<id>]`.
    pub components: BTreeMap<String, ComponentDecl>,
    /// The folder holding the manifest: component sources are relative to it.
    pub base_dir: PathBuf,
}

/// One application variable.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    /// Value used when no provider has one.
    #[serde(default)]
    pub default: Option<String>,
    /// Spin refuses to start when a required variable has no value.
    #[serde(default)]
    pub required: bool,
    /// A secret's value is never printed.
    #[serde(default)]
    pub secret: bool,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// One `[[trigger.http]]` entry.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    /// The route as written (`/api/health`, `/api/...`).
    pub route: Route,
    /// The component id it runs.
    pub component: String,
}

/// An HTTP route: exact, or a `/...` wildcard prefix.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// `/api/health` matches that path only (a trailing slash is ignored, as Spin does).
    Exact(String),
    /// `/api/...` matches `/api` and everything under it.
    Wildcard(String),
}

impl Route {
    fn parse(text: &str) -> Result<Route, String> {
        if !text.starts_with('/') {
            return Err(format!("route `{text}` must start with `/`"));
        }
        if let Some(prefix) = text.strip_suffix("/...") {
            return Ok(Route::Wildcard(prefix.trim_end_matches('/').to_string()));
        }
        if text.contains(':') {
            return Err(format!(
                "route `{text}`: parameter routes are not supported by the embedded host"
            ));
        }
        Ok(Route::Exact(normalise(text).to_string()))
    }

    /// Whether `path` (without query) falls under this route.
    pub fn matches(&self, path: &str) -> bool {
        let path = normalise(path);
        match self {
            Route::Exact(route) => path == route,
            Route::Wildcard(prefix) => {
                path == prefix
                    || prefix.is_empty()
                    || path
                        .strip_prefix(prefix.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            }
        }
    }

    /// How specific the route is: Spin prefers exact routes, then the longest prefix.
    fn specificity(&self) -> (u8, usize) {
        match self {
            Route::Exact(r) => (1, r.len()),
            Route::Wildcard(r) => (0, r.len()),
        }
    }

    /// The route as `spin.toml` writes it.
    pub fn as_manifest_text(&self) -> String {
        match self {
            Route::Exact(r) => r.clone(),
            Route::Wildcard(r) => format!("{r}/..."),
        }
    }
}

fn normalise(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() { "/" } else { trimmed }
}

/// One `[component.<id>]`.
#[derive(Debug, Clone)]
pub struct ComponentDecl {
    /// The component's id.
    pub id: String,
    /// Absolute path of the `.wasm` file.
    pub source: PathBuf,
    /// Outbound HTTP allow-list, templates not yet rendered.
    pub allowed_outbound_hosts: Vec<String>,
    /// Key-value stores the component may open.
    pub key_value_stores: Vec<String>,
    /// Component variables (name -> template over application variables).
    pub variables: BTreeMap<String, String>,
    /// Static environment variables.
    pub environment: BTreeMap<String, String>,
    /// Files or folders mounted into the component (`files = [...]`): only plain paths.
    pub files: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    spin_manifest_version: u32,
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Deserialize)]
struct RawApplication {
    name: String,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<RawHttpTrigger>,
}

#[derive(Deserialize)]
struct RawHttpTrigger {
    route: toml::Value,
    component: String,
}

#[derive(Deserialize)]
struct RawComponent {
    source: toml::Value,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    files: Vec<toml::Value>,
    #[serde(default)]
    #[allow(dead_code, reason = "read by `spin build`, not by the host")]
    build: Option<toml::Value>,
    #[serde(default)]
    #[allow(dead_code, reason = "free text")]
    description: Option<String>,
}

impl Manifest {
    /// Reads and checks a manifest file.
    pub fn from_file(path: &Path) -> Result<Manifest, HostError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| HostError::Manifest(format!("cannot read {}: {e}", path.display())))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base
        };
        Manifest::parse(&text, &base)
            .map_err(|e| HostError::Manifest(format!("{}: {e}", path.display())))
    }

    /// Parses manifest text; `base_dir` resolves relative component sources.
    pub fn parse(text: &str, base_dir: &Path) -> Result<Manifest, String> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| e.to_string())?;
        if raw.spin_manifest_version != 2 {
            return Err(format!(
                "spin_manifest_version = {}: only version 2 is supported",
                raw.spin_manifest_version
            ));
        }
        for name in raw.variables.keys() {
            check_variable_name(name)?;
        }
        for (name, decl) in &raw.variables {
            if decl.required && decl.default.is_some() {
                return Err(format!(
                    "variable `{name}`: `required` and `default` exclude each other"
                ));
            }
        }
        let components = raw
            .component
            .into_iter()
            .map(|(id, c)| {
                let decl = component_decl(&id, c, base_dir, &raw.variables)?;
                Ok((id, decl))
            })
            .collect::<Result<BTreeMap<_, _>, String>>()?;
        let http_triggers = raw
            .trigger
            .http
            .into_iter()
            .map(|t| {
                let route = match &t.route {
                    toml::Value::String(s) => Route::parse(s)?,
                    other => return Err(format!("route {other}: private routes are not served")),
                };
                if !components.contains_key(&t.component) {
                    return Err(format!(
                        "trigger {}: no component `{}`",
                        route.as_manifest_text(),
                        t.component
                    ));
                }
                Ok(HttpTrigger {
                    route,
                    component: t.component,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Manifest {
            name: raw.application.name,
            version: raw.application.version.unwrap_or_default(),
            variables: raw.variables,
            http_triggers,
            components,
            base_dir: base_dir.to_path_buf(),
        })
    }

    /// The trigger serving `path`: exact routes first, then the longest wildcard.
    pub fn route(&self, path: &str) -> Option<&HttpTrigger> {
        self.http_triggers
            .iter()
            .filter(|t| t.route.matches(path))
            .max_by_key(|t| t.route.specificity())
    }
}

fn component_decl(
    id: &str,
    raw: RawComponent,
    base_dir: &Path,
    app_vars: &BTreeMap<String, VariableDecl>,
) -> Result<ComponentDecl, String> {
    let source = match raw.source {
        toml::Value::String(s) => base_dir.join(s),
        _ => {
            return Err(format!(
                "component `{id}`: only a local file `source` is supported"
            ));
        }
    };
    for (name, template) in &raw.variables {
        check_variable_name(name).map_err(|e| format!("component `{id}`: {e}"))?;
        for reference in template_references(template)? {
            if !app_vars.contains_key(&reference) {
                return Err(format!(
                    "component `{id}` variable `{name}` refers to undeclared variable `{reference}`"
                ));
            }
        }
    }
    for host in &raw.allowed_outbound_hosts {
        for reference in template_references(host)? {
            if !raw.variables.contains_key(&reference) && !app_vars.contains_key(&reference) {
                return Err(format!(
                    "component `{id}` allowed_outbound_hosts refers to unknown variable `{reference}`"
                ));
            }
        }
    }
    let files = raw
        .files
        .into_iter()
        .map(|f| match f {
            toml::Value::String(s) => Ok(s),
            _ => Err(format!(
                "component `{id}`: only plain `files` entries are supported"
            )),
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(ComponentDecl {
        id: id.to_string(),
        source,
        allowed_outbound_hosts: raw.allowed_outbound_hosts,
        key_value_stores: raw.key_value_stores,
        variables: raw.variables,
        environment: raw.environment,
        files,
    })
}

/// Spin's rule for variable names: lowercase letters, digits and `_`, starting with a letter.
fn check_variable_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "variable name `{name}`: use lowercase letters, digits and `_`, starting with a letter"
        ))
    }
}

/// The variable names a template refers to (`{{ name }}`).
pub fn template_references(template: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("unclosed `{{{{` in template `{template}`"))?;
        names.push(after[..end].trim().to_string());
        rest = &after[end + 2..];
    }
    Ok(names)
}

/// Renders a template with `lookup` giving each referenced value.
pub fn render_template(
    template: &str,
    mut lookup: impl FnMut(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("unclosed `{{{{` in template `{template}`"))?;
        let name = after[..end].trim();
        let value = lookup(name).ok_or_else(|| format!("variable `{name}` has no value"))?;
        out.push_str(&value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
spin_manifest_version = 2
[application]
name = "demo"
version = "1.0.0"
[variables]
secret = { required = true, secret = true }
base = { default = "http://127.0.0.1:3001" }
[[trigger.http]]
route = "/api/hook"
component = "edge"
[[trigger.http]]
route = "/api/..."
component = "edge"
[component.edge]
source = "target/edge.wasm"
allowed_outbound_hosts = ["{{ base }}"]
key_value_stores = ["default"]
[component.edge.variables]
secret = "{{ secret }}"
[component.edge.build]
command = "cargo build"
"#;

    #[test]
    fn parses_routes_components_and_variables() {
        let m = Manifest::parse(SAMPLE, Path::new("/app")).unwrap();
        assert_eq!(m.name, "demo");
        assert_eq!(
            m.components["edge"].source,
            Path::new("/app/target/edge.wasm")
        );
        assert!(m.variables["secret"].required && m.variables["secret"].secret);
        assert_eq!(
            m.route("/api/hook").unwrap().route,
            Route::Exact("/api/hook".into())
        );
        assert_eq!(
            m.route("/api/other").unwrap().route,
            Route::Wildcard("/api".into())
        );
        assert!(m.route("/elsewhere").is_none());
    }

    #[test]
    fn exact_routes_ignore_a_trailing_slash_and_wildcards_respect_segments() {
        assert!(Route::parse("/api/health").unwrap().matches("/api/health/"));
        let wild = Route::parse("/api/...").unwrap();
        assert!(wild.matches("/api") && wild.matches("/api/x/y"));
        assert!(!wild.matches("/apix"));
        assert!(Route::parse("/...").unwrap().matches("/anything"));
    }

    #[test]
    fn rejects_what_spin_rejects() {
        let bad_name = SAMPLE.replace("base = {", "Base = {");
        assert!(
            Manifest::parse(&bad_name, Path::new("."))
                .unwrap_err()
                .contains("Base")
        );
        let missing = SAMPLE.replace("component = \"edge\"\n[[", "component = \"nope\"\n[[");
        assert!(
            Manifest::parse(&missing, Path::new("."))
                .unwrap_err()
                .contains("nope")
        );
        let undeclared = SAMPLE.replace("secret = \"{{ secret }}\"", "secret = \"{{ other }}\"");
        assert!(
            Manifest::parse(&undeclared, Path::new("."))
                .unwrap_err()
                .contains("other")
        );
        let both = SAMPLE.replace(
            "required = true, secret",
            "required = true, default = \"x\", secret",
        );
        assert!(
            Manifest::parse(&both, Path::new("."))
                .unwrap_err()
                .contains("exclude")
        );
        let v1 = SAMPLE.replace("spin_manifest_version = 2", "spin_manifest_version = 1");
        assert!(Manifest::parse(&v1, Path::new(".")).is_err());
    }

    #[test]
    fn renders_templates() {
        let out = render_template("{{ a }}-{{b}}", |n| Some(n.to_uppercase())).unwrap();
        assert_eq!(out, "A-B");
        assert!(
            render_template("{{ a }}", |_| None)
                .unwrap_err()
                .contains("`a`")
        );
        assert!(template_references("{{ a").is_err());
    }
}
