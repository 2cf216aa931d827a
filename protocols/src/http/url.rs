//! URLs and HTTP request targets (RFC 3986, RFC 9112 section 3.2), parsed without copying.
//!
//! [`Url`] is the whole anatomy — `scheme://user:password@host:port/path?query#fragment` —
//! as slices of the input. [`RequestTarget`] is what a request line carries: origin-form
//! (`/path?query`), absolute-form (a full URL, for proxies), authority-form (`host:port`, for
//! CONNECT) or asterisk-form (`*`, for `OPTIONS *`). Both validate every character against
//! the RFC 3986 grammar and reject bad percent-escapes; neither allocates.
//!
//! [`percent_decode`] and [`normalize_path`] are the helpers a file server needs: strict
//! decoding to bytes (a `%00` is reported, never silently kept) and dot-segment removal that
//! says whether the path tried to climb above the root.
//!
//! ```
//! use netreactor_protocols::http::url::{Host, Url};
//!
//! let url = Url::parse("http://user:pa%20ss@[::1]:8080/a/b?q=1#frag").unwrap();
//! assert_eq!(url.scheme(), "http");
//! assert_eq!(url.username(), Some("user"));
//! assert_eq!(url.password(), Some("pa%20ss"));
//! assert_eq!(url.host(), &Host::Ipv6("::1".parse().unwrap()));
//! assert_eq!(url.port(), Some(8080));
//! assert_eq!(url.path(), "/a/b");
//! assert_eq!(url.query(), Some("q=1"));
//! assert_eq!(url.fragment(), Some("frag"));
//! ```

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Why a URL or request target was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlError {
    /// Empty input.
    Empty,
    /// The scheme is missing or has a character outside `ALPHA *(ALPHA / DIGIT / + - .)`.
    InvalidScheme,
    /// No `//` authority after the scheme (only hierarchical URLs are supported).
    MissingAuthority,
    /// The host is empty where the scheme requires one, or malformed.
    InvalidHost,
    /// An IPv6 literal that does not parse (or an unsupported IPvFuture literal).
    InvalidIpv6,
    /// The port is not a number in 0..=65535.
    InvalidPort,
    /// A character not allowed in that component.
    InvalidCharacter,
    /// A `%` not followed by two hex digits.
    InvalidPercentEncoding,
    /// The request target has none of the four forms.
    InvalidTarget,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            UrlError::Empty => "empty URL",
            UrlError::InvalidScheme => "invalid scheme",
            UrlError::MissingAuthority => "missing //authority",
            UrlError::InvalidHost => "invalid host",
            UrlError::InvalidIpv6 => "invalid IPv6 literal",
            UrlError::InvalidPort => "invalid port",
            UrlError::InvalidCharacter => "character not allowed here",
            UrlError::InvalidPercentEncoding => "bad percent-escape",
            UrlError::InvalidTarget => "not a request target",
        };
        f.write_str(what)
    }
}

impl std::error::Error for UrlError {}

/// The host of a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host<'a> {
    /// A registered name (DNS name), as written (still percent-encoded if it was).
    Name(&'a str),
    /// A dotted-quad IPv4 address.
    Ipv4(Ipv4Addr),
    /// A bracketed IPv6 literal.
    Ipv6(Ipv6Addr),
}

/// An absolute URL, as slices of the string it was parsed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url<'a> {
    scheme: &'a str,
    username: Option<&'a str>,
    password: Option<&'a str>,
    host: Host<'a>,
    host_str: &'a str,
    port: Option<u16>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

impl<'a> Url<'a> {
    /// Parses an absolute URL with an authority: `scheme://[userinfo@]host[:port][/path][?query][#fragment]`.
    pub fn parse(input: &'a str) -> Result<Url<'a>, UrlError> {
        if input.is_empty() {
            return Err(UrlError::Empty);
        }
        let colon = input.find(':').ok_or(UrlError::InvalidScheme)?;
        let scheme = &input[..colon];
        if !is_scheme(scheme) {
            return Err(UrlError::InvalidScheme);
        }
        let rest = input[colon + 1..]
            .strip_prefix("//")
            .ok_or(UrlError::MissingAuthority)?;
        let (before_fragment, fragment) = match rest.find('#') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let auth_end = before_fragment
            .find(['/', '?'])
            .unwrap_or(before_fragment.len());
        let authority = &before_fragment[..auth_end];
        let after = &before_fragment[auth_end..];
        let (path, query) = split_query(after);
        let auth = parse_authority(authority)?;
        if auth.host_str.is_empty()
            && (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        {
            return Err(UrlError::InvalidHost); // RFC 9110 section 4.2.1
        }
        check_path(path)?;
        if let Some(q) = query {
            check_chars(q, is_query_char)?;
        }
        if let Some(f) = fragment {
            check_chars(f, is_query_char)?;
        }
        Ok(Url {
            scheme,
            username: auth.username,
            password: auth.password,
            host: auth.host,
            host_str: auth.host_str,
            port: auth.port,
            path,
            query,
            fragment,
        })
    }

    /// The scheme, as written (compare case-insensitively).
    pub fn scheme(&self) -> &'a str {
        self.scheme
    }

    /// The user name of the userinfo, still percent-encoded.
    pub fn username(&self) -> Option<&'a str> {
        self.username
    }

