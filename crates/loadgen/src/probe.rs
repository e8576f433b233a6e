//! The server process's figures from `/proc`: CPU time (utime + stime, in clock ticks, from
//! `/proc/PID/stat`) and resident memory (`VmRSS` from `/proc/PID/status`).

use std::process::Command;

use serde_json::{Value, json};

use crate::error::{Error, Result};

/// Reads the figures of one server process, or nothing when no pid was given.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probe {
    pid: Option<u32>,
    clk_tck: u64,
}

/// The figures at one moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    /// utime + stime, in clock ticks.
    pub(crate) cpu_ticks: u64,
    /// Resident set size in KiB.
    pub(crate) rss_kb: u64,
}

impl Probe {
    /// A probe of `pid`; checks that the process can be read.
    pub(crate) fn new(pid: Option<u32>) -> Result<Self> {
        let probe = Probe {
            pid,
            clk_tck: clk_tck(),
        };
        probe.sample()?;
        Ok(probe)
    }

    /// Whether a process is probed at all.
    pub(crate) fn has_pid(&self) -> bool {
        self.pid.is_some()
    }

    /// The figures now; `None` without a pid.
    pub(crate) fn sample(&self) -> Result<Option<Sample>> {
        let Some(pid) = self.pid else {
            return Ok(None);
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_err(|error| Error::Probe(format!("reading /proc/{pid}/stat: {error}")))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|error| Error::Probe(format!("reading /proc/{pid}/status: {error}")))?;
        Ok(Some(Sample {
            cpu_ticks: parse_cpu_ticks(&stat)
                .ok_or_else(|| Error::Probe(format!("unexpected /proc/{pid}/stat")))?,
            rss_kb: parse_rss_kb(&status)
                .ok_or_else(|| Error::Probe(format!("no VmRSS in /proc/{pid}/status")))?,
        }))
    }

    /// Server CPU microseconds between two samples.
    pub(crate) fn cpu_us(&self, before: Option<Sample>, after: Option<Sample>) -> Option<f64> {
        let (before, after) = (before?, after?);
        let ticks = after.cpu_ticks.saturating_sub(before.cpu_ticks);
        Some(ticks as f64 * 1e6 / self.clk_tck as f64)
    }

    /// The pid and tick rate, for the JSON line.
    pub(crate) fn describe(&self) -> Value {
        json!({ "pid": self.pid, "clk_tck": self.clk_tck })
    }
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
        let probe = Probe::new(Some(std::process::id())).expect("own /proc entry");
        let sample = probe.sample().expect("readable").expect("a pid was given");
        assert!(sample.rss_kb > 0);
    }
}
