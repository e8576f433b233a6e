//! Typed, async event handlers, in the idiom of axum's extractors: a handler is any function
//! whose arguments can each be taken from the event ([`FromEvent`]) and which returns a
//! future, registered with [`Namespace::on`](crate::Namespace::on).
//!
//! A handler's future is polled once at once, on the task of the request that carried the
//! event, so everything it does before its first `.await` that waits happens in the order the
//! client sent its events, and a handler that never waits costs no task. Only a handler that
//! does wait is handed to the runtime as a task of its own, where it goes on by itself.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Waker};

use ferrio_protocol::{Packet, PacketBody};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tracing::{Instrument, error, info};

use crate::socket::{AckSender, Socket};

/// One client event on its way to a typed handler: what its extractors take from.
#[derive(Debug)]
pub struct EventCall {
    socket: Socket,
    event: Arc<str>,
    args: Option<Vec<Value>>,
    ack: Option<AckSender>,
    /// The id of the ack the client asked for, kept apart from the [`AckSender`] an extractor
    /// may take, so that refused arguments can still be answered.
    ack_id: Option<u64>,
}

impl EventCall {
    pub(crate) fn new(
        socket: Socket,
        event: Arc<str>,
        args: Vec<Value>,
        ack: Option<AckSender>,
    ) -> Self {
        let ack_id = ack.as_ref().map(AckSender::id);
        EventCall {
            socket,
            event,
            args: Some(args),
            ack,
            ack_id,
        }
    }

    /// The socket the event came from.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The event's name.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The event's arguments, for the one extractor that reads them; `None` once taken.
    pub fn take_args(&mut self) -> Option<Vec<Value>> {
        self.args.take()
    }

    /// The ack the client asked for, for the one extractor that answers it; `None` when it
    /// asked for none, or once taken.
    pub fn take_ack(&mut self) -> Option<AckSender> {
        self.ack.take()
    }

    /// An event whose arguments did not fit its handler: the handler does not run, the
    /// event is counted and logged (sampled), and a client that asked for an ack gets one
    /// with the error, so its callback does not wait for nothing.
    fn refuse(self, error: ArgumentError) {
        let hub = self.socket.hub();
        hub.metrics.invalid_arguments();
        if let Some(suppressed) = hub.limit_logs.invalid_arguments.admit() {
            info!(
                sid = self.socket.id(),
                namespace = self.socket.namespace(),
                event = %self.event,
                %error,
                suppressed,
                "event arguments do not fit the handler; it did not run"
            );
        }
        if let Some(id) = self.ack_id {
            let packet = Packet::on(
                self.socket.namespace(),
                PacketBody::Ack {
                    acked: id,
                    args: Some(vec![error.to_json()]),
                },
            );
            self.socket.push_packet(&packet);
        }
    }
}

/// A value a typed handler takes as an argument, taken from the event.
pub trait FromEvent: Sized {
    /// Takes the value from `call`; an error refuses the event (see [`ArgumentError`]).
    fn from_event(call: &mut EventCall) -> Result<Self, ArgumentError>;
}

/// The event's arguments read as `T`: the one argument the client sent
/// (`socket.emit('e', {…})`), `null` when it sent none (so `Option<T>` and `()` take that),
/// the array of them when it sent several (so a tuple takes `emit('e', 'a', 2)`).
///
/// Arguments that do not read as `T` refuse the event: the handler does not run, the
/// metric `ferrio_events_invalid_arguments_total` counts it, a sampled log line names it,
/// and when the client asked for an ack it gets one whose one argument is
/// `{"error":"invalid arguments","event":…,"reason":…}`. A handler that would rather answer
/// such events itself takes [`TryData`].
///
/// The rule goes by how many arguments came, so: a `Data<(T,)>` never takes one argument
/// (that one is read as `T`, not as an array), a `Data<(A, Option<B>)>` wants both when the
/// client may leave the second out (take [`Args`] for optional trailing arguments), and a
/// `Data<Vec<T>>` reads `emit('e', [1, 2])` and `emit('e', 1, 2)` alike. One handler reads
/// the arguments once: after a `Data`, `TryData` or `Args`, another `Data` refuses every
/// event and another `TryData` gets an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data<T>(pub T);

/// [`Data`] that hands the handler the error instead of refusing the event.
#[derive(Debug)]
pub struct TryData<T>(pub Result<T, ArgumentError>);

/// The event's arguments as the client sent them, any number of JSON values.
#[derive(Debug, Clone, PartialEq)]
pub struct Args(pub Vec<Value>);

/// Arguments that do not read as what a handler takes.
#[derive(Debug, thiserror::Error)]
#[error("the arguments of `{event}` do not fit the handler: {reason}")]
pub struct ArgumentError {
    event: Arc<str>,
    reason: String,
}

