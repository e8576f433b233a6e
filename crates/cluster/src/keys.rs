//! The Redis keys of one cluster. Every key carries the cluster name as its hash tag
//! (`{name}`), so they all live in one slot: a Redis Cluster serves them from one shard and
//! multi-key commands stay legal, and two clusters with different names share one Redis.

/// The keys of the cluster named `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(name: &str) -> Self {
        Keys {
            prefix: format!("fio:{{{name}}}:"),
        }
    }

    /// The broadcast bus, a stream.
    pub(crate) fn bus(&self) -> String {
        format!("{}bus", self.prefix)
    }

    /// Live nodes by the time of their last heartbeat (milliseconds since the epoch), a
    /// sorted set.
    pub(crate) fn nodes(&self) -> String {
        format!("{}nodes", self.prefix)
    }

    /// What node `id` says of itself, expiring unless renewed.
    pub(crate) fn node(&self, id: &str) -> String {
        format!("{}node:{id}", self.prefix)
    }

    /// A pattern matching every key of the cluster, for tests and operators.
    pub(crate) fn pattern(&self) -> String {
        format!("{}*", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_carries_the_cluster_name_as_its_hash_tag() {
        let keys = Keys::new("chat");
        for key in [keys.bus(), keys.nodes(), keys.node("a1b2c3")] {
            assert!(key.starts_with("fio:{chat}:"), "{key}");
        }
        assert_eq!(keys.node("a1b2c3"), "fio:{chat}:node:a1b2c3");
        assert_eq!(keys.pattern(), "fio:{chat}:*");
    }
}
