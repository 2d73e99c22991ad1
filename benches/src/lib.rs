//! Criterion micro-benchmarks of Xwebhook's hot paths (see `benches/`). The library itself is empty: the
//! benchmarks use the real types of `xwebhook-engine`, never copies of them.
