//! permessage-deflate (RFC 7692): negotiation of the extension's parameters and the
//! per-direction compressor and decompressor.
//!
//! The backend is `flate2` on `zlib-rs` (pure Rust), because the default `miniz_oxide`
//! backend cannot compress with a window other than 32 KiB. zlib cannot *compress* raw
//! deflate with an 8-bit window; when a peer limits us to `server_max_window_bits=8` we send
//! stored (uncompressed) deflate blocks, which reference no window at all and so are valid for
//! any window size. Decompression always uses a 32 KiB window, which reads streams made with
//! any smaller one.
//!
//! Compression state is a budget, not a per-connection given: an [`Inflater`] or
//! [`Deflater`] allocates its zlib state when its first message needs it and gives it back
//! with `release` (the connection calls it between messages when that direction has no
//! context takeover, and when the connection goes quiet). [`memory_in_use`] counts the state
//! alive on this thread (one reactor per thread); beyond [`DeflateConfig::memory_limit`] new
//! offers are declined (RFC 7692 lets a server answer without the extension) and compressors
//! are not started (messages go out uncompressed, which the extension allows per message).

use std::cell::Cell;

use bytes::{BufMut, BytesMut};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The four octets every compressed message ends with before they are stripped (RFC 7692
/// 7.2.1): an empty stored block flushed with `Z_SYNC_FLUSH`.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Default [`DeflateConfig::memory_limit`]: 128 MiB of compression state per thread.
pub const DEFAULT_MEMORY_LIMIT: usize = 128 << 20;

thread_local! {
    static IN_USE: Cell<usize> = const { Cell::new(0) };
}

/// Bytes of zlib state held by the inflaters and deflaters
/// alive on this thread.
pub fn memory_in_use() -> usize {
    IN_USE.with(|c| c.get())
}

fn charge(bytes: usize) {
    IN_USE.with(|c| c.set(c.get() + bytes));
}

fn refund(bytes: usize) {
    IN_USE.with(|c| c.set(c.get().saturating_sub(bytes)));
}

/// The inflate state with its 32 KiB window, as `zlib-rs` allocates it (checked by
/// `tests/ws_idle_heap.rs`).
const INFLATE_COST: usize = 47_552;

/// The deflate state for `window_bits`, as `zlib-rs` allocates it at flate2's memLevel: four
/// bytes per window position plus a fixed 243 KiB of hash chains and buffers (checked by
/// `tests/ws_idle_heap.rs`).
fn deflate_cost(window_bits: u8) -> usize {
    (1 << (window_bits as usize + 2)) + 248_960
}

/// Reserves `bytes` of the budget: false (nothing reserved) when `limit` would be passed.
fn try_charge(bytes: usize, limit: usize) -> bool {
    if memory_in_use().saturating_add(bytes) > limit {
        return false;
    }
    charge(bytes);
    true
}

/// What the server asks for and allows when a client offers permessage-deflate.
#[derive(Clone, Debug)]
pub struct DeflateConfig {
    /// Accept permessage-deflate offers at all.
    pub enabled: bool,
    /// Always reset our compressor after each message (`server_no_context_takeover`), even
    /// if the client did not ask for it: its state is then released after every callback
    /// instead of when the connection goes quiet.
    pub server_no_context_takeover: bool,
    /// Ask the client to reset its compressor after each message (on by default: the
    /// decompressor then holds no window between messages, so a connection between
    /// messages keeps no inflate state; off, each connection keeps ~40 KiB for its life
    /// once it received a compressed message).
    pub client_no_context_takeover: bool,
    /// Largest window our compressor uses (9..=15); a client may ask for less.
    pub server_max_window_bits: u8,
    /// Compression level (0..=9).
    pub level: u32,
    /// Messages shorter than this are sent uncompressed (RSV1 clear), which the extension
    /// allows per message.
    pub min_size: usize,
    /// Compression state allowed on this thread (see [`memory_in_use`]): beyond it, offers are
    /// declined and messages are sent uncompressed.
    pub memory_limit: usize,
}

impl Default for DeflateConfig {
    fn default() -> DeflateConfig {
        DeflateConfig {
            enabled: true,
            server_no_context_takeover: false,
            client_no_context_takeover: true,
            server_max_window_bits: 15,
            level: 1,
            min_size: 0,
            memory_limit: DEFAULT_MEMORY_LIMIT,
        }
    }
}

/// The parameters agreed for one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after each message.
    pub client_no_context_takeover: bool,
    /// The server's compression window (8..=15).
    pub server_max_window_bits: u8,
    /// The client's compression window (8..=15).
    pub client_max_window_bits: u8,
    /// The offer carried `server_max_window_bits`: the answer must then carry it too, with
    /// the same or a smaller value (RFC 7692 7.1.2.1).
    pub server_max_window_bits_offered: bool,
}

