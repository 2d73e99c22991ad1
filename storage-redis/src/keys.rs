//! The key prefix. Keys that must be touched together atomically share a `{hash tag}` so that they live in one
//! Redis Cluster slot; each module documents its own layout.

#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// `<prefix>:<part>:<part>…`
    pub fn key(&self, parts: &[&str]) -> String {
        let mut k =
            String::with_capacity(self.prefix.len() + parts.iter().map(|p| p.len() + 1).sum::<usize>());
        k.push_str(&self.prefix);
        for part in parts {
            k.push(':');
            k.push_str(part);
        }
        k
    }

    /// A hash tag: `{<prefix>:<value>}`; every key built with the same tag lives in the same cluster slot.
    pub fn tag(&self, value: &str) -> String {
        format!("{{{}:{}}}", self.prefix, value)
    }
}
