//! Rendering an error with its causes, for any layer: the command layer prints errors this
//! way once, and lower layers embed another error's text with [`one_line`].

/// An error and its causes on one line (`a: b: c`), for messages that embed another error.
pub(crate) fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    render(err)
        .trim_start_matches("error: ")
        .replace("\n  caused by: ", ": ")
}

/// `error: <top>` plus one `  caused by: <cause>` line per distinct cause.
pub(crate) fn render(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = format!("error: {err}");
    let mut last = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = e.to_string();
        // Transparent wrappers repeat their inner text; say each thing once.
        if !last.contains(&text) {
            out.push_str(&format!("\n  caused by: {text}"));
        }
        last = text;
        cur = e.source();
    }
    out
}