    /// The password of the userinfo, still percent-encoded.
    pub fn password(&self) -> Option<&'a str> {
        self.password
    }

    /// The host.
    pub fn host(&self) -> &Host<'a> {
        &self.host
    }

    /// The host as written (an IPv6 literal with its brackets).
    pub fn host_str(&self) -> &'a str {
        self.host_str
    }

    /// The explicit port.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The explicit port, or the scheme's default (80 for http/ws, 443 for https/wss, 21 for ftp).
    pub fn port_or_default(&self) -> Option<u16> {
        self.port.or_else(|| default_port(self.scheme))
    }

    /// The path (may be empty), still percent-encoded.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The query, without its `?`.
    pub fn query(&self) -> Option<&'a str> {
        self.query
    }

    /// The fragment, without its `#`.
    pub fn fragment(&self) -> Option<&'a str> {
        self.fragment
    }
}

impl fmt::Display for Url<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        if let Some(u) = self.username {
            f.write_str(u)?;
            if let Some(p) = self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        f.write_str(self.host_str)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        f.write_str(self.path)?;
        if let Some(q) = self.query {
            write!(f, "?{q}")?;
        }
        if let Some(fr) = self.fragment {
            write!(f, "#{fr}")?;
        }
        Ok(())
    }
}

/// The request target of an HTTP request line (RFC 9112 section 3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestTarget<'a> {
    /// `/path?query`: the usual form.
    Origin {
        /// The absolute path, still percent-encoded.
        path: &'a str,
        /// The query, without its `?`.
        query: Option<&'a str>,
    },
    /// A full URL (requests to proxies; servers must accept it too).
    Absolute(Url<'a>),
    /// `host:port`, only for CONNECT.
    Authority {
        /// The host.
        host: Host<'a>,
        /// The port (required in this form).
        port: u16,
    },
    /// `*`, only for `OPTIONS *`.
    Asterisk,
}

impl<'a> RequestTarget<'a> {
    /// Parses a request target. `method` picks the forms allowed: authority-form only for
    /// CONNECT (and CONNECT only that), asterisk-form only for OPTIONS.
    pub fn parse(method: &str, target: &'a str) -> Result<RequestTarget<'a>, UrlError> {
        if target.is_empty() {
            return Err(UrlError::Empty);
        }
        if method == "CONNECT" {
            let auth = parse_authority(target)?;
            if auth.username.is_some() || auth.host_str.is_empty() {
                return Err(UrlError::InvalidTarget);
            }
            let port = auth.port.ok_or(UrlError::InvalidPort)?;
            return Ok(RequestTarget::Authority {
                host: auth.host,
                port,
            });
        }
        if target == "*" {
            return if method == "OPTIONS" {
                Ok(RequestTarget::Asterisk)
            } else {
                Err(UrlError::InvalidTarget)
            };
        }
        if target.starts_with('/') {
            if target.contains('#') {
                return Err(UrlError::InvalidCharacter); // a fragment is never sent
            }
            let (path, query) = split_query(target);
            check_path(path)?;
            if let Some(q) = query {
                check_chars(q, is_query_char)?;
            }
            return Ok(RequestTarget::Origin { path, query });
        }
        let url = Url::parse(target)?;
        if url.fragment.is_some() {
            return Err(UrlError::InvalidCharacter);
        }
        Ok(RequestTarget::Absolute(url))
    }

    /// The path this target asks for (`*` for asterisk-form, empty for authority-form; an
    /// empty absolute path is `/`).
    pub fn path(&self) -> &'a str {
        match self {
            RequestTarget::Origin { path, .. } => path,
            RequestTarget::Absolute(u) if u.path.is_empty() => "/",
            RequestTarget::Absolute(u) => u.path,
            RequestTarget::Authority { .. } => "",
            RequestTarget::Asterisk => "*",
        }
    }

