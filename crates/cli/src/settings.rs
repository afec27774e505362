//! Settings: where the project is, where its queue lives, where and how to send events.
//!
//! Environment variables (`NEXUS_WEBHOOK_URL`, `NEXUS_WEBHOOK_SECRET`, `NEXUS_WEBHOOK_ENABLED`,
//! `NEXUS_QUEUE`) win over `nexus.toml` in the project directory. The project directory is
//! `--project`, else `$CLAUDE_PROJECT_DIR`, else the hook input's `cwd`, else the current folder.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// The settings file's name, in the project directory.
pub const SETTINGS_FILE: &str = "nexus.toml";

/// `nexus.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    webhook_enabled: Option<bool>,
    queue: Option<PathBuf>,
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Full URL of `POST /api/NotionWebhook`.
    pub webhook_url: Option<String>,
    /// One or more secrets (whitespace-separated); the first signs.
    pub webhook_secret: Option<String>,
    /// `false`: queue only, never POST.
    pub webhook_enabled: bool,
    /// The queue's main file.
    pub queue_file: PathBuf,
}

/// Picks the project directory.
pub fn project_dir(flag: Option<&Path>, hook_cwd: Option<&str>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("CLAUDE_PROJECT_DIR").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(cwd) = hook_cwd.filter(|c| !c.is_empty()) {
        return PathBuf::from(cwd);
    }
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

impl Settings {
    /// Reads `nexus.toml` (if any) in `project_dir` and the environment.
    pub fn load(project_dir: PathBuf) -> anyhow::Result<Settings> {
        let path = project_dir.join(SETTINGS_FILE);
        let file: FileSettings = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                // toml's own rendering spans lines; one line is what a person (and a hook log) wants.
                let line = e
                    .span()
                    .map_or(0, |s| text[..s.start].lines().count().max(1));
                anyhow::anyhow!("{} line {line}: {}", path.display(), e.message().trim())
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileSettings::default(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let webhook_enabled = match env("NEXUS_WEBHOOK_ENABLED") {
            Some(v) => parse_bool(&v).with_context(|| {
                format!("NEXUS_WEBHOOK_ENABLED must be true or false, not {v:?}")
            })?,
            None => file.webhook_enabled.unwrap_or(true),
        };
        let queue = env("NEXUS_QUEUE")
            .map(PathBuf::from)
            .or(file.queue)
            .unwrap_or_else(|| PathBuf::from(nexus_queue::DEFAULT_QUEUE_FILE));
        Ok(Settings {
            queue_file: project_dir.join(queue),
            webhook_url: env("NEXUS_WEBHOOK_URL").or(file.webhook_url),
            webhook_secret: env("NEXUS_WEBHOOK_SECRET").or(file.webhook_secret),
            webhook_enabled,
        })
    }

    /// The environment's settings alone (when `nexus.toml` cannot be read).
    pub fn load_env_only(project_dir: PathBuf) -> Settings {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let queue =
            env("NEXUS_QUEUE").unwrap_or_else(|| nexus_queue::DEFAULT_QUEUE_FILE.to_owned());
        Settings {
            queue_file: project_dir.join(queue),
            webhook_url: env("NEXUS_WEBHOOK_URL"),
            webhook_secret: env("NEXUS_WEBHOOK_SECRET"),
            webhook_enabled: env("NEXUS_WEBHOOK_ENABLED")
                .is_none_or(|v| parse_bool(&v).unwrap_or(true)),
        }
    }

    /// The queue.
    pub fn queue(&self) -> nexus_queue::Queue {
        nexus_queue::Queue::open(&self.queue_file)
    }

    /// The URL, or the error line that names the missing setting.
    pub fn require_url(&self) -> anyhow::Result<&str> {
        match &self.webhook_url {
            Some(u) => Ok(u),
            None => bail!(
                "NEXUS_WEBHOOK_URL is not set (nor webhook_url in {SETTINGS_FILE}): set it to the \
                 full URL of POST /api/NotionWebhook"
            ),
        }
    }

    /// The signing secret, or the error line that names the missing setting.
    pub fn require_secret(&self) -> anyhow::Result<nexus_core::signature::Secret> {
        let Some(s) = &self.webhook_secret else {
            bail!(
                "NEXUS_WEBHOOK_SECRET is not set (nor webhook_secret in {SETTINGS_FILE}): \
                 `nexus secret generate` makes one"
            );
        };
        let secrets = nexus_core::signature::Secrets::parse(s)
            .map_err(|e| anyhow::anyhow!("NEXUS_WEBHOOK_SECRET is not usable: {e}"))?;
        Ok(secrets.first().clone())
    }
}

/// `GET /api/health` beside the webhook route.
pub fn health_url(webhook_url: &str) -> String {
    let base = webhook_url.split(['?', '#']).next().unwrap_or(webhook_url);
    let base = base.trim_end_matches('/');
    match base.rsplit_once("/api/") {
        Some((root, _)) => format!("{root}/api/health"),
        None => format!("{base}/api/health"),
    }
}

fn parse_bool(v: &str) -> anyhow::Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => bail!("not a boolean"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_url_is_derived() {
        assert_eq!(
            health_url("http://127.0.0.1:3000/api/NotionWebhook"),
            "http://127.0.0.1:3000/api/health"
        );
        assert_eq!(
            health_url("https://x.azurewebsites.net/api/NotionWebhook?code=abc"),
            "https://x.azurewebsites.net/api/health"
        );
        assert_eq!(health_url("http://h:1/"), "http://h:1/api/health");
    }
}
