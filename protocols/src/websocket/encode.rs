//! Sans-IO frame encoding: headers, whole frames, and a [`Writer`] that applies the
//! connection's role (masking) and compression.

use bytes::{BufMut, Bytes, BytesMut};

use super::deflate::Deflater;
use super::mask::apply_mask;
use super::parse::{Opcode, Role};

/// Payloads up to this size are copied behind their header into one buffer (one `Bytes`
/// for the write queue); larger ones go out as two `Bytes` without a copy.
const COPY_BELOW: usize = 1024;

/// Appends a frame header to `out`.
pub fn put_header(
    out: &mut BytesMut,
    fin: bool,
    rsv1: bool,
    opcode: Opcode,
    len: u64,
    mask: Option<[u8; 4]>,
) {
    let b0 = (fin as u8) << 7 | (rsv1 as u8) << 6 | opcode.as_u8();
    let m = if mask.is_some() { 0x80 } else { 0 };
    out.put_u8(b0);
    if len < 126 {
        out.put_u8(m | len as u8);
    } else if len <= 0xffff {
        out.put_u8(m | 126);
        out.put_u16(len as u16);
    } else {
        out.put_u8(m | 127);
        out.put_u64(len);
    }
    if let Some(k) = mask {
        out.put_slice(&k);
    }
}

/// One whole unmasked, uncompressed frame in one buffer: what a server broadcasts (encode
/// once, clone the `Bytes` for every receiver).
pub fn frame(opcode: Opcode, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(payload.len() + 10);
    put_header(&mut out, true, false, opcode, payload.len() as u64, None);
    out.put_slice(payload);
    out.freeze()
}

/// A close frame payload: the code and a reason cut to fit in 125 bytes on a character
/// boundary.
pub fn close_payload(code: u16, reason: &str) -> Bytes {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = BytesMut::with_capacity(2 + end);
    out.put_u16(code);
    out.put_slice(&reason.as_bytes()[..end]);
    out.freeze()
}

/// A small fast generator for masking keys (xorshift64*). RFC 6455 asks for unpredictable
/// keys to protect proxies from cache poisoning by scripts; a non-cryptographic generator
/// seeded from the clock and the address of the state is what browsers' peers in tests need.
#[derive(Clone, Debug)]
pub struct MaskRng(u64);

impl MaskRng {
    /// A generator seeded from the clock.
    pub fn new() -> MaskRng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15);
        let local = &t as *const u64 as u64;
        MaskRng::with_seed(t ^ local.rotate_left(32))
    }

    /// A generator with a fixed seed (tests, fuzzing).
    pub fn with_seed(seed: u64) -> MaskRng {
        MaskRng(seed | 1)
    }

    /// The next masking key.
    pub fn next_key(&mut self) -> [u8; 4] {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        ((x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32).to_ne_bytes()
    }
}

impl Default for MaskRng {
    fn default() -> MaskRng {
        MaskRng::new()
    }
}

/// Input bytes of a large message compressed per slice (one fragment each).
pub const DEFLATE_SLICE: usize = 256 * 1024;

/// Encodes outgoing messages for one connection. A compressed message larger than
/// [`DEFLATE_SLICE`] is compressed a slice at a time, one fragment per
/// [`pump`](Self::pump) call, so that the connection can yield between slices; data messages
/// sent meanwhile wait behind it (control frames do not).
#[derive(Debug)]
pub struct Writer {
    frames: Frames,
    role: Role,
}

/// A [`Writer`] without its role, for a connection that keeps the role once for its reader
/// and its writer: 8 bytes instead of 16.
#[derive(Debug, Default)]
pub(crate) struct Frames {
    /// Boxed: most connections never negotiate compression.
    compressing: Option<Box<Compressing>>,
}

thread_local! {
    /// The masking keys of this thread's client connections: one generator for all rather
    /// than 8 bytes in every connection.
    static MASK_RNG: std::cell::RefCell<MaskRng> = std::cell::RefCell::new(MaskRng::new());
}

/// The compressor and the messages it has still to send.
#[derive(Debug)]
struct Compressing {
    deflater: Deflater,
    /// Data messages shorter than this go uncompressed.
    min_size: usize,
    /// The message being compressed slice by slice: opcode, payload, bytes done.
    current: Option<(Opcode, Bytes, usize)>,
    /// Data messages waiting behind it.
    queue: std::collections::VecDeque<(Opcode, Bytes)>,
}

impl Writer {
    /// A writer for `role` without compression.
    pub fn new(role: Role) -> Writer {
        Writer {
            frames: Frames::default(),
            role,
        }
    }

    /// Compresses data messages of at least `min_size` bytes with `deflater`.
    pub fn set_deflater(&mut self, deflater: Deflater, min_size: usize) {
        self.frames.set_deflater(deflater, min_size);
    }

    /// True while a large message is part-way through compression (call
    /// [`pump`](Self::pump) again).
    pub fn has_backlog(&self) -> bool {
        self.frames.has_backlog()
    }

    /// Drops the message part-way through compression and those waiting behind it (a close
    /// frame is being sent: no data may follow it).
    pub fn abandon_backlog(&mut self) {
        self.frames.abandon_backlog();
    }

