//! The server name (SNI) a ClientHello asks for, read from the records before rustls sees
//! them: rustls's unbuffered server API has no `server_name()`, and
//! [`TlsInfo::server_name`](super::TlsInfo::server_name) must still answer. The name is
//! taken as rustls takes it (one `host_name`, a DNS name, lowercased; an IP address or a
//! malformed list is no name); rustls still parses and judges the hello itself.

use rustls::pki_types::{DnsName, ServerName};

/// What the start of a connection's ciphertext says about its ClientHello.
#[derive(Debug, PartialEq)]
pub(crate) enum Hello {
    /// The hello is not all there yet.
    Incomplete,
    /// A ClientHello, with the name it asked for (if any).
    Sni(Option<DnsName<'static>>),
    /// Not a well-formed ClientHello: rustls will say why.
    Other,
}

/// Handshake record content type.
const HANDSHAKE: u8 = 22;
/// The largest record payload TLS allows (with expansion).
const MAX_RECORD: usize = 16 * 1024 + 2048;
/// The largest handshake message rustls takes.
const MAX_HELLO: usize = 0xffff;

/// Reads the ClientHello at the start of `wire` (TLS records, possibly fragmented).
pub(crate) fn client_hello_sni(wire: &[u8]) -> Hello {
    let mut fragments: Vec<&[u8]> = Vec::new();
    let mut have = 0;
    let mut need = None;
    let mut rest = wire;
    loop {
        if rest.len() < 5 {
            return Hello::Incomplete;
        }
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if rest[0] != HANDSHAKE || len > MAX_RECORD {
            return Hello::Other;
        }
        let Some(payload) = rest.get(5..5 + len) else {
            return Hello::Incomplete;
        };
        rest = &rest[5 + len..];
        fragments.push(payload);
        have += len;
        if need.is_none() && have >= 4 {
            let head: Vec<u8> = fragments
                .iter()
                .flat_map(|f| f.iter())
                .take(4)
                .copied()
                .collect();
            let body =
                (usize::from(head[1]) << 16) | (usize::from(head[2]) << 8) | usize::from(head[3]);
            if head[0] != 1 || body > MAX_HELLO {
                return Hello::Other;
            }
            need = Some(4 + body);
        }
        if let Some(need) = need.filter(|&n| have >= n) {
            let joined;
            let msg = if fragments.len() == 1 {
                fragments[0]
            } else {
                joined = fragments.concat();
                &joined[..]
            };
            return parse_hello(&msg[4..need]).map_or(Hello::Other, Hello::Sni);
        }
    }
}

/// A cursor over a message body.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<usize> {
        self.take(1).map(|b| usize::from(b[0]))
    }

    fn u16(&mut self) -> Option<usize> {
        self.take(2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    /// A vector with a one- or two-byte length.
    fn vec(&mut self, two: bool) -> Option<Reader<'a>> {
        let n = if two { self.u16()? } else { self.u8()? };
        self.take(n).map(Reader)
    }
}

/// The SNI of a ClientHello body; `None` outside: malformed.
fn parse_hello(body: &[u8]) -> Option<Option<DnsName<'static>>> {
    let mut r = Reader(body);
    r.take(2 + 32)?; // legacy_version, random
    r.vec(false)?; // legacy_session_id
    r.vec(true)?; // cipher_suites
    r.vec(false)?; // legacy_compression_methods
    if r.0.is_empty() {
        return Some(None);
    }
    let mut exts = r.vec(true)?;
    while !exts.0.is_empty() {
        let kind = exts.u16()?;
        let data = exts.vec(true)?;
        if kind == 0 {
            return Some(server_name(data));
        }
    }
    Some(None)
}

