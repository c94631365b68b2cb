//! Rendering an error with its causes, for any layer: the command layer prints errors this
//! way once, lower layers embed another error's text with [`one_line`], and JSON documents
//! carry it as an [`ErrorDoc`].

use serde::Serialize;

/// An error in a JSON document: its message and each distinct cause, outermost first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ErrorDoc {
    /// What went wrong (the top error's text).
    pub message: String,
    /// Why, one entry per distinct cause.
    pub causes: Vec<String>,
}

impl ErrorDoc {
    /// An error with no cause to name.
    pub(crate) fn message(message: impl Into<String>) -> Self {
        ErrorDoc {
            message: message.into(),
            causes: Vec::new(),
        }
    }

    /// As the terminal shows it: `error: <message>` plus one `  caused by: <cause>` line each.
    pub(crate) fn render(&self) -> String {
        let mut out = format!("error: {}", self.message);
        for c in &self.causes {
            out.push_str(&format!("\n  caused by: {c}"));
        }
        out
    }
}

/// `err` and its distinct causes, as documents carry them.
pub(crate) fn document(err: &(dyn std::error::Error + 'static)) -> ErrorDoc {
    let message = err.to_string();
    let mut causes = Vec::new();
    let mut last = message.clone();
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = e.to_string();
        // Transparent wrappers repeat their inner text; say each thing once.
        if !last.contains(&text) {
            causes.push(text.clone());
        }
        last = text;
        cur = e.source();
    }
    ErrorDoc { message, causes }
}

/// An error and its causes on one line (`a: b: c`), for messages that embed another error.
pub(crate) fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let doc = document(err);
    std::iter::once(doc.message)
        .chain(doc.causes)
        .collect::<Vec<_>>()
        .join(": ")
}

/// `error: <top>` plus one `  caused by: <cause>` line per distinct cause.
pub(crate) fn render(err: &(dyn std::error::Error + 'static)) -> String {
    document(err).render()
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Transparent);

    #[derive(Debug, thiserror::Error)]
    #[error("inner: root")]
    struct Transparent(#[source] std::io::Error);

    #[test]
    fn a_chain_names_each_distinct_cause_once() {
        let e = Outer(Transparent(std::io::Error::other("root")));
        let doc = super::document(&e);
        assert_eq!(doc.message, "outer");
        assert_eq!(doc.causes, ["inner: root"], "`root` is already said");
        assert_eq!(super::render(&e), "error: outer\n  caused by: inner: root");
        assert_eq!(super::one_line(&e), "outer: inner: root");
    }
}
