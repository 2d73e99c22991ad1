//! Which IP addresses deliveries may reach. Webhook URLs come from the sender's customers, so without this an
//! endpoint could point the service at its own network (SSRF). Checked after DNS resolution, on the address
//! actually connected to.

use std::net::IpAddr;

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
        // An IPv4-mapped IPv6 address reaches the IPv4 host: judge that one.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.allowed.iter().any(|n| n.contains(&ip)) || !self.blocked.iter().any(|n| n.contains(&ip))
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
}
