//! The server's figures from `/proc`: CPU time (utime + stime, in clock ticks, from
//! `/proc/PID/stat`) and resident memory (`VmRSS` from `/proc/PID/status`). A server may be
//! several processes (the nodes of a cluster and their Redis): their figures are summed.

use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::{Error, Result};

/// Reads the figures of the server's processes, or nothing when no pid was given.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    pids: Arc<[u32]>,
    clk_tck: u64,
}

/// The figures at one moment, summed over every probed process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sample {
    /// utime + stime, in clock ticks.
    pub(crate) cpu_ticks: u64,
    /// Resident set size in KiB.
    pub(crate) rss_kb: u64,
}

impl Sample {
    /// The sum of two processes' figures.
    fn plus(self, other: Sample) -> Sample {
        Sample {
            cpu_ticks: self.cpu_ticks + other.cpu_ticks,
            rss_kb: self.rss_kb + other.rss_kb,
        }
    }
}

impl Probe {
    /// A probe of `pids` (none, one, or several whose figures are summed); checks that every
    /// process can be read and that none is named twice.
    pub(crate) fn new(pids: &[u32]) -> Result<Self> {
        if let Some(twice) = pids
            .iter()
            .enumerate()
            .find_map(|(at, pid)| pids[..at].contains(pid).then_some(pid))
        {
            return Err(Error::Setup(format!(
                "--server-pid {twice} is given twice (its CPU time would count twice)"
            )));
        }
        let probe = Probe {
            pids: pids.into(),
            clk_tck: clk_tck(),
        };
        probe.sample()?;
        Ok(probe)
    }

    /// Whether a process is probed at all.
    pub(crate) fn has_pid(&self) -> bool {
        !self.pids.is_empty()
    }

    /// The figures now, summed over the processes; `None` without a pid.
    pub(crate) fn sample(&self) -> Result<Option<Sample>> {
        if self.pids.is_empty() {
            return Ok(None);
        }
        let mut sum = Sample::default();
        for &pid in self.pids.iter() {
            sum = sum.plus(sample_one(pid)?);
        }
        Ok(Some(sum))
    }

    /// Server CPU microseconds between two samples.
    pub(crate) fn cpu_us(&self, before: Option<Sample>, after: Option<Sample>) -> Option<f64> {
        let (before, after) = (before?, after?);
        let ticks = after.cpu_ticks.saturating_sub(before.cpu_ticks);
        Some(ticks as f64 * 1e6 / self.clk_tck as f64)
    }

    /// The pid (or, for several processes, the pids) and tick rate, for the JSON line.
    pub(crate) fn describe(&self) -> Value {
        match *self.pids {
            [] => json!({ "pid": null, "clk_tck": self.clk_tck }),
            [pid] => json!({ "pid": pid, "clk_tck": self.clk_tck }),
            ref pids => json!({ "pids": pids, "clk_tck": self.clk_tck }),
        }
    }
}

/// The figures of one process.
fn sample_one(pid: u32) -> Result<Sample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|error| Error::Probe(format!("reading /proc/{pid}/stat: {error}")))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|error| Error::Probe(format!("reading /proc/{pid}/status: {error}")))?;
    Ok(Sample {
        cpu_ticks: parse_cpu_ticks(&stat)
            .ok_or_else(|| Error::Probe(format!("unexpected /proc/{pid}/stat")))?,
        rss_kb: parse_rss_kb(&status)
            .ok_or_else(|| Error::Probe(format!("no VmRSS in /proc/{pid}/status")))?,
    })
}

/// Server CPU microseconds per unit of work, when both are known.
pub(crate) fn per_unit(cpu_us: Option<f64>, units: u64) -> Option<f64> {
    cpu_us.filter(|_| units > 0).map(|us| us / units as f64)
}

fn clk_tck() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|&ticks| ticks > 0)
        .unwrap_or(100)
}

/// utime + stime: fields 14 and 15 of `/proc/PID/stat`, counted after the `(comm)` field,
/// which may itself hold spaces and parentheses.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After comm come state (field 3) … utime is field 14, i.e. the 12th here.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn parse_rss_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_utime_plus_stime_even_with_spaces_in_comm() {
        let stat = "1234 (my (odd) proc) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1";
        assert_eq!(parse_cpu_ticks(stat), Some(325));
    }

    #[test]
    fn rss_is_read_in_kib() {
        let status = "Name:\tferrio\nVmPeak:\t  9000 kB\nVmRSS:\t    5120 kB\nThreads:\t3\n";
        assert_eq!(parse_rss_kb(status), Some(5120));
    }

    #[test]
    fn this_process_can_be_probed() {
        let probe = Probe::new(&[std::process::id()]).expect("own /proc entry");
        let sample = probe.sample().expect("readable").expect("a pid was given");
        assert!(sample.rss_kb > 0);
        assert_eq!(
            probe.describe(),
            json!({ "pid": std::process::id(), "clk_tck": probe.clk_tck })
        );
    }

    #[test]
    fn no_pid_samples_nothing() {
        let probe = Probe::new(&[]).expect("nothing to read");
        assert!(!probe.has_pid());
        assert_eq!(probe.sample().expect("no error"), None);
        assert_eq!(probe.describe()["pid"], Value::Null);
    }

    #[test]
    fn several_processes_are_summed() {
        let own = std::process::id();
        let mut child = Command::new("sleep").arg("30").spawn().expect("sleep runs");
        let probe = Probe::new(&[own, child.id()]).expect("both readable");
        let both = probe.sample().expect("readable").expect("pids were given");
        let alone = sample_one(own).expect("own /proc entry");
        let other = sample_one(child.id()).expect("the child's /proc entry");
        // Our own CPU time only grows between the readings; the sleeping child's does not.
        assert!(both.cpu_ticks >= other.cpu_ticks);
        assert!(both.cpu_ticks <= alone.cpu_ticks + other.cpu_ticks);
        assert!(both.rss_kb > other.rss_kb && other.rss_kb > 0);
        assert_eq!(probe.describe()["pids"], json!([own, child.id()]));
        child.kill().expect("the child stops");
        child.wait().expect("the child is reaped");
        assert!(matches!(probe.sample(), Err(Error::Probe(_))));
    }

    #[test]
    fn samples_add_up() {
        let a = Sample {
            cpu_ticks: 250,
            rss_kb: 5120,
        };
        let b = Sample {
            cpu_ticks: 75,
            rss_kb: 1024,
        };
        assert_eq!(
            a.plus(b),
            Sample {
                cpu_ticks: 325,
                rss_kb: 6144
            }
        );
    }

    #[test]
    fn a_pid_named_twice_is_refused() {
        let own = std::process::id();
        assert!(matches!(Probe::new(&[own, own]), Err(Error::Setup(_))));
    }
}
