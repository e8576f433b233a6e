//! What the conformance application observed ([`Observation`], recorded in the server's
//! [`Log`]): predicates that pick one observation out ([`disconnected`], [`any_connection`]…)
//! and the assertions that wait for one.

use std::time::Duration;

use ferrio_hub::DisconnectReason;
use ferrio_server::apps::conformance::{Log, Observation};

use crate::TestServer;

/// Matches the application's record of `sid` leaving the default namespace for `reason`.
pub fn disconnected(sid: &str, reason: DisconnectReason) -> impl Fn(&Observation) -> bool {
    disconnected_from(sid, "", reason)
}

/// Matches the application's record of `sid` leaving `namespace` (`""` for the default one)
/// for `reason`.
pub fn disconnected_from(
    sid: &str,
    namespace: &str,
    reason: DisconnectReason,
) -> impl Fn(&Observation) -> bool {
    let (sid, namespace) = (sid.to_owned(), namespace.to_owned());
    move |o| {
        matches!(o, Observation::Disconnect { sid: s, namespace: n, reason: r }
            if *s == sid && *n == namespace && *r == reason)
    }
}

/// Matches the application's record of any disconnect of `sid`, from any namespace.
pub fn any_disconnect(sid: &str) -> impl Fn(&Observation) -> bool {
    let sid = sid.to_owned();
    move |o| matches!(o, Observation::Disconnect { sid: s, .. } if *s == sid)
}

/// Matches the application's record of `sid` connecting to `namespace` (`""` for the default
/// one).
pub fn connected_to(sid: &str, namespace: &str) -> impl Fn(&Observation) -> bool {
    let (sid, namespace) = (sid.to_owned(), namespace.to_owned());
    move |o| {
        matches!(o, Observation::Connection { sid: s, namespace: n, .. }
            if *s == sid && *n == namespace)
    }
}

/// Matches the application's record of `sid` connecting to any namespace.
pub fn any_connection(sid: &str) -> impl Fn(&Observation) -> bool {
    let sid = sid.to_owned();
    move |o| matches!(o, Observation::Connection { sid: s, .. } if *s == sid)
}

/// Whether `observation` records a connection, of any session to any namespace: for checking
/// that a refused request connected nothing.
pub fn is_connection(observation: &Observation) -> bool {
    matches!(observation, Observation::Connection { .. })
}

/// Whether the application recorded any disconnect of `sid`.
pub fn any_disconnect_of(log: &Log, sid: &str) -> bool {
    log.entries().iter().any(any_disconnect(sid))
}

impl TestServer {
    /// Asserts that the application records an observation matching `predicate` within
    /// `timeout`, and returns it; the failure shows the whole log.
    pub async fn assert_observed(
        &self,
        timeout: Duration,
        predicate: impl Fn(&Observation) -> bool,
    ) -> Observation {
        match self.log.wait_for(timeout, predicate).await {
            Some(found) => found,
            None => panic!(
                "no matching observation within {timeout:?}: {:?}",
                self.log.entries()
            ),
        }
    }

    /// Asserts that the application records `sid` leaving `namespace` (`""` for the default
    /// one) for `reason` within `timeout`.
    pub async fn assert_disconnected(
        &self,
        timeout: Duration,
        sid: &str,
        namespace: &str,
        reason: DisconnectReason,
    ) {
        self.assert_observed(timeout, disconnected_from(sid, namespace, reason))
            .await;
    }
}
