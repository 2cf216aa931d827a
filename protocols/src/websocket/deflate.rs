//! permessage-deflate (RFC 7692): negotiation of the extension's parameters and the
//! per-direction compressor and decompressor.
//!
//! The backend is `flate2` on `zlib-rs` (pure Rust), because the default `miniz_oxide`
//! backend cannot compress with a window other than 32 KiB. zlib cannot *compress* raw
//! deflate with an 8-bit window; when a peer limits us to `server_max_window_bits=8` we send
//! stored (uncompressed) deflate blocks, which reference no window at all and so are valid for
//! any window size. Decompression always uses a 32 KiB window, which reads streams made with
//! any smaller one.

use bytes::{BufMut, BytesMut};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The four octets every compressed message ends with before they are stripped (RFC 7692
/// 7.2.1): an empty stored block flushed with `Z_SYNC_FLUSH`.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// What the server asks for and allows when a client offers permessage-deflate.
#[derive(Clone, Debug)]
pub struct DeflateConfig {
    /// Accept permessage-deflate offers at all.
    pub enabled: bool,
    /// Always reset our compressor after each message (`server_no_context_takeover`), even
    /// if the client did not ask for it: saves 32 KiB+ per idle connection.
    pub server_no_context_takeover: bool,
    /// Ask the client to reset its compressor after each message.
    pub client_no_context_takeover: bool,
    /// Largest window our compressor uses (9..=15); a client may ask for less.
    pub server_max_window_bits: u8,
    /// Compression level (0..=9).
    pub level: u32,
    /// Messages shorter than this are sent uncompressed (RSV1 clear), which the extension
    /// allows per message.
    pub min_size: usize,
}

impl Default for DeflateConfig {
    fn default() -> DeflateConfig {
        DeflateConfig {
            enabled: true,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            level: 1,
            min_size: 0,
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
}

impl Default for DeflateParams {
    fn default() -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
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
        if self.server_max_window_bits < 15 {
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
    if !config.enabled {
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

/// Decompresses the messages of one direction.
pub struct Inflater {
    inner: Decompress,
    no_context_takeover: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater").finish_non_exhaustive()
    }
}

impl Inflater {
    /// A decompressor; `no_context_takeover` resets it after each message.
    pub fn new(no_context_takeover: bool) -> Inflater {
        Inflater {
            inner: Decompress::new(false),
            no_context_takeover,
        }
    }

    /// Inflates `input` (part of a message) onto `out`, failing when `out` would exceed
    /// `limit` bytes.
    pub fn inflate(
        &mut self,
        input: &[u8],
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), InflateError> {
        let mut input = input;
        loop {
            let start = out.len();
            let room = input.len().saturating_mul(4).clamp(4096, 256 * 1024);
            // Zero-filled room (no uninitialised memory), cut back to what was written.
            out.resize(start + room, 0);
            let before_in = self.inner.total_in();
            let before_out = self.inner.total_out();
            let status = self
                .inner
                .decompress(input, &mut out[start..], FlushDecompress::Sync);
            let used = (self.inner.total_in() - before_in) as usize;
            let made = (self.inner.total_out() - before_out) as usize;
            out.truncate(start + made);
            let status = status.map_err(|_| InflateError::Corrupt)?;
            input = &input[used..];
            if out.len() > limit {
                return Err(InflateError::TooBig);
            }
            if let Status::StreamEnd = status {
                // A final block inside a message: the next message starts a new stream.
                self.inner.reset(false);
                if !input.is_empty() {
                    return Err(InflateError::Corrupt);
                }
                return Ok(());
            }
            if input.is_empty() && made < room {
                return Ok(());
            }
            if used == 0 && made == 0 {
                return Err(InflateError::Corrupt);
            }
        }
    }

    /// Ends a message: inflates the stripped tail and resets when there is no context
    /// takeover.
    pub fn finish(&mut self, out: &mut BytesMut, limit: usize) -> Result<(), InflateError> {
        self.inflate(&TAIL, out, limit)?;
        if self.no_context_takeover {
            self.inner.reset(false);
        }
        Ok(())
    }
}

/// Compresses the messages of one direction.
pub struct Deflater {
    inner: Compress,
    no_context_takeover: bool,
    level: Compression,
    window_bits: u8,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater")
            .field("window_bits", &self.window_bits)
            .field("level", &self.level.level())
            .finish_non_exhaustive()
    }
}

impl Deflater {
    /// A compressor with a `2^window_bits` window (8 means stored blocks, see the module docs).
    pub fn new(window_bits: u8, no_context_takeover: bool, level: u32) -> Deflater {
        let level = if window_bits <= 8 {
            Compression::none()
        } else {
            Compression::new(level.min(9))
        };
        let window_bits = window_bits.clamp(9, 15);
        Deflater {
            inner: Compress::new_with_window_bits(level, false, window_bits),
            no_context_takeover,
            level,
            window_bits,
        }
    }

    /// Compresses one whole message onto `out`, without the 4-octet tail.
    pub fn compress(&mut self, input: &[u8], out: &mut BytesMut) {
        let start = out.len();
        let mut input = input;
        loop {
            let at = out.len();
            let room = input.len() / 2 + 64;
            out.resize(at + room, 0);
            let before_in = self.inner.total_in();
            let before_out = self.inner.total_out();
            self.inner
                .compress(input, &mut out[at..], FlushCompress::Sync)
                .expect("deflate cannot fail on memory input");
            let used = (self.inner.total_in() - before_in) as usize;
            let made = (self.inner.total_out() - before_out) as usize;
            out.truncate(at + made);
            input = &input[used..];
            if input.is_empty() && made < room {
                break;
            }
        }
        if out.len() - start >= 4 && out[out.len() - 4..] == TAIL {
            out.truncate(out.len() - 4);
        } else {
            // Should not happen with a sync flush; keep the stream valid regardless.
            out.put_u8(0);
        }
        if self.no_context_takeover {
            // deflateReset: same level and window, empty history, no reallocation.
            self.inner.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(bits: u8, nct: bool) {
        let mut d = Deflater::new(bits, nct, 6);
        let mut i = Inflater::new(nct);
        for msg in [
            &b"hello hello hello hello"[..],
            b"",
            &[7u8; 100_000],
            b"hello again hello",
        ] {
            let mut c = BytesMut::new();
            d.compress(msg, &mut c);
            let mut out = BytesMut::new();
            i.inflate(&c, &mut out, 1 << 20).unwrap();
            i.finish(&mut out, 1 << 20).unwrap();
            assert_eq!(&out[..], msg);
        }
    }

    #[test]
    fn messages_roundtrip_for_every_window_with_and_without_context() {
        for bits in 8..=15 {
            roundtrip(bits, false);
            roundtrip(bits, true);
        }
    }

    #[test]
    fn the_rfc_example_hello_inflates() {
        // RFC 7692 7.2.3.1.
        let mut i = Inflater::new(false);
        let mut out = BytesMut::new();
        i.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 100)
            .unwrap();
        i.finish(&mut out, 100).unwrap();
        assert_eq!(&out[..], b"Hello");
    }

    #[test]
    fn inflating_past_the_limit_fails() {
        let mut d = Deflater::new(15, false, 6);
        let mut c = BytesMut::new();
        d.compress(&[0u8; 10_000], &mut c);
        let mut i = Inflater::new(false);
        let mut out = BytesMut::new();
        assert_eq!(i.inflate(&c, &mut out, 1000), Err(InflateError::TooBig));
    }

    #[test]
    fn garbage_is_corrupt() {
        let mut i = Inflater::new(false);
        let mut out = BytesMut::new();
        assert_eq!(
            i.inflate(&[0xff; 16], &mut out, 1000),
            Err(InflateError::Corrupt)
        );
    }

    #[test]
    fn negotiation_accepts_the_first_valid_offer() {
        let c = DeflateConfig::default();
        assert_eq!(
            negotiate(["permessage-deflate; server_max_window_bits=20, permessage-deflate; server_no_context_takeover; client_max_window_bits"], &c),
            Some(DeflateParams { server_no_context_takeover: true, ..DeflateParams::default() })
        );
        let p = negotiate(
            [
                "x-webkit-deflate-frame",
                "permessage-deflate; server_max_window_bits=9",
            ],
            &c,
        )
        .unwrap();
        assert_eq!(p.server_max_window_bits, 9);
        assert_eq!(
            p.response_header(),
            "permessage-deflate; server_max_window_bits=9"
        );
        assert_eq!(negotiate(["permessage-deflate; foo"], &c), None);
        assert_eq!(
            negotiate(
                ["permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
                &c
            ),
            None
        );
        assert_eq!(
            negotiate(["permessage-deflate; server_max_window_bits"], &c),
            None
        );
        assert_eq!(
            negotiate(["permessage-deflate; client_max_window_bits=08"], &c),
            None
        );
        let off = DeflateConfig {
            enabled: false,
            ..c
        };
        assert_eq!(negotiate(["permessage-deflate"], &off), None);
    }

    #[test]
    fn client_reads_the_server_answer() {
        assert_eq!(client_accept(""), Ok(None));
        let p = client_accept("permessage-deflate; client_max_window_bits=10")
            .unwrap()
            .unwrap();
        assert_eq!(p.client_max_window_bits, 10);
        assert!(client_accept("permessage-deflate; bogus").is_err());
        assert!(client_accept("other").is_err());
    }
}
