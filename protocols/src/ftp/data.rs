//! Data channels as children of the control connection, and the transfers over them.
//!
//! * PASV/EPSV: `open_passive` binds a child listener (in the configured port
//!   range) on the control connection's local address. It accepts exactly one connection,
//!   and only from the control peer's IP (others are closed and counted); it closes after
//!   [`FtpConfig::passive_timeout`](super::FtpConfig::passive_timeout).
//! * PORT/EPRT: `set_active` records the address after the anti-bounce checks
//!   (the client's own IP, an unprivileged port); the connect happens when a transfer starts.
//! * Transfers: RETR sends with `sendfile` in binary mode and converts LF to CRLF in
//!   chunks in ASCII mode; listings go as one buffer; STOR/APPE/STOU write each chunk to disk
//!   as it arrives (CRLF to LF in ASCII mode) and reply 226 only once the peer has closed and
//!   the file is closed. Replies: 150 (or 125 when the connection is already open) first,
//!   then 226, or 425 (no connection), 426 (connection lost or aborted), 451 (local error).
//! * A transfer is complete once its data connection has closed (`close()`, so a TLS one
//!   ends with `close_notify`). Under `PROT P` the data connection becomes a TLS server
//!   when the transfer starts (see [`ftps`](super::ftps)): an upload ended without the
//!   client's `close_notify` is a truncation (426, nothing stored), a failed handshake is
//!   522, and with reuse required nothing is sent before the handshake shows a resumed
//!   session.

use std::fs::File;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::FileExt;
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use netreactor::{ChildEvent, CloseReason, ConnId, Context, Counter, ListenOptions, TimerId};

pub use super::ascii::{from_crlf, to_crlf};
use super::conn::{FtpConn, FtpTimer};
use super::reply::Code;
use super::store::PartFile;

/// Size of an ASCII-mode read from the file.
const ASCII_CHUNK: usize = 64 * 1024;

/// The data channel set up by the last PASV/EPSV/PORT/EPRT.
#[derive(Debug)]
pub enum Channel {
    /// None: a transfer command now gets 425.
    Idle,
    /// A passive listener waits for the client.
    Listening {
        /// The child listener.
        listener: ConnId,
        /// Its timeout.
        timer: TimerId,
    },
    /// The client connected to the passive listener; no transfer yet.
    Connected {
        /// The data connection (reading paused until a transfer starts).
        conn: ConnId,
    },
    /// PORT/EPRT: connect here when a transfer starts.
    Active {
        /// The client's data address.
        addr: SocketAddr,
    },
}

/// What a transfer does.
#[derive(Debug)]
pub enum Job {
    /// RETR in binary mode: one `sendfile` range.
    SendFile {
        /// The open file.
        file: Rc<File>,
        /// First byte (REST).
        offset: u64,
        /// Bytes to send.
        len: u64,
    },
    /// RETR in ASCII mode: chunks with LF turned into CRLF.
    SendAscii {
        /// The open file.
        file: File,
        /// Next byte to read.
        offset: u64,
        /// The previous chunk ended with CR (its LF is not bare).
        last_cr: bool,
    },
    /// LIST, NLST, MLSD: a prepared buffer.
    SendBuffer(Bytes),
    /// STOR, APPE, STOU: bytes written as they arrive.
    Receive {
        /// The open file (closed before 226).
        file: Option<File>,
        /// The temporary file moved onto the target once the transfer completes (`None`
        /// when writing in place: APPE, or STOR after REST).
        part: Option<PartFile>,
        /// ASCII mode: CRLF becomes LF.
        ascii: bool,
        /// A CR held back (ASCII mode) until the next byte shows whether LF follows.
        cr_pending: bool,
    },
}

/// A transfer in progress.
#[derive(Debug)]
pub struct Transfer {
    /// The data connection once open.
    pub conn: Option<ConnId>,
    /// An active-mode connect in progress.
    pub connecting: Option<ConnId>,
    /// The work.
    pub job: Job,
    /// Text of the final 226.
    pub done_text: String,
    /// Text of the 150/125 that starts it, when not the usual one (STOU: `FILE: <name>`).
    pub opening: Option<String>,
    /// Everything is queued on the data connection; waiting for it to drain.
    pub last_chunk: bool,
    /// Progress counter for the data timeout.
    pub progress: u64,
    /// `progress` when the data timer last fired.
    pub seen: u64,
    /// The data timeout timer.
    pub timer: Option<TimerId>,
    /// `PROT P`: the data connection speaks TLS.
    pub protected: bool,
    /// Bytes may move (false while a protected connection handshakes, and until it shows
    /// that it resumed the control session when that is required).
    pub ready: bool,
    /// The client ended the data connection's TLS with `close_notify` (an upload's end).
    pub peer_closed: bool,
    /// Everything is done; waiting for the data connection to close.
    pub closing: bool,
    /// A file transfer's name and start, for the xferlog (`None`: a listing).
    pub logged: Option<Box<super::xferlog::XferStart>>,
}

