//! Sans-IO parsing of the FTP control channel: command lines and data-port addresses.
//!
//! * [`LineReader`] splits the control stream into command lines. It strips Telnet `IAC`
//!   sequences (RFC 959 §4.1.1 says the control connection follows the Telnet protocol),
//!   accepts `CRLF` and — tolerantly — a bare `LF` as the end of a line, turns the Telnet
//!   `CR NUL` escape back into a `CR` inside a path, and caps a line at [`MAX_LINE`] bytes:
//!   an overlong line is reported once ([`LineEvent::TooLong`], answered with 500) and the
//!   reader resynchronises at the next line end. A `CR` not followed by `LF` never ends a
//!   line.
//! * [`parse_command`] splits a line into a [`Verb`] and its argument (UTF-8, RFC 2640).
//! * [`parse_port`], [`parse_eprt`], [`format_pasv`], [`format_epsv`] handle the data-port
//!   addresses of RFC 959 (`h1,h2,h3,h4,p1,p2`) and RFC 2428 (`|1|addr|port|`).
//!
//! ```
//! use bytes::BytesMut;
//! use netreactor_protocols::ftp::parse::{parse_command, LineEvent, LineReader, Verb};
//!
//! let mut reader = LineReader::new();
//! let mut input = BytesMut::from(&b"USER foo\r\nPA"[..]);
//! let Some(LineEvent::Line(line)) = reader.next(&mut input) else { panic!() };
//! let cmd = parse_command(&line).unwrap();
//! assert_eq!((cmd.verb, cmd.arg.as_str()), (Verb::User, "foo"));
//! assert!(reader.next(&mut input).is_none()); // "PA" waits for the rest
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

use bytes::{Buf, BytesMut};

/// Longest command line accepted, terminator excluded (paths up to `PATH_MAX` fit).
pub const MAX_LINE: usize = 4096;

/// Telnet "interpret as command".
const IAC: u8 = 255;
/// Telnet option negotiation verbs (WILL, WONT, DO, DONT) take one option byte.
const WILL: u8 = 251;
const DONT: u8 = 254;
/// Telnet command bytes start here; an `IAC` followed by a lower byte is not a command.
const FIRST_COMMAND: u8 = 240;

/// One result of [`LineReader::next`].
#[derive(Debug, PartialEq, Eq)]
pub enum LineEvent {
    /// A complete line, terminator and Telnet sequences removed.
    Line(Vec<u8>),
    /// A line longer than [`MAX_LINE`] was discarded (answer 500).
    TooLong,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Telnet {
    Data,
    /// After `IAC`.
    Iac,
    /// After `IAC WILL|WONT|DO|DONT`: the option byte is dropped.
    Option,
    /// After a `CR` inside a line.
    Cr,
}

/// Incremental splitter of the control stream into lines. See the [module docs](self).
#[derive(Debug)]
pub struct LineReader {
    line: Vec<u8>,
    state: Telnet,
    overlong: bool,
}

impl Default for LineReader {
    fn default() -> LineReader {
        LineReader::new()
    }
}

impl LineReader {
    /// A reader at the start of a line.
    pub fn new() -> LineReader {
        LineReader {
            line: Vec::new(),
            state: Telnet::Data,
            overlong: false,
        }
    }

    /// Consumes bytes of `input` up to and including the next line end and returns that line;
    /// `None` once `input` is exhausted (partial lines are kept inside the reader, so `input`
    /// is always fully consumed then).
    pub fn next(&mut self, input: &mut BytesMut) -> Option<LineEvent> {
        let bytes = &input[..];
        let mut used = 0;
        let mut event = None;
        while used < bytes.len() {
            if self.state == Telnet::Data {
                // Fast path: copy the run up to the next byte that matters.
                let rest = &bytes[used..];
                let run = memchr::memchr3(IAC, b'\r', b'\n', rest).unwrap_or(rest.len());
                self.extend(&rest[..run]);
                used += run;
                if used == bytes.len() {
                    break;
                }
            }
            let b = bytes[used];
            used += 1;
            if let Some(e) = self.step(b) {
                event = Some(e);
                break;
            }
        }
        input.advance(used);
        event
    }

