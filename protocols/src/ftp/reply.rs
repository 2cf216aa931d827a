//! FTP replies (RFC 959 §4.2): three-digit codes named as the RFC names them, single-line
//! and multi-line forms.
//!
//! ```
//! use netreactor_protocols::ftp::reply::{Code, multi, single};
//!
//! assert_eq!(&single(Code::CommandOkay, "NOOP ok.")[..], b"200 NOOP ok.\r\n");
//! assert_eq!(
//!     &multi(Code::SystemStatus, "Features:", ["UTF8"], "End")[..],
//!     b"211-Features:\r\n UTF8\r\n211 End\r\n"
//! );
//! ```

use bytes::Bytes;

/// A reply code, named after RFC 959 §4.2.2 (and RFC 2428, 3659 for 229, 522, 554; RFC 2228
/// and 4217 for the security replies 234, 431, 521, 534, 536).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum Code {
    /// 110 Restart marker reply.
    RestartMarker = 110,
    /// 125 Data connection already open; transfer starting.
    DataConnectionAlreadyOpen = 125,
    /// 150 File status okay; about to open data connection.
    FileStatusOkay = 150,
    /// 200 Command okay.
    CommandOkay = 200,
    /// 202 Command not implemented, superfluous at this site.
    CommandSuperfluous = 202,
    /// 211 System status, or system help reply.
    SystemStatus = 211,
    /// 212 Directory status.
    DirectoryStatus = 212,
    /// 213 File status.
    FileStatus = 213,
    /// 214 Help message.
    HelpMessage = 214,
    /// 215 NAME system type.
    SystemType = 215,
    /// 220 Service ready for new user.
    ServiceReady = 220,
    /// 221 Service closing control connection.
    ServiceClosing = 221,
    /// 225 Data connection open; no transfer in progress.
    DataConnectionOpen = 225,
    /// 226 Closing data connection; requested file action successful.
    ClosingDataConnection = 226,
    /// 227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).
    EnteringPassiveMode = 227,
    /// 229 Entering Extended Passive Mode (|||port|) (RFC 2428).
    EnteringExtendedPassiveMode = 229,
    /// 230 User logged in, proceed.
    UserLoggedIn = 230,
    /// 234 Security data exchange complete: `AUTH TLS` accepted, TLS follows (RFC 2228).
    SecurityExchangeComplete = 234,
    /// 250 Requested file action okay, completed.
    FileActionOkay = 250,
    /// 257 "PATHNAME" created.
    PathnameCreated = 257,
    /// 331 User name okay, need password.
    UserNameOkay = 331,
    /// 332 Need account for login.
    NeedAccount = 332,
    /// 350 Requested file action pending further information.
    FileActionPending = 350,
    /// 421 Service not available, closing control connection.
    ServiceNotAvailable = 421,
    /// 425 Can't open data connection.
    CantOpenDataConnection = 425,
    /// 426 Connection closed; transfer aborted.
    TransferAborted = 426,
    /// 431 Need some unavailable resource to process security (RFC 2228): TLS could not
    /// start.
    SecurityUnavailable = 431,
    /// 450 Requested file action not taken (file unavailable, busy).
    FileActionNotTaken = 450,
    /// 451 Requested action aborted: local error in processing.
    LocalError = 451,
    /// 452 Requested action not taken: insufficient storage space.
    InsufficientStorage = 452,
    /// 500 Syntax error, command unrecognized.
    SyntaxError = 500,
    /// 501 Syntax error in parameters or arguments.
    SyntaxErrorInParameters = 501,
    /// 502 Command not implemented.
    CommandNotImplemented = 502,
    /// 503 Bad sequence of commands.
    BadSequence = 503,
    /// 504 Command not implemented for that parameter.
    NotImplementedForParameter = 504,
    /// 521 Data connection cannot be opened with this PROT setting (RFC 4217): the server
    /// requires `PROT P`.
    ProtSettingRefused = 521,
    /// 522 Network protocol not supported (RFC 2428). The same number answers a data
    /// connection whose TLS failed or did not resume the control session
    /// ([`Code::DATA_TLS_FAILED`]).
    NetworkProtocolNotSupported = 522,
    /// 530 Not logged in.
    NotLoggedIn = 530,
    /// 534 Request denied for policy reasons (RFC 2228): `CCC`.
    DeniedForPolicy = 534,
    /// 536 Requested PROT level not supported by mechanism (RFC 2228): `PROT S`, `PROT E`.
    ProtLevelNotSupported = 536,
    /// 550 Requested action not taken: file unavailable (not found, no access).
    FileUnavailable = 550,
    /// 552 Requested file action aborted: exceeded storage allocation.
    ExceededStorage = 552,
    /// 553 Requested action not taken: file name not allowed.
    FileNameNotAllowed = 553,
    /// 554 Requested action not taken: invalid REST parameter (RFC 3659 §5.4).
    InvalidRestParameter = 554,
}

