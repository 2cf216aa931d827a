//! Backpressure over real sockets, alone in its own test binary so that no other test's
//! allocations blur the RSS measurement.

mod common;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use netreactor::{Config, Context, Protocol};

struct Echo;

impl Protocol for Echo {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        cx.write(input.split().freeze());
    }
}

fn echo_server(config: Config) -> common::Server {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    common::spawn_with(config, move |r| Ok(vec![r.listen_tcp(any, || Echo)?]))
}

use common::{connect, roundtrip};

/// Peak resident memory of this process so far, in KiB (`getrusage`, on every Unix).
fn rss_kib() -> u64 {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).unwrap();
    let max = usage.max_rss() as u64;
    // macOS reports bytes, Linux and the BSDs KiB.
    if cfg!(target_vendor = "apple") {
        max / 1024
    } else {
        max
    }
}

#[test]
fn a_client_that_never_reads_cannot_grow_server_memory() {
    // Bound: the write queue stops growing at the high watermark (1 MiB) because the server
    // stops reading; socket buffers hold the rest. Allow 16 MiB for allocator noise.
    let server = echo_server(Config::default());
    let addr = server.addr();
    let before = rss_kib();
    let mut hog = TcpStream::connect(addr).unwrap();
    hog.set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let chunk = vec![b'h'; 1 << 20];
    let mut sent = 0usize;
    let deadline = Instant::now() + Duration::from_secs(3);
    while sent < 100 << 20 && Instant::now() < deadline {
        match hog.write(&chunk) {
            Ok(n) => sent += n,
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
            }
            Err(e) => panic!("hog write failed: {e}"),
        }
    }
    assert!(
        sent < 100 << 20,
        "the server kept reading from a client that never reads"
    );
    let grown = rss_kib().saturating_sub(before);
    assert!(grown < 16 * 1024, "peak RSS grew by {grown} KiB");
    // Others are still served meanwhile.
    let mut other = connect(addr);
    assert_eq!(roundtrip(&mut other, b"still served"), b"still served");
    drop(hog);
}
