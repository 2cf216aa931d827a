//! A TLS session (server or client) on rustls's unbuffered API, holding its buffers only
//! while they hold bytes. rustls's buffered connections keep a 4 KiB deframer buffer for the
//! whole life of a connection once it has read anything, and measure their send buffer by
//! walking every record in it (many small writes to a slow reader cost a walk each); here
//! the ciphertext not yet processed (a partial record, at most), the plaintext not yet
//! handed over and the records not yet written are each a `BytesMut` released when emptied,
//! so an idle session holds only rustls's own state (keys, record layer).
//!
//! It offers the buffered API's shape (`read_tls`, `process_new_packets`, plaintext out,
//! plaintext in, `write_tls`), so [`TlsIo`](super::session::TlsIo) drives either side.

use std::io::{self, IoSlice, Read, Write};
use std::ops::Deref;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use rustls::client::{ClientConnectionData, UnbufferedClientConnection};
use rustls::pki_types::ServerName;
use rustls::server::{ServerConnectionData, UnbufferedServerConnection};
use rustls::unbuffered::{
    ConnectionState, EncodeError, EncryptError, InsufficientSizeError, ReadEarlyData,
    UnbufferedConnectionCommon, UnbufferedStatus,
};
use rustls::{ClientConfig, CommonState, ServerConfig};

use super::sni::{self, Hello};

/// What one socket read asks for: one full record (16 KiB and its expansion).
const READ_SIZE: usize = 16 * 1024 + 512;

/// The most unprocessed ciphertext held: a 64 KiB handshake message (rustls's limit) spread
/// over records, and a read.
const MAX_INCOMING: usize = 0xffff + 2 * READ_SIZE;

