//! Reading the queue's files in bounded memory, a window of entries at a time: what a processor
//! uses to walk a queue of any length (a million entries after a long offline stretch) without
//! holding it all, and what a shell without `flock` (the `wasm32-wasip2` queue processor) uses to
//! read the same format with the same rules as [`crate::Queue`].
//!
//! Nothing here takes the queue lock or writes: the caller decides how reads are made consistent
//! (see the crate README, "The queue processor"). The rules are the crate's own: a last line
//! without its newline is not a line yet; the first occurrence of an id in the main file is the
//! entry; synced is sticky, then an id in the dead-letter file is dead, else pending.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

use crate::dead_letters::DeadLetter;
use crate::entry::Entry;
use crate::receipts::{Delivery, Receipt};
use crate::snapshot::State;

/// Complete lines of a JSON Lines file, one at a time, with their byte offsets.
pub struct LineReader<R> {
    inner: BufReader<R>,
    buf: Vec<u8>,
    offset: u64,
}

impl<R: Read> LineReader<R> {
    /// Reads `r` from its current position, taken as offset 0.
    pub fn new(r: R) -> LineReader<R> {
        LineReader {
            inner: BufReader::with_capacity(64 * 1024, r),
            buf: Vec::new(),
            offset: 0,
        }
    }

    /// The next complete, non-blank line (without its newline) and the offset where it starts.
    /// A last line without its newline (a write in progress, or torn) ends the file.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        loop {
            self.buf.clear();
            let start = self.offset;
            let n = self.inner.read_until(b'\n', &mut self.buf)?;
            if n == 0 || self.buf.last() != Some(&b'\n') {
                return Ok(None);
            }
            self.offset += n as u64;
            let line = &self.buf[..n - 1];
            if !line.iter().all(u8::is_ascii_whitespace) {
                return Ok(Some((start, &self.buf[..n - 1])));
            }
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

impl<R: Read + Seek> LineReader<R> {
    /// The line of `len` bytes at `offset` (as [`LineReader::next_line`] reported them); the
    /// reader then continues from where it was.
    pub fn line_at(&mut self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let resume = self.offset;
        self.inner.seek(SeekFrom::Start(offset))?;
        let mut line = vec![0u8; len];
        let read = self.inner.read_exact(&mut line);
        self.inner.seek(SeekFrom::Start(resume))?;
        read?;
        Ok(line)
    }
}

/// Parses a line of the main file (seed lines included; see [`Entry`]).
pub fn parse_entry(line: &[u8]) -> Option<Entry> {
    Entry::parse_line(line)
}

/// Parses a line of the receipts file.
pub fn parse_receipt(line: &[u8]) -> Option<Receipt> {
    serde_json::from_slice(line).ok()
}

/// Parses a line of the dead-letter file.
pub fn parse_dead_letter(line: &[u8]) -> Option<DeadLetter> {
    serde_json::from_slice(line).ok()
}

/// A receipt as one line (no newline).
pub fn receipt_line(r: &Receipt) -> Vec<u8> {
    serde_json::to_vec(r).expect("a receipt serialises")
}

/// A dead letter as one line (no newline).
pub fn dead_letter_line(d: &DeadLetter) -> Vec<u8> {
    serde_json::to_vec(d).expect("a dead letter serialises")
}

/// The `eventId` of a line of any of the three files, cheaply when the line starts with it (as
/// every line this crate writes does), else by parsing it.
pub fn event_id_of(line: &[u8]) -> Option<String> {
    const PREFIX: &[u8] = b"{\"eventId\":\"";
    if let Some(rest) = line.strip_prefix(PREFIX)
        && let Some(end) = rest.iter().position(|&b| b == b'"' || b == b'\\')
        && rest[end] == b'"'
    {
        return std::str::from_utf8(&rest[..end]).ok().map(str::to_owned);
    }
    #[derive(serde::Deserialize)]
    struct Id {
        #[serde(rename = "eventId")]
        event_id: String,
    }
    serde_json::from_slice::<Id>(line).ok().map(|i| i.event_id)
}

/// One entry of a [`Window`].
#[derive(Debug, Clone)]
pub struct WindowItem {
    /// The entry's event id.
    pub event_id: String,
    /// Where its line starts in the main file.
    pub offset: u64,
    /// Its line's length, newline excluded.
    pub len: usize,
    /// The line itself.
    pub line: Vec<u8>,
    /// Its folded receipts.
    pub delivery: Delivery,
    /// Whether the dead-letter file lists it.
    pub in_dead_letters: bool,
}

impl WindowItem {
    /// Where the entry stands (the rules of [`crate::Queue::entries`]).
    pub fn state(&self) -> State {
        if self.delivery.synced {
            State::Synced
        } else if self.in_dead_letters {
            State::Dead
        } else {
            State::Pending
        }
    }
}

/// Up to `capacity` consecutive entries (and about `max_bytes` of lines) of the main file, with
/// their receipts and dead-letter marks folded in: memory is bounded by the window, whatever the
/// queue's length. Each window costs one pass over the receipts and dead-letter files.
#[derive(Debug, Default)]
pub struct Window {
    items: Vec<WindowItem>,
    index: HashMap<String, usize>,
    /// Lines of the main file in this window that are not entries.
    pub foreign_lines: usize,
}

impl Window {
    /// Reads the next window from `main`: up to `capacity` entries (an id seen earlier in the same
    /// window is the same entry and is skipped). Empty at the end of the file.
    pub fn read<R: Read>(
        main: &mut LineReader<R>,
        capacity: usize,
        max_bytes: usize,
    ) -> io::Result<Window> {
        let mut w = Window::default();
        let mut bytes = 0usize;
        while w.items.len() < capacity.max(1) && (bytes < max_bytes || w.items.is_empty()) {
            let Some((offset, line)) = main.next_line()? else {
                break;
            };
            let len = line.len();
            // Cheap when the line is ours; a seed line without a top-level id is parsed.
            let id = match event_id_of(line) {
                Some(id) => Some(id),
                None => parse_entry(line).map(|e| e.event_id),
            };
            let Some(id) = id else {
                w.foreign_lines += 1;
                continue;
            };
            if w.index.contains_key(&id) {
                continue;
            }
            bytes += len;
            w.index.insert(id.clone(), w.items.len());
            w.items.push(WindowItem {
                event_id: id,
                offset,
                len,
                line: line.to_vec(),
                delivery: Delivery::default(),
                in_dead_letters: false,
            });
        }
        Ok(w)
    }

