//! The suite's section of `BENCHMARKS.md`: a table of every scenario × backend, written between two marker
//! comments so that the prose around it stays as people wrote it.

use crate::report::{GroupReport, Report, percent, round};

pub const BEGIN: &str = "<!-- suite:begin -->";
pub const END: &str = "<!-- suite:end -->";

/// Where and how the figures were made.
pub struct Meta {
    pub date: String,
    pub machine: String,
    pub commit: String,
    pub command: String,
    /// Whether the tiny smoke sizes were used: such figures show the format, they are not to be quoted.
    pub smoke: bool,
}

/// One run of the suite.
pub struct Row {
    pub backend: &'static str,
    pub report: Report,
}

/// `doc` with its suite section replaced by `section`; without markers, the section goes before the first
/// second-level heading (after the introduction), or at the end.
pub fn rewrite(doc: &str, section: &str) -> String {
    let block = format!("{BEGIN}\n{}\n{END}", section.trim_end());
    if let (Some(begin), Some(end)) = (doc.find(BEGIN), doc.find(END))
        && begin < end
    {
        return format!("{}{block}{}", &doc[..begin], &doc[end + END.len()..]);
    }
    match doc.find("\n## ") {
        Some(at) => format!("{}{block}\n\n{}", &doc[..=at], &doc[at + 1..]),
        None => format!("{}\n\n{block}\n", doc.trim_end()),
    }
}

/// The section: how the figures were made, then one table row per run.
pub fn section(meta: &Meta, rows: &[Row]) -> String {
    let mut out = format!(
        "## Suite figures\n\n\
         {date}, {machine}, commit `{commit}`{smoke}. Every rate is also given as a share of the ceiling \
         measured in the same run (plain keep-alive POSTs to the sink).\n\n\
         ```sh\n{command}\n```\n\n\
         | scenario | backend | ceiling req/s | ingest msg/s | delivered msg/s | deliveries/s | end-to-end p50 / p99 / max ms | lost | dup | bad sig | peak RSS MiB | notes |\n\
         | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |\n",
        date = meta.date,
        machine = meta.machine,
        commit = meta.commit,
        command = meta.command,
        smoke = if meta.smoke {
            ", **smoke sizes** (a few hundred messages per run, debug-or-release as given: they show the \
             format and check correctness, they are not figures to quote)"
        } else {
            ""
        },
    );
    for row in rows {
        out += &table_row(row, rows);
    }
    out
}

fn table_row(row: &Row, rows: &[Row]) -> String {
    let r = &row.report;
    let ceiling = r.ceiling.as_ref();
    let ratio = |x: f64| {
        ceiling.map_or(String::new(), |c| {
            format!(" ({})", percent(x / c.requests_per_sec))
        })
    };
    let e2e = &r.end_to_end_ms;
    let rss = r
        .server_rss
        .iter()
        .map(|s| (s.peak_kib / 1024).to_string())
        .collect::<Vec<_>>();
    format!(
        "| {} | {} | {} | {}{} | {}{} | {}{} | {} / {} / {} | {} | {} | {} | {} | {} |\n",
        r.scenario,
        row.backend,
        ceiling.map_or("–".into(), |c| round(c.requests_per_sec)),
        round(r.ingest.per_sec),
        ratio(r.ingest.per_sec),
        round(r.delivered.messages_per_sec),
        ratio(r.delivered.messages_per_sec),
        round(r.delivered.deliveries_per_sec),
        ratio(r.delivered.deliveries_per_sec),
        round(e2e.p50),
        round(e2e.p99),
        round(e2e.max),
        r.lost,
        r.duplicates,
        r.bad_signatures,
        rss.join(" + "),
        notes(row, rows),
    )
}

/// A group's delivered rate per endpoint: the isolation run's healthy group has fewer endpoints than its
/// all-healthy baseline (where every endpoint is in it), so whole-group rates would not compare.
fn per_endpoint(g: &GroupReport) -> f64 {
    g.per_sec / g.endpoints.max(1) as f64
}

