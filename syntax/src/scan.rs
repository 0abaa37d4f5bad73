//! A hand-written Python scanner for the index: tokens, logical lines and the statement tree, without tree-sitter.
//!
//! Parsing every file of a large repository with tree-sitter costs seconds; the index needs only statement-level
//! shape (definitions, blocks, clauses, simple statements, line spans), which a tokenizer recovers exactly for
//! valid Python. The scanner handles strings (prefixes, triple quotes, escapes, f-strings with nested replacement
//! fields and quotes), comments, brackets, backslash continuations, decorators, `async`, `match`/`case` and tabs.
//!
//! It is deliberately strict: anything it is not sure to read the way tree-sitter does (unbalanced brackets, an
//! unterminated string, inconsistent indentation, a stray `else`, a lone `\r`, a form feed, spaces before tabs in
//! an indentation, a character Python does not use, ...) makes [`scan`] return `None`, and the caller parses the
//! file with tree-sitter instead. Its structures are checked against CPython's `ast` and its statement trees
//! against tree-sitter's skeletons and structures on whole repositories (see `tests/it/fixtures.rs` and the
//! `scan_crosscheck` example).

use std::ops::Range;

/// Deepest block nesting accepted; deeper files go to tree-sitter.
const MAX_NESTING: usize = 100;

/// One statement of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stmt {
    /// 0-based row of the first token (the first decorator's `@` for a decorated definition).
    pub first_row: usize,
    /// Byte offset of the first token.
    pub start: usize,
    /// 0-based row of the last token (comments left out), bodies included.
    pub last_row: usize,
    pub kind: StmtKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StmtKind {
    /// Simple statements sharing one logical line (`a = 1; b = 2`).
    Simple(Vec<Part>),
    Def(Box<Def>),
    /// `if`/`for`/`while`/`try`/`with`/`match` and a `case` clause: each clause with its block. A `match` has one
    /// clause whose block holds its `case` clauses.
    Compound(Vec<Clause>),
}

