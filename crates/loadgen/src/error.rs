//! What can go wrong in a run. Every error ends the scenario: the JSON line says `ok: false`
//! with the error's kind and message, and the process exits non-zero.

use std::fmt;

/// A failed run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// Bad arguments or an environment the scenario cannot run in.
    #[error("{0}")]
    Setup(String),
    /// A socket error.
    #[error("i/o error during {context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// A WebSocket error (handshake refused, malformed frame, reset…).
    #[error("websocket: {0}")]
    WebSocket(Box<tokio_tungstenite::tungstenite::Error>),
    /// The server answered HTTP that is not what the protocol says.
    #[error("http: {0}")]
    Http(String),
    /// The server sent something the protocol (or the chat app) does not allow here.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The server closed a session or connection the scenario still needed.
    #[error("closed: {0}")]
    Closed(String),
    /// A message was lost, duplicated or delivered out of order.
    #[error("ordering: {0}")]
    Ordering(String),
    /// Something did not happen in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Reading the server process's figures failed (it exited?).
    #[error("server process: {0}")]
    Probe(String),
    /// The run went to its end but failed its checks (a soak: lines lost, healthy clients cut
    /// off, memory not given back); the run's figures come with it.
    #[error("{message}")]
    Verdict {
        /// Every check that failed.
        message: String,
        /// The fields of the JSON line the run would have printed.
        figures: Box<serde_json::Value>,
    },
}

impl Error {
    /// A short machine-readable kind for the JSON line.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Error::Setup(_) => "setup",
            Error::Io { .. } => "io",
            Error::WebSocket(_) => "websocket",
            Error::Http(_) => "http",
            Error::Protocol(_) => "protocol",
            Error::Closed(_) => "closed",
            Error::Ordering(_) => "ordering",
            Error::Timeout(_) => "timeout",
            Error::Probe(_) => "probe",
            Error::Verdict { .. } => "verdict",
        }
    }

    /// The figures of a run that went to its end, if this error comes with them.
    pub(crate) fn figures(&self) -> Option<&serde_json::Value> {
        match self {
            Error::Verdict { figures, .. } => Some(figures),
            _ => None,
        }
    }

    /// An i/o error with what was being done.
    pub(crate) fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> Error {
        move |source| Error::Io { context, source }
    }

    /// A protocol error from anything printable.
    pub(crate) fn protocol(what: impl fmt::Display) -> Error {
        Error::Protocol(what.to_string())
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for Error {
    fn from(error: tokio_tungstenite::tungstenite::Error) -> Self {
        Error::WebSocket(Box::new(error))
    }
}

/// The loadgen's result type.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
