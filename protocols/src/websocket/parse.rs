//! Sans-IO frame parsing (RFC 6455 section 5): the frame header, and a [`Reader`] that turns
//! the bytes of a connection into whole messages.
//!
//! The [`Reader`] consumes from the caller's `BytesMut`. A frame that arrived whole becomes
//! the message payload without a copy (`split_to().freeze()`, unmasked in place); fragments
//! are joined; frames larger than [`STREAM_CHUNK`] are moved out of the input as they arrive,
//! so the input never holds more than that of one frame. Text is UTF-8 checked as bytes
//! arrive, so an invalid byte fails the connection before the rest of its frame is read.

use bytes::{Bytes, BytesMut};

use super::deflate::{InflateError, Inflater};
use super::mask::apply_mask;
use super::utf8::Utf8Validator;

/// Payload bytes of an unfinished frame kept in the input before they move to the message
/// buffer.
pub const STREAM_CHUNK: usize = 64 * 1024;

/// A frame's opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opcode {
    /// 0x0: a continuation fragment.
    Continuation,
    /// 0x1: text (UTF-8).
    Text,
    /// 0x2: binary.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl Opcode {
    /// The opcode of a 4-bit value (`None` for the reserved ones).
    pub fn from_u8(v: u8) -> Option<Opcode> {
        Some(match v {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// Close, ping and pong.
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

/// Which end of the connection we are: servers receive masked frames, clients unmasked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// We accepted the connection.
    Server,
    /// We opened the connection.
    Client,
}

/// A parsed frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Final fragment of its message.
    pub fin: bool,
    /// RSV1..RSV3 as the low three bits (RSV1 = 4).
    pub rsv: u8,
    /// The opcode.
    pub opcode: Opcode,
    /// The masking key, when the mask bit is set.
    pub mask: Option<[u8; 4]>,
    /// Payload length.
    pub payload_len: u64,
    /// Header length (2..=14).
    pub header_len: usize,
}

/// Why the peer's bytes are not a valid WebSocket stream. Each maps onto a close code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// A reserved opcode (3-7, B-F).
    BadOpcode(u8),
    /// RSV bits set that no negotiated extension defines.
    ReservedBits,
    /// A control frame with more than 125 bytes of payload.
    ControlTooLong,
    /// A control frame without FIN.
    ControlFragmented,
    /// A 64-bit length with the most significant bit set, or a length not in its shortest
    /// form.
    BadLength,
    /// A client frame without a mask (servers require one).
    UnmaskedFrame,
    /// A server frame with a mask (clients reject it).
    MaskedFrame,
    /// A continuation frame with no message in progress.
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is in progress.
    ExpectedContinuation,
    /// Text that is not UTF-8 (also a close reason).
    InvalidUtf8,
    /// A close frame with a 1-byte payload.
    BadClosePayload,
    /// A close code that may not be sent on the wire.
    BadCloseCode(u16),
    /// A frame or message larger than the configured limit.
    TooBig,
    /// A compressed message that does not inflate.
    BadCompression,
}

impl ProtocolError {
    /// The close code to fail the connection with (RFC 6455 7.4.1).
    pub fn close_code(self) -> u16 {
        match self {
            ProtocolError::InvalidUtf8 => 1007,
            ProtocolError::TooBig => 1009,
            _ => 1002,
        }
    }

