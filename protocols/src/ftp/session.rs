//! The control state machine: login, directory, type, and one reply (or transfer) per
//! command, with the reply codes of RFC 959 §5.4 and RFC 2389, 2428, 3659.
//!
//! Sequences (RFC 959 §6):
//! * login: `USER` → [`Login::NeedPassword`] → `PASS` → [`Login::LoggedIn`] (`ACCT` is
//!   superfluous here: 202); a bad password is answered 530 after a delay.
//! * `REIN` → [`Login::NeedUser`], keeping the connection.
//! * `RNFR` → [`Pending::RenameFrom`] → `RNTO` (any other command cancels it; `RNTO` alone is
//!   503).
//! * `REST n` → [`Session::restart`] → the next `RETR` sends from byte `n`, `STOR` resumes
//!   an upload there (see [`store`](super::store)); `APPE` after `REST` is refused (450).
//! * `PASV`/`EPSV`/`PORT`/`EPRT` → a [`Channel`](super::data::Channel) → the next transfer
//!   command uses it.

use std::net::SocketAddr;
use std::path::PathBuf;

use bytes::Bytes;
use netreactor::Context;

use super::conn::{FtpConn, FtpTimer};
use super::data::{unmapped, ActiveRefusal, Transfer};
use super::ftps::Prot;
use super::parse::{
    format_epsv, format_pasv, parse_eprt, parse_epsv, parse_port, AddrError, Command, EpsvArg, Verb,
};
use super::perms::{Perm, Perms};
use super::reply::{multi, quote_path, single, Code};
use super::users::{is_anonymous_name, Account};
use super::vfs::{Jail, VfsError, FACTS};

/// Where the login sequence stands.
#[derive(Debug)]
pub enum Login {
    /// Waiting for `USER`.
    NeedUser,
    /// `USER` accepted; waiting for `PASS`.
    NeedPassword {
        /// The name given.
        user: String,
    },
    /// Logged in.
    LoggedIn {
        /// The account.
        account: Account,
        /// Its jail.
        jail: Jail,
    },
}

/// A two-command sequence in progress.
#[derive(Debug)]
pub enum Pending {
    /// Nothing.
    None,
    /// `RNFR` accepted: the next command should be `RNTO`.
    RenameFrom {
        /// Real path of the source.
        real: PathBuf,
        /// Virtual path of the source.
        virt: String,
    },
}

/// Per-connection command state.
#[derive(Debug)]
pub struct Session {
    /// Login state.
    pub login: Login,
    /// Current virtual directory.
    pub cwd: String,
    /// TYPE A (true) or TYPE I.
    pub ascii: bool,
    /// REST offset for the next transfer.
    pub restart: u64,
    /// RNFR → RNTO.
    pub pending: Pending,
    /// `EPSV ALL` was sent: only EPSV may set up data connections.
    pub epsv_all: bool,
    /// MLST facts selected with `OPTS MLST`.
    pub facts: [bool; FACTS.len()],
    /// Failed logins so far.
    pub failed_logins: u32,
    /// `PBSZ` was given on the TLS control connection (RFC 4217 §8).
    pub pbsz: bool,
    /// The data channel protection level (`PROT`).
    pub prot: Prot,
}

impl Default for Session {
    fn default() -> Session {
        Session::new()
    }
}

impl Session {
    /// A fresh session: not logged in, ASCII type (RFC 959 default), `/`.
    pub fn new() -> Session {
        Session {
            login: Login::NeedUser,
            cwd: "/".to_string(),
            ascii: true,
            restart: 0,
            pending: Pending::None,
            epsv_all: false,
            facts: [true, true, true, true, true, false],
            failed_logins: 0,
            pbsz: false,
            prot: Prot::Clear,
        }
    }

    /// The logged-in account's name.
    pub fn user(&self) -> Option<&str> {
        match &self.login {
            Login::LoggedIn { account, .. } => Some(&account.name),
            _ => None,
        }
    }

    pub(super) fn perms(&self) -> Perms {
        match &self.login {
            Login::LoggedIn { account, .. } => account.perms,
            _ => Perms::default(),
        }
    }
}

/// A reply to send instead of going on.
pub(super) type Refusal = (Code, String);

pub(super) fn vfs_refusal(e: VfsError) -> Refusal {
    let code = match e {
        VfsError::BadName => Code::FileNameNotAllowed,
        _ => Code::FileUnavailable,
    };
    (code, e.to_string())
}

