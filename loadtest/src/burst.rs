//! `burst`: overload honesty. Starts the server on one backend, sends `--senders` messages at the same instant
//! (each with its own `eventId`, each from its own connection), then lists what the server stored and compares:
//! a 2xx must mean stored, a refusal must mean not stored and must carry `Retry-After` (clients, the SDKs
//! among them, retry a refusal: a refused message that was stored anyway is delivered twice).
//!
//! The figures are counts, not rates: the point is whether any answer lied, and how many senders were served.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use anyhow::bail;
use bytes::Bytes;
use serde_json::json;
use tokio::sync::Barrier;

use crate::api::Api;
use crate::cli::BurstArgs;
use crate::suite::server::{Deployment, Options};

/// What one sender saw.
enum Seen {
    Answer {
        status: u16,
        retry_after: bool,
    },
    /// No HTTP answer at all (connection refused or reset): the client cannot know, and neither can we.
    NoAnswer,
}

/// The tally of one burst.
#[derive(Default)]
struct Tally {
    by_status: BTreeMap<u16, usize>,
    no_answer: usize,
    accepted_stored: usize,
    /// 2xx, yet not stored: a lost message.
    accepted_missing: usize,
    /// Refused (non-2xx), yet stored: a duplicate once the client retries.
    refused_stored: usize,
    refused_without_retry_after: usize,
}

pub async fn run(args: &BurstArgs) -> anyhow::Result<()> {
    let env: Vec<(&str, &str)> = args
        .server_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let options = Options {
        backend: args.backend,
        processes: 1,
        env: &env,
    };
    let deployment = Deployment::start(&args.suite_args(), &options).await?;
    let result = burst(&deployment, args.senders).await;
    deployment.stop().await;
    let tally = result?;
    println!("{}", tally.human(args));
    if tally.accepted_missing > 0 || tally.refused_stored > 0 || tally.refused_without_retry_after > 0 {
        bail!("some answers did not match what was stored");
    }
    Ok(())
}

async fn burst(deployment: &Deployment, senders: usize) -> anyhow::Result<Tally> {
    let api = Api::new(&deployment.url, &deployment.token);
    let app_id = api.create_app("burst").await?;
    let start = Arc::new(Barrier::new(senders));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..senders {
        let (api, app_id, start) = (api.clone(), app_id.clone(), Arc::clone(&start));
        tasks.spawn(async move {
            let body = json!({"eventType": "burst", "eventId": event_id(i), "payload": {"i": i}});
            start.wait().await;
            let seen = match api.try_send_message(&app_id, Bytes::from(body.to_string())).await {
                Ok(a) => Seen::Answer {
                    status: a.status.as_u16(),
                    retry_after: a.retry_after,
                },
                Err(_) => Seen::NoAnswer,
            };
            (i, seen)
        });
    }
    let mut seen = Vec::with_capacity(senders);
    while let Some(joined) = tasks.join_next().await {
        seen.push(joined?);
    }
    let stored: HashSet<String> = api
        .list_messages(&app_id)
        .await?
        .iter()
        .filter_map(|m| m["eventId"].as_str().map(str::to_owned))
        .collect();
    Ok(Tally::of(&seen, &stored))
}

fn event_id(i: usize) -> String {
    format!("burst-{i}")
}

impl Tally {
    fn of(seen: &[(usize, Seen)], stored: &HashSet<String>) -> Self {
        let mut t = Self::default();
        for (i, s) in seen {
            let is_stored = stored.contains(&event_id(*i));
            let Seen::Answer { status, retry_after } = s else {
                t.no_answer += 1;
                continue;
            };
            *t.by_status.entry(*status).or_default() += 1;
            match ((200..300).contains(status), is_stored) {
                (true, true) => t.accepted_stored += 1,
                (true, false) => t.accepted_missing += 1,
                (false, true) => t.refused_stored += 1,
                (false, false) => {}
            }
            if !(200..300).contains(status) && !retry_after {
                t.refused_without_retry_after += 1;
            }
        }
        t
    }

    fn human(&self, args: &BurstArgs) -> String {
        let statuses: Vec<String> = self.by_status.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        format!(
            "burst of {} on {}: {}; no answer: {}\n\
             2xx and stored: {}; 2xx but missing: {}; refused but stored: {}; refused without Retry-After: {}",
            args.senders,
            args.backend.label(),
            statuses.join(", "),
            self.no_answer,
            self.accepted_stored,
            self.accepted_missing,
            self.refused_stored,
            self.refused_without_retry_after,
        )
    }
}
