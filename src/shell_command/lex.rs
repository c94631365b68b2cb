//! A lexical pass over a `sh -c` command: its first simple command's words, and whether a
//! quote is left open. A small state machine: the state is the quote the pass is in, and each
//! character is handled by the function for that state.

use std::iter::Peekable;
use std::str::Chars;

/// One word of the first simple command.
#[derive(Debug, Default)]
pub(super) struct Word {
    /// As written (quotes included).
    pub(super) raw: String,
    /// After quote removal.
    pub(super) value: String,
    /// Something the shell would expand or compute (`$`, a backtick, a glob, `~`).
    pub(super) computed: bool,
}

/// What a quick lexical pass over a command found.
#[derive(Debug, Default)]
pub(super) struct Lexed {
    /// The words of the first simple command, up to the first operator.
    pub(super) words: Vec<Word>,
    /// The first simple command begins with an operator (`(`, `;`, `|`, `&`).
    pub(super) starts_with_syntax: bool,
    /// A quote left open at the end, when the pass can tell (see `complex`).
    pub(super) unterminated: Option<char>,
    /// Here-documents, command substitutions, `${...}` or `$'...'`: quotes inside them do
    /// not pair up linearly, so an open quote is left to `sh -n` to judge.
    pub(super) complex: bool,
}

/// The quote the pass is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

/// The pass's state between characters.
struct Lexer<'a> {
    chars: Peekable<Chars<'a>>,
    out: Lexed,
    quote: Quote,
    /// The word being read, if any.
    word: Option<Word>,
    /// The first simple command has ended: later words are not kept.
    first_done: bool,
    /// The next word is a redirection's target (`> log`), not part of the command.
    target: bool,
}

/// A lexical pass over `command` following `sh`'s quoting rules: single quotes, double
/// quotes (where `\` escapes `$`, `` ` ``, `"`, `\` and a newline), backslash escapes, and
/// `#` comments at the start of a word. It is not a shell parser: it finds the first simple
/// command's words and whether a quote is left open, and gives up (marks `complex`) where
/// that would take one.
pub(super) fn lex(command: &str) -> Lexed {
    let mut l = Lexer {
        chars: command.chars().peekable(),
        out: Lexed::default(),
        quote: Quote::None,
        word: None,
        first_done: false,
        target: false,
    };
    while let Some(c) = l.chars.next() {
        match l.quote {
            Quote::Single => l.single_quoted(c),
            Quote::Double => l.double_quoted(c),
            Quote::None => l.unquoted(c),
        }
    }
    l.end()
}