    /// The query, if any.
    pub fn query(&self) -> Option<&'a str> {
        match self {
            RequestTarget::Origin { query, .. } => *query,
            RequestTarget::Absolute(u) => u.query,
            _ => None,
        }
    }
}

struct Authority<'a> {
    username: Option<&'a str>,
    password: Option<&'a str>,
    host: Host<'a>,
    host_str: &'a str,
    port: Option<u16>,
}

fn parse_authority(authority: &str) -> Result<Authority<'_>, UrlError> {
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let (username, password) = match userinfo {
        Some(ui) => {
            check_chars(ui, |b| is_unreserved(b) || is_sub_delim(b) || b == b':')?;
            match ui.find(':') {
                Some(i) => (Some(&ui[..i]), Some(&ui[i + 1..])),
                None => (Some(ui), None),
            }
        }
        None => (None, None),
    };
    let (host_str, port_str) = if hostport.starts_with('[') {
        let close = hostport.find(']').ok_or(UrlError::InvalidIpv6)?;
        let rest = &hostport[close + 1..];
        let port = match rest.strip_prefix(':') {
            Some(p) => Some(p),
            None if rest.is_empty() => None,
            None => return Err(UrlError::InvalidHost),
        };
        (&hostport[..close + 1], port)
    } else {
        match hostport.rfind(':') {
            Some(i) => (&hostport[..i], Some(&hostport[i + 1..])),
            None => (hostport, None),
        }
    };
    let port = match port_str {
        None | Some("") => None,
        Some(p) => {
            if p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(UrlError::InvalidPort);
            }
            Some(p.parse::<u16>().map_err(|_| UrlError::InvalidPort)?)
        }
    };
    let host = parse_host(host_str)?;
    Ok(Authority {
        username,
        password,
        host,
        host_str,
        port,
    })
}

fn parse_host(host: &str) -> Result<Host<'_>, UrlError> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or(UrlError::InvalidIpv6)?;
        return inner
            .parse::<Ipv6Addr>()
            .map(Host::Ipv6)
            .map_err(|_| UrlError::InvalidIpv6);
    }
    if !host.is_empty() && host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        // All digits and dots: it must be a valid dotted quad, not a reg-name lookalike.
        return host
            .parse::<Ipv4Addr>()
            .map(Host::Ipv4)
            .map_err(|_| UrlError::InvalidHost);
    }
    check_chars(host, |b| is_unreserved(b) || is_sub_delim(b)).map_err(|e| match e {
        UrlError::InvalidCharacter => UrlError::InvalidHost,
        other => other,
    })?;
    Ok(Host::Name(host))
}

fn split_query(s: &str) -> (&str, Option<&str>) {
    match s.find('?') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

fn check_path(path: &str) -> Result<(), UrlError> {
    check_chars(path, |b| is_pchar(b) || b == b'/')
}

/// Every byte allowed by `allowed`, or a valid `%XX` escape.
fn check_chars(s: &str, allowed: impl Fn(u8) -> bool) -> Result<(), UrlError> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                return Err(UrlError::InvalidPercentEncoding);
            }
            i += 3;
        } else if allowed(b[i]) {
            i += 1;
        } else {
            return Err(UrlError::InvalidCharacter);
        }
    }
    Ok(())
}

