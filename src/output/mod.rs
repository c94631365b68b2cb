//! Output: human tables and JSON documents. Stdout carries data only; diagnostics go to
//! stderr (through tracing).
//!
//! Commands build documents (one type per document, each rendered both ways by its
//! [`Document`] impl) and hand them to the [`Printer`], the one place `--output` and `-q` are
//! decided; [`schema`] is the one place `schema_version` is written.

pub(crate) mod channel;
pub(crate) mod events;
pub(crate) mod journal;
pub(crate) mod next_step;
pub(crate) mod plan;
pub(crate) mod printer;
pub(crate) mod progress;
pub(crate) mod rollback;
pub(crate) mod schema;
pub(crate) mod status;
pub(crate) mod summary;
pub(crate) mod vote;
pub(crate) mod watch;

pub(crate) use crate::english::count;
pub(crate) use printer::{Document, Printer, WriteError};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    /// Tables for people.
    Human,
    /// One JSON document (or JSON Lines for event streams), with `schema_version`.
    Json,
}

/// A table as every human view draws it: condensed UTF-8 borders, columns fitted to
/// [`width`].
pub(crate) fn table() -> comfy_table::Table {
    table_at(width())
}

/// [`table`] for `width` columns (`None`: as wide as its content).
pub(crate) fn table_at(width: Option<u16>) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    match width {
        Some(w) => t.set_width(w),
        // Not a terminal and no `COLUMNS`: no limit, whatever comfy-table would detect.
        None => t.force_no_tty(),
    };
    t
}

/// The columns human tables fit in: `COLUMNS` if set to a number (the convention `ls` and
/// Python follow; it lets a test or a script choose), else the terminal's width when stdout
/// is one (80 where it reports 0, which would squeeze every column to one character), else
/// none: piped output is as wide as its content.
pub(crate) fn width() -> Option<u16> {
    let columns = std::env::var(crate::env_vars::COLUMNS).ok();
    usable_width(
        columns.as_deref(),
        comfy_table::Table::new().width(), // the terminal's, if stdout is one
    )
}

/// [`width`] from `COLUMNS` and the width the terminal reports.
fn usable_width(columns: Option<&str>, detected: Option<u16>) -> Option<u16> {
    match columns.and_then(|c| c.trim().parse::<u16>().ok()) {
        Some(c) if c > 0 => Some(c),
        _ => detected.map(|d| if d == 0 { 80 } else { d }),
    }
}

/// The table as text, each column at least as wide as its longest word, so that no id,
/// address, version or date is broken across lines, when that fits the table's width;
/// otherwise as comfy-table wraps it.
pub(crate) fn render(t: comfy_table::Table) -> String {
    render_first_fitting(vec![t]).0
}

/// The first of `layouts` that fits its width with every word whole (see [`render`]), and
/// its index; the last, wrapped as it fits, when none does.
pub(crate) fn render_first_fitting(layouts: Vec<comfy_table::Table>) -> (String, usize) {
    let last = layouts.len().saturating_sub(1);
    for (i, mut t) in layouts.into_iter().enumerate() {
        let Some(width) = t.width() else {
            return (t.to_string(), i);
        };
        let wrapped = (i == last).then(|| t.to_string());
        keep_words_whole(&mut t);
        let whole = t.to_string();
        if fits(&whole, width) {
            return (whole, i);
        }
        if let Some(wrapped) = wrapped {
            return (wrapped, i);
        }
    }
    (String::new(), last)
}

/// `text` with its lines word-wrapped to `width` columns (unchanged for `None`); a word longer
/// than the width keeps a line of its own.
pub(crate) fn wrap(text: &str, width: Option<u16>) -> String {
    let Some(width) = width.map(usize::from) else {
        return text.to_string();
    };
    let mut out = String::new();
    for line in text.lines() {
        let mut len = 0;
        for word in line.split(' ') {
            let w = word.chars().count();
            if len > 0 && len + 1 + w > width {
                out.push('\n');
                len = 0;
            } else if len > 0 {
                out.push(' ');
                len += 1;
            }
            out.push_str(word);
            len += w;
        }
        out.push('\n');
    }
    out
}

