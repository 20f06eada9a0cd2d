//! How `send` runs: the message's frames (fragmented when asked) or one hand-built
//! raw frame, written in one piece or chopped.

use std::num::NonZeroUsize;
use std::time::Instant;

use super::conn::frame_bytes;
use super::expect::closed_text;
use super::runner::{Outcome, RunStep, Runner, StepCx};
use crate::codec::frame::{encode_frame, FrameHeader, LengthEncoding, OpCode};
use crate::scenario::actions::{LengthForm, MaskSpec, RawFrame, SendMessage, SendPayload};
use crate::scenario::describe::send_payload;

impl RunStep for SendMessage {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let s = self;
        let step = cx.step;
        let sent = send_payload(&s.payload);
        let Some(conn) = r.conns.get(&s.conn) else {
            return r.not_open(&s.conn);
        };
        {
            let st = conn.lock();
            if st.dropped {
                return Outcome::failed(sent, "", "the connection was dropped by an earlier step");
            }
            if st.ended().is_some() {
                return Outcome::failed(sent, "an open connection", closed_text(&st));
            }
        }
        // Taken before the bytes are queued: a reply can arrive within microseconds, and an
        // ACK stamped before its request would be ignored by `expect_ack`.
        let at = Instant::now();
        // Data messages: compressed as a whole under permessage-deflate, framed (and
        // fragmented) here otherwise.
        let queue = |op: OpCode, b: &[u8]| {
            if conn.deflate() {
                conn.send_message(op, b.to_vec(), s.fragment_size.map(NonZeroUsize::get));
                format!("queued {} bytes, compressed (permessage-deflate)", b.len())
            } else {
                let (bytes, n) = message_frames(conn.is_server(), op, b, s.fragment_size);
                conn.send_raw(bytes);
                format!("queued {} bytes in {n} frame(s)", b.len())
            }
        };
        let (text, observed) = match &s.payload {
            SendPayload::Text(t) => (t.clone(), queue(OpCode::Text, t.as_bytes())),
            SendPayload::Json(j) => {
                let t = j.to_string();
                let o = queue(OpCode::Text, t.as_bytes());
                (t, o)
            }
            SendPayload::Binary(bin) => (
                String::from_utf8_lossy(bin).into_owned(),
                queue(OpCode::Binary, bin),
            ),
            SendPayload::Raw(r) => {
                let bytes = raw_frame(r, conn.is_server());
                let n = bytes.len();
                if r.opcode == 8 {
                    conn.mark_close_sent();
                }
                match r.chop {
                    Some(c) => conn.send_chopped(bytes, c.get(), r.delay.unwrap_or_default()),
                    None => conn.send_raw(bytes),
                }
                (
                    String::from_utf8_lossy(r.payload.as_slice()).into_owned(),
                    format!("queued {n} frame bytes"),
                )
            }
        };
        conn.flush().await;
        let conn_name = s.conn.clone();
        r.record_send(step, &conn_name, text, at);
        Outcome::ok(sent, "", observed)
    }
}

/// Frames for one data message, fragmented when asked.
pub(super) fn message_frames(
    server: bool,
    opcode: OpCode,
    payload: &[u8],
    frag: Option<NonZeroUsize>,
) -> (Vec<u8>, usize) {
    let size = frag.map_or(usize::MAX, NonZeroUsize::get);
    if payload.len() <= size {
        return (frame_bytes(server, opcode, true, payload), 1);
    }
    let chunks: Vec<&[u8]> = payload.chunks(size).collect();
    let mut out = Vec::with_capacity(payload.len() + 14 * chunks.len());
    for (i, c) in chunks.iter().enumerate() {
        let op = if i == 0 { opcode } else { OpCode::Continuation };
        out.extend(frame_bytes(server, op, i + 1 == chunks.len(), c));
    }
    (out, chunks.len())
}

/// A hand-built frame; in the server role, `mask` left at its default means unmasked
/// (as a server sends), while an explicit key still masks.
fn raw_frame(r: &RawFrame, server: bool) -> Vec<u8> {
    let payload = r.payload.as_slice();
    let header = FrameHeader {
        fin: r.fin,
        rsv: r.rsv,
        opcode: OpCode::from_u8(r.opcode),
        mask: match r.mask {
            MaskSpec::Random if server => None,
            MaskSpec::Random => Some(rand::random()),
            MaskSpec::Unmasked => None,
            MaskSpec::Key(k) => Some(k),
        },
        payload_len: r.declared_length.unwrap_or(payload.len() as u64),
        length_encoding: match r.length_encoding {
            LengthForm::Minimal => {
                LengthEncoding::minimal_for(r.declared_length.unwrap_or(payload.len() as u64))
            }
            LengthForm::Bits7 => LengthEncoding::Short,
            LengthForm::Bits16 => LengthEncoding::U16,
            LengthForm::Bits64 => LengthEncoding::U64,
        },
    };
    let mut out = Vec::with_capacity(header.encoded_len() + payload.len());
    encode_frame(&header, payload, &mut out);
    out
}