fn is_scheme(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

fn is_pchar(b: u8) -> bool {
    is_unreserved(b) || is_sub_delim(b) || b == b':' || b == b'@'
}

fn is_query_char(b: u8) -> bool {
    is_pchar(b) || b == b'/' || b == b'?'
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

/// Why [`percent_decode`] refused its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded bytes contain NUL, which no path or name may hold.
    Nul,
}

/// Decodes `%XX` escapes to bytes, strictly: a malformed escape or a NUL byte (encoded or
/// not) is an error, never passed through.
///
/// ```
/// use netreactor_protocols::http::url::{percent_decode, DecodeError};
/// assert_eq!(percent_decode("a%20b%2Fc").unwrap(), b"a b/c");
/// assert_eq!(percent_decode("%zz"), Err(DecodeError::BadEscape));
/// assert_eq!(percent_decode("a%00"), Err(DecodeError::Nul));
/// ```
pub fn percent_decode(s: &str) -> Result<Vec<u8>, DecodeError> {
    percent_decode_bytes(s.as_bytes())
}

/// [`percent_decode`] of raw bytes (a request-target as it arrived): the same rules, the
/// one decoder the server uses for paths.
pub fn percent_decode_bytes(b: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let byte = if b[i] == b'%' {
            let hi = b
                .get(i + 1)
                .and_then(|&c| hex(c))
                .ok_or(DecodeError::BadEscape)?;
            let lo = b
                .get(i + 2)
                .and_then(|&c| hex(c))
                .ok_or(DecodeError::BadEscape)?;
            i += 3;
            hi << 4 | lo
        } else {
            i += 1;
            b[i - 1]
        };
        if byte == 0 {
            return Err(DecodeError::Nul);
        }
        out.push(byte);
    }
    Ok(out)
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// A path with its dot segments removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NormalizedPath {
    /// The path, always starting with `/`.
    pub path: String,
    /// True when a `..` tried to go above the root (the result is clamped at `/`; a file
    /// server should refuse such a request rather than serve the clamped path).
    pub escaped_root: bool,
}

