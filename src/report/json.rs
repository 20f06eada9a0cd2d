//! The JSON report: the stable, documented form of [`RunReport`] (`docs/report-schema.md`).

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::Path;

use super::error::{parse_error, read_capped, ReportError};
use super::model::{RunReport, REPORT_BUDGET, SCHEMA_VERSION};

/// Largest report file [`read_json`] accepts. Full transcripts of a whole suite run stay
/// far below this; the cap keeps a wrong path (a disk image, `/dev/zero`) from exhausting memory.
pub const MAX_REPORT_BYTES: u64 = 1 << 30;

/// Writes `report` as pretty-printed JSON (two-space indent, trailing newline).
///
/// The output is deterministic: fields in schema order, cases in the order given.
/// Non-finite times (which JSON cannot hold, and which would otherwise come back as
/// `null` and make the file unreadable) are written as `0`. Transcripts are cut to keep the
/// file under [`REPORT_BUDGET`] ([`RunReport::fit_transcripts`]). The file is written to
/// a temporary sibling and renamed, so a reader never sees half a report; missing parent
/// directories are created.
pub fn write_json(report: &RunReport, path: &Path) -> io::Result<()> {
    let fitted = report.fit_transcripts(REPORT_BUDGET);
    let report = finite(&fitted);
    let mut bytes = serde_json::to_vec_pretty(report.as_ref()).map_err(io::Error::other)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Reads a JSON report written by [`write_json`] (any schema up to [`SCHEMA_VERSION`]).
///
/// Errors name the file, and for malformed content the line and column.
pub fn read_json(path: &Path) -> Result<RunReport, ReportError> {
    let text = read_capped(path, MAX_REPORT_BYTES)?;
    // Check tool and schema before the full parse, so that a file from another tool or a
    // newer wsspec gets that explanation rather than a missing-field complaint.
    let header: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| parse_error(path, e))?;
    if let Some(obj) = header.as_object() {
        match obj.get("tool").and_then(|t| t.as_str()) {
            Some("wsspec") => {}
            Some(other) => {
                return Err(ReportError::WrongTool {
                    path: path.to_path_buf(),
                    found: other.to_string(),
                })
            }
            None => {}
        }
        if let Some(found) = obj.get("schema").and_then(|s| s.as_u64()) {
            if found > u64::from(SCHEMA_VERSION) {
                return Err(ReportError::UnsupportedSchema {
                    path: path.to_path_buf(),
                    found: u32::try_from(found).unwrap_or(u32::MAX),
                    supported: SCHEMA_VERSION,
                });
            }
        }
    }
    serde_json::from_str(&text).map_err(|e| parse_error(path, e))
}

fn finite(report: &RunReport) -> Cow<'_, RunReport> {
    let all_finite = report.duration_ms.is_finite()
        && report
            .cases
            .iter()
            .all(|c| c.duration_ms.is_finite() && c.transcript.iter().all(|t| t.t_ms.is_finite()));
    if all_finite {
        return Cow::Borrowed(report);
    }
    let fix = |v: &mut f64| {
        if !v.is_finite() {
            *v = 0.0;
        }
    };
    let mut r = report.clone();
    fix(&mut r.duration_ms);
    for c in &mut r.cases {
        fix(&mut c.duration_ms);
        for t in &mut c.transcript {
            fix(&mut t.t_ms);
        }
    }
    Cow::Owned(r)
}

/// Writes `bytes` to `path` via a temporary file in the same directory and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = parent {
        std::fs::create_dir_all(dir)?;
    }
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = match parent {
        Some(dir) => dir.join(tmp_name),
        None => tmp_name.into(),
    };
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
