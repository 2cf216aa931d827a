//! One Telnet user: negotiation, line editing, chat and commands, limits.

use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use bytes::BytesMut;
use netreactor::{CloseReason, Context, Counter, Protocol, Refusal, TimerId};

use super::chat::{line, sanitize};
use super::commands::{self, Command, HELP};
use super::config::Shared;
use super::line::{Edit, LineEditor};
use super::options::Options;
use super::parse::{cmd, opt, Event, Parser, Verb};

/// Input bytes handled per callback (a 2-byte line may be broadcast to every member).
const INPUT_SLICE: usize = 256;

/// A Telnet connection's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TelnetTimer {
    /// Nothing typed for the idle timeout.
    Idle,
    /// The input rate limit's pause is over.
    Resume,
}

/// The `Protocol` of one Telnet connection.
pub struct TelnetConn {
    shared: Rc<Shared>,
    parser: Parser,
    options: Options,
    editor: LineEditor,
    events: Vec<Event>,
    joined: bool,
    tokens: f64,
    refilled: Option<Instant>,
    idle: Option<TimerId>,
}

impl TelnetConn {
    /// A connection of the chat described by `shared`.
    pub fn new(shared: Rc<Shared>) -> TelnetConn {
        let c = &shared.config;
        TelnetConn {
            parser: Parser::new(c.max_subnegotiation),
            editor: LineEditor::new(c.max_line),
            tokens: c.burst as f64,
            shared,
            options: Options::default(),
            events: Vec::new(),
            joined: false,
            refilled: None,
            idle: None,
        }
    }

    fn send_verb(cx: &mut Context<'_, TelnetTimer>, v: Verb, option: u8) {
        cx.write(vec![cmd::IAC, v.byte(), option]);
    }

    fn reset_idle(&mut self, cx: &mut Context<'_, TelnetTimer>) {
        if let Some(t) = self.idle.take() {
            cx.cancel_timer(t);
        }
        self.idle = Some(cx.set_timer(self.shared.config.idle_timeout, TelnetTimer::Idle));
    }

    fn say(&self, cx: &mut Context<'_, TelnetTimer>, text: &str) {
        cx.write(line(text, false));
    }

    fn nick(&self, cx: &Context<'_, TelnetTimer>) -> String {
        let room = self.shared.room.borrow();
        room.members()
            .iter()
            .find(|m| m.id == cx.id())
            .map_or_else(String::new, |m| m.nick.clone())
    }

    /// Token bucket on input bytes: returns false (and pauses reading) when over the rate.
    fn admit(&mut self, cx: &mut Context<'_, TelnetTimer>, bytes: usize) -> bool {
        let c = &self.shared.config;
        let now = cx.now();
        if let Some(t) = self.refilled {
            let add = now.duration_since(t).as_secs_f64() * c.rate as f64;
            self.tokens = (self.tokens + add).min(c.burst as f64);
        }
        self.refilled = Some(now);
        // A delivery larger than the burst passes once the bucket is full, leaving it in
        // debt: the next one waits until the rate has paid it back.
        let need = (bytes as f64).min(c.burst as f64);
        if self.tokens >= need {
            self.tokens -= bytes as f64;
            return true;
        }
        // At least a millisecond (the wheel's resolution): a shortfall worth under a
        // nanosecond would make a zero `Duration`, a timer due at once that finds the bucket
        // still short, firing again and again with no time gone by.
        let wait = (need - self.tokens) / c.rate as f64;
        cx.pause_read();
        cx.set_timer(
            Duration::from_secs_f64(wait.clamp(0.001, 10.0)),
            TelnetTimer::Resume,
        );
        false
    }

    fn on_line(&mut self, cx: &mut Context<'_, TelnetTimer>, raw: Vec<u8>) {
        let text = sanitize(&raw);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        // A line reaches every member: it is charged to the input bucket by its fan-out cost,
        // not its length (the debt pauses reading at the next delivery).
        let c = &self.shared.config;
        self.tokens -= c.rate as f64 / c.line_rate.max(1) as f64;
        if text.starts_with('/') {
            self.command(cx, text);
        } else {
            let nick = self.nick(cx);
            let msg = format!("<{nick}> {text}");
            self.shared.room.borrow().broadcast(cx, Some(cx.id()), &msg);
        }
    }

