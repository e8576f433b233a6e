//! Stopping a server process for a while: `SIGSTOP`, then `SIGCONT` (through `kill(1)`), as a
//! node of a cluster that stalls and comes back.

use std::process::Command;

use crate::error::{Error, Result};

/// A process this run has stopped. It is resumed by [`Stopped::resume`], or, should the run
/// end first (an error, a panic), when this is dropped: the loadgen never leaves a server
/// stopped behind it.
#[derive(Debug)]
pub(crate) struct Stopped {
    pid: u32,
    resumed: bool,
}

impl Stopped {
    /// Sends `SIGSTOP` to `pid`.
    pub(crate) fn stop(pid: u32) -> Result<Stopped> {
        kill("STOP", pid)?;
        Ok(Stopped {
            pid,
            resumed: false,
        })
    }

    /// Sends `SIGCONT`.
    pub(crate) fn resume(mut self) -> Result<()> {
        self.resumed = true;
        kill("CONT", self.pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if !self.resumed {
            let _ = kill("CONT", self.pid);
        }
    }
}

/// `kill -SIGNAL PID`.
fn kill(signal: &str, pid: u32) -> Result<()> {
    let output = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .output()
        .map_err(|error| Error::Setup(format!("running kill -{signal} {pid}: {error}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(Error::Setup(format!(
            "kill -{signal} {pid} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The state letter of `/proc/PID/stat` (`T` when stopped).
    fn state(pid: u32) -> char {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("readable");
        let rest = &stat[stat.rfind(')').expect("a comm field") + 1..];
        rest.trim_start().chars().next().expect("a state")
    }

    /// Whether `pid` reaches the stopped state (or leaves it) within a second: a signal is
    /// acted on by its target, a moment after `kill` returns.
    fn becomes_stopped(pid: u32, stopped: bool) -> bool {
        (0..100).any(|_| {
            let now = state(pid) == 'T';
            if now != stopped {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            now == stopped
        })
    }

    #[test]
    fn a_process_is_stopped_and_resumed_even_when_the_run_ends_first() {
        let mut child = Command::new("sleep").arg("30").spawn().expect("sleep runs");
        let pid = child.id();
        let stopped = Stopped::stop(pid).expect("stopped");
        assert!(becomes_stopped(pid, true));
        stopped.resume().expect("resumed");
        assert!(becomes_stopped(pid, false));

        let stopped = Stopped::stop(pid).expect("stopped again");
        assert!(becomes_stopped(pid, true));
        drop(stopped);
        assert!(becomes_stopped(pid, false));

        child.kill().expect("the child stops");
        child.wait().expect("the child is reaped");
        assert!(matches!(Stopped::stop(pid), Err(Error::Setup(_))));
    }
}
