//! Counters per server ([`ListenerStats`]): a listener's label names a set; its connections
//! carry the set's index (a `u16` in padding the slot already had), so counting a read or a
//! write for its server is one indexed add beside the reactor-wide one.

use super::{Core, Kind};
use crate::connection::Owner;
use crate::stats::ListenerStats;
use crate::{CloseReason, ConnId, ListenOptions};

impl Core {
    /// Gives listener `id` the counters labelled as `opts` says (a new set for a new label).
    pub(crate) fn set_listener_label(&mut self, id: ConnId, opts: &ListenOptions) {
        let Some(label) = &opts.label else { return };
        let at = match self.groups.iter().position(|g| &g.label == label) {
            Some(at) => at,
            None if self.groups.len() < u16::MAX as usize => {
                self.groups.push(ListenerStats {
                    label: label.clone(),
                    ..ListenerStats::default()
                });
                self.groups.len() - 1
            }
            None => 0,
        };
        if let Some(Kind::Listener(l)) = self.slots.get_mut(id.slot()).map(|s| &mut s.kind) {
            l.group = at as u16;
        }
    }

    /// The counter set of listener `slot` (0 when it is not a labelled listener).
    pub(super) fn listener_group(&self, slot: usize) -> u16 {
        match self.slots.get(slot).map(|s| &s.kind) {
            Some(Kind::Listener(l)) => l.group,
            _ => 0,
        }
    }

    /// Connection `id` was accepted by listener `listener_slot`: counts it for its server.
    pub(super) fn group_accepted(&mut self, id: ConnId, listener_slot: usize) {
        let group = self.listener_group(listener_slot);
        if let Some(c) = self.conn_mut(id) {
            c.group = group;
        }
        let g = &mut self.groups[group as usize];
        g.accepted += 1;
        g.open += 1;
    }

    /// The counter set of connection slot `slot` (0 for anything else).
    pub(crate) fn group_of(&self, slot: usize) -> usize {
        match self.slots.get(slot).map(|s| &s.kind) {
            Some(Kind::Conn(c)) => c.group as usize,
            _ => 0,
        }
    }

    /// A connection of set `group` closed for `reason` (children count only their bytes).
    pub(super) fn group_closed(&mut self, group: u16, owner: &Owner, reason: &CloseReason) {
        if matches!(owner, Owner::Child(_)) {
            return;
        }
        let g = &mut self.groups[group as usize];
        g.open = g.open.saturating_sub(1);
        g.closed[reason.kind_index()] += 1;
    }

    /// The counters per listener label, the unlabelled set first.
    pub(crate) fn listener_stats(&self) -> &[ListenerStats] {
        &self.groups
    }
}