impl Transfer {
    /// A transfer of `job` that ends with `226 done_text`.
    pub fn new(job: Job, done_text: impl Into<String>) -> Transfer {
        Transfer {
            conn: None,
            connecting: None,
            job,
            done_text: done_text.into(),
            opening: None,
            last_chunk: false,
            progress: 0,
            seen: 0,
            timer: None,
            protected: false,
            ready: true,
            peer_closed: false,
            closing: false,
            logged: None,
        }
    }
}

/// Why an active-mode address is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum ActiveRefusal {
    /// Not the control connection's peer IP (FTP bounce): 501.
    ForeignAddress,
    /// A port below 1024: 504.
    PrivilegedPort,
}

/// The anti-bounce rule: data may only go back to the client's own IP, on a port >= 1024.
pub fn check_active(addr: SocketAddr, peer: IpAddr) -> Result<(), ActiveRefusal> {
    let same = match (addr.ip(), peer) {
        (a, b) if a == b => true,
        (IpAddr::V4(a), IpAddr::V6(b)) | (IpAddr::V6(b), IpAddr::V4(a)) => {
            b.to_ipv4_mapped() == Some(a)
        }
        _ => false,
    };
    if !same {
        return Err(ActiveRefusal::ForeignAddress);
    }
    if addr.port() < 1024 {
        return Err(ActiveRefusal::PrivilegedPort);
    }
    Ok(())
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a dual-stack listener reports for an
/// IPv4 client) as the IPv4 address it is; others unchanged. PASV, EPSV and the passive
/// listeners treat such a client as the IPv4 client it is.
pub fn unmapped(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), a.port()),
            None => addr,
        },
        v4 => v4,
    }
}

impl FtpConn {
    /// Closes whatever channel is set up (not a running transfer).
    pub(super) fn reset_channel(&mut self, cx: &mut Context<'_, FtpTimer>) {
        match std::mem::replace(&mut self.channel, Channel::Idle) {
            Channel::Listening { listener, timer } => {
                cx.cancel_timer(timer);
                cx.conn(listener).abort();
            }
            Channel::Connected { conn } => cx.conn(conn).abort(),
            Channel::Idle | Channel::Active { .. } => {}
        }
    }

    /// Opens a passive listener; returns its address (the port clients connect to).
    pub(super) fn open_passive(
        &mut self,
        cx: &mut Context<'_, FtpTimer>,
    ) -> Result<SocketAddr, String> {
        self.reset_channel(cx);
        let Some(local) = cx.local_addr().map(unmapped) else {
            return Err("No local address.".into());
        };
        // The listener this one replaces closes after this callback: end the turn here so a
        // burst of PASV never holds more than two.
        self.yield_now = true;
        let mut last_err = String::from("No free passive port.");
        let proxy = self.shared.config.passive_proxy_protocol.clone();
        let opts = proxy.map(|p| {
            ListenOptions {
                backlog: 8,
                ..ListenOptions::default()
            }
            .proxy_protocol(p)
        });
        for port in self.shared.passive_candidates() {
            let at = SocketAddr::new(local.ip(), port);
            let listening = match &opts {
                Some(opts) => cx.listen_child_with(at, opts),
                None => cx.listen_child(at),
            };
            match listening {
                Ok((listener, bound)) => {
                    let timer = cx.set_timer(self.shared.config.passive_timeout, FtpTimer::Passive);
                    self.channel = Channel::Listening { listener, timer };
                    return Ok(bound);
                }
                Err(e) => last_err = format!("Can't open passive listener: {e}."),
            }
        }
        Err(last_err)
    }

