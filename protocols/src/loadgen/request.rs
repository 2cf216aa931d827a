//! The bytes each mode sends, built once per run: an HTTP request (method, path, headers,
//! body), a masked WebSocket frame and the upgrade request, or an echo payload.

use bytes::Bytes;

use super::{Config, Mode};

/// Parses a `--header 'Name: value'` argument.
pub fn parse_header(spec: &str) -> Result<(String, String), String> {
    let (name, value) = spec
        .split_once(':')
        .ok_or_else(|| format!("{spec:?}: a header is 'Name: value'"))?;
    let name = name.trim();
    let value = value.trim();
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(format!("{name:?}: not a header name"));
    }
    if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
        return Err(format!("{name}: a header value cannot hold CR, LF or NUL"));
    }
    Ok((name.to_string(), value.to_string()))
}

/// Checks a `--method`: an HTTP token.
pub fn check_method(method: &str) -> Result<(), String> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if method.is_empty() || !method.chars().all(token) {
        return Err(format!("{method:?}: not an HTTP method"));
    }
    Ok(())
}

fn has_header(cfg: &Config, name: &str) -> bool {
    cfg.headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// The request each mode sends, prebuilt once.
pub fn request_bytes(cfg: &Config) -> Bytes {
    match cfg.mode {
        Mode::TcpEcho => Bytes::from(vec![b'x'; cfg.size.max(1)]),
        Mode::Http => {
            let mut r = format!("{} {} HTTP/1.1\r\n", cfg.method, cfg.path);
            if !has_header(cfg, "host") {
                r.push_str(&format!("Host: {}\r\n", cfg.host));
            }
            for (n, v) in &cfg.headers {
                r.push_str(&format!("{n}: {v}\r\n"));
            }
            if !cfg.body.is_empty() && !has_header(cfg, "content-length") {
                r.push_str(&format!("Content-Length: {}\r\n", cfg.body.len()));
            }
            if !has_header(cfg, "connection") {
                let conn = if cfg.close { "close" } else { "keep-alive" };
                r.push_str(&format!("Connection: {conn}\r\n"));
            }
            r.push_str("\r\n");
            let mut out = r.into_bytes();
            out.extend_from_slice(&cfg.body);
            Bytes::from(out)
        }
        Mode::WsEcho => {
            // One masked client frame (RFC 6455 section 5.2), built once and reused.
            let n = cfg.size;
            let mut f = vec![0x80 | if cfg.binary { 2 } else { 1 }];
            if n < 126 {
                f.push(0x80 | n as u8);
            } else if n <= 0xffff {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            } else {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
            let mask = [0x37, 0xfa, 0x21, 0x3d];
            f.extend_from_slice(&mask);
            f.extend((0..n).map(|i| b'a' ^ mask[i % 4]));
            Bytes::from(f)
        }
        Mode::Hold => Bytes::new(),
    }
}

/// The WebSocket upgrade request (with the `--header`s).
pub fn ws_handshake(cfg: &Config) -> Bytes {
    let mut r = format!("GET {} HTTP/1.1\r\n", cfg.path);
    if !has_header(cfg, "host") {
        r.push_str(&format!("Host: {}\r\n", cfg.host));
    }
    for (n, v) in &cfg.headers {
        r.push_str(&format!("{n}: {v}\r\n"));
    }
    r.push_str(
        "Upgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    Bytes::from(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_request_carries_method_path_headers_and_body() {
        let mut cfg = Config::for_test(Mode::Http);
        cfg.method = "POST".into();
        cfg.path = "/api?x=1".into();
        cfg.host = "example.test:8080".into();
        cfg.headers = vec![parse_header("X-Token:  abc ").unwrap()];
        cfg.body = Bytes::from_static(b"{\"a\":1}");
        assert_eq!(
            &request_bytes(&cfg)[..],
            &b"POST /api?x=1 HTTP/1.1\r\nHost: example.test:8080\r\nX-Token: abc\r\n\
Content-Length: 7\r\nConnection: keep-alive\r\n\r\n{\"a\":1}"[..]
        );
    }

    #[test]
    fn a_user_host_or_connection_header_replaces_the_default() {
        let mut cfg = Config::for_test(Mode::Http);
        cfg.headers = vec![
            parse_header("host: other").unwrap(),
            parse_header("Connection: close").unwrap(),
        ];
        let r = String::from_utf8(request_bytes(&cfg).to_vec()).unwrap();
        assert_eq!(
            r,
            "GET / HTTP/1.1\r\nhost: other\r\nConnection: close\r\n\r\n"
        );
        let ws = String::from_utf8(ws_handshake(&cfg).to_vec()).unwrap();
        assert!(ws.starts_with("GET / HTTP/1.1\r\nhost: other\r\n"), "{ws}");
    }

    #[test]
    fn bad_headers_and_methods_are_refused() {
        assert!(parse_header("NoColon").is_err());
        assert!(parse_header("Bad Name: v").is_err());
        assert!(parse_header(": v").is_err());
        assert_eq!(parse_header("A:"), Ok(("A".into(), String::new())));
        assert!(check_method("GET").is_ok());
        assert!(check_method("GE T").is_err());
        assert!(check_method("").is_err());
    }

    #[test]
    fn ws_frame_is_masked_with_the_right_length_form() {
        let mut cfg = Config::for_test(Mode::WsEcho);
        cfg.size = 200;
        let f = request_bytes(&cfg);
        assert_eq!(f[0], 0x81);
        assert_eq!(f[1], 0x80 | 126);
        assert_eq!(u16::from_be_bytes([f[2], f[3]]), 200);
        assert_eq!(f.len(), 4 + 4 + 200);
    }
}
