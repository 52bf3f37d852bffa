//! Confidence of error-handling findings whose near misses are still reported: the fixture
//! annotations see every level, so the levels themselves are pinned here.

#[path = "support/confidence.rs"]
mod confidence;
use confidence::{confidences, level};

#[test]
fn retried_webhook_deliveries_are_low() {
    let found = confidences(&["fixtures/python/error-handling/err016_webhook_delivery.py"]);
    // A POST to the subscriber's `webhook.url`.
    assert_eq!(
        level(&found, "ERR016", "err016_webhook_delivery.py", 21),
        "low"
    );
    // A POST that creates a ticket, with a webhook's payload in hand.
    assert_eq!(
        level(&found, "ERR016", "err016_webhook_delivery.py", 35),
        "medium"
    );
}