    /// Compresses and emits the next slice of the message in progress (and, once it is done,
    /// the messages that waited behind it, up to the next large one).
    pub fn pump(&mut self, emit: impl FnMut(Bytes)) {
        self.frames.pump(self.role, emit);
    }

    /// True when data messages are compressed.
    pub fn compresses(&self) -> bool {
        self.frames.compresses()
    }

    /// Gives the compressor's state back between messages: always when `quiet` (the
    /// connection went quiet), otherwise only when it resets after each message anyway.
    pub fn release_compression(&mut self, quiet: bool) {
        self.frames.release_compression(quiet);
    }

    /// True while the compressor's zlib state is allocated.
    pub fn compression_allocated(&self) -> bool {
        self.frames.compression_allocated()
    }

    /// Encodes one message (or control frame) as a single frame; `emit` receives one or two
    /// `Bytes` to queue in order. A compressed message over [`DEFLATE_SLICE`] gets only its
    /// first fragment here, the rest from [`pump`](Self::pump); data messages sent while one
    /// is in progress wait behind it.
    pub fn encode(&mut self, opcode: Opcode, payload: Bytes, emit: impl FnMut(Bytes)) {
        self.frames.encode(self.role, opcode, payload, emit);
    }
}

impl Frames {
    /// Compresses data messages of at least `min_size` bytes with `deflater`.
    pub(crate) fn set_deflater(&mut self, deflater: Deflater, min_size: usize) {
        self.compressing = Some(Box::new(Compressing {
            deflater,
            min_size,
            current: None,
            queue: std::collections::VecDeque::new(),
        }));
    }

    /// True while a large message is part-way through compression (call
    /// [`pump`](Self::pump) again).
    pub(crate) fn has_backlog(&self) -> bool {
        self.compressing
            .as_ref()
            .is_some_and(|c| c.current.is_some())
    }

    /// Drops the message part-way through compression and those waiting behind it (a close
    /// frame is being sent: no data may follow it).
    pub(crate) fn abandon_backlog(&mut self) {
        if let Some(c) = self.compressing.as_mut() {
            c.current = None;
            c.queue.clear();
        }
    }

    /// Compresses and emits the next slice of the message in progress (and, once it is done,
    /// the messages that waited behind it, up to the next large one).
    pub(crate) fn pump(&mut self, role: Role, mut emit: impl FnMut(Bytes)) {
        let Some(c) = self.compressing.as_mut() else {
            return;
        };
        let Some((opcode, payload, done)) = c.current.take() else {
            return;
        };
        let end = (done + DEFLATE_SLICE).min(payload.len());
        let last = end == payload.len();
        let mut body = BytesMut::with_capacity((end - done) / 2 + 16);
        c.deflater
            .compress_part(&payload[done..end], last, &mut body);
        let frame_op = if done == 0 {
            opcode
        } else {
            Opcode::Continuation
        };
        if !last {
            c.current = Some((opcode, payload, end));
        }
        emit_frame(role, frame_op, last, done == 0, body.freeze(), &mut emit);
        if last {
            while let Some((op, p)) = self.compressing.as_mut().and_then(|c| c.queue.pop_front()) {
                self.encode(role, op, p, &mut emit);
                if self.has_backlog() {
                    break;
                }
            }
        }
    }

    /// True when data messages are compressed.
    pub(crate) fn compresses(&self) -> bool {
        self.compressing.is_some()
    }

    /// Gives the compressor's state back between messages: always when `quiet` (the
    /// connection went quiet), otherwise only when it resets after each message anyway.
    pub(crate) fn release_compression(&mut self, quiet: bool) {
        if let Some(c) = self.compressing.as_mut() {
            if c.current.is_none() && (quiet || c.deflater.no_context_takeover()) {
                c.deflater.release();
            }
        }
    }

    /// True while the compressor's zlib state is allocated.
    pub(crate) fn compression_allocated(&self) -> bool {
        self.compressing
            .as_ref()
            .is_some_and(|c| c.deflater.is_allocated())
    }

    /// Encodes one message (or control frame) as a single frame; `emit` receives one or two
    /// `Bytes` to queue in order. A compressed message over [`DEFLATE_SLICE`] gets only its
    /// first fragment here, the rest from [`pump`](Self::pump); data messages sent while one
    /// is in progress wait behind it.
    pub(crate) fn encode(
        &mut self,
        role: Role,
        opcode: Opcode,
        payload: Bytes,
        mut emit: impl FnMut(Bytes),
    ) {
        let data = matches!(opcode, Opcode::Text | Opcode::Binary);
        if let (true, Some(c)) = (data, self.compressing.as_mut()) {
            if c.current.is_some() {
                c.queue.push_back((opcode, payload));
                return;
            }
            if payload.len() >= c.min_size {
                if payload.len() > DEFLATE_SLICE {
                    let mut first = BytesMut::with_capacity(DEFLATE_SLICE / 2 + 16);
                    if c.deflater
                        .compress_part(&payload[..DEFLATE_SLICE], false, &mut first)
                    {
                        c.current = Some((opcode, payload, DEFLATE_SLICE));
                        return emit_frame(role, opcode, false, true, first.freeze(), &mut emit);
                    }
                } else {
                    let mut body = BytesMut::with_capacity(payload.len() / 2 + 16);
                    if c.deflater.compress(&payload, &mut body) {
                        return emit_frame(role, opcode, true, true, body.freeze(), &mut emit);
                    }
                }
            }
        }
        emit_frame(role, opcode, true, false, payload, &mut emit)
    }
}

