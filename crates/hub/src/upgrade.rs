//! An Engine.IO session's move from polling to a WebSocket: the WebSocket answers the
//! client's probe, the poll is let go with a `noop`, and the client's `upgrade` packet makes
//! the WebSocket the session's transport.

use std::sync::{Arc, Weak};

use ferrio_protocol::TransportKind;
use tracing::debug;

use crate::attachment::Attachment;
use crate::hub::HubInner;
use crate::reason::DisconnectReason;
use crate::session::{AttachMode, Phase, Session};

/// A WebSocket upgrading an Engine.IO session ([`Hub::upgrade_engine`]). While it lives no
/// other WebSocket may upgrade the session; dropped before [`EngineUpgrade::complete`], the
/// session polls on and may be upgraded later.
///
/// [`Hub::upgrade_engine`]: crate::Hub::upgrade_engine
#[derive(Debug)]
pub struct EngineUpgrade {
    hub: Weak<HubInner>,
    session: Arc<Session>,
    /// Completed or failed: nothing to undo on drop.
    settled: bool,
}

impl EngineUpgrade {
    pub(crate) fn new(hub: Weak<HubInner>, session: Arc<Session>) -> Self {
        EngineUpgrade {
            hub,
            session,
            settled: false,
        }
    }

    /// The session being upgraded.
    pub fn session_id(&self) -> &str {
        &self.session.id
    }

    /// The WebSocket answered the client's probe (`3probe`): a poll of the session that
    /// waits, or comes, is answered with a `noop`, so that the client pauses polling.
    pub fn probed(&self) {
        self.session.upgrade_probed();
    }

    /// Resolves once the session has ended (a ping timeout, a kick, a shutdown): the
    /// upgrading WebSocket then has nothing to wait for.
    pub async fn session_ended(&self) {
        loop {
            let notified = self.session.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.session.phase() == Phase::Closed {
                return;
            }
            notified.await;
        }
    }

    /// The client sent `upgrade` (`5`) after its probe: the WebSocket becomes the session's
    /// transport for good, superseding any poll, and gets what the session holds. `None`
    /// when the WebSocket was never probed (the session then ends: its client broke the
    /// protocol) or the session ended meanwhile.
    pub fn complete(mut self, kind: TransportKind) -> Option<Attachment> {
        self.settled = true;
        let hub = self.hub.upgrade()?;
        if !self.session.upgrade_done() {
            debug!(sid = %self.session.id, "upgrade packet without a probe: the session ends");
            hub.end(&self.session, DisconnectReason::TransportError, false);
            return None;
        }
        hub.attach_engine_session(Arc::clone(&self.session), kind, AttachMode::Stream)
            .ok()
    }

    /// The client broke the upgrade's protocol: the session ends with `reason`.
    pub fn fail(mut self, reason: DisconnectReason) {
        self.settled = true;
        if let Some(hub) = self.hub.upgrade() {
            hub.end(&self.session, reason, false);
        }
    }
}

impl Drop for EngineUpgrade {
    fn drop(&mut self) {
        if !self.settled {
            self.session.upgrade_abandoned();
        }
    }
}
