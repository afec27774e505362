//! One delivery of an agent-activity event to the edge (`POST /api/NotionWebhook`), as a state
//! machine.
//!
//! The shell (the `notion-webhook` component, or a test) feeds the request in with
//! [`Delivery::start`], then carries out each [`Step`] (read or write key-value entries, take
//! the session's lease, send a Notion request) and feeds the result back with
//! [`Delivery::next`], until a [`Step::Respond`]. The machine never does I/O and never reads a
//! clock: time comes in with the request.
//!
//! The order of checks is the contract's: signature (401), body (400), then the idempotency key
//! (a duplicate answers the first outcome and does nothing else), then, holding the session's
//! lease, the order check, the schema, the mapping and the upsert.

use crate::edge_config::EdgeConfig;
use crate::edge_response::EdgeResponse;
use crate::event::Event;
use crate::idempotency::{
    Decision, Receipt, SessionRecord, decide, decode, encode, lease_key, receipt_key, schema_key,
    session_key,
};
use crate::notion::{
    Classified, MappedProperties, Method, NotionRequest, NotionResponse, PageRef, Schema,
    Transport, classify, page_properties, retrieve_data_source,
};
use crate::signature::{SignatureHeaders, Verified, verify};
use crate::upsert::{Action, Upsert, UpsertFailure, UpsertStep};

/// Largest body accepted (CONTRACT 3: 1 MiB); the shell answers 413 past it without reading on.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// How long a cached data-source schema is trusted.
pub const SCHEMA_TTL_MILLIS: i64 = 5 * 60 * 1000;
/// How long a session lease lasts if its holder dies without releasing it.
pub const LEASE_MILLIS: i64 = 30 * 1000;

/// The request as received.
#[derive(Clone, Copy, Debug)]
pub struct Incoming<'a> {
    /// The signature headers.
    pub headers: SignatureHeaders<'a>,
    /// The exact raw body.
    pub body: &'a [u8],
    /// Arrival time, Unix ms.
    pub now_millis: i64,
}

/// What the shell must do next.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Read these keys; answer [`Input::Values`] in the same order.
    Read(Vec<String>),
    /// Take this session lease (see [`crate::idempotency::lease_decision`]); answer
    /// [`Input::Locked`] or [`Input::LockTimedOut`]. The shell releases it before responding.
    Lock(String),
    /// Send this request to Notion; answer [`Input::Notion`].
    Notion(NotionRequest),
    /// Write and delete these keys; answer [`Input::Written`].
    Write {
        /// Keys and values to set.
        set: Vec<(String, Vec<u8>)>,
        /// Keys to delete.
        delete: Vec<String>,
    },
    /// Answer the client. Nothing follows.
    Respond(EdgeResponse),
}

/// What the shell reports back.
#[derive(Debug)]
pub enum Input {
    /// The values of a [`Step::Read`], in order.
    Values(Vec<Option<Vec<u8>>>),
    /// The lease is ours.
    Locked,
    /// The lease stayed taken for too long.
    LockTimedOut,
    /// Notion's answer, or why there was none.
    Notion(Result<NotionResponse, Transport>),
    /// The writes are done.
    Written,
    /// A key-value operation failed.
    StoreFailed,
}

enum State {
    CheckingReceipt,
    Locking,
    Loading,
    FetchingSchema {
        record: Option<SessionRecord>,
    },
    Upserting {
        upsert: Box<Upsert>,
        record: Option<SessionRecord>,
        fingerprint: String,
        warnings: Vec<String>,
    },
    Saving(EdgeResponse),
    Done,
}

/// One delivery in progress.
pub struct Delivery<'c> {
    config: &'c EdgeConfig,
    event: Event,
    key: Option<String>,
    event_millis: i64,
    now_millis: i64,
    schema_from_cache: bool,
    fetched_schema: Option<Vec<u8>>,
    state: State,
}

