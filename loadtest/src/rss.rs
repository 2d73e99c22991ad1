//! Samples the server processes' memory each second from `/proc/PID/status`: the peak resident set (`VmHWM`),
//! or the largest `VmRSS` seen where the kernel does not report a peak.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

/// Peak resident set in KiB per pid.
pub type Peaks = Arc<Mutex<BTreeMap<u32, u64>>>;

/// Samples `pids` until the returned task is aborted.
pub fn spawn(pids: Vec<u32>) -> (Peaks, JoinHandle<()>) {
    let peaks: Peaks = Arc::default();
    let shared = peaks.clone();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            for &pid in &pids {
                let Ok(status) = tokio::fs::read_to_string(format!("/proc/{pid}/status")).await else {
                    continue;
                };
                if let Some(kib) = peak_kib(&status) {
                    let mut peaks = shared.lock().unwrap_or_else(|p| p.into_inner());
                    let peak = peaks.entry(pid).or_default();
                    *peak = (*peak).max(kib);
                }
            }
        }
    });
    (peaks, task)
}

/// The larger of `VmHWM` and `VmRSS` in a `/proc/PID/status` text, in KiB.
pub fn peak_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .filter_map(|line| {
            let rest = line
                .strip_prefix("VmHWM:")
                .or_else(|| line.strip_prefix("VmRSS:"))?;
            rest.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_peak_from_proc_status() {
        let status = "Name:\txwebhook\nVmPeak:\t  900000 kB\nVmHWM:\t   61234 kB\nVmRSS:\t   58000 kB\n";
        assert_eq!(peak_kib(status), Some(61_234));
        assert_eq!(peak_kib("VmRSS:\t 12 kB\n"), Some(12));
        assert_eq!(peak_kib("Name:\tx\n"), None);
    }
}
