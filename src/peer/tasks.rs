//! The peer's two background tasks and the pacing of its writes: the reader moves what
//! the socket delivers into a small bounded queue (and stops when told to, as a stalled
//! client does); the writer performs the queued writes as [`Pacing`] says, so a large echo
//! can never deadlock against a large send.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{Transcript, Transport};
use crate::report::Direction;

/// What the peer's connection runs over: TCP, TLS or an HTTP/2 stream.
pub(super) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// What the reader task delivers: bytes, or the end of the stream (with the IO error when
/// it was not a clean FIN), each with its arrival time.
pub(super) enum Chunk {
    Data(Vec<u8>, Instant),
    End(Instant, Option<String>),
}

/// How the bytes of one send reach the socket: Autobahn's write primitives, implemented once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pacing {
    /// One write, right after whatever was queued before it.
    Plain,
    /// One write followed by a reactor turn ([`PIECE_GAP`]) before the next write, so each
    /// frame leaves on its own (Autobahn's `sync`, "frame-wise chops").
    Sync,
    /// Writes of `size` bytes, each followed by `delay`, or by a reactor turn when `delay`
    /// is zero (Autobahn's `chopsize`; 1 = "octet-wise").
    ///
    /// With reactor turns, the first two pieces of a burst (paced writes queued while the
    /// writer had nothing paced in flight) leave in one write, as in Autobahn, whose first
    /// reactor turn comes only after the second piece was buffered.
    Chop {
        /// Bytes per write.
        size: std::num::NonZeroUsize,
        /// Pause after each write; zero = a reactor turn.
        delay: Duration,
    },
}

impl Pacing {
    /// Chops of `size` bytes (at least 1) with a reactor turn between them.
    pub const fn chop(size: usize) -> Pacing {
        let size = match std::num::NonZeroUsize::new(size) {
            Some(n) => n,
            None => std::num::NonZeroUsize::MIN,
        };
        Pacing::Chop {
            size,
            delay: Duration::ZERO,
        }
    }

    /// Whether each write is followed by a reactor turn (or a delay).
    pub const fn is_paced(self) -> bool {
        !matches!(self, Pacing::Plain)
    }

    /// The pause after each write; zero for a reactor turn (and for [`Pacing::Plain`]).
    pub const fn delay(self) -> Duration {
        match self {
            Pacing::Chop { delay, .. } => delay,
            _ => Duration::ZERO,
        }
    }
}

/// The pause between two paced writes. Autobahn writes a queued piece, then re-enters its
/// reactor through a 10 µs timer; with the reactor's own pass its pieces reach a reader
/// 70-150 µs apart (measured here with a blocking reader), so a server reading as data
/// arrives sees them one by one.
pub const PIECE_GAP: Duration = Duration::from_micros(10);

/// What the writer task is asked to do, in queue order.
pub(super) enum WriteOp {
    Bytes(Vec<u8>, Pacing),
    Sleep(Duration),
    Shutdown,
}

/// Waits `gap` (a reactor turn). tokio's timer counts whole milliseconds; spinning would
/// starve the very server we pace for on a small machine, and handing the sleep to another
/// thread costs more than the gap itself. So the writer task sleeps on its thread: a
/// deliberate, bounded pause (the kernel adds its timer slack, ~50 µs), after which the
/// runtime runs what it postponed.
fn reactor_turn(gap: Duration) {
    std::thread::sleep(gap);
}

/// The first piece of the next queued op when it is paced with reactor turns too (the rest
/// of it goes back to the front of `backlog`); nothing otherwise. Autobahn queues a stage's
/// frames together, so a one-piece `sync` frame leaves with the next frame's first piece.
fn burst_head(
    wrx: &mut mpsc::UnboundedReceiver<WriteOp>,
    backlog: &mut VecDeque<WriteOp>,
) -> Vec<u8> {
    let next = match backlog.pop_front() {
        Some(op) => op,
        None => match wrx.try_recv() {
            Ok(op) => op,
            Err(_) => return Vec::new(),
        },
    };
    match next {
        WriteOp::Bytes(mut b, pacing) if pacing.is_paced() && pacing.delay().is_zero() => {
            let n = match pacing {
                Pacing::Chop { size, .. } => size.get().min(b.len()),
                _ => b.len(),
            };
            let rest = b.split_off(n);
            if !rest.is_empty() {
                backlog.push_front(WriteOp::Bytes(rest, pacing));
            }
            b
        }
        other => {
            backlog.push_front(other);
            Vec::new()
        }
    }
}

