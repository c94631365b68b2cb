//! The short form of a node (or proposal) id that plan texts show.

/// The first 8 characters of `id` (all of it when shorter).
pub(crate) fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}