    /// Records an active-mode address after the anti-bounce checks.
    pub(super) fn set_active(
        &mut self,
        cx: &mut Context<'_, FtpTimer>,
        addr: SocketAddr,
    ) -> Result<(), ActiveRefusal> {
        let peer = cx
            .peer_addr()
            .map_or(IpAddr::from([0u8, 0, 0, 0]), |a| a.ip());
        check_active(addr, peer)?;
        self.reset_channel(cx);
        self.channel = Channel::Active { addr };
        Ok(())
    }

    /// Starts `job` on the channel set up before: 150/125 now, 226 (or an error) later.
    /// Without a channel: 425.
    pub(super) fn begin_transfer(
        &mut self,
        cx: &mut Context<'_, FtpTimer>,
        mut transfer: Transfer,
    ) {
        let opening = match (&transfer.opening, &transfer.job) {
            (Some(text), _) => text.clone(),
            (None, Job::SendBuffer(_)) => "Here comes the listing.".to_string(),
            (None, _) => "Opening data connection.".to_string(),
        };
        match std::mem::replace(&mut self.channel, Channel::Idle) {
            Channel::Idle => {
                return self.reply(cx, Code::CantOpenDataConnection, "Use PORT or PASV first.")
            }
            Channel::Connected { conn } => {
                let text = match &transfer.opening {
                    Some(t) => t.as_str(),
                    None => "Data connection already open; transfer starting.",
                };
                self.reply(cx, Code::DataConnectionAlreadyOpen, text);
                transfer.conn = Some(conn);
            }
            Channel::Listening { listener, timer } => {
                // Wait for the client; the listener and its timeout stay.
                self.channel = Channel::Listening { listener, timer };
                self.reply(cx, Code::FileStatusOkay, &opening);
            }
            Channel::Active { addr } => match cx.connect_child(addr) {
                Ok(id) => {
                    transfer.connecting = Some(id);
                    self.reply(cx, Code::FileStatusOkay, &opening);
                }
                Err(e) => {
                    return self.reply(
                        cx,
                        Code::CantOpenDataConnection,
                        &format!("Can't open data connection: {e}."),
                    )
                }
            },
        }
        transfer.protected = self.session.prot == super::ftps::Prot::Private;
        transfer.timer = Some(cx.set_timer(self.shared.config.data_timeout, FtpTimer::Data));
        let conn = transfer.conn;
        self.transfer = Some(transfer);
        if let Some(conn) = conn {
            self.start(cx, conn);
        }
    }

    /// The data connection of the current transfer is open: move bytes (under `PROT P`,
    /// once it speaks TLS).
    fn start(&mut self, cx: &mut Context<'_, FtpTimer>, conn: ConnId) {
        let Some(t) = self.transfer.as_mut() else {
            return;
        };
        t.conn = Some(conn);
        t.connecting = None;
        if t.protected {
            let upload = matches!(t.job, Job::Receive { .. });
            if !self.protect_data(cx, conn, upload) {
                let text = "TLS could not start on the data connection.";
                return self.fail(cx, Code::DATA_TLS_FAILED, text);
            }
            // The handshake needs reading, whatever the direction of the transfer; nothing
            // moves (not even the close of an empty listing) until it is done.
            cx.conn(conn).resume_read();
            if let Some(t) = self.transfer.as_mut() {
                t.ready = false;
            }
            return;
        }
        self.run_job(cx);
    }

    /// Data connection `child` finished its TLS handshake: the transfer goes on (with reuse
    /// required, only if it resumed the control connection's session; 522 otherwise).
    fn on_data_tls_ready(&mut self, cx: &mut Context<'_, FtpTimer>, child: ConnId) {
        let waiting = self
            .transfer
            .as_ref()
            .is_some_and(|t| t.conn == Some(child) && !t.ready);
        if !waiting {
            return;
        }
        if self.require_reuse() && !self.data_resumed(cx, child) {
            tracing::info!("ftp: data connection did not resume the control TLS session");
            let text = "TLS session reuse required: the data connection must resume the \
                        control connection's session.";
            return self.fail(cx, Code::DATA_TLS_FAILED, text);
        }
        if let Some(t) = self.transfer.as_mut() {
            t.ready = true;
        }
        self.run_job(cx);
    }

    /// Sends the first piece, or lets the upload's bytes come.
    fn run_job(&mut self, cx: &mut Context<'_, FtpTimer>) {
        let Some(t) = self.transfer.as_mut() else {
            return;
        };
        let Some(conn) = t.conn else { return };
        match &mut t.job {
            Job::Receive { .. } => cx.conn(conn).resume_read(),
            _ => self.send_next(cx),
        }
    }

