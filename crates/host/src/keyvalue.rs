//! `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft2`: state that outlives a request.
//!
//! Backed by SQLite in the same layout Spin's default store uses (`.spin/sqlite_key_value.db`,
//! table `spin_key_value`), so state survives restarts. One connection behind a mutex makes
//! every operation atomic with respect to concurrent requests; compare-and-swap compares the
//! value seen by `cas.current` with the stored one inside that critical section.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use crate::HostError;
use crate::bindings::wasi::keyvalue::{atomics, batch, store};

/// The key-value stores of one application.
#[derive(Clone)]
pub struct KeyValue {
    conn: Arc<Mutex<Connection>>,
}

/// An open store (the `bucket` resource).
pub struct Bucket {
    store: String,
}

/// A compare-and-swap handle: the value seen when it was made.
pub struct Cas {
    store: String,
    key: String,
    seen: Option<Vec<u8>>,
}

impl KeyValue {
    /// Opens (or creates) the store file at `path`.
    pub fn open(path: &Path) -> Result<KeyValue, HostError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                HostError::KeyValue(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let conn = Connection::open(path)
            .map_err(|e| HostError::KeyValue(format!("cannot open {}: {e}", path.display())))?;
        // WAL keeps readers from blocking the writer; NORMAL sync is durable across crashes of
        // the host process (a power cut may lose the last transactions, as with Spin's store).
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(kv_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(kv_err)?;
        KeyValue::init(conn)
    }

    /// A store that lives in memory only (tests).
    pub fn in_memory() -> Result<KeyValue, HostError> {
        KeyValue::init(Connection::open_in_memory().map_err(kv_err)?)
    }

    fn init(conn: Connection) -> Result<KeyValue, HostError> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                PRIMARY KEY (store, key))",
        )
        .map_err(kv_err)?;
        Ok(KeyValue {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<R>,
    ) -> Result<R, store::Error> {
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&conn).map_err(|e| store::Error::Other(e.to_string()))
    }

    /// Reads one value.
    pub fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>, store::Error> {
        self.with(|c| read(c, store, key))
    }

    /// Writes one value.
    pub fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<(), store::Error> {
        self.with(|c| write(c, store, key, value))
    }

    fn delete(&self, store: &str, key: &str) -> Result<(), store::Error> {
        self.with(|c| {
            c.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .execute(params![store, key])
                .map(drop)
        })
    }

    fn keys(&self, store: &str) -> Result<Vec<String>, store::Error> {
        self.with(|c| {
            let mut stmt =
                c.prepare("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?;
            let rows = stmt.query_map(params![store], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Writes `value` only if the stored value still equals `seen`.
    fn swap(
        &self,
        store: &str,
        key: &str,
        seen: Option<&[u8]>,
        value: &[u8],
    ) -> Result<bool, store::Error> {
        self.with(|c| {
            let now = read(c, store, key)?;
            if now.as_deref() != seen {
                return Ok(false);
            }
            write(c, store, key, value)?;
            Ok(true)
        })
    }

    fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64, store::Error> {
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let current = read(&conn, store, key).map_err(|e| store::Error::Other(e.to_string()))?;
        // Spin keeps counters as 8 little-endian bytes.
        let value =
            match current {
                None => 0,
                Some(bytes) => i64::from_le_bytes(bytes.as_slice().try_into().map_err(|_| {
                    store::Error::Other(format!("value of `{key}` is not a counter"))
                })?),
            };
        let next = value.wrapping_add(delta);
        write(&conn, store, key, &next.to_le_bytes())
            .map_err(|e| store::Error::Other(e.to_string()))?;
        Ok(next)
    }
}

// Statements are prepared once per connection and reused: every request runs the same few.
fn read(c: &Connection, store: &str, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    c.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
        .query_row(params![store, key], |r| r.get(0))
        .optional()
}

fn write(c: &Connection, store: &str, key: &str, value: &[u8]) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![store, key, value])
    .map(drop)
}

fn kv_err(e: rusqlite::Error) -> HostError {
    HostError::KeyValue(e.to_string())
}

/// What a component's key-value calls see: the stores and which of them it may open.
pub struct KeyValueView<'a> {
    /// The application's stores.
    pub kv: &'a KeyValue,
    /// `key_value_stores` of the component.
    pub allowed: &'a [String],
    /// The store's resource table.
    pub table: &'a mut ResourceTable,
}

impl KeyValueView<'_> {
    fn bucket(&self, b: &Resource<Bucket>) -> wasmtime::Result<String> {
        Ok(self.table.get(b)?.store.clone())
    }
}

impl store::Host for KeyValueView<'_> {
    fn open(
        &mut self,
        identifier: String,
    ) -> wasmtime::Result<Result<Resource<Bucket>, store::Error>> {
        // Spin: only "default" exists unless runtime config adds more; a store the manifest does
        // not grant is access-denied.
        if !self.allowed.iter().any(|s| s == &identifier) {
            return Ok(Err(store::Error::AccessDenied));
        }
        Ok(Ok(self.table.push(Bucket { store: identifier })?))
    }
}

