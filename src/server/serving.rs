//! What the kit's own servers share: the handle of a server that serves a listener in
//! a background task (its address, its accept count, how it stops), and the bounded read
//! of a client's request head.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::codec::frame::Status;
use crate::codec::http::{parse_request, HeadLimits, HttpError, RequestHead};

/// A server task serving a listener; told to stop when dropped.
#[derive(Debug)]
pub(super) struct Serving {
    /// The address it listens on (with the real port when bound to port 0).
    pub local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    accepted: Arc<AtomicU64>,
}

impl Serving {
    /// Binds `addr` and spawns `serve(listener, stop, accepted)`: the accept loop, which
    /// ends when `stop` changes and counts every connection it takes in `accepted`.
    pub(super) async fn bind<F, Fut>(addr: SocketAddr, serve: F) -> io::Result<Serving>
    where
        F: FnOnce(TcpListener, watch::Receiver<bool>, Arc<AtomicU64>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let accepted = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(serve(listener, stop_rx, accepted.clone()));
        Ok(Serving {
            local_addr,
            stop,
            task: Some(task),
            accepted,
        })
    }

    /// TCP connections accepted so far.
    pub(super) fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Tells the accept loop to stop and waits for it to end; with `abort`, ends it (and
    /// the connection tasks it owns) at once instead of letting it close them in order.
    pub(super) async fn stop(&mut self, abort: bool) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            if abort {
                t.abort();
            }
            let _ = t.await;
        }
    }

    /// Ends the accept loop at once, without waiting.
    pub(super) fn abort(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        // Dropping the sender (after this) also stops the task; say it explicitly anyway.
        let _ = self.stop.send(true);
    }
}

/// Why the request head could not be read.
pub(super) enum HeadError {
    /// Not HTTP, or over the limits.
    Http(HttpError),
    /// The client closed first.
    Eof,
    /// The read failed.
    Io,
}

/// Reads a request head into `buf`, never further than one byte past `limits`; the head
/// and the bytes it used (what follows stays in `buf`).
pub(super) async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    limits: HeadLimits,
) -> Result<(RequestHead, usize), HeadError> {
    loop {
        match parse_request(buf, limits) {
            Ok(Status::Complete(head, n)) => return Ok((head, n)),
            Ok(Status::Partial(_)) => {}
            Err(e) => return Err(HeadError::Http(e)),
        }
        // Never read further than one byte past the limit: that is enough to reject.
        let room = (limits.max_head + 1).saturating_sub(buf.len()).max(1);
        let mut tmp = [0u8; 4096];
        let n = stream
            .read(&mut tmp[..room.min(4096)])
            .await
            .map_err(|_| HeadError::Io)?;
        if n == 0 {
            return Err(HeadError::Eof);
        }
        buf.extend_from_slice(&tmp[..n]);
    }
}
