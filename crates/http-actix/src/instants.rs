//! Instants on the wire: RFC 3339 in UTC.

/// `at` as RFC 3339 in UTC (`…Z`).
pub(crate) fn rfc3339(at: time::OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