/// The FEAT lines (RFC 2389); the MLST line (`""`) is built from the selected facts, and
/// the FTPS lines (RFC 4217 §6, marked `*`) are there when TLS is configured.
const FEATURES: &[&str] = &[
    "*AUTH TLS",
    "EPRT",
    "EPSV",
    "MDTM",
    "MFMT",
    "",
    "*PBSZ",
    "*PROT",
    "REST STREAM",
    "SIZE",
    "TVFS",
    "UTF8",
];

/// Verbs whose syntax takes no argument (RFC 959 §5.3.1, RFC 2389 §3): one given is a 501.
fn takes_no_argument(verb: &Verb) -> bool {
    matches!(
        verb,
        Verb::Abor
            | Verb::Cdup
            | Verb::Xcup
            | Verb::Pwd
            | Verb::Xpwd
            | Verb::Quit
            | Verb::Rein
            | Verb::Pasv
            | Verb::Feat
            | Verb::Syst
            | Verb::Noop
            | Verb::Ccc
    )
}

/// `ALLO <decimal> [R <decimal>]` (RFC 959 §5.3.1).
fn valid_allo(arg: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match arg.split(' ').collect::<Vec<_>>()[..] {
        [n] => digits(n),
        [n, r, m] => digits(n) && r.eq_ignore_ascii_case("R") && digits(m),
        _ => false,
    }
}

