//! The registry of live nodes: a key per node (`SET … PX ttl`, renewed by every heartbeat)
//! and a sorted set of ids by last heartbeat, from which the live nodes are counted and the
//! dead ones pruned.
//!
//! A node whose heartbeat comes later than its registration's lifetime was stopped (a
//! `SIGSTOP`, a frozen VM) long enough for the others to take it for dead: it fences itself,
//! ending its sessions and joining again under a new id, so no session id it minted is ever
//! served by two nodes. A node that merely cannot reach Redis keeps its id and its sessions.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use ferrio_hub::{DisconnectReason, Hub};
use serde_json::json;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, warn};

use crate::metrics::ClusterMetrics;
use crate::node_id::random_node_id;
use crate::redis_conn::Commands;
use crate::{ClusterError, Shared};

/// Attempts at a node id no live node holds before giving up (24 bits each: a collision is
/// already rare).
const REGISTER_ATTEMPTS: usize = 16;

/// How long a node remembers which node serves a session it forwarded a request for.
const OWNER_MEMORY: std::time::Duration = std::time::Duration::from_secs(600);

/// Milliseconds since the epoch, the registry's clock.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// What a node says of itself in its key, for operators reading Redis.
fn description(shared: &Shared, id: &str, hub: &Hub) -> String {
    json!({
        "node": id,
        "version": env!("CARGO_PKG_VERSION"),
        "started_ms": shared.started_ms,
        "sessions": hub.session_count(),
        "link": shared.link_addr,
    })
    .to_string()
}

fn ttl_ms(shared: &Shared) -> u64 {
    u64::try_from(shared.config.node_ttl.as_millis()).unwrap_or(u64::MAX)
}

/// Registers under a fresh id no live node holds and returns it.
pub(crate) async fn register(
    shared: &Shared,
    commands: &mut Commands,
    hub: &Hub,
) -> Result<Arc<str>, ClusterError> {
    for _ in 0..REGISTER_ATTEMPTS {
        let id = random_node_id();
        if claim(shared, commands, &id, hub).await? {
            return Ok(id.into());
        }
    }
    Err(ClusterError::Refused(
        "no free node id after 16 attempts".into(),
    ))
}

/// Takes node id `id` if no live node holds it; `false` when one does.
async fn claim(
    shared: &Shared,
    commands: &mut Commands,
    id: &str,
    hub: &Hub,
) -> Result<bool, ClusterError> {
    let taken: Option<String> = redis::cmd("SET")
        .arg(shared.keys.node(id))
        .arg(description(shared, id, hub))
        .arg("NX")
        .arg("PX")
        .arg(ttl_ms(shared))
        .query_async(commands)
        .await?;
    if taken.is_none() {
        return Ok(false);
    }
    redis::cmd("ZADD")
        .arg(shared.keys.nodes())
        .arg(now_ms())
        .arg(id)
        .query_async::<()>(commands)
        .await?;
    Ok(true)
}

/// What a heartbeat found.
enum Beat {
    /// The registration is renewed; this many nodes are live.
    Renewed { live: u64 },
    /// Another node holds this node's id now.
    IdLost,
}

/// Renews the registration and counts the live nodes. A key that is gone while this node
/// was running (Redis restarted without persistence, or unreachable past the expiry) is
/// taken again under the same id: its sessions are still here and still its own.
async fn beat(shared: &Shared, commands: &mut Commands, hub: &Hub) -> Result<Beat, ClusterError> {
    let id = shared.node_id();
    let renewed: Option<String> = redis::cmd("SET")
        .arg(shared.keys.node(&id))
        .arg(description(shared, &id, hub))
        .arg("XX")
        .arg("PX")
        .arg(ttl_ms(shared))
        .query_async(commands)
        .await?;
    if renewed.is_none() && !claim(shared, commands, &id, hub).await? {
        return Ok(Beat::IdLost);
    }
    let now = now_ms();
    let live_since = now.saturating_sub(ttl_ms(shared));
    let (_, _, live): ((), (), u64) = redis::pipe()
        .cmd("ZADD")
        .arg(shared.keys.nodes())
        .arg(now)
        .arg(&*id)
        .cmd("ZREMRANGEBYSCORE")
        .arg(shared.keys.nodes())
        .arg("-inf")
        .arg(format!("({live_since}"))
        .cmd("ZCARD")
        .arg(shared.keys.nodes())
        .query_async(commands)
        .await?;
    Ok(Beat::Renewed { live })
}

