//! Counters of `/v1/` requests by final status (`GET /_emulator/stats`).

use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct Stats {
    pub requests: u64,
    pub by_status: BTreeMap<u16, u64>,
}

impl Stats {
    pub fn record(&mut self, status: u16) {
        self.requests += 1;
        *self.by_status.entry(status).or_default() += 1;
    }
}