impl FtpConn {
    /// Answers one command.
    pub(super) fn command(&mut self, cx: &mut Context<'_, FtpTimer>, cmd: Command) {
        let Command { verb, arg } = cmd;
        // RNFR must be followed at once by RNTO.
        if verb != Verb::Rnto {
            if let Pending::RenameFrom { .. } = self.session.pending {
                self.session.pending = Pending::None;
            }
        }
        if takes_no_argument(&verb) && !arg.trim().is_empty() {
            return self.reply(
                cx,
                Code::SyntaxErrorInParameters,
                &format!("{verb} takes no argument."),
            );
        }
        // Commands allowed before login.
        match verb {
            Verb::User => return self.cmd_user(cx, &arg),
            Verb::Pass => return self.cmd_pass(cx, &arg),
            Verb::Acct => {
                return if self.session.user().is_some() {
                    self.reply(cx, Code::CommandSuperfluous, "ACCT not necessary.")
                } else {
                    self.reply(cx, Code::BadSequence, "Login with USER first.")
                }
            }
            Verb::Quit => {
                if self.transfer.is_some() {
                    self.quit_pending = true;
                    return;
                }
                self.reply(cx, Code::ServiceClosing, "Goodbye.");
                self.closing = true;
                return cx.close();
            }
            Verb::Rein => {
                if let Some(t) = self.transfer.take() {
                    for id in [t.conn, t.connecting].into_iter().flatten() {
                        cx.conn(id).abort();
                    }
                }
                self.reset_channel(cx);
                // The control connection stays as it is (TLS or not), and so its PROT.
                let old = std::mem::take(&mut self.session);
                self.session.failed_logins = old.failed_logins;
                self.session.pbsz = old.pbsz;
                self.session.prot = old.prot;
                return self.reply(cx, Code::ServiceReady, "Ready for new user.");
            }
            Verb::Syst => return self.reply(cx, Code::SystemType, "UNIX Type: L8"),
            Verb::Noop => return self.reply(cx, Code::CommandOkay, "NOOP ok."),
            Verb::Feat => return self.cmd_feat(cx),
            Verb::Help => return self.cmd_help(cx, &arg),
            Verb::Opts => return self.cmd_opts(cx, &arg),
            Verb::Abor => return self.abort(cx),
            Verb::Auth => return self.cmd_auth(cx, &arg),
            Verb::Pbsz => return self.cmd_pbsz(cx, &arg),
            Verb::Prot => return self.cmd_prot(cx, &arg),
            Verb::Ccc => return self.cmd_ccc(cx),
            Verb::Stat if arg.is_empty() => return self.cmd_status(cx),
            Verb::Unknown(_) => {
                return self.reply(cx, Code::SyntaxError, "Command not understood.")
            }
            _ => {}
        }
        if self.session.user().is_none() {
            return self.reply(cx, Code::NotLoggedIn, "Please log in with USER and PASS.");
        }
        let transfer = matches!(
            verb,
            Verb::List
                | Verb::Nlst
                | Verb::Mlsd
                | Verb::Retr
                | Verb::Stor
                | Verb::Appe
                | Verb::Stou
        );
        if transfer && self.transfer_needs_prot_p(cx) {
            self.session.restart = 0;
            return;
        }
        if let Some(perm) = Perm::required_by(&verb) {
            if !self.session.perms().has(perm) {
                if matches!(verb, Verb::Retr | Verb::Stor | Verb::Appe | Verb::Stou) {
                    self.session.restart = 0; // REST applies to the next transfer command only
                }
                return self.reply(
                    cx,
                    Code::FileUnavailable,
                    &format!("Permission denied (needs '{}').", perm.letter()),
                );
            }
        }
        let result = match verb {
            Verb::Pwd | Verb::Xpwd => {
                let text = format!(
                    "{} is the current directory.",
                    quote_path(&self.session.cwd)
                );
                Ok(single(Code::PathnameCreated, &text))
            }
            Verb::Cwd | Verb::Xcwd => self.cmd_cwd(&arg),
            Verb::Cdup | Verb::Xcup => self.cmd_cwd(".."),
            Verb::Mkd | Verb::Xmkd => self.cmd_mkd(&arg),
            Verb::Rmd | Verb::Xrmd => self.cmd_rmd(&arg),
            Verb::Dele => self.cmd_dele(&arg),
            Verb::Rnfr => self.cmd_rnfr(&arg),
            Verb::Rnto => self.cmd_rnto(&arg),
            Verb::Size => self.cmd_size(&arg),
            Verb::Mdtm => self.cmd_mdtm(&arg),
            Verb::Mfmt => self.cmd_mfmt(&arg),
            Verb::Type => self.cmd_type(&arg),
            Verb::Mode => Self::one_of(&arg, "S", "BC", "Mode"),
            Verb::Stru => Self::one_of(&arg, "F", "RP", "Structure"),
            Verb::Allo if !valid_allo(arg.trim()) => Err(refuse(
                Code::SyntaxErrorInParameters,
                "Usage: ALLO size [R record-size].",
            )),
            Verb::Allo => Ok(single(
                Code::CommandSuperfluous,
                "No storage allocation necessary.",
            )),
            Verb::Rest => self.cmd_rest(&arg),
            Verb::Stat => self.cmd_stat_path(&arg),
            Verb::Mlst => self.cmd_mlst(&arg),
            Verb::Site => self.cmd_site(&arg),
            Verb::Smnt => Ok(single(Code::CommandNotImplemented, "SMNT not implemented.")),
            Verb::Pasv => return self.cmd_pasv(cx),
            Verb::Epsv => return self.cmd_epsv(cx, &arg),
            Verb::Port => return self.cmd_port(cx, &arg),
            Verb::Eprt => return self.cmd_eprt(cx, &arg),
            Verb::List | Verb::Nlst | Verb::Mlsd => self.cmd_listing(&verb, &arg),
            Verb::Retr => self.cmd_retr(&arg),
            Verb::Stor | Verb::Appe | Verb::Stou => self.cmd_store(&verb, &arg),
            _ => Ok(single(
                Code::CommandNotImplemented,
                "Command not implemented.",
            )),
        };
        match result {
            Ok(reply) => cx.write(reply),
            Err(Step::Refuse((code, text))) => self.reply(cx, code, &text),
            Err(Step::Transfer(mut t)) => {
                self.session.restart = 0;
                if !matches!(t.job, super::data::Job::SendBuffer(_)) {
                    t.logged = Some(Box::new(super::xferlog::XferStart {
                        path: super::vfs::normalize(&self.session.cwd, &arg),
                        at: cx.now(),
                    }));
                }
                self.begin_transfer(cx, *t)
            }
        }
    }

    // ---- login ---------------------------------------------------------------------------

    fn cmd_user(&mut self, cx: &mut Context<'_, FtpTimer>, arg: &str) {
        if self.login_needs_tls(cx) {
            return;
        }
        if arg.is_empty() {
            return self.reply(cx, Code::SyntaxErrorInParameters, "USER needs a name.");
        }
        self.session.login = Login::NeedPassword {
            user: arg.to_string(),
        };
        self.session.cwd = "/".to_string();
        if is_anonymous_name(arg) {
            self.reply(
                cx,
                Code::UserNameOkay,
                "Guest login ok, send your e-mail address as password.",
            )
        } else {
            self.reply(cx, Code::UserNameOkay, "Username ok, send password.")
        }
    }

