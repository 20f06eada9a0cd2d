//! Project file edits that are always undone ([`FileGuard`]), and how the file
//! actions run (`write_file`, `append_file`, `delete_file`).
//!
//! The first time a scenario touches a file, its original content (or its absence) is
//! recorded; [`FileGuard::restore`] puts every touched file back and removes the
//! directories `write_file` created. If the guard is dropped without `restore` (a panic,
//! a cancelled run), `Drop` restores synchronously, so a failed run never leaves a
//! project edited.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use super::runner::{Outcome, RunStep, Runner, StepCx};
use crate::report::Direction;
use crate::scenario::actions::{DeleteFile, FileWrite};

/// Largest file the engine edits: its original must be kept in memory to restore it.
pub const MAX_FILE: u64 = 64 << 20;

/// Records and undoes file edits under one project directory.
#[derive(Debug)]
pub struct FileGuard {
    root: PathBuf,
    originals: Vec<(PathBuf, Option<Vec<u8>>)>,
    created_dirs: Vec<PathBuf>,
    last_write: Vec<(PathBuf, Instant)>,
    done: bool,
}

impl Drop for FileGuard {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.restore();
        }
    }
}

/// What an edit did, for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct EditNote {
    /// The absolute path.
    pub path: PathBuf,
    /// Bytes now in the file (0 for a delete).
    pub size: u64,
    /// Whether the file existed before this edit.
    pub existed: bool,
    /// Milliseconds since this run last wrote the same file, if it did.
    pub since_last_write_ms: Option<f64>,
}

impl FileGuard {
    /// A guard for edits under `root` (which must exist).
    pub fn new(root: PathBuf) -> FileGuard {
        FileGuard {
            root,
            originals: Vec::new(),
            created_dirs: Vec::new(),
            last_write: Vec::new(),
            done: false,
        }
    }

    /// The project directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Number of files touched so far.
    pub fn touched(&self) -> usize {
        self.originals.len()
    }

    /// Resolves `rel` under the root and checks that it stays there even through
    /// symlinks; records the original on first touch.
    fn prepare(&mut self, rel: &str) -> Result<PathBuf, String> {
        let relp = Path::new(rel);
        if relp.is_absolute()
            || relp
                .components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(format!(
                "{rel:?} is not a plain relative path inside the project directory"
            ));
        }
        let path = self.root.join(relp);
        let root = fs::canonicalize(&self.root).map_err(|e| {
            format!(
                "the project directory {} is not usable: {e}",
                self.root.display()
            )
        })?;
        // The deepest existing ancestor must resolve inside the root.
        let mut probe = path.parent().map(Path::to_path_buf);
        while let Some(p) = probe {
            if p.exists() {
                let real = fs::canonicalize(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                if !real.starts_with(&root) {
                    return Err(format!(
                        "{rel:?} leads outside the project directory (through {})",
                        p.display()
                    ));
                }
                break;
            }
            probe = p.parent().map(Path::to_path_buf);
        }
        if let Ok(meta) = fs::symlink_metadata(&path) {
            if meta.file_type().is_symlink() {
                return Err(format!(
                    "{rel:?} is a symbolic link; the engine only edits regular files"
                ));
            }
            if meta.is_dir() {
                return Err(format!("{rel:?} is a directory"));
            }
        }
        if !self.originals.iter().any(|(p, _)| p == &path) {
            let original = match fs::metadata(&path) {
                Ok(m) if m.len() > MAX_FILE => {
                    return Err(format!(
                        "{rel:?} is {} bytes; files over {MAX_FILE} bytes are not edited",
                        m.len()
                    ))
                }
                Ok(_) => Some(fs::read(&path).map_err(|e| format!("cannot read {rel:?}: {e}"))?),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(format!("cannot inspect {rel:?}: {e}")),
            };
            self.originals.push((path.clone(), original));
        }
        Ok(path)
    }

