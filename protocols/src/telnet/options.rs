//! Option negotiation by the Q method (RFC 1143), so no negotiation loop is possible
//! whatever the peer does: every request is answered at most once per state change, and
//! answers to our own requests are never answered again.
//!
//! Each option has two sides — `us` (do we perform it: WILL/WONT from us, DO/DONT from the
//! peer) and `him` (does the peer perform it: DO/DONT from us, WILL/WONT from the peer) —
//! each in one of the RFC's states `No`, `Yes`, `WantNo`, `WantYes` with a one-bit queue
//! (`Empty` / `Opposite`). The transitions below are the RFC's tables, one `match` each.

use super::parse::{opt, Verb};

/// The RFC 1143 state of one side of one option.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Q {
    /// Disabled.
    #[default]
    No,
    /// Enabled.
    Yes,
    /// We asked to disable and wait for the answer.
    WantNo,
    /// We asked to enable and wait for the answer.
    WantYes,
}

/// The one-bit queue of RFC 1143: change our mind once while waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Queue {
    /// Nothing queued.
    #[default]
    Empty,
    /// Ask for the opposite once the pending answer arrives.
    Opposite,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Side {
    state: Q,
    queue: Queue,
}

/// The negotiation state of every option, and which ones we accept.
#[derive(Clone, Debug)]
pub struct Options {
    us: [Side; 256],
    him: [Side; 256],
}

impl Default for Options {
    fn default() -> Options {
        Options {
            us: [Side::default(); 256],
            him: [Side::default(); 256],
        }
    }
}

/// Options this server performs itself (`WILL`): echo and suppress-go-ahead.
fn we_support(option: u8) -> bool {
    matches!(option, opt::ECHO | opt::SGA)
}

/// Options we let the client perform (`DO`): window size, terminal type, suppress-go-ahead.
fn he_may(option: u8) -> bool {
    matches!(option, opt::NAWS | opt::TTYPE | opt::SGA)
}

impl Options {
    /// Is the option enabled on our side?
    pub fn us(&self, option: u8) -> bool {
        self.us[option as usize].state == Q::Yes
    }

    /// Is the option enabled on the peer's side?
    pub fn him(&self, option: u8) -> bool {
        self.him[option as usize].state == Q::Yes
    }

    /// We want to enable `option` on our side; returns what to send.
    pub fn enable_us(&mut self, option: u8) -> Option<(Verb, u8)> {
        enable(&mut self.us[option as usize], Verb::Will).map(|v| (v, option))
    }

    /// We want the peer to enable `option`; returns what to send.
    pub fn enable_him(&mut self, option: u8) -> Option<(Verb, u8)> {
        enable(&mut self.him[option as usize], Verb::Do).map(|v| (v, option))
    }

    /// A negotiation arrived; returns the answer to send, if any.
    pub fn receive(&mut self, verb: Verb, option: u8) -> Option<(Verb, u8)> {
        let o = option as usize;
        let answer = match verb {
            Verb::Will => recv_yes(&mut self.him[o], he_may(option), Verb::Do, Verb::Dont),
            Verb::Wont => recv_no(&mut self.him[o], Verb::Do, Verb::Dont),
            Verb::Do => recv_yes(&mut self.us[o], we_support(option), Verb::Will, Verb::Wont),
            Verb::Dont => recv_no(&mut self.us[o], Verb::Will, Verb::Wont),
        };
        answer.map(|v| (v, option))
    }
}

/// RFC 1143: we ask to enable a side. `yes` is the verb that asks (WILL or DO).
fn enable(side: &mut Side, yes: Verb) -> Option<Verb> {
    match (side.state, side.queue) {
        (Q::No, _) => {
            side.state = Q::WantYes;
            Some(yes)
        }
        (Q::Yes, _) => None, // already enabled
        (Q::WantNo, Queue::Empty) => {
            side.queue = Queue::Opposite;
            None
        }
        (Q::WantNo, Queue::Opposite) => None, // already queued
        (Q::WantYes, Queue::Empty) => None,   // already negotiating
        (Q::WantYes, Queue::Opposite) => {
            side.queue = Queue::Empty;
            None
        }
    }
}

/// RFC 1143: the peer sent WILL (for `him`) or DO (for `us`).
fn recv_yes(side: &mut Side, acceptable: bool, yes: Verb, no: Verb) -> Option<Verb> {
    match (side.state, side.queue) {
        (Q::No, _) if acceptable => {
            side.state = Q::Yes;
            Some(yes)
        }
        (Q::No, _) => Some(no),
        (Q::Yes, _) => None,
        // An answer to our disable request that says yes: an error by the peer; treat as no.
        (Q::WantNo, Queue::Empty) => {
            side.state = Q::No;
            None
        }
        (Q::WantNo, Queue::Opposite) => {
            side.state = Q::Yes;
            side.queue = Queue::Empty;
            None
        }
        (Q::WantYes, Queue::Empty) => {
            side.state = Q::Yes;
            None
        }
        (Q::WantYes, Queue::Opposite) => {
            side.state = Q::WantNo;
            side.queue = Queue::Empty;
            Some(no)
        }
    }
}

