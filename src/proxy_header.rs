//! The PROXY protocol header (HAProxy's "PROXY protocol" specification, versions 1 and 2), as
//! a sans-IO parser: bytes in, a verdict out.
//!
//! A load balancer that passes TCP connections on (HAProxy's `send-proxy` / `send-proxy-v2`,
//! nginx's `proxy_protocol on`, most cloud L4 balancers) writes one header in front of the
//! client's bytes, saying who the client is and which address it connected to:
//!
//! * **v1**, a text line of at most [`V1_MAX`] bytes including its CRLF:
//!   `PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n` (also `TCP6`, and `UNKNOWN` for a
//!   connection the balancer cannot describe);
//! * **v2**, a binary block: the 12-byte [`V2_SIGNATURE`], a version/command byte (`LOCAL`
//!   or `PROXY`), a family/transport byte, a 16-bit length, then the addresses and optional
//!   TLVs filling exactly that length.
//!
//! [`parse`] looks at the start of a connection's input and answers [`Status::Incomplete`]
//! (give me more bytes), [`Status::Done`] (how many bytes the header took and the addresses
//! it carries), or an [`Error`]. It is strict: it decides on the bytes it has seen, so a
//! prefix of a header is never an error and a prefix of garbage is one as soon as it cannot
//! become a header, and it accepts only what the specification allows:
//!
//! * a wrong signature (neither `PROXY ` nor the v2 signature), a v1 line longer than
//!   [`V1_MAX`], a CR not followed by LF or an LF without CR, a byte outside printable ASCII,
//!   a protocol other than `TCP4`/`TCP6`/`UNKNOWN`, addresses that are not the protocol's
//!   family in its canonical text form (no leading zeros), ports outside 0..=65535 or with
//!   leading zeros, fields not separated by exactly one space;
//! * a v2 version other than 2, a command other than `LOCAL`/`PROXY`, a family/transport
//!   byte outside those the specification lists, a datagram transport for `PROXY` (these are
//!   stream connections), a length too short for the family's addresses, TLVs that do not
//!   fill the rest of the block exactly (each TLV's own length is bounded by the block's).
//!
//! Addresses are only given for `TCP4`/`TCP6` (v1) and `PROXY` over `INET`/`INET6` (v2).
//! `LOCAL` (a balancer's own health check), v1 `UNKNOWN`, v2 `UNSPEC` and `UNIX` give none:
//! the specification says to use the connection's own addresses then. TLV contents (ALPN,
//! authority, CRC32C, ...) are checked for framing and skipped.
//!
//! ```
//! use netreactor::proxy_header::{parse, Status};
//!
//! let input = b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET / HTTP/1.1\r\n";
//! match parse(input) {
//!     Ok(Status::Done { consumed, source, destination }) => {
//!         assert_eq!(&input[consumed..consumed + 3], b"GET");
//!         assert_eq!(source, Some("192.0.2.1:56324".parse().unwrap()));
//!         assert_eq!(destination, Some("198.51.100.2:443".parse().unwrap()));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! assert_eq!(parse(b"PROXY TCP4 192.0"), Ok(Status::Incomplete));
//! assert!(parse(b"GET / HTTP/1.1\r\n").is_err());
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Longest v1 header, its CRLF included (the specification's 107 bytes: `PROXY TCP6`, two
/// full-length IPv6 addresses, two five-digit ports, the spaces and the CRLF).
pub const V1_MAX: usize = 107;

/// The 12 bytes every v2 header starts with.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// Longest v2 header: the 16 fixed bytes and a 16-bit length.
pub const V2_MAX: usize = 16 + u16::MAX as usize;

const V1_PREFIX: &[u8] = b"PROXY ";

/// What [`parse`] found at the start of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// A valid start of a header: more bytes are needed.
    Incomplete,
    /// A whole header.
    Done {
        /// Bytes the header took; the connection's own data starts after them.
        consumed: usize,
        /// The client's address (`None`: use the connection's own, see the module docs).
        source: Option<SocketAddr>,
        /// The address the client connected to (`None` exactly when `source` is).
        destination: Option<SocketAddr>,
    },
}