    /// One byte through the Telnet/line state machine.
    fn step(&mut self, b: u8) -> Option<LineEvent> {
        match self.state {
            Telnet::Iac => {
                self.state = Telnet::Data;
                if b == IAC {
                    self.push(IAC);
                } else if (WILL..=DONT).contains(&b) {
                    self.state = Telnet::Option;
                } else if b < FIRST_COMMAND {
                    // A stray IAC before an ordinary byte (ftplib sends `IAC IP IAC` in
                    // band and the `DM` out of band before `ABOR`): keep the byte.
                    return self.byte(b);
                }
                None
            }
            Telnet::Option => {
                self.state = Telnet::Data;
                None
            }
            Telnet::Cr => {
                self.state = Telnet::Data;
                match b {
                    b'\n' => Some(self.finish()),
                    0 => {
                        self.push(b'\r');
                        None
                    }
                    IAC => {
                        self.push(b'\r');
                        self.state = Telnet::Iac;
                        None
                    }
                    _ => {
                        self.push(b'\r');
                        self.byte(b)
                    }
                }
            }
            Telnet::Data => {
                if b == IAC {
                    self.state = Telnet::Iac;
                    None
                } else {
                    self.byte(b)
                }
            }
        }
    }

    /// Appends ordinary bytes, switching to discard mode past [`MAX_LINE`].
    fn extend(&mut self, run: &[u8]) {
        if run.is_empty() || self.overlong {
            return;
        }
        if self.line.len() + run.len() > MAX_LINE {
            self.overlong = true;
            self.line = Vec::new();
        } else {
            self.line.extend_from_slice(run);
        }
    }

    /// One data byte in `Data` state.
    fn byte(&mut self, b: u8) -> Option<LineEvent> {
        match b {
            b'\r' => {
                self.state = Telnet::Cr;
                None
            }
            b'\n' => Some(self.finish()),
            _ => {
                self.push(b);
                None
            }
        }
    }

    fn push(&mut self, b: u8) {
        if self.line.len() >= MAX_LINE {
            self.overlong = true;
            self.line.clear();
        } else if !self.overlong {
            self.line.push(b);
        }
    }

    fn finish(&mut self) -> LineEvent {
        self.state = Telnet::Data;
        if std::mem::take(&mut self.overlong) {
            self.line.clear();
            LineEvent::TooLong
        } else {
            LineEvent::Line(std::mem::take(&mut self.line))
        }
    }

    /// Bytes of a partial line held (bounded by [`MAX_LINE`]).
    pub fn pending(&self) -> usize {
        self.line.len()
    }
}

macro_rules! verbs {
    ($($variant:ident = $name:literal),* $(,)?) => {
        /// A command verb (RFC 959, 2389, 2428, 3659, the security commands of RFC 2228 as
        /// RFC 4217 uses them, plus `MFMT` and `SITE`).
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Verb {
            $(#[doc = concat!("`", $name, "`")] $variant,)*
            /// Any other verb (answered with 500), upper-cased.
            Unknown(String),
        }

        impl Verb {
            /// Looks up an upper-case verb.
            pub fn from_name(name: &str) -> Verb {
                match name {
                    $($name => Verb::$variant,)*
                    _ => Verb::Unknown(name.to_string()),
                }
            }

            /// The verb as sent on the wire.
            pub fn name(&self) -> &str {
                match self {
                    $(Verb::$variant => $name,)*
                    Verb::Unknown(s) => s,
                }
            }

            /// Every known verb, for HELP.
            pub const ALL: &'static [&'static str] = &[$($name),*];
        }
    };
}

verbs! {
    User = "USER", Pass = "PASS", Acct = "ACCT", Quit = "QUIT", Rein = "REIN", Syst = "SYST",
    Noop = "NOOP", Help = "HELP", Stat = "STAT", Feat = "FEAT", Opts = "OPTS", Pwd = "PWD",
    Xpwd = "XPWD", Cwd = "CWD", Xcwd = "XCWD", Cdup = "CDUP", Xcup = "XCUP", Mkd = "MKD",
    Xmkd = "XMKD", Rmd = "RMD", Xrmd = "XRMD", Dele = "DELE", Rnfr = "RNFR", Rnto = "RNTO",
    Size = "SIZE", Mdtm = "MDTM", Mfmt = "MFMT", Type = "TYPE", Mode = "MODE", Stru = "STRU",
    Allo = "ALLO", Pasv = "PASV", Epsv = "EPSV", Port = "PORT", Eprt = "EPRT", List = "LIST",
    Nlst = "NLST", Mlsd = "MLSD", Mlst = "MLST", Retr = "RETR", Stor = "STOR", Stou = "STOU",
    Appe = "APPE", Rest = "REST", Abor = "ABOR", Site = "SITE", Auth = "AUTH", Smnt = "SMNT",
    Pbsz = "PBSZ", Prot = "PROT", Ccc = "CCC",
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The verb, upper-cased.
    pub verb: Verb,
    /// Everything after the first space (may contain spaces; empty when absent).
    pub arg: String,
}

/// Why a command line is not a command (all answered in the 500 series).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandError {
    /// Empty line or a verb that is not 3–4 ASCII letters: 500.
    BadVerb,
    /// The argument is not UTF-8 (RFC 2640): 501.
    NotUtf8,
}