/// Starts the reader task: what `rd` delivers goes into a queue of 8 chunks (so a server
/// flooding a peer nobody reads backs up in TCP, not in memory); `true` on the returned
/// sender pauses reading.
pub(super) fn spawn_reader(
    mut rd: ReadHalf<Box<dyn Stream>>,
) -> (mpsc::Receiver<Chunk>, watch::Sender<bool>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel::<Chunk>(8);
    let (pause, mut paused) = watch::channel(false);
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            while *paused.borrow() {
                if paused.changed().await.is_err() {
                    return;
                }
            }
            tokio::select! {
                r = rd.read(&mut buf) => {
                    let chunk = match r {
                        Ok(0) => Chunk::End(Instant::now(), None),
                        Ok(n) => Chunk::Data(buf[..n].to_vec(), Instant::now()),
                        Err(e) => Chunk::End(Instant::now(), Some(e.to_string())),
                    };
                    let end = matches!(chunk, Chunk::End(..));
                    if tx.send(chunk).await.is_err() || end {
                        return;
                    }
                }
                _ = paused.changed() => {}
            }
        }
    });
    (rx, pause, reader)
}

/// Starts the writer task: performs the queued [`WriteOp`]s on `wr` in order, counting the
/// bytes written into `written`; a failed write is noted in `tr` and ends the task.
pub(super) fn spawn_writer(
    mut wr: WriteHalf<Box<dyn Stream>>,
    written: Arc<AtomicU64>,
    tr: Transcript,
    transport: Transport,
) -> (mpsc::UnboundedSender<WriteOp>, JoinHandle<()>) {
    let (wtx, mut wrx) = mpsc::unbounded_channel::<WriteOp>();
    let writer = tokio::spawn(async move {
        // Ops taken out of the channel ahead of their turn (see `burst_head`).
        let mut backlog: VecDeque<WriteOp> = VecDeque::new();
        // Whether the writer had nothing paced in flight before the op at hand.
        let mut idle = true;
        loop {
            let op = match backlog.pop_front() {
                Some(op) => op,
                None => match wrx.try_recv() {
                    Ok(op) => op,
                    Err(_) => {
                        idle = true;
                        match wrx.recv().await {
                            Some(op) => op,
                            None => return,
                        }
                    }
                },
            };
            let res = match op {
                WriteOp::Bytes(b, Pacing::Plain) => {
                    idle = true;
                    let r = wr.write_all(&b).await;
                    written.fetch_add(b.len() as u64, Ordering::Relaxed);
                    r
                }
                WriteOp::Bytes(b, pacing) => {
                    let (size, delay) = match pacing {
                        Pacing::Chop { size, delay } => (size.get(), delay),
                        _ => (b.len().max(1), Duration::ZERO),
                    };
                    let mut pieces: VecDeque<&[u8]> = b.chunks(size).collect();
                    let mut head = Vec::new();
                    if idle && delay.is_zero() {
                        // Autobahn's first reactor turn of a burst comes only after the
                        // second piece is buffered: the first two leave in one write.
                        head.extend_from_slice(pieces.pop_front().unwrap_or_default());
                        match pieces.pop_front() {
                            Some(second) => head.extend_from_slice(second),
                            None => head.extend(burst_head(&mut wrx, &mut backlog)),
                        }
                    }
                    idle = !delay.is_zero();
                    let mut r = Ok(());
                    let first = (!head.is_empty()).then_some(&head[..]);
                    for piece in first.into_iter().chain(pieces) {
                        r = wr.write_all(piece).await;
                        if r.is_err() {
                            break;
                        }
                        written.fetch_add(piece.len() as u64, Ordering::Relaxed);
                        r = wr.flush().await;
                        if r.is_err() {
                            break;
                        }
                        if delay.is_zero() {
                            reactor_turn(PIECE_GAP);
                        } else {
                            tokio::time::sleep(delay).await;
                        }
                    }
                    r
                }
                WriteOp::Sleep(d) => {
                    idle = true;
                    tokio::time::sleep(d).await;
                    Ok(())
                }
                WriteOp::Shutdown => {
                    let r = wr.shutdown().await;
                    // An h2 stream records its END_STREAM itself.
                    if transport == Transport::Tcp {
                        tr.push(
                            Direction::Sent,
                            "tcp-fin",
                            "half-closed TCP (FIN)".into(),
                            None,
                        );
                    }
                    r
                }
            };
            if let Err(e) = res.and(wr.flush().await) {
                tr.push(
                    Direction::Event,
                    "tcp-error",
                    format!("write failed: {e}"),
                    None,
                );
                return;
            }
        }
    });
    (wtx, writer)
}