/// Why the input is not a PROXY protocol header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Neither `PROXY ` (v1) nor the v2 signature.
    Signature,
    /// A v1 line without its CRLF within [`V1_MAX`] bytes.
    V1TooLong,
    /// A v1 line with a stray CR or LF, a byte outside printable ASCII, or fields not
    /// separated by exactly one space.
    V1Syntax,
    /// A v1 protocol other than `TCP4`, `TCP6` or `UNKNOWN`.
    V1Protocol,
    /// A v1 address that is not one of the protocol's family in canonical form.
    Address,
    /// A v1 port that is not a decimal number in 0..=65535 without leading zeros.
    Port,
    /// A v2 version other than 2.
    Version,
    /// A v2 command other than `LOCAL` or `PROXY`.
    Command,
    /// A v2 family/transport byte the specification does not list, or a datagram transport
    /// for a `PROXY` command.
    Family,
    /// A v2 length too short for the family's addresses.
    Length,
    /// v2 TLVs that do not fill the rest of the block exactly.
    Tlv,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Signature => "not a PROXY protocol header",
            Error::V1TooLong => "PROXY v1 line longer than 107 bytes",
            Error::V1Syntax => "malformed PROXY v1 line",
            Error::V1Protocol => "PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN",
            Error::Address => "bad address in PROXY v1 line",
            Error::Port => "bad port in PROXY v1 line",
            Error::Version => "PROXY v2 version is not 2",
            Error::Command => "PROXY v2 command is not LOCAL or PROXY",
            Error::Family => "unexpected PROXY v2 address family or transport",
            Error::Length => "PROXY v2 length too short for its addresses",
            Error::Tlv => "PROXY v2 TLVs do not fit the header's length",
        })
    }
}

impl std::error::Error for Error {}

/// Parses the PROXY protocol header at the start of `input` (v1 or v2, told apart by the
/// first byte). See the [module docs](self) for what is accepted.
pub fn parse(input: &[u8]) -> Result<Status, Error> {
    match input.first() {
        None => Ok(Status::Incomplete),
        Some(b'P') => parse_v1(input),
        Some(b'\r') => parse_v2(input),
        Some(_) => Err(Error::Signature),
    }
}

/// True when `input` is a prefix of `expected` or starts with it.
fn prefix_ok(input: &[u8], expected: &[u8]) -> bool {
    let n = input.len().min(expected.len());
    input[..n] == expected[..n]
}

fn parse_v1(input: &[u8]) -> Result<Status, Error> {
    if !prefix_ok(input, V1_PREFIX) {
        return Err(Error::Signature);
    }
    let seen = &input[..input.len().min(V1_MAX)];
    let rest = &seen[V1_PREFIX.len().min(seen.len())..];
    // Up to the first byte that is not printable ASCII: a CR, or an error.
    let stop = rest.iter().position(|b| !(0x20..=0x7e).contains(b));
    let end = match stop.map(|i| i + V1_PREFIX.len()) {
        Some(i) if input[i] == b'\r' => {
            if i + 2 > V1_MAX {
                return Err(Error::V1TooLong);
            }
            match input.get(i + 1) {
                Some(b'\n') => i,
                Some(_) => return Err(Error::V1Syntax),
                None => return Ok(Status::Incomplete),
            }
        }
        Some(_) => return Err(Error::V1Syntax),
        None if input.len() >= V1_MAX => return Err(Error::V1TooLong),
        None => return Ok(Status::Incomplete),
    };
    let line = &input[V1_PREFIX.len()..end];
    let consumed = end + 2;
    if line == b"UNKNOWN" || line.starts_with(b"UNKNOWN ") {
        // "The receiver must ignore anything presented before the CRLF."
        return Ok(Status::Done {
            consumed,
            source: None,
            destination: None,
        });
    }
    let mut fields = line.split(|&b| b == b' ');
    let proto = fields.next().unwrap_or_default();
    let v6 = match proto {
        b"TCP4" => false,
        b"TCP6" => true,
        _ => return Err(Error::V1Protocol),
    };
    let mut next = || fields.next().ok_or(Error::V1Syntax);
    let (src, dst, sport, dport) = (next()?, next()?, next()?, next()?);
    if fields.next().is_some() {
        return Err(Error::V1Syntax);
    }
    let source = SocketAddr::new(v1_address(src, v6)?, v1_port(sport)?);
    let destination = SocketAddr::new(v1_address(dst, v6)?, v1_port(dport)?);
    Ok(Status::Done {
        consumed,
        source: Some(source),
        destination: Some(destination),
    })
}