/// Every line of `text` is at most `width` characters (the borders and our cells are one
/// column per character).
fn fits(text: &str, width: u16) -> bool {
    text.lines()
        .all(|l| l.chars().count() <= usize::from(width))
}

/// Each column no narrower than its longest word (header included), plus padding.
fn keep_words_whole(t: &mut comfy_table::Table) {
    let mut longest: Vec<usize> = Vec::new();
    let header = t.header().into_iter();
    for row in header.chain(t.row_iter()) {
        for (i, cell) in row.cell_iter().enumerate() {
            let word = cell
                .content()
                .split_whitespace()
                .map(|w| w.chars().count())
                .max()
                .unwrap_or(0);
            if longest.len() <= i {
                longest.resize(i + 1, 0);
            }
            longest[i] = longest[i].max(word);
        }
    }
    for (column, word) in t.column_iter_mut().zip(longest) {
        let w = u16::try_from(word).unwrap_or(u16::MAX);
        let padded = w.saturating_add(column.padding_width());
        column.set_constraint(comfy_table::ColumnConstraint::LowerBoundary(
            comfy_table::Width::Fixed(padded),
        ));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_terminal_of_no_width_gets_eighty_columns_and_columns_overrides() {
        use super::usable_width;
        assert_eq!(usable_width(None, Some(0)), Some(80));
        assert_eq!(usable_width(None, Some(120)), Some(120));
        assert_eq!(usable_width(None, None), None);
        assert_eq!(usable_width(Some("80"), None), Some(80));
        assert_eq!(usable_width(Some("100"), Some(200)), Some(100));
        assert_eq!(usable_width(Some(""), Some(120)), Some(120));
        assert_eq!(usable_width(Some("wide"), None), None);
        assert_eq!(usable_width(Some("0"), None), None);
    }

    /// A table of ids, addresses, versions and dates, as `status` has.
    fn wide_table(width: u16) -> comfy_table::Table {
        let mut t = super::table_at(Some(width));
        t.set_header(vec![
            "node",
            "rpc address",
            "ccf_version",
            "certificate expires",
        ]);
        for i in 0..3 {
            t.add_row(vec![
                format!("50b78b7{i}"),
                format!("127.0.0.1:4539{i}"),
                "ccf-7.0.1-rc2".into(),
                "2027-11-30T21:04:05Z".to_string(),
            ]);
        }
        t
    }

    #[test]
    fn a_table_keeps_words_whole_when_they_fit() {
        let text = super::render(wide_table(72));
        assert!(super::fits(&text, 72), "{text}");
        for word in [
            "50b78b70",
            "127.0.0.1:45392",
            "ccf-7.0.1-rc2",
            "2027-11-30T21:04:05Z",
        ] {
            assert!(text.contains(word), "{word} whole in\n{text}");
        }
        // Too narrow for whole words: it still fits, words broken.
        let text = super::render(wide_table(30));
        assert!(super::fits(&text, 30), "{text}");
    }

    #[test]
    fn text_wraps_at_words() {
        let text = "one two three four five six seven";
        assert_eq!(
            super::wrap(text, Some(9)),
            "one two\nthree\nfour five\nsix seven\n"
        );
        assert_eq!(super::wrap(text, None), text);
    }

    #[test]
    fn the_first_layout_that_fits_is_chosen() {
        let mut narrow = super::table_at(Some(72));
        narrow.set_header(vec!["node"]).add_row(vec!["50b78b70"]);
        let (text, i) = super::render_first_fitting(vec![wide_table(72), narrow]);
        assert_eq!(i, 0, "{text}");
        let mut narrow = super::table_at(Some(40));
        narrow.set_header(vec!["node"]).add_row(vec!["50b78b70"]);
        let (text, i) = super::render_first_fitting(vec![wide_table(40), narrow]);
        assert_eq!(i, 1, "{text}");
    }
}