/// Splits `line` into a verb (case-insensitive, 3–4 ASCII letters) and its argument.
pub fn parse_command(line: &[u8]) -> Result<Command, CommandError> {
    let (verb, arg) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &[][..]),
    };
    if !(3..=4).contains(&verb.len()) || !verb.iter().all(u8::is_ascii_alphabetic) {
        return Err(CommandError::BadVerb);
    }
    let mut up = [0u8; 4];
    for (d, s) in up.iter_mut().zip(verb) {
        *d = s.to_ascii_uppercase();
    }
    // ASCII letters only (checked above), so this is valid UTF-8.
    let upper = std::str::from_utf8(&up[..verb.len()]).map_err(|_| CommandError::BadVerb)?;
    let arg = std::str::from_utf8(arg).map_err(|_| CommandError::NotUtf8)?;
    Ok(Command {
        verb: Verb::from_name(upper),
        arg: arg.to_string(),
    })
}

/// Why a PORT/EPRT argument was rejected (501, or 522 for an unknown network protocol).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrError {
    /// Malformed argument: 501.
    Syntax,
    /// EPRT names a protocol other than 1 (IPv4) or 2 (IPv6): 522.
    UnsupportedProtocol,
}

/// Parses a PORT argument `h1,h2,h3,h4,p1,p2` (RFC 959 §4.1.2).
pub fn parse_port(arg: &str) -> Result<SocketAddrV4, AddrError> {
    let mut n = [0u8; 6];
    let mut parts = arg.trim().split(',');
    for slot in n.iter_mut() {
        let p = parts.next().ok_or(AddrError::Syntax)?.trim();
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AddrError::Syntax);
        }
        *slot = p.parse().map_err(|_| AddrError::Syntax)?;
    }
    if parts.next().is_some() {
        return Err(AddrError::Syntax);
    }
    Ok(SocketAddrV4::new(
        Ipv4Addr::new(n[0], n[1], n[2], n[3]),
        u16::from_be_bytes([n[4], n[5]]),
    ))
}

/// Parses an EPRT argument `<d>proto<d>addr<d>port<d>` (RFC 2428 §2); the delimiter is any
/// printable ASCII byte.
pub fn parse_eprt(arg: &str) -> Result<SocketAddr, AddrError> {
    let arg = arg.trim();
    let d = arg.chars().next().ok_or(AddrError::Syntax)?;
    if !(33..=126).contains(&(d as u32)) || d.is_ascii_digit() {
        return Err(AddrError::Syntax);
    }
    let fields: Vec<&str> = arg.split(d).collect();
    // "" proto addr port "" — five pieces exactly.
    if fields.len() != 5 || !fields[0].is_empty() || !fields[4].is_empty() {
        return Err(AddrError::Syntax);
    }
    let ip: IpAddr = match fields[1] {
        "1" => IpAddr::V4(fields[2].parse().map_err(|_| AddrError::Syntax)?),
        "2" => IpAddr::V6(fields[2].parse().map_err(|_| AddrError::Syntax)?),
        p if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(AddrError::UnsupportedProtocol)
        }
        _ => return Err(AddrError::Syntax),
    };
    let port = fields[3];
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AddrError::Syntax);
    }
    let port: u16 = port.parse().map_err(|_| AddrError::Syntax)?;
    Ok(SocketAddr::new(ip, port))
}

/// The EPSV argument (RFC 2428 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpsvArg {
    /// No argument: the control connection's protocol.
    Default,
    /// `1` or `2`: that network protocol.
    Protocol(u8),
    /// `ALL`: from now on only EPSV may set up data connections.
    All,
}

/// Parses an EPSV argument.
pub fn parse_epsv(arg: &str) -> Result<EpsvArg, AddrError> {
    match arg.trim() {
        "" => Ok(EpsvArg::Default),
        "1" => Ok(EpsvArg::Protocol(1)),
        "2" => Ok(EpsvArg::Protocol(2)),
        a if a.eq_ignore_ascii_case("ALL") => Ok(EpsvArg::All),
        a if !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()) => {
            Err(AddrError::UnsupportedProtocol)
        }
        _ => Err(AddrError::Syntax),
    }
}

