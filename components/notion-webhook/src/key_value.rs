//! The edge's state through `wasi:keyvalue` (Spin's `default` store): receipts, session
//! records, the schema cache and session leases. Errors are reduced to `()`: the core answers
//! 503 without detail, and the store's own message stays out of responses.

use nexus_core::idempotency::{LeaseDecision, lease_decision, lease_is_held_by};

use crate::variables::keyvalue::{atomics, batch, store};

/// The `default` store, open.
pub struct Store {
    bucket: store::Bucket,
}

/// A lease this request holds.
pub struct Lease {
    key: String,
    owner: String,
}

impl Store {
    pub fn open() -> Result<Store, ()> {
        store::open("default")
            .map(|bucket| Store { bucket })
            .map_err(drop)
    }

    pub fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, ()> {
        let pairs = batch::get_many(&self.bucket, keys).map_err(drop)?;
        // Answer in the order asked, whatever order the store returns.
        Ok(keys
            .iter()
            .map(|k| {
                pairs
                    .iter()
                    .find(|(key, _)| key == k)
                    .and_then(|(_, v)| v.clone())
            })
            .collect())
    }

    pub fn write(&self, set: &[(String, Vec<u8>)], delete: &[String]) -> Result<(), ()> {
        if !set.is_empty() {
            batch::set_many(&self.bucket, set).map_err(drop)?;
        }
        if !delete.is_empty() {
            batch::delete_many(&self.bucket, delete).map_err(drop)?;
        }
        Ok(())
    }

    /// Takes the lease `key` by compare-and-swap, waiting up to `wait_millis` while another
    /// request holds it. `Ok(None)`: still held when the wait ran out.
    pub fn acquire(
        &self,
        key: &str,
        now_millis: fn() -> i64,
        lease_millis: i64,
        wait_millis: i64,
    ) -> Result<Option<Lease>, ()> {
        let owner = format!(
            "{:016x}{:016x}",
            wasi::random::random::get_random_u64(),
            wasi::random::random::get_random_u64()
        );
        let deadline = now_millis() + wait_millis;
        loop {
            let cas = atomics::Cas::new(&self.bucket, key).map_err(drop)?;
            let current = cas.current().map_err(drop)?;
            match lease_decision(current.as_deref(), &owner, now_millis(), lease_millis) {
                LeaseDecision::Take(value) => match atomics::swap(cas, &value) {
                    Ok(()) => {
                        return Ok(Some(Lease {
                            key: key.to_string(),
                            owner,
                        }));
                    }
                    // Someone else changed it between our read and our swap: look again.
                    Err(atomics::CasError::CasFailed(_)) => continue,
                    Err(atomics::CasError::StoreError(_)) => return Err(()),
                },
                LeaseDecision::Wait if now_millis() >= deadline => return Ok(None),
                LeaseDecision::Wait => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    }

    /// Frees the lease if it is still ours (an expired lease may have passed to another request).
    pub fn release(&self, lease: Lease) {
        let Ok(cas) = atomics::Cas::new(&self.bucket, &lease.key) else {
            return;
        };
        let Ok(current) = cas.current() else { return };
        if lease_is_held_by(current.as_deref(), &lease.owner) {
            // Failing to free it only delays the next delivery until the lease expires.
            let _ = atomics::swap(cas, b"");
        }
    }
}
