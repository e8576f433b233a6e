//! `soak`: minutes of mixed transports and churn through the chat app, judged on three counts:
//! no line lost, no healthy client cut off, and the server's memory back near where it was.
//!
//! 1. The healthy crowd opens (`--healthy-websocket`, `--healthy-xhr-polling`,
//!    `--healthy-jsonp-polling`) and chats for the whole run, each member saying a line every
//!    `--say-every-ms` and keeping a ledger of every line it hears.
//! 2. A warm-up wave of churners (and, with `--hostile`, one hostile client of each kind)
//!    runs to its end; after `--settle` seconds, and with `--admin` once `ferrio_sessions` is
//!    back to the crowd, the **baseline** is the median of five readings one second apart
//!    (RSS, jemalloc's figures): what the crowd costs with every lazily grown pool grown.
//! 3. For `--minutes`, a wave of `--wave` churners starts every `--wave-every` seconds; each
//!    says `--churn-lines` lines and leaves cleanly, by dropping its connections or by
//!    stalling, over each transport in turn. Every `--hostile-every` waves the hostile clients
//!    come again. The server is read every two seconds (the **peak**).
//! 4. Once the last churner and hostile client are gone, the same settling; the **settled**
//!    figures are read as the baseline was.
//! 5. The crowd goes quiet, the ledger is checked (every line of every speaker heard by every
//!    member exactly once and in order), and the crowd leaves.
//!
//! The run fails on any lost, repeated or misordered line, any healthy member or churner
//! failing before it chose to leave, any hostile client the server did not cut off within
//! `--hostile-hold`, sessions left over after settling, or (with `--server-pid`) a settled
//! RSS more than `--rss-tolerance` percent above the baseline. Failed or not, the JSON line
//! carries every figure.

mod churner;
mod hostile;
mod ledger;
mod member;
mod memory;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use self::churner::{Exit, Plan};
use self::hostile::Outcome;
use self::ledger::{Audit, Failures, Ledger};
use self::member::{Left, Member, Phase};
use self::memory::{Counters, Gauge, STEADY_EVERY, STEADY_READINGS, growth_pct};
use super::{Common, open_sessions, positive, seconds};
use crate::client::{Ctx, Transport};
use crate::error::{Error, Result};
use crate::net::check_loopback;
use crate::probe::Probe;
use crate::stats::{round1, round3};

/// How often the server is read during the load.
const READ_EVERY: Duration = Duration::from_secs(2);
/// How often a reading is kept in the report's series.
const SERIES_EVERY: Duration = Duration::from_secs(10);
/// How often a progress line goes to stderr.
const PROGRESS_EVERY: Duration = Duration::from_secs(30);
/// How long the crowd's leaving may take.
const LEAVING: Duration = Duration::from_secs(10);