/// Emits one frame: a server's unmasked (large payloads without a copy), a client's masked.
fn emit_frame(
    role: Role,
    opcode: Opcode,
    fin: bool,
    rsv1: bool,
    payload: Bytes,
    emit: &mut impl FnMut(Bytes),
) {
    let len = payload.len();
    match role {
        Role::Server if len >= COPY_BELOW => {
            let mut head = BytesMut::with_capacity(10);
            put_header(&mut head, fin, rsv1, opcode, len as u64, None);
            emit(head.freeze());
            emit(payload);
        }
        Role::Server => {
            let mut out = BytesMut::with_capacity(len + 10);
            put_header(&mut out, fin, rsv1, opcode, len as u64, None);
            out.put_slice(&payload);
            emit(out.freeze());
        }
        Role::Client => {
            let key = MASK_RNG.with(|r| r.borrow_mut().next_key());
            let mut out = BytesMut::with_capacity(len + 14);
            put_header(&mut out, fin, rsv1, opcode, len as u64, Some(key));
            let at = out.len();
            out.put_slice(&payload);
            apply_mask(&mut out[at..], key, 0);
            emit(out.freeze());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::websocket::parse::{Limits, Message, Reader};

    fn collect(w: &mut Writer, op: Opcode, p: &[u8]) -> BytesMut {
        let mut all = BytesMut::new();
        w.encode(op, Bytes::copy_from_slice(p), |b| all.extend_from_slice(&b));
        all
    }

    #[test]
    fn header_lengths_use_the_shortest_form() {
        for (len, hl) in [(0u64, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)] {
            let mut b = BytesMut::new();
            put_header(&mut b, true, false, Opcode::Binary, len, None);
            assert_eq!(b.len(), hl, "len {len}");
        }
    }

    #[test]
    fn client_frames_are_masked_and_read_back_by_a_server() {
        let mut w = Writer::new(Role::Client);
        let mut r = Reader::new(Role::Server, Limits::default());
        for len in [0usize, 1, 125, 126, 5000, 70000] {
            let payload: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let mut wire = collect(&mut w, Opcode::Text, &payload);
            assert_ne!(wire[1] & 0x80, 0);
            assert_eq!(
                r.read(&mut wire).unwrap(),
                Some(Message::Text(Bytes::from(payload)))
            );
            assert!(wire.is_empty());
        }
    }

    #[test]
    fn server_frames_are_unmasked_and_read_back_by_a_client() {
        let mut w = Writer::new(Role::Server);
        let mut r = Reader::new(Role::Client, Limits::default());
        for len in [0usize, 3, 1023, 1024, 100_000] {
            let payload = vec![7u8; len];
            let mut wire = collect(&mut w, Opcode::Binary, &payload);
            assert_eq!(wire[1] & 0x80, 0);
            assert_eq!(
                r.read(&mut wire).unwrap(),
                Some(Message::Binary(Bytes::from(payload)))
            );
        }
    }

    #[test]
    fn close_reason_is_cut_on_a_character_boundary() {
        let reason = "é".repeat(100);
        let p = close_payload(1000, &reason);
        assert!(p.len() <= 125);
        assert!(std::str::from_utf8(&p[2..]).is_ok());
    }

    #[test]
    fn a_large_compressed_message_goes_out_in_fragments_with_later_data_behind_it() {
        use crate::websocket::deflate::{Deflater, Inflater};
        let mut w = Writer::new(Role::Server);
        w.set_deflater(Deflater::new(15, false, 1), 0);
        let big: Vec<u8> = (0..3 * DEFLATE_SLICE + 10)
            .map(|i| (i % 97) as u8)
            .collect();
        let mut wire = BytesMut::new();
        let mut push = |b: Bytes| wire.extend_from_slice(&b);
        w.encode(Opcode::Binary, Bytes::from(big.clone()), &mut push);
        w.encode(Opcode::Text, Bytes::from_static(b"after"), &mut push);
        w.encode(Opcode::Ping, Bytes::from_static(b"p"), &mut push);
        let mut pumps = 0;
        while w.has_backlog() {
            w.pump(&mut push);
            pumps += 1;
        }
        assert_eq!(pumps, 3);
        let mut r = Reader::new(Role::Client, Limits::default());
        r.set_inflater(Inflater::new(false));
        let mut got = Vec::new();
        while let Some(m) = r.read(&mut wire).unwrap() {
            got.push(m);
        }
        assert_eq!(
            got,
            vec![
                Message::Ping(Bytes::from_static(b"p")),
                Message::Binary(Bytes::from(big)),
                Message::Text(Bytes::from_static(b"after")),
            ]
        );
    }
}
