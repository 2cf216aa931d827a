//! The TLS entry points on [`Reactor`], [`Context`] and [`ConnRef`].

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ServerConfig};

use super::engine::Session;
use super::{TlsAcceptor, TlsInfo};
use crate::boxed::Typed;
use crate::{ConnId, ConnRef, Context, ListenOptions, Protocol, Reactor};

impl Reactor {
    /// Listens on TCP with TLS: every accepted connection handshakes with the acceptor's
    /// current configuration (an `Arc<ServerConfig>` converts), then `factory()`'s protocol
    /// sees plaintext. `on_open` runs at accept: what it writes goes out once the handshake
    /// is done (an FTPS server's `220`).
    ///
    /// ```no_run
    /// use netreactor::bytes::BytesMut;
    /// use netreactor::{Context, Protocol, Reactor};
    ///
    /// struct Echo;
    /// impl Protocol for Echo {
    ///     fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
    ///         cx.write(input.split().freeze());
    ///     }
    /// }
    ///
    /// let config = netreactor::tls::server_config_from_pem(
    ///     "cert.pem".as_ref(),
    ///     "key.pem".as_ref(),
    ///     &[],
    /// )?;
    /// let mut reactor = Reactor::new()?;
    /// reactor.listen_tls("127.0.0.1:7443".parse().unwrap(), config, || Echo)?;
    /// reactor.run()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn listen_tls<F, P, T>(
        &mut self,
        addr: SocketAddr,
        tls: impl Into<TlsAcceptor>,
        factory: F,
    ) -> io::Result<SocketAddr>
    where
        F: FnMut() -> P + 'static,
        P: Protocol<T>,
        T: Copy + 'static,
    {
        self.listen_tls_with(addr, &ListenOptions::default(), tls, factory)
    }

    /// [`listen_tls`](Self::listen_tls) with listener options.
    pub fn listen_tls_with<F, P, T>(
        &mut self,
        addr: SocketAddr,
        opts: &ListenOptions,
        tls: impl Into<TlsAcceptor>,
        factory: F,
    ) -> io::Result<SocketAddr>
    where
        F: FnMut() -> P + 'static,
        P: Protocol<T>,
        T: Copy + 'static,
    {
        let (ids, local) = self.add_tcp_listener(addr, opts, factory)?;
        self.set_listeners_tls(ids, tls.into());
        tracing::debug!(%local, "listening (tls)");
        Ok(local)
    }

    /// [`listen_tcp_from`](Self::listen_tcp_from) speaking TLS: listens on a socket made
    /// elsewhere (an inherited one), each connection a TLS server with `tls`.
    pub fn listen_tls_from<F, P, T>(
        &mut self,
        listener: std::net::TcpListener,
        opts: &ListenOptions,
        tls: impl Into<TlsAcceptor>,
        factory: F,
    ) -> io::Result<SocketAddr>
    where
        F: FnMut() -> P + 'static,
        P: Protocol<T>,
        T: Copy + 'static,
    {
        let (ids, local) = self.add_tcp_sockets(vec![listener], opts, factory)?;
        self.set_listeners_tls(ids, tls.into());
        tracing::debug!(%local, "listening (tls, adopted)");
        Ok(local)
    }

    /// Makes the connections of listeners `ids` TLS servers with `tls`.
    fn set_listeners_tls(&mut self, ids: Vec<ConnId>, tls: TlsAcceptor) {
        for id in ids {
            self.core.set_listener_tls(id, tls.clone());
        }
    }

    /// Opens an outbound TCP connection speaking TLS to `server_name` (checked against the
    /// server's certificate by `config`'s verifier). `on_open` runs once TCP is connected;
    /// what it writes goes out after the handshake.
    pub fn connect_tls<P: Protocol<T>, T: Copy + 'static>(
        &mut self,
        addr: SocketAddr,
        server_name: ServerName<'static>,
        config: Arc<ClientConfig>,
        protocol: P,
    ) -> io::Result<ConnId> {
        let session = Session::client(config, server_name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let id = self.core.connect(addr, None, Typed::boxed(protocol))?;
        self.core.start_tls_with(id, session, None, false);
        Ok(id)
    }
}

impl<T: Copy + 'static> Context<'_, T> {
    /// STARTTLS as the server: once what is queued now is written (in plaintext — the
    /// `234` of FTP's `AUTH TLS`), the connection speaks TLS with `config`. Input after the
    /// command that the protocol left unconsumed is handed to the TLS layer. False if the
    /// connection already speaks TLS or the session cannot be made.
    pub fn start_tls_server(&mut self, config: Arc<ServerConfig>) -> bool {
        self.core.start_tls_server(self.id, config)
    }

    /// STARTTLS as the client of `server_name`, as [`start_tls_server`](Self::start_tls_server).
    pub fn start_tls_client(
        &mut self,
        server_name: ServerName<'static>,
        config: Arc<ClientConfig>,
    ) -> bool {
        self.core.start_tls_client(self.id, server_name, config)
    }

    /// What this connection's TLS session negotiated (`None`: it does not speak TLS).
    pub fn tls(&self) -> Option<TlsInfo<'_>> {
        self.core.tls_info(self.id)
    }
}

impl ConnRef<'_> {
    /// [`Context::start_tls_server`] on this connection: a child (an FTPS data channel)
    /// becomes a TLS server with its parent's configuration.
    pub fn start_tls_server(&mut self, config: Arc<ServerConfig>) -> bool {
        self.core.start_tls_server(self.id, config)
    }

    /// [`Context::start_tls_client`] on this connection (an active-mode FTPS data channel).
    pub fn start_tls_client(
        &mut self,
        server_name: ServerName<'static>,
        config: Arc<ClientConfig>,
    ) -> bool {
        self.core.start_tls_client(self.id, server_name, config)
    }

    /// What this connection's TLS session negotiated.
    pub fn tls(&self) -> Option<TlsInfo<'_>> {
        self.core.tls_info(self.id)
    }
}