    fn command(&mut self, cx: &mut Context<'_, TelnetTimer>, text: &str) {
        let me = cx.id();
        match commands::parse(text) {
            Command::Help => {
                for l in HELP {
                    self.say(cx, l);
                }
            }
            Command::Nick(new) => {
                let result = self.shared.room.borrow_mut().rename(me, new);
                match result {
                    Ok(old) => {
                        self.say(cx, &format!("* you are now {new}"));
                        let msg = format!("* {old} is now {new}");
                        self.shared.room.borrow().broadcast(cx, Some(me), &msg);
                    }
                    Err(e) => self.say(cx, &format!("* nick refused: {e:?} (see /help)")),
                }
            }
            Command::Who => {
                let room = self.shared.room.borrow();
                let lines: Vec<String> = room
                    .members()
                    .iter()
                    .map(|m| {
                        let window = m.window.map_or(String::new(), |(w, h)| format!(" {w}x{h}"));
                        let term = m
                            .terminal
                            .as_ref()
                            .map_or(String::new(), |t| format!(" {t}"));
                        let from = m.from.map_or(String::new(), |ip| format!(" from {ip}"));
                        format!("  {}{window}{term}{from}", m.nick)
                    })
                    .collect();
                drop(room);
                self.say(cx, &format!("* {} here:", lines.len()));
                for l in lines {
                    self.say(cx, &l);
                }
            }
            Command::Me(action) => {
                let msg = format!("* {} {action}", self.nick(cx));
                self.say(cx, &msg);
                self.shared.room.borrow().broadcast(cx, Some(me), &msg);
            }
            Command::Msg(to, text) => {
                let from = self.nick(cx);
                let room = self.shared.room.borrow();
                match room.by_nick(to).map(|m| m.id) {
                    Some(id) if id != me => {
                        room.tell(cx, id, &format!("*{from}* {text}"));
                        drop(room);
                        self.say(cx, &format!("-> *{to}* {text}"));
                    }
                    Some(_) => {
                        drop(room);
                        self.say(cx, "* talking to yourself?");
                    }
                    None => {
                        drop(room);
                        self.say(cx, &format!("* no such nick: {to}"));
                    }
                }
            }
            Command::Time => {
                let now = httpdate::fmt_http_date(SystemTime::now());
                self.say(cx, &format!("* {now}"));
            }
            Command::Uptime => {
                let up = self.shared.room.borrow().started().elapsed().as_secs();
                self.say(cx, &format!("* up {}", commands::format_duration(up)));
            }
            Command::Stats => {
                let s = cx.stats();
                let text = format!(
                    "* open {} accepted {} closed {} in {} B out {} B timeouts {} errors {}",
                    s.open, s.accepted, s.closed, s.bytes_in, s.bytes_out, s.timeouts, s.errors
                );
                self.say(cx, &text);
            }
            Command::Quit => {
                self.say(cx, "* bye");
                cx.close();
            }
            Command::Usage(u) => self.say(cx, &format!("* {u}")),
            Command::Unknown(name) => {
                self.say(cx, &format!("* unknown command {name} (try /help)"))
            }
        }
    }

    fn on_subnegotiation(&mut self, cx: &mut Context<'_, TelnetTimer>, option: u8, data: &[u8]) {
        let me = cx.id();
        match (option, data) {
            (opt::NAWS, [w1, w2, h1, h2]) => {
                let size = (
                    u16::from_be_bytes([*w1, *w2]),
                    u16::from_be_bytes([*h1, *h2]),
                );
                if let Some(m) = self.shared.room.borrow_mut().get_mut(me) {
                    m.window = Some(size);
                }
            }
            (opt::TTYPE, [0, name @ ..]) => {
                let name = sanitize(name);
                if let Some(m) = self.shared.room.borrow_mut().get_mut(me) {
                    m.terminal = Some(name.chars().take(40).collect());
                }
            }
            _ => cx.count(Counter::ParseError),
        }
    }
}

impl Protocol<TelnetTimer> for TelnetConn {
    /// Over a reactor cap: one line saying so, then the write half is shut so the client
    /// reads it whole.
    fn on_refused(&mut self, cx: &mut Context<'_, TelnetTimer>, why: Refusal) {
        tracing::debug!(?why, "telnet: refusing a connection");
        self.say(cx, "* server full, try again later");
        cx.shutdown_write();
    }

    fn on_open(&mut self, cx: &mut Context<'_, TelnetTimer>) {
        let full = self.shared.room.borrow().members().len() >= self.shared.config.max_connections;
        if full {
            self.say(cx, "* server full, try again later");
            cx.close();
            return;
        }
        let from = cx.peer_addr().map(|a| a.ip());
        let nick = self.shared.room.borrow_mut().join_from(cx.id(), from);
        self.joined = true;
        if let Some(c) = &self.shared.config.counters {
            c.users[cx.is_tls() as usize].add(1);
            c.logins[cx.is_tls() as usize].add(1);
        }
        let mut offers: Vec<(Verb, u8)> = Vec::new();
        offers.extend(
            [opt::ECHO, opt::SGA]
                .into_iter()
                .filter_map(|o| self.options.enable_us(o)),
        );
        offers.extend(
            [opt::NAWS, opt::TTYPE]
                .into_iter()
                .filter_map(|o| self.options.enable_him(o)),
        );
        for (v, o) in offers {
            Self::send_verb(cx, v, o);
        }
        self.say(
            cx,
            &format!("Welcome to the netreactor chat. You are {nick}; /help lists the commands."),
        );
        let msg = format!("* {nick} joined");
        self.shared.room.borrow().broadcast(cx, Some(cx.id()), &msg);
        self.reset_idle(cx);
    }

