//! English for people: a count with its noun in the singular or the plural. Every layer
//! (plan reasons, errors, tables) says `1 node` and `2 nodes`, never `node(s)`.

/// `1 step`, `8 steps`: a count with its noun, singular or plural.
pub(crate) fn count(n: usize, noun: &str) -> String {
    format!("{n} {}", noun_for(n, noun))
}

/// The noun for `n` things, without the number: `node` for 1, `nodes` otherwise (for lists
/// whose count the reader sees: `new node 4444` / `new nodes 4444, 5555`).
pub(crate) fn noun_for(n: usize, noun: &str) -> String {
    if n == 1 {
        noun.to_string()
    } else {
        format!("{noun}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_read_as_english() {
        assert_eq!(super::count(1, "step"), "1 step");
        assert_eq!(super::count(0, "step"), "0 steps");
        assert_eq!(super::count(8, "step"), "8 steps");
        assert_eq!(super::count(1, "yes vote"), "1 yes vote");
        assert_eq!(super::noun_for(1, "node"), "node");
        assert_eq!(super::noun_for(2, "node"), "nodes");
    }
}
