//! Dialing and the opening handshake in the client role: the options of a connection,
//! TCP (and TLS) to the target or a stream on the run's HTTP/2 connection (RFC 8441), the
//! upgrade request and the §4.1 judgement of the answer.

use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::head::HeadRead;
use super::tasks::Stream;
use super::{h2, tls, HandshakeOutcome, Peer, PeerError, Target, Transcript, Transport};
use crate::codec::deflate::{AnswerCheck, DeflateParams};
use crate::codec::frame::Role;
use crate::codec::handshake::ClientRequest;
use crate::codec::http::{HeadLimits, ResponseHead};
use crate::codec::message::Limits;
use crate::report::Direction;

/// How to open a connection.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Subprotocols to offer (`Sec-WebSocket-Protocol`).
    pub protocols: Vec<String>,
    /// Extensions to offer (`Sec-WebSocket-Extensions`).
    pub extensions: Vec<String>,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// `Origin` header, if any.
    pub origin: Option<String>,
    /// Extra query parameters appended to the target's resource (e.g. a token).
    pub query: Vec<(String, String)>,
    /// Skip TLS certificate verification (self-signed dev certificates).
    pub insecure: bool,
    /// Limit for the TCP (and TLS) connect.
    pub connect_timeout: Duration,
    /// Limit for the server's answer to the upgrade request.
    pub handshake_timeout: Duration,
    /// Message and frame size limits for what the server sends.
    pub limits: Limits,
    /// HTTP head limits for the server's answer.
    pub head_limits: HeadLimits,
    /// permessage-deflate offers (RFC 7692 §5), in preference order, and how the answer is
    /// judged. When the server accepts, server messages with RSV1 are inflated and
    /// [`Peer::send_message`] compresses.
    pub deflate: Option<(Vec<DeflateParams>, AnswerCheck)>,
    /// The HTTP/2 connection shared by every clone of these options (`h2c://`, `h2://`
    /// targets); unused over HTTP/1.1.
    pub http2: h2::H2Pool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            protocols: Vec::new(),
            extensions: Vec::new(),
            headers: Vec::new(),
            origin: None,
            query: Vec::new(),
            insecure: false,
            connect_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(5),
            limits: Limits {
                max_message_size: 32 << 20,
                max_frame_size: 32 << 20,
            },
            head_limits: HeadLimits::default(),
            deflate: None,
            http2: h2::H2Pool::default(),
        }
    }
}

impl ConnectOptions {
    /// The conforming upgrade request these options describe for `target`.
    pub fn request(&self, target: &Target) -> ClientRequest {
        let mut r = ClientRequest::new(target.host_header(), target.resource.clone());
        for p in &self.protocols {
            r = r.protocol(p.clone());
        }
        for e in &self.extensions {
            r = r.extension(e.clone());
        }
        for (k, v) in &self.query {
            r = r.query(k, v);
        }
        if let Some(o) = &self.origin {
            r = r.origin(o.clone());
        }
        for (n, v) in &self.headers {
            r = r.header(n.clone(), v.clone());
        }
        if let Some((offers, check)) = &self.deflate {
            r = r.deflate(offers.clone(), *check);
        }
        r
    }
}