    /// A short reason for the close frame.
    pub fn reason(self) -> &'static str {
        match self {
            ProtocolError::BadOpcode(_) => "reserved opcode",
            ProtocolError::ReservedBits => "reserved bits set",
            ProtocolError::ControlTooLong => "control frame too long",
            ProtocolError::ControlFragmented => "fragmented control frame",
            ProtocolError::BadLength => "bad payload length",
            ProtocolError::UnmaskedFrame => "client frame not masked",
            ProtocolError::MaskedFrame => "server frame masked",
            ProtocolError::UnexpectedContinuation => "continuation without message",
            ProtocolError::ExpectedContinuation => "expected continuation frame",
            ProtocolError::InvalidUtf8 => "invalid UTF-8",
            ProtocolError::BadClosePayload => "bad close payload",
            ProtocolError::BadCloseCode(_) => "bad close code",
            ProtocolError::TooBig => "message too big",
            ProtocolError::BadCompression => "bad compressed data",
        }
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for ProtocolError {}

/// Parses a frame header from the start of `buf`: `Ok(None)` when more bytes are needed.
/// Checks what the header alone can tell (opcode, control frame rules, length encoding) as
/// soon as the bytes that carry it are there.
pub fn parse_header(buf: &[u8]) -> Result<Option<FrameHeader>, ProtocolError> {
    let Some(&b0) = buf.first() else {
        return Ok(None);
    };
    let opcode = Opcode::from_u8(b0 & 0x0f).ok_or(ProtocolError::BadOpcode(b0 & 0x0f))?;
    let fin = b0 & 0x80 != 0;
    if opcode.is_control() && !fin {
        return Err(ProtocolError::ControlFragmented);
    }
    let Some(&b1) = buf.get(1) else {
        return Ok(None);
    };
    let masked = b1 & 0x80 != 0;
    let len7 = b1 & 0x7f;
    if opcode.is_control() && len7 > 125 {
        return Err(ProtocolError::ControlTooLong);
    }
    let (payload_len, mut at) = match len7 {
        126 => {
            let Some(b) = buf.get(2..4) else {
                return Ok(None);
            };
            let n = u16::from_be_bytes([b[0], b[1]]) as u64;
            if n < 126 {
                return Err(ProtocolError::BadLength);
            }
            (n, 4)
        }
        127 => {
            let Some(b) = buf.get(2..10) else {
                return Ok(None);
            };
            let n = u64::from_be_bytes(b.try_into().unwrap());
            if n >> 63 != 0 || n <= 0xffff {
                return Err(ProtocolError::BadLength);
            }
            (n, 10)
        }
        n => (n as u64, 2),
    };
    let mask = if masked {
        let Some(k) = buf.get(at..at + 4) else {
            return Ok(None);
        };
        at += 4;
        Some([k[0], k[1], k[2], k[3]])
    } else {
        None
    };
    Ok(Some(FrameHeader {
        fin,
        rsv: (b0 >> 4) & 0x7,
        opcode,
        mask,
        payload_len,
        header_len: at,
    }))
}

/// A close frame's contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: u16,
    /// The reason (valid UTF-8, at most 123 bytes).
    pub reason: Bytes,
}

impl CloseFrame {
    /// The reason as text.
    pub fn reason_str(&self) -> &str {
        std::str::from_utf8(&self.reason).unwrap_or("")
    }
}

/// True for codes a peer may send in a close frame (RFC 6455 7.4, IANA registry 1012-1014,
/// 3000-4999 for libraries and applications).
pub fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Parses a close frame payload (empty, or a code and a UTF-8 reason).
pub fn parse_close(payload: &Bytes) -> Result<Option<CloseFrame>, ProtocolError> {
    match payload.len() {
        0 => Ok(None),
        1 => Err(ProtocolError::BadClosePayload),
        _ => {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            if !is_valid_close_code(code) {
                return Err(ProtocolError::BadCloseCode(code));
            }
            let reason = payload.slice(2..);
            if std::str::from_utf8(&reason).is_err() {
                return Err(ProtocolError::InvalidUtf8);
            }
            Ok(Some(CloseFrame { code, reason }))
        }
    }
}

/// A message (or control frame) read from the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message; the bytes are valid UTF-8.
    Text(Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping with its payload.
    Ping(Bytes),
    /// A pong with its payload.
    Pong(Bytes),
    /// A close frame (`None`: no status code).
    Close(Option<CloseFrame>),
}

