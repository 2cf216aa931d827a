//! FTPS (RFC 4217): the security commands, the control connection's TLS, and the
//! protection of data channels (feature `tls`; without it `AUTH` is answered `502`).
//!
//! * Explicit: `AUTH TLS` (also `TLS-C`, `SSL`, `TLS-P`, the names older clients send) →
//!   `234`, then the control connection speaks TLS. Bytes the client sent behind the
//!   command go to the TLS layer, never to the command parser (no plaintext command can be
//!   injected into the protected session), and an `AUTH` queued behind other commands is
//!   refused (`503`). The session starts over: `USER` again (RFC 4217 §4). `AUTH` on a
//!   connection that already speaks TLS is `503`.
//! * Implicit (port 990 style, [`listen_implicit`](super::server::listen_implicit)): TLS
//!   from the first byte, `PBSZ 0` and `PROT P` in force from the start.
//! * `PBSZ n` → `200 PBSZ=0` (TLS has no buffer size; any `n` is answered with `0`), `501`
//!   for a non-number, `503` before TLS. `PROT P` / `PROT C` → `200`; `S` and `E` → `536`;
//!   anything else `504`; `503` before `PBSZ`. `CCC` → `534`: the control connection stays
//!   protected.
//! * Data channels under `PROT P` are TLS with the FTP server as the TLS *server*, passive
//!   or active (RFC 4217 §7), with the control connection's certificates. Each control
//!   connection has session tickets of its own (a key no other connection shares) and a
//!   session cache of its own, so a data connection can resume only a session of its own
//!   control connection. A download's data connection issues one new ticket (OpenSSL
//!   clients such as curl use each TLS 1.3 ticket once); an upload's issues none: the
//!   client never reads that connection, and a ticket left unread in its socket turns its
//!   close into a reset that throws away the end of the upload. Every transfer ends with
//!   `close_notify` and counts as complete only once the data connection has closed; an
//!   upload whose client closed without `close_notify` (a truncation, or a reset) is
//!   answered `426` and nothing is stored.
//! * [`FtpsConfig::required`] (vsftpd's `force_local_logins_ssl` and
//!   `force_local_data_ssl`): `USER`/`PASS` before `AUTH TLS` get `530` (RFC 4217 also
//!   allows `534`; `530` is what clients show as "login refused"), and a transfer without
//!   `PROT P` gets `521` (RFC 4217: data connection cannot be opened with this PROT
//!   setting; vsftpd answers `522`).
//! * [`FtpsConfig::require_reuse`] (vsftpd's `require_ssl_reuse`): a data connection whose
//!   handshake did not resume the control connection's session gets `522` before a byte of
//!   the transfer is sent. lftp (GnuTLS) resumes every time; curl (OpenSSL) resumes until
//!   its first upload, after which it holds no unused ticket; Python's `ftplib` never
//!   resumes (its data sockets are wrapped without the control socket's session). Off by
//!   default.

#[cfg(feature = "tls")]
use std::sync::Arc;

use netreactor::{ConnId, Context};

use super::conn::{FtpConn, FtpTimer};
use super::reply::Code;
#[cfg(feature = "tls")]
use super::session::Session;

#[cfg(feature = "tls")]
use netreactor::tls::rustls::{
    crypto::ring::Ticketer, server::ServerSessionMemoryCache, HandshakeKind, ServerConfig,
};
#[cfg(feature = "tls")]
use netreactor::tls::TlsAcceptor;

/// Sessions a control connection's cache holds for its data connections to resume.
#[cfg(feature = "tls")]
const SESSION_CACHE: usize = 8;

/// FTPS settings of a server ([`FtpConfig::tls`](super::FtpConfig::tls)).
#[cfg(feature = "tls")]
#[derive(Clone, Debug)]
pub struct FtpsConfig {
    /// The certificates (replaceable while running: new `AUTH TLS` sessions get the new ones).
    pub acceptor: TlsAcceptor,
    /// No login and no transfer without TLS: `530` to `USER`/`PASS` before `AUTH TLS`, `521`
    /// to transfers without `PROT P`.
    pub required: bool,
    /// A protected data connection must resume the control connection's TLS session
    /// (`522` otherwise). Python's `ftplib` cannot.
    pub require_reuse: bool,
}

