//! JSON payloads of the shape senders post: an event envelope, a customer, and as many invoice lines as it
//! takes to reach the size. Nesting, strings, numbers and booleans in realistic proportions matter to a parser;
//! a blob of one long string would flatter it.

use serde_json::{Value, json};

/// The payload sizes we measure: a typical webhook, a large one, and one near the top of what senders post.
pub const SIZES: [usize; 3] = [1024, 16 * 1024, 64 * 1024];

/// A JSON object of at least `size` bytes (at most one invoice line, ~200 bytes, more).
pub fn json_object(size: usize) -> String {
    let mut lines = Vec::new();
    loop {
        let text = envelope(&lines).to_string();
        if text.len() >= size {
            return text;
        }
        lines.push(line(lines.len()));
    }
}

/// A create-message request body (`MessageIn`) carrying `payload`.
pub fn message_body(payload: &str) -> String {
    format!(r#"{{"eventType":"invoice.paid","channels":["billing"],"payload":{payload}}}"#)
}

fn envelope(lines: &[Value]) -> Value {
    json!({
        "id": "evt_2ZtQm8c4Kx9Lw3Jd7Fh1Np6Rs",
        "type": "invoice.paid",
        "created": 1_700_000_000,
        "livemode": false,
        "data": {
            "customer": {
                "id": "cus_9Hq2Lm4Xv7Rt1Bz",
                "email": "billing@example.com",
                "name": "Acme Corporation",
                "address": { "line1": "1 Main Street", "city": "Springfield", "postalCode": "12345", "country": "US" },
            },
            "currency": "eur",
            "total": 199_900,
            "paid": true,
            "lines": lines,
        },
    })
}

fn line(n: usize) -> Value {
    json!({
        "id": format!("il_{n:08}"),
        "description": "Pro plan, monthly seat",
        "quantity": n % 7 + 1,
        "unitAmount": 1999,
        "taxRate": 0.2,
        "discountable": n % 3 != 2,
        "period": { "start": 1_700_000_000, "end": 1_702_592_000 },
    })
}