/// Limits of a [`Reader`].
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest frame payload accepted (at most 4 GiB: a [`Reader`] takes larger values as that).
    pub max_frame: u64,
    /// Largest message accepted (after decompression).
    pub max_message: usize,
    /// Largest size a compressed message may inflate to (the smaller of this and
    /// `max_message` applies): a few KB of deflate can inflate to gigabytes, so this is
    /// lower than the plain limit by default. Checked as the message inflates.
    pub max_compressed_message: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_frame: 64 << 20,
            max_message: 64 << 20,
            max_compressed_message: 16 << 20,
        }
    }
}

/// Compressed payload not yet inflated: the rest of a frame whose inflation ran out of
/// budget.
#[derive(Debug)]
struct Pending {
    data: Bytes,
    /// The frame was the message's last: finish the message once `data` is inflated.
    fin: bool,
}

/// How draining [`Pending`] input went.
enum Drain {
    /// Out of budget: more next turn.
    Yield,
    /// All inflated; the message goes on.
    Done,
    /// All inflated and the message is complete.
    Message(Message),
}

/// Where the reader is: the frame being read (its header already consumed from the input)
/// and the data message being assembled. 16 bytes, kept whole rather than as two `Option`s
/// (48 bytes): every idle connection carries one.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    /// Payload bytes of the frame not yet in the input's unmasked prefix.
    left: u32,
    /// Unmasked (and checked) payload bytes sitting at the start of the input.
    ready: u32,
    /// The frame's masking key (when [`bit::MASKED`]).
    mask: [u8; 4],
    opcode: Opcode,
    /// [`bit`] flags of the frame (0: between frames).
    frame: u8,
    /// [`bit`] flags of the data message (0: between messages).
    message: u8,
    role: Role,
}

/// Bits of [`Cursor::frame`] and [`Cursor::message`].
mod bit {
    /// A frame's header was read; its payload is being read.
    pub const IN_FRAME: u8 = 1;
    /// The frame is its message's last.
    pub const FIN: u8 = 2;
    /// The payload is masked with [`Cursor::mask`](super::Cursor).
    pub const MASKED: u8 = 4;
    /// Payload bytes of the frame already moved out of the input.
    pub const MOVED: u8 = 8;
    /// Bits 4-5 of `frame`: payload bytes unmasked so far, modulo 4 (where the mask
    /// continues).
    pub const PHASE_SHIFT: u8 = 4;
    /// A data message's first frame arrived, its last not yet.
    pub const IN_MESSAGE: u8 = 1;
    /// The message is text.
    pub const TEXT: u8 = 2;
    /// The message is compressed (RSV1).
    pub const COMPRESSED: u8 = 4;
}

/// Turns a connection's bytes into [`Message`]s. See the module docs.
#[derive(Debug)]
pub struct Reader {
    /// Boxed: most connections never negotiate compression.
    inflating: Option<Box<Inflating>>,
    /// The message assembled so far; only fragmented, compressed or streamed messages need
    /// one (boxed: 8 bytes between messages, not 32).
    buf: Option<Box<BytesMut>>,
    at: Cursor,
    /// [`Limits`], stored in 12 bytes (frames and messages over 4 GiB are not supported).
    max_frame: u32,
    max_message: u32,
    /// The smaller of the plain and the compressed message limit.
    max_inflated: u32,
    utf8: Utf8Validator,
}

/// The decompressor and its progress through the current turn.
#[derive(Debug)]
struct Inflating {
    inflater: Inflater,
    /// Compressed input waiting for the next turn's budget.
    pending: Option<Pending>,
    /// Inflated bytes one turn may produce (`usize::MAX`: no slicing).
    slice: usize,
    /// What is left of the slice in this turn.
    budget: usize,
}

impl Reader {
    /// A reader for `role`, without compression. Limits above 4 GiB are 4 GiB.
    pub fn new(role: Role, limits: Limits) -> Reader {
        let cap = |n: u64| n.min(u32::MAX.into()) as u32;
        let max_message = cap(limits.max_message as u64);
        Reader {
            inflating: None,
            buf: None,
            at: Cursor {
                left: 0,
                ready: 0,
                mask: [0; 4],
                opcode: Opcode::Continuation,
                frame: 0,
                message: 0,
                role,
            },
            max_frame: cap(limits.max_frame),
            max_message,
            max_inflated: max_message.min(cap(limits.max_compressed_message as u64)),
            utf8: Utf8Validator::new(),
        }
    }

