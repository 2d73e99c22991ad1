//! The message payload the driver sends and the sink reads back: `{"sentAtMicros": …, "seq": …, "pad": "…"}`.
//! A FIFO destination's batch (a JSON array of events, each with the payload as sent) is split into its events'
//! stamps by `read_batch`.
//! The sink finds the two numbers by searching the raw bytes rather than parsing the JSON, since it shares the
//! two cores with the server under test. Measured on a 1 KiB body (release, 2026-11-27, busy machine): ~150 ns
//! against ~310 ns for `serde_json` into a two-field struct; a small saving next to the tens of microseconds
//! a request costs, so either would do.

use bytes::Bytes;

/// Builds message bodies of about `payload_bytes` with a shared pad.
#[derive(Clone)]
pub struct PayloadBuilder {
    pad: String,
}

impl PayloadBuilder {
    pub fn new(payload_bytes: usize) -> Self {
        // What surrounds the pad in the payload object, so that the payload is close to the asked size.
        const FRAME: usize = 64;
        Self {
            pad: "x".repeat(payload_bytes.saturating_sub(FRAME)),
        }
    }

    /// The API request body of message `seq`, stamped with its (intended) send time.
    pub fn message(&self, seq: u64, sent_at_micros: u64) -> Bytes {
        Bytes::from(format!(
            r#"{{"eventType":"load.test","payload":{{"sentAtMicros":{sent_at_micros},"seq":{seq},"pad":"{}"}}}}"#,
            self.pad
        ))
    }

    /// A body shaped like a delivery of message `seq`, for the ceiling blast.
    pub fn delivery(&self, seq: u64, sent_at_micros: u64) -> Bytes {
        Bytes::from(format!(
            r#"{{"sentAtMicros":{sent_at_micros},"seq":{seq},"pad":"{}"}}"#,
            self.pad
        ))
    }
}

/// What the sink reads from a delivered payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub sent_at_micros: u64,
    pub seq: u64,
}

/// Finds the stamp in a delivered body, wherever the server put the keys and whatever spacing it used.
pub fn read_stamp(body: &[u8]) -> Option<Stamp> {
    Some(Stamp {
        sent_at_micros: number_after(body, b"\"sentAtMicros\"")?,
        seq: number_after(body, b"\"seq\"")?,
    })
}

/// The stamps of a FIFO batch's events, in the batch's order (`None` for an event without one); `None` when the
/// body is not a JSON array of objects with a `payload`. A real parse, unlike `read_stamp`: the array has to be
/// split into its events, and this runs once per batch rather than once per message.
pub fn read_batch(body: &[u8]) -> Option<Vec<Option<Stamp>>> {
    #[derive(serde::Deserialize)]
    struct Event<'a> {
        #[serde(borrow)]
        payload: &'a serde_json::value::RawValue,
    }
    let events: Vec<Event<'_>> = serde_json::from_slice(body).ok()?;
    Some(
        events
            .iter()
            .map(|e| read_stamp(e.payload.get().as_bytes()))
            .collect(),
    )
}

fn number_after(body: &[u8], key: &[u8]) -> Option<u64> {
    let at = memchr::memmem::find(body, key)? + key.len();
    let rest = body[at..]
        .trim_ascii_start()
        .strip_prefix(b":")?
        .trim_ascii_start();
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_the_driver_wrote() {
        let builder = PayloadBuilder::new(1024);
        let body = builder.message(42, 1_700_000_000_123_456);
        assert!((1000..=1100).contains(&body.len()), "{}", body.len());
        let message: serde_json::Value = serde_json::from_slice(&body).expect("valid JSON");
        let payload = serde_json::to_vec(&message["payload"]).expect("payload");
        let stamp = read_stamp(&payload).expect("stamp");
        assert_eq!(
            stamp,
            Stamp {
                sent_at_micros: 1_700_000_000_123_456,
                seq: 42
            }
        );
    }

    #[test]
    fn tolerates_reordered_keys_and_spacing() {
        let body = br#"{ "pad" : "x", "seq" : 7 ,"sentAtMicros":  99 }"#;
        assert_eq!(
            read_stamp(body),
            Some(Stamp {
                sent_at_micros: 99,
                seq: 7
            })
        );
    }

    #[test]
    fn reads_a_batch_in_its_order() {
        let builder = PayloadBuilder::new(128);
        let event = |seq| {
            let message: serde_json::Value =
                serde_json::from_slice(&builder.message(seq, 1000 + seq)).expect("valid JSON");
            serde_json::json!({"id": format!("msg_{seq}"), "eventType": "load.test",
                "payload": message["payload"], "timestamp": "2026-12-07T00:00:00Z"})
        };
        let batch =
            serde_json::to_vec(&[event(7), serde_json::json!({"payload": {}}), event(3)]).expect("JSON");
        let stamp = |seq| {
            Some(Stamp {
                sent_at_micros: 1000 + seq,
                seq,
            })
        };
        assert_eq!(read_batch(&batch), Some(vec![stamp(7), None, stamp(3)]));
        assert_eq!(read_batch(b"[]"), Some(vec![]));
        assert_eq!(read_batch(br#"{"payload": {}}"#), None);
        assert_eq!(read_batch(br#"[{"id": "msg_1"}]"#), None);
    }

    #[test]
    fn rejects_bodies_without_a_stamp() {
        assert_eq!(read_stamp(br#"{"seq": 1}"#), None);
        assert_eq!(read_stamp(br#"{"seq": "1", "sentAtMicros": 2}"#), None);
        assert_eq!(read_stamp(b"not json"), None);
    }
}
