//! The Telnet stream parser (RFC 854/855), sans-IO: bytes in, events out.
//!
//! It separates the NVT data stream from commands: `IAC IAC` is a data byte 255, `IAC`
//! followed by a command byte is a command, `IAC WILL/WONT/DO/DONT opt` is negotiation, and
//! `IAC SB opt ... IAC SE` is a subnegotiation (with `IAC IAC` escaping inside and a size
//! limit). Per the NVT rules, `CR LF` is end of line and `CR NUL` a bare carriage return:
//! the parser reports both as one `CR` data byte, so line editors see exactly one `\r`.

/// Telnet command bytes (RFC 854).
pub mod cmd {
    /// Interpret As Command.
    pub const IAC: u8 = 255;
    /// Refuse to perform / ask the peer to stop.
    pub const DONT: u8 = 254;
    /// Ask the peer to perform.
    pub const DO: u8 = 253;
    /// Refuse to perform.
    pub const WONT: u8 = 252;
    /// Offer to perform.
    pub const WILL: u8 = 251;
    /// Subnegotiation begin.
    pub const SB: u8 = 250;
    /// Go ahead.
    pub const GA: u8 = 249;
    /// Erase line.
    pub const EL: u8 = 248;
    /// Erase character.
    pub const EC: u8 = 247;
    /// Are you there.
    pub const AYT: u8 = 246;
    /// Abort output.
    pub const AO: u8 = 245;
    /// Interrupt process.
    pub const IP: u8 = 244;
    /// Break.
    pub const BRK: u8 = 243;
    /// Data mark.
    pub const DM: u8 = 242;
    /// No operation.
    pub const NOP: u8 = 241;
    /// Subnegotiation end.
    pub const SE: u8 = 240;
}

/// Telnet option codes used here.
pub mod opt {
    /// RFC 857.
    pub const ECHO: u8 = 1;
    /// RFC 858, suppress go-ahead.
    pub const SGA: u8 = 3;
    /// RFC 1091, terminal type.
    pub const TTYPE: u8 = 24;
    /// RFC 1073, negotiate about window size.
    pub const NAWS: u8 = 31;
}

/// A negotiation verb.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    /// `WILL`: the sender offers to enable an option on its side.
    Will,
    /// `WONT`: the sender refuses or disables an option on its side.
    Wont,
    /// `DO`: the sender asks the receiver to enable an option.
    Do,
    /// `DONT`: the sender asks the receiver to disable an option.
    Dont,
}

impl Verb {
    /// The command byte.
    pub fn byte(self) -> u8 {
        match self {
            Verb::Will => cmd::WILL,
            Verb::Wont => cmd::WONT,
            Verb::Do => cmd::DO,
            Verb::Dont => cmd::DONT,
        }
    }
}

/// What the parser found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// NVT data (already unescaped; `CR LF` / `CR NUL` reported as one `\r`).
    Data(Vec<u8>),
    /// A command without argument (NOP, DM, BRK, IP, AO, AYT, EC, EL, GA).
    Command(u8),
    /// `IAC verb option`.
    Negotiate(Verb, u8),
    /// `IAC SB option payload IAC SE`, payload unescaped.
    Subnegotiation(u8, Vec<u8>),
    /// A subnegotiation longer than the limit: dropped (its bytes are skipped up to `SE`).
    SubnegotiationTooLong(u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Data,
    /// After a CR in data: a following LF or NUL belongs to it.
    Cr,
    Iac,
    Verb(Verb),
    SbOption,
    Sb,
    SbIac,
}

/// An incremental parser: feed any split of the stream, get the same events.
#[derive(Clone, Debug)]
pub struct Parser {
    state: State,
    sb_opt: u8,
    sb: Vec<u8>,
    sb_overflow: bool,
    max_sb: usize,
}

impl Default for Parser {
    fn default() -> Parser {
        Parser::new(256)
    }
}

impl Parser {
    /// A parser that drops subnegotiations longer than `max_sb` bytes.
    pub fn new(max_sb: usize) -> Parser {
        Parser {
            state: State::Data,
            sb_opt: 0,
            sb: Vec::new(),
            sb_overflow: false,
            max_sb,
        }
    }