/// Removes `.` and `..` segments (RFC 3986 section 5.2.4) and collapses repeated slashes.
/// Works on the path as given: decode first if `%2e%2e` must count as `..`.
///
/// ```
/// use netreactor_protocols::http::url::normalize_path;
/// assert_eq!(normalize_path("/a/./b/../c/").path, "/a/c/");
/// let climb = normalize_path("/a/../../etc/passwd");
/// assert_eq!(climb.path, "/etc/passwd");
/// assert!(climb.escaped_root);
/// ```
pub fn normalize_path(path: &str) -> NormalizedPath {
    let mut segments: Vec<&str> = Vec::new();
    let mut escaped_root = false;
    let trailing = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    escaped_root = true;
                }
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() || (trailing && !out.ends_with('/')) {
        out.push('/');
    }
    NormalizedPath {
        path: out,
        escaped_root,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_component_of_a_full_url() {
        let u = Url::parse("https://alice:s3cret@example.com:8443/over/there?name=ferret#nose")
            .unwrap();
        assert_eq!(u.scheme(), "https");
        assert_eq!(u.username(), Some("alice"));
        assert_eq!(u.password(), Some("s3cret"));
        assert_eq!(u.host(), &Host::Name("example.com"));
        assert_eq!(u.port(), Some(8443));
        assert_eq!(u.path(), "/over/there");
        assert_eq!(u.query(), Some("name=ferret"));
        assert_eq!(u.fragment(), Some("nose"));
        assert_eq!(
            u.to_string(),
            "https://alice:s3cret@example.com:8443/over/there?name=ferret#nose"
        );
    }

    #[test]
    fn hosts_ipv4_ipv6_and_names() {
        assert_eq!(
            Url::parse("http://10.0.0.1/").unwrap().host(),
            &Host::Ipv4(Ipv4Addr::new(10, 0, 0, 1))
        );
        assert_eq!(
            Url::parse("http://[fe80::1]:80").unwrap().host(),
            &Host::Ipv6("fe80::1".parse().unwrap())
        );
        assert_eq!(
            Url::parse("http://[::1]").unwrap().port_or_default(),
            Some(80)
        );
        assert_eq!(Url::parse("http://1.2.3.999/"), Err(UrlError::InvalidHost));
        assert_eq!(Url::parse("http://[::zz]/"), Err(UrlError::InvalidIpv6));
        assert_eq!(Url::parse("http://[::1/"), Err(UrlError::InvalidIpv6));
        assert_eq!(Url::parse("http://ho st/"), Err(UrlError::InvalidHost));
        assert_eq!(Url::parse("http:///path"), Err(UrlError::InvalidHost));
        assert!(
            Url::parse("file:///etc/hosts").is_ok(),
            "non-http schemes may have empty hosts"
        );
    }

    #[test]
    fn ports_must_be_numbers_in_range() {
        assert_eq!(Url::parse("http://h:65535/").unwrap().port(), Some(65535));
        assert_eq!(Url::parse("http://h:65536/"), Err(UrlError::InvalidPort));
        assert_eq!(Url::parse("http://h:8x/"), Err(UrlError::InvalidPort));
        assert_eq!(Url::parse("http://h:/").unwrap().port(), None);
    }

    #[test]
    fn bad_schemes_and_missing_authorities() {
        assert_eq!(Url::parse(""), Err(UrlError::Empty));
        assert_eq!(Url::parse("1http://h/"), Err(UrlError::InvalidScheme));
        assert_eq!(Url::parse("//h/"), Err(UrlError::InvalidScheme));
        assert_eq!(Url::parse("mailto:a@b"), Err(UrlError::MissingAuthority));
    }

    #[test]
    fn percent_escapes_are_checked_everywhere() {
        assert!(Url::parse("http://h/a%20b?x=%41#%42").is_ok());
        assert_eq!(
            Url::parse("http://h/a%2"),
            Err(UrlError::InvalidPercentEncoding)
        );
        assert_eq!(
            Url::parse("http://h/a%g0"),
            Err(UrlError::InvalidPercentEncoding)
        );
        assert_eq!(
            Url::parse("http://h/?%"),
            Err(UrlError::InvalidPercentEncoding)
        );
        assert_eq!(Url::parse("http://h/a b"), Err(UrlError::InvalidCharacter));
        assert_eq!(
            Url::parse("http://h/<script>"),
            Err(UrlError::InvalidCharacter)
        );
    }

    #[test]
    fn the_four_request_target_forms() {
        assert_eq!(
            RequestTarget::parse("GET", "/where?q=now").unwrap(),
            RequestTarget::Origin {
                path: "/where",
                query: Some("q=now")
            }
        );
        let abs =
            RequestTarget::parse("GET", "http://www.example.org/pub/WWW/TheProject.html").unwrap();
        assert_eq!(abs.path(), "/pub/WWW/TheProject.html");
        assert_eq!(
            RequestTarget::parse("GET", "http://example.org")
                .unwrap()
                .path(),
            "/"
        );
        assert_eq!(
            RequestTarget::parse("CONNECT", "www.example.com:80").unwrap(),
            RequestTarget::Authority {
                host: Host::Name("www.example.com"),
                port: 80
            }
        );
        assert_eq!(
            RequestTarget::parse("OPTIONS", "*").unwrap(),
            RequestTarget::Asterisk
        );
    }

    #[test]
    fn forms_are_only_valid_with_their_methods() {
        assert_eq!(
            RequestTarget::parse("GET", "*"),
            Err(UrlError::InvalidTarget)
        );
        assert_eq!(
            RequestTarget::parse("CONNECT", "/path"),
            Err(UrlError::InvalidHost)
        );
        assert_eq!(
            RequestTarget::parse("CONNECT", "host"),
            Err(UrlError::InvalidPort)
        );
        assert_eq!(
            RequestTarget::parse("CONNECT", "u@host:1"),
            Err(UrlError::InvalidTarget)
        );
        assert_eq!(
            RequestTarget::parse("GET", "/a#frag"),
            Err(UrlError::InvalidCharacter)
        );
        assert_eq!(
            RequestTarget::parse("GET", "relative/path"),
            Err(UrlError::InvalidScheme)
        );
        assert_eq!(RequestTarget::parse("GET", ""), Err(UrlError::Empty));
    }

    #[test]
    fn strict_percent_decoding() {
        assert_eq!(percent_decode("%41%42c").unwrap(), b"ABc");
        assert_eq!(percent_decode("%e2%9c%93").unwrap(), "\u{2713}".as_bytes());
        assert_eq!(percent_decode("%4"), Err(DecodeError::BadEscape));
        assert_eq!(percent_decode("%"), Err(DecodeError::BadEscape));
        assert_eq!(percent_decode("%00"), Err(DecodeError::Nul));
        assert_eq!(percent_decode("a\0"), Err(DecodeError::Nul));
    }

    #[test]
    fn dot_segments_are_removed_and_climbing_is_reported() {
        let cases = [
            ("/a/b/c/./../../g", "/a/g", false),
            ("/mid/content=5/../6", "/mid/6", false),
            ("/", "/", false),
            ("", "/", false),
            ("//a//b", "/a/b", false),
            ("/a/..", "/", false),
            ("/a/b/.", "/a/b/", false),
            ("/..", "/", true),
            ("/../../etc/passwd", "/etc/passwd", true),
        ];
        for (input, path, escaped) in cases {
            let n = normalize_path(input);
            assert_eq!(
                (n.path.as_str(), n.escaped_root),
                (path, escaped),
                "{input}"
            );
        }
    }

    #[test]
    fn normalizing_twice_changes_nothing() {
        for p in ["/a/./b/../../c", "/x//y/./z/..", "/../a/b/"] {
            let once = normalize_path(p).path;
            assert_eq!(normalize_path(&once).path, once);
        }
    }
}
