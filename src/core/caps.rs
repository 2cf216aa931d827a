//! Connection caps: in all, per listener, per source address on a listener. A connection over
//! a cap is still accepted, within [`Config::refusal_reserve`](crate::Config::refusal_reserve),
//! so that its protocol can say why ([`Protocol::on_refused`](crate::Protocol::on_refused))
//! before it closes: a full server answers instead of going silent.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use super::{Core, Kind, NIL};
use crate::Refusal;

/// Connections of one source address on one listener.
pub(crate) struct Origin {
    listener: u32,
    listener_gen: u32,
    key: u128,
    count: u32,
}

/// Every origin with open connections, and where to find each.
#[derive(Default)]
pub(crate) struct Origins {
    entries: slab::Slab<Origin>,
    index: HashMap<(u32, u128), u32>,
}

/// The address a source is counted under: an IPv4 address, or an IPv6 /64 (one host's
/// usual allocation); IPv4-mapped IPv6 counts as IPv4.
fn source_key(peer: SocketAddr) -> u128 {
    match peer.ip() {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u32::from(v4) as u128,
            None => (u128::from(v6) & !0u128 << 64) | 1,
        },
    }
}

impl Core {
    /// Counts a new connection of listener `slot` from `peer` against the caps: `Ok` with
    /// its origin (`NIL`: not counted per source), or why it is refused.
    pub(super) fn admit(&mut self, slot: usize, peer: Option<SocketAddr>) -> Result<u32, Refusal> {
        if self.conns >= self.config.max_connections {
            return Err(Refusal::ServerFull);
        }
        let Some(s) = self.slots.get_mut(slot) else {
            return Err(Refusal::ServerFull);
        };
        let gen = s.gen;
        let Kind::Listener(l) = &mut s.kind else {
            return Err(Refusal::ServerFull);
        };
        if l.open >= l.max {
            return Err(Refusal::ListenerFull);
        }
        let Some(peer) = peer else {
            return Ok(NIL); // a Unix socket: no source to count
        };
        let key = (slot as u32, source_key(peer));
        let origins = &mut self.origins;
        let at = match origins.index.get(&key) {
            Some(&i) => i,
            None => {
                let i = origins.entries.insert(Origin {
                    listener: slot as u32,
                    listener_gen: gen,
                    key: key.1,
                    count: 0,
                }) as u32;
                origins.index.insert(key, i);
                i
            }
        };
        let origin = &mut origins.entries[at as usize];
        let capped = self.config.limit_loopback_sources || !peer.ip().is_loopback();
        if capped && origin.count as usize >= self.config.max_per_source {
            return Err(Refusal::SourceFull);
        }
        origin.count += 1;
        l.open += 1;
        Ok(at)
    }

    /// A counted connection closed.
    pub(super) fn release(&mut self, origin: u32) {
        let Some(o) = self.origins.entries.get_mut(origin as usize) else {
            return;
        };
        o.count -= 1;
        let (slot, gen, key, empty) = (o.listener as usize, o.listener_gen, o.key, o.count == 0);
        if empty {
            self.origins.entries.remove(origin as usize);
            self.origins.index.remove(&(slot as u32, key));
        }
        if let Some(s) = self.slots.get_mut(slot) {
            if let (true, Kind::Listener(l)) = (s.gen == gen, &mut s.kind) {
                l.open = l.open.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::source_key;

    #[test]
    fn sources_are_counted_per_ipv4_address_and_per_ipv6_64() {
        let a = |s: &str| source_key(s.parse().unwrap());
        assert_eq!(a("10.0.0.1:1"), a("10.0.0.1:2"));
        assert_ne!(a("10.0.0.1:1"), a("10.0.0.2:1"));
        assert_eq!(a("[2001:db8::1]:1"), a("[2001:db8::ffff:1]:2"));
        assert_ne!(a("[2001:db8::1]:1"), a("[2001:db8:0:1::1]:1"));
        assert_eq!(a("[::ffff:10.0.0.1]:1"), a("10.0.0.1:9"));
    }
}
