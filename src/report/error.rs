//! Errors raised while reading report and baseline files.
//!
//! Writers return `io::Result` (they only fail on IO); readers take user-supplied files,
//! so every variant names the file and, where known, the line and what was expected.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A report or baseline file could not be used.
#[derive(Debug)]
pub enum ReportError {
    /// The file could not be opened or read.
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file is larger than the reader accepts.
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file is not valid JSON or does not match the schema.
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem (0 when unknown).
        line: usize,
        /// 1-based column of the problem (0 when unknown).
        column: usize,
        /// What was wrong, from the JSON parser.
        message: String,
    },
    /// The `tool` field is not `wsspec`.
    WrongTool {
        /// The file.
        path: PathBuf,
        /// The value found.
        found: String,
    },
    /// The `schema` field is newer than this build understands.
    UnsupportedSchema {
        /// The file.
        path: PathBuf,
        /// The value found.
        found: u32,
        /// The newest schema this build reads.
        supported: u32,
    },
    /// A baseline lists an outcome that is not in the verdict vocabulary.
    BadBaselineEntry {
        /// The file.
        path: PathBuf,
        /// The case id the entry belongs to.
        id: String,
        /// The entry as written.
        entry: String,
    },
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Io { path, source } => {
                write!(f, "{}: cannot read: {source}", path.display())
            }
            ReportError::TooLarge { path, size, limit } => write!(
                f,
                "{}: file is {size} bytes, more than the {limit}-byte limit",
                path.display()
            ),
            ReportError::Parse {
                path,
                line,
                column,
                message,
            } => write!(
                f,
                "{}: line {line}, column {column}: {message}",
                path.display()
            ),
            ReportError::WrongTool { path, found } => write!(
                f,
                "{}: expected \"tool\": \"wsspec\", found {found:?}",
                path.display()
            ),
            ReportError::UnsupportedSchema {
                path,
                found,
                supported,
            } => write!(
                f,
                "{}: schema {found} is newer than this wsspec understands (up to {supported})",
                path.display()
            ),
            ReportError::BadBaselineEntry { path, id, entry } => write!(
                f,
                "{}: case {id:?}: unknown outcome {entry:?}; expected one of OK, NON-STRICT, \
                 INFORMATIONAL, UNIMPLEMENTED, FAILED, NOT RUN, or close:<OK|FAILED|WRONG CODE|\
                 UNCLEAN|FAILED BY CLIENT|INFORMATIONAL|NOT RUN>",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReportError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Reads a whole file with a size cap, mapping failures to [`ReportError`].
pub(crate) fn read_capped(path: &std::path::Path, limit: u64) -> Result<String, ReportError> {
    use std::io::Read;
    let io_err = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut buf = Vec::new();
    // Read one byte past the limit so an over-long file is detected even if it grew
    // after a metadata check (or is a pipe with no size).
    file.take(limit + 1).read_to_end(&mut buf).map_err(io_err)?;
    if buf.len() as u64 > limit {
        let size = std::fs::metadata(path)
            .map(|m| m.len())
            .unwrap_or(buf.len() as u64);
        return Err(ReportError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit,
        });
    }
    String::from_utf8(buf).map_err(|e| ReportError::Parse {
        path: path.to_path_buf(),
        line: 0,
        column: 0,
        message: format!(
            "not UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })
}

/// Converts a serde_json error into [`ReportError::Parse`] for `path`.
pub(crate) fn parse_error(path: &std::path::Path, e: serde_json::Error) -> ReportError {
    ReportError::Parse {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        // serde_json appends " at line L column C"; the variant carries those separately.
        message: {
            let full = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            full.strip_suffix(&suffix).unwrap_or(&full).to_string()
        },
    }
}
