//! How a sink endpoint answers: the part each endpoint plays in a scenario. Pure decisions, so they are tested
//! without a server.

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Behaviour {
    /// 200 at once.
    Ok,
    /// 200 after a delay.
    Slow(Duration),
    /// 500, always.
    Fail,
    /// 429 with `Retry-After: n` seconds, always.
    Throttle(u64),
    /// 500 for about this fraction of requests (spread evenly), 200 for the rest.
    Flaky(f64),
    /// 500 until this long after the run started, then 200.
    FailUntil(Duration),
}

/// What to answer to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub delay: Option<Duration>,
}

impl Answer {
    const fn status(status: u16) -> Self {
        Self {
            status,
            retry_after: None,
            delay: None,
        }
    }

    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl Behaviour {
    /// The answer to the endpoint's `nth` request (from 0), `elapsed` after the run started.
    pub fn answer(&self, nth: u64, elapsed: Duration) -> Answer {
        match *self {
            Self::Ok => Answer::status(200),
            Self::Slow(delay) => Answer {
                delay: Some(delay),
                ..Answer::status(200)
            },
            Self::Fail => Answer::status(500),
            Self::Throttle(seconds) => Answer {
                retry_after: Some(seconds),
                ..Answer::status(429)
            },
            Self::Flaky(fraction) => {
                // Request n fails when the running count of failures owed, n × fraction, crosses an integer.
                let owed = |n: u64| (n as f64 * fraction).floor();
                let fails = owed(nth + 1) > owed(nth);
                Answer::status(if fails { 500 } else { 200 })
            }
            Self::FailUntil(until) => Answer::status(if elapsed < until { 500 } else { 200 }),
        }
    }

    /// Whether every message sent to the endpoint must eventually be accepted (what losses are counted against).
    pub fn delivers(&self) -> bool {
        !matches!(self, Self::Fail | Self::Throttle(_))
    }

    /// The report group of endpoints that behave alike.
    pub fn group(&self) -> &'static str {
        match self {
            Self::Ok => "healthy",
            Self::Slow(_) => "slow",
            Self::Fail => "failing",
            Self::Throttle(_) => "throttled",
            Self::Flaky(_) => "flaky",
            Self::FailUntil(_) => "recovering",
        }
    }
}

/// Parses a list like `ok*8,slow=2000*2,fail,throttle=1,flaky=0.3,fail-until=5` (delays in milliseconds,
/// fail-until in seconds, `*n` repeats).
pub fn parse_list(spec: &str) -> Result<Vec<Behaviour>, String> {
    let mut list = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (one, times) = match item.split_once('*') {
            Some((one, n)) => (
                one,
                n.parse::<usize>().map_err(|_| format!("bad count in `{item}`"))?,
            ),
            None => (item, 1),
        };
        let behaviour = parse_one(one)?;
        list.extend(std::iter::repeat_n(behaviour, times));
    }
    if list.is_empty() {
        return Err("no endpoints given".into());
    }
    Ok(list)
}

fn parse_one(item: &str) -> Result<Behaviour, String> {
    let (name, value) = item.split_once('=').unwrap_or((item, ""));
    let number = |what: &str| -> Result<f64, String> {
        value.parse::<f64>().map_err(|_| format!("`{item}` needs {what}"))
    };
    Ok(match name {
        "ok" => Behaviour::Ok,
        "slow" => Behaviour::Slow(Duration::from_millis(number("a delay in ms")? as u64)),
        "fail" => Behaviour::Fail,
        "throttle" => Behaviour::Throttle(number("a Retry-After in seconds")? as u64),
        "flaky" => Behaviour::Flaky(number("a fraction")?.clamp(0.0, 1.0)),
        "fail-until" => Behaviour::FailUntil(Duration::from_secs_f64(number("seconds")?)),
        _ => return Err(format!("unknown endpoint behaviour `{name}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_follow_the_behaviour() {
        let at = |s| Duration::from_secs(s);
        assert_eq!(Behaviour::Ok.answer(0, at(0)).status, 200);
        assert_eq!(Behaviour::Fail.answer(3, at(9)).status, 500);
        let slow = Behaviour::Slow(Duration::from_millis(2000)).answer(0, at(0));
        assert_eq!((slow.status, slow.delay), (200, Some(Duration::from_secs(2))));
        let throttled = Behaviour::Throttle(2).answer(0, at(0));
        assert_eq!((throttled.status, throttled.retry_after), (429, Some(2)));
        let recovering = Behaviour::FailUntil(at(5));
        assert_eq!(recovering.answer(0, at(4)).status, 500);
        assert_eq!(recovering.answer(1, at(5)).status, 200);
    }

    #[test]
    fn flaky_fails_the_given_fraction_evenly() {
        let flaky = Behaviour::Flaky(0.25);
        let failures: Vec<u64> = (0..12)
            .filter(|&n| !flaky.answer(n, Duration::ZERO).accepted())
            .collect();
        assert_eq!(failures, vec![3, 7, 11]);
    }

    #[test]
    fn parses_lists_with_counts() {
        let list = parse_list("ok*2, slow=1500, fail-until=2.5,throttle=1").expect("valid");
        assert_eq!(
            list,
            vec![
                Behaviour::Ok,
                Behaviour::Ok,
                Behaviour::Slow(Duration::from_millis(1500)),
                Behaviour::FailUntil(Duration::from_millis(2500)),
                Behaviour::Throttle(1),
            ]
        );
        assert!(parse_list("wobble").is_err());
        assert!(parse_list("slow").is_err());
        assert!(parse_list("").is_err());
    }
}
