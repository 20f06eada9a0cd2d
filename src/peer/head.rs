//! Reading one HTTP head off the peer's read queue, bounded in size ([`HeadLimits`]) and in
//! time, for both roles: the server's answer in the client role
//! ([`Peer::read_response_head`]), the client's request in the server role
//! ([`Peer::read_request_head`]). Bytes after the head stay buffered for [`Peer::recv`].

use std::time::Instant;

use super::tasks::Chunk;
use super::Peer;
use crate::codec::frame::Status;
use crate::codec::http::{parse_request, parse_response, HeadLimits, HttpError};
use crate::codec::http::{RequestHead, ResponseHead};
use crate::report::Direction;

/// An HTTP head the peer reads: how it is parsed and how the transcript names it.
pub(super) trait WireHead: Sized {
    /// What the transcript calls it ("answer", "request").
    const NAME: &'static str;
    /// The transcript note when the deadline passes first.
    const TIMEOUT_NOTE: &'static str;
    /// The codec's parser for this head.
    fn parse(buf: &[u8], limits: HeadLimits) -> Result<Status<Self>, HttpError>;
    /// The transcript line for a complete head (its start line).
    fn summary(&self) -> String;
}

impl WireHead for ResponseHead {
    const NAME: &'static str = "answer";
    const TIMEOUT_NOTE: &'static str = "handshake answer timed out";
    fn parse(buf: &[u8], limits: HeadLimits) -> Result<Status<Self>, HttpError> {
        parse_response(buf, limits)
    }
    fn summary(&self) -> String {
        format!(
            "HTTP/{}.{} {} {}",
            self.version.0, self.version.1, self.status, self.reason
        )
    }
}

impl WireHead for RequestHead {
    const NAME: &'static str = "request";
    const TIMEOUT_NOTE: &'static str = "request head timed out";
    fn parse(buf: &[u8], limits: HeadLimits) -> Result<Status<Self>, HttpError> {
        parse_request(buf, limits)
    }
    fn summary(&self) -> String {
        format!(
            "{} {} HTTP/{}.{}",
            self.method, self.target, self.version.0, self.version.1
        )
    }
}

/// What arrived where a head was expected; each role maps it onto its own outcome.
pub(super) enum HeadRead<H> {
    /// A complete head (not yet judged).
    Head(H),
    /// The other end closed before a complete head; what did arrive.
    Closed(Vec<u8>),
    /// No complete head before the deadline; what arrived so far.
    Timeout(Vec<u8>),
    /// Not HTTP, or over the limits.
    Malformed(HttpError),
}

impl Peer {
    /// Reads one head of type `H`, bounded by `limits` and `deadline`, and records it.
    pub(super) async fn read_head<H: WireHead>(
        &mut self,
        limits: HeadLimits,
        deadline: Instant,
    ) -> HeadRead<H> {
        loop {
            match H::parse(&self.rbuf, limits) {
                Err(e) => {
                    self.transcript.push(
                        Direction::Recv,
                        "http",
                        format!("unparseable {}: {e}", H::NAME),
                        Some(&self.rbuf),
                    );
                    return HeadRead::Malformed(e);
                }
                Ok(Status::Complete(head, n)) => {
                    let raw: Vec<u8> = self.rbuf.drain(..n).collect();
                    self.transcript
                        .push(Direction::Recv, "http", head.summary(), Some(&raw));
                    return HeadRead::Head(head);
                }
                Ok(Status::Partial(_)) => {}
            }
            if let Some((_, err)) = &self.ended {
                let received = std::mem::take(&mut self.rbuf);
                self.note_eof_once(err.clone());
                return HeadRead::Closed(received);
            }
            match tokio::time::timeout_at(deadline.into(), self.rx.recv()).await {
                Err(_) => {
                    self.transcript.note(H::TIMEOUT_NOTE);
                    return HeadRead::Timeout(self.rbuf.clone());
                }
                Ok(Some(Chunk::Data(d, _))) => self.rbuf.extend_from_slice(&d),
                Ok(Some(Chunk::End(t, e))) => self.ended = Some((t, e)),
                Ok(None) => self.ended = Some((Instant::now(), None)),
            }
        }
    }
}