impl Peer {
    /// Opens TCP (and TLS for `wss://`) to `target`, refusing any non-loopback address.
    /// Times in the transcript count from `started`.
    pub async fn open(
        target: &Target,
        opts: &ConnectOptions,
        conn: &str,
        started: Instant,
    ) -> Result<Peer, PeerError> {
        if target.http2 {
            return Err(PeerError::Http2(
                "this check writes raw HTTP/1.1 bytes, which an HTTP/2 stream cannot carry".into(),
            ));
        }
        let addrs = target.resolve().map_err(PeerError::Target)?;
        let tcp = tokio::time::timeout(opts.connect_timeout, TcpStream::connect(&addrs[..]))
            .await
            .map_err(|_| PeerError::ConnectTimeout(opts.connect_timeout))?
            .map_err(PeerError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let addr = tcp.peer_addr().unwrap_or(addrs[0]);
        let transcript = Transcript::new(conn, started);
        transcript.push(
            Direction::Event,
            "tcp-open",
            format!("connected to {addr}"),
            None,
        );
        let stream: Box<dyn Stream> = if target.tls {
            let cfg = tls::client_config(opts.insecure);
            let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                .map_err(|e| PeerError::Tls(e.to_string()))?;
            let tls = tokio::time::timeout(
                opts.connect_timeout,
                tokio_rustls::TlsConnector::from(cfg).connect(name, tcp),
            )
            .await
            .map_err(|_| PeerError::ConnectTimeout(opts.connect_timeout))?
            .map_err(|e| PeerError::Tls(e.to_string()))?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        Ok(Self::from_stream(
            stream,
            transcript,
            opts.limits,
            started,
            Transport::Tcp,
            Role::Client,
        ))
    }

    /// Opens the connection and performs the opening handshake with `opts`.
    pub async fn connect(
        target: &Target,
        opts: &ConnectOptions,
        conn: &str,
    ) -> Result<(Peer, HandshakeOutcome), PeerError> {
        let started = Instant::now();
        if target.http2 {
            return Self::connect_h2(target, opts, conn, started).await;
        }
        let mut peer = Peer::open(target, opts, conn, started).await?;
        let req = opts.request(target);
        let outcome = peer
            .handshake(
                &req,
                opts.head_limits,
                Instant::now() + opts.handshake_timeout,
            )
            .await;
        Ok((peer, outcome))
    }

    /// RFC 8441: an extended CONNECT on the run's HTTP/2 connection with the offers of
    /// `opts`; a `200` whose subprotocol and extensions come from the offer is the upgrade.
    async fn connect_h2(
        target: &Target,
        opts: &ConnectOptions,
        conn: &str,
        started: Instant,
    ) -> Result<(Peer, HandshakeOutcome), PeerError> {
        let transcript = Transcript::new(conn, started);
        let creq = opts.request(target);
        let mut req = h2::StreamRequest::websocket(creq.target.clone());
        if !creq.protocols.is_empty() {
            req.headers
                .push(("sec-websocket-protocol".into(), creq.protocols.join(", ")));
        }
        if !creq.extensions.is_empty() {
            req.headers.push((
                "sec-websocket-extensions".into(),
                creq.extensions.join(", "),
            ));
        }
        for (k, v) in &creq.headers {
            let k = k.to_ascii_lowercase();
            // A version given in the options replaces the default 13 (h2.1.3 sends 99).
            if k == "sec-websocket-version" {
                req.headers.retain(|(n, _)| *n != k);
            }
            req.headers.push((k, v.clone()));
        }
        let (_, answer) = h2::open_stream(opts, target, &req, &transcript).await?;
        let (head, io) = match answer {
            h2::StreamAnswer::Response(head, io) => (head, io),
            h2::StreamAnswer::Refused(reason) => {
                return Err(PeerError::Http2(format!(
                    "the server refused the extended CONNECT: {reason}"
                )))
            }
            h2::StreamAnswer::Timeout => {
                return Err(PeerError::Http2(
                    "no response HEADERS to the extended CONNECT in time".into(),
                ))
            }
        };
        let stream = io.stream_id();
        let outcome = if head.status == 200 {
            match creq.validate_negotiation(&head.headers) {
                Ok(accepted) => HandshakeOutcome::Upgraded {
                    response: head,
                    accepted,
                },
                Err(error) => {
                    transcript.note(format!(
                        "invalid 200 (RFC 6455 §{}): {error}",
                        error.rfc_section()
                    ));
                    HandshakeOutcome::Invalid {
                        response: head,
                        error,
                    }
                }
            }
        } else {
            HandshakeOutcome::Rejected { response: head }
        };
        let peer = Self::from_stream(
            Box::new(io),
            transcript,
            opts.limits,
            started,
            Transport::H2 { stream },
            Role::Client,
        );
        Ok((peer, outcome))
    }

    /// Sends `req` and reads the answer head, bounded by `limits` and `deadline`.
    /// Bytes after the head stay buffered for [`Peer::recv`].
    pub async fn handshake(
        &mut self,
        req: &ClientRequest,
        limits: HeadLimits,
        deadline: Instant,
    ) -> HandshakeOutcome {
        self.send_request_bytes(req.to_bytes());
        match self.read_response_head(limits, deadline).await {
            HandshakeOutcome::Rejected { response } if response.status == 101 => {
                match req.validate_response(&response) {
                    Ok(accepted) => {
                        if let Some(cfg) = accepted.deflate {
                            self.enable_deflate(cfg);
                            if matches!(req.deflate, Some((_, AnswerCheck::Autobahn))) {
                                self.zlib_inflate_window();
                            }
                        }
                        HandshakeOutcome::Upgraded { response, accepted }
                    }
                    Err(error) => {
                        self.transcript.note(format!(
                            "invalid 101 (RFC 6455 §{}): {error}",
                            error.rfc_section()
                        ));
                        HandshakeOutcome::Invalid { response, error }
                    }
                }
            }
            other => other,
        }
    }

    /// Reads an HTTP response head without judging it: every complete head, 101 included,
    /// comes back as `Rejected`; [`Peer::handshake`] applies the §4.1 validation.
    pub async fn read_response_head(
        &mut self,
        limits: HeadLimits,
        deadline: Instant,
    ) -> HandshakeOutcome {
        match self.read_head::<ResponseHead>(limits, deadline).await {
            HeadRead::Head(response) => HandshakeOutcome::Rejected { response },
            HeadRead::Closed(received) => HandshakeOutcome::ClosedBeforeResponse { received },
            HeadRead::Timeout(received) => HandshakeOutcome::Timeout { received },
            HeadRead::Malformed(e) => HandshakeOutcome::Malformed(e),
        }
    }
}