    /// Inflates at most about `bytes` per turn (see [`new_turn`](Self::new_turn)): a message
    /// inflating to more is processed over several turns, [`read`](Self::read) returning
    /// `Ok(None)` with [`is_yielding`](Self::is_yielding) in between. Unlimited by default;
    /// applies to the inflater set by [`set_inflater`](Self::set_inflater) (call it after).
    pub fn set_inflate_slice(&mut self, bytes: usize) {
        if let Some(z) = self.inflating.as_mut() {
            z.slice = bytes.max(1);
            z.budget = z.slice;
        }
    }

    /// Starts a turn: the inflate budget is full again.
    pub fn new_turn(&mut self) {
        if let Some(z) = self.inflating.as_mut() {
            z.budget = z.slice;
        }
    }

    /// True when the last [`read`](Self::read) stopped because this turn's inflate budget ran
    /// out (not for lack of input): call it again in a later turn, with no new bytes needed.
    pub fn is_yielding(&self) -> bool {
        self.inflating.as_ref().is_some_and(|z| z.pending.is_some())
    }

    /// True while a data message is being assembled (its first frame arrived, its last not
    /// yet).
    pub fn in_message(&self) -> bool {
        self.at.message & bit::IN_MESSAGE != 0
    }

    /// Gives compression state back between messages when the peer resets its compressor
    /// after each message (see [`Inflater::release`]).
    pub fn release_compression(&mut self) {
        if !self.in_message() {
            if let Some(z) = self.inflating.as_mut() {
                z.inflater.release();
            }
        }
    }

    /// Drops the message being assembled and any pending input (the connection failed).
    pub fn discard_message(&mut self) {
        self.buf = None;
        self.at.message = 0;
        self.at.frame = 0;
        self.at.ready = 0;
        self.at.left = 0;
        self.utf8.reset();
        if let Some(z) = self.inflating.as_mut() {
            z.pending = None;
        }
    }

    /// True while the decompressor's zlib state is allocated.
    pub fn compression_allocated(&self) -> bool {
        self.inflating
            .as_ref()
            .is_some_and(|z| z.inflater.is_allocated())
    }

    /// Accepts RSV1 (compressed messages) and inflates them with `inflater`.
    pub fn set_inflater(&mut self, inflater: Inflater) {
        self.inflating = Some(Box::new(Inflating {
            inflater,
            pending: None,
            slice: usize::MAX,
            budget: usize::MAX,
        }));
    }

    /// The limits in force (`max_compressed_message` is the smaller of the two message
    /// limits).
    pub fn limits(&self) -> Limits {
        Limits {
            max_frame: self.max_frame.into(),
            max_message: self.max_message as usize,
            max_compressed_message: self.max_inflated as usize,
        }
    }

