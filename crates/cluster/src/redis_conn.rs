//! The cluster's Redis, one endpoint (`redis://…`, `rediss://…`) or a Redis Cluster given by
//! some of its nodes (`redis+cluster://host:port,host:port`): the connections the registry, the
//! appender and the reader use, whichever it is. Every key of a ferrio cluster shares one hash
//! tag, so on a Redis Cluster they all live in one slot and pipelines stay legal.

use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisFuture, Value};

use crate::ClusterError;

/// How long connecting to a Redis node may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a command may take to be answered (not a blocking read).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// The reader's response timeout on a Redis Cluster, which cannot be turned off: longer than
/// any blocking read, which has its own guard.
const READER_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// The scheme that names a Redis Cluster by some of its nodes.
const CLUSTER_SCHEMES: [(&str, &str); 2] = [
    ("redis+cluster://", "redis://"),
    ("rediss+cluster://", "rediss://"),
];

/// Where the cluster's Redis is.
#[derive(Debug, Clone)]
pub(crate) enum Endpoint {
    /// One Redis (a primary, or a proxy in front of one).
    Single(redis::Client),
    /// A Redis Cluster, reached through some of its nodes.
    Cluster(Vec<String>),
}

impl Endpoint {
    /// Reads `url`: a Redis URL, or `redis+cluster://` with comma-separated `host:port` seeds.
    pub(crate) fn parse(url: &str) -> Result<Self, ClusterError> {
        for (scheme, node_scheme) in CLUSTER_SCHEMES {
            if let Some(seeds) = url.strip_prefix(scheme) {
                let nodes: Vec<String> = seeds
                    .trim_end_matches('/')
                    .split(',')
                    .filter(|seed| !seed.is_empty())
                    .map(|seed| format!("{node_scheme}{seed}"))
                    .collect();
                if nodes.is_empty() {
                    return Err(ClusterError::Url("names no Redis Cluster node".into()));
                }
                // Each seed must parse as a Redis URL on its own.
                ClusterClient::new(nodes.clone())
                    .map_err(|error| ClusterError::Url(error.to_string()))?;
                return Ok(Endpoint::Cluster(nodes));
            }
        }
        redis::Client::open(url)
            .map(Endpoint::Single)
            .map_err(|error| ClusterError::Url(error.to_string()))
    }

    /// A connection for commands, reconnecting by itself.
    pub(crate) async fn commands(&self) -> Result<Commands, ClusterError> {
        match self {
            Endpoint::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_secs(1));
                let manager = ConnectionManager::new_with_config(client.clone(), config).await?;
                Ok(Commands::Single(manager))
            }
            Endpoint::Cluster(nodes) => Ok(Commands::Cluster(
                cluster_client(nodes, RESPONSE_TIMEOUT)?
                    .get_async_connection()
                    .await?,
            )),
        }
    }

    /// A connection of its own for blocking reads.
    pub(crate) async fn reader(&self) -> Result<Commands, ClusterError> {
        match self {
            Endpoint::Single(client) => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(None);
                Ok(Commands::Reader(
                    client
                        .get_multiplexed_async_connection_with_config(&config)
                        .await?,
                ))
            }
            Endpoint::Cluster(nodes) => Ok(Commands::Cluster(
                cluster_client(nodes, READER_RESPONSE_TIMEOUT)?
                    .get_async_connection()
                    .await?,
            )),
        }
    }
}

fn cluster_client(
    nodes: &[String],
    response_timeout: Duration,
) -> Result<ClusterClient, ClusterError> {
    ClusterClient::builder(nodes.to_vec())
        .connection_timeout(CONNECT_TIMEOUT)
        .response_timeout(response_timeout)
        .build()
        .map_err(|error| ClusterError::Url(error.to_string()))
}

/// A connection to the cluster's Redis, whichever kind.
#[derive(Clone)]
pub(crate) enum Commands {
    /// One Redis, reconnecting.
    Single(ConnectionManager),
    /// One Redis, a connection of its own with no response timeout.
    Reader(MultiplexedConnection),
    /// A Redis Cluster, routing by key and following its slots.
    Cluster(ClusterConnection),
}

impl std::fmt::Debug for Commands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Commands::Single(_) => "Commands::Single",
            Commands::Reader(_) => "Commands::Reader",
            Commands::Cluster(_) => "Commands::Cluster",
        })
    }
}

impl ConnectionLike for Commands {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Commands::Single(connection) => connection.req_packed_command(cmd),
            Commands::Reader(connection) => connection.req_packed_command(cmd),
            Commands::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Commands::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Commands::Reader(connection) => connection.req_packed_commands(pipeline, offset, count),
            Commands::Cluster(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Commands::Single(connection) => connection.get_db(),
            Commands::Reader(connection) => connection.get_db(),
            Commands::Cluster(connection) => connection.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_url_names_its_seed_nodes() {
        match Endpoint::parse("redis+cluster://10.0.0.1:7000,10.0.0.2:7000/").unwrap() {
            Endpoint::Cluster(nodes) => {
                assert_eq!(nodes, ["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Endpoint::parse("redis://127.0.0.1:6379/").unwrap(),
            Endpoint::Single(_)
        ));
        assert!(Endpoint::parse("redis+cluster://").is_err());
        assert!(Endpoint::parse("http://nope").is_err());
    }
}
