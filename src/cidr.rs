//! Address ranges in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`, `127.0.0.4`), for the
//! trusted sources of [`ProxyProtocol::Optional`](crate::ProxyProtocol::Optional).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A range of IP addresses: a network address and a prefix length.
///
/// An IPv4 range also holds the IPv4-mapped IPv6 form of its addresses (`::ffff:10.0.0.1`),
/// which is how a dual-stack listener sees IPv4 clients.
///
/// ```
/// use netreactor::Cidr;
///
/// let lan: Cidr = "10.0.0.0/8".parse().unwrap();
/// assert!(lan.contains("10.1.2.3".parse().unwrap()));
/// assert!(lan.contains("::ffff:10.1.2.3".parse().unwrap()));
/// assert!(!lan.contains("11.0.0.1".parse().unwrap()));
/// let host: Cidr = "127.0.0.4".parse().unwrap(); // one address: /32
/// assert_eq!(host.to_string(), "127.0.0.4/32");
/// assert!("10.0.0.1/8".parse::<Cidr>().is_err()); // host bits set: say 10.0.0.0/8
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// Why a [`Cidr`] was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CidrError(String);

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CidrError {}

fn bits(addr: IpAddr) -> (u128, u8) {
    match addr {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    }
}

fn mask(prefix: u8, width: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        (u128::MAX << (128 - u32::from(prefix))) >> (128 - u32::from(width))
    }
}

impl Cidr {
    /// The range of `prefix` leading bits of `addr`. Refused when the prefix is longer than
    /// the address or `addr` has bits set past it (`10.0.0.1/8`: write `10.0.0.0/8`).
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Cidr, CidrError> {
        let (value, width) = bits(addr);
        if prefix > width {
            return Err(CidrError(format!(
                "{addr}/{prefix}: prefix longer than {width}"
            )));
        }
        if value & !mask(prefix, width) & (u128::MAX >> (128 - u32::from(width))) != 0 {
            return Err(CidrError(format!(
                "{addr}/{prefix}: address bits set past the prefix"
            )));
        }
        Ok(Cidr { addr, prefix })
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// True when `ip` is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let (net, width) = bits(self.addr);
        let (value, ip_width) = bits(ip);
        width == ip_width && value & mask(self.prefix, width) == net
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// `ADDR/PREFIX`, or a bare address for a range of one.
    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| CidrError(format!("{s}: not an IP address")))?;
        let prefix = match prefix {
            None => bits(addr).1,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse()
                .map_err(|_| CidrError(format!("{s}: bad prefix length")))?,
            Some(_) => return Err(CidrError(format!("{s}: bad prefix length"))),
        };
        Cidr::new(addr, prefix)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::Cidr;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_hold_the_addresses_of_their_prefix() {
        assert!(c("0.0.0.0/0").contains("203.0.113.9".parse().unwrap()));
        assert!(!c("0.0.0.0/0").contains("::1".parse().unwrap()));
        assert!(c("192.168.4.0/22").contains("192.168.7.255".parse().unwrap()));
        assert!(!c("192.168.4.0/22").contains("192.168.8.0".parse().unwrap()));
        assert!(c("2001:db8::/32").contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!c("2001:db8::/32").contains("2001:db9::".parse().unwrap()));
        assert!(c("::/0").contains("::1".parse().unwrap()));
        assert!(c("::1").contains("::1".parse().unwrap()));
        assert!(c("127.0.0.4").contains("::ffff:127.0.0.4".parse().unwrap()));
        assert!(!c("127.0.0.4").contains("127.0.0.5".parse().unwrap()));
    }

    #[test]
    fn malformed_ranges_are_refused() {
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0.1/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/0008",
            "10.0.0/8",
            "example.com/8",
            "2001:db8::1/32",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        assert_eq!(c("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(c("2001:db8::/32").prefix(), 32);
    }
}