/// The most of a reason kept: the JSON reader quotes what the client sent, which the log and
/// the client's ack need not get back whole.
const MAX_REASON_CHARS: usize = 200;

impl ArgumentError {
    /// An error for `call`'s arguments, for an extractor of your own that refuses them;
    /// `reason` is cut to 200 characters.
    pub fn new(call: &EventCall, reason: impl std::fmt::Display) -> Self {
        let mut reason = reason.to_string();
        if let Some((cut, _)) = reason.char_indices().nth(MAX_REASON_CHARS) {
            reason.truncate(cut);
            reason.push('…');
        }
        ArgumentError {
            event: Arc::clone(&call.event),
            reason,
        }
    }

    /// The event whose arguments did not fit.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// Why, as the JSON reader put it (`missing field \`msg\``, …).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// What a client that asked for an ack gets back.
    pub fn to_json(&self) -> Value {
        json!({ "error": "invalid arguments", "event": &*self.event, "reason": self.reason })
    }
}

/// Arguments read as `T` by the rule of [`Data`]: one is itself, none is `null`, several are
/// an array.
pub(crate) fn from_args<T: DeserializeOwned>(mut args: Vec<Value>) -> serde_json::Result<T> {
    let value = match args.len() {
        0 => Value::Null,
        1 => args.pop().unwrap_or_default(),
        _ => Value::Array(args),
    };
    serde_json::from_value(value)
}

fn read_args<T: DeserializeOwned>(call: &mut EventCall) -> Result<T, ArgumentError> {
    let args = call
        .take_args()
        .ok_or_else(|| ArgumentError::new(call, "the arguments were read already"))?;
    from_args(args).map_err(|error| ArgumentError::new(call, error))
}

impl<T: DeserializeOwned> FromEvent for Data<T> {
    fn from_event(call: &mut EventCall) -> Result<Self, ArgumentError> {
        read_args(call).map(Data)
    }
}

impl<T: DeserializeOwned> FromEvent for TryData<T> {
    fn from_event(call: &mut EventCall) -> Result<Self, ArgumentError> {
        Ok(TryData(read_args(call)))
    }
}

impl FromEvent for Args {
    fn from_event(call: &mut EventCall) -> Result<Self, ArgumentError> {
        let args = call
            .take_args()
            .ok_or_else(|| ArgumentError::new(call, "the arguments were read already"))?;
        Ok(Args(args))
    }
}

impl FromEvent for Socket {
    fn from_event(call: &mut EventCall) -> Result<Self, ArgumentError> {
        Ok(call.socket.clone())
    }
}

/// The ack, when the client asked for one with data (`socket.emit('e', data, fn)`).
impl FromEvent for Option<AckSender> {
    fn from_event(call: &mut EventCall) -> Result<Self, ArgumentError> {
        Ok(call.take_ack())
    }
}

/// A function that handles an event: `async` (it returns a future), each of its arguments
/// a [`FromEvent`]. `T` is the tuple of the argument types, which only tells the
/// implementations for each count of arguments apart.
pub trait EventHandler<T>: Send + Sync + 'static {
    /// Takes the arguments from `call` and runs the handler (see the module's notes), or
    /// refuses the event when one cannot be taken.
    fn call(&self, call: EventCall);
}

macro_rules! event_handler {
    ($($arg:ident $value:ident),*) => {
        impl<F, Fut, $($arg),*> EventHandler<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
            $($arg: FromEvent,)*
        {
            #[allow(unused_mut, unused_variables)]
            fn call(&self, mut call: EventCall) {
                $(
                    let $value = match $arg::from_event(&mut call) {
                        Ok(value) => value,
                        Err(error) => return call.refuse(error),
                    };
                )*
                drive(self($($value),*));
            }
        }
    };
}

event_handler!();
event_handler!(A1 a1);
event_handler!(A1 a1, A2 a2);
event_handler!(A1 a1, A2 a2, A3 a3);
event_handler!(A1 a1, A2 a2, A3 a3, A4 a4);
event_handler!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5);

/// Polls a handler's (or a hook's) future once here; if it waits, hands it to the runtime,
/// whose first poll gives it the task's waker (the no-op one of this first poll is never
/// woken).
pub(crate) fn drive(future: impl Future<Output = ()> + Send + 'static) {
    let mut future = Box::pin(future);
    if future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_ready()
    {
        return;
    }
    match tokio::runtime::Handle::try_current() {
        // In the span of the request that carried it, as its first part ran.
        Ok(runtime) => drop(runtime.spawn(future.in_current_span())),
        Err(_) => error!("a handler or hook waited outside a Tokio runtime; its rest is dropped"),
    }
}
