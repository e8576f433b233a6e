//! The bus: one Redis Stream every broadcast of every node is appended to (`XADD … MAXLEN ~`),
//! and that every node reads from its last position on.
//!
//! An entry is `n` (origin node id), `q` (the origin's sequence number) and `m` (the
//! message — a broadcast, or an emit to or a kick of one session — as JSON in the hub's
//! wire-neutral form). One task per node appends, in the
//! order the hub published, retrying while Redis is away for up to the publish retry time;
//! a broadcast given up then is counted here, and seen as a gap by every reader. One task
//! reads, on a connection of its own (a blocking read would stall every other command of a
//! shared one), skipping its own entries, skipping duplicates (an append retried after it
//! had landed) and counting gaps. A reader cut off from Redis reconnects and goes on from its
//! last position: what was appended meanwhile is read then, not lost.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ferrio_hub::{ClusterMessage, Hub};
use redis::streams::{StreamId, StreamReadReply};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::metrics::ClusterMetrics;
use crate::redis_conn::{Commands, Endpoint};
use crate::sequence::{Sequences, Verdict};
use crate::{ClusterError, Shared};

/// Entries appended in one pipeline at most.
const APPEND_BATCH: usize = 256;
/// Entries one read takes at most.
const READ_COUNT: usize = 512;
/// How long one blocking read waits for entries: also how soon the reader sees a stop.
const READ_BLOCK: Duration = Duration::from_secs(1);
/// A blocking read that has not answered this long after its block is over is taken for a
/// dead connection.
const READ_GRACE: Duration = Duration::from_secs(5);
/// Waits between attempts while Redis is away.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Origins not heard from this long are forgotten (nodes that left).
const ORIGIN_SILENCE: Duration = Duration::from_secs(3600);

/// A broadcast waiting to be appended.
#[derive(Debug)]
pub(crate) struct Outgoing {
    payload: String,
    queued: Instant,
}

/// A broadcast with its place in the origin's sequence, once the appender has numbered it.
#[derive(Debug)]
struct Numbered {
    origin: Arc<str>,
    seq: u64,
    payload: String,
    queued: Instant,
}

/// Queues `message` for the appender; never blocks. Past `max_pending` waiting, the
/// message is given up at once, counted and logged.
pub(crate) fn enqueue(shared: &Shared, message: &ClusterMessage) {
    let pending = shared.metrics.pending.load(Ordering::Relaxed);
    let payload = match serde_json::to_string(message) {
        Ok(payload) => payload,
        // A JSON value always serializes; nothing to send if it somehow did not.
        Err(error) => {
            warn!(%error, "broadcast could not be serialized for the cluster");
            return;
        }
    };
    if pending >= shared.config.max_pending as u64 {
        give_up(shared, 1, "too many broadcasts waiting for Redis");
        return;
    }
    ClusterMetrics::add(&shared.metrics.pending, 1);
    let outgoing = Outgoing {
        payload,
        queued: Instant::now(),
    };
    if shared.outgoing.send(outgoing).is_err() {
        // The node has left the cluster: nobody appends any more.
        shared.metrics.pending.fetch_sub(1, Ordering::Relaxed);
        give_up(shared, 1, "the node has left the cluster");
    }
}

/// Counts and logs (by sample) broadcasts that will never be appended.
fn give_up(shared: &Shared, count: u64, why: &str) {
    ClusterMetrics::add(&shared.metrics.dropped, count);
    if let Some(suppressed) = shared.dropped_log.admit() {
        warn!(
            count,
            why, suppressed, "broadcasts not carried to the other nodes"
        );
    }
}

/// The bus's last entry id now: where a joining node starts reading, so it delivers only
/// what is broadcast from now on.
pub(crate) async fn tail(shared: &Shared, commands: &mut Commands) -> Result<String, ClusterError> {
    let last: StreamRange = redis::cmd("XREVRANGE")
        .arg(shared.keys.bus())
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(commands)
        .await?;
    Ok(last
        .ids
        .into_iter()
        .next()
        .map_or_else(|| "0-0".to_owned(), |entry| entry.id))
}

