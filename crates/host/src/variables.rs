//! Application variables, resolved as Spin resolves them.
//!
//! A variable's value comes from the provider (Spin's environment provider reads
//! `SPIN_VARIABLE_<NAME>`; tests pass a map), else its default. A required variable without a
//! value stops the application from loading, as `spin up` does. Secret values never appear in
//! errors or logs.

use std::collections::{BTreeMap, HashMap};

use crate::HostError;
use crate::manifest::{ComponentDecl, Manifest, render_template};

/// Where variable values come from.
#[derive(Debug, Clone, Default)]
pub enum VariableSource {
    /// `SPIN_VARIABLE_<NAME>` from the process environment (Spin's environment provider).
    #[default]
    Environment,
    /// Only these values (tests; keeps the developer's environment out).
    Map(HashMap<String, String>),
}

impl VariableSource {
    fn lookup(&self, name: &str) -> Option<String> {
        match self {
            VariableSource::Environment => std::env::var(env_name(name)).ok(),
            VariableSource::Map(map) => map.get(name).cloned(),
        }
    }
}

/// The environment variable Spin's environment provider reads for `name`.
pub fn env_name(name: &str) -> String {
    format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())
}

/// The resolved application variables.
#[derive(Clone)]
pub struct Variables {
    values: BTreeMap<String, String>,
}

impl std::fmt::Debug for Variables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be secrets: show names only.
        f.debug_struct("Variables")
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Variables {
    /// Resolves every application variable of `manifest` from `source`.
    pub fn resolve(manifest: &Manifest, source: &VariableSource) -> Result<Variables, HostError> {
        let mut values = BTreeMap::new();
        let mut missing = Vec::new();
        for (name, decl) in &manifest.variables {
            match source.lookup(name).or_else(|| decl.default.clone()) {
                Some(value) => {
                    values.insert(name.clone(), value);
                }
                None if decl.required => missing.push(name.clone()),
                None => {}
            }
        }
        if !missing.is_empty() {
            let how: Vec<String> = missing
                .iter()
                .map(|n| format!("`{n}` (set {})", env_name(n)))
                .collect();
            return Err(HostError::Variables(format!(
                "required variable{} without a value: {}",
                if missing.len() == 1 { "" } else { "s" },
                how.join(", ")
            )));
        }
        Ok(Variables { values })
    }

    /// An application variable's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The variables one component sees: its `[component.x.variables]`, rendered.
    pub fn for_component(
        &self,
        component: &ComponentDecl,
    ) -> Result<HashMap<String, String>, HostError> {
        component
            .variables
            .iter()
            .map(|(name, template)| {
                let value =
                    render_template(template, |n| self.values.get(n).cloned()).map_err(|e| {
                        HostError::Variables(format!(
                            "component `{}` variable `{name}`: {e}",
                            component.id
                        ))
                    })?;
                Ok((name.clone(), value))
            })
            .collect()
    }

    /// Renders a template (an `allowed_outbound_hosts` entry) over the component's variables,
    /// then the application's.
    pub fn render_for_component(
        &self,
        component_vars: &HashMap<String, String>,
        template: &str,
    ) -> Result<String, HostError> {
        render_template(template, |n| {
            component_vars
                .get(n)
                .cloned()
                .or_else(|| self.values.get(n).cloned())
        })
        .map_err(HostError::Variables)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn manifest() -> Manifest {
        Manifest::parse(
            r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
token = { required = true, secret = true }
base = { default = "http://x" }
[component.c]
source = "c.wasm"
[component.c.variables]
token = "{{ token }}"
url = "{{ base }}/v1"
"#,
            Path::new("."),
        )
        .unwrap()
    }

    #[test]
    fn provider_wins_over_default_and_components_see_rendered_values() {
        let m = manifest();
        let src = VariableSource::Map(HashMap::from([
            ("token".into(), "s3cr3t".into()),
            ("base".into(), "http://y".into()),
        ]));
        let vars = Variables::resolve(&m, &src).unwrap();
        let seen = vars.for_component(&m.components["c"]).unwrap();
        assert_eq!(seen["url"], "http://y/v1");
        assert_eq!(seen["token"], "s3cr3t");
        assert!(!format!("{vars:?}").contains("s3cr3t"));
    }

    #[test]
    fn a_missing_required_variable_names_it_and_its_environment_variable() {
        let err =
            Variables::resolve(&manifest(), &VariableSource::Map(HashMap::new())).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`token`") && text.contains("SPIN_VARIABLE_TOKEN"),
            "{text}"
        );
    }
}