    fn note(&mut self, path: &Path, existed: bool) -> EditNote {
        let now = Instant::now();
        let since = self
            .last_write
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, t)| now.duration_since(*t).as_secs_f64() * 1000.0);
        self.last_write.retain(|(p, _)| p != path);
        self.last_write.push((path.to_path_buf(), now));
        EditNote {
            path: path.to_path_buf(),
            size: fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            existed,
            since_last_write_ms: since,
        }
    }

    fn make_parents(&mut self, path: &Path) -> Result<(), String> {
        let Some(parent) = path.parent() else {
            return Ok(());
        };
        let mut missing = Vec::new();
        let mut p = parent.to_path_buf();
        while !p.exists() {
            missing.push(p.clone());
            match p.parent() {
                Some(q) => p = q.to_path_buf(),
                None => break,
            }
        }
        for d in missing.into_iter().rev() {
            fs::create_dir(&d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
            self.created_dirs.push(d);
        }
        Ok(())
    }

    /// Replaces (or creates) a file.
    pub fn write(&mut self, rel: &str, content: &[u8]) -> Result<EditNote, String> {
        let path = self.prepare(rel)?;
        let existed = path.exists();
        self.make_parents(&path)?;
        fs::write(&path, content).map_err(|e| format!("cannot write {rel:?}: {e}"))?;
        Ok(self.note(&path, existed))
    }

    /// Appends to a file (creating it if missing).
    pub fn append(&mut self, rel: &str, content: &[u8]) -> Result<EditNote, String> {
        use std::io::Write;
        let path = self.prepare(rel)?;
        let existed = path.exists();
        self.make_parents(&path)?;
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot open {rel:?}: {e}"))?;
        f.write_all(content)
            .map_err(|e| format!("cannot append to {rel:?}: {e}"))?;
        Ok(self.note(&path, existed))
    }

    /// Deletes a file (a missing file is an error: the step expected it to be there).
    pub fn delete(&mut self, rel: &str) -> Result<EditNote, String> {
        let path = self.prepare(rel)?;
        fs::remove_file(&path).map_err(|e| format!("cannot delete {rel:?}: {e}"))?;
        Ok(self.note(&path, true))
    }

    /// Puts every touched file back (newest first) and removes created directories
    /// that are empty again. Returns one message per file that could not be restored.
    pub fn restore(&mut self) -> Result<usize, Vec<String>> {
        self.done = true;
        let mut problems = Vec::new();
        let n = self.originals.len();
        for (path, original) in self.originals.drain(..).rev() {
            let r = match &original {
                Some(bytes) => fs::write(&path, bytes),
                None => match fs::remove_file(&path) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                    other => other,
                },
            };
            if let Err(e) = r {
                problems.push(format!("cannot restore {}: {e}", path.display()));
            }
        }
        for d in self.created_dirs.drain(..).rev() {
            // Only empty directories go; anything else someone put there stays.
            let _ = fs::remove_dir(&d);
        }
        if problems.is_empty() {
            Ok(n)
        } else {
            Err(problems)
        }
    }
}

impl Runner<'_> {
    /// Runs one file edit and describes it; `content` is `None` for a delete.
    fn file_edit(&mut self, what: &str, path: &str, content: Option<&str>) -> Outcome {
        let sent = match content {
            Some(c) => format!("{what} {path} ({} bytes)", c.len()),
            None => format!("{what} {path}"),
        };
        let Some(g) = &mut self.files else {
            return Outcome::failed(sent, "", "file actions need a [server] section");
        };
        let res = match (what, content) {
            ("write", Some(c)) => g.write(path, c.as_bytes()),
            ("append", Some(c)) => g.append(path, c.as_bytes()),
            _ => g.delete(path),
        };
        match res {
            Ok(note) => {
                let mut obs = match what {
                    "delete" => format!("deleted {}", note.path.display()),
                    _ => format!(
                        "{} {} ({} bytes now{})",
                        if what == "write" {
                            "wrote"
                        } else {
                            "appended to"
                        },
                        note.path.display(),
                        note.size,
                        if note.existed { "" } else { ", new file" }
                    ),
                };
                if let Some(since) = note.since_last_write_ms.filter(|ms| *ms < 100.0) {
                    let w = format!(
                        "edited again {since:.0} ms after the previous edit of the same file (Vite drops a second change within 50 ms; space edits by 100 ms)"
                    );
                    self.events.note(w.clone());
                    obs += &format!("; note: {w}");
                }
                self.events.push(Direction::Sent, "file", obs.clone(), None);
                Outcome::ok(sent, "", obs)
            }
            Err(e) => Outcome::failed(sent, "", e),
        }
    }
}

impl<const APPEND: bool> RunStep for FileWrite<APPEND> {
    async fn run(&self, r: &mut Runner<'_>, _: &StepCx<'_>) -> Outcome {
        let what = if APPEND { "append" } else { "write" };
        r.file_edit(what, &self.path, Some(&self.content))
    }
}

impl RunStep for DeleteFile {
    async fn run(&self, r: &mut Runner<'_>, _: &StepCx<'_>) -> Outcome {
        r.file_edit("delete", &self.path, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_are_undone() {
        let dir = std::env::temp_dir().join(format!("wsspec-files-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("a.txt"), b"orig").unwrap();
        fs::write(dir.join("gone.txt"), b"keep me").unwrap();
        let mut g = FileGuard::new(dir.clone());
        g.write("a.txt", b"new").unwrap();
        let n = g.write("a.txt", b"newer").unwrap();
        assert!(n.since_last_write_ms.is_some());
        g.append("a.txt", b"!").unwrap();
        g.write("sub/dir/b.txt", b"fresh").unwrap();
        g.delete("gone.txt").unwrap();
        assert!(g.write("../x", b"").is_err());
        assert!(g.delete("missing.txt").is_err());
        assert_eq!(fs::read(dir.join("a.txt")).unwrap(), b"newer!");
        assert_eq!(g.restore(), Ok(4));
        assert_eq!(fs::read(dir.join("a.txt")).unwrap(), b"orig");
        assert_eq!(fs::read(dir.join("gone.txt")).unwrap(), b"keep me");
        assert!(!dir.join("sub").exists());
        assert!(!dir.join("missing.txt").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
