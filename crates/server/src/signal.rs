//! The shutdown signal of a process that serves a gateway.

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what `docker stop` and Kubernetes send): the
/// `shutdown` future to give [`Server::serve`](crate::Server::serve) or [`run`](crate::run).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