impl Default for DeflateParams {
    fn default() -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            server_max_window_bits_offered: false,
        }
    }
}

impl DeflateParams {
    /// The `Sec-WebSocket-Extensions` value a server answers with.
    pub fn response_header(&self) -> String {
        let mut s = String::from("permessage-deflate");
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if self.server_max_window_bits < 15 || self.server_max_window_bits_offered {
            s.push_str(&format!(
                "; server_max_window_bits={}",
                self.server_max_window_bits
            ));
        }
        if self.client_max_window_bits < 15 {
            s.push_str(&format!(
                "; client_max_window_bits={}",
                self.client_max_window_bits
            ));
        }
        s
    }
}

/// One `name; p; p=v` element of an extension list, its parameters with values unquoted.
fn parse_extension(ext: &str) -> (String, Vec<(String, Option<String>)>) {
    let mut parts = ext.split(';');
    let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let params = parts
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (
                k.trim().to_ascii_lowercase(),
                Some(v.trim().trim_matches('"').to_string()),
            ),
            None => (p.trim().to_ascii_lowercase(), None),
        })
        .collect();
    (name, params)
}

fn window_bits(v: &str) -> Option<u8> {
    // RFC 7692 7.1.2: a decimal integer 8..=15 without leading zeros.
    if v.is_empty() || v.len() > 2 || v.starts_with('0') || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok().filter(|b| (8..=15).contains(b))
}

/// Server side of the negotiation: picks the first acceptable permessage-deflate offer in
/// the `Sec-WebSocket-Extensions` values and returns the agreed parameters, or `None` to go
/// without compression (offers with unknown, repeated or invalid parameters are declined, as
/// RFC 7692 5 says).
pub fn negotiate<'a>(
    headers: impl IntoIterator<Item = &'a str>,
    config: &DeflateConfig,
) -> Option<DeflateParams> {
    if !config.enabled || memory_in_use() >= config.memory_limit {
        return None;
    }
    for header in headers {
        for ext in header.split(',') {
            let (name, params) = parse_extension(ext);
            if name != "permessage-deflate" {
                continue;
            }
            if let Some(p) = accept_offer(&params, config) {
                return Some(p);
            }
        }
    }
    None
}

