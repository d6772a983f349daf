//! How search compares text: the one case folding applied alike to stored
//! text and to needles, so that every store finds the same messages.

/// Folds text for case-insensitive search: Unicode's default lower-case
/// mapping ([`str::to_lowercase`]), applied alike to stored text and to the
/// needle. No normalisation and no full case folding (`ß` does not match `ss`).
#[must_use]
pub fn fold_case(text: &str) -> String {
    text.to_lowercase()
}