    /// Parses `input`, appending events to `out`. Runs of data bytes become one event.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<Event>) {
        let mut data: Vec<u8> = Vec::new();
        let flush = |data: &mut Vec<u8>, out: &mut Vec<Event>| {
            if !data.is_empty() {
                out.push(Event::Data(std::mem::take(data)));
            }
        };
        for &b in input {
            self.state = match self.state {
                State::Data | State::Cr => {
                    let after_cr = self.state == State::Cr;
                    match b {
                        cmd::IAC => State::Iac,
                        b'\n' | 0 if after_cr => State::Data,
                        b'\r' => {
                            data.push(b'\r');
                            State::Cr
                        }
                        _ => {
                            data.push(b);
                            State::Data
                        }
                    }
                }
                State::Iac => match b {
                    cmd::IAC => {
                        data.push(cmd::IAC);
                        State::Data
                    }
                    cmd::WILL => State::Verb(Verb::Will),
                    cmd::WONT => State::Verb(Verb::Wont),
                    cmd::DO => State::Verb(Verb::Do),
                    cmd::DONT => State::Verb(Verb::Dont),
                    cmd::SB => State::SbOption,
                    _ => {
                        flush(&mut data, out);
                        out.push(Event::Command(b));
                        State::Data
                    }
                },
                State::Verb(v) => {
                    flush(&mut data, out);
                    out.push(Event::Negotiate(v, b));
                    State::Data
                }
                State::SbOption => {
                    self.sb_opt = b;
                    self.sb.clear();
                    self.sb_overflow = false;
                    State::Sb
                }
                State::Sb => {
                    if b == cmd::IAC {
                        State::SbIac
                    } else {
                        self.sb_push(b);
                        State::Sb
                    }
                }
                State::SbIac => match b {
                    cmd::SE => {
                        flush(&mut data, out);
                        out.push(if self.sb_overflow {
                            Event::SubnegotiationTooLong(self.sb_opt)
                        } else {
                            Event::Subnegotiation(self.sb_opt, std::mem::take(&mut self.sb))
                        });
                        State::Data
                    }
                    cmd::IAC => {
                        self.sb_push(cmd::IAC);
                        State::Sb
                    }
                    // Anything else ends a malformed subnegotiation (RFC 855 leaves it
                    // undefined): drop it and treat the byte as a command.
                    other => {
                        flush(&mut data, out);
                        out.push(Event::SubnegotiationTooLong(self.sb_opt));
                        out.push(Event::Command(other));
                        State::Data
                    }
                },
            };
        }
        flush(&mut data, out);
    }

    fn sb_push(&mut self, b: u8) {
        if self.sb.len() < self.max_sb {
            self.sb.push(b);
        } else {
            self.sb_overflow = true;
        }
    }
}

/// Escapes data for sending: every 255 byte doubled (`IAC IAC`).
pub fn escape(data: &[u8], out: &mut Vec<u8>) {
    for &b in data {
        out.push(b);
        if b == cmd::IAC {
            out.push(cmd::IAC);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_split(input: &[u8], split: usize) -> Vec<Event> {
        let mut p = Parser::new(16);
        let mut out = Vec::new();
        p.feed(&input[..split], &mut out);
        p.feed(&input[split..], &mut out);
        merge(out)
    }

    /// Adjacent data events merged, so results compare across split points.
    fn merge(events: Vec<Event>) -> Vec<Event> {
        let mut merged: Vec<Event> = Vec::new();
        for e in events {
            match (merged.last_mut(), e) {
                (Some(Event::Data(a)), Event::Data(b)) => a.extend(b),
                (_, e) => merged.push(e),
            }
        }
        merged
    }

    #[test]
    fn commands_negotiation_and_subnegotiation_at_every_split() {
        let input = [
            b"hi".as_slice(),
            &[255, 255],
            &[255, 251, 1],
            &[255, 250, 31, 0, 80, 0, 24, 255, 240],
            &[255, 250, 24, 0, b'x', 255, 255, b'y', 255, 240],
            &[255, 246],
            b"a\r\nb\r\0c",
        ]
        .concat();
        let expected = vec![
            Event::Data(vec![b'h', b'i', 255]),
            Event::Negotiate(Verb::Will, opt::ECHO),
            Event::Subnegotiation(opt::NAWS, vec![0, 80, 0, 24]),
            Event::Subnegotiation(opt::TTYPE, vec![0, b'x', 255, b'y']),
            Event::Command(cmd::AYT),
            Event::Data(b"a\rb\rc".to_vec()),
        ];
        for split in 0..=input.len() {
            assert_eq!(parse_split(&input, split), expected, "split at {split}");
        }
    }

    #[test]
    fn an_overlong_subnegotiation_is_dropped_not_buffered() {
        let mut input = vec![255, 250, 24];
        input.extend(std::iter::repeat_n(b'z', 10_000));
        input.extend([255, 240]);
        input.extend(b"ok");
        let mut p = Parser::new(64);
        let mut out = Vec::new();
        p.feed(&input, &mut out);
        assert_eq!(
            out,
            vec![
                Event::SubnegotiationTooLong(24),
                Event::Data(b"ok".to_vec())
            ]
        );
        assert!(p.sb.capacity() <= 128, "buffered {} bytes", p.sb.capacity());
    }

    #[test]
    fn escaping_doubles_iac() {
        let mut out = Vec::new();
        escape(&[1, 255, 2], &mut out);
        assert_eq!(out, vec![1, 255, 255, 2]);
    }
}