impl Code {
    /// 522 as FTPS servers answer it (vsftpd's `SSL connection failed`): the data
    /// connection's TLS handshake failed, or it did not resume the control connection's
    /// session where that is required. The number RFC 2428 also uses.
    pub const DATA_TLS_FAILED: Code = Code::NetworkProtocolNotSupported;

    /// The numeric code.
    pub fn number(self) -> u16 {
        self as u16
    }
}

/// Replaces line breaks so a path or message can never forge a reply line.
fn clean(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\r', '\n']) {
        text.replace(['\r', '\n'], " ").into()
    } else {
        text.into()
    }
}

/// A single-line reply: `CODE text\r\n`.
pub fn single(code: Code, text: &str) -> Bytes {
    Bytes::from(format!("{} {}\r\n", code.number(), clean(text)))
}

/// A multi-line reply (RFC 959 §4.2): `CODE-first`, each middle line indented by one space
/// (so none can look like an end line), then `CODE last`.
pub fn multi<I, S>(code: Code, first: &str, lines: I, last: &str) -> Bytes
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let n = code.number();
    let mut out = format!("{n}-{}\r\n", clean(first));
    for l in lines {
        out.push(' ');
        out.push_str(&clean(l.as_ref()));
        out.push_str("\r\n");
    }
    out.push_str(&format!("{n} {}\r\n", clean(last)));
    Bytes::from(out)
}

/// The middle lines of a multi-line reply, formatted as [`multi`] formats them (indented by
/// one space, line breaks inside replaced), to keep and send again with [`multi_around`].
pub fn multi_body<I, S>(lines: I) -> Bytes
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = String::new();
    for l in lines {
        out.push(' ');
        out.push_str(&clean(l.as_ref()));
        out.push_str("\r\n");
    }
    Bytes::from(out)
}

/// A multi-line reply around middle lines made by [`multi_body`].
pub fn multi_around(code: Code, first: &str, body: &[u8], last: &str) -> Bytes {
    let n = code.number();
    let head = format!("{n}-{}\r\n", clean(first));
    let tail = format!("{n} {}\r\n", clean(last));
    let mut out = Vec::with_capacity(head.len() + body.len() + tail.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(tail.as_bytes());
    Bytes::from(out)
}

/// Quotes a path for a 257 reply: embedded `"` are doubled (RFC 959 Appendix II).
pub fn quote_path(path: &str) -> String {
    format!("\"{}\"", path.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_in_text_cannot_forge_replies() {
        assert_eq!(
            &single(Code::FileUnavailable, "a\r\n230 ok")[..],
            b"550 a  230 ok\r\n"
        );
    }

    #[test]
    fn quotes_in_paths_are_doubled() {
        assert_eq!(quote_path("/a\"b"), "\"/a\"\"b\"");
    }

    #[test]
    fn a_kept_body_makes_the_same_reply_as_multi() {
        let lines = ["a", "b\r\nc"];
        let body = multi_body(lines);
        assert_eq!(
            multi_around(Code::FileStatus, "x\r", &body, "End."),
            multi(Code::FileStatus, "x\r", lines, "End.")
        );
    }

    #[test]
    fn multi_line_middle_lines_are_indented() {
        let r = multi(
            Code::HelpMessage,
            "Commands:",
            ["USER PASS", "211 x"],
            "Help OK.",
        );
        assert_eq!(
            &r[..],
            b"214-Commands:\r\n USER PASS\r\n 211 x\r\n214 Help OK.\r\n"
        );
    }
}
