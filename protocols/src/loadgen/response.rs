//! A small sans-IO HTTP/1.1 *response* parser for the load generator: status line, headers,
//! and a body framed by Content-Length or chunked (or no body for 1xx/204/304 and HEAD).

use bytes::{Buf, BytesMut};

/// Why a response was not HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadResponse {
    /// Not an `HTTP/1.x NNN` status line.
    StatusLine,
    /// A header line without a colon, or a bad Content-Length.
    Header,
    /// A bad chunk size line.
    Chunk,
    /// The head is over 64 KiB.
    TooLarge,
}

#[derive(Clone, Copy, Debug)]
enum State {
    Head,
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkCrlf,
    Trailers,
}

/// Parses one response after another from a connection's input.
#[derive(Clone, Debug)]
pub struct ResponseParser {
    state: State,
    status: u16,
}

impl ResponseParser {
    /// True when no part of a response has been parsed (only a head's first byte starts
    /// one).
    pub fn between_responses(&self) -> bool {
        matches!(self.state, State::Head)
    }
}

impl Default for ResponseParser {
    fn default() -> Self {
        ResponseParser {
            state: State::Head,
            status: 0,
        }
    }
}

impl ResponseParser {
    /// Consumes from `input`; returns the status of each complete response (in order) by
    /// pushing to `done`. Leaves partial data in `input`.
    pub fn feed(&mut self, input: &mut BytesMut, done: &mut Vec<u16>) -> Result<(), BadResponse> {
        loop {
            match self.state {
                State::Head => {
                    let Some(end) = find(input, b"\r\n\r\n") else {
                        if input.len() > 64 * 1024 {
                            return Err(BadResponse::TooLarge);
                        }
                        return Ok(());
                    };
                    let head = input.split_to(end + 4);
                    let text = std::str::from_utf8(&head).map_err(|_| BadResponse::StatusLine)?;
                    let mut lines = text.split("\r\n");
                    let status_line = lines.next().unwrap_or("");
                    let mut parts = status_line.splitn(3, ' ');
                    let version = parts.next().unwrap_or("");
                    let code = parts.next().unwrap_or("");
                    if !version.starts_with("HTTP/1.") || code.len() != 3 {
                        return Err(BadResponse::StatusLine);
                    }
                    self.status = code.parse().map_err(|_| BadResponse::StatusLine)?;
                    let (mut length, mut chunked) = (None, false);
                    for line in lines.filter(|l| !l.is_empty()) {
                        let (name, value) = line.split_once(':').ok_or(BadResponse::Header)?;
                        let value = value.trim();
                        if name.eq_ignore_ascii_case("content-length") {
                            length = Some(value.parse::<u64>().map_err(|_| BadResponse::Header)?);
                        } else if name.eq_ignore_ascii_case("transfer-encoding") {
                            chunked = value.to_ascii_lowercase().ends_with("chunked");
                        }
                    }
                    let bodiless = self.status < 200 || self.status == 204 || self.status == 304;
                    self.state = if bodiless {
                        State::Body(0)
                    } else if chunked {
                        State::ChunkSize
                    } else {
                        State::Body(length.unwrap_or(0))
                    };
                }
                State::Body(n) => {
                    let take = (n as usize).min(input.len());
                    input.advance(take);
                    let left = n - take as u64;
                    if left > 0 {
                        self.state = State::Body(left);
                        return Ok(());
                    }
                    done.push(self.status);
                    self.state = State::Head;
                }
                State::ChunkSize => {
                    let Some(end) = find(input, b"\r\n") else {
                        return Ok(());
                    };
                    let line = input.split_to(end + 2);
                    let hex = std::str::from_utf8(&line[..end]).map_err(|_| BadResponse::Chunk)?;
                    let hex = hex.split(';').next().unwrap_or("").trim();
                    let size = u64::from_str_radix(hex, 16).map_err(|_| BadResponse::Chunk)?;
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::ChunkData(size)
                    };
                }
                State::ChunkData(n) => {
                    let take = (n as usize).min(input.len());
                    input.advance(take);
                    if take as u64 == n {
                        self.state = State::ChunkCrlf;
                    } else {
                        self.state = State::ChunkData(n - take as u64);
                        return Ok(());
                    }
                }
                State::ChunkCrlf => {
                    if input.len() < 2 {
                        return Ok(());
                    }
                    if &input[..2] != b"\r\n" {
                        return Err(BadResponse::Chunk);
                    }
                    input.advance(2);
                    self.state = State::ChunkSize;
                }
                State::Trailers => {
                    let Some(end) = find(input, b"\r\n") else {
                        return Ok(());
                    };
                    input.advance(end + 2);
                    if end == 0 {
                        done.push(self.status);
                        self.state = State::Head;
                    }
                }
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8], split: usize) -> Result<Vec<u16>, BadResponse> {
        let mut p = ResponseParser::default();
        let mut buf = BytesMut::new();
        let mut done = Vec::new();
        buf.extend_from_slice(&input[..split]);
        p.feed(&mut buf, &mut done)?;
        buf.extend_from_slice(&input[split..]);
        p.feed(&mut buf, &mut done)?;
        assert!(buf.is_empty(), "left {:?}", buf);
        Ok(done)
    }

    #[test]
    fn pipelined_responses_with_every_framing_at_every_split() {
        let input = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!\
HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\nT: v\r\n\r\n\
HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n";
        for split in 0..=input.len() {
            assert_eq!(
                parse_all(input, split),
                Ok(vec![200, 404, 304]),
                "split {split}"
            );
        }
    }

    #[test]
    fn garbage_is_a_bad_response() {
        assert_eq!(
            parse_all(b"SSH-2.0-OpenSSH\r\n\r\n", 0),
            Err(BadResponse::StatusLine)
        );
        assert_eq!(
            parse_all(b"HTTP/1.1 200 OK\r\nbroken\r\n\r\n", 0),
            Err(BadResponse::Header)
        );
        assert_eq!(
            parse_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                0
            ),
            Err(BadResponse::Chunk)
        );
    }
}
