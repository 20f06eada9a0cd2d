//! Locations and diagnostics for scenario files.
//!
//! Every problem found while loading a scenario is a [`Diagnostic`] that names the file,
//! the 1-based line and column, the step it belongs to and what was expected, so a user
//! can jump straight to the offending line. Loading collects all diagnostics it can
//! (up to [`MAX_DIAGNOSTICS`]) instead of stopping at the first one.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Upper bound on diagnostics kept for one file; a badly broken file should not flood
/// the terminal.
pub const MAX_DIAGNOSTICS: usize = 50;

/// A position in a scenario file: file label, 1-based line and column (column in
/// characters). Line 0 means "the file as a whole" (e.g. it could not be read).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The label the file was loaded under (usually its path as given by the user).
    pub file: Arc<str>,
    /// 1-based line, or 0 when the problem is not tied to a line.
    pub line: u32,
    /// 1-based column in characters, or 0 when unknown.
    pub column: u32,
}

impl Location {
    /// A location for the whole file (no line).
    pub fn file_only(file: Arc<str>) -> Self {
        Location {
            file,
            line: 0,
            column: 0,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}", self.file),
            (l, 0) => write!(f, "{}:{}", self.file, l),
            (l, c) => write!(f, "{}:{}:{}", self.file, l, c),
        }
    }
}

/// Which stage found a problem; lets callers (and tests) tell a TOML typo from a
/// semantic mistake without parsing message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiagnosticKind {
    /// The file could not be read.
    Io,
    /// The text is not valid TOML.
    Syntax,
    /// Valid TOML, but a table/field is missing, unknown or of the wrong type.
    Schema,
    /// Well-formed, but the content is wrong: bad duration, regex, hex, path escape,
    /// connection used before `connect`, undefined variable, ...
    Semantic,
}

/// One problem in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What kind of check failed.
    pub kind: DiagnosticKind,
    /// Where.
    pub location: Location,
    /// The enclosing construct, e.g. `step 3 (action "expect")` or `[server]`; empty
    /// for top-level problems.
    pub context: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.context.is_empty() {
            write!(f, "{}: {}", self.location, self.message)
        } else {
            write!(f, "{}: {}: {}", self.location, self.context, self.message)
        }
    }
}

/// Loading a scenario failed; holds at least one [`Diagnostic`], in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    diagnostics: Vec<Diagnostic>,
}

impl ScenarioError {
    /// Wraps diagnostics; `diagnostics` must not be empty.
    pub(crate) fn new(mut diagnostics: Vec<Diagnostic>) -> Self {
        debug_assert!(!diagnostics.is_empty());
        diagnostics.sort_by_key(|d| (d.location.line, d.location.column));
        ScenarioError { diagnostics }
    }

    /// A single diagnostic.
    pub fn single(d: Diagnostic) -> Self {
        ScenarioError {
            diagnostics: vec![d],
        }
    }

    /// All problems found, sorted by position.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The first problem in file order.
    pub fn first(&self) -> &Diagnostic {
        &self.diagnostics[0]
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// Maps byte offsets of a source text to line/column pairs.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex {
    /// Byte offset at which each line starts.
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(src: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// 1-based (line, column); the column counts characters, not bytes.
    pub(crate) fn line_col(&self, src: &str, offset: usize) -> (u32, u32) {
        let offset = offset.min(src.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        // The offset may land inside a multi-byte character when a span is odd;
        // counting up to the nearest boundary keeps this panic-free.
        let mut end = offset;
        while !src.is_char_boundary(end) {
            end -= 1;
        }
        let column = src[start..end].chars().count() + 1;
        (line as u32 + 1, column as u32)
    }

    pub(crate) fn location(&self, src: &str, file: &Arc<str>, span: &Range<usize>) -> Location {
        let (line, column) = self.line_col(src, span.start);
        Location {
            file: file.clone(),
            line,
            column,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_lines_and_characters() {
        let src = "ab\ncdé\nxyz";
        let idx = LineIndex::new(src);
        assert_eq!(idx.line_col(src, 0), (1, 1));
        assert_eq!(idx.line_col(src, 2), (1, 3));
        assert_eq!(idx.line_col(src, 3), (2, 1));
        // 'é' is two bytes: the 'x' on line 3 starts at byte 8.
        assert_eq!(idx.line_col(src, 8), (3, 1));
        assert_eq!(idx.line_col(src, 7), (2, 4));
        // Offsets inside a character or past the end do not panic.
        assert_eq!(idx.line_col(src, 6), (2, 3));
        assert_eq!(idx.line_col(src, 999), (3, 4));
    }

    #[test]
    fn location_display_omits_unknown_parts() {
        let f: Arc<str> = Arc::from("a.toml");
        assert_eq!(Location::file_only(f.clone()).to_string(), "a.toml");
        let l = Location {
            file: f,
            line: 4,
            column: 2,
        };
        assert_eq!(l.to_string(), "a.toml:4:2");
    }
}