impl<'c> Delivery<'c> {
    /// Verifies and parses the request. On failure the returned step is the answer and the
    /// delivery is finished.
    pub fn start(
        config: &'c EdgeConfig,
        incoming: Incoming<'_>,
    ) -> Result<(Delivery<'c>, Step), EdgeResponse> {
        let verified = verify(
            &incoming.headers,
            incoming.body,
            &config.secrets,
            incoming.now_millis.div_euclid(1000),
            &config.policy,
        )
        .map_err(|_| EdgeResponse::invalid_signature())?;
        let event = Event::parse(incoming.body)
            .map_err(|problem| EdgeResponse::invalid_payload(&problem))?;
        let key = match verified {
            Verified::Standard { webhook_id, .. } => Some(webhook_id),
            Verified::Seed => event.event_id.clone(),
        };
        let event_millis = event.event_time_millis().unwrap_or(incoming.now_millis);
        let mut delivery = Delivery {
            config,
            event,
            key,
            event_millis,
            now_millis: incoming.now_millis,
            schema_from_cache: false,
            fetched_schema: None,
            state: State::Done,
        };
        let step = match &delivery.key {
            Some(key) => {
                delivery.state = State::CheckingReceipt;
                Step::Read(vec![receipt_key(key)])
            }
            None => delivery.lock(),
        };
        Ok((delivery, step))
    }

    /// The event being delivered.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// Feeds the result of the last step in and returns the next one.
    pub fn next(&mut self, input: Input) -> Step {
        let state = std::mem::replace(&mut self.state, State::Done);
        match (state, input) {
            (_, Input::StoreFailed) => self.respond(EdgeResponse::storage_unavailable(
                1,
                "the edge's key-value store failed",
            )),
            (State::CheckingReceipt, Input::Values(values)) => {
                match decode::<Receipt>(first(&values)) {
                    Some(receipt) => self.respond(EdgeResponse::applied(&receipt, true)),
                    None => self.lock(),
                }
            }
            (State::Locking, Input::Locked) => self.load(),
            (State::Locking, Input::LockTimedOut) => {
                self.respond(EdgeResponse::storage_unavailable(
                    1,
                    "another delivery of this session is in progress",
                ))
            }
            (State::Loading, Input::Values(values)) => self.on_loaded(&values),
            (State::FetchingSchema { record }, Input::Notion(response)) => {
                self.on_schema(response, record)
            }
            (
                State::Upserting {
                    mut upsert,
                    record,
                    fingerprint,
                    warnings,
                },
                Input::Notion(response),
            ) => {
                let step = upsert.on_response(response);
                self.on_upsert_step(step, upsert, record, fingerprint, warnings)
            }
            (State::Saving(response), Input::Written) => self.respond(response),
            (_, input) => panic!("delivery: input {input:?} does not answer the last step"),
        }
    }

    fn respond(&mut self, response: EdgeResponse) -> Step {
        self.state = State::Done;
        Step::Respond(response)
    }

    fn lock(&mut self) -> Step {
        self.state = State::Locking;
        Step::Lock(lease_key(&self.event.session_id))
    }

    fn load(&mut self) -> Step {
        self.state = State::Loading;
        let mut keys = vec![
            session_key(&self.event.session_id),
            schema_key(&self.config.data_source_id),
        ];
        if let Some(key) = &self.key {
            // Read again under the lease: a twin delivery may have finished while we waited.
            keys.push(receipt_key(key));
        }
        Step::Read(keys)
    }

