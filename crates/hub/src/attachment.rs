//! The hub's side of an attached transport: where it awaits the packets to write, and where a
//! connection that holds its session hands over what the client sent.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::time::{Instant, timeout_at};

use ferrio_protocol::{Packet, TransportKind};

use crate::encoded::Batch;
use crate::generation::Generation;
use crate::hub::HubInner;
use crate::metrics::HubMetrics;
use crate::reason::DisconnectReason;
use crate::session::{AttachMode, Session, Take};
use crate::shutdown::Shutdown;

/// A transport attached to a session. At most one is current per session; attaching another
/// supersedes this one (docs/protocol.md §8 #6). Dropping it detaches the transport: the close
/// timeout starts and packets wait in the session's outbox for the next one.
#[derive(Debug)]
pub struct Attachment {
    pub(crate) hub: Weak<HubInner>,
    pub(crate) session: Arc<Session>,
    pub(crate) generation: u64,
    pub(crate) mode: AttachMode,
    pub(crate) kind: TransportKind,
    pub(crate) metrics: Arc<HubMetrics>,
    pub(crate) shutdown: Arc<Shutdown>,
    pub(crate) polling_duration: Duration,
    /// Nothing more comes: an atomic only so that the stream wait can take `&self`.
    pub(crate) finished: AtomicBool,
}

impl Attachment {
    /// The transport this attachment is.
    pub fn kind(&self) -> TransportKind {
        self.kind
    }

    /// The session this transport serves.
    pub fn session_id(&self) -> &str {
        &self.session.id
    }

    /// The wire generation of the session this transport serves.
    pub fn generation(&self) -> Generation {
        self.session.generation
    }

    /// Waits for the next packets to write.
    ///
    /// - `Poll` mode yields one batch and then `None`: what was buffered, else the first
    ///   packet to arrive, else `8::` at the polling deadline, or `8::` at once when a newer
    ///   poll superseded this one.
    /// - `Stream` mode yields batches (heartbeats included) until the session ends or a newer
    ///   transport supersedes this one, then `None`.
    ///
    /// `None` in either mode before any batch means the session is over. While the hub shuts
    /// down, that is also how a transport learns that everything queued for its session has
    /// been handed to it: the session ended when it came back and found nothing more.
    pub async fn next_batch(&mut self) -> Option<Batch> {
        match self.mode {
            AttachMode::Poll => self.next_poll_batch().await,
            AttachMode::Stream => self.next_stream_batch().await,
        }
    }

    /// [`Attachment::next_batch`] for a `Stream` attachment, in a smaller future, since
    /// there is no polling deadline to sleep on. A transport that holds thousands of idle
    /// connections awaits this one; on a `Poll` attachment it waits without a deadline.
    ///
    /// It borrows the attachment shared, so a connection can hand what the client sends to
    /// [`Attachment::ingest`] while it waits.
    pub async fn next_stream_batch(&self) -> Option<Batch> {
        let mut waited = false;
        loop {
            let notified = self.session.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(result) = self.settle(waited) {
                return result;
            }
            notified.await;
            waited = true;
        }
    }

    /// The same wait, given up at the polling deadline with `8::`.
    async fn next_poll_batch(&self) -> Option<Batch> {
        let deadline = Instant::now() + self.polling_duration;
        match timeout_at(deadline, self.next_stream_batch()).await {
            Ok(batch) => batch,
            Err(_deadline_passed) => {
                self.finish();
                self.session.detach(self.generation);
                Some(Batch::noop(self.session.generation))
            }
        }
    }

    /// What the transport gets now, if anything: `None` to keep waiting.
    fn settle(&self, waited: bool) -> Option<Option<Batch>> {
        if self.finished.load(Ordering::Relaxed) {
            return Some(None);
        }
        let flushing = self.shutdown.is_flushing();
        match self
            .session
            .take(self.generation, self.mode, waited, flushing)
        {
            Take::Batch(batch, finished_lingering) => {
                self.metrics
                    .packets_out(self.kind, self.session.generation, batch.packets());
                if finished_lingering {
                    self.forget_session();
                }
                if self.mode == AttachMode::Poll {
                    self.finish();
                }
                Some(Some(batch))
            }
            Take::Superseded => {
                self.finish();
                Some((self.mode == AttachMode::Poll).then(|| Batch::noop(self.session.generation)))
            }
            Take::Closed { finished_lingering } => {
                if finished_lingering {
                    self.forget_session();
                }
                self.finish();
                Some(None)
            }
            Take::Flushed(closed) => {
                if let Some(hub) = self.hub.upgrade() {
                    hub.ended(&self.session, closed, DisconnectReason::ServerShutdown);
                }
                self.finish();
                Some(None)
            }
            Take::Empty => None,
        }
    }

    fn finish(&self) {
        // Only this attachment's own waits read the flag; it orders nothing else.
        self.finished.store(true, Ordering::Relaxed);
    }

    /// Handles packets the client sent over this transport's connection, as [`Hub::ingest`]
    /// does, but with the session this attachment already holds rather than a lookup by id.
    /// During a shutdown they are refused, as there; the connection has no answer to give
    /// them, so they go unacknowledged.
    ///
    /// [`Hub::ingest`]: crate::Hub::ingest
    pub fn ingest(&self, packets: Vec<Packet>) {
        if let Some(hub) = self.hub.upgrade() {
            // A refusal is logged by the hub; the client sees no ack.
            let _ = hub.accept(&self.session, packets);
        }
    }

    /// Handles Engine.IO packets the client sent over this transport's connection, as
    /// [`Hub::ingest_engine`] does, without a lookup by id.
    ///
    /// [`Hub::ingest_engine`]: crate::Hub::ingest_engine
    pub fn ingest_engine(&self, packets: Vec<ferrio_eio::Packet>) {
        if let Some(hub) = self.hub.upgrade() {
            // A refusal is logged by the hub; the client sees no ack.
            let _ = hub.accept_engine(&self.session, packets);
        }
    }

    /// Ends the session for what the client sent over this transport's connection (a packet
    /// of another protocol than its session's), unless a newer transport has taken over. The
    /// transport learns it as any end: its wait for packets returns `None`.
    pub fn fail(&self, reason: DisconnectReason) {
        if !self.session.is_current(self.generation) {
            return;
        }
        if let Some(hub) = self.hub.upgrade() {
            hub.end(&self.session, reason, false);
        }
    }

    /// Puts `batch` back at the front of the session's outbox, for a transport that took it
    /// but cannot write it; the next transport gets it first.
    pub fn unread(&self, batch: Batch) {
        self.session.requeue(batch);
    }

    /// Ends the session because this transport's connection ended (streaming transports),
    /// unless a newer transport has taken over meanwhile.
    pub fn close(self, reason: DisconnectReason) {
        if !self.session.is_current(self.generation) {
            return;
        }
        if let Some(hub) = self.hub.upgrade() {
            hub.end(&self.session, reason, false);
        }
    }

    fn forget_session(&self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.forget(&self.session);
        }
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        self.session.detach(self.generation);
    }
}