/// Flags of `soak`.
#[derive(Debug, Clone, Args)]
pub(crate) struct SoakArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Minutes of churn, between the warm-up and the settling.
    #[arg(long, default_value_t = 3.0)]
    pub(crate) minutes: f64,
    /// Healthy members over websocket.
    #[arg(long, default_value_t = 10)]
    pub(crate) healthy_websocket: usize,
    /// Healthy members over xhr-polling.
    #[arg(long, default_value_t = 6)]
    pub(crate) healthy_xhr_polling: usize,
    /// Healthy members over jsonp-polling.
    #[arg(long, default_value_t = 2)]
    pub(crate) healthy_jsonp_polling: usize,
    /// Milliseconds between two lines of one member or churner.
    #[arg(long, default_value_t = 500)]
    pub(crate) say_every_ms: u64,
    /// Padding characters added to each line.
    #[arg(long, default_value_t = 64)]
    pub(crate) payload: usize,
    /// Churners started at once in each wave.
    #[arg(long, default_value_t = 40)]
    pub(crate) wave: usize,
    /// Seconds between the starts of two waves.
    #[arg(long, default_value_t = 5.0)]
    pub(crate) wave_every: f64,
    /// Transports of the churners, taken in turn.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "websocket,xhr-polling,jsonp-polling"
    )]
    pub(crate) churn_transports: Vec<Transport>,
    /// How churners leave, taken in turn (every transport with every exit).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "clean,drop,stall"
    )]
    pub(crate) exits: Vec<Exit>,
    /// Lines each churner says before it leaves.
    #[arg(long, default_value_t = 3)]
    pub(crate) churn_lines: u64,
    /// Seconds a stalling churner holds its connections before it drops them.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) stall: f64,
    /// Send hostile clients too (slowloris, stalled POST body, a websocket that never
    /// reads, a flooder), one of each with the warm-up wave and every --hostile-every waves.
    #[arg(long)]
    pub(crate) hostile: bool,
    /// Waves between two rounds of hostile clients.
    #[arg(long, default_value_t = 4)]
    pub(crate) hostile_every: u64,
    /// Seconds within which the server must cut each hostile client off.
    #[arg(long, default_value_t = 60.0)]
    pub(crate) hostile_hold: f64,
    /// The server's admin listener (ferrio), for jemalloc's figures, the live sessions and
    /// the disconnect reasons from /metrics.
    #[arg(long)]
    pub(crate) admin: Option<SocketAddr>,
    /// Seconds to wait after the warm-up and after the load before memory is read: past the
    /// server's close timeout, heartbeat timeout and handshake expiry (30 s in ferrio). With
    /// --admin the wait goes on (at most as long again) until ferrio_sessions is back to the
    /// healthy members.
    #[arg(long, default_value_t = 40.0)]
    pub(crate) settle: f64,
    /// How far the settled RSS may be above the baseline, in percent.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) rss_tolerance: f64,
    /// Healthy members opened at once.
    #[arg(long, default_value_t = 8)]
    pub(crate) concurrency: usize,
}

/// The flags, checked and in the units the run uses.
#[derive(Debug)]
struct Config {
    load: Duration,
    every: Duration,
    wave_every: Duration,
    stall: Duration,
    hold: Duration,
    settle: Duration,
    pad: Arc<str>,
}

impl Config {
    fn of(args: &SoakArgs) -> Result<Self> {
        positive("wave", args.wave)?;
        positive("concurrency", args.concurrency)?;
        if args.churn_transports.is_empty() || args.exits.is_empty() {
            return Err(Error::Setup(
                "--churn-transports and --exits need at least one value each".to_owned(),
            ));
        }
        if args.churn_lines == 0 || args.say_every_ms == 0 || args.hostile_every == 0 {
            return Err(Error::Setup(
                "--churn-lines, --say-every-ms and --hostile-every must be at least 1".to_owned(),
            ));
        }
        if args.healthy_websocket + args.healthy_xhr_polling + args.healthy_jsonp_polling == 0 {
            return Err(Error::Setup(
                "the healthy crowd needs at least one member".to_owned(),
            ));
        }
        if !(args.rss_tolerance.is_finite() && args.rss_tolerance >= 0.0) {
            return Err(Error::Setup(
                "--rss-tolerance must be a percentage of at least 0".to_owned(),
            ));
        }
        if let Some(admin) = args.admin {
            check_loopback(admin, "--admin")?;
        }
        let wave_every = seconds("wave-every", args.wave_every)?;
        if wave_every.is_zero() {
            return Err(Error::Setup("--wave-every must be above 0".to_owned()));
        }
        Ok(Config {
            load: seconds("minutes", args.minutes * 60.0)?,
            every: Duration::from_millis(args.say_every_ms),
            wave_every,
            stall: seconds("stall", args.stall)?,
            hold: seconds("hostile-hold", args.hostile_hold)?,
            settle: seconds("settle", args.settle)?,
            pad: "x".repeat(args.payload).into(),
        })
    }

    /// How long one wave's churners and hostile clients take once started, when the server
    /// answers at once.
    fn wave_span(&self, args: &SoakArgs, op_timeout: Duration) -> Duration {
        let lines = u32::try_from(args.churn_lines).unwrap_or(u32::MAX);
        let churner = op_timeout + self.every * lines + self.stall;
        if args.hostile {
            churner.max(self.hold + op_timeout)
        } else {
            churner
        }
    }

