//! The delivery worker.
