//! The portable, sans-IO core of nexus-sync.
//!
//! This crate is deterministic logic: it validates agent activity events, verifies and makes
//! webhook signatures, maps events onto a Notion data source's schema, describes the Notion
//! requests to send and decides what their answers mean, and paces retries. It has no sockets,
//! files, clocks, randomness or environment of its own: callers pass bytes, times (Unix seconds or
//! milliseconds as integers), ids and cached state in, and get decisions and request descriptions
//! out. It builds for `wasm32-wasip2` and for the host; the components, the CLI and the host
//! execute what it decides.
//!
//! A typical edge request: [`signature::verify`] the headers, [`Event::parse`] the body, read or
//! fetch the [`notion::Schema`], build properties with [`notion::page_properties`], then drive an
//! [`Upsert`] by sending each [`notion::NotionRequest`] it yields and feeding back the answer.
//! [`delivery::Delivery`] plays that whole exchange for the edge, with the key-value reads and
//! writes (receipts, session records, leases, the schema cache) that make it idempotent.

#![warn(missing_docs)]

pub mod claude_hook;
pub mod delivery;
pub mod drain;
pub mod edge_answer;
pub mod edge_config;
pub mod edge_response;
pub mod event;
pub mod event_id;
pub mod health;
pub mod idempotency;
pub mod notion;
mod page_id;
pub mod redact;
pub mod retry;
pub mod signature;
mod timestamp;
pub mod upsert;

pub use delivery::{Delivery, Incoming, Input, MAX_BODY_BYTES, Step};
pub use edge_config::{EdgeConfig, Misconfigured};
pub use edge_response::EdgeResponse;
pub use event::{Event, FieldProblem, InvalidPayload, KNOWN_STATUSES, Timestamp};
pub use notion::{
    Classified, MappedProperties, Method, NotionClient, NotionRequest, NotionResponse, PageRef,
    PropertyMap, Schema, SchemaError, Transport,
};
pub use retry::{Backoff, TokenBucket};
pub use signature::{
    Secret, SecretError, Secrets, SignatureError, SignatureHeaders, Verified, VerifyPolicy,
};
pub use upsert::{Action, Upsert, UpsertFailure, UpsertOutcome, UpsertStep};