    /// How long the run takes when nothing goes wrong (the crowd's opening and leaving
    /// counted generously), to check against `--timeout` before starting: a run cut short
    /// by its deadline would fail its healthy members for nothing.
    fn needs(&self, args: &SoakArgs, op_timeout: Duration) -> Duration {
        let settling = self.settle * 2 + STEADY_EVERY * STEADY_READINGS as u32;
        self.load + self.wave_span(args, op_timeout) * 2 + settling * 2 + op_timeout + LEAVING * 3
    }
}

/// What finished in the crew of churners and hostile clients.
enum Finished {
    Churner {
        transport: Transport,
        exit: Exit,
        result: Result<()>,
    },
    Hostile(Result<Outcome>),
}

/// The churners and hostile clients under way, and what became of those that finished.
#[derive(Default)]
struct Crew {
    tasks: JoinSet<Finished>,
    waves: u64,
    churners: u64,
    hostile_rounds: u64,
    churned: BTreeMap<String, u64>,
    churn_failures: Failures,
    hostiles: Vec<Outcome>,
    hostile_failures: Failures,
}

impl Crew {
    /// Starts one wave; with `hostile`, one hostile client of each kind as well.
    fn wave(
        &mut self,
        ctx: &Arc<Ctx>,
        args: &SoakArgs,
        config: &Config,
        ledger: &Arc<Ledger>,
        hostile: bool,
    ) {
        self.waves += 1;
        let transports = args.churn_transports.len();
        for _ in 0..args.wave {
            let number = self.churners;
            self.churners += 1;
            // Turn by turn, every transport with every exit.
            let index = usize::try_from(number).unwrap_or(0);
            let plan = Plan {
                number,
                transport: args.churn_transports[index % transports],
                exit: args.exits[(index / transports) % args.exits.len()],
                lines: args.churn_lines,
                every: config.every,
                stall: config.stall,
                pad: Arc::clone(&config.pad),
            };
            let (transport, exit) = (plan.transport, plan.exit);
            let task = churner::churn(Arc::clone(ctx), plan, Arc::clone(ledger));
            self.tasks.spawn(async move {
                Finished::Churner {
                    transport,
                    exit,
                    result: task.await,
                }
            });
        }
        if hostile {
            self.hostile_rounds += 1;
            for kind in hostile::Kind::ALL {
                let task = hostile::run(
                    Arc::clone(ctx),
                    kind,
                    self.hostile_rounds,
                    config.hold,
                    Arc::clone(ledger),
                );
                self.tasks
                    .spawn(async move { Finished::Hostile(task.await) });
            }
        }
    }

    /// Takes in one finished task.
    fn record(&mut self, joined: std::result::Result<Finished, tokio::task::JoinError>) {
        match joined {
            Ok(Finished::Churner {
                transport,
                exit,
                result,
            }) => match result {
                Ok(()) => {
                    *self
                        .churned
                        .entry(format!("{}/{}", transport.name(), exit.name()))
                        .or_default() += 1;
                }
                Err(error) => self.churn_failures.add(1, || error.to_string()),
            },
            Ok(Finished::Hostile(Ok(outcome))) => {
                if !outcome.cut {
                    self.hostile_failures.add(1, || {
                        format!(
                            "{} not cut off within {} s: {}",
                            outcome.kind.name(),
                            outcome.seconds,
                            outcome.how
                        )
                    });
                }
                self.hostiles.push(outcome);
            }
            Ok(Finished::Hostile(Err(error))) => {
                self.hostile_failures.add(1, || error.to_string());
            }
            Err(error) => self
                .churn_failures
                .add(1, || format!("a client task failed: {error}")),
        }
    }

    /// Waits for every task under way.
    async fn drain(&mut self) {
        while let Some(joined) = self.tasks.join_next().await {
            self.record(joined);
        }
    }

    fn churned_total(&self) -> u64 {
        self.churned.values().sum()
    }

