//! A burst of PASV on a real socket: the listener each PASV replaces is closed before the
//! next one binds, so a client cannot make the server hold hundreds of descriptors.
//!
//! Alone in its test binary: a test that spawns a process (curl) forks, and the child holds
//! copies of the server's descriptors until it execs, keeping a closed listener's port bound
//! for a moment.

mod common;
#[path = "ftp/support.rs"]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Reads one (final) reply line.
fn reply(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "connection closed");
        if line.as_bytes().get(3) == Some(&b' ') {
            return line;
        }
    }
}

#[test]
fn a_pasv_burst_within_a_two_port_range_answers_every_pasv() {
    // Below the ephemeral range (32768-60999), so no client socket of a parallel test takes
    // one of the two ports.
    let f = support::start_with(|c| c.passive_ports = Some(31330..=31331));
    let stream = TcpStream::connect(f.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    assert!(reply(&mut r).starts_with("220 "));
    w.write_all(b"USER foo\r\nPASS bar\r\n").unwrap();
    reply(&mut r);
    assert!(reply(&mut r).starts_with("230 "));
    // Every listener a PASV replaces must be closed before the next one binds: with two
    // ports, a third listener held open would get 425 (address in use).
    w.write_all("PASV\r\n".repeat(2000).as_bytes()).unwrap();
    for i in 0..2000 {
        let line = reply(&mut r);
        assert!(line.starts_with("227 "), "PASV #{i}: {line}");
    }
    w.write_all(b"EPSV\r\n".repeat(500).as_slice()).unwrap();
    for i in 0..500 {
        let line = reply(&mut r);
        assert!(line.starts_with("229 "), "EPSV #{i}: {line}");
    }
}