fn accept_offer(
    params: &[(String, Option<String>)],
    config: &DeflateConfig,
) -> Option<DeflateParams> {
    let mut out = DeflateParams {
        server_no_context_takeover: config.server_no_context_takeover,
        client_no_context_takeover: config.client_no_context_takeover,
        server_max_window_bits: config.server_max_window_bits.clamp(9, 15),
        client_max_window_bits: 15,
        server_max_window_bits_offered: false,
    };
    let mut seen: Vec<&str> = Vec::new();
    for (k, v) in params {
        if seen.contains(&k.as_str()) {
            return None;
        }
        seen.push(k);
        match (k.as_str(), v) {
            ("server_no_context_takeover", None) => out.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => out.client_no_context_takeover = true,
            ("server_max_window_bits", Some(v)) => {
                let bits = window_bits(v)?;
                out.server_max_window_bits = out.server_max_window_bits.min(bits);
                out.server_max_window_bits_offered = true;
            }
            // Without a value the client only says it supports the parameter; we do not
            // need to limit its window (we inflate with 32 KiB), so we leave it out.
            ("client_max_window_bits", None) => {}
            ("client_max_window_bits", Some(v)) => {
                window_bits(v)?;
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Client side: the offer to send. It includes `client_no_context_takeover` (RFC 7692
/// 7.1.1.2: a promise that the client resets its compressor after every message whatever
/// the server answers — servers that insist on it can then accept the offer) and
/// `client_max_window_bits` (we accept any window the server asks of us).
pub fn client_offer() -> &'static str {
    "permessage-deflate; client_no_context_takeover; client_max_window_bits"
}

/// The server answered with an extension or parameter the client did not offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnexpectedExtension;

/// Client side: parses the server's `Sec-WebSocket-Extensions` answer to [`client_offer`].
/// `Err` when the server answered with something we did not offer (the client must fail).
pub fn client_accept(header: &str) -> Result<Option<DeflateParams>, UnexpectedExtension> {
    let mut result = None;
    for ext in header.split(',') {
        if ext.trim().is_empty() {
            continue;
        }
        let (name, params) = parse_extension(ext);
        if name != "permessage-deflate" || result.is_some() {
            return Err(UnexpectedExtension);
        }
        let mut p = DeflateParams::default();
        let mut seen: Vec<&str> = Vec::new();
        for (k, v) in &params {
            if seen.contains(&k.as_str()) {
                return Err(UnexpectedExtension);
            }
            seen.push(k);
            match (k.as_str(), v) {
                ("server_no_context_takeover", None) => p.server_no_context_takeover = true,
                ("client_no_context_takeover", None) => p.client_no_context_takeover = true,
                ("server_max_window_bits", Some(v)) => {
                    p.server_max_window_bits = window_bits(v).ok_or(UnexpectedExtension)?
                }
                ("client_max_window_bits", Some(v)) => {
                    p.client_max_window_bits = window_bits(v).ok_or(UnexpectedExtension)?
                }
                _ => return Err(UnexpectedExtension),
            }
        }
        result = Some(p);
    }
    Ok(result)
}

/// Why inflating a message failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InflateError {
    /// The data is not a valid deflate stream (close 1007... RFC 7692 says fail: we use 1002).
    Corrupt,
    /// The message inflates to more than the limit (close 1009).
    TooBig,
}

/// How far one [`Inflater::inflate`] call got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Input bytes consumed (the caller keeps the rest for the next call).
    pub consumed: usize,
    /// Everything given so far has been inflated; `false`: the output budget ran out and
    /// another call (with the unconsumed input, possibly none) is needed.
    pub done: bool,
}

/// Makes room for `need` more bytes in `out` without letting its capacity grow past `cap`
/// (a doubling `reserve` would allocate up to twice the message limit).
fn grow(out: &mut BytesMut, need: usize, cap: usize) {
    if out.capacity() - out.len() >= need {
        return;
    }
    let want = out.len() + need;
    let target = (out.capacity() * 2).max(want).min(cap.max(want));
    if out.is_empty() {
        *out = BytesMut::with_capacity(target);
    } else {
        let mut bigger = BytesMut::with_capacity(target);
        bigger.extend_from_slice(out);
        *out = bigger;
    }
}

/// Decompresses the messages of one direction. Its zlib state is allocated at the first
/// message and given back by [`release`](Self::release).
pub struct Inflater {
    inner: Option<Decompress>,
    no_context_takeover: bool,
    /// The last call filled its output room: zlib may hold more output.
    output_pending: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("allocated", &self.inner.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        self.release_state();
    }
}

impl Inflater {
    /// A decompressor; `no_context_takeover` resets it after each message. Allocates
    /// nothing until the first message.
    pub fn new(no_context_takeover: bool) -> Inflater {
        Inflater {
            inner: None,
            no_context_takeover,
            output_pending: false,
        }
    }

    /// True while the zlib state is allocated.
    pub fn is_allocated(&self) -> bool {
        self.inner.is_some()
    }

    /// Gives the zlib state back between messages when the peer resets its compressor after
    /// each message (no window to keep); true when it was released.
    pub fn release(&mut self) -> bool {
        if self.no_context_takeover && self.inner.is_some() && !self.output_pending {
            self.release_state();
            return true;
        }
        false
    }

    fn release_state(&mut self) {
        if self.inner.take().is_some() {
            refund(INFLATE_COST);
        }
    }

    fn state(&mut self) -> &mut Decompress {
        self.inner.get_or_insert_with(|| {
            // The peer's messages must be read whatever the budget says: always allocate.
            charge(INFLATE_COST);
            Decompress::new(false)
        })
    }

    /// Inflates `input` (part of a message) onto `out`, producing at most about `budget`
    /// bytes in this call; fails as soon as `out` would exceed `limit` bytes (the output is
    /// checked as it grows, and `out` never holds more than `limit + 1` bytes).
    pub fn inflate(
        &mut self,
        input: &[u8],
        out: &mut BytesMut,
        limit: usize,
        budget: usize,
    ) -> Result<Progress, InflateError> {
        let mut used_total = 0;
        let mut made_total = 0;
        loop {
            let rest = &input[used_total..];
            if rest.is_empty() && !self.output_pending {
                return Ok(Progress {
                    consumed: used_total,
                    done: true,
                });
            }
            if made_total >= budget {
                return Ok(Progress {
                    consumed: used_total,
                    done: false,
                });
            }
            let start = out.len();
            let room = rest
                .len()
                .saturating_mul(4)
                .clamp(4096, 256 * 1024)
                .min(budget - made_total)
                .min(limit.saturating_add(1).saturating_sub(start))
                .max(1);
            grow(out, room, limit.saturating_add(1));
            // Zero-filled room (no uninitialised memory), cut back to what was written.
            out.resize(start + room, 0);
            let d = self.state();
            let before_in = d.total_in();
            let before_out = d.total_out();
            let status = d.decompress(rest, &mut out[start..], FlushDecompress::Sync);
            let used = (d.total_in() - before_in) as usize;
            let made = (d.total_out() - before_out) as usize;
            out.truncate(start + made);
            let status = status.map_err(|_| InflateError::Corrupt)?;
            used_total += used;
            made_total += made;
            if out.len() > limit {
                return Err(InflateError::TooBig);
            }
            self.output_pending = made == room;
            if let Status::StreamEnd = status {
                // A final block inside a message: the next message starts a new stream.
                self.state().reset(false);
                self.output_pending = false;
                if used_total != input.len() {
                    return Err(InflateError::Corrupt);
                }
                return Ok(Progress {
                    consumed: used_total,
                    done: true,
                });
            }
            if used == 0 && made == 0 && !rest.is_empty() {
                return Err(InflateError::Corrupt);
            }
        }
    }

    /// Ends a message: inflates the stripped tail and resets when there is no context
    /// takeover. Call it once [`inflate`](Self::inflate) reported the message's data done.
    pub fn finish(&mut self, out: &mut BytesMut, limit: usize) -> Result<(), InflateError> {
        let p = self.inflate(&TAIL, out, limit, usize::MAX)?;
        debug_assert!(p.done);
        if self.no_context_takeover {
            if let Some(d) = self.inner.as_mut() {
                d.reset(false);
            }
        }
        Ok(())
    }
}

/// Compresses the messages of one direction. Its zlib state is allocated at the first
/// message (when the thread's budget allows) and given back by [`release`](Self::release).
pub struct Deflater {
    inner: Option<Compress>,
    no_context_takeover: bool,
    level: Compression,
    window_bits: u8,
    memory_limit: usize,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater")
            .field("window_bits", &self.window_bits)
            .field("level", &self.level.level())
            .field("allocated", &self.inner.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for Deflater {
    fn drop(&mut self) {
        self.release();
    }
}

impl Deflater {
    /// A compressor with a `2^window_bits` window (8 means stored blocks, see the module
    /// docs). Allocates nothing until the first message.
    pub fn new(window_bits: u8, no_context_takeover: bool, level: u32) -> Deflater {
        let level = if window_bits <= 8 {
            Compression::none()
        } else {
            Compression::new(level.min(9))
        };
        Deflater {
            inner: None,
            no_context_takeover,
            level,
            window_bits: window_bits.clamp(9, 15),
            memory_limit: usize::MAX,
        }
    }

    /// Caps the thread's compression state when this deflater allocates (see
    /// [`memory_in_use`]).
    pub fn with_memory_limit(mut self, limit: usize) -> Deflater {
        self.memory_limit = limit;
        self
    }

    /// True while the zlib state is allocated.
    pub fn is_allocated(&self) -> bool {
        self.inner.is_some()
    }

    /// True when the compressor resets after each message.
    pub fn no_context_takeover(&self) -> bool {
        self.no_context_takeover
    }

    /// Gives the zlib state back (between messages). Always valid: a fresh compressor's
    /// output refers to nothing before it, which a peer keeping its window reads as well.
    pub fn release(&mut self) {
        if self.inner.take().is_some() {
            refund(deflate_cost(self.window_bits));
        }
    }

    /// Compresses one whole message onto `out`, without the 4-octet tail. False (nothing
    /// written) when the state is not allocated and the thread's budget has no room for it:
    /// send the message uncompressed.
    pub fn compress(&mut self, input: &[u8], out: &mut BytesMut) -> bool {
        self.compress_part(input, true, out)
    }

    /// Compresses a part of a message onto `out`: `last` ends the message (sync flush, the
    /// tail stripped, the context reset without context takeover); other parts emit what
    /// the compressor has ready, possibly nothing. Parts of one message go out as its
    /// fragments. False as for [`compress`](Self::compress) (only ever for a first part:
    /// the state stays allocated until the message ends).
    pub fn compress_part(&mut self, input: &[u8], last: bool, out: &mut BytesMut) -> bool {
        if self.inner.is_none() {
            if !try_charge(deflate_cost(self.window_bits), self.memory_limit) {
                return false;
            }
            self.inner = Some(Compress::new_with_window_bits(
                self.level,
                false,
                self.window_bits,
            ));
        }
        let d = self.inner.as_mut().expect("allocated above");
        let flush = if last {
            FlushCompress::Sync
        } else {
            FlushCompress::None
        };
        let start = out.len();
        let mut input = input;
        loop {
            let at = out.len();
            let room = input.len() / 2 + 64;
            out.resize(at + room, 0);
            let before_in = d.total_in();
            let before_out = d.total_out();
            d.compress(input, &mut out[at..], flush)
                .expect("deflate cannot fail on memory input");
            let used = (d.total_in() - before_in) as usize;
            let made = (d.total_out() - before_out) as usize;
            out.truncate(at + made);
            input = &input[used..];
            if input.is_empty() && made < room {
                break;
            }
        }
        if !last {
            return true;
        }
        if out.len() - start >= 4 && out[out.len() - 4..] == TAIL {
            out.truncate(out.len() - 4);
        } else {
            // Should not happen with a sync flush; keep the stream valid regardless.
            out.put_u8(0);
        }
        if self.no_context_takeover {
            // deflateReset: same level and window, empty history, no reallocation.
            d.reset();
        }
        true
    }
}

#[cfg(test)]
mod tests;
