//! Churners: sessions that come, say a few lines, and go. Each handshakes, opens its
//! transport, says `--churn-lines` lines (waiting to hear each one back, so the line is known
//! to have been accepted and broadcast), then leaves in one of three ways.

use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;

use super::ledger::{Ledger, Said};
use crate::chat;
use crate::client::{Ctx, Session, Transport};
use crate::error::{Error, Result};

/// How a churner leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub(crate) enum Exit {
    /// `0::`, then the transport is closed: the session ends at once.
    Clean,
    /// The connections are dropped without a word (a websocket without a close frame; a
    /// polling session in the middle of a GET): the server notices the transport gone and
    /// ends the session after its close timeout.
    Drop,
    /// The client stops reading and holds its connections for `--stall` seconds before
    /// dropping them: a websocket that never answers a heartbeat, a polling session that
    /// sends no further GET.
    Stall,
}

impl Exit {
    /// The name in the report.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Exit::Clean => "clean",
            Exit::Drop => "drop",
            Exit::Stall => "stall",
        }
    }
}

/// What one churner is to do.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Its number in the run (its speaker name is `c<number>`).
    pub(crate) number: u64,
    /// Its transport.
    pub(crate) transport: Transport,
    /// How it leaves.
    pub(crate) exit: Exit,
    /// Lines it says.
    pub(crate) lines: u64,
    /// Time between its lines.
    pub(crate) every: Duration,
    /// How long a stalling churner holds its connections.
    pub(crate) stall: Duration,
    /// Padding of each line.
    pub(crate) pad: Arc<str>,
}

/// Runs one churner; an error is a failure of the run, since until it leaves a churner is a
/// healthy client.
pub(crate) async fn churn(ctx: Arc<Ctx>, plan: Plan, ledger: Arc<Ledger>) -> Result<()> {
    let nome = format!("c{}", plan.number);
    let failed = |error: Error| {
        Error::Closed(format!(
            "churner {nome} ({}, leaving by {}): {error}",
            plan.transport.name(),
            plan.exit.name()
        ))
    };
    let mut http = ctx.http().await.map_err(failed)?;
    let mut session = Session::open(&ctx, plan.transport, &mut http)
        .await
        .map_err(failed)?;
    drop(http);
    ledger.speaker(&nome, Said::talking(false));
    let (mut sent, mut echoed) = (0, 0);
    let talk = async {
        for seq in 1..=plan.lines {
            if seq > 1 {
                tokio::time::sleep(plan.every).await;
            }
            let line = chat::say(&nome, seq, ctx.micros(), &plan.pad);
            sent += 1;
            ctx.within("a churner saying a line", session.send(&line))
                .await?;
            loop {
                let packet = ctx
                    .within("a churner waiting to hear its line", session.recv())
                    .await?;
                let heard = chat::heard(&packet)?;
                if heard.nome != nome {
                    continue;
                }
                if heard.seq != seq {
                    return Err(Error::Ordering(format!(
                        "said line {seq} and heard line {} back",
                        heard.seq
                    )));
                }
                echoed += 1;
                break;
            }
        }
        Ok(())
    };
    let talked = talk.await;
    // A line sent but not heard back may or may not have reached the others.
    ledger.speaker(&nome, Said::between(echoed, sent));
    talked.map_err(failed)?;
    match plan.exit {
        Exit::Clean => session.leave().await.map_err(failed)?,
        Exit::Drop => drop(session),
        Exit::Stall => {
            session.stop_reading();
            tokio::time::sleep(plan.stall).await;
            drop(session);
        }
    }
    Ok(())
}
