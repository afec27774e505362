//! Notion: the data source's schema, page property values, request descriptions, and what
//! Notion's answers mean.
//!
//! Nothing here sends a request: the caller executes each [`NotionRequest`] and hands back the
//! [`NotionResponse`] (or the [`Transport`] failure).

mod properties;
mod request;
mod response;
mod schema;

pub(crate) use properties::page_has;
pub use properties::{MAPPED_FIELDS, MappedProperties, PropertyMap, page_properties};
pub use request::{
    DEFAULT_NOTION_VERSION, Method, NotionClient, NotionRequest, create_page, query_by_title,
    retrieve_data_source, retrieve_page, update_page,
};
pub use response::{Classified, NotionResponse, PageRef, Transport, classify, parse_page};
pub use schema::{Property, PropertyKind, Schema, SchemaError};