/// One `;`-separated simple statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub first_row: usize,
    pub last_row: usize,
    pub kind: PartKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PartKind {
    /// `x = ...` (chains included) or, with `typed`, `x: T` / `x: T = ...`; `names` are the names bound.
    Assign {
        typed: bool,
        names: Vec<Range<usize>>,
    },
    /// `x += ...`.
    AugAssign {
        names: Vec<Range<usize>>,
    },
    /// A lone plain (not formatted) string.
    Docstring,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Def {
    pub is_class: bool,
    pub name: Range<usize>,
    /// Row and byte of the `def`/`async`/`class` keyword.
    pub row: usize,
    pub start: usize,
    /// The `:` ending the header: the byte just past it and its row.
    pub colon_end: usize,
    pub colon_row: usize,
    pub body: Block,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clause {
    pub first_row: usize,
    pub body: Block,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    pub stmts: Vec<Stmt>,
    /// The indentation of the first statement when it starts its own line (`None` for a body on the header line).
    pub indent: Option<Range<usize>>,
}

impl Stmt {
    pub(crate) fn is_simple(&self) -> bool {
        matches!(self.kind, StmtKind::Simple(_))
    }

    /// The block a compound statement ends with (a definition's body, the last clause's block).
    pub(crate) fn last_block(&self) -> Option<&Block> {
        match &self.kind {
            StmtKind::Simple(_) => None,
            StmtKind::Def(def) => Some(&def.body),
            StmtKind::Compound(clauses) => clauses.last().map(|clause| &clause.body),
        }
    }
}

/// The statement tree of a module, or `None` when the scanner is not sure to read it as tree-sitter does.
pub(crate) fn scan(text: &str) -> Option<Vec<Stmt>> {
    let bytes = text.as_bytes();
    // A cheap pass first (most files have no `\r` at all), the exact one only when needed.
    let suspicious = bytes.iter().fold(false, |found, &byte| found | matches!(byte, 0 | 0x0c | b'\r'));
    if suspicious
        && bytes
            .iter()
            .enumerate()
            .any(|(at, &byte)| byte == 0 || byte == 0x0c || (byte == b'\r' && bytes.get(at + 1) != Some(&b'\n')))
    {
        return None;
    }
    let mut lexer = Lexer { bytes, pos: 0, row: 0, tokens: Vec::with_capacity(bytes.len() / 5), lines: Vec::new() };
    lexer.run()?;
    let Lexer { tokens, lines, .. } = lexer;
    let mut parser = Parser { text, tokens: &tokens, lines: &lines, at: 0, nesting: 0 };
    if lines.is_empty() {
        return Some(Vec::new());
    }
    let stmts = parser.block(0)?;
    (parser.at == lines.len()).then_some(stmts)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tk {
    Name,
    Number,
    /// A string; `formatted` when its prefix has `f` or `t`.
    Str {
        formatted: bool,
    },
    Op(Op),
    Open,
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Assign,
    AugAssign,
    Colon,
    Semicolon,
    Comma,
    At,
    Star,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Tk,
    /// Bracket depth outside this token (for a bracket, outside the pair).
    depth: u16,
    start: u32,
    end: u32,
    row: u32,
    end_row: u32,
}

/// A logical line: its tokens and indentation.
#[derive(Debug, Clone)]
struct Line {
    tokens: Range<usize>,
    /// Indentation width (a tab counts 8, as both CPython and tree-sitter count a tab before any space).
    width: usize,
    /// The indentation's bytes.
    indent: Range<usize>,
}

struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
    row: usize,
    tokens: Vec<Token>,
    lines: Vec<Line>,
}

fn is_name_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80
}

/// Whether `prefix` is a string prefix, and whether it makes a formatted string.
fn string_prefix(prefix: &[u8]) -> Option<bool> {
    if prefix.len() > 2 {
        return None;
    }
    let (mut raw, mut bytes, mut unicode, mut formatted) = (0, 0, 0, 0);
    for &letter in prefix {
        match letter.to_ascii_lowercase() {
            b'r' => raw += 1,
            b'b' => bytes += 1,
            b'u' => unicode += 1,
            b'f' | b't' => formatted += 1,
            _ => return None,
        }
    }
    let valid = raw <= 1 && bytes + unicode + formatted <= 1 && (unicode == 0 || prefix.len() == 1);
    valid.then_some(formatted == 1)
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    /// At a `\n` or `\r\n`: steps over it.
    fn newline(&mut self) -> bool {
        match self.peek(0) {
            Some(b'\n') => {
                self.pos += 1;
                self.row += 1;
                true
            }
            Some(b'\r') if self.peek(1) == Some(b'\n') => {
                self.pos += 2;
                self.row += 1;
                true
            }
            _ => false,
        }
    }

    fn run(&mut self) -> Option<()> {
        let mut depth: Vec<u8> = Vec::new();
        loop {
            // The start of a physical line outside brackets: indentation, blank and comment lines.
            let line_start = self.pos;
            let mut width = 0;
            let mut spaces = false;
            while let Some(byte) = self.peek(0) {
                match byte {
                    b' ' => {
                        width += 1;
                        spaces = true;
                    }
                    b'\t' if spaces => return None,
                    b'\t' => width += 8,
                    _ => break,
                }
                self.pos += 1;
            }
            let indent = line_start..self.pos;
            match self.peek(0) {
                None => return Some(()),
                Some(b'#') => {
                    self.skip_comment();
                    if !self.newline() {
                        return Some(());
                    }
                    continue;
                }
                Some(b'\n' | b'\r') => {
                    if !self.newline() {
                        return None;
                    }
                    continue;
                }
                Some(b'\\') => return None,
                Some(_) => {}
            }
            let first = self.tokens.len();
            let ended = self.logical_line(&mut depth)?;
            self.lines.push(Line { tokens: first..self.tokens.len(), width, indent });
            if !ended {
                return depth.is_empty().then_some(());
            }
        }
    }

    fn skip_comment(&mut self) {
        while let Some(byte) = self.peek(0) {
            if byte == b'\n' || byte == b'\r' {
                break;
            }
            self.pos += 1;
        }
    }

    fn push(&mut self, kind: Tk, depth: usize, start: usize, row: usize) -> Option<()> {
        self.tokens.push(Token {
            kind,
            depth: u16::try_from(depth).ok()?,
            start: u32::try_from(start).ok()?,
            end: u32::try_from(self.pos).ok()?,
            row: u32::try_from(row).ok()?,
            end_row: u32::try_from(self.row).ok()?,
        });
        Some(())
    }

    /// Tokens up to the end of a logical line; `Some(false)` when the text ended instead.
    fn logical_line(&mut self, depth: &mut Vec<u8>) -> Option<bool> {
        loop {
            let Some(byte) = self.peek(0) else {
                return depth.is_empty().then_some(false);
            };
            let start = self.pos;
            let row = self.row;
            match byte {
                b' ' | b'\t' => self.pos += 1,
                b'#' => self.skip_comment(),
                b'\n' | b'\r' => {
                    if !self.newline() {
                        return None;
                    }
                    if depth.is_empty() {
                        return Some(true);
                    }
                }
                b'\\' => {
                    self.pos += 1;
                    if !self.newline() {
                        return None;
                    }
                }
                b'(' | b'[' | b'{' => {
                    self.pos += 1;
                    self.push(Tk::Open, depth.len(), start, row)?;
                    depth.push(byte);
                }
                b')' | b']' | b'}' => {
                    let open = depth.pop()?;
                    let expected = match open {
                        b'(' => b')',
                        b'[' => b']',
                        _ => b'}',
                    };
                    if byte != expected {
                        return None;
                    }
                    self.pos += 1;
                    self.push(Tk::Close, depth.len(), start, row)?;
                }
                b'\'' | b'"' => {
                    self.string(false)?;
                    self.push(Tk::Str { formatted: false }, depth.len(), start, row)?;
                }
                b'0'..=b'9' => {
                    self.number();
                    self.push(Tk::Number, depth.len(), start, row)?;
                }
                b'.' if self.peek(1).is_some_and(|next| next.is_ascii_digit()) => {
                    self.number();
                    self.push(Tk::Number, depth.len(), start, row)?;
                }
                _ if is_name_start(byte) => {
                    while self.peek(0).is_some_and(is_name_byte) {
                        self.pos += 1;
                    }
                    if matches!(self.peek(0), Some(b'\'' | b'"'))
                        && let Some(formatted) = string_prefix(self.bytes.get(start..self.pos)?)
                    {
                        self.string(formatted)?;
                        self.push(Tk::Str { formatted }, depth.len(), start, row)?;
                    } else {
                        self.push(Tk::Name, depth.len(), start, row)?;
                    }
                }
                _ => {
                    let op = self.operator()?;
                    self.push(Tk::Op(op), depth.len(), start, row)?;
                }
            }
        }
    }

    fn number(&mut self) {
        while let Some(byte) = self.peek(0) {
            if is_name_byte(byte) || byte == b'.' {
                self.pos += 1;
            } else if (byte == b'+' || byte == b'-')
                && self.pos > 0
                && self.bytes.get(self.pos - 1).is_some_and(|prev| prev.eq_ignore_ascii_case(&b'e'))
            {
                // An exponent sign (`1e-5`); a hexadecimal `0x1e+5` splits the same way, harmlessly.
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn operator(&mut self) -> Option<Op> {
        const THREE: [&[u8]; 4] = [b"**=", b"//=", b">>=", b"<<="];
        const TWO_AUG: [&[u8]; 10] = [b"+=", b"-=", b"*=", b"/=", b"%=", b"&=", b"|=", b"^=", b"@=", b"**"];
        const TWO: [&[u8]; 10] = [b"->", b":=", b"==", b"!=", b"<=", b">=", b"//", b"<<", b">>", b"<>"];
        let rest = self.bytes.get(self.pos..)?;
        if rest.starts_with(b"...") {
            self.pos += 3;
            return Some(Op::Other);
        }
        if THREE.iter().any(|op| rest.starts_with(op)) {
            self.pos += 3;
            return Some(Op::AugAssign);
        }
        if let Some(op) = TWO_AUG.iter().find(|op| rest.starts_with(op)) {
            self.pos += 2;
            return Some(if *op == b"**" { Op::Other } else { Op::AugAssign });
        }
        if TWO.iter().any(|op| rest.starts_with(op)) {
            self.pos += 2;
            return Some(Op::Other);
        }
        let op = match rest.first()? {
            b'=' => Op::Assign,
            b':' => Op::Colon,
            b';' => Op::Semicolon,
            b',' => Op::Comma,
            b'@' => Op::At,
            b'*' => Op::Star,
            b'+' | b'-' | b'/' | b'%' | b'&' | b'|' | b'^' | b'~' | b'<' | b'>' | b'.' => Op::Other,
            _ => return None,
        };
        self.pos += 1;
        Some(op)
    }

    /// A string from its opening quote; with `formatted`, replacement fields are followed (nested strings too).
    fn string(&mut self, formatted: bool) -> Option<()> {
        let quote = self.peek(0)?;
        let triple = self.peek(1) == Some(quote) && self.peek(2) == Some(quote);
        self.pos += if triple { 3 } else { 1 };
        loop {
            let byte = self.peek(0)?;
            match byte {
                b'\\' => {
                    self.pos += 1;
                    if !self.newline() {
                        self.pos += 1;
                    }
                }
                b'\n' | b'\r' => {
                    if !triple || !self.newline() {
                        return None;
                    }
                }
                _ if byte == quote => {
                    if !triple {
                        self.pos += 1;
                        return Some(());
                    }
                    if self.peek(1) == Some(quote) && self.peek(2) == Some(quote) {
                        self.pos += 3;
                        return Some(());
                    }
                    self.pos += 1;
                }
                b'{' if formatted => {
                    if self.peek(1) == Some(b'{') {
                        self.pos += 2;
                    } else {
                        self.pos += 1;
                        self.replacement_field()?;
                    }
                }
                b'}' if formatted => {
                    if self.peek(1) != Some(b'}') {
                        return None;
                    }
                    self.pos += 2;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// Inside an f-string, just past a field's `{`: steps past its closing `}`.
    fn replacement_field(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            let byte = self.peek(0)?;
            match byte {
                b'\'' | b'"' => self.string(false)?,
                b'\n' | b'\r' => {
                    if !self.newline() {
                        return None;
                    }
                }
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    self.pos += 1;
                }
                b')' | b']' => {
                    depth = depth.checked_sub(1)?;
                    self.pos += 1;
                }
                b'}' if depth > 0 => {
                    depth -= 1;
                    self.pos += 1;
                }
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                b'!' if depth == 0 && self.peek(1) != Some(b'=') => {
                    self.pos += 1;
                    while self.peek(0).is_some_and(is_name_byte) {
                        self.pos += 1;
                    }
                }
                b':' if depth == 0 => {
                    self.pos += 1;
                    return self.format_spec();
                }
                b'\\' | b'#' => return None,
                _ if is_name_start(byte) => {
                    let start = self.pos;
                    while self.peek(0).is_some_and(is_name_byte) {
                        self.pos += 1;
                    }
                    if matches!(self.peek(0), Some(b'\'' | b'"'))
                        && let Some(formatted) = string_prefix(self.bytes.get(start..self.pos)?)
                    {
                        self.string(formatted)?;
                    }
                }
                _ => self.pos += 1,
            }
        }
    }

    /// A format spec, just past its `:`: steps past the field's closing `}`.
    fn format_spec(&mut self) -> Option<()> {
        loop {
            match self.peek(0)? {
                b'{' => {
                    self.pos += 1;
                    self.replacement_field()?;
                }
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                b'\n' | b'\r' | b'\\' | b'\'' | b'"' => return None,
                _ => self.pos += 1,
            }
        }
    }
}

/// Keywords that start a simple statement which is never an assignment.
const SIMPLE_KEYWORDS: [&str; 14] = [
    "pass", "break", "continue", "return", "raise", "import", "from", "global", "nonlocal", "del", "assert", "print",
    "exec", "await",
];

/// Keywords that cannot start a simple statement at all.
const COMPOUND_KEYWORDS: [&str; 12] =
    ["if", "elif", "else", "for", "while", "try", "except", "finally", "with", "def", "class", "async"];

struct Parser<'a> {
    text: &'a str,
    tokens: &'a [Token],
    lines: &'a [Line],
    at: usize,
    nesting: usize,
}

impl<'a> Parser<'a> {
    fn word(&self, token: &Token) -> &'a str {
        self.text.get(token.start as usize..token.end as usize).unwrap_or_default()
    }

    fn line_tokens(&self, line: &Line) -> &'a [Token] {
        self.tokens.get(line.tokens.clone()).unwrap_or_default()
    }

    fn is_word(&self, token: Option<&Token>, word: &str) -> bool {
        token.is_some_and(|token| token.kind == Tk::Name && self.word(token) == word)
    }

    /// The statements of a block whose lines are indented `width`.
    fn block(&mut self, width: usize) -> Option<Vec<Stmt>> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return None;
        }
        let mut stmts = Vec::new();
        while let Some(line) = self.lines.get(self.at) {
            if line.width < width {
                break;
            }
            if line.width > width {
                return None;
            }
            stmts.push(self.statement(width, false)?);
        }
        self.nesting -= 1;
        (!stmts.is_empty()).then_some(stmts)
    }

    /// The statement starting at the current line.
    fn statement(&mut self, width: usize, in_match: bool) -> Option<Stmt> {
        let line = self.lines.get(self.at)?;
        let tokens = self.line_tokens(line);
        let first = tokens.first()?;
        let first_row = first.row as usize;
        let start = first.start as usize;
        if first.kind == Tk::Op(Op::At) {
            // Decorators, then the definition.
            while let Some(next) = self.lines.get(self.at) {
                let tokens = self.line_tokens(next);
                if tokens.first()?.kind != Tk::Op(Op::At) {
                    break;
                }
                if next.width != width || tokens.len() < 2 {
                    return None;
                }
                self.at += 1;
            }
            let def_line = self.lines.get(self.at)?;
            if def_line.width != width {
                return None;
            }
            let mut stmt = self.definition()?;
            stmt.first_row = first_row;
            stmt.start = start;
            return Some(stmt);
        }
        if in_match {
            if !self.is_word(Some(first), "case") {
                return None;
            }
            let clause = self.clause(width)?;
            let last_row = last_row_of(&clause.body)?;
            return Some(Stmt { first_row, start, last_row, kind: StmtKind::Compound(vec![clause]) });
        }
        let keyword = if first.kind == Tk::Name { self.word(first) } else { "" };
        match keyword {
            "def" | "class" => self.definition(),
            "async" => match tokens.get(1).map(|token| self.word(token)) {
                Some("def") => self.definition(),
                Some("for") => self.compound(width, &["else"]),
                Some("with") => self.compound(width, &[]),
                _ => None,
            },
            "if" => self.compound(width, &["elif", "else"]),
            "for" | "while" => self.compound(width, &["else"]),
            "try" => self.compound(width, &["except", "else", "finally"]),
            "with" => self.compound(width, &[]),
            "elif" | "else" | "except" | "finally" => None,
            "match" if self.is_match_header(tokens) => {
                self.at += 1;
                let body = self.indented_block(width, true)?;
                let last_row = last_row_of(&body)?;
                let clause = Clause { first_row, body };
                Some(Stmt { first_row, start, last_row, kind: StmtKind::Compound(vec![clause]) })
            }
            "case" if self.header_colon(tokens).is_some_and(|(_, rest)| rest.is_empty()) && tokens.len() > 2 => {
                // A `case` header outside a `match`.
                None
            }
            _ => {
                self.at += 1;
                let parts = self.simple_parts(tokens)?;
                let last_row = tokens.last()?.end_row as usize;
                Some(Stmt { first_row, start, last_row, kind: StmtKind::Simple(parts) })
            }
        }
    }

    /// `match SUBJECT:` on a line of its own (the soft keyword, not a name `match`).
    fn is_match_header(&self, tokens: &[Token]) -> bool {
        let Some(second) = tokens.get(1) else { return false };
        if matches!(second.kind, Tk::Op(Op::Colon | Op::Assign | Op::AugAssign | Op::Comma | Op::Semicolon))
            || (second.kind == Tk::Op(Op::Other) && self.word(second) == ".")
        {
            return false;
        }
        self.header_colon(tokens).is_some_and(|(_, rest)| rest.is_empty())
    }

    /// The `:` ending a compound statement's header (the first outside brackets that no `lambda` claims) and the
    /// tokens after it.
    fn header_colon(&self, tokens: &'a [Token]) -> Option<(&'a Token, &'a [Token])> {
        let mut lambdas = 0usize;
        for (index, token) in tokens.iter().enumerate() {
            if token.depth != 0 {
                continue;
            }
            match token.kind {
                Tk::Name if self.word(token) == "lambda" => lambdas += 1,
                Tk::Op(Op::Colon) if lambdas > 0 => lambdas -= 1,
                Tk::Op(Op::Colon) => return Some((token, tokens.get(index + 1..)?)),
                _ => {}
            }
        }
        None
    }

    /// A `def` or `class` line (decorators already consumed) and its body.
    fn definition(&mut self) -> Option<Stmt> {
        let line = self.lines.get(self.at)?;
        let width = line.width;
        let tokens = self.line_tokens(line);
        let first = tokens.first()?;
        let keyword_at = usize::from(self.is_word(Some(first), "async"));
        let keyword = tokens.get(keyword_at)?;
        let is_class = match self.word(keyword) {
            "def" => false,
            "class" => true,
            _ => return None,
        };
        let name = tokens.get(keyword_at + 1).filter(|token| token.kind == Tk::Name)?;
        let after_name = tokens.get(keyword_at + 2)?;
        let opens = after_name.kind == Tk::Open && self.word(after_name) == "(";
        // `def f[T](...)` and `class C[T]` (type parameters) are left to tree-sitter.
        if !(opens || (is_class && after_name.kind == Tk::Op(Op::Colon))) {
            return None;
        }
        let (colon, rest) = self.header_colon(tokens)?;
        self.at += 1;
        let body = self.body(width, rest)?;
        let last_row = last_row_of(&body)?;
        let def = Def {
            is_class,
            name: name.start as usize..name.end as usize,
            row: first.row as usize,
            start: first.start as usize,
            colon_end: colon.end as usize,
            colon_row: colon.row as usize,
            body,
        };
        Some(Stmt {
            first_row: first.row as usize,
            start: first.start as usize,
            last_row,
            kind: StmtKind::Def(Box::new(def)),
        })
    }

    /// A compound statement: its first clause, then the clauses `continuations` at the same indentation.
    fn compound(&mut self, width: usize, continuations: &[&str]) -> Option<Stmt> {
        let line = self.lines.get(self.at)?;
        let first = self.line_tokens(line).first()?;
        let mut clauses = vec![self.clause(width)?];
        while let Some(next) = self.lines.get(self.at) {
            if next.width != width {
                break;
            }
            let word = self.line_tokens(next).first().filter(|token| token.kind == Tk::Name).map(|t| self.word(t));
            if !word.is_some_and(|word| continuations.contains(&word)) {
                break;
            }
            clauses.push(self.clause(width)?);
        }
        let last_row = last_row_of(&clauses.last()?.body)?;
        Some(Stmt {
            first_row: first.row as usize,
            start: first.start as usize,
            last_row,
            kind: StmtKind::Compound(clauses),
        })
    }

    /// One clause (a header line ending with `:` and its block).
    fn clause(&mut self, width: usize) -> Option<Clause> {
        let line = self.lines.get(self.at)?;
        let tokens = self.line_tokens(line);
        let first_row = tokens.first()?.row as usize;
        let (_, rest) = self.header_colon(tokens)?;
        self.at += 1;
        let body = self.body(width, rest)?;
        Some(Clause { first_row, body })
    }

    /// A body: the simple statements after the header's colon, or the indented block below.
    fn body(&mut self, width: usize, rest: &'a [Token]) -> Option<Block> {
        if rest.is_empty() {
            return self.indented_block(width, false);
        }
        let first = rest.first()?;
        if first.kind == Tk::Name && COMPOUND_KEYWORDS.contains(&self.word(first)) {
            return None;
        }
        let parts = self.simple_parts(rest)?;
        let stmt = Stmt {
            first_row: first.row as usize,
            start: first.start as usize,
            last_row: rest.last()?.end_row as usize,
            kind: StmtKind::Simple(parts),
        };
        Some(Block { stmts: vec![stmt], indent: None })
    }

    fn indented_block(&mut self, width: usize, in_match: bool) -> Option<Block> {
        let line = self.lines.get(self.at)?;
        let inner = line.width;
        if inner <= width {
            return None;
        }
        let indent = line.indent.clone();
        if !in_match {
            let stmts = self.block(inner)?;
            return Some(Block { stmts, indent: Some(indent) });
        }
        let mut stmts = Vec::new();
        while let Some(next) = self.lines.get(self.at) {
            if next.width < inner {
                break;
            }
            if next.width > inner {
                return None;
            }
            stmts.push(self.statement(inner, true)?);
        }
        Some(Block { stmts, indent: Some(indent) })
    }

    /// The `;`-separated simple statements of a line.
    fn simple_parts(&self, tokens: &'a [Token]) -> Option<Vec<Part>> {
        let mut parts = Vec::new();
        for part in tokens.split(|token| token.depth == 0 && token.kind == Tk::Op(Op::Semicolon)) {
            let (Some(first), Some(last)) = (part.first(), part.last()) else { continue };
            if first.kind == Tk::Name && COMPOUND_KEYWORDS.contains(&self.word(first)) {
                return None;
            }
            let kind = self.part_kind(part)?;
            parts.push(Part { first_row: first.row as usize, last_row: last.end_row as usize, kind });
        }
        (!parts.is_empty()).then_some(parts)
    }

    fn part_kind(&self, tokens: &'a [Token]) -> Option<PartKind> {
        let first = tokens.first()?;
        if let [only] = tokens
            && only.kind == (Tk::Str { formatted: false })
        {
            return Some(PartKind::Docstring);
        }
        if first.kind == Tk::Name {
            let word = self.word(first);
            if SIMPLE_KEYWORDS.contains(&word) && !tokens.get(1).is_some_and(|next| next.kind == Tk::Op(Op::Assign)) {
                return Some(PartKind::Other);
            }
            if word == "type" && tokens.get(1).is_some_and(|next| next.kind == Tk::Name) {
                return Some(PartKind::Other);
            }
        }
        let mut lambdas = 0usize;
        let mut targets = Vec::new();
        let mut segment_start = 0;
        let mut typed = false;
        for (index, token) in tokens.iter().enumerate() {
            if token.depth != 0 {
                continue;
            }
            match token.kind {
                Tk::Name if self.word(token) == "lambda" => lambdas += 1,
                Tk::Op(Op::Colon) if lambdas > 0 => lambdas -= 1,
                Tk::Op(Op::Colon) if targets.is_empty() => {
                    targets.push(tokens.get(..index)?);
                    typed = true;
                    break;
                }
                Tk::Op(Op::Assign) if lambdas == 0 => {
                    targets.push(tokens.get(segment_start..index)?);
                    segment_start = index + 1;
                }
                Tk::Op(Op::AugAssign) if lambdas == 0 && targets.is_empty() => {
                    let mut names = Vec::new();
                    self.bound_names(tokens.get(..index)?, &mut names);
                    return Some(PartKind::AugAssign { names });
                }
                _ => {}
            }
        }
        if targets.is_empty() {
            return Some(PartKind::Other);
        }
        let mut names = Vec::new();
        for target in targets {
            self.bound_names(target, &mut names);
        }
        Some(PartKind::Assign { typed, names })
    }

    /// Names an assignment target binds: plain names, also inside tuples, lists, parentheses and after `*`.
    fn bound_names(&self, tokens: &[Token], out: &mut Vec<Range<usize>>) {
        let Some(base) = tokens.first().map(|token| token.depth) else { return };
        for element in tokens.split(|token| token.depth == base && token.kind == Tk::Op(Op::Comma)) {
            let element = match element {
                [star, rest @ ..] if star.kind == Tk::Op(Op::Star) => rest,
                _ => element,
            };
            match element {
                [name] if name.kind == Tk::Name => out.push(name.start as usize..name.end as usize),
                [open, inner @ .., close]
                    if open.kind == Tk::Open
                        && close.kind == Tk::Close
                        && open.depth == close.depth
                        && self.word(open) != "{"
                        && inner.iter().all(|token| token.depth > open.depth) =>
                {
                    self.bound_names(inner, out);
                }
                _ => {}
            }
        }
    }
}

fn last_row_of(block: &Block) -> Option<usize> {
    block.stmts.last().map(|stmt| stmt.last_row)
}