/// RFC 6066's `server_name` extension, read as rustls reads it.
fn server_name(mut data: Reader<'_>) -> Option<DnsName<'static>> {
    let mut list = data.vec(true)?;
    let mut found = None;
    while !list.0.is_empty() {
        if list.u8()? != 0 {
            break; // an unknown name type: its encoding is unknown, so the list ends here
        }
        let raw = list.vec(true)?.0;
        if found.is_some() {
            return None; // two host names: rustls refuses the hello
        }
        found = Some(match ServerName::try_from(raw) {
            Ok(ServerName::DnsName(d)) => Some(d.to_lowercase_owned()),
            _ => None,
        });
    }
    found.flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello body with `exts` as its extensions block.
    fn hello(exts: &[u8]) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend([7u8; 32]);
        body.extend([0, 0, 2, 0x13, 0x01, 1, 0]);
        body.extend((exts.len() as u16).to_be_bytes());
        body.extend(exts);
        let mut msg = vec![1, 0];
        msg.extend((body.len() as u16).to_be_bytes());
        msg.extend(body);
        msg
    }

    fn sni_ext(names: &[(u8, &[u8])]) -> Vec<u8> {
        let mut list = Vec::new();
        for (kind, name) in names {
            list.push(*kind);
            list.extend((name.len() as u16).to_be_bytes());
            list.extend(*name);
        }
        let mut ext = vec![0, 0];
        ext.extend(((list.len() + 2) as u16).to_be_bytes());
        ext.extend((list.len() as u16).to_be_bytes());
        ext.extend(list);
        ext
    }

    /// `msg` in records of at most `chunk` payload bytes.
    fn records(msg: &[u8], chunk: usize) -> Vec<u8> {
        let mut wire = Vec::new();
        for part in msg.chunks(chunk) {
            wire.extend([HANDSHAKE, 3, 1]);
            wire.extend((part.len() as u16).to_be_bytes());
            wire.extend(part);
        }
        wire
    }

    fn name(s: &str) -> Hello {
        Hello::Sni(Some(DnsName::try_from(s).unwrap().to_owned()))
    }

    #[test]
    fn reads_the_name_lowercased_in_one_record_or_many() {
        let msg = hello(&sni_ext(&[(0, b"Example.COM")]));
        assert_eq!(client_hello_sni(&records(&msg, 1000)), name("example.com"));
        assert_eq!(client_hello_sni(&records(&msg, 7)), name("example.com"));
    }

    #[test]
    fn waits_for_the_whole_hello() {
        let wire = records(&hello(&sni_ext(&[(0, b"a.example")])), 20);
        for cut in 0..wire.len() {
            assert_eq!(
                client_hello_sni(&wire[..cut]),
                Hello::Incomplete,
                "cut at {cut}"
            );
        }
        assert_eq!(client_hello_sni(&wire), name("a.example"));
    }

    #[test]
    fn no_name_for_an_address_two_names_or_none_given() {
        let ip = hello(&sni_ext(&[(0, b"127.0.0.1")]));
        assert_eq!(client_hello_sni(&records(&ip, 500)), Hello::Sni(None));
        let two = hello(&sni_ext(&[(0, b"a.example"), (0, b"b.example")]));
        assert_eq!(client_hello_sni(&records(&two, 500)), Hello::Sni(None));
        assert_eq!(
            client_hello_sni(&records(&hello(&[]), 500)),
            Hello::Sni(None)
        );
    }

    #[test]
    fn other_for_what_is_not_a_hello() {
        assert_eq!(client_hello_sni(b"GET / HTTP/1.1\r\n"), Hello::Other);
        let mut msg = hello(&sni_ext(&[(0, b"a.example")]));
        msg[0] = 2;
        assert_eq!(client_hello_sni(&records(&msg, 500)), Hello::Other);
        let mut short = hello(&[0, 0, 0, 9]);
        let n = short.len();
        short.truncate(n - 2); // the extensions block claims more than there is
        short[3] -= 2;
        assert_eq!(client_hello_sni(&records(&short, 500)), Hello::Other);
    }
}
