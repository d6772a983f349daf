//! `TRUSTED_PROXIES` (a leaf): which peers' `X-Forwarded-For` is believed,
//! and the client address a request line logs. Behind a trusted proxy the
//! client is the first hop, read from the right, that is not itself a
//! trusted proxy; from any other peer the header is ignored (anyone can
//! forge it), and the client is the peer.

use std::net::IpAddr;

/// An address block: an address and how many leading bits must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    base: IpAddr,
    bits: u8,
}

impl Cidr {
    /// `10.0.0.0/8`, `fd00::/8`, or a bare address (all its bits).
    ///
    /// # Errors
    /// A message saying what is wrong with `text`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (addr, bits) = match text.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (text, None),
        };
        let base: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max,
            Some(b) => b
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("{text:?} has a prefix length outside 0-{max}"))?,
        };
        Ok(Self { base, bits })
    }

    /// Whether `ip` is in this block (an IPv4-mapped IPv6 address counts as
    /// its IPv4 address).
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.base, ip) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                prefix_matches(&base.octets(), &ip.octets(), self.bits)
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                prefix_matches(&base.octets(), &ip.octets(), self.bits)
            }
            _ => false,
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn prefix_matches(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    let rest = bits % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xff_u8 << (8 - rest);
    (a[full] & mask) == (b[full] & mask)
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// The blocks of a comma-separated list (`TRUSTED_PROXIES`).
    ///
    /// # Errors
    /// The first entry that is not an address or a block.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(Cidr::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether `ip` is a trusted proxy.
    #[must_use]
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client of a request from `peer` carrying these
    /// `X-Forwarded-For` values (in header order).
    #[must_use]
    pub fn client(&self, peer: Option<IpAddr>, forwarded: &[&str]) -> Option<IpAddr> {
        let peer = peer.map(canonical)?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let hops: Vec<IpAddr> = forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .filter_map(|h| h.trim().parse::<IpAddr>().ok())
            .map(canonical)
            .collect();
        // From the nearest hop back: the first one no trusted proxy is.
        hops.iter()
            .rev()
            .copied()
            .find(|ip| !self.trusts(*ip))
            .or_else(|| hops.first().copied())
            .or(Some(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn blocks_match_their_prefix() {
        let c = Cidr::parse("10.1.0.0/16").expect("cidr");
        assert!(c.contains(ip("10.1.200.3")));
        assert!(!c.contains(ip("10.2.0.1")));
        assert!(c.contains(ip("::ffff:10.1.0.9")), "mapped IPv4");
        assert!(Cidr::parse("fd00::/8").expect("v6").contains(ip("fd12::1")));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .expect("all")
                .contains(ip("8.8.8.8"))
        );
        assert!(
            Cidr::parse("127.0.0.1")
                .expect("bare")
                .contains(ip("127.0.0.1"))
        );
        assert!(
            !Cidr::parse("10.0.0.0/9")
                .expect("odd")
                .contains(ip("10.128.0.1"))
        );
        for bad in ["10.0.0.0/33", "nope", "10.0.0/8", "::/129", ""] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_client_is_the_first_untrusted_hop() {
        let t = TrustedProxies::parse("127.0.0.0/8, 10.0.0.0/8").expect("list");
        let c = |peer: &str, xff: &[&str]| t.client(Some(ip(peer)), xff).map(|i| i.to_string());
        assert_eq!(
            c("192.0.2.1", &["203.0.113.9"]).as_deref(),
            Some("192.0.2.1"),
            "untrusted peer"
        );
        assert_eq!(
            c("127.0.0.1", &["203.0.113.9"]).as_deref(),
            Some("203.0.113.9")
        );
        assert_eq!(
            c("127.0.0.1", &["198.51.100.1, 203.0.113.9, 10.0.0.2"]).as_deref(),
            Some("203.0.113.9"),
            "a forged left hop is not believed"
        );
        assert_eq!(
            c("127.0.0.1", &["10.0.0.3", "10.0.0.2"]).as_deref(),
            Some("10.0.0.3")
        );
        assert_eq!(c("127.0.0.1", &[]).as_deref(), Some("127.0.0.1"));
        assert_eq!(c("127.0.0.1", &["garbage"]).as_deref(), Some("127.0.0.1"));
        assert!(TrustedProxies::parse("10.0.0.0/8,bad").is_err());
    }
}