    /// Reads the next message from `input`, consuming its bytes. `Ok(None)`: more bytes are
    /// needed (what arrived so far has been consumed or checked). After an error the reader
    /// must not be used again: the connection is to be failed with
    /// [`ProtocolError::close_code`].
    pub fn read(&mut self, input: &mut BytesMut) -> Result<Option<Message>, ProtocolError> {
        loop {
            if self.is_yielding() {
                match self.drain()? {
                    Drain::Yield => return Ok(None),
                    Drain::Message(m) => return Ok(Some(m)),
                    Drain::Done => {}
                }
            }
            if self.at.frame & bit::IN_FRAME == 0 {
                let Some(header) = parse_header(input)? else {
                    return Ok(None);
                };
                self.check_header(&header)?;
                let _ = input.split_to(header.header_len);
                let at = &mut self.at;
                at.frame = bit::IN_FRAME
                    | if header.fin { bit::FIN } else { 0 }
                    | if header.mask.is_some() {
                        bit::MASKED
                    } else {
                        0
                    };
                at.opcode = header.opcode;
                at.mask = header.mask.unwrap_or_default();
                // At most `max_frame`, a u32 (checked above).
                at.left = header.payload_len as u32;
                at.ready = 0;
            }
            let at = &mut self.at;
            let ready = at.ready as usize;
            let fresh = (input.len() - ready).min(at.left as usize);
            if fresh > 0 {
                let range = ready..ready + fresh;
                if at.frame & bit::MASKED != 0 {
                    let phase = usize::from((at.frame >> bit::PHASE_SHIFT) & 3);
                    apply_mask(&mut input[range.clone()], at.mask, phase);
                    let next = ((phase + fresh) & 3) as u8;
                    at.frame = (at.frame & !(3 << bit::PHASE_SHIFT)) | next << bit::PHASE_SHIFT;
                }
                at.ready += fresh as u32;
                at.left -= fresh as u32;
                // Plain text is checked as it arrives (compressed text once inflated).
                if at.message & (bit::TEXT | bit::COMPRESSED) == bit::TEXT
                    && !at.opcode.is_control()
                {
                    self.utf8
                        .feed(&input[range])
                        .map_err(|_| ProtocolError::InvalidUtf8)?;
                }
            }
            let at = &mut self.at;
            if at.left > 0 {
                if at.ready as usize >= STREAM_CHUNK {
                    let chunk = input.split_to(at.ready as usize);
                    at.frame |= bit::MOVED;
                    at.ready = 0;
                    self.append(chunk, false)?;
                    // A compressed chunk is inflated at the top of the loop.
                    continue;
                }
                return Ok(None);
            }
            let ready = at.ready as usize;
            let first_whole = at.frame & bit::MOVED == 0;
            let fin = at.frame & bit::FIN != 0;
            let opcode = at.opcode;
            at.frame = 0;
            at.ready = 0;
            let payload = input.split_to(ready);
            if opcode.is_control() {
                let payload = payload.freeze();
                return Ok(Some(match opcode {
                    Opcode::Ping => Message::Ping(payload),
                    Opcode::Pong => Message::Pong(payload),
                    _ => Message::Close(parse_close(&payload)?),
                }));
            }
            debug_assert!(
                at.message & bit::IN_MESSAGE != 0,
                "data frame starts a message in check_header"
            );
            let text = at.message & bit::TEXT != 0;
            let compressed = at.message & bit::COMPRESSED != 0;
            if fin && first_whole && self.buf.as_ref().is_none_or(|b| b.is_empty()) && !compressed {
                // The whole message in one frame: hand the input's bytes out, no copy.
                at.message = 0;
                self.buf = None;
                if text && !self.utf8.is_complete() {
                    return Err(ProtocolError::InvalidUtf8);
                }
                self.utf8.reset();
                let payload = payload.freeze();
                return Ok(Some(if text {
                    Message::Text(payload)
                } else {
                    Message::Binary(payload)
                }));
            }
            self.append(payload, fin)?;
            if fin && !compressed {
                return self.finish_message().map(Some);
            }
        }
    }