type StreamRange = redis::streams::StreamRangeReply;

/// Appends what the hub publishes, in order, until `stopped`; then appends what is still
/// queued, for at most the publish retry time.
pub(crate) async fn publish(
    shared: Arc<Shared>,
    mut commands: Commands,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut batch: Vec<Numbered> = Vec::with_capacity(APPEND_BATCH);
    loop {
        if batch.is_empty() {
            tokio::select! {
                biased;
                received = queue.recv() => match received {
                    Some(outgoing) => batch.push(number(&shared, outgoing)),
                    None => return,
                },
                _ = stopped.wait_for(|stop| *stop) => break,
            }
        }
        while batch.len() < APPEND_BATCH {
            match queue.try_recv() {
                Ok(outgoing) => batch.push(number(&shared, outgoing)),
                Err(_) => break,
            }
        }
        append_or_give_up(&shared, &mut commands, &mut batch).await;
    }
    // Stopping: what is queued still goes, within the retry time.
    queue.close();
    while let Some(outgoing) = queue.recv().await {
        batch.push(number(&shared, outgoing));
        if batch.len() == APPEND_BATCH {
            append_or_give_up(&shared, &mut commands, &mut batch).await;
        }
    }
    append_or_give_up(&shared, &mut commands, &mut batch).await;
}

/// Numbers a broadcast in this node's sequence. Numbering here, on the one appending task,
/// keeps the numbers in the order of the stream.
fn number(shared: &Shared, outgoing: Outgoing) -> Numbered {
    Numbered {
        origin: shared.node_id(),
        seq: shared.next_seq.fetch_add(1, Ordering::Relaxed),
        payload: outgoing.payload,
        queued: outgoing.queued,
    }
}