/// The text of a 227 reply: `Entering Passive Mode (h1,h2,h3,h4,p1,p2).`
pub fn format_pasv(addr: SocketAddrV4) -> String {
    let [a, b, c, d] = addr.ip().octets();
    let [p1, p2] = addr.port().to_be_bytes();
    format!("Entering Passive Mode ({a},{b},{c},{d},{p1},{p2}).")
}

/// The text of a 229 reply: `Entering Extended Passive Mode (|||port|)`.
pub fn format_epsv(port: u16) -> String {
    format!("Entering Extended Passive Mode (|||{port}|)")
}

/// Formats an address as an EPRT argument (the client side; used by tests and fuzzing).
pub fn format_eprt(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("|1|{}|{}|", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("|2|{}|{}|", a.ip(), a.port()),
    }
}

/// Formats an IPv4 address as a PORT argument.
pub fn format_port(addr: SocketAddrV4) -> String {
    let s = format_pasv(addr);
    let start = s.find('(').unwrap_or(0) + 1;
    s[start..s.len() - 2].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(reader: &mut LineReader, bytes: &[u8]) -> Vec<LineEvent> {
        let mut input = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(e) = reader.next(&mut input) {
            out.push(e);
        }
        assert!(
            input.is_empty(),
            "the reader consumes everything it is given"
        );
        out
    }

    fn line(s: &[u8]) -> LineEvent {
        LineEvent::Line(s.to_vec())
    }

    #[test]
    fn crlf_and_bare_lf_both_end_a_line() {
        let mut r = LineReader::new();
        assert_eq!(
            lines(&mut r, b"NOOP\r\nSYST\nPWD\r\n"),
            vec![line(b"NOOP"), line(b"SYST"), line(b"PWD")]
        );
    }

    #[test]
    fn cr_without_lf_does_not_end_a_line() {
        let mut r = LineReader::new();
        assert!(lines(&mut r, b"NOOP\r").is_empty());
        assert!(lines(&mut r, b"X").is_empty());
        assert_eq!(lines(&mut r, b"\r\n"), vec![line(b"NOOP\rX")]);
    }

    #[test]
    fn cr_nul_is_a_carriage_return_in_a_path() {
        let mut r = LineReader::new();
        assert_eq!(lines(&mut r, b"RETR a\r\0b\r\n"), vec![line(b"RETR a\rb")]);
    }

    #[test]
    fn lines_split_at_every_byte_reassemble() {
        let wire = b"USER foo\r\nPASS bar\r\n";
        let mut r = LineReader::new();
        let mut out = Vec::new();
        for b in wire.iter() {
            out.extend(lines(&mut r, &[*b]));
        }
        assert_eq!(out, vec![line(b"USER foo"), line(b"PASS bar")]);
    }

    #[test]
    fn whole_and_byte_at_a_time_reads_agree_on_random_input() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let alphabet = [b'A', b' ', b'\r', b'\n', 0, IAC, 0xF4, WILL, 0xF2, 0xC3];
        for _ in 0..300 {
            let len = rng.gen_range(0..200);
            let mut wire: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect();
            if rng.gen_bool(0.1) {
                wire.resize(wire.len() + MAX_LINE + 3, b'x');
                wire.extend_from_slice(b"\r\nNOOP\r\n");
            }
            let whole = lines(&mut LineReader::new(), &wire);
            let mut r = LineReader::new();
            let bytewise: Vec<LineEvent> = wire.iter().flat_map(|b| lines(&mut r, &[*b])).collect();
            assert_eq!(whole, bytewise, "{wire:?}");
        }
    }

    #[test]
    fn telnet_sequences_are_stripped() {
        let mut r = LineReader::new();
        // IAC IP, IAC DM, IAC WILL ECHO, then ABOR.
        assert_eq!(
            lines(&mut r, b"\xff\xf4\xff\xf2\xff\xfb\x01ABOR\r\n"),
            vec![line(b"ABOR")]
        );
        // ftplib's abort: IAC IP IAC in band (DM goes out of band).
        assert_eq!(lines(&mut r, b"\xff\xf4\xffABOR\r\n"), vec![line(b"ABOR")]);
        // IAC IAC is a literal 0xFF.
        assert_eq!(
            lines(&mut r, b"RETR \xff\xffx\r\n"),
            vec![line(b"RETR \xffx")]
        );
    }

    #[test]
    fn overlong_line_is_reported_once_and_the_reader_resyncs() {
        let mut r = LineReader::new();
        let mut wire = vec![b'A'; MAX_LINE + 10];
        wire.extend_from_slice(b"\r\nNOOP\r\n");
        assert_eq!(
            lines(&mut r, &wire),
            vec![LineEvent::TooLong, line(b"NOOP")]
        );
        assert!(r.pending() <= MAX_LINE);
    }

    #[test]
    fn a_line_of_exactly_max_line_is_accepted() {
        let mut r = LineReader::new();
        let mut wire = vec![b'A'; MAX_LINE];
        wire.extend_from_slice(b"\r\n");
        assert!(matches!(&lines(&mut r, &wire)[..], [LineEvent::Line(l)] if l.len() == MAX_LINE));
    }

    #[test]
    fn verbs_are_case_insensitive_and_keep_their_argument() {
        let c = parse_command(b"stor my file.txt").unwrap();
        assert_eq!(c.verb, Verb::Stor);
        assert_eq!(c.arg, "my file.txt");
        assert_eq!(parse_command(b"PWD").unwrap().verb, Verb::Pwd);
        assert_eq!(
            parse_command(b"XYZW a").unwrap().verb,
            Verb::Unknown("XYZW".into())
        );
    }

    #[test]
    fn bad_verbs_and_non_utf8_arguments_are_errors() {
        assert_eq!(parse_command(b""), Err(CommandError::BadVerb));
        assert_eq!(parse_command(b"GARBAGE"), Err(CommandError::BadVerb));
        assert_eq!(parse_command(b"R3TR x"), Err(CommandError::BadVerb));
        assert_eq!(parse_command(b"RETR \xc3\x28"), Err(CommandError::NotUtf8));
        assert_eq!(
            parse_command("RETR h\u{e9}llo".as_bytes()).unwrap().arg,
            "h\u{e9}llo"
        );
    }

    #[test]
    fn port_round_trips() {
        let a = parse_port("127,0,0,1,195,80").unwrap();
        assert_eq!(a, "127.0.0.1:50000".parse().unwrap());
        assert_eq!(format_port(a), "127,0,0,1,195,80");
        assert_eq!(format_pasv(a), "Entering Passive Mode (127,0,0,1,195,80).");
    }

    #[test]
    fn bad_port_arguments_are_rejected() {
        for bad in [
            "",
            "1,2,3,4,5",
            "1,2,3,4,5,6,7",
            "256,0,0,1,1,1",
            "1,2,3,4,5,-6",
            "a,b,c,d,e,f",
            "1,2,3,4,5,0006",
        ] {
            assert_eq!(parse_port(bad), Err(AddrError::Syntax), "{bad}");
        }
    }

    #[test]
    fn eprt_parses_v4_and_v6_with_any_delimiter() {
        assert_eq!(
            parse_eprt("|1|132.235.1.2|6275|").unwrap(),
            "132.235.1.2:6275".parse().unwrap()
        );
        assert_eq!(
            parse_eprt("!2!::1!5282!").unwrap(),
            "[::1]:5282".parse().unwrap()
        );
        let a: SocketAddr = "[::1]:40000".parse().unwrap();
        assert_eq!(parse_eprt(&format_eprt(a)).unwrap(), a);
        assert_eq!(
            parse_eprt("|3|1.2.3.4|5|"),
            Err(AddrError::UnsupportedProtocol)
        );
        for bad in [
            "",
            "|1|1.2.3.4|5",
            "|1|::1|5|",
            "|2|1.2.3.4|5|",
            "|1|1.2.3.4|70000|",
            "1|1|1|1|",
        ] {
            assert_eq!(parse_eprt(bad), Err(AddrError::Syntax), "{bad}");
        }
    }

    #[test]
    fn epsv_arguments() {
        assert_eq!(parse_epsv(""), Ok(EpsvArg::Default));
        assert_eq!(parse_epsv("all"), Ok(EpsvArg::All));
        assert_eq!(parse_epsv("2"), Ok(EpsvArg::Protocol(2)));
        assert_eq!(parse_epsv("7"), Err(AddrError::UnsupportedProtocol));
        assert_eq!(parse_epsv("x"), Err(AddrError::Syntax));
        assert_eq!(
            format_epsv(50001),
            "Entering Extended Passive Mode (|||50001|)"
        );
    }
}