    /// Queues the next piece of an outgoing transfer and asks for a drain notice.
    fn send_next(&mut self, cx: &mut Context<'_, FtpTimer>) {
        let Some(t) = self.transfer.as_mut() else {
            return;
        };
        let Some(conn) = t.conn else { return };
        if !t.ready || t.closing {
            return;
        }
        if t.last_chunk {
            return self.finish(cx);
        }
        match &mut t.job {
            Job::SendFile { file, offset, len } => {
                if *len > 0 {
                    cx.conn(conn).send_file(file.clone(), *offset, *len);
                }
                t.last_chunk = true;
            }
            Job::SendBuffer(b) => {
                if !b.is_empty() {
                    cx.conn(conn).write(b.clone());
                }
                t.last_chunk = true;
            }
            Job::SendAscii {
                file,
                offset,
                last_cr,
            } => {
                let mut buf = vec![0u8; ASCII_CHUNK];
                match file.read_at(&mut buf, *offset) {
                    Ok(0) => t.last_chunk = true,
                    Ok(n) => {
                        *offset += n as u64;
                        t.progress += n as u64;
                        cx.conn(conn).write(to_crlf(&buf[..n], last_cr));
                    }
                    Err(e) => {
                        let text = format!("Read error: {e}.");
                        return self.fail(cx, Code::LocalError, &text);
                    }
                }
            }
            Job::Receive { .. } => return,
        }
        cx.conn(conn).notify_drained();
    }

    /// Everything is sent or received: close the data connection (after what is queued,
    /// with `close_notify` over TLS). The transfer completes when it has closed.
    fn finish(&mut self, cx: &mut Context<'_, FtpTimer>) {
        let Some(t) = self.transfer.as_mut() else {
            return;
        };
        if t.closing {
            return;
        }
        t.closing = true;
        match t.conn {
            Some(conn) => cx.conn(conn).close(),
            None => self.complete(cx, &CloseReason::Local),
        }
    }

    /// The data connection of a finished transfer closed for `reason`: 226 (an upload's
    /// file closed and moved into place first), or 426 when the end was not clean.
    fn complete(&mut self, cx: &mut Context<'_, FtpTimer>, reason: &CloseReason) {
        let Some(mut t) = self.transfer.take() else {
            return;
        };
        if let Some(timer) = t.timer.take() {
            cx.cancel_timer(timer);
        }
        let receive = matches!(t.job, Job::Receive { .. });
        if receive && t.protected && !t.peer_closed {
            // `part` is dropped with `t`: the temporary file goes, nothing is created.
            tracing::info!(?reason, "ftp: TLS upload ended without close_notify");
            let text = "Data connection closed without TLS close_notify; upload aborted.";
            self.reply(cx, Code::TransferAborted, text);
            self.log_transfer(cx, &t, false);
            return self.after_transfer(cx);
        }
        if let (false, CloseReason::Io(e)) = (receive, reason) {
            let text = format!("Data connection failed: {e}; transfer aborted.");
            self.reply(cx, Code::TransferAborted, &text);
            self.log_transfer(cx, &t, false);
            return self.after_transfer(cx);
        }
        if let Job::Receive {
            file,
            part,
            ascii,
            cr_pending,
        } = &mut t.job
        {
            if let Some(mut f) = file.take() {
                let tail: &[u8] = if *ascii && *cr_pending { b"\r" } else { b"" };
                if let Err(e) = f.write_all(tail).and_then(|_| f.flush()) {
                    // `part` is dropped with `t`: the temporary file goes, nothing is created.
                    self.reply(cx, Code::LocalError, &format!("Write error: {e}."));
                    self.log_transfer(cx, &t, false);
                    return self.after_transfer(cx);
                }
                drop(f); // closed before the reply
            }
            if let Some(p) = part.take() {
                if let Err(e) = p.commit() {
                    let text =
                        format!("Could not store the file: {}.", super::vfs::VfsError::Io(e));
                    self.reply(cx, Code::LocalError, &text);
                    self.log_transfer(cx, &t, false);
                    return self.after_transfer(cx);
                }
            }
        }
        self.reply(cx, Code::ClosingDataConnection, &t.done_text);
        self.log_transfer(cx, &t, true);
        self.after_transfer(cx);
    }