fn v1_address(text: &[u8], v6: bool) -> Result<IpAddr, Error> {
    if text.is_empty() {
        return Err(Error::V1Syntax);
    }
    if !v6 {
        return v1_ipv4(text).map(IpAddr::V4).ok_or(Error::Address);
    }
    // Printable ASCII was checked, so this is UTF-8.
    let text = std::str::from_utf8(text).map_err(|_| Error::Address)?;
    text.parse::<Ipv6Addr>()
        .map(IpAddr::V6)
        .map_err(|_| Error::Address)
}

/// Dotted-quad IPv4 as the standard library reads it (four decimal octets of one to three
/// digits, no leading zeros), without its generic parser's cost.
fn v1_ipv4(text: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = text.split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return None;
        }
        let mut n: u16 = 0;
        for &b in part {
            if !b.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u16::from(b - b'0');
        }
        *octet = u8::try_from(n).ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

fn v1_port(text: &[u8]) -> Result<u16, Error> {
    if text.is_empty() {
        return Err(Error::V1Syntax);
    }
    if text.len() > 5 || (text.len() > 1 && text[0] == b'0') {
        return Err(Error::Port);
    }
    let mut n: u32 = 0;
    for &b in text {
        if !b.is_ascii_digit() {
            return Err(Error::Port);
        }
        n = n * 10 + u32::from(b - b'0');
    }
    u16::try_from(n).map_err(|_| Error::Port)
}

/// v2 command nibbles.
const LOCAL: u8 = 0x0;
const PROXY: u8 = 0x1;

fn parse_v2(input: &[u8]) -> Result<Status, Error> {
    if !prefix_ok(input, &V2_SIGNATURE) {
        return Err(Error::Signature);
    }
    if input.len() < 13 {
        return Ok(Status::Incomplete);
    }
    let ver_cmd = input[12];
    if ver_cmd >> 4 != 2 {
        return Err(Error::Version);
    }
    let command = ver_cmd & 0x0f;
    if command != LOCAL && command != PROXY {
        return Err(Error::Command);
    }
    let Some(&family) = input.get(13) else {
        return Ok(Status::Incomplete);
    };
    // UNSPEC, then TCP and UDP over IPv4, IPv6 and Unix sockets: "Other unspecified values
    // are invalid ... Receivers must drop connections presenting unexpected values here."
    let addresses_len = match family {
        0x00 => 0,
        0x11 | 0x12 => 12,
        0x21 | 0x22 => 36,
        0x31 | 0x32 => 216,
        _ => return Err(Error::Family),
    };
    let stream = family & 0x0f != 0x02;
    if command == PROXY && !stream {
        return Err(Error::Family);
    }
    if input.len() < 16 {
        return Ok(Status::Incomplete);
    }
    let len = usize::from(u16::from_be_bytes([input[14], input[15]]));
    if command == PROXY && len < addresses_len {
        return Err(Error::Length);
    }
    let consumed = 16 + len;
    let Some(block) = input.get(16..consumed) else {
        return Ok(Status::Incomplete);
    };
    let none = Status::Done {
        consumed,
        source: None,
        destination: None,
    };
    if command == LOCAL || family == 0x00 {
        // LOCAL: "the receiver must ... use the real connection endpoints and discard the
        // protocol block including the family"; UNSPEC: the same, by choice.
        return Ok(none);
    }
    check_tlvs(&block[addresses_len..])?;
    let (source, destination) = match family >> 4 {
        1 => {
            let ip = |at: usize| IpAddr::from(<[u8; 4]>::try_from(&block[at..at + 4]).unwrap());
            (
                SocketAddr::new(ip(0), be16(block, 8)),
                SocketAddr::new(ip(4), be16(block, 10)),
            )
        }
        2 => {
            let ip = |at: usize| IpAddr::from(<[u8; 16]>::try_from(&block[at..at + 16]).unwrap());
            (
                SocketAddr::new(ip(0), be16(block, 32)),
                SocketAddr::new(ip(16), be16(block, 34)),
            )
        }
        // UNIX: paths, which are not socket addresses of an IP peer.
        _ => return Ok(none),
    };
    Ok(Status::Done {
        consumed,
        source: Some(source),
        destination: Some(destination),
    })
}