    fn cmd_pass(&mut self, cx: &mut Context<'_, FtpTimer>, arg: &str) {
        if self.login_needs_tls(cx) {
            return;
        }
        let user = match &self.session.login {
            Login::NeedPassword { user } => user.clone(),
            Login::LoggedIn { .. } => {
                return self.reply(cx, Code::BadSequence, "Already logged in.");
            }
            Login::NeedUser => return self.reply(cx, Code::BadSequence, "Login with USER first."),
        };
        let account = self.shared.config.users.authenticate(&user, arg);
        let show_hidden = self.shared.config.show_hidden;
        let jail = account
            .as_ref()
            .map(|a| Jail::new(&a.home).map(|j| j.show_hidden(show_hidden)));
        match (account, jail) {
            (Some(account), Some(Ok(jail))) => {
                tracing::debug!(user = %account.name, "ftp: logged in");
                self.session.login = Login::LoggedIn { account, jail };
                self.session.cwd = "/".to_string();
                self.reply(cx, Code::UserLoggedIn, "Login successful.")
            }
            (Some(account), _) => {
                tracing::warn!(home = ?account.home, "ftp: home directory unavailable");
                self.session.login = Login::NeedUser;
                self.reply(cx, Code::NotLoggedIn, "Home directory unavailable.")
            }
            (None, _) => {
                tracing::info!(%user, "ftp: failed login");
                self.session.login = Login::NeedUser;
                self.session.failed_logins += 1;
                // The 530 goes out when the delay timer fires; commands wait meanwhile.
                self.login_delayed = true;
                cx.set_timer(self.shared.config.login_delay, FtpTimer::Login);
            }
        }
    }

    pub(super) fn on_login_delay_done(&mut self, cx: &mut Context<'_, FtpTimer>) {
        if !self.login_delayed {
            return;
        }
        self.login_delayed = false;
        if self.session.failed_logins >= self.shared.config.max_login_attempts {
            self.reply(cx, Code::NotLoggedIn, "Login incorrect.");
            return self.close_with(cx, "Too many failed logins.");
        }
        self.reply(cx, Code::NotLoggedIn, "Login incorrect.");
        self.drain_queue(cx);
    }

    // ---- informational -------------------------------------------------------------------

    fn cmd_help(&mut self, cx: &mut Context<'_, FtpTimer>, arg: &str) {
        if arg.is_empty() {
            let lines: Vec<String> = Verb::ALL.chunks(8).map(|c| c.join(" ")).collect();
            return cx.write(multi(
                Code::HelpMessage,
                "The following commands are recognized:",
                lines,
                "Help OK.",
            ));
        }
        let name = arg.trim().to_ascii_uppercase();
        if Verb::ALL.contains(&name.as_str()) {
            self.reply(
                cx,
                Code::HelpMessage,
                &format!("Syntax: {name} (see RFC 959)."),
            )
        } else {
            self.reply(cx, Code::SyntaxErrorInParameters, "Unknown command.")
        }
    }

    fn cmd_opts(&mut self, cx: &mut Context<'_, FtpTimer>, arg: &str) {
        let (name, value) = arg.split_once(' ').unwrap_or((arg, ""));
        if name.eq_ignore_ascii_case("UTF8") || name.eq_ignore_ascii_case("UTF-8") {
            if value.trim().eq_ignore_ascii_case("ON") || value.trim().is_empty() {
                return self.reply(cx, Code::CommandOkay, "Always in UTF8 mode.");
            }
            return self.reply(cx, Code::NotImplementedForParameter, "UTF8 is always on.");
        }
        if name.eq_ignore_ascii_case("MLST") {
            // RFC 3659 §7.9: `OPTS MLST [factname;...]`; each fact ends with `;`.
            let value = value.trim();
            if !value.is_empty() && (!value.ends_with(';') || value.contains(' ')) {
                return self.reply(cx, Code::SyntaxErrorInParameters, "Invalid MLST facts.");
            }
            let wanted: Vec<String> = value
                .split(';')
                .filter(|f| !f.is_empty())
                .map(|f| f.to_ascii_lowercase())
                .collect();
            let mut chosen = Vec::new();
            for (i, fact) in FACTS.iter().enumerate() {
                self.session.facts[i] = wanted.iter().any(|w| w == fact);
                if self.session.facts[i] {
                    chosen.push(format!("{fact};"));
                }
            }
            return self.reply(
                cx,
                Code::CommandOkay,
                &format!("MLST OPTS {}", chosen.concat()),
            );
        }
        self.reply(cx, Code::SyntaxErrorInParameters, "Invalid OPTS.")
    }

