//! Configuration of the chat server and the state its connections share, used by the
//! connection ([`conn`](super::conn)) and the listener ([`server`](super::server)): neither
//! imports the other for it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use super::chat::{QueueLimits, Room};

/// Limits and timeouts, with defaults for a public chat.
#[derive(Clone, Debug)]
pub struct TelnetConfig {
    /// Longest line a user may type (bytes).
    pub max_line: usize,
    /// Longest nick (characters).
    pub max_nick: usize,
    /// Users at once; more get a "server full" line and are disconnected.
    pub max_connections: usize,
    /// Disconnect users idle this long.
    pub idle_timeout: Duration,
    /// Sustained input rate per connection (bytes per second); above it reading pauses.
    pub rate: u32,
    /// Input burst allowed above the rate (bytes).
    pub burst: u32,
    /// Lines per second a user may send to the room, sustained (commands count too). Each line
    /// costs `rate / line_rate` bytes of the input bucket on top of its length, so a flood of
    /// two-byte lines — each one a write to every member — is held to this rate, and the burst
    /// to `burst / (rate / line_rate)` lines.
    pub line_rate: u32,
    /// Longest subnegotiation accepted (bytes).
    pub max_subnegotiation: usize,
    /// Output queued for a member above which chat lines skip them, and above which they are
    /// disconnected (slow consumers).
    pub queue_limits: QueueLimits,
    /// Users in the chat, counted for the metrics endpoint (`None`: not counted).
    pub counters: Option<std::sync::Arc<crate::ops::TelnetCounters>>,
}

impl Default for TelnetConfig {
    fn default() -> TelnetConfig {
        TelnetConfig {
            max_line: 512,
            max_nick: 16,
            max_connections: 1024,
            idle_timeout: Duration::from_secs(15 * 60),
            rate: 2048,
            burst: 8192,
            line_rate: 32,
            max_subnegotiation: 256,
            queue_limits: QueueLimits::default(),
            counters: None,
        }
    }
}

/// State shared by the connections of one reactor: the config and the room.
#[derive(Debug)]
pub struct Shared {
    /// The configuration.
    pub config: TelnetConfig,
    /// The room.
    pub room: RefCell<Room>,
}

/// The shared state of one room with `config` (the listener, tests and fuzzing).
pub fn shared(config: TelnetConfig) -> Rc<Shared> {
    Rc::new(Shared {
        room: RefCell::new(Room::new(config.max_nick).with_queue_limits(config.queue_limits)),
        config,
    })
}
