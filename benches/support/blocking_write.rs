//! Writing a whole buffer to a nonblocking client socket from a bench's load thread
//! (included with `#[path]` by `echo.rs` and `ws_echo.rs`).

use std::io::{self, Write};

use mio::net::TcpStream;

/// Writes all of `data`, yielding the thread while the socket buffer is full.
pub fn write_all(s: &mut TcpStream, mut data: &[u8]) {
    while !data.is_empty() {
        match s.write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) => panic!("write: {e}"),
        }
    }
}
