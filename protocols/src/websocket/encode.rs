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

/// Encodes outgoing messages for one connection.
#[derive(Debug)]
pub struct Writer {
    role: Role,
    rng: MaskRng,
    /// Boxed: most connections never negotiate compression, and the state is ~170 bytes.
    deflater: Option<Box<Deflater>>,
    compress_min: usize,
}

impl Writer {
    /// A writer for `role` without compression.
    pub fn new(role: Role) -> Writer {
        Writer {
            role,
            rng: MaskRng::new(),
            deflater: None,
            compress_min: 0,
        }
    }

    /// Compresses data messages of at least `min_size` bytes with `deflater`.
    pub fn set_deflater(&mut self, deflater: Deflater, min_size: usize) {
        self.deflater = Some(Box::new(deflater));
        self.compress_min = min_size;
    }

    /// True when data messages are compressed.
    pub fn compresses(&self) -> bool {
        self.deflater.is_some()
    }

    /// Gives the compressor's state back between messages: always when `quiet` (the
    /// connection went quiet), otherwise only when it resets after each message anyway.
    pub fn release_compression(&mut self, quiet: bool) {
        if let Some(d) = self.deflater.as_mut() {
            if quiet || d.no_context_takeover() {
                d.release();
            }
        }
    }

    /// True while the compressor's zlib state is allocated.
    pub fn compression_allocated(&self) -> bool {
        self.deflater.as_ref().is_some_and(|d| d.is_allocated())
    }

    /// Encodes one message (or control frame) as a single frame; `emit` receives one or two
    /// `Bytes` to queue in order.
    pub fn encode(&mut self, opcode: Opcode, payload: Bytes, mut emit: impl FnMut(Bytes)) {
        let data = matches!(opcode, Opcode::Text | Opcode::Binary);
        if let (true, Some(d)) = (data, self.deflater.as_mut()) {
            if payload.len() >= self.compress_min {
                let mut body = BytesMut::with_capacity(payload.len() / 2 + 16);
                if d.compress(&payload, &mut body) {
                    return self.emit_frame(opcode, true, body.freeze(), &mut emit);
                }
            }
        }
        self.emit_frame(opcode, false, payload, &mut emit)
    }

    fn emit_frame(
        &mut self,
        opcode: Opcode,
        rsv1: bool,
        payload: Bytes,
        emit: &mut impl FnMut(Bytes),
    ) {
        let len = payload.len();
        match self.role {
            Role::Server if len >= COPY_BELOW => {
                let mut head = BytesMut::with_capacity(10);
                put_header(&mut head, true, rsv1, opcode, len as u64, None);
                emit(head.freeze());
                emit(payload);
            }
            Role::Server => {
                let mut out = BytesMut::with_capacity(len + 10);
                put_header(&mut out, true, rsv1, opcode, len as u64, None);
                out.put_slice(&payload);
                emit(out.freeze());
            }
            Role::Client => {
                let key = self.rng.next_key();
                let mut out = BytesMut::with_capacity(len + 14);
                put_header(&mut out, true, rsv1, opcode, len as u64, Some(key));
                let at = out.len();
                out.put_slice(&payload);
                apply_mask(&mut out[at..], key, 0);
                emit(out.freeze());
            }
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
}