    /// Folds the receipts file's lines (in file order) into the window's entries.
    pub fn fold_receipts<R: Read>(&mut self, receipts: &mut LineReader<R>) -> io::Result<()> {
        while let Some((_, line)) = receipts.next_line()? {
            let Some(id) = event_id_of(line) else {
                continue;
            };
            if let Some(&i) = self.index.get(&id)
                && let Some(r) = parse_receipt(line)
            {
                self.items[i].delivery.apply(&r);
            }
        }
        Ok(())
    }

    /// Marks the window's entries that the dead-letter file lists.
    pub fn mark_dead_letters<R: Read>(&mut self, dead: &mut LineReader<R>) -> io::Result<()> {
        while let Some((_, line)) = dead.next_line()? {
            if let Some(id) = event_id_of(line)
                && let Some(&i) = self.index.get(&id)
            {
                self.items[i].in_dead_letters = true;
            }
        }
        Ok(())
    }

    /// The entries, in file order.
    pub fn items(&self) -> &[WindowItem] {
        &self.items
    }

    /// Whether the window holds no entry.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipts::Outcome;

    #[test]
    fn lines_skip_blanks_and_a_torn_tail_with_offsets() {
        let data = b"{\"a\":1}\n\n{\"b\":2}\n{\"c\":";
        let mut r = LineReader::new(&data[..]);
        assert_eq!(r.next_line().unwrap(), Some((0, &b"{\"a\":1}"[..])));
        assert_eq!(r.next_line().unwrap(), Some((9, &b"{\"b\":2}"[..])));
        assert_eq!(r.next_line().unwrap(), None);
    }

    #[test]
    fn event_ids_fast_and_slow() {
        assert_eq!(
            event_id_of(br#"{"eventId":"e-1","at":"t"}"#).as_deref(),
            Some("e-1")
        );
        assert_eq!(
            event_id_of(br#"{"at":"t","eventId":"e-2"}"#).as_deref(),
            Some("e-2")
        );
        assert_eq!(
            event_id_of(br#"{"eventId":"a\"b","at":"t"}"#).as_deref(),
            Some("a\"b")
        );
        assert_eq!(event_id_of(b"not json"), None);
    }

    #[test]
    fn a_window_folds_receipts_and_dead_letters_and_rereads_lines() {
        let e = |id: &str| {
            serde_json::to_vec(&Entry {
                event_id: id.into(),
                enqueued_at: "t".into(),
                event: serde_json::json!({"sessionId": id}),
            })
            .unwrap()
        };
        let mut main = Vec::new();
        for id in ["a", "b", "a", "c", "d"] {
            main.extend(e(id));
            main.push(b'\n');
        }
        main.extend(b"garbage\n");
        let r = |id: &str, outcome| Receipt {
            event_id: id.into(),
            at: "t".into(),
            outcome,
            attempts: 1,
            http_status: None,
            error: None,
            page_id: Some("p".into()),
            next_attempt_at: None,
        };
        let mut receipts = Vec::new();
        for rec in [
            r("a", Outcome::Failed),
            r("a", Outcome::Synced),
            r("c", Outcome::Failed),
        ] {
            receipts.extend(receipt_line(&rec));
            receipts.push(b'\n');
        }
        let dead = br#"{"eventId":"c","enqueuedAt":"t","deadAt":"t","reason":"x","event":{}}
"#;
        let mut reader = LineReader::new(io::Cursor::new(main));
        let mut w = Window::read(&mut reader, 3, usize::MAX).unwrap();
        w.fold_receipts(&mut LineReader::new(&receipts[..]))
            .unwrap();
        w.mark_dead_letters(&mut LineReader::new(&dead[..]))
            .unwrap();
        let states: Vec<(&str, State, u32)> = w
            .items()
            .iter()
            .map(|i| (i.event_id.as_str(), i.state(), i.delivery.attempts))
            .collect();
        assert_eq!(
            states,
            vec![
                ("a", State::Synced, 2),
                ("b", State::Pending, 0),
                ("c", State::Dead, 1)
            ]
        );
        let b = &w.items()[1];
        let line = reader.line_at(b.offset, b.len).unwrap();
        assert_eq!(parse_entry(&line).unwrap().event_id, "b");
        let w2 = Window::read(&mut reader, 3, usize::MAX).unwrap();
        assert_eq!(w2.items().len(), 1);
        assert_eq!(w2.foreign_lines, 1);
        assert!(Window::read(&mut reader, 3, usize::MAX).unwrap().is_empty());
    }
}