/// Heartbeats until `stopped`, fencing the node after a pause past its expiry.
pub(crate) async fn heartbeats(
    shared: Arc<Shared>,
    mut commands: Commands,
    hub: Hub,
    mut stopped: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(shared.config.heartbeat);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_tick = Instant::now();
    loop {
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            _ = ticks.tick() => {}
        }
        let now = Instant::now();
        let paused = now.duration_since(last_tick) > shared.config.node_ttl;
        shared
            .owners
            .retain(|_, (_, learned)| learned.elapsed() < OWNER_MEMORY);
        last_tick = now;
        let result = if paused || !shared.is_ready() {
            // Stopped past the expiry, or a fence that failed half-way: only a new id is safe.
            fence(&shared, &mut commands, &hub).await
        } else {
            match beat(&shared, &mut commands, &hub).await {
                Ok(Beat::Renewed { live }) => {
                    shared.metrics.nodes_live.store(live, Ordering::Relaxed);
                    Ok(())
                }
                Ok(Beat::IdLost) => {
                    warn!(node = %shared.node_id(), "node id taken by another node");
                    fence(&shared, &mut commands, &hub).await
                }
                Err(error) => Err(error),
            }
        };
        match result {
            Ok(()) => shared.metrics.redis_up.store(true, Ordering::Relaxed),
            Err(error) => {
                ClusterMetrics::add(&shared.metrics.heartbeats_failed, 1);
                if shared.metrics.redis_up.swap(false, Ordering::Relaxed) {
                    warn!(%error, "cluster heartbeat failed; serving on, retrying");
                } else {
                    debug!(%error, "cluster heartbeat failed again");
                }
            }
        }
    }
}

/// Ends every session and joins again under a new id. Until it has one the node is not
/// ready, and its old id is left to expire: the other nodes may already have counted it dead.
async fn fence(shared: &Shared, commands: &mut Commands, hub: &Hub) -> Result<(), ClusterError> {
    let old = shared.node_id();
    if shared.is_ready() {
        shared.set_ready(false);
        let ended = hub.end_all(DisconnectReason::NodeFenced);
        ClusterMetrics::add(&shared.metrics.fenced, 1);
        warn!(
            node = %old,
            sessions = ended.sessions,
            "stopped past the cluster's expiry: sessions ended, joining under a new id"
        );
    }
    let id = register(shared, commands, hub).await?;
    // The old key may still be there if Redis was as stopped as this node; it is not ours,
    // and if it cannot be removed now it expires on its own.
    let _ = forget(shared, commands, &old).await;
    shared.set_node_id(Arc::clone(&id));
    shared.set_ready(true);
    warn!(old = %old, node = %id, "fenced: serving again under a new node id");
    Ok(())
}

/// Removes this node from the registry.
pub(crate) async fn deregister(shared: &Shared, commands: &mut Commands) {
    let id = shared.node_id();
    if let Err(error) = forget(shared, commands, &id).await {
        warn!(node = %id, %error, "could not deregister; the registration expires on its own");
    }
}

/// Removes node `id`'s key and its place in the set of nodes.
async fn forget(shared: &Shared, commands: &mut Commands, id: &str) -> redis::RedisResult<()> {
    redis::pipe()
        .cmd("DEL")
        .arg(shared.keys.node(id))
        .cmd("ZREM")
        .arg(shared.keys.nodes())
        .arg(id)
        .query_async(commands)
        .await
}

/// The link address node `id` registered, if it is registered.
pub(crate) async fn link_address(shared: &Shared, id: &str) -> Option<String> {
    let description: Option<String> = redis::cmd("GET")
        .arg(shared.keys.node(id))
        .query_async(&mut shared.commands.clone())
        .await
        .ok()?;
    let description: serde_json::Value = serde_json::from_str(&description?).ok()?;
    Some(description.get("link")?.as_str()?.to_owned())
}

/// The ids of the nodes whose last heartbeat is within the registration's lifetime.
pub(crate) async fn live_nodes(shared: &Shared) -> Vec<String> {
    let since = now_ms().saturating_sub(ttl_ms(shared));
    redis::cmd("ZRANGEBYSCORE")
        .arg(shared.keys.nodes())
        .arg(since)
        .arg("+inf")
        .query_async(&mut shared.commands.clone())
        .await
        .unwrap_or_default()
}
