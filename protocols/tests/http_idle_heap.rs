//! What an idle keep-alive HTTP connection keeps on the heap, counted by a wrapping global
//! allocator: after a request has been served it must hold no more than before its first
//! request (the request storage goes back to the server's pool and the input buffer to the
//! reactor's when it goes idle).

use std::time::Duration;

use bytes::Bytes;
use netreactor::testing::Harness;
use netreactor_protocols::http::{Request, Response, Router, Server, ServerConfig};

#[path = "../../tests/common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{live, Counting};

#[global_allocator]
static ALLOC: Counting = Counting;

#[test]
fn an_idle_connection_holds_no_more_heap_after_a_request_than_before() {
    const N: usize = 2000;
    let router = Router::new().get("/", |_: &Request| {
        Response::new(200).body(Bytes::from_static(b"Hello, World!"))
    });
    let server = Server::new(ServerConfig::default(), router);
    let mut h = Harness::new();
    let conns: Vec<_> = (0..N).map(|_| h.open(server.connection())).collect();
    let get = b"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n";
    let serve = |h: &mut Harness, conns: &[netreactor::ConnId]| {
        for &c in conns {
            h.feed(c, get);
            let out = h.take_output(c);
            assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
        }
    };
    let before = live();
    // The first half fills the server's pool of spare request storage (a bounded amount,
    // not per connection)...
    serve(&mut h, &conns[..N / 2]);
    let pooled = live() - before;
    assert!(
        pooled <= 64 * 1024,
        "{pooled} bytes held after serving {} connections",
        N / 2
    );
    // ...the second half reuses it: each connection, idle again, holds nothing more.
    let mid = live();
    serve(&mut h, &conns[N / 2..]);
    h.advance(Duration::from_secs(2));
    let per_conn = (live() - mid) / (N / 2) as isize;
    assert!(
        per_conn <= 8,
        "{per_conn} bytes per connection left on the heap after one request"
    );
    assert!(conns.iter().all(|&c| h.is_open(c)));
}
