//! The kit's compressed 12.x/13.x messages, compressed once per process and shared by the
//! cases that send them.
//!
//! A 12.x/13.x case sends 1000 messages of up to 128 Ki units, each compressed at zlib's
//! default level as Autobahn's fuzzer does, and most of those messages are sent by other
//! cases too: the JSON set is 12.1's and all of 13.x's (8 cases per row), and rows 10 and
//! 15-18 (likewise 6/11 … 9/14) differ only in fragmentation, which is applied after
//! compression. When the kit resets its compression context after each message (the server
//! accepted `client_no_context_takeover`, as the default offer asks) a message compresses to
//! the same bytes every time, so compressing it once takes most of the kit's own CPU out of
//! a full run: what is left is the server's. With context takeover each case compresses its
//! own stream, as before.
//!
//! Bounded: at most [`BUDGET`] bytes of compressed messages are kept, the oldest dropped
//! first. The suite runner starts the cases that send the same messages side by side
//! ([`crate::suite::case::CaseDef::shares`]), so they find each other's messages while they
//! are kept.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use super::deflate_data::DataSet;
use crate::codec::deflate::{Compressor, WindowBits};

/// Bytes of compressed messages kept at most: the JSON set's 1000 messages of the largest
/// row (22.7 MB) fit, the incompressible PDF set's rows of 64 Ki bytes and more do not.
pub const BUDGET: usize = 48 << 20;

/// (data set, message length in units, message index, window bits).
type Key = (DataSet, usize, usize, u8);

/// One compressed message.
#[derive(Debug)]
pub struct Compressed {
    /// The uncompressed message's length in bytes.
    pub len: usize,
    /// Its compressed payload.
    pub bytes: Box<[u8]>,
}

#[derive(Default)]
struct Kept {
    /// A cell per message asked for; the first case to ask compresses it, cases asking at
    /// the same time wait for that instead of compressing it again.
    map: HashMap<Key, Arc<OnceLock<Arc<Compressed>>>>,
    /// Compressed messages in the order they were made, for eviction.
    order: VecDeque<Key>,
    bytes: usize,
}

fn kept() -> &'static Mutex<Kept> {
    static KEPT: OnceLock<Mutex<Kept>> = OnceLock::new();
    KEPT.get_or_init(Default::default)
}

thread_local! {
    /// One compressor per window and thread, reset after each message: setting up a zlib
    /// stream costs more than compressing a 16-byte message.
    static COMPRESSORS: RefCell<HashMap<u8, Compressor>> = RefCell::new(HashMap::new());
}

/// Message `k` of `len` units of `set`, compressed without context takeover in `window`
/// (trailing `00 00 ff ff` removed): the bytes a fresh [`Compressor::new`]`(window, true)`
/// produces for [`DataSet::message`]`(k, len)`.
///
/// May block for as long as another thread takes to compress the same message (a few
/// milliseconds at most): cheaper for the run than compressing it twice.
pub fn compressed(set: DataSet, len: usize, k: usize, window: WindowBits) -> Arc<Compressed> {
    let key = (set, len, k, window.get());
    let cell = lock().map.entry(key).or_default().clone();
    let mut made = false;
    let message = cell
        .get_or_init(|| {
            made = true;
            let payload = set.message(k, len);
            let bytes = COMPRESSORS.with(|c| {
                c.borrow_mut()
                    .entry(window.get())
                    .or_insert_with(|| Compressor::new(window, true))
                    .compress(&payload)
            });
            Arc::new(Compressed {
                len: payload.len(),
                bytes: bytes.into_boxed_slice(),
            })
        })
        .clone();
    if made {
        let mut kept = lock();
        kept.bytes += message.bytes.len();
        kept.order.push_back(key);
        while kept.bytes > BUDGET {
            let Some(old) = kept.order.pop_front() else {
                break;
            };
            if let Some(v) = kept.map.remove(&old).and_then(|c| c.get().cloned()) {
                kept.bytes -= v.bytes.len();
            }
        }
    }
    message
}

fn lock() -> std::sync::MutexGuard<'static, Kept> {
    // The map is consistent after every statement that can panic, so a poisoned lock (a
    // panic elsewhere while holding it) still guards valid data.
    kept().lock().unwrap_or_else(|e| e.into_inner())
}

/// Bytes kept now.
#[cfg(test)]
fn kept_bytes() -> usize {
    lock().bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_as_a_fresh_compressor_and_bounded() {
        for w in [9u8, 15] {
            let window = WindowBits::new(w).unwrap();
            for (set, len) in [
                (DataSet::Json, 16),
                (DataSet::Pdf, 4096),
                (DataSet::Html, 1024),
            ] {
                for k in [0, 1, 999] {
                    let message = set.message(k, len);
                    let fresh = Compressor::new(window, true).compress(&message);
                    // Twice: computed, then kept (or recomputed if evicted meanwhile).
                    for _ in 0..2 {
                        let c = compressed(set, len, k, window);
                        assert_eq!((c.len, &c.bytes[..]), (message.len(), &fresh[..]));
                    }
                }
            }
        }
        assert!(kept_bytes() <= BUDGET);
    }
}