thread_local! {
    /// Where a socket read lands before its bytes go to the connection's own buffer.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Moves every application-data record `records` holds (rustls's `ReadTraffic` or
/// `ReadEarlyData`, two types with the same call) to `plain`: `Ok(ciphertext used)`.
macro_rules! drain_records {
    ($records:expr, $plain:expr) => {{
        let mut used = 0;
        loop {
            match $records.next_record() {
                Some(Ok(rec)) => {
                    used += rec.discard;
                    $plain.extend_from_slice(rec.payload);
                }
                Some(Err(e)) => break Err(e),
                None => break Ok(used),
            }
        }
    }};
}

/// rustls's unbuffered connection of one side: the calls that differ between a server and a
/// client (rustls gives each side its own `process_tls_records`).
pub(crate) trait Side: Deref<Target = UnbufferedConnectionCommon<Self::Data>> {
    /// rustls's per-side connection data.
    type Data;

    /// rustls's view of the session.
    fn common(&self) -> &CommonState {
        self
    }

    /// rustls's `process_tls_records`.
    fn process<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data>;

    /// Moves 0-RTT data to `plain`, returning how much ciphertext it used (only a server
    /// receives it).
    fn early_data(
        early: ReadEarlyData<'_, '_, Self::Data>,
        plain: &mut BytesMut,
    ) -> Result<usize, rustls::Error>;
}

/// rustls's `process_tls_records`, an inherent method of each side's type.
macro_rules! process_by_rustls {
    () => {
        fn process<'c, 'i>(
            &'c mut self,
            incoming: &'i mut [u8],
        ) -> UnbufferedStatus<'c, 'i, Self::Data> {
            self.process_tls_records(incoming)
        }
    };
}

impl Side for UnbufferedServerConnection {
    type Data = ServerConnectionData;

    process_by_rustls!();

    fn early_data(
        mut early: ReadEarlyData<'_, '_, Self::Data>,
        plain: &mut BytesMut,
    ) -> Result<usize, rustls::Error> {
        drain_records!(early, plain)
    }
}

impl Side for UnbufferedClientConnection {
    type Data = ClientConnectionData;

    process_by_rustls!();

    fn early_data(
        _: ReadEarlyData<'_, '_, Self::Data>,
        _: &mut BytesMut,
    ) -> Result<usize, rustls::Error> {
        // rustls never reports early data to a client.
        Err(general("early data on a client session"))
    }
}

/// A server session.
pub(crate) type UnbufferedServer = Unbuffered<UnbufferedServerConnection>;

/// A client session.
pub(crate) type UnbufferedClient = Unbuffered<UnbufferedClientConnection>;

/// A session whose buffers are released when empty.
pub(crate) struct Unbuffered<S> {
    conn: S,
    /// Ciphertext read but not yet processed: a partial record, or a ClientHello not yet
    /// complete.
    incoming: BytesMut,
    /// Plaintext decrypted but not yet handed to the connection.
    plain: BytesMut,
    /// Records made but not yet written.
    outgoing: BytesMut,
    /// The name the ClientHello asked for, on a server (a `Box<str>`: 8 bytes smaller than
    /// the name's own type, held by every connection).
    sni: Option<Box<str>>,
    /// The ClientHello was read (for its name) and rustls may see the ciphertext; a client
    /// starts with it set.
    hello_seen: bool,
    /// The peer sent `close_notify`.
    peer_closed: bool,
    /// `close_notify` was asked for while rustls could not yet encrypt it.
    close_pending: bool,
    /// rustls reported an error: it must not see the ciphertext again (it would answer
    /// the same fault with a second alert).
    failed: bool,
}

/// rustls's own error for what the unbuffered API reports in its own types.
fn general(e: impl std::fmt::Display) -> rustls::Error {
    rustls::Error::General(e.to_string())
}

/// Runs `make` into `out`'s end: once with no room to learn the size, then with the room.
fn append_with<E>(
    out: &mut BytesMut,
    mut make: impl FnMut(&mut [u8]) -> Result<usize, E>,
    size: impl Fn(&E) -> Option<usize>,
) -> Result<(), E> {
    let need = match make(&mut []) {
        Ok(_) => return Ok(()),
        Err(e) => size(&e).ok_or(e)?,
    };
    let start = out.len();
    out.resize(start + need, 0);
    match make(&mut out[start..]) {
        Ok(n) => {
            out.truncate(start + n);
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

fn encode_size(e: &EncodeError) -> Option<usize> {
    match e {
        EncodeError::InsufficientSize(InsufficientSizeError { required_size }) => {
            Some(*required_size)
        }
        _ => None,
    }
}

fn encrypt_size(e: &EncryptError) -> Option<usize> {
    match e {
        EncryptError::InsufficientSize(InsufficientSizeError { required_size }) => {
            Some(*required_size)
        }
        _ => None,
    }
}

/// Gives `buf`'s memory back once it holds nothing. Not `capacity() > 0`: a buffer read
/// to its end has no capacity left but still holds its allocation (`capacity` counts from
/// the read position), and that is the usual case here (records are made to fit exactly).
fn release_if_empty(buf: &mut BytesMut) {
    if buf.is_empty() {
        *buf = BytesMut::new();
    }
}

impl UnbufferedServer {
    /// A server session: it waits for the ClientHello.
    pub(crate) fn new(config: Arc<ServerConfig>) -> Result<UnbufferedServer, rustls::Error> {
        Ok(Unbuffered::with(
            UnbufferedServerConnection::new(config)?,
            false,
        ))
    }
}

impl UnbufferedClient {
    /// A client session of `name`, its ClientHello already made (written by the first flush).
    pub(crate) fn new(
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<UnbufferedClient, rustls::Error> {
        let mut session = Unbuffered::with(UnbufferedClientConnection::new(config, name)?, true);
        session.drive(None)?;
        Ok(session)
    }
}

impl<S: Side> Unbuffered<S> {
    fn with(conn: S, hello_seen: bool) -> Unbuffered<S> {
        Unbuffered {
            conn,
            incoming: BytesMut::new(),
            plain: BytesMut::new(),
            outgoing: BytesMut::new(),
            sni: None,
            hello_seen,
            peer_closed: false,
            close_pending: false,
            failed: false,
        }
    }

    /// rustls's view of the session (version, suite, ALPN, peer certificates...).
    pub(crate) fn common(&self) -> &CommonState {
        self.conn.common()
    }

    /// The name the client asked for (SNI), on a server.
    pub(crate) fn server_name(&self) -> Option<&str> {
        self.sni.as_deref()
    }

    /// The peer sent `close_notify`.
    pub(crate) fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// Records wait to be written.
    pub(crate) fn wants_write(&self) -> bool {
        !self.outgoing.is_empty()
    }

    /// Encrypted records waiting, in bytes: the session's share of backpressure.
    pub(crate) fn pending_write(&self) -> usize {
        self.outgoing.len()
    }

    /// Plaintext waits to be handed over.
    pub(crate) fn has_plaintext(&self) -> bool {
        !self.plain.is_empty()
    }

    /// Moves up to `want` bytes of decrypted plaintext to `buf`.
    pub(crate) fn take_plaintext(&mut self, buf: &mut BytesMut, want: usize) -> usize {
        let n = self.plain.len().min(want);
        buf.extend_from_slice(&self.plain[..n]);
        self.plain.advance(n);
        release_if_empty(&mut self.plain);
        n
    }

    /// Reads ciphertext from `rd` (one read, of up to a record). `Ok(0)`: EOF.
    pub(crate) fn read_tls(&mut self, rd: &mut dyn Read) -> io::Result<usize> {
        if self.incoming.len() >= MAX_INCOMING {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "message buffer full",
            ));
        }
        // Read into the thread's scratch buffer, keep only what came: a connection's own
        // buffer is then the size of its input (a request: a few hundred bytes), not of a
        // read, and no memory is made per read.
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            if scratch.is_empty() {
                scratch.resize(READ_SIZE, 0);
            }
            let n = rd.read(&mut scratch[..])?;
            self.incoming.extend_from_slice(&scratch[..n]);
            Ok(n)
        })
    }

    /// Processes the complete records read so far: handshake replies go to the records to
    /// write, application data to the plaintext to hand over.
    pub(crate) fn process_new_packets(&mut self) -> Result<(), rustls::Error> {
        if self.failed {
            return Err(general("the session has failed"));
        }
        if !self.hello_seen {
            match sni::client_hello_sni(&self.incoming) {
                Hello::Incomplete => return Ok(()),
                Hello::Sni(name) => self.sni = name.map(|n| Box::from(n.as_ref())),
                Hello::Other => {}
            }
            self.hello_seen = true;
        }
        self.drive(None).map(|_| ())
    }

    /// Encrypts as much of `data` as it takes now (all of it, once the handshake allows
    /// application data; nothing before). Returns how much it took.
    pub(crate) fn write_plaintext(&mut self, data: &[u8]) -> Result<usize, rustls::Error> {
        if data.is_empty() || !self.hello_seen || self.failed {
            return Ok(0);
        }
        self.drive(Some(data))
    }

    /// Queues `close_notify` (now, or once the handshake allows it).
    pub(crate) fn send_close_notify(&mut self) {
        self.close_pending = true;
        if self.hello_seen && !self.failed {
            let _ = self.drive(None);
        }
    }

    /// Writes the records made so far to `wr` until it takes less than offered.
    pub(crate) fn write_tls(&mut self, wr: &mut dyn Write) -> io::Result<usize> {
        let mut total = 0;
        while !self.outgoing.is_empty() {
            let n = wr.write_vectored(&[IoSlice::new(&self.outgoing)])?;
            if n == 0 {
                break;
            }
            self.outgoing.advance(n);
            total += n;
        }
        release_if_empty(&mut self.outgoing);
        Ok(total)
    }

    /// Runs rustls over the ciphertext held until it needs more: what it decrypts goes to
    /// `plain`, what it makes to `outgoing`; once application data may go, a pending
    /// `close_notify` or `write` is encrypted. Returns how much of `write` was taken.
    fn drive(&mut self, write: Option<&[u8]>) -> Result<usize, rustls::Error> {
        let Unbuffered {
            conn,
            incoming,
            plain,
            outgoing,
            peer_closed,
            close_pending,
            failed,
            ..
        } = self;
        let mut taken = 0;
        let result = loop {
            let UnbufferedStatus { mut discard, state } = conn.process(&mut incoming[..]);
            let mut stop = false;
            let step = match state {
                Err(e) => Err(e),
                Ok(ConnectionState::ReadTraffic(mut r)) => {
                    drain_records!(r, plain).map(|used| discard += used)
                }
                Ok(ConnectionState::ReadEarlyData(r)) => {
                    S::early_data(r, plain).map(|used| discard += used)
                }
                Ok(ConnectionState::EncodeTlsData(mut e)) => {
                    append_with(outgoing, |b| e.encode(b), encode_size).map_err(general)
                }
                Ok(ConnectionState::TransmitTlsData(t)) => {
                    // The records stay in `outgoing` until the socket takes them.
                    t.done();
                    Ok(())
                }
                Ok(ConnectionState::PeerClosed) => {
                    *peer_closed = true;
                    Ok(())
                }
                Ok(ConnectionState::WriteTraffic(mut w)) => {
                    stop = true;
                    if *close_pending {
                        *close_pending = false;
                        append_with(outgoing, |b| w.queue_close_notify(b), encrypt_size)
                            .map_err(general)
                    } else if let Some(data) = write {
                        append_with(outgoing, |b| w.encrypt(data, b), encrypt_size)
                            .map(|()| taken = data.len())
                            .map_err(general)
                    } else {
                        Ok(())
                    }
                }
                Ok(_) => {
                    // BlockedHandshake (more input needed), Closed, or a state this
                    // version does not know.
                    stop = true;
                    Ok(())
                }
            };
            incoming.advance(discard);
            match step {
                Err(e) => break Err(e),
                Ok(()) if stop => break Ok(taken),
                Ok(()) => {}
            }
        };
        if result.is_err() {
            *failed = true;
            // An alert rustls queued in answer is made now, to go out before the close.
            // Only while rustls holds records: with none, it would deframe again.
            for _ in 0..8 {
                if !conn.common().wants_write() {
                    break;
                }
                let UnbufferedStatus { discard, state } = conn.process(&mut incoming[..]);
                let more = match state {
                    Ok(ConnectionState::EncodeTlsData(mut e)) => {
                        append_with(outgoing, |b| e.encode(b), encode_size).is_ok()
                    }
                    Ok(ConnectionState::ReadTraffic(mut r)) => {
                        while let Some(Ok(_)) = r.next_record() {}
                        true
                    }
                    _ => false,
                };
                incoming.advance(discard);
                if !more {
                    break;
                }
            }
        }
        release_if_empty(incoming);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn data(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/tls")
            .join(name)
    }

    fn pair() -> (UnbufferedClient, UnbufferedServer) {
        let server =
            crate::tls::server_config_from_pem(&data("cert.pem"), &data("key.pem"), &[b"t"])
                .unwrap();
        let client = crate::tls::client_config_trusting(&data("cert.pem"), &[b"t"]).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        (
            UnbufferedClient::new(client, name).unwrap(),
            UnbufferedServer::new(server).unwrap(),
        )
    }

    /// Moves `from`'s records into `to`, a read at a time, each processed as `TlsIo` does.
    fn pass<A: Side, B: Side>(from: &mut Unbuffered<A>, to: &mut Unbuffered<B>) {
        let mut wire = Vec::new();
        from.write_tls(&mut wire).unwrap();
        let mut rd = &wire[..];
        while !rd.is_empty() {
            to.read_tls(&mut rd).unwrap();
            to.process_new_packets().unwrap();
        }
    }

    fn handshake(client: &mut UnbufferedClient, server: &mut UnbufferedServer) {
        for _ in 0..8 {
            pass(client, server);
            pass(server, client);
            if !client.common().is_handshaking() && !server.common().is_handshaking() {
                return;
            }
        }
        panic!("the handshake did not finish");
    }

    fn holds_no_buffer<S>(s: &Unbuffered<S>) -> bool {
        [&s.incoming, &s.plain, &s.outgoing]
            .iter()
            .all(|b| b.capacity() == 0)
    }

    #[test]
    fn a_client_session_makes_its_hello_at_once_and_takes_no_plaintext_before_the_handshake() {
        let (mut client, mut server) = pair();
        assert!(client.wants_write(), "the ClientHello waits to be written");
        assert_eq!(client.write_plaintext(b"early").unwrap(), 0);
        handshake(&mut client, &mut server);
        assert_eq!(client.write_plaintext(b"hello").unwrap(), 5);
        pass(&mut client, &mut server);
        let mut got = BytesMut::new();
        assert_eq!(server.take_plaintext(&mut got, 100), 5);
        assert_eq!(&got[..], b"hello");
    }

    #[test]
    fn many_tiny_client_writes_arrive_whole_and_both_sides_end_holding_no_buffer() {
        let (mut client, mut server) = pair();
        handshake(&mut client, &mut server);
        let mut sent = Vec::new();
        for i in 0..5_000u32 {
            let piece = [(i % 251) as u8];
            assert_eq!(client.write_plaintext(&piece).unwrap(), 1);
            sent.push(piece[0]);
        }
        assert!(client.pending_write() > 5_000, "one record per write");
        pass(&mut client, &mut server);
        let mut got = BytesMut::new();
        while server.has_plaintext() {
            server.take_plaintext(&mut got, 1000);
        }
        assert_eq!(&got[..], &sent[..]);
        assert_eq!(server.write_plaintext(b"reply").unwrap(), 5);
        pass(&mut server, &mut client);
        let mut reply = BytesMut::new();
        assert_eq!(client.take_plaintext(&mut reply, 100), 5);
        assert!(holds_no_buffer(&client), "client buffers released");
        assert!(holds_no_buffer(&server), "server buffers released");
    }

    #[test]
    fn close_notify_from_a_client_reaches_the_server() {
        let (mut client, mut server) = pair();
        handshake(&mut client, &mut server);
        client.send_close_notify();
        pass(&mut client, &mut server);
        assert!(server.peer_closed());
    }
}
