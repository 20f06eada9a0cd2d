//! File actions: `write_file`, `append_file` and `delete_file`, relative to the project
//! directory; the engine restores every file they touch.

use super::{ActionSpec, Uses};
use crate::scenario::read::{Fields, Reader, Semantic};
use crate::scenario::resolve::{sub, sub_path, ResolveError};
use crate::scenario::vars::{var_refs, Vars};

/// This family's rows of the action table (see `actions/mod.rs`).
macro_rules! files_actions {
    ($consumer:ident [$($done:tt)*] $($rest:ident)*) => {
        $crate::scenario::actions::collect_families! { $consumer [$($done)*
            /// Write a file in the project directory (restored after the run).
            WriteFile(WriteFile),
            /// Append to a file in the project directory (restored after the run).
            AppendFile(AppendFile),
            /// Delete a file in the project directory (restored after the run).
            DeleteFile(DeleteFile),
        ] $($rest)* }
    };
}
pub(crate) use files_actions;

/// `write_file` (`APPEND = false`) or `append_file` (`APPEND = true`): one type, so
/// the two are read, described and run by the same code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWrite<const APPEND: bool> {
    /// `path` (template), relative to the project directory, no `..` escape.
    pub path: String,
    /// `content` (template).
    pub content: String,
}

/// `write_file`.
pub type WriteFile = FileWrite<false>;
/// `append_file`.
pub type AppendFile = FileWrite<true>;

/// `delete_file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteFile {
    /// `path` (template), relative to the project directory, no `..` escape.
    pub path: String,
}

/// Uses of a step that edits project files.
fn edits_files() -> Uses<'static> {
    Uses {
        files: true,
        ..Uses::default()
    }
}

impl<const APPEND: bool> ActionSpec for FileWrite<APPEND> {
    const NAME: &'static str = if APPEND { "append_file" } else { "write_file" };
    const KEYS: &'static [&'static str] = &["path", "content"];
    const CHECK: &'static str = "file edit";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let path = file_path(r, f);
        if !f.has("content") {
            r.missing(f, "content", "the text to write");
        }
        let content = r.template(f, "content").map(|s| s.0);
        Some(FileWrite {
            path: path?,
            content: content?,
        })
    }

    fn uses(&self) -> Uses<'_> {
        edits_files()
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        sub_path(&mut self.path, vars)?;
        sub(&mut self.content, vars)
    }

    fn title(&self) -> String {
        let verb = if APPEND { "append to" } else { "write" };
        format!("{verb} {}", self.path)
    }
}

impl ActionSpec for DeleteFile {
    const NAME: &'static str = "delete_file";
    const KEYS: &'static [&'static str] = &["path"];
    const CHECK: &'static str = "file edit";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        file_path(r, f).map(|path| DeleteFile { path })
    }

    fn uses(&self) -> Uses<'_> {
        edits_files()
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        sub_path(&mut self.path, vars)
    }

    fn title(&self) -> String {
        format!("delete {}", self.path)
    }
}

fn file_path(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<String> {
    let (p, span) = r.req_string(f, "path", "a path relative to the project directory")?;
    r.note_template(&p, &span);
    // Check the literal parts: a reference can only add text, never remove a "..".
    let literal = var_refs(&p)
        .map(|refs| {
            let mut s = p.clone();
            for re in refs.iter().rev() {
                s.replace_range(re.range.clone(), "v");
            }
            s
        })
        .unwrap_or_else(|_| p.clone());
    if let Err(e) = check_project_path(&literal) {
        r.err(Semantic, &span, format!("field \"path\": {e}"));
        return None;
    }
    Some(p)
}

/// Checks a project-relative path: not empty, not absolute, no `..` component, no NUL.
/// The engine calls it again after substitution.
pub fn check_project_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty path; expected a path relative to the project directory".into());
    }
    if path.contains('\0') {
        return Err("the path contains a NUL byte".into());
    }
    let b = path.as_bytes();
    let drive = b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic();
    if path.starts_with('/') || path.starts_with('\\') || drive || path.starts_with('~') {
        return Err(format!(
            "{path:?} is absolute; expected a path relative to the project directory"
        ));
    }
    if path.split(['/', '\\']).any(|c| c == "..") {
        return Err(format!(
            "{path:?} contains \"..\"; file actions may not leave the project directory"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_paths() {
        assert!(check_project_path("src/dep.js").is_ok());
        assert!(check_project_path("./a/b..c").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "\\x",
            "C:\\x",
            "~/x",
            "../x",
            "a/../../x",
            "a\\..\\x",
            "a\0b",
        ] {
            assert!(check_project_path(bad).is_err(), "{bad:?}");
        }
    }
}
