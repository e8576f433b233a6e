//! Waiting without hanging: a whole test body bounded ([`within`]), and a probe repeated until
//! what it gives is right or the time is up ([`retry_until`]).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// Runs a test's body, failing the test when it takes longer than `limit`: a request or poll
/// that hangs fails instead of hanging the run.
pub async fn within<F: Future>(limit: Duration, body: F) -> F::Output {
    tokio::time::timeout(limit, body)
        .await
        .unwrap_or_else(|_| panic!("the test took longer than {limit:?}"))
}

/// Runs `probe` until `done` holds for what it gives, pausing `pause` between tries, for as
/// long as `timeout` allows (at least one try): `Ok` with the value that satisfied `done`, or
/// `Err` with the last value when the time ran out, for the failure message. For state that
/// changes a moment after the request that changes it (counters, stats, a freed slot).
pub async fn retry_until<T>(
    timeout: Duration,
    pause: Duration,
    mut probe: impl AsyncFnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> Result<T, T> {
    let deadline = Instant::now() + timeout;
    loop {
        let value = probe().await;
        if done(&value) {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(value);
        }
        tokio::time::sleep(pause).await;
    }
}
