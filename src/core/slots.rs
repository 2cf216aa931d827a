//! The slot table: inserting, finding and registering connections.

use std::io;
use std::os::fd::AsRawFd;

use mio::{Interest, Token};

use super::{Core, Kind, Slot, NIL};
use crate::connection::{Conn, Io, Owner};
use crate::ConnId;

impl Core {
    pub(super) fn insert(&mut self, kind: Kind) -> ConnId {
        let gen = self.next_gen;
        self.next_gen = self.next_gen.wrapping_add(1).max(1);
        let slot = self.slots.insert(Slot {
            gen,
            timers: NIL,
            kind,
        });
        ConnId::new(slot, gen)
    }

    pub(super) fn live(&self, id: ConnId) -> Option<&Slot> {
        self.slots.get(id.slot()).filter(|s| s.gen == id.gen)
    }

    pub(crate) fn conn(&self, id: ConnId) -> Option<&Conn> {
        match self.live(id) {
            Some(Slot {
                kind: Kind::Conn(c),
                ..
            }) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        match self.slots.get_mut(id.slot()) {
            Some(Slot {
                gen,
                kind: Kind::Conn(c),
                ..
            }) if *gen == id.gen => Some(c),
            _ => None,
        }
    }

    pub(super) fn id_of(&self, slot: usize) -> Option<ConnId> {
        self.slots.get(slot).map(|s| ConnId::new(slot, s.gen))
    }

    pub(crate) fn is_open(&self, id: ConnId) -> bool {
        self.live(id).is_some()
    }

    /// Open connections (children included, listeners not).
    pub(crate) fn conn_count(&self) -> usize {
        self.conns
    }

    pub(super) fn register(&self, slot: usize, io: &mut Io, interest: Interest) -> io::Result<()> {
        let Some(reg) = &self.registry else {
            return Ok(());
        };
        let token = Token(slot);
        match io.base_mut() {
            Io::Tcp(s) => reg.register(s, token, interest),
            Io::Unix(s) => reg.register(s, token, interest),
            Io::Fd(f) => reg.register(&mut mio::unix::SourceFd(&f.as_raw_fd()), token, interest),
            _ => Ok(()),
        }
    }

    /// Adds a connection and registers it for read and write readiness (edge-triggered, once:
    /// no `epoll_ctl` churn afterwards).
    pub(crate) fn add_conn(&mut self, io: Io, owner: Owner, flags: u32) -> io::Result<ConnId> {
        let mut conn = Conn::new(io, owner, self.now_ms() as u32);
        conn.flags = flags;
        let id = self.insert(Kind::Conn(conn));
        let Some(Slot {
            kind: Kind::Conn(c),
            ..
        }) = self.slots.get_mut(id.slot())
        else {
            unreachable!()
        };
        let mut io = std::mem::replace(&mut c.io, Io::Virtual(Box::default()));
        let res = self.register(
            id.slot(),
            &mut io,
            crate::sys::conn_interest(self.config.portable_io),
        );
        if let Some(c) = self.conn_mut(id) {
            c.io = io;
        }
        if let Err(e) = res {
            self.slots.remove(id.slot());
            return Err(e);
        }
        self.conns += 1;
        self.stats.open = self.conns as u64;
        if let Some(idle) = self.config.idle_timeout {
            self.set_idle_timeout(id, Some(idle));
        }
        if let Owner::Child(parent) = self.conn(id).map(|c| &c.owner).unwrap() {
            let parent = *parent;
            self.adopt(parent, id.slot);
            let group = self.group_of(parent.slot());
            if let Some(c) = self.conn_mut(id) {
                c.group = group as u16;
            }
        }
        Ok(id)
    }
}
