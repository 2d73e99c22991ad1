//! Which IP addresses deliveries may reach. Webhook URLs come from the sender's customers, so without this an
//! endpoint could point the service at its own network (SSRF). Checked after DNS resolution, on the address
//! actually connected to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Networks that are not globally routable (RFC 6890 and friends): loopback, private, link-local, CGNAT,
/// documentation, benchmarking, multicast, reserved.
const BLOCKED: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

#[derive(Debug, Clone)]
pub struct AddressPolicy {
    blocked: Vec<IpNet>,
    allowed: Vec<IpNet>,
}

impl AddressPolicy {
    /// Blocks every non-global address except those in `allowed` (e.g. `127.0.0.0/8` in development).
    pub fn new(allowed: Vec<IpNet>) -> Self {
        let blocked = BLOCKED.iter().filter_map(|n| n.parse().ok()).collect();
        Self { blocked, allowed }
    }

    /// Allows everything: for tests of the worker that deliver to loopback.
    pub fn allow_all() -> Self {
        Self {
            blocked: Vec::new(),
            allowed: Vec::new(),
        }
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        // An IPv6 address that carries an IPv4 one reaches (through a translator or a tunnel) the IPv4 host:
        // judge that one, by the same rules.
        let ip = match ip {
            IpAddr::V6(v6) => embedded_ipv4(v6).map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.allowed.iter().any(|n| n.contains(&ip)) || !self.blocked.iter().any(|n| n.contains(&ip))
    }
}

/// The IPv4 address an IPv6 one stands for, in the forms that reach it: IPv4-mapped (`::ffff:0:0/96`),
/// IPv4-compatible (`::/96`, deprecated but still routed by some stacks), NAT64 well-known prefix
/// (`64:ff9b::/96`, RFC 6052) and 6to4 (`2002::/16`, the IPv4 in bits 16–47). `::` and `::1` are not
/// IPv4-compatible: they keep their own IPv6 meaning (and are blocked as such). The local-use NAT64 prefix
/// `64:ff9b:1::/48` (RFC 8215) embeds at an operator-chosen length, so it is blocked whole instead.
fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let ipv4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let low = ipv4(s[6], s[7]);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0, _, _] => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, hi, lo, ..] => Some(ipv4(hi, lo)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_non_global_unless_allowed() {
        let policy = AddressPolicy::new(vec!["127.0.0.0/8".parse().expect("valid net")]);
        let cases = [
            ("93.184.216.34", true),
            ("2606:2800:220:1::1", true),
            ("127.0.0.1", true),
            ("10.1.2.3", false),
            ("172.20.0.1", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("0.0.0.0", false),
            ("::1", false),
            ("fe80::1", false),
            ("fd00::1", false),
            ("::ffff:10.0.0.1", false),
            ("::ffff:127.0.0.1", true),
            ("224.0.0.1", false),
        ];
        for (ip, expected) in cases {
            assert_eq!(policy.permits(ip.parse().expect("valid ip")), expected, "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_of_ipv4_are_judged_as_the_ipv4() {
        let policy = AddressPolicy::new(Vec::new());
        let cases = [
            // NAT64, well-known prefix (RFC 6052).
            ("64:ff9b::7f00:1", false),
            ("64:ff9b::10.0.0.1", false),
            ("64:ff9b::169.254.169.254", false),
            ("64:ff9b::93.184.216.34", true),
            // NAT64, local-use prefix (RFC 8215): blocked whole.
            ("64:ff9b:1::7f00:1", false),
            ("64:ff9b:1::5db8:d822", false),
            // IPv4-compatible (deprecated).
            ("::127.0.0.1", false),
            ("::192.168.0.1", false),
            ("::93.184.216.34", true),
            // IPv4-mapped.
            ("::ffff:127.0.0.1", false),
            ("::ffff:93.184.216.34", true),
            // 6to4: the IPv4 is in bits 16-47.
            ("2002:7f00:1::", false),
            ("2002:a00:1::1", false),
            ("2002:c0a8:101::", false),
            ("2002:5db8:d822::1", true),
            // Not IPv4-compatible: the unspecified and loopback addresses.
            ("::", false),
            ("::1", false),
        ];
        for (ip, expected) in cases {
            assert_eq!(policy.permits(ip.parse().expect("valid ip")), expected, "{ip}");
        }
    }

    #[test]
    fn an_allowed_ipv4_is_allowed_in_every_ipv6_form() {
        let policy = AddressPolicy::new(vec!["127.0.0.0/8".parse().expect("valid net")]);
        for ip in [
            "64:ff9b::7f00:1",
            "::127.0.0.1",
            "2002:7f00:1::",
            "::ffff:127.0.0.1",
        ] {
            assert!(policy.permits(ip.parse().expect("valid ip")), "{ip}");
        }
    }
}