    fn hostile_json(&self) -> Value {
        #[derive(Default)]
        struct Kind {
            cut: u64,
            not_cut: u64,
            slowest_cut_s: f64,
            how: BTreeMap<String, u64>,
        }
        let mut by_kind: BTreeMap<&str, Kind> = BTreeMap::new();
        for outcome in &self.hostiles {
            let kind = by_kind.entry(outcome.kind.name()).or_default();
            if outcome.cut {
                kind.cut += 1;
                kind.slowest_cut_s = kind.slowest_cut_s.max(outcome.seconds);
            } else {
                kind.not_cut += 1;
            }
            *kind.how.entry(outcome.how.clone()).or_default() += 1;
        }
        let by_kind: serde_json::Map<String, Value> = by_kind
            .into_iter()
            .map(|(name, kind)| {
                (
                    name.to_owned(),
                    json!({
                        "cut": kind.cut,
                        "not_cut": kind.not_cut,
                        "slowest_cut_s": kind.slowest_cut_s,
                        "how": kind.how,
                    }),
                )
            })
            .collect();
        let flooded: u64 = self.hostiles.iter().map(|outcome| outcome.said).sum();
        json!({
            "rounds": self.hostile_rounds,
            "by_kind": by_kind,
            "flooder_lines_said": flooded,
            "failures": self.hostile_failures.to_json(),
        })
    }
}

/// The healthy crowd, chatting.
struct Crowd {
    members: usize,
    phase: watch::Sender<Phase>,
    tasks: Vec<tokio::task::JoinHandle<Result<Left>>>,
}

impl Crowd {
    async fn open(
        ctx: &Arc<Ctx>,
        args: &SoakArgs,
        config: &Config,
        ledger: &Arc<Ledger>,
    ) -> Result<Self> {
        let wanted = [
            (Transport::Websocket, args.healthy_websocket),
            (Transport::XhrPolling, args.healthy_xhr_polling),
            (Transport::JsonpPolling, args.healthy_jsonp_polling),
        ];
        let members: usize = wanted.iter().map(|(_, count)| count).sum();
        let (phase, _) = watch::channel(Phase::Chatting);
        let mut crowd = Crowd {
            members,
            phase,
            tasks: Vec::with_capacity(members),
        };
        // Everyone is connected before anyone speaks, so every member hears every line.
        let mut opened = Vec::with_capacity(members);
        for (transport, count) in wanted {
            if count == 0 {
                continue;
            }
            let sessions = open_sessions(ctx, count, args.concurrency, transport, |_, session| {
                session
            })
            .await?;
            opened.extend(sessions.into_iter().map(|session| (transport, session)));
        }
        for (index, (transport, session)) in opened.into_iter().enumerate() {
            let offset = config.every.mul_f64(index as f64 / members as f64);
            let member = Member {
                index,
                transport,
                session,
            };
            crowd.tasks.push(tokio::spawn(member::chat(
                Arc::clone(ctx),
                member,
                Arc::clone(ledger),
                crowd.phase.subscribe(),
                config.every,
                offset,
                config.pad.to_string(),
            )));
        }
        Ok(crowd)
    }

    /// Members whose task has already ended, which before the end of the run means failed.
    fn fallen(&self) -> usize {
        self.tasks.iter().filter(|task| task.is_finished()).count()
    }

    /// Quiet, then (once the ledger is complete, or after `wait`) gone: what each member did,
    /// and the failures.
    async fn leave(self, ledger: &Ledger, wait: Duration) -> (Vec<Left>, Failures) {
        self.phase.send_replace(Phase::Quiet);
        let deadline = Instant::now() + wait;
        while !ledger.complete() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.phase.send_replace(Phase::Done);
        let mut left = Vec::with_capacity(self.members);
        let mut failures = Failures::default();
        for task in self.tasks {
            match tokio::time::timeout(LEAVING, task).await {
                Ok(Ok(Ok(done))) => left.push(done),
                Ok(Ok(Err(error))) => failures.add(1, || error.to_string()),
                Ok(Err(error)) => failures.add(1, || format!("a member's task failed: {error}")),
                Err(_) => failures.add(1, || "a member did not leave in time".to_owned()),
            }
        }
        (left, failures)
    }
}