    /// FEAT (RFC 2389): the MLST line marks the facts selected now with `*` (RFC 3659 §7.8).
    fn cmd_feat(&mut self, cx: &mut Context<'_, FtpTimer>) {
        let mut mlst = String::from("MLST ");
        for (fact, on) in FACTS.iter().zip(self.session.facts) {
            mlst.push_str(fact);
            if on {
                mlst.push('*');
            }
            mlst.push(';');
        }
        let tls = self.tls_offered();
        let lines = FEATURES.iter().filter_map(|f| match f.strip_prefix('*') {
            Some(ftps) => tls.then_some(ftps),
            None if f.is_empty() => Some(mlst.as_str()),
            None => Some(f),
        });
        cx.write(multi(Code::SystemStatus, "Features:", lines, "End"));
    }

    fn cmd_status(&mut self, cx: &mut Context<'_, FtpTimer>) {
        let mut lines = vec![format!(
            "Connected from {}",
            cx.peer_addr()
                .map_or("?".to_string(), |a| a.ip().to_string())
        )];
        match self.session.user() {
            Some(u) => lines.push(format!("Logged in as {u}")),
            None => lines.push("Not logged in".to_string()),
        }
        lines.push(format!(
            "TYPE: {}; STRUcture: File; transfer MODE: Stream",
            if self.session.ascii {
                "ASCII"
            } else {
                "BINARY"
            }
        ));
        if cx.is_tls() {
            let prot = match self.session.prot {
                Prot::Private => "Private",
                Prot::Clear => "Clear",
            };
            lines.push(format!("Control connection: TLS; data protection: {prot}"));
        }
        lines.push(if self.transfer.is_some() {
            "Data connection: transfer in progress".to_string()
        } else {
            "Data connection: idle".to_string()
        });
        cx.write(multi(
            Code::SystemStatus,
            "FTP server status:",
            lines,
            "End of status.",
        ));
    }

    fn cmd_type(&mut self, arg: &str) -> Result<Bytes, Step> {
        let words: Vec<String> = arg
            .split_whitespace()
            .map(|w| w.to_ascii_uppercase())
            .collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        match words[..] {
            ["A"] | ["A", "N"] => {
                self.session.ascii = true;
                Ok(single(Code::CommandOkay, "Type set to: ASCII."))
            }
            ["I"] | ["L", "8"] => {
                self.session.ascii = false;
                Ok(single(Code::CommandOkay, "Type set to: Binary."))
            }
            ["A", "T" | "C"] | ["E", ..] | ["L", _] => Err(refuse(
                Code::NotImplementedForParameter,
                "Type not implemented for that parameter.",
            )),
            _ => Err(refuse(Code::SyntaxErrorInParameters, "Unknown type.")),
        }
    }

    fn one_of(arg: &str, ok: &str, unsupported: &str, what: &str) -> Result<Bytes, Step> {
        let a = arg.trim().to_ascii_uppercase();
        if a == ok {
            Ok(single(Code::CommandOkay, &format!("{what} set to {ok}.")))
        } else if a.len() == 1 && unsupported.contains(a.as_str()) {
            Err(refuse(
                Code::NotImplementedForParameter,
                &format!("{what} {a} not implemented."),
            ))
        } else {
            Err(refuse(
                Code::SyntaxErrorInParameters,
                &format!("Unknown {what}."),
            ))
        }
    }

