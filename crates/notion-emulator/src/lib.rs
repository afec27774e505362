//! A stateful stand-in for `https://api.notion.com`, faithful enough that the official SDKs work
//! against it unchanged (point their `base_url` at [`RunningEmulator::url`]).
//!
//! It keeps databases, data sources and pages in memory and answers the `/v1/` routes nexus-sync
//! uses with Notion's validation, error bodies and codes (see `shared/reference/notion-api.md`,
//! section 7). Outside `/v1/` it offers control routes (`/_emulator/...`) to inject faults and rate
//! limits, read counters, reset, subscribe to signed webhook events and edit pages as a person,
//! and a browser view at `/`.
//!
//! It is a development tool and a test fixture, never a store: state lives in memory only, and it
//! never talks to the real Notion.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use notion_emulator::{Emulator, Options};
//! let emulator = Emulator::start("127.0.0.1:0".parse().unwrap(), Options::default()).await?;
//! println!("Notion API at {}", emulator.url());
//! emulator.shutdown().await
//! # }
//! ```
#![warn(missing_docs)]

mod api;
mod control;
mod error;
mod faults;
mod ids;
mod pages;
mod query;
mod rate_limit;
mod richtext;
mod schema;
mod server;
mod stats;
mod store;
mod timestamps;
mod validate;
mod view;
mod webhooks;

pub use server::{Emulator, EmulatorState, Options, RunningEmulator, SeedError, router};
pub use webhooks::signature;

/// The one integration token the emulator accepts.
pub const DEV_TOKEN: &str = "ntn_emulator_dev_token";
/// The id of the "Agent Activity Hub" data source every emulator starts with.
pub const AGENT_ACTIVITY_HUB: &str = "7163aa38-f3d9-444b-9674-bde61868bd2b";
/// The id of the database that holds the "Agent Activity Hub" data source.
pub const AGENT_ACTIVITY_HUB_DATABASE: &str = "2a1f5e7c-9b3d-4c8e-a6f0-1d2e3f4a5b6c";
/// The id of the integration's bot user: `created_by`/`last_edited_by` of `/v1/` writes.
pub const BOT_USER: &str = "0c6b2f5e-8a41-4d7e-9f3b-5e2a1c7d9b40";
/// The id of the person who makes edits through `PATCH /_emulator/pages/{id}` and the browser view.
pub const PERSON_USER: &str = "5f1e9a3c-2b7d-4e60-8c4a-9d3b7e1f6a25";
/// The Notion API versions the emulator accepts in `Notion-Version`.
pub const SUPPORTED_VERSIONS: [&str; 3] = ["2022-06-28", "2025-09-03", "2026-03-11"];