    fn on_loaded(&mut self, values: &[Option<Vec<u8>>]) -> Step {
        let record: Option<SessionRecord> = decode(values.first().and_then(|v| v.as_deref()));
        let receipt: Option<Receipt> = decode(values.get(2).and_then(|v| v.as_deref()));
        match decide(receipt, record.as_ref(), self.event_millis) {
            Decision::Duplicate(receipt) => self.respond(EdgeResponse::applied(&receipt, true)),
            Decision::Older(record) => {
                let receipt = Receipt {
                    page_id: record.page_id,
                    page_url: record.page_url,
                    action: Action::Unchanged,
                    warnings: vec![
                        "a newer event was already applied to this session; the page keeps the newer values".into(),
                    ],
                };
                self.save(receipt, None)
            }
            Decision::Apply => match self.cached_schema(values.get(1).and_then(|v| v.as_deref())) {
                Some(schema) => {
                    self.schema_from_cache = true;
                    self.map_and_upsert(&schema, record)
                }
                None => {
                    self.state = State::FetchingSchema { record };
                    Step::Notion(retrieve_data_source(&self.config.data_source_id))
                }
            },
        }
    }

    /// The cached schema if it is younger than [`SCHEMA_TTL_MILLIS`]. Stored as
    /// `<fetched at, Unix ms>\n<schema cache bytes>`.
    fn cached_schema(&self, bytes: Option<&[u8]>) -> Option<Schema> {
        let bytes = bytes?;
        let newline = bytes.iter().position(|b| *b == b'\n')?;
        let fetched: i64 = std::str::from_utf8(&bytes[..newline]).ok()?.parse().ok()?;
        if self.now_millis - fetched >= SCHEMA_TTL_MILLIS || fetched > self.now_millis {
            return None;
        }
        Schema::from_cache_bytes(&bytes[newline + 1..]).ok()
    }

    fn on_schema(
        &mut self,
        response: Result<NotionResponse, Transport>,
        record: Option<SessionRecord>,
    ) -> Step {
        let body = response.as_ref().ok().map(|r| r.body.clone());
        match classify(Method::Get, response.as_ref().map_err(|t| *t)) {
            Classified::Done(_) => match body.as_deref().map(Schema::from_data_source) {
                Some(Ok(schema)) => {
                    let mut cached = self.now_millis.to_string().into_bytes();
                    cached.push(b'\n');
                    cached.extend(schema.to_cache_bytes());
                    self.fetched_schema = Some(cached);
                    self.map_and_upsert(&schema, record)
                }
                _ => self.respond(EdgeResponse::misconfigured_message(
                    "variable `notiondatasource` does not name a data source Notion can describe",
                )),
            },
            Classified::Refused { status, code, .. } => {
                let variable = if status == 401 {
                    "notionapikey"
                } else {
                    "notiondatasource"
                };
                self.respond(EdgeResponse::misconfigured_message(&format!(
                    "Notion refused variable `{variable}` ({status} {code}): check the token and that the data source is shared with the integration"
                )))
            }
            Classified::Retry { after_secs, .. } => {
                self.respond(EdgeResponse::notion_unavailable(after_secs))
            }
        }
    }

    fn map_and_upsert(&mut self, schema: &Schema, record: Option<SessionRecord>) -> Step {
        let mapped: MappedProperties =
            match page_properties(&self.event, schema, &self.config.property_map) {
                Ok(mapped) => mapped,
                Err(problem) => return self.respond(EdgeResponse::invalid_payload(&problem)),
            };
        let fingerprint = self.values_fingerprint(schema, &mapped);
        let warnings = mapped.warnings.clone();
        if let Some(record) = record.as_ref().filter(|r| r.fingerprint == fingerprint) {
            // The page already holds exactly these values: no call to Notion.
            let receipt = Receipt {
                page_id: record.page_id.clone(),
                page_url: record.page_url.clone(),
                action: Action::Unchanged,
                warnings,
            };
            return self.save(receipt, Some(fingerprint));
        }
        let Some(title) = schema.title_property() else {
            return self.respond(EdgeResponse::misconfigured_message(
                "the data source named by variable `notiondatasource` has no title property",
            ));
        };
        let known = record.as_ref().map(|r| PageRef {
            id: r.page_id.clone(),
            url: r.page_url.clone(),
        });
        let mut upsert = Box::new(Upsert::new(
            &self.config.data_source_id,
            title,
            &self.event.session_id,
            mapped,
            known,
        ));
        let step = upsert.start();
        self.on_upsert_step(step, upsert, record, fingerprint, warnings)
    }

