//! [`NodeAddr`]: where one node's RPC interface answers.

use std::fmt;
use std::str::FromStr;

/// The address of one node's RPC interface, `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeAddr {
    host: String,
    port: u16,
}

impl NodeAddr {
    /// From parts.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        NodeAddr {
            host: host.into(),
            port,
        }
    }

    /// Host part (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https://host:port`, as `[service] url` takes it.
    pub fn url(&self) -> String {
        self.base()
    }

    pub(super) fn base(&self) -> String {
        if self.host.contains(':') {
            format!("https://[{}]:{}", self.host, self.port)
        } else {
            format!("https://{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for NodeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl serde::Serialize for NodeAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for NodeAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl FromStr for NodeAddr {
    type Err = String;

    /// Accepts `host:port`, `[v6]:port` or `https://host:port[/]`; refuses plain `http://`
    /// because CCF only serves HTTPS.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let rest = if let Some(r) = s.strip_prefix("https://") {
            r
        } else if s.starts_with("http://") {
            return Err(format!(
                "{s:?} uses http://: CCF nodes only serve HTTPS, use https://"
            ));
        } else if s.contains("://") {
            return Err(format!("{s:?}: only https:// addresses are supported"));
        } else {
            s
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            return Err(format!(
                "{s:?}: give the node address only (host:port), without a path"
            ));
        }
        let (host, port) = if let Some(r) = rest.strip_prefix('[') {
            let (h, p) = r
                .split_once("]:")
                .ok_or_else(|| format!("{s:?} is not [ipv6]:port"))?;
            (h, p)
        } else {
            rest.rsplit_once(':')
                .ok_or_else(|| format!("{s:?} has no port (expected host:port)"))?
        };
        if host.is_empty() {
            return Err(format!("{s:?} has an empty host"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{s:?} has an invalid port {port:?}"))?;
        if port == 0 {
            return Err(format!("{s:?}: port 0 is not a node address"));
        }
        Ok(NodeAddr {
            host: host.to_string(),
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_addresses() {
        assert_eq!(
            "10.0.0.4:8000".parse::<NodeAddr>().unwrap(),
            NodeAddr::new("10.0.0.4", 8000)
        );
        assert_eq!(
            "https://n1.example:443/".parse::<NodeAddr>().unwrap(),
            NodeAddr::new("n1.example", 443)
        );
        let v6 = "[::1]:8080".parse::<NodeAddr>().unwrap();
        assert_eq!(v6.host(), "::1");
        assert_eq!(v6.to_string(), "[::1]:8080");
        assert_eq!(v6.base(), "https://[::1]:8080");
        let e = "http://10.0.0.4:8000".parse::<NodeAddr>().unwrap_err();
        assert!(e.contains("https://"), "{e}");
        assert!("10.0.0.4".parse::<NodeAddr>().is_err());
        assert!("10.0.0.4:0".parse::<NodeAddr>().is_err());
        assert!("10.0.0.4:99999".parse::<NodeAddr>().is_err());
        assert!("https://h:1/app".parse::<NodeAddr>().is_err());
    }
}