    /// The transfer failed: close everything, answer `code`.
    pub(super) fn fail(&mut self, cx: &mut Context<'_, FtpTimer>, code: Code, text: &str) {
        if let Some(mut t) = self.transfer.take() {
            self.log_transfer(cx, &t, false);
            if let Some(timer) = t.timer.take() {
                cx.cancel_timer(timer);
            }
            for id in [t.conn, t.connecting].into_iter().flatten() {
                cx.conn(id).abort();
            }
        }
        self.reset_channel(cx);
        self.reply(cx, code, text);
        self.after_transfer(cx);
    }

    fn after_transfer(&mut self, cx: &mut Context<'_, FtpTimer>) {
        if self.quit_pending {
            self.reply(cx, Code::ServiceClosing, "Goodbye.");
            self.closing = true;
            cx.close();
        }
    }

    /// ABOR (RFC 959 §4.1.3): a running transfer ends with 426 then 226; otherwise 225.
    pub(super) fn abort(&mut self, cx: &mut Context<'_, FtpTimer>) {
        if self.transfer.is_some() {
            self.fail(cx, Code::TransferAborted, "Transfer aborted.");
            self.reply(cx, Code::ClosingDataConnection, "ABOR command successful.");
        } else {
            self.reset_channel(cx);
            self.reply(cx, Code::DataConnectionOpen, "No transfer to abort.");
        }
    }

    pub(super) fn on_passive_timeout(&mut self, cx: &mut Context<'_, FtpTimer>) {
        if let Channel::Listening { listener, .. } = self.channel {
            self.channel = Channel::Idle;
            cx.conn(listener).abort();
            cx.count(Counter::Timeout);
            if self.transfer.is_some() {
                self.fail(
                    cx,
                    Code::CantOpenDataConnection,
                    "Data connection timed out.",
                );
            }
        }
    }

    pub(super) fn on_data_timer(&mut self, cx: &mut Context<'_, FtpTimer>) {
        let timeout = self.shared.config.data_timeout;
        let Some(t) = self.transfer.as_mut() else {
            return;
        };
        let queued = t.conn.map_or(0, |c| cx.conn(c).queued()) as u64;
        // Progress: bytes received/converted, or the send queue shrinking (sendfile).
        let mark = t.progress.wrapping_add(queued.wrapping_mul(0x9e37_79b9));
        if mark != t.seen || t.conn.is_none() && t.connecting.is_none() {
            t.seen = mark;
            t.timer = Some(cx.set_timer(timeout, FtpTimer::Data));
            return;
        }
        t.timer = None;
        cx.count(Counter::Timeout);
        self.fail(cx, Code::TransferAborted, "Data connection timed out.");
    }

    /// Routes an event of a child socket.
    pub(super) fn data_event(
        &mut self,
        cx: &mut Context<'_, FtpTimer>,
        child: ConnId,
        event: ChildEvent<'_>,
    ) {
        match event {
            ChildEvent::Accepted { conn, peer } => self.on_accepted(cx, child, conn, peer),
            ChildEvent::Connected => {
                if self.transfer.as_ref().and_then(|t| t.connecting) == Some(child) {
                    self.start(cx, child);
                } else {
                    cx.conn(child).abort();
                }
            }
            ChildEvent::Data(buf) => self.on_data_in(cx, child, buf),
            ChildEvent::Eof if self.transfer_conn() == Some(child) => {
                let protected = self.transfer.as_ref().is_some_and(|t| t.protected);
                let peer_closed = protected && self.data_peer_closed(cx, child);
                if let Some(
                    t @ Transfer {
                        job: Job::Receive { .. },
                        ..
                    },
                ) = self.transfer.as_mut()
                {
                    t.peer_closed = peer_closed;
                    self.finish(cx);
                }
            }
            ChildEvent::Drained if self.transfer_conn() == Some(child) => self.send_next(cx),
            ChildEvent::TlsReady => self.on_data_tls_ready(cx, child),
            ChildEvent::Closed(reason) => self.on_child_closed(cx, child, reason),
            _ => {}
        }
    }

    fn transfer_conn(&self) -> Option<ConnId> {
        self.transfer.as_ref().and_then(|t| t.conn)
    }