impl store::HostBucket for KeyValueView<'_> {
    fn get(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        let store = self.bucket(&b)?;
        Ok(self.kv.get(&store, &key))
    }

    fn set(
        &mut self,
        b: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let store = self.bucket(&b)?;
        Ok(self.kv.set(&store, &key, &value))
    }

    fn delete(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let store = self.bucket(&b)?;
        Ok(self.kv.delete(&store, &key))
    }

    fn exists(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<bool, store::Error>> {
        let store = self.bucket(&b)?;
        Ok(self.kv.get(&store, &key).map(|v| v.is_some()))
    }

    fn list_keys(
        &mut self,
        b: Resource<Bucket>,
        cursor: Option<String>,
    ) -> wasmtime::Result<Result<store::KeyResponse, store::Error>> {
        let store = self.bucket(&b)?;
        // One page holds every key; the cursor (the last key returned) resumes after it.
        Ok(self.kv.keys(&store).map(|keys| store::KeyResponse {
            keys: keys
                .into_iter()
                .filter(|k| cursor.as_ref().is_none_or(|c| k > c))
                .collect(),
            cursor: None,
        }))
    }

    fn drop(&mut self, b: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(b)?;
        Ok(())
    }
}

impl atomics::Host for KeyValueView<'_> {
    fn increment(
        &mut self,
        b: Resource<Bucket>,
        key: String,
        delta: i64,
    ) -> wasmtime::Result<Result<i64, store::Error>> {
        let store = self.bucket(&b)?;
        Ok(self.kv.increment(&store, &key, delta))
    }

    fn swap(
        &mut self,
        cas: Resource<Cas>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let handle = self.table.delete(cas)?;
        match self
            .kv
            .swap(&handle.store, &handle.key, handle.seen.as_deref(), &value)
        {
            Ok(true) => Ok(Ok(())),
            Ok(false) => {
                // Give the guest a fresh handle on the value that won, as Spin does.
                let seen = self.kv.get(&handle.store, &handle.key).ok().flatten();
                let fresh = self.table.push(Cas {
                    store: handle.store,
                    key: handle.key,
                    seen,
                })?;
                Ok(Err(atomics::CasError::CasFailed(fresh)))
            }
            Err(e) => Ok(Err(atomics::CasError::StoreError(e))),
        }
    }
}

impl atomics::HostCas for KeyValueView<'_> {
    fn new(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Resource<Cas>, store::Error>> {
        let store = self.bucket(&b)?;
        let seen = match self.kv.get(&store, &key) {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        Ok(Ok(self.table.push(Cas { store, key, seen })?))
    }

    fn current(
        &mut self,
        cas: Resource<Cas>,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        Ok(Ok(self.table.get(&cas)?.seen.clone()))
    }

    fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for KeyValueView<'_> {
    fn get_many(
        &mut self,
        b: Resource<Bucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<(String, Option<Vec<u8>>)>, store::Error>> {
        let store = self.bucket(&b)?;
        Ok(keys
            .into_iter()
            .map(|k| self.kv.get(&store, &k).map(|v| (k, v)))
            .collect())
    }

    fn set_many(
        &mut self,
        b: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let store = self.bucket(&b)?;
        Ok(self.kv.with(|c| {
            let tx = c.unchecked_transaction()?;
            for (k, v) in &key_values {
                write(&tx, &store, k, v)?;
            }
            tx.commit()
        }))
    }

    fn delete_many(
        &mut self,
        b: Resource<Bucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let store = self.bucket(&b)?;
        Ok(keys.iter().try_for_each(|k| self.kv.delete(&store, k)))
    }
}

struct HasKeyValue;

impl HasData for HasKeyValue {
    type Data<'a> = KeyValueView<'a>;
}

/// Adds `wasi:keyvalue/{store,atomics,batch}` to `linker`.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> KeyValueView<'_>,
) -> wasmtime::Result<()> {
    store::add_to_linker::<T, HasKeyValue>(linker, view)?;
    atomics::add_to_linker::<T, HasKeyValue>(linker, view)?;
    batch::add_to_linker::<T, HasKeyValue>(linker, view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_succeeds_only_against_the_value_seen() {
        let kv = KeyValue::in_memory().unwrap();
        assert!(kv.swap("default", "k", None, b"a").unwrap());
        assert!(
            !kv.swap("default", "k", None, b"b").unwrap(),
            "a second creator must lose"
        );
        assert!(kv.swap("default", "k", Some(b"a"), b"c").unwrap());
        assert_eq!(kv.get("default", "k").unwrap().as_deref(), Some(&b"c"[..]));
    }

    #[test]
    fn stores_are_separate_and_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("nexus-kv-{}", std::process::id()));
        let path = dir.join("kv.db");
        {
            let kv = KeyValue::open(&path).unwrap();
            kv.set("default", "k", b"v").unwrap();
            assert_eq!(kv.increment("default", "n", 2).unwrap(), 2);
            assert_eq!(kv.increment("default", "n", 3).unwrap(), 5);
        }
        let kv = KeyValue::open(&path).unwrap();
        assert_eq!(kv.get("default", "k").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(kv.get("other", "k").unwrap(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
