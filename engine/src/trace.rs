//! Trace context that outlives a process's call stack: a W3C `traceparent` string that travels in queued tasks,
//! so that the spans of a message's fan-out and delivery attempts join the trace of the request that created it.
//!
//! The engine speaks only the OpenTelemetry API (through `tracing-opentelemetry`), never the SDK or an exporter:
//! the server decides whether spans are exported. Without its OpenTelemetry layer, spans carry no context,
//! [`current_parent`] returns `None` and [`follow`] does nothing, so tracing costs queued tasks nothing.
//! The `traceparent` format (version `00`) is written here rather than taken from the SDK's propagator, which
//! would bring the whole SDK into the engine for one line of formatting.

use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The only `traceparent` version there is; later versions must still start with these fields.
const VERSION: &str = "00";

/// The current span's context as a `traceparent`, or `None` when it has none (tracing is not exported).
pub fn current_parent() -> Option<String> {
    let context = Span::current().context();
    let span = context.span();
    format(span.span_context())
}

/// Makes `parent` (a `traceparent` from a queued task) the parent of `span`. A missing or malformed parent
/// leaves the span a root: a bad trace header must never stop a delivery.
pub fn follow(span: &Span, parent: Option<&str>) {
    let Some(remote) = parent.and_then(parse) else {
        return;
    };
    // An error only means spans are not exported (no OpenTelemetry layer): there is no trace to join.
    let _ = span.set_parent(Context::new().with_remote_span_context(remote));
}

fn format(context: &SpanContext) -> Option<String> {
    if !context.is_valid() {
        return None;
    }
    Some(format!(
        "{VERSION}-{}-{}-{:02x}",
        context.trace_id(),
        context.span_id(),
        context.trace_flags().to_u8()
    ))
}

fn parse(traceparent: &str) -> Option<SpanContext> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace_id, span_id, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let well_formed = version.len() == 2
        && version != "ff"
        && trace_id.len() == 32
        && span_id.len() == 16
        && flags.len() == 2
        && (version != VERSION || parts.next().is_none());
    if !well_formed {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    let context = SpanContext::new(
        TraceId::from_hex(trace_id).ok()?,
        SpanId::from_hex(span_id).ok()?,
        TraceFlags::new(flags) & TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    context.is_valid().then_some(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_traceparent_survives_a_round_trip() {
        let context = parse(SAMPLE).expect("valid traceparent");
        assert!(context.is_sampled());
        assert_eq!(format(&context).as_deref(), Some(SAMPLE));
    }

    #[test]
    fn malformed_traceparents_are_refused() {
        let cases = [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473x-00f067aa0ba902b7-01",
        ];
        for case in cases {
            assert!(parse(case).is_none(), "{case}");
        }
    }

    #[test]
    fn spans_without_an_exporter_have_no_parent_to_pass_on() {
        let span = tracing::info_span!("untraced");
        let _entered = span.enter();
        assert_eq!(current_parent(), None);
        follow(&span, Some(SAMPLE));
    }
}
