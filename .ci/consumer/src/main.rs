//! Serves "hello" over HTTP with nothing but the core and the `http` feature.

use netreactor::Reactor;
use netreactor_protocols::http::{Request, Response, Server, ServerConfig};

fn hello(_: &Request) -> Response {
    Response::text(200, "hello\n")
}

fn main() -> std::io::Result<()> {
    let mut reactor = Reactor::new()?;
    let server = Server::new(ServerConfig::default(), hello);
    reactor.listen_tcp("127.0.0.1:7101".parse().unwrap(), server.factory())?;
    reactor.shutdown_on_signals()?;
    reactor.run()
}