    fn on_accepted(
        &mut self,
        cx: &mut Context<'_, FtpTimer>,
        listener: ConnId,
        conn: ConnId,
        peer: SocketAddr,
    ) {
        let Channel::Listening { listener: l, timer } = self.channel else {
            return cx.conn(conn).abort();
        };
        if l != listener {
            return cx.conn(conn).abort();
        }
        let control_ip = cx.peer_addr().map(|a| a.ip());
        if control_ip.is_some_and(|ip| check_active(SocketAddr::new(peer.ip(), 1024), ip).is_err())
        {
            // A third party raced the client to the passive port.
            tracing::warn!(%peer, "ftp: passive connection from a foreign address refused");
            cx.count(Counter::ParseError);
            return cx.conn(conn).abort();
        }
        cx.cancel_timer(timer);
        cx.conn(listener).abort();
        // Nothing is read until a transfer starts (a STOR's bytes wait in the socket).
        cx.conn(conn).pause_read();
        if self.transfer.is_some() {
            self.channel = Channel::Idle;
            self.start(cx, conn);
        } else {
            self.channel = Channel::Connected { conn };
        }
    }

    fn on_data_in(&mut self, cx: &mut Context<'_, FtpTimer>, child: ConnId, buf: &mut BytesMut) {
        if self.transfer_conn() != Some(child) {
            // Not receiving on it (a RETR's client should not send): leave it, bounded by
            // the core's input limit.
            if !matches!(self.channel, Channel::Connected { conn } if conn == child) {
                buf.clear();
            }
            return;
        }
        if self.transfer.as_ref().is_some_and(|t| !t.ready) {
            // Bytes before the handshake was judged: judge it now.
            self.on_data_tls_ready(cx, child);
        }
        let Some(t) = self.transfer.as_mut().filter(|t| t.ready && !t.closing) else {
            buf.clear();
            return;
        };
        let Job::Receive {
            file: Some(file),
            ascii,
            cr_pending,
            ..
        } = &mut t.job
        else {
            buf.clear();
            return;
        };
        let result = if *ascii {
            let data = from_crlf(buf, cr_pending);
            file.write_all(&data)
        } else {
            file.write_all(buf)
        };
        t.progress += buf.len() as u64;
        buf.clear();
        if let Err(e) = result {
            let code = if e.raw_os_error() == Some(libc::ENOSPC) {
                Code::InsufficientStorage
            } else {
                Code::LocalError
            };
            self.fail(cx, code, &format!("Write error: {e}; transfer aborted."));
        }
    }

    fn on_child_closed(
        &mut self,
        cx: &mut Context<'_, FtpTimer>,
        child: ConnId,
        reason: &CloseReason,
    ) {
        match self.channel {
            Channel::Listening { listener, timer } if listener == child => {
                cx.cancel_timer(timer);
                self.channel = Channel::Idle;
                if self.transfer.is_some() {
                    self.fail(
                        cx,
                        Code::CantOpenDataConnection,
                        "Can't open data connection.",
                    );
                }
                return;
            }
            Channel::Connected { conn } if conn == child => {
                self.channel = Channel::Idle;
                return;
            }
            _ => {}
        }
        let Some(t) = self.transfer.as_ref() else {
            return;
        };
        if t.connecting == Some(child) {
            let text = match reason {
                CloseReason::Io(e) => format!("Can't open data connection: {e}."),
                _ => "Can't open data connection.".to_string(),
            };
            self.fail(cx, Code::CantOpenDataConnection, &text);
        } else if t.conn == Some(child) && t.closing {
            self.complete(cx, reason);
        } else if t.conn == Some(child) {
            match reason {
                CloseReason::Tls(e) => {
                    let text = format!("TLS on the data connection failed: {e}.");
                    self.fail(cx, Code::DATA_TLS_FAILED, &text)
                }
                CloseReason::TlsHandshake => self.fail(
                    cx,
                    Code::DATA_TLS_FAILED,
                    "TLS handshake on the data connection failed.",
                ),
                _ => self.fail(
                    cx,
                    Code::TransferAborted,
                    "Data connection closed; transfer aborted.",
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounce_to_another_host_or_a_privileged_port_is_refused() {
        let me: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(check_active("127.0.0.1:5000".parse().unwrap(), me), Ok(()));
        assert_eq!(
            check_active("127.0.0.2:5000".parse().unwrap(), me),
            Err(ActiveRefusal::ForeignAddress)
        );
        assert_eq!(
            check_active("127.0.0.1:21".parse().unwrap(), me),
            Err(ActiveRefusal::PrivilegedPort)
        );
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(
            check_active("127.0.0.1:5000".parse().unwrap(), mapped),
            Ok(())
        );
    }
}