    fn cmd_rest(&mut self, arg: &str) -> Result<Bytes, Step> {
        let a = arg.trim();
        if a.is_empty() || !a.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse(
                Code::SyntaxErrorInParameters,
                "Invalid REST parameter.",
            ));
        }
        let n: u64 = a
            .parse()
            .map_err(|_| refuse(Code::SyntaxErrorInParameters, "Invalid REST parameter."))?;
        self.session.restart = n;
        Ok(single(
            Code::FileActionPending,
            &format!("Restarting at {n}. Send STORE or RETRIEVE to initiate transfer."),
        ))
    }

    // ---- data channel set-up -------------------------------------------------------------

    fn cmd_pasv(&mut self, cx: &mut Context<'_, FtpTimer>) {
        if self.session.epsv_all {
            return self.reply(
                cx,
                Code::BadSequence,
                "Only EPSV is allowed after EPSV ALL.",
            );
        }
        if !matches!(cx.local_addr().map(unmapped), Some(SocketAddr::V4(_))) {
            return self.reply(
                cx,
                Code::CantOpenDataConnection,
                "PASV works on IPv4 only; use EPSV.",
            );
        }
        match self.open_passive(cx) {
            Ok(SocketAddr::V4(mut a)) => {
                if let Some(ip) = self.shared.config.masquerade {
                    a.set_ip(ip);
                }
                self.reply(cx, Code::EnteringPassiveMode, &format_pasv(a))
            }
            Ok(SocketAddr::V6(_)) => {
                self.reply(cx, Code::CantOpenDataConnection, "PASV works on IPv4 only.")
            }
            Err(text) => self.reply(cx, Code::CantOpenDataConnection, &text),
        }
    }

    fn cmd_epsv(&mut self, cx: &mut Context<'_, FtpTimer>, arg: &str) {
        let family = match cx.local_addr().map(unmapped) {
            Some(SocketAddr::V6(_)) => 2,
            _ => 1,
        };
        match parse_epsv(arg) {
            Ok(EpsvArg::All) => {
                self.session.epsv_all = true;
                return self.reply(cx, Code::CommandOkay, "EPSV ALL ok.");
            }
            Ok(EpsvArg::Protocol(p)) if p != family => {
                return self.reply(
                    cx,
                    Code::NetworkProtocolNotSupported,
                    &format!("Network protocol not supported, use ({family})"),
                )
            }
            Ok(_) => {}
            Err(AddrError::UnsupportedProtocol) => {
                return self.reply(
                    cx,
                    Code::NetworkProtocolNotSupported,
                    &format!("Network protocol not supported, use ({family})"),
                )
            }
            Err(AddrError::Syntax) => {
                return self.reply(cx, Code::SyntaxErrorInParameters, "Invalid EPSV argument.")
            }
        }
        match self.open_passive(cx) {
            Ok(a) => self.reply(
                cx,
                Code::EnteringExtendedPassiveMode,
                &format_epsv(a.port()),
            ),
            Err(text) => self.reply(cx, Code::CantOpenDataConnection, &text),
        }
    }

    fn cmd_port(&mut self, cx: &mut Context<'_, FtpTimer>, arg: &str) {
        if self.session.epsv_all {
            return self.reply(
                cx,
                Code::BadSequence,
                "Only EPSV is allowed after EPSV ALL.",
            );
        }
        match parse_port(arg) {
            Ok(a) => self.active(cx, SocketAddr::V4(a), "PORT"),
            Err(_) => self.reply(cx, Code::SyntaxErrorInParameters, "Invalid PORT argument."),
        }
    }

    fn cmd_eprt(&mut self, cx: &mut Context<'_, FtpTimer>, arg: &str) {
        if self.session.epsv_all {
            return self.reply(
                cx,
                Code::BadSequence,
                "Only EPSV is allowed after EPSV ALL.",
            );
        }
        match parse_eprt(arg) {
            Ok(a) => self.active(cx, a, "EPRT"),
            Err(AddrError::UnsupportedProtocol) => self.reply(
                cx,
                Code::NetworkProtocolNotSupported,
                "Network protocol not supported, use (1,2)",
            ),
            Err(AddrError::Syntax) => {
                self.reply(cx, Code::SyntaxErrorInParameters, "Invalid EPRT argument.")
            }
        }
    }

    fn active(&mut self, cx: &mut Context<'_, FtpTimer>, addr: SocketAddr, verb: &str) {
        match self.set_active(cx, addr) {
            Ok(()) => self.reply(
                cx,
                Code::CommandOkay,
                &format!("{verb} command successful."),
            ),
            Err(ActiveRefusal::ForeignAddress) => {
                tracing::warn!(%addr, "ftp: bounce attempt refused");
                self.reply(
                    cx,
                    Code::SyntaxErrorInParameters,
                    "Rejected data connection to a foreign address.",
                )
            }
            Err(ActiveRefusal::PrivilegedPort) => self.reply(
                cx,
                Code::NotImplementedForParameter,
                "Rejected data connection to a privileged port.",
            ),
        }
    }
}

/// What a command handler does instead of a plain reply.
pub(super) enum Step {
    /// Send this error reply.
    Refuse(Refusal),
    /// Start this transfer.
    Transfer(Box<Transfer>),
}

pub(super) fn refuse(code: Code, text: &str) -> Step {
    Step::Refuse((code, text.to_string()))
}

pub(super) fn io_refusal(e: std::io::Error) -> Step {
    Step::Refuse(vfs_refusal(VfsError::Io(e)))
}