fn be16(block: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([block[at], block[at + 1]])
}

/// Each TLV is a type byte, a 16-bit length and that many bytes; together they must fill
/// `rest` exactly.
fn check_tlvs(mut rest: &[u8]) -> Result<(), Error> {
    while !rest.is_empty() {
        if rest.len() < 3 {
            return Err(Error::Tlv);
        }
        let len = usize::from(be16(rest, 1));
        rest = rest.get(3 + len..).ok_or(Error::Tlv)?;
    }
    Ok(())
}

/// Builds a v2 `PROXY` header for a stream from `source` to `destination` (both of one
/// family), followed by `tlvs` (already encoded): what a balancer sends. For tests, benches
/// and clients that speak to a server behind [`ProxyProtocol`](crate::ProxyProtocol).
///
/// ```
/// use netreactor::proxy_header::{encode_v2, parse, Status};
///
/// let (src, dst) = ("192.0.2.1:5000".parse().unwrap(), "192.0.2.2:80".parse().unwrap());
/// let header = encode_v2(src, dst, &[]);
/// assert_eq!(
///     parse(&header),
///     Ok(Status::Done { consumed: 28, source: Some(src), destination: Some(dst) })
/// );
/// ```
///
/// # Panics
///
/// When the two addresses are of different families or the TLVs make the block longer than
/// a 16-bit length allows.
pub fn encode_v2(source: SocketAddr, destination: SocketAddr, tlvs: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + 36 + tlvs.len());
    out.extend_from_slice(&V2_SIGNATURE);
    out.push(0x20 | PROXY);
    let mut block = Vec::with_capacity(36 + tlvs.len());
    match (source.ip(), destination.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            out.push(0x11);
            block.extend_from_slice(&s.octets());
            block.extend_from_slice(&d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            out.push(0x21);
            block.extend_from_slice(&s.octets());
            block.extend_from_slice(&d.octets());
        }
        _ => panic!("encode_v2: {source} and {destination} are of different families"),
    }
    block.extend_from_slice(&source.port().to_be_bytes());
    block.extend_from_slice(&destination.port().to_be_bytes());
    block.extend_from_slice(tlvs);
    let len = u16::try_from(block.len()).expect("encode_v2: block longer than 65535 bytes");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&block);
    out
}

/// The v2 `LOCAL` header a balancer's health check sends (no addresses).
pub fn encode_v2_local() -> Vec<u8> {
    let mut out = V2_SIGNATURE.to_vec();
    out.extend_from_slice(&[0x20 | LOCAL, 0x00, 0, 0]);
    out
}

#[cfg(test)]
#[path = "proxy_header_tests.rs"]
mod tests;
