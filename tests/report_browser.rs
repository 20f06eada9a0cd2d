//! The HTML report in a real browser: headless Chromium renders the index of a real run
//! (the RFC 6455 suite against a faulty built-in server, plus a scenario run), the link of
//! a failing case is followed to its page with the wire transcript, and the scenario's
//! timeline page renders too.
//!
//! Chromium comes from Debian's `chromium` package, which `.ci/run` installs when it is
//! missing. Without it the test says so loudly and returns, except under `CI=true`, where
//! a missing browser is a failure.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::reports as fixtures;
use common::scenario::{echo_steps, serve_scenario};

const WSSPEC: &str = env!("CARGO_BIN_EXE_wsspec");
/// Upper bound for one Chromium invocation.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// A child in its own process group, killed (group and all) when dropped.
struct Spawned(Child);

impl Spawned {
    fn new(cmd: &mut Command) -> Spawned {
        Spawned(cmd.process_group(0).spawn().expect("spawn"))
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let pid = self.0.id() as i32;
        // SAFETY: plain kill(2) of the process group this test created.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

/// Runs Chromium headless on `url` with `extra` arguments and a fresh profile; returns
/// stdout. Bounded by [`BROWSER_TIMEOUT`].
fn chromium(browser: &Path, profile: &Path, extra: &[&str], url: &str) -> String {
    let out_file = profile.with_extension("stdout");
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-dev-shm-usage",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(url)
    .stdin(Stdio::null())
    .stdout(std::fs::File::create(&out_file).unwrap())
    .stderr(Stdio::null());
    let mut child = Spawned::new(&mut cmd);
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            assert!(status.success(), "chromium {extra:?} {url}: {status}");
            break;
        }
        assert!(
            t0.elapsed() < BROWSER_TIMEOUT,
            "chromium did not finish {url} within {BROWSER_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(child);
    std::fs::read_to_string(&out_file).unwrap()
}

/// Renders `page` to its DOM (after parsing and layout), with a fresh profile.
fn dump_dom(browser: &Path, work: &Path, n: usize, page: &Path) -> String {
    let dom = chromium(
        browser,
        &work.join(format!("profile-{n}")),
        &["--dump-dom"],
        &file_url(page),
    );
    assert!(
        dom.contains("</html>"),
        "no document for {}",
        page.display()
    );
    dom
}

fn file_url(p: &Path) -> String {
    format!("file://{}", p.canonicalize().unwrap().display())
}

/// The `href` of the first link inside `section` (the text between two markers).
fn first_href<'a>(dom: &'a str, from: &str, to: &str) -> &'a str {
    let start = dom
        .find(from)
        .unwrap_or_else(|| panic!("no {from:?} in {dom}"));
    let part = &dom[start..];
    let part = &part[..part.find(to).unwrap_or(part.len())];
    let at = part
        .find("href=\"")
        .unwrap_or_else(|| panic!("no link after {from:?}"))
        + 6;
    &part[at..at + part[at..].find('"').unwrap()]
}

/// Runs the suite's ping cases against `wsspec serve --fault no_pong`: every one fails.
fn suite_report(work: &Path) -> PathBuf {
    let mut serve = Spawned::new(
        Command::new(WSSPEC)
            .args(["serve", "--port", "0", "--fault", "no_pong"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let mut line = String::new();
    BufReader::new(serve.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .strip_prefix("LISTENING ")
        .and_then(|p| p.trim().parse::<u16>().ok())
        .unwrap_or_else(|| panic!("wsspec serve said {line:?}"));
    let json = work.join("suite.json");
    let out = Command::new(WSSPEC)
        .args(["run", &format!("ws://127.0.0.1:{port}/"), "--cases", "2.*"])
        .args(["--no-progress", "--deadline", "60s", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    drop(serve);
    json
}

/// A scenario whose server is `wsspec serve`: an echo that works, then a message that
/// never comes (FAILED).
fn scenario_report(work: &Path) -> PathBuf {
    let file = work.join("echo.toml");
    let text = "hello <b>timeline</b>";
    let steps = echo_steps(text, text, "2s")
        + r#"
[[step]]
title = "a message the echo server never sends"
action = "expect"
conn = "a"
within = "300ms"
match = { text = "never sent" }
"#;
    std::fs::write(&file, serve_scenario("echo", "30s", WSSPEC, &steps)).unwrap();
    let json = work.join("scenario.json");
    let out = Command::new(WSSPEC)
        .arg("scenario")
        .arg(&file)
        .args(["--no-progress", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    assert!(json.exists(), "{out:?}");
    json
}

#[test]
fn chromium_renders_the_index_a_failing_case_and_a_timeline() {
    let Some(browser) = find_chromium() else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but chromium is not installed (.ci/run installs it with apt-get)");
        }
        eprintln!(
            "\n!!! SKIPPED report_browser: chromium is not installed \
             (apt-get install -y chromium); the HTML report was not rendered\n"
        );
        return;
    };
    let work = fixtures::temp_dir("browser");
    let suite = suite_report(&work);
    let scenario = scenario_report(&work);
    let site = work.join("site");
    let out = Command::new(WSSPEC)
        .args(["report", "--html"])
        .arg(&site)
        .arg(&suite)
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let index = site.join("index.html");

    // The index renders: the failing list comes first, before the matrix.
    let dom = dump_dom(&browser, &work, 1, &index);
    let failing = dom.find("id=\"failing\"").expect("a failing list");
    let matrix = dom.find("class=\"matrix\"").expect("a matrix");
    assert!(failing < matrix);
    assert!(dom.contains(">2.1<"), "2.1 is not listed");
    assert!(dom.contains("a message the echo server never sends"));

    // A screenshot is drawn, and it is not an empty page.
    let png = work.join("index.png");
    chromium(
        &browser,
        &work.join("profile-shot"),
        &[
            "--window-size=1280,1600",
            &format!("--screenshot={}", png.display()),
        ],
        &file_url(&index),
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        bytes.len() > 20_000,
        "a near-empty screenshot: {} bytes",
        bytes.len()
    );

    // The first failing case's link leads to its page, which shows its transcript.
    let href = first_href(&dom, "id=\"failing\"", "</table>");
    assert!(href.starts_with("cases/"), "{href}");
    let page = site.join(href);
    let case_dom = dump_dom(&browser, &work, 2, &page);
    assert!(case_dom.contains("FAILED"), "{case_dom}");
    assert!(case_dom.contains("Transcript ("), "{case_dom}");
    assert!(case_dom.contains("class=\"transcript\""), "{case_dom}");
    assert!(
        case_dom.contains("ping"),
        "the transcript lacks the ping: {case_dom}"
    );

    // The scenario's timeline is reachable from the index and shows every step.
    let tl_href = first_href(&dom, "id=\"scenarios\"", "</table>");
    assert!(tl_href.starts_with("timelines/"), "{tl_href}");
    let tl_dom = dump_dom(&browser, &work, 3, &site.join(tl_href));
    for needle in [
        "/echo</h1>", // the id carries the file's directory as its profile prefix
        "Timeline — wsspec-browser-",
        "echo#0",
        "echo#4",
        "step failing",
        "LISTENING",
        "hello &lt;b&gt;timeline&lt;/b&gt;",
    ] {
        assert!(
            tl_dom.contains(needle),
            "timeline lacks {needle:?}: {tl_dom}"
        );
    }
    assert!(!tl_dom.contains("<b>timeline</b>"), "unescaped payload");

    // Browser profiles are large; the site and the reports stay for a look.
    for entry in std::fs::read_dir(&work).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir()
            && p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("profile-")
        {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}