impl Lexer<'_> {
    /// The word being read, started if there is none.
    fn word(&mut self) -> &mut Word {
        self.word.get_or_insert_with(Word::default)
    }

    /// End the word being read: kept if it belongs to the first command and is no
    /// redirection's target.
    fn finish_word(&mut self) {
        if let Some(w) = self.word.take() {
            if self.target {
                self.target = false;
            } else if !self.first_done {
                self.out.words.push(w);
            }
        }
    }

    fn single_quoted(&mut self, c: char) {
        let w = self.word();
        w.raw.push(c);
        if c == '\'' {
            self.quote = Quote::None;
        } else {
            w.value.push(c);
        }
    }

    fn double_quoted(&mut self, c: char) {
        self.word().raw.push(c);
        match c {
            '"' => self.quote = Quote::None,
            '\\' => self.double_quoted_escape(),
            '$' => self.expansion(c, &['(', '{']),
            '`' => self.expansion(c, &[]),
            _ => self.word().value.push(c),
        }
    }

    /// Inside double quotes, `\` escapes only `$`, `` ` ``, `"`, `\` and a newline (which it
    /// removes); before anything else it is itself.
    fn double_quoted_escape(&mut self) {
        let w = self.word.get_or_insert_with(Word::default);
        match self.chars.peek() {
            Some(&n @ ('$' | '`' | '"' | '\\' | '\n')) => {
                self.chars.next();
                w.raw.push(n);
                if n != '\n' {
                    w.value.push(n);
                }
            }
            _ => w.value.push('\\'),
        }
    }

    /// `$` or a backtick: the shell computes this word. A backtick, or a `$` followed by one
    /// of `opens`, starts something whose quotes the pass does not follow.
    fn expansion(&mut self, c: char, opens: &[char]) {
        let w = self.word.get_or_insert_with(Word::default);
        w.computed = true;
        w.value.push(c);
        if c == '`' || self.chars.peek().is_some_and(|n| opens.contains(n)) {
            self.out.complex = true;
        }
    }

    fn unquoted(&mut self, c: char) {
        match c {
            ' ' | '\t' => self.finish_word(),
            '\n' => self.newline(),
            '#' if self.word.is_none() => self.comment(),
            '<' | '>' => self.redirection(c),
            ';' | '&' | '|' | '(' | ')' => self.operator(),
            // A line continuation: nothing, not even the end of a word.
            '\\' if self.chars.peek() == Some(&'\n') => {
                self.chars.next();
            }
            _ => self.word_char(c),
        }
    }

    fn newline(&mut self) {
        // Blank lines and comments before the first command are not a command.
        let empty = self.word.is_none() && self.out.words.is_empty();
        self.finish_word();
        if !empty {
            self.first_done = true;
        }
    }

    fn comment(&mut self) {
        while self.chars.next_if(|&n| n != '\n').is_some() {}
    }

    /// A redirection, which may come before the command (`2>/dev/null ./l.sh`): its file
    /// descriptor number and its target are no words of the command.
    fn redirection(&mut self, c: char) {
        if c == '<' && self.chars.peek() == Some(&'<') {
            // A here-document: its body is not shell words.
            self.out.complex = true;
        }
        let io_number = self
            .word
            .as_ref()
            .is_some_and(|w| !w.raw.is_empty() && w.raw.bytes().all(|b| b.is_ascii_digit()));
        if io_number {
            self.word = None;
        } else {
            self.finish_word();
        }
        let mut duplicates = false;
        while let Some(n) = self.chars.next_if(|n| matches!(n, '<' | '>' | '&' | '|')) {
            duplicates |= n == '&';
        }
        // `<<-` strips tabs (a delimiter follows); `>&-` closes (nothing follows).
        let closes = self.chars.next_if_eq(&'-').is_some() && duplicates;
        self.target = !closes;
    }

    fn operator(&mut self) {
        self.finish_word();
        if !self.first_done && self.out.words.is_empty() {
            self.out.starts_with_syntax = true;
        }
        self.first_done = true;
    }

    /// A character of an unquoted word: quotes open, `\` escapes the next character, and
    /// `$`, a backtick, a glob or a leading `~` make the word one the shell computes.
    fn word_char(&mut self, c: char) {
        let fresh = self.word.is_none();
        self.word().raw.push(c);
        match c {
            '\'' => self.quote = Quote::Single,
            '"' => self.quote = Quote::Double,
            '\\' => {
                if let Some(n) = self.chars.next() {
                    let w = self.word();
                    w.raw.push(n);
                    w.value.push(n);
                }
            }
            '$' => self.expansion(c, &['(', '{', '\'']),
            '`' => self.expansion(c, &[]),
            '*' | '?' | '[' => self.computed(c),
            '~' if fresh => self.computed(c),
            _ => self.word().value.push(c),
        }
    }

    fn computed(&mut self, c: char) {
        let w = self.word();
        w.computed = true;
        w.value.push(c);
    }

    fn end(mut self) -> Lexed {
        self.finish_word();
        if !self.out.complex {
            self.out.unterminated = match self.quote {
                Quote::None => None,
                Quote::Single => Some('\''),
                Quote::Double => Some('"'),
            };
        }
        self.out
    }
}