#[cfg(feature = "tls")]
impl FtpsConfig {
    /// FTPS with `acceptor`'s certificates, neither required nor with reuse required.
    pub fn new(acceptor: impl Into<TlsAcceptor>) -> FtpsConfig {
        FtpsConfig {
            acceptor: acceptor.into(),
            required: false,
            require_reuse: false,
        }
    }
}

/// The data channel protection level (`PROT`, RFC 2228 §3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Prot {
    /// `C`: data in plaintext (the default of explicit FTPS).
    #[default]
    Clear,
    /// `P`: data channels speak TLS.
    Private,
}

/// A `PROT` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtArg {
    /// `C` or `P`.
    Level(Prot),
    /// `S` or `E`: levels TLS does not provide (536).
    Unsupported,
    /// Anything else (504).
    Unknown,
}

/// Parses a `PROT` argument (case-insensitive).
pub fn parse_prot(arg: &str) -> ProtArg {
    match arg.trim().to_ascii_uppercase().as_str() {
        "C" => ProtArg::Level(Prot::Clear),
        "P" => ProtArg::Level(Prot::Private),
        "S" | "E" => ProtArg::Unsupported,
        _ => ProtArg::Unknown,
    }
}

/// Parses a `PBSZ` argument: a decimal size below 2^32 (RFC 2228 §3).
pub fn parse_pbsz(arg: &str) -> Option<u32> {
    let a = arg.trim();
    if a.is_empty() || !a.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    a.parse().ok()
}

/// True for the `AUTH` mechanisms that mean TLS on the control connection.
pub fn is_tls_mechanism(arg: &str) -> bool {
    matches!(
        arg.trim().to_ascii_uppercase().as_str(),
        "TLS" | "TLS-C" | "SSL" | "TLS-P"
    )
}

/// The TLS configurations of one control connection and its data connections: copies of
/// the acceptor's with a ticket key and a session cache of their own. The data connections'
/// two are made when the first protected transfer needs them.
#[cfg(feature = "tls")]
#[derive(Clone, Debug)]
pub struct SessionConfigs {
    /// For the control connection: issues tickets (and caches TLS 1.2 sessions).
    pub control: Arc<ServerConfig>,
    /// For the data connections of downloads and listings: resume those, issue one.
    data: Option<Arc<ServerConfig>>,
    /// For the data connections of uploads: resume those, issue none.
    upload: Option<Arc<ServerConfig>>,
}

#[cfg(feature = "tls")]
impl SessionConfigs {
    /// The configuration of a data connection (`upload`: of an upload).
    pub fn data(&mut self, upload: bool) -> Arc<ServerConfig> {
        let (slot, tickets) = if upload {
            (&mut self.upload, 0)
        } else {
            (&mut self.data, 1)
        };
        slot.get_or_insert_with(|| {
            let mut config = (*self.control).clone();
            config.send_tls13_tickets = tickets;
            Arc::new(config)
        })
        .clone()
    }
}

/// Makes the [`SessionConfigs`] of a new control connection from `acceptor`'s current
/// configuration; `None` if no ticket key could be made.
#[cfg(feature = "tls")]
pub fn session_configs(acceptor: &TlsAcceptor) -> Option<SessionConfigs> {
    let mut control = (*acceptor.config()).clone();
    control.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE);
    control.ticketer = Ticketer::new().ok()?;
    Some(SessionConfigs {
        control: Arc::new(control),
        data: None,
        upload: None,
    })
}

impl FtpConn {
    /// FTPS is configured: `FEAT` lists it, `AUTH TLS` works.
    pub(super) fn tls_offered(&self) -> bool {
        #[cfg(feature = "tls")]
        {
            self.shared.config.tls.is_some()
        }
        #[cfg(not(feature = "tls"))]
        false
    }

    fn tls_required(&self) -> bool {
        #[cfg(feature = "tls")]
        {
            self.shared.config.tls.as_ref().is_some_and(|t| t.required)
        }
        #[cfg(not(feature = "tls"))]
        false
    }

