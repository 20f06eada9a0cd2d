//! Profiles: what `wsspec scenario <ARG>` runs, resolved once.
//!
//! The argument is a scenario file, a directory of `*.toml` scenarios (a profile), or
//! the bare name of a profile in one of the profile directories. [`Profile::load`]
//! decides which, reads and parses every file (all problems of all files are reported
//! before anything runs), and hands the engine one named list of scenarios: the name is
//! the prefix of every case id (`vite/token#3`) and the report's target. A single file
//! is named after its directory too, so its case ids are the ids it has when the whole
//! directory runs, and a baseline written from either run applies to the other.

use std::fmt;
use std::path::{Path, PathBuf};

use super::{Scenario, ScenarioError};

/// A named list of scenarios: one scenario file, or every `*.toml` of a profile
/// directory in file-name order.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The name of the directory the scenario files are in (for one file too): the
    /// prefix of every case id. `None` for scenarios that are not files.
    pub name: Option<String>,
    /// The one file the argument named, when it named a file and not a directory.
    pub file: Option<PathBuf>,
    /// The scenarios, in run order.
    pub scenarios: Vec<Scenario>,
}

/// A scenario file or profile that could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// One or more files have problems; every diagnostic names file, line and column.
    Scenario(Vec<ScenarioError>),
    /// The argument is neither a scenario file, a directory holding some, nor a profile
    /// name.
    Path(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Scenario(errs) => {
                for (i, e) in errs.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            LoadError::Path(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for LoadError {}

/// Where bare profile names are looked up: `conformance/profiles` under the current
/// directory, then under the source tree the kit was built from.
pub fn profile_dirs() -> Vec<PathBuf> {
    vec![
        PathBuf::from("conformance/profiles"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance/profiles"),
    ]
}

impl Profile {
    /// Resolves `arg`, a path or a bare profile name looked up in `search` (see
    /// [`profile_dirs`]), and loads every scenario it names.
    pub fn load(arg: &str, search: &[PathBuf]) -> Result<Profile, LoadError> {
        let p = Path::new(arg);
        if p.exists() {
            return Profile::from_path(p);
        }
        if arg.contains('/') || arg.ends_with(".toml") {
            return Err(LoadError::Path(format!(
                "{arg}: no such scenario file or directory"
            )));
        }
        if let Some(dir) = search.iter().map(|d| d.join(arg)).find(|d| d.is_dir()) {
            return Profile::from_path(&dir);
        }
        let mut known: Vec<String> = search
            .iter()
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        known.sort();
        known.dedup();
        Err(LoadError::Path(format!(
            "{arg:?}: no such scenario file, directory or profile{}",
            if known.is_empty() {
                String::new()
            } else {
                format!(" (profiles: {})", known.join(", "))
            }
        )))
    }

    /// Loads the scenario file or profile directory at `path`.
    pub fn from_path(path: &Path) -> Result<Profile, LoadError> {
        if path.is_file() {
            let scenario = Scenario::from_file(path).map_err(|e| LoadError::Scenario(vec![e]))?;
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            return Ok(Profile {
                name: Some(dir_name(dir)),
                file: Some(path.to_path_buf()),
                scenarios: vec![scenario],
            });
        }
        if !path.is_dir() {
            return Err(LoadError::Path(format!(
                "{}: no such scenario file or profile directory",
                path.display()
            )));
        }
        let rd = std::fs::read_dir(path)
            .map_err(|e| LoadError::Path(format!("{}: {e}", path.display())))?;
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(LoadError::Path(format!(
                "{}: the directory holds no *.toml scenario files",
                path.display()
            )));
        }
        let mut scenarios = Vec::new();
        let mut errors = Vec::new();
        for f in &files {
            match Scenario::from_file(f) {
                Ok(s) => scenarios.push(s),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(LoadError::Scenario(errors));
        }
        Ok(Profile {
            name: Some(dir_name(path)),
            file: None,
            scenarios,
        })
    }

    /// One scenario, without a profile name.
    pub fn single(scenario: Scenario) -> Profile {
        Profile {
            name: None,
            file: None,
            scenarios: vec![scenario],
        }
    }

    /// The report's target: the profile's name for a directory, `<profile>/<scenario>`
    /// for one file of it, else the scenarios' names.
    pub fn target(&self) -> String {
        let names = || {
            self.scenarios
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match (&self.name, &self.file) {
            (Some(n), None) => n.clone(),
            (Some(n), Some(_)) => format!("{n}/{}", names()),
            (None, _) => names(),
        }
    }
}

/// The name of a directory; `.` or `..` have none of their own, their canonical path
/// does.
fn dir_name(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string())
}
