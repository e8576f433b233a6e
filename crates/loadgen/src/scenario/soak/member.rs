//! The healthy crowd: sessions that stay the whole run, each saying a line every
//! `--say-every-ms` and hearing everyone's, until they are told to go quiet (stop saying, go
//! on hearing) and then to leave (`0::`). Any end of a member's session before it leaves, any
//! packet that is not a chat line, and any failed write is a failure of the run.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use super::ledger::{Ledger, Said};
use crate::chat;
use crate::client::{Ctx, Session, Transport};
use crate::error::{Error, Result};

/// Where the crowd is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Saying and hearing.
    Chatting,
    /// Hearing only, until the ledger is complete.
    Quiet,
    /// Leaving.
    Done,
}

/// One healthy member, before it starts.
#[derive(Debug)]
pub(crate) struct Member {
    /// Its index in the ledger.
    pub(crate) index: usize,
    /// Its transport.
    pub(crate) transport: Transport,
    /// Its session, connected.
    pub(crate) session: Session,
}

/// What a member did, once it has left.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Left {
    /// Lines it said.
    pub(crate) said: u64,
    /// Heartbeats it answered.
    pub(crate) heartbeats: u64,
}

/// The speaker name of member `index`.
pub(crate) fn nome(index: usize) -> String {
    format!("h{index}")
}

/// Runs one member until the crowd is done; its first line comes `offset` after the start, so
/// that the crowd's lines are spread over the interval.
pub(crate) async fn chat(
    ctx: Arc<Ctx>,
    member: Member,
    ledger: Arc<Ledger>,
    mut phase: watch::Receiver<Phase>,
    every: Duration,
    offset: Duration,
    pad: String,
) -> Result<Left> {
    let Member {
        index,
        transport,
        session,
    } = member;
    let sid = session.sid().to_owned();
    let failed = |error: Error| {
        Error::Closed(format!(
            "healthy member {index} ({}, {sid}): {error}",
            transport.name()
        ))
    };
    let nome = nome(index);
    ledger.speaker(&nome, Said::talking(false));
    let (outbound, mut inbound) = session.split();
    let mut tick = tokio::time::interval_at(Instant::now() + offset, every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut said = 0;
    let mut saying = true;
    loop {
        tokio::select! {
            _ = tick.tick(), if saying => {
                said += 1;
                let line = chat::say(&nome, said, ctx.micros(), &pad);
                outbound.send(line).await.map_err(failed)?;
            }
            changed = phase.changed() => {
                let now = match changed {
                    Ok(()) => *phase.borrow_and_update(),
                    Err(_) => Phase::Done,
                };
                if saying && now != Phase::Chatting {
                    saying = false;
                    ledger.speaker(&nome, Said::between(said, said));
                }
                if now == Phase::Done {
                    break;
                }
            }
            packet = inbound.recv() => {
                let packet = packet.map_err(failed)?;
                let line = chat::heard(&packet).map_err(failed)?;
                ledger.heard(index, line, ctx.micros());
            }
        }
    }
    outbound.send("0::".to_owned()).await.map_err(failed)?;
    let written = ctx
        .within("a member leaving", outbound.finish())
        .await
        .map_err(failed)?;
    if written != said + 1 {
        return Err(failed(Error::Closed(format!(
            "wrote {written} of its {} packets",
            said + 1
        ))));
    }
    Ok(Left {
        said,
        heartbeats: inbound.heartbeats(),
    })
}