    pub(super) fn require_reuse(&self) -> bool {
        #[cfg(feature = "tls")]
        {
            self.shared
                .config
                .tls
                .as_ref()
                .is_some_and(|t| t.require_reuse)
        }
        #[cfg(not(feature = "tls"))]
        false
    }

    /// `USER`/`PASS` on a plaintext control connection of a server that requires TLS: 530.
    pub(super) fn login_needs_tls(&self, cx: &mut Context<'_, FtpTimer>) -> bool {
        if self.tls_required() && !cx.is_tls() {
            self.reply(
                cx,
                Code::NotLoggedIn,
                "TLS required: send AUTH TLS before USER and PASS.",
            );
            return true;
        }
        false
    }

    /// A transfer without `PROT P` on a server that requires TLS: 521.
    pub(super) fn transfer_needs_prot_p(&self, cx: &mut Context<'_, FtpTimer>) -> bool {
        if self.tls_required() && self.session.prot != Prot::Private {
            self.reply(
                cx,
                Code::ProtSettingRefused,
                "Data connection cannot be opened with this PROT setting: send PROT P.",
            );
            return true;
        }
        false
    }

    /// `AUTH TLS`: 234 in plaintext, then TLS; the session starts over.
    #[cfg(feature = "tls")]
    pub(super) fn cmd_auth(&mut self, cx: &mut Context<'_, FtpTimer>, arg: &str) {
        let Some(ftps) = self.shared.config.tls.as_ref() else {
            return self.reply(cx, Code::CommandNotImplemented, "AUTH not supported here.");
        };
        if cx.is_tls() {
            return self.reply(cx, Code::BadSequence, "Already using TLS.");
        }
        if !is_tls_mechanism(arg) {
            return self.reply(
                cx,
                Code::NotImplementedForParameter,
                "AUTH TLS is the only mechanism.",
            );
        }
        if !self.unqueued_command() {
            // Whatever follows it was read as plaintext already: it must not run as if it
            // had come through TLS.
            return self.reply(
                cx,
                Code::BadSequence,
                "AUTH must be sent alone, after the replies to earlier commands.",
            );
        }
        let Some(configs) = session_configs(&ftps.acceptor) else {
            return self.reply(cx, Code::SecurityUnavailable, "TLS unavailable now.");
        };
        self.reply(cx, Code::SecurityExchangeComplete, "AUTH TLS successful.");
        if !cx.start_tls_server(configs.control.clone()) {
            return self.close_with(cx, "TLS could not start.");
        }
        self.switch_to_tls(configs);
        self.reset_channel(cx);
        let failed = self.session.failed_logins;
        self.session = Session::new();
        self.session.failed_logins = failed;
    }

    /// Without the `tls` feature there is no TLS to offer.
    #[cfg(not(feature = "tls"))]
    pub(super) fn cmd_auth(&mut self, cx: &mut Context<'_, FtpTimer>, _arg: &str) {
        self.reply(
            cx,
            Code::CommandNotImplemented,
            "AUTH not supported (no TLS).",
        )
    }

    /// Implicit FTPS: TLS before the greeting, `PBSZ 0` and `PROT P` in force.
    #[cfg(feature = "tls")]
    pub(super) fn start_implicit_tls(&mut self, cx: &mut Context<'_, FtpTimer>) -> bool {
        let Some(ftps) = self.shared.config.tls.as_ref() else {
            return false;
        };
        let Some(configs) = session_configs(&ftps.acceptor) else {
            return false;
        };
        if !cx.start_tls_server(configs.control.clone()) {
            return false;
        }
        self.tls_config = Some(configs);
        self.session.pbsz = true;
        self.session.prot = Prot::Private;
        true
    }

    /// `PBSZ n` (RFC 4217 §8).
    pub(super) fn cmd_pbsz(&mut self, cx: &mut Context<'_, FtpTimer>, arg: &str) {
        if !cx.is_tls() {
            return self.reply(cx, Code::BadSequence, "PBSZ needs AUTH TLS first.");
        }
        if parse_pbsz(arg).is_none() {
            return self.reply(cx, Code::SyntaxErrorInParameters, "PBSZ needs a size.");
        }
        self.session.pbsz = true;
        self.reply(cx, Code::CommandOkay, "PBSZ=0")
    }

