//! Health probes: every port a health check asks answers `Ok` on a working backend, and changes nothing.

use crate::store::Stores;

pub async fn probes_answer_when_up(s: Stores) {
    let before = s.queue.depths().await.expect("depths");
    s.applications.probe().await.expect("the record store answers");
    s.queue.probe().await.expect("the queue answers");
    s.idempotency.probe().await.expect("the cache answers");
    assert_eq!(
        s.queue.depths().await.expect("depths"),
        before,
        "probing moves nothing"
    );
}
