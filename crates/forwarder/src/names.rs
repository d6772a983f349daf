//! Metric names (the HTTP adapter repeats the histogram's for its buckets).

/// Delivery attempts by `result`: `success` or `failure`.
pub const DELIVERIES: &str = "hookbox_deliveries_total";
/// The time one attempt took, in milliseconds.
pub const DELIVERY_LATENCY: &str = "hookbox_delivery_latency_ms";
/// Matching messages after a subscription's position, by `subscription`.
pub const LAG: &str = "hookbox_subscription_lag";
/// Messages moved onto a dead-letter list.
pub const DEAD_LETTERS: &str = "hookbox_dead_letters_total";
/// Subscriptions this process delivers now.
pub const LEASED: &str = "hookbox_subscriptions_leased";