/// RFC 1143: the peer sent WONT (for `him`) or DONT (for `us`).
fn recv_no(side: &mut Side, yes: Verb, no: Verb) -> Option<Verb> {
    match (side.state, side.queue) {
        (Q::No, _) => None,
        (Q::Yes, _) => {
            side.state = Q::No;
            Some(no)
        }
        (Q::WantNo, Queue::Empty) => {
            side.state = Q::No;
            None
        }
        (Q::WantNo, Queue::Opposite) => {
            side.state = Q::WantYes;
            side.queue = Queue::Empty;
            Some(yes)
        }
        (Q::WantYes, Queue::Empty) => {
            side.state = Q::No;
            None
        }
        (Q::WantYes, Queue::Opposite) => {
            side.state = Q::No;
            side.queue = Queue::Empty;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verb::*;

    #[test]
    fn our_offer_accepted_once_and_not_answered_again() {
        let mut o = Options::default();
        assert_eq!(o.enable_us(opt::ECHO), Some((Will, opt::ECHO)));
        assert_eq!(o.enable_us(opt::ECHO), None, "no second WILL while waiting");
        assert_eq!(
            o.receive(Do, opt::ECHO),
            None,
            "DO answering our WILL is not answered"
        );
        assert!(o.us(opt::ECHO));
        assert_eq!(o.receive(Do, opt::ECHO), None, "a repeated DO is ignored");
    }

    #[test]
    fn refused_offers_and_requests_leave_the_option_off() {
        let mut o = Options::default();
        o.enable_us(opt::ECHO);
        assert_eq!(o.receive(Dont, opt::ECHO), None);
        assert!(!o.us(opt::ECHO));
        o.enable_him(opt::NAWS);
        assert_eq!(o.receive(Wont, opt::NAWS), None);
        assert!(!o.him(opt::NAWS));
    }

    #[test]
    fn unsupported_options_are_refused() {
        let mut o = Options::default();
        assert_eq!(o.receive(Do, 99), Some((Wont, 99)));
        assert_eq!(o.receive(Will, 99), Some((Dont, 99)));
        assert_eq!(o.receive(Will, opt::NAWS), Some((Do, opt::NAWS)));
        assert!(o.him(opt::NAWS));
        assert_eq!(o.receive(Wont, opt::NAWS), Some((Dont, opt::NAWS)));
        assert!(!o.him(opt::NAWS));
    }

    #[test]
    fn the_rfc_1143_tables_for_him() {
        // (start state, queue, received, answer, end state, end queue)
        let rows = [
            (Q::No, Queue::Empty, Will, Some(Do), Q::Yes, Queue::Empty),
            (Q::Yes, Queue::Empty, Will, None, Q::Yes, Queue::Empty),
            (Q::WantNo, Queue::Empty, Will, None, Q::No, Queue::Empty),
            (Q::WantNo, Queue::Opposite, Will, None, Q::Yes, Queue::Empty),
            (Q::WantYes, Queue::Empty, Will, None, Q::Yes, Queue::Empty),
            (
                Q::WantYes,
                Queue::Opposite,
                Will,
                Some(Dont),
                Q::WantNo,
                Queue::Empty,
            ),
            (Q::No, Queue::Empty, Wont, None, Q::No, Queue::Empty),
            (Q::Yes, Queue::Empty, Wont, Some(Dont), Q::No, Queue::Empty),
            (Q::WantNo, Queue::Empty, Wont, None, Q::No, Queue::Empty),
            (
                Q::WantNo,
                Queue::Opposite,
                Wont,
                Some(Do),
                Q::WantYes,
                Queue::Empty,
            ),
            (Q::WantYes, Queue::Empty, Wont, None, Q::No, Queue::Empty),
            (Q::WantYes, Queue::Opposite, Wont, None, Q::No, Queue::Empty),
        ];
        for (state, queue, got, answer, end, end_q) in rows {
            let mut o = Options::default();
            o.him[opt::NAWS as usize] = Side { state, queue };
            assert_eq!(
                o.receive(got, opt::NAWS).map(|a| a.0),
                answer,
                "{state:?}/{queue:?} + {got:?}"
            );
            assert_eq!(
                o.him[opt::NAWS as usize],
                Side {
                    state: end,
                    queue: end_q
                },
                "{state:?}/{queue:?} + {got:?}"
            );
        }
    }

    #[test]
    fn a_peer_that_agrees_to_everything_cannot_start_a_loop() {
        // The peer answers every DO with WILL and every WILL with DO, forever; our answers
        // must die out.
        let mut o = Options::default();
        let mut to_peer: Vec<(Verb, u8)> = Vec::new();
        to_peer.extend([opt::ECHO, opt::SGA].iter().filter_map(|&x| o.enable_us(x)));
        to_peer.extend(
            [opt::NAWS, opt::TTYPE]
                .iter()
                .filter_map(|&x| o.enable_him(x)),
        );
        let mut rounds = 0;
        while !to_peer.is_empty() {
            rounds += 1;
            assert!(rounds < 10, "negotiation loop");
            let from_peer: Vec<(Verb, u8)> = to_peer
                .drain(..)
                .map(|(v, x)| match v {
                    Do | Dont => (Will, x),
                    Will | Wont => (Do, x),
                })
                .collect();
            to_peer = from_peer
                .into_iter()
                .filter_map(|(v, x)| o.receive(v, x))
                .collect();
        }
        assert!(o.us(opt::ECHO) && o.us(opt::SGA) && o.him(opt::NAWS) && o.him(opt::TTYPE));
    }
}