    fn on_data(&mut self, cx: &mut Context<'_, TelnetTimer>, input: &mut BytesMut) {
        // A slice per turn: each line may go to every member of the room, so a pasted burst
        // is worked through over several turns, the other connections served in between.
        let take = input.len().min(INPUT_SLICE);
        if !self.admit(cx, take) {
            return; // reading resumes after the rate timer; the bytes stay in `input`
        }
        self.reset_idle(cx);
        let mut events = std::mem::take(&mut self.events);
        self.parser.feed(&input.split_to(take), &mut events);
        if !input.is_empty() {
            cx.yield_now();
        }
        let mut over = false;
        'events: for event in events.drain(..) {
            match event {
                Event::Data(bytes) => {
                    for b in bytes {
                        match self.editor.key(b) {
                            Edit::None => {}
                            Edit::Line(l) => {
                                let echo = self.editor.take_echo();
                                cx.write(echo);
                                self.on_line(cx, l);
                                // A user who sends commands without reading the answers
                                // (each 7-byte `/help` brings 440 bytes back) is disconnected
                                // at the hard limit, as a slow receiver of chat lines is.
                                let queued = cx.queued();
                                if queued > self.shared.config.queue_limits.disconnect_above {
                                    tracing::info!(conn = %cx.id(), queued, "telnet: disconnecting a user who does not read");
                                    cx.abort();
                                    over = true;
                                    break 'events;
                                }
                            }
                            Edit::Quit => {
                                self.say(cx, "* bye");
                                cx.close();
                            }
                        }
                    }
                }
                Event::Command(cmd::AYT) => self.say(cx, "[netreactor: yes]"),
                Event::Command(cmd::IP) => self.editor.cancel(),
                Event::Command(cmd::EC) => self.editor.backspace(),
                Event::Command(cmd::EL) => self.editor.kill(),
                Event::Command(_) => {}
                Event::Negotiate(v, o) => {
                    let was_ttype = self.options.him(opt::TTYPE);
                    if let Some((answer, option)) = self.options.receive(v, o) {
                        Self::send_verb(cx, answer, option);
                    }
                    if !was_ttype && self.options.him(opt::TTYPE) {
                        // RFC 1091: ask for the terminal type.
                        cx.write(vec![cmd::IAC, cmd::SB, opt::TTYPE, 1, cmd::IAC, cmd::SE]);
                    }
                }
                Event::Subnegotiation(o, data) => self.on_subnegotiation(cx, o, &data),
                Event::SubnegotiationTooLong(_) => cx.count(Counter::ParseError),
            }
        }
        self.events = events;
        if over {
            return;
        }
        self.editor.echoing = self.options.us(opt::ECHO);
        let echo = self.editor.take_echo();
        if !echo.is_empty() {
            cx.write(echo);
        }
        if let Some(m) = self.shared.room.borrow_mut().get_mut(cx.id()) {
            m.char_mode = self.editor.echoing;
            m.typing.clear();
            m.typing.extend_from_slice(self.editor.line());
        }
    }

    fn on_timer(&mut self, cx: &mut Context<'_, TelnetTimer>, timer: TelnetTimer) {
        match timer {
            TelnetTimer::Idle => {
                cx.count(Counter::Timeout);
                self.say(cx, "* idle too long, bye");
                cx.close();
            }
            TelnetTimer::Resume => cx.resume_read(),
        }
    }

    fn on_shutdown(&mut self, cx: &mut Context<'_, TelnetTimer>) {
        self.say(cx, "* server shutting down, bye");
        cx.close();
    }

    fn on_close(&mut self, cx: &mut Context<'_, TelnetTimer>, _reason: &CloseReason) {
        if !self.joined {
            return;
        }
        let left = self.shared.room.borrow_mut().leave(cx.id());
        if let Some(c) = &self.shared.config.counters {
            c.users[cx.is_tls() as usize].add(-1);
        }
        if let Some(m) = left {
            let msg = format!("* {} left", m.nick);
            self.shared.room.borrow().broadcast(cx, None, &msg);
        }
    }
}