    /// `PROT C|P` (RFC 4217 §9).
    pub(super) fn cmd_prot(&mut self, cx: &mut Context<'_, FtpTimer>, arg: &str) {
        if !cx.is_tls() {
            return self.reply(cx, Code::BadSequence, "PROT needs AUTH TLS first.");
        }
        if !self.session.pbsz {
            return self.reply(cx, Code::BadSequence, "PROT needs PBSZ first.");
        }
        match parse_prot(arg) {
            ProtArg::Level(level) => {
                self.session.prot = level;
                let text = match level {
                    Prot::Private => "PROT now Private.",
                    Prot::Clear => "PROT now Clear.",
                };
                self.reply(cx, Code::CommandOkay, text)
            }
            ProtArg::Unsupported => self.reply(
                cx,
                Code::ProtLevelNotSupported,
                "PROT S and E are not supported with TLS.",
            ),
            ProtArg::Unknown => {
                self.reply(cx, Code::NotImplementedForParameter, "PROT C or PROT P.")
            }
        }
    }

    /// `CCC` (RFC 4217 §6): refused, the control connection stays protected.
    pub(super) fn cmd_ccc(&mut self, cx: &mut Context<'_, FtpTimer>) {
        self.reply(
            cx,
            Code::DeniedForPolicy,
            "CCC refused: the control connection stays protected.",
        )
    }

    /// Makes data connection `conn` (of an upload: `upload`) a TLS server with the control
    /// connection's certificates and tickets; false when there are none.
    pub(super) fn protect_data(
        &mut self,
        cx: &mut Context<'_, FtpTimer>,
        conn: ConnId,
        upload: bool,
    ) -> bool {
        #[cfg(feature = "tls")]
        {
            match &mut self.tls_config {
                Some(c) => cx.conn(conn).start_tls_server(c.data(upload)),
                None => false,
            }
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = (cx, conn, upload);
            false
        }
    }

    /// Data connection `conn`'s handshake resumed the control connection's session.
    pub(super) fn data_resumed(&self, cx: &mut Context<'_, FtpTimer>, conn: ConnId) -> bool {
        #[cfg(feature = "tls")]
        {
            cx.conn(conn)
                .tls()
                .and_then(|t| t.connection().handshake_kind())
                == Some(HandshakeKind::Resumed)
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = (cx, conn);
            false
        }
    }

    /// Data connection `conn` ended its TLS session with `close_notify`.
    pub(super) fn data_peer_closed(&self, cx: &mut Context<'_, FtpTimer>, conn: ConnId) -> bool {
        #[cfg(feature = "tls")]
        {
            cx.conn(conn).tls().is_some_and(|t| t.peer_closed())
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = (cx, conn);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prot_levels() {
        assert_eq!(parse_prot("P"), ProtArg::Level(Prot::Private));
        assert_eq!(parse_prot(" c "), ProtArg::Level(Prot::Clear));
        assert_eq!(parse_prot("S"), ProtArg::Unsupported);
        assert_eq!(parse_prot("e"), ProtArg::Unsupported);
        for bad in ["", "X", "PP", "P C"] {
            assert_eq!(parse_prot(bad), ProtArg::Unknown, "{bad:?}");
        }
    }

    #[test]
    fn pbsz_sizes() {
        assert_eq!(parse_pbsz("0"), Some(0));
        assert_eq!(parse_pbsz("16384"), Some(16384));
        assert_eq!(parse_pbsz("4294967295"), Some(u32::MAX));
        for bad in ["", "-1", "x", "4294967296", "1 2"] {
            assert_eq!(parse_pbsz(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn auth_mechanisms() {
        for ok in ["TLS", "tls", "TLS-C", "SSL", "TLS-P"] {
            assert!(is_tls_mechanism(ok), "{ok}");
        }
        for bad in ["", "GSSAPI", "KERBEROS_V4", "TLS1"] {
            assert!(!is_tls_mechanism(bad), "{bad}");
        }
    }
}