    /// The fingerprint of what the event writes apart from its own `eventId`. Every event
    /// carries a new id, so a fingerprint that included it (the `Event ID` property of the
    /// default map) would never match and every repeat of the page's values would cost a PATCH;
    /// the page keeps the id of the last event that changed it.
    fn values_fingerprint(&self, schema: &Schema, mapped: &MappedProperties) -> String {
        if self.event.event_id.is_none() {
            return mapped.fingerprint();
        }
        let mut without_id = self.event.clone();
        without_id.event_id = None;
        // Mapping the same event minus one field cannot newly fail.
        page_properties(&without_id, schema, &self.config.property_map)
            .map_or_else(|_| mapped.fingerprint(), |values| values.fingerprint())
    }

    fn on_upsert_step(
        &mut self,
        step: UpsertStep,
        upsert: Box<Upsert>,
        record: Option<SessionRecord>,
        fingerprint: String,
        warnings: Vec<String>,
    ) -> Step {
        match step {
            UpsertStep::Send(request) => {
                self.state = State::Upserting {
                    upsert,
                    record,
                    fingerprint,
                    warnings,
                };
                Step::Notion(request)
            }
            UpsertStep::Done(outcome) => {
                let receipt = Receipt {
                    page_id: outcome.page_id,
                    page_url: outcome.page_url,
                    action: outcome.action,
                    warnings,
                };
                self.save(receipt, Some(fingerprint))
            }
            UpsertStep::Failed(UpsertFailure::Refused {
                status: 401, code, ..
            }) => {
                // A token Notion refuses is the edge's misconfiguration, as on the schema fetch:
                // a 500 is retried by the queue, where a 422 would make the event a dead letter.
                self.respond(EdgeResponse::misconfigured_message(&format!(
                    "Notion refused variable `notionapikey` (401 {code}): check the token"
                )))
            }
            UpsertStep::Failed(UpsertFailure::Refused {
                status,
                code,
                message,
            }) => {
                let response = EdgeResponse::notion_rejected(status, &code, &message);
                if code == "validation_error" && self.schema_from_cache {
                    // The schema may have changed in Notion since it was cached: forget it so
                    // the next delivery maps against a fresh one.
                    self.state = State::Saving(response);
                    return Step::Write {
                        set: Vec::new(),
                        delete: vec![schema_key(&self.config.data_source_id)],
                    };
                }
                self.respond(response)
            }
            UpsertStep::Failed(UpsertFailure::Retry { after_secs, .. }) => {
                self.respond(EdgeResponse::notion_unavailable(after_secs))
            }
        }
    }

    /// Stores the receipt (and the session record when the page was written or checked), then
    /// answers 200.
    fn save(&mut self, receipt: Receipt, fingerprint: Option<String>) -> Step {
        let mut set = Vec::new();
        if let Some(key) = &self.key {
            set.push((receipt_key(key), encode(&receipt)));
        }
        if let Some(fingerprint) = fingerprint {
            let record = SessionRecord {
                page_id: receipt.page_id.clone(),
                page_url: receipt.page_url.clone(),
                last_event_millis: self.event_millis,
                fingerprint,
            };
            set.push((session_key(&self.event.session_id), encode(&record)));
        }
        if let Some(schema) = self.fetched_schema.take() {
            set.push((schema_key(&self.config.data_source_id), schema));
        }
        let response = EdgeResponse::applied(&receipt, false);
        if set.is_empty() {
            return self.respond(response);
        }
        self.state = State::Saving(response);
        Step::Write {
            set,
            delete: Vec::new(),
        }
    }
}

fn first(values: &[Option<Vec<u8>>]) -> Option<&[u8]> {
    values.first().and_then(|v| v.as_deref())
}
