//! The backend conformance suite (filled in by the embedded-store work).