fn notes(row: &Row, rows: &[Row]) -> String {
    let r = &row.report;
    let healthy = r.group("healthy");
    match r.scenario.as_str() {
        "isolation" => {
            let baseline = rows
                .iter()
                .find(|b| b.backend == row.backend && b.report.scenario == "isolation-baseline")
                .and_then(|b| b.report.group("healthy"));
            match (healthy, baseline) {
                (Some(h), Some(b)) => format!(
                    "healthy endpoints: {} /s ({} of baseline per endpoint), p99 {} ms ({}× baseline)",
                    round(h.per_sec),
                    percent(per_endpoint(h) / per_endpoint(b)),
                    round(h.latency_ms.p99),
                    round(h.latency_ms.p99 / b.latency_ms.p99)
                ),
                (Some(h), None) => format!(
                    "healthy endpoints: {} /s, p99 {} ms",
                    round(h.per_sec),
                    round(h.latency_ms.p99)
                ),
                _ => String::new(),
            }
        }
        "retry-storm" => format!(
            "drained {} s after the last send; healthy first attempts p99 {} ms",
            round(r.drain_seconds),
            round(healthy.map_or(0.0, |h| h.latency_ms.p99))
        ),
        "ratelimit" => format!(
            "limit {} /s, {} process(es): per full second min {} / mean {} / max {}",
            r.settings.rate_limit.unwrap_or(0),
            r.server_rss.len().max(1),
            r.per_second.min,
            round(r.per_second.mean),
            r.per_second.max
        ),
        _ => match &r.fifo {
            Some(f) => format!(
                "{} messages; batch size {}: {} batches/s, mean {} events per batch, {} order violations",
                r.settings.messages,
                f.batch_size,
                round(f.batches_per_sec),
                round(f.mean_batch_size),
                f.order_violations
            ),
            None => format!("{} messages", r.settings.messages),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::report;

    #[test]
    fn rows_carry_ratios_to_the_ceiling_and_isolation_compares_with_its_baseline() {
        let meta = Meta {
            date: "2026-11-27 13:00 UTC".into(),
            machine: "2 cores, 24 GiB".into(),
            commit: "abc1234".into(),
            command: "xwebhook-loadtest suite".into(),
            smoke: false,
        };
        // The baseline's healthy group is all 50 endpoints, the isolation run's 30: 510 /s is 85 % per endpoint.
        let mut baseline = report("isolation-baseline", 1000.0, 4.0);
        baseline.groups[0].endpoints = 50;
        let rows = [
            Row {
                backend: "redis",
                report: baseline,
            },
            Row {
                backend: "redis",
                report: report("isolation", 510.0, 6.0),
            },
        ];
        let section = section(&meta, &rows);
        assert!(
            section.contains("2026-11-27 13:00 UTC, 2 cores, 24 GiB, commit `abc1234`"),
            "{section}"
        );
        assert!(
            section.contains("```sh\nxwebhook-loadtest suite\n```"),
            "{section}"
        );
        let last = section.lines().last().expect("a row");
        assert_eq!(
            last,
            "| isolation | redis | 100000 | 2000 (2.00 %) | 1500 (1.50 %) | 1500 (1.50 %) | 2.00 / 6.00 / 12.5 \
             | 0 | 1 | 0 | 64 | healthy endpoints: 510 /s (85.0 % of baseline per endpoint), p99 6.00 ms (1.50× baseline) |"
        );
    }

    const DOC: &str = "# Benchmarks\n\nIntro.\n\n## History\n\nOld rows.\n";

    #[test]
    fn inserts_the_section_before_the_first_heading_once() {
        let once = rewrite(DOC, "## Suite figures\n\nnew");
        assert_eq!(
            once,
            "# Benchmarks\n\nIntro.\n\n<!-- suite:begin -->\n## Suite figures\n\nnew\n<!-- suite:end -->\n\n## History\n\nOld rows.\n"
        );
        let twice = rewrite(&once, "## Suite figures\n\nnewer\n");
        assert_eq!(twice, once.replace("\nnew\n", "\nnewer\n"));
    }

    #[test]
    fn keeps_everything_outside_the_markers() {
        let doc = format!("top\n{BEGIN}\nold\n{END}\nbottom\n");
        assert_eq!(
            rewrite(&doc, "fresh"),
            format!("top\n{BEGIN}\nfresh\n{END}\nbottom\n")
        );
        assert_eq!(
            rewrite("no headings", "s"),
            format!("no headings\n\n{BEGIN}\ns\n{END}\n")
        );
    }
}