/// Appends `batch` in one pipeline, retrying while Redis is away; broadcasts older than the
/// publish retry time are given up between attempts. Returns with `batch` empty.
async fn append_or_give_up(shared: &Shared, commands: &mut Commands, batch: &mut Vec<Numbered>) {
    let mut backoff = BACKOFF_MIN;
    while !batch.is_empty() {
        let mut pipe = redis::pipe();
        for entry in batch.iter() {
            pipe.cmd("XADD")
                .arg(shared.keys.bus())
                .arg("MAXLEN")
                .arg("~")
                .arg(shared.config.bus_maxlen)
                .arg("*")
                .arg("n")
                .arg(&*entry.origin)
                .arg("q")
                .arg(entry.seq)
                .arg("m")
                .arg(&entry.payload)
                .ignore();
        }
        match pipe.query_async::<()>(commands).await {
            Ok(()) => {
                let count = batch.len() as u64;
                ClusterMetrics::add(&shared.metrics.appended, count);
                shared.metrics.pending.fetch_sub(count, Ordering::Relaxed);
                batch.clear();
            }
            Err(error) => {
                ClusterMetrics::add(&shared.metrics.append_retries, 1);
                debug!(%error, entries = batch.len(), "bus append failed; retrying");
                let deadline = shared.config.publish_retry;
                let before = batch.len();
                batch.retain(|entry| entry.queued.elapsed() < deadline);
                let expired = (before - batch.len()) as u64;
                if expired > 0 {
                    shared.metrics.pending.fetch_sub(expired, Ordering::Relaxed);
                    give_up(
                        shared,
                        expired,
                        "Redis unreachable past the publish retry time",
                    );
                }
                if !batch.is_empty() {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }
}

/// The reading side's own connection: no response timeout, since a blocking read is meant to
/// wait; a dead connection is caught by [`READ_GRACE`] instead.
pub(crate) struct Reader {
    connection: Option<Commands>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("connected", &self.connection.is_some())
            .finish()
    }
}

impl Reader {
    pub(crate) async fn connect(endpoint: &Endpoint) -> Result<Reader, ClusterError> {
        Ok(Reader {
            connection: Some(endpoint.reader().await?),
        })
    }
}

/// Reads the bus from `position` until `stopped`, delivering other nodes' broadcasts to
/// `hub`.
pub(crate) async fn read(
    shared: Arc<Shared>,
    endpoint: Endpoint,
    mut reader: Reader,
    mut position: String,
    hub: Hub,
    mut stopped: watch::Receiver<bool>,
) {
    let mut sequences = Sequences::default();
    let mut backoff = BACKOFF_MIN;
    let mut last_prune = Instant::now();
    let key = shared.keys.bus();
    loop {
        if *stopped.borrow() {
            return;
        }
        let Some(connection) = reader.connection.as_mut() else {
            tokio::select! {
                _ = stopped.wait_for(|stop| *stop) => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
            match Reader::connect(&endpoint).await {
                Ok(connected) => {
                    reader = connected;
                    debug!(%position, "bus reader reconnected; catching up");
                }
                Err(error) => debug!(%error, "bus reader cannot reach Redis yet"),
            }
            continue;
        };
        let mut command = redis::cmd("XREAD");
        command
            .arg("COUNT")
            .arg(READ_COUNT)
            .arg("BLOCK")
            .arg(READ_BLOCK.as_millis() as u64)
            .arg("STREAMS")
            .arg(&key)
            .arg(&position);
        let read = command.query_async::<Option<StreamReadReply>>(connection);
        let reply = tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            reply = tokio::time::timeout(READ_BLOCK + READ_GRACE, read) => reply,
        };
        match reply {
            Ok(Ok(reply)) => {
                backoff = BACKOFF_MIN;
                for stream in reply.into_iter().flat_map(|reply| reply.keys) {
                    for entry in stream.ids {
                        position.clone_from(&entry.id);
                        take(&shared, &mut sequences, &hub, &entry);
                    }
                }
            }
            Ok(Err(error)) => {
                warn!(%error, "bus read failed; reconnecting");
                reader.connection = None;
            }
            Err(_) => {
                warn!("bus read did not answer; reconnecting");
                reader.connection = None;
            }
        }
        if last_prune.elapsed() > ORIGIN_SILENCE {
            sequences.forget_silent(std::time::Instant::now(), ORIGIN_SILENCE);
            last_prune = Instant::now();
        }
    }
}

/// Delivers one entry read from the bus, unless it is this node's own, a duplicate or not a
/// broadcast; counts the gap before it, if any.
fn take(shared: &Shared, sequences: &mut Sequences, hub: &Hub, entry: &StreamId) {
    let metrics = &shared.metrics;
    let (Some(origin), Some(seq), Some(payload)) = (
        entry.get::<String>("n"),
        entry.get::<u64>("q"),
        entry.get::<String>("m"),
    ) else {
        ClusterMetrics::add(&metrics.malformed, 1);
        warn!(id = %entry.id, "bus entry without origin, sequence or message; skipped");
        return;
    };
    if shared.is_own(&origin) {
        return;
    }
    ClusterMetrics::add(&metrics.read, 1);
    match sequences.observe(&origin, seq, std::time::Instant::now()) {
        Verdict::Duplicate => {
            ClusterMetrics::add(&metrics.duplicates, 1);
            return;
        }
        Verdict::Deliver { missed } if missed > 0 => {
            ClusterMetrics::add(&metrics.gaps, 1);
            ClusterMetrics::add(&metrics.missed, missed);
            warn!(
                origin = %origin,
                missed,
                "broadcasts of another node never reached the bus or were trimmed before this node read them"
            );
        }
        Verdict::Deliver { .. } => {}
    }
    match serde_json::from_str::<ClusterMessage>(&payload) {
        Ok(message) => {
            let delivered = hub.apply_from_cluster(message);
            ClusterMetrics::add(&metrics.delivered, delivered as u64);
        }
        Err(error) => {
            ClusterMetrics::add(&metrics.malformed, 1);
            warn!(id = %entry.id, %error, "bus entry is not a broadcast; skipped");
        }
    }
}