    /// Inflates pending compressed input within this turn's budget.
    fn drain(&mut self) -> Result<Drain, ProtocolError> {
        let max = self.max_inflated as usize;
        let z = self.inflating.as_mut().expect("compression negotiated");
        let pending = z.pending.as_mut().expect("pending input");
        debug_assert!(
            self.at.message & bit::IN_MESSAGE != 0,
            "message in progress"
        );
        let buf = self.buf.get_or_insert_with(Box::default);
        let start = buf.len();
        let progress = z
            .inflater
            .inflate(&pending.data, buf, max, z.budget)
            .map_err(inflate_error)?;
        z.budget = z.budget.saturating_sub(buf.len() - start);
        if self.at.message & bit::TEXT != 0 {
            self.utf8
                .feed(&buf[start..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        let _ = pending.data.split_to(progress.consumed);
        if !progress.done {
            return Ok(Drain::Yield);
        }
        let fin = pending.fin;
        z.pending = None;
        if fin {
            return self.finish_message().map(Drain::Message);
        }
        Ok(Drain::Done)
    }

    /// Adds payload bytes (already unmasked and, for plain text, checked) to the message;
    /// compressed bytes become pending input, inflated by [`drain`](Self::drain).
    fn append(&mut self, data: BytesMut, fin: bool) -> Result<(), ProtocolError> {
        let max = self.max_message as usize;
        debug_assert!(self.in_message(), "message in progress");
        if self.at.message & bit::COMPRESSED != 0 {
            let z = self.inflating.as_mut().expect("compression negotiated");
            debug_assert!(z.pending.is_none());
            z.pending = Some(Pending {
                data: data.freeze(),
                fin,
            });
            return Ok(());
        }
        let buf = self.buf.get_or_insert_with(Box::default);
        if buf.len() + data.len() > max {
            return Err(ProtocolError::TooBig);
        }
        buf.extend_from_slice(&data);
        Ok(())
    }

    fn finish_message(&mut self) -> Result<Message, ProtocolError> {
        let max = self.max_inflated as usize;
        debug_assert!(self.in_message(), "message in progress");
        let message = std::mem::take(&mut self.at.message);
        let (text, compressed) = (message & bit::TEXT != 0, message & bit::COMPRESSED != 0);
        let mut buf = self.buf.take().map_or_else(BytesMut::new, |b| *b);
        if compressed {
            let z = self.inflating.as_mut().expect("compression negotiated");
            let start = buf.len();
            z.inflater.finish(&mut buf, max).map_err(inflate_error)?;
            if text {
                self.utf8
                    .feed(&buf[start..])
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
        }
        if text && !self.utf8.is_complete() {
            return Err(ProtocolError::InvalidUtf8);
        }
        self.utf8.reset();
        let data = buf.freeze();
        Ok(if text {
            Message::Text(data)
        } else {
            Message::Binary(data)
        })
    }

    /// The rules that depend on the connection's state: masking, RSV bits, fragmentation
    /// order, limits. Starts a message for a first data frame.
    fn check_header(&mut self, h: &FrameHeader) -> Result<(), ProtocolError> {
        match (self.at.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        let rsv1_allowed =
            self.inflating.is_some() && matches!(h.opcode, Opcode::Text | Opcode::Binary);
        if h.rsv & 0b011 != 0 || (h.rsv & 0b100 != 0 && !rsv1_allowed) {
            return Err(ProtocolError::ReservedBits);
        }
        if h.payload_len > u64::from(self.max_frame) {
            return Err(ProtocolError::TooBig);
        }
        match h.opcode {
            Opcode::Continuation => {
                if !self.in_message() {
                    return Err(ProtocolError::UnexpectedContinuation);
                }
                let assembled = self.buf.as_ref().map_or(0, |b| b.len());
                let compressed = self.at.message & bit::COMPRESSED != 0;
                if !compressed && assembled as u64 + h.payload_len > u64::from(self.max_message) {
                    return Err(ProtocolError::TooBig);
                }
            }
            Opcode::Text | Opcode::Binary => {
                if self.in_message() {
                    return Err(ProtocolError::ExpectedContinuation);
                }
                let compressed = h.rsv & 0b100 != 0;
                if !compressed && h.payload_len > u64::from(self.max_message) {
                    return Err(ProtocolError::TooBig);
                }
                self.at.message = bit::IN_MESSAGE
                    | if h.opcode == Opcode::Text {
                        bit::TEXT
                    } else {
                        0
                    }
                    | if compressed { bit::COMPRESSED } else { 0 };
                self.buf = None;
            }
            _ => {}
        }
        Ok(())
    }
}

fn inflate_error(e: InflateError) -> ProtocolError {
    match e {
        InflateError::TooBig => ProtocolError::TooBig,
        InflateError::Corrupt => ProtocolError::BadCompression,
    }
}