/// Waits `settle`, then with an admin listener until the live sessions are down to `crowd`
/// (at most `settle` more); returns how many sessions are left over the crowd.
async fn settle(ctx: &Ctx, gauge: &Gauge, settle: Duration, crowd: usize) -> Result<Option<u64>> {
    tokio::time::sleep(settle).await;
    let deadline = Instant::now() + settle;
    loop {
        let Some(sessions) = gauge.read(ctx).await?.sessions else {
            return Ok(None);
        };
        let over = sessions.saturating_sub(crowd as u64);
        if over == 0 || Instant::now() >= deadline {
            return Ok(Some(over));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn mib(kb: Option<u64>) -> String {
    kb.map_or_else(
        || "-".to_owned(),
        |kb| format!("{:.1} MiB", kb as f64 / 1024.0),
    )
}

fn mib_bytes(bytes: Option<u64>) -> String {
    mib(bytes.map(|bytes| bytes / 1024))
}

/// Runs the scenario.
pub(crate) async fn run(ctx: Arc<Ctx>, probe: Probe, args: &SoakArgs) -> Result<Value> {
    let config = Config::of(args)?;
    let needs = config.needs(args, ctx.op_timeout);
    if Instant::now() + needs > ctx.deadline {
        return Err(Error::Setup(format!(
            "the soak takes about {} s with these flags: pass --timeout {} or more",
            needs.as_secs(),
            needs.as_secs()
        )));
    }
    let gauge = Gauge::new(probe, args.admin);
    let started = Instant::now();
    let members = args.healthy_websocket + args.healthy_xhr_polling + args.healthy_jsonp_polling;
    let ledger = Arc::new(Ledger::new(members));
    let crowd = Crowd::open(&ctx, args, &config, &ledger).await?;
    eprintln!(
        "soak: {members} healthy members chatting; warm-up wave of {}{}",
        args.wave,
        if args.hostile {
            " with hostile clients"
        } else {
            ""
        }
    );

    // The warm-up: one wave, gone, then the baseline.
    let mut crew = Crew::default();
    crew.wave(&ctx, args, &config, &ledger, args.hostile);
    crew.drain().await;
    let warmed_up = started.elapsed();
    let left_after_warm_up = settle(&ctx, &gauge, config.settle, members).await?;
    let baseline = gauge.steady(&ctx).await?;
    let counters_before = match gauge.metrics(&ctx).await? {
        Some(metrics) => Some(Counters::of(&metrics)?),
        None => None,
    };
    eprintln!(
        "soak: baseline RSS {}, allocated {}, sessions {}; {} minutes of churn",
        mib(baseline.rss_kb),
        mib_bytes(baseline.allocated),
        baseline.sessions.map_or("-".to_owned(), |s| s.to_string()),
        args.minutes
    );

    // The load: waves for --minutes, the server read every two seconds.
    let load_started = Instant::now();
    let load_end = load_started + config.load;
    let mut next_wave = load_started;
    let mut wave_number = 1u64;
    let mut peak = baseline;
    let mut series = Vec::new();
    let mut next_series = load_started;
    let mut next_progress = load_started + PROGRESS_EVERY;
    let mut reads = tokio::time::interval(READ_EVERY);
    reads.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let waving = Instant::now() < load_end;
        if !waving && crew.tasks.is_empty() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(next_wave), if waving => {
                let hostile = args.hostile && wave_number.is_multiple_of(args.hostile_every);
                crew.wave(&ctx, args, &config, &ledger, hostile);
                wave_number += 1;
                next_wave += config.wave_every;
            }
            _ = reads.tick() => {
                let reading = gauge.read(&ctx).await?;
                peak = peak.max(reading);
                let now = Instant::now();
                if now >= next_series {
                    series.push(json!({
                        "t_s": round1(now.duration_since(load_started).as_secs_f64()),
                        "rss_kb": reading.rss_kb,
                        "allocated_bytes": reading.allocated,
                        "sessions": reading.sessions,
                    }));
                    next_series += SERIES_EVERY;
                }
                if now >= next_progress {
                    next_progress += PROGRESS_EVERY;
                    eprintln!(
                        "soak: {:.0} s: {} waves, {} churned, {} churner failures, {} healthy \
                         members down; RSS {}, allocated {}, sessions {}",
                        now.duration_since(load_started).as_secs_f64(),
                        crew.waves,
                        crew.churned_total(),
                        crew.churn_failures.count,
                        crowd.fallen(),
                        mib(reading.rss_kb),
                        mib_bytes(reading.allocated),
                        reading.sessions.map_or("-".to_owned(), |s| s.to_string()),
                    );
                }
            }
            Some(joined) = crew.tasks.join_next() => crew.record(joined),
        }
    }
    let loaded = load_started.elapsed();
    eprintln!(
        "soak: load over after {:.0} s ({} churned); settling",
        loaded.as_secs_f64(),
        crew.churned_total()
    );

    // Settled: the same wait and the same readings as the baseline.
    let settle_started = Instant::now();
    let sessions_left = settle(&ctx, &gauge, config.settle, members).await?;
    let settled = gauge.steady(&ctx).await?;
    let server = match (counters_before, gauge.metrics(&ctx).await?) {
        (Some(before), Some(metrics)) => Some(Counters::of(&metrics)?.since(&before)),
        _ => None,
    };
    let settled_after = settle_started.elapsed();

    // The crowd goes quiet, the ledger is checked, the crowd leaves.
    let (left, healthy_failures) = crowd.leave(&ledger, ctx.op_timeout).await;
    let audit = ledger.audit();

    let rss_growth = match (baseline.rss_kb, settled.rss_kb) {
        (Some(baseline), Some(settled)) => growth_pct(baseline, settled),
        _ => None,
    };
    let mut failures = Vec::new();
    if healthy_failures.count > 0 {
        failures.push(format!(
            "{} healthy member(s) cut off: {}",
            healthy_failures.count,
            healthy_failures.examples.join("; ")
        ));
    }
    describe_audit(&audit, &mut failures);
    if crew.churn_failures.count > 0 {
        failures.push(format!(
            "{} churner(s) failed before leaving: {}",
            crew.churn_failures.count,
            crew.churn_failures.examples.join("; ")
        ));
    }
    if crew.hostile_failures.count > 0 {
        failures.push(format!(
            "{} hostile client(s) not cut off: {}",
            crew.hostile_failures.count,
            crew.hostile_failures.examples.join("; ")
        ));
    }
    if let Some(over) = sessions_left.filter(|over| *over > 0) {
        failures.push(format!(
            "{over} session(s) beyond the healthy crowd still live after settling"
        ));
    }
    if let Some(growth) = rss_growth.filter(|growth| *growth > args.rss_tolerance) {
        failures.push(format!(
            "RSS settled {growth} % above its baseline ({} → {}), more than the {} % allowed",
            mib(baseline.rss_kb),
            mib(settled.rss_kb),
            args.rss_tolerance
        ));
    }

    let said: u64 = left.iter().map(|left| left.said).sum();
    let heartbeats: u64 = left.iter().map(|left| left.heartbeats).sum();
    let report = json!({
        "transport": "mixed",
        "params": {
            "minutes": args.minutes,
            "healthy": crowd_json(args),
            "say_every_ms": args.say_every_ms,
            "payload": args.payload,
            "wave": args.wave,
            "wave_every_s": args.wave_every,
            "churn_transports": args.churn_transports.iter().map(|t| t.name()).collect::<Vec<_>>(),
            "exits": args.exits.iter().map(|e| e.name()).collect::<Vec<_>>(),
            "churn_lines": args.churn_lines,
            "stall_s": args.stall,
            "hostile": args.hostile,
            "hostile_every": args.hostile_every,
            "hostile_hold_s": args.hostile_hold,
            "settle_s": args.settle,
            "rss_tolerance_pct": args.rss_tolerance,
        },
        "metrics": {
            "rss_kb_baseline": baseline.rss_kb,
            "rss_kb_peak": peak.rss_kb,
            "rss_kb_settled": settled.rss_kb,
            "rss_growth_pct": rss_growth,
            "allocated_bytes_baseline": baseline.allocated,
            "allocated_bytes_peak": peak.allocated,
            "allocated_bytes_settled": settled.allocated,
            "sessions_churned": crew.churned_total(),
            "lines_delivered": audit.delivered,
            "lines_lost": audit.lost.count,
            "lines_misheard": audit.misheard.count,
            "healthy_cut_off": healthy_failures.count,
            "churner_failures": crew.churn_failures.count,
            "hostile_not_cut": crew.hostile_failures.count,
            "latency_p99_us": audit.latency.p99,
        },
        "memory": {
            "baseline": baseline.to_json(),
            "peak": peak.to_json(),
            "settled": settled.to_json(),
            "how": format!(
                "baseline: after the healthy crowd opened and a warm-up wave ran to its end, \
                 {} s of settling (then until ferrio_sessions was back to the crowd, with \
                 --admin), the median of {STEADY_READINGS} readings {} s apart; peak: the \
                 largest of readings every {} s during the churn; settled: as the baseline, \
                 after the last churner and hostile client were gone",
                args.settle,
                STEADY_EVERY.as_secs(),
                READ_EVERY.as_secs()
            ),
            "series": series,
        },
        "healthy": {
            "members": members,
            "by_transport": crowd_json(args),
            "lines_said": said,
            "heartbeats_answered": heartbeats,
            "failures": healthy_failures.to_json(),
        },
        "ledger": audit.to_json(),
        "churn": {
            "waves": crew.waves,
            "started": crew.churners,
            "churned": crew.churned_total(),
            "by_transport_and_exit": crew.churned,
            "failures": crew.churn_failures.to_json(),
        },
        "hostile": crew.hostile_json(),
        "server_side": {
            "since_baseline": server,
            "sessions_over_crowd_after_warm_up": left_after_warm_up,
            "sessions_over_crowd_settled": sessions_left,
        },
        "connections": ctx.net.connects(),
        "phases_s": {
            "warm_up": round3(warmed_up.as_secs_f64()),
            "load": round3(loaded.as_secs_f64()),
            "settle": round3(settled_after.as_secs_f64()),
            "total": round3(started.elapsed().as_secs_f64()),
        },
        "verdict": if failures.is_empty() { "pass" } else { "fail" },
    });
    summarize(&report, &failures);
    if failures.is_empty() {
        Ok(report)
    } else {
        Err(Error::Verdict {
            message: failures.join("; "),
            figures: Box::new(report),
        })
    }
}

fn crowd_json(args: &SoakArgs) -> Value {
    json!({
        "websocket": args.healthy_websocket,
        "xhr-polling": args.healthy_xhr_polling,
        "jsonp-polling": args.healthy_jsonp_polling,
    })
}

fn describe_audit(audit: &Audit, failures: &mut Vec<String>) {
    if audit.clean() {
        return;
    }
    for (what, found) in [
        ("line(s) lost", &audit.lost),
        ("line(s) heard beyond what was said", &audit.extra),
        (
            "line(s) heard twice, out of order or with a gap",
            &audit.misheard,
        ),
        (
            "flooder(s) heard differently by different members",
            &audit.disagreements,
        ),
    ] {
        if found.count > 0 {
            failures.push(format!(
                "{} {what}: {}",
                found.count,
                found.examples.join("; ")
            ));
        }
    }
}

/// The verdict and the figures, for a person, on stderr.
fn summarize(report: &Value, failures: &[String]) {
    let metrics = &report["metrics"];
    let kb = |key: &str| mib(metrics[key].as_u64());
    let bytes = |key: &str| mib_bytes(metrics[key].as_u64());
    if failures.is_empty() {
        eprintln!("soak: PASS");
    } else {
        eprintln!("soak: FAIL");
        for failure in failures {
            eprintln!("  - {failure}");
        }
    }
    eprintln!(
        "  RSS        baseline {}  peak {}  settled {}  ({}% vs baseline, {}% allowed)",
        kb("rss_kb_baseline"),
        kb("rss_kb_peak"),
        kb("rss_kb_settled"),
        metrics["rss_growth_pct"],
        report["params"]["rss_tolerance_pct"]
    );
    eprintln!(
        "  allocated  baseline {}  peak {}  settled {}",
        bytes("allocated_bytes_baseline"),
        bytes("allocated_bytes_peak"),
        bytes("allocated_bytes_settled")
    );
    eprintln!(
        "  churn      {} sessions in {} waves {}",
        metrics["sessions_churned"],
        report["churn"]["waves"],
        report["churn"]["by_transport_and_exit"]
    );
    eprintln!(
        "  healthy    {} members said {} lines; {} deliveries, {} lost, {} misheard, {} cut off",
        report["healthy"]["members"],
        report["healthy"]["lines_said"],
        metrics["lines_delivered"],
        metrics["lines_lost"],
        metrics["lines_misheard"],
        metrics["healthy_cut_off"]
    );
    eprintln!("  hostile    {}", report["hostile"]["by_kind"]);
    eprintln!("  server     {}", report["server_side"]);
}
