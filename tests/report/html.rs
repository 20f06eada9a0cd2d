//! The HTML site's reading aids: the failing cases first on the index, and for scenario
//! reports one timeline per scenario that merges every step's transcript in time order.

use crate::common::reports as fixtures;

use fixtures::{case, mixed, report, temp_dir};
use wsspec::report::{write_html, CaseReport, Direction, RunReport, TranscriptEntry, Verdict};

fn entry(t_ms: f64, conn: &str, dir: Direction, kind: &str, summary: &str) -> TranscriptEntry {
    TranscriptEntry {
        t_ms,
        conn: conn.into(),
        dir,
        kind: kind.into(),
        summary: summary.into(),
        hex: None,
    }
}

fn step(id: &str, verdict: Verdict, transcript: Vec<TranscriptEntry>) -> CaseReport {
    let mut c = case(id, verdict, None);
    c.transcript = transcript;
    c
}

/// A profile run of two scenarios, as the engine reports it: `t_ms` counts from each
/// scenario's start, and each step holds what was recorded since the previous step.
fn scenario_run() -> RunReport {
    use Direction::{Event, Recv, Sent};
    let mut r = report(
        "node server.js",
        vec![
            step(
                "mf/stale#0",
                Verdict::Ok,
                vec![
                    entry(1.0, "scenario", Event, "process", "started node server.js"),
                    entry(80.0, "server", Recv, "process", "stdout: listening"),
                ],
            ),
            step(
                "mf/stale#1-pub",
                Verdict::Ok,
                vec![
                    entry(90.0, "pub", Sent, "http", "GET /?id=1 HTTP/1.1"),
                    entry(
                        95.5,
                        "pub",
                        Recv,
                        "http",
                        "HTTP/1.1 101 Switching Protocols",
                    ),
                ],
            ),
            step(
                "mf/stale#2",
                Verdict::Ok,
                vec![
                    entry(100.0, "scenario", Sent, "file", "wrote src/<evil>.js"),
                    entry(101.0, "http", Sent, "http", "GET /@mf-types.zip"),
                    entry(130.0, "sub", Recv, "frame", "text fin=1 len=9 \"update 1\""),
                ],
            ),
            step("mf/stale#3", Verdict::Failed, vec![]),
            step(
                "mf/stale#cleanup",
                Verdict::Ok,
                vec![entry(400.0, "server", Event, "process", "process 9 ended")],
            ),
            step(
                "mf/other#0",
                Verdict::Ok,
                vec![entry(2.0, "scenario", Event, "note", "second scenario")],
            ),
        ],
    );
    r.kind = "scenario".into();
    r.target = "mf".into();
    r.cases[3].title = "subscriber gets the update".into();
    r.cases[3].observed = "nothing matching within 2 s".into();
    r
}

fn read(p: std::path::PathBuf) -> String {
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn index_lists_failing_cases_before_everything_else() {
    let dir = temp_dir("html-failing");
    write_html(&[mixed("ws 8.18")], &dir).unwrap();
    let index = read(dir.join("index.html"));
    let failing = index.find("id=\"failing\"").expect("failing section");
    assert!(failing < index.find("<h2>Agents").unwrap());
    assert!(failing < index.find("class=\"matrix\"").unwrap());
    let section = &index[failing..index[failing..].find("</table>").unwrap() + failing];
    // 6.9 (FAILED) and 7.5.1 (close UNCLEAN) fail; nothing else does.
    assert!(index.contains("Failing (2)"), "{section}");
    assert_eq!(
        section.matches("<tr class=\"fail\">").count(),
        2,
        "{section}"
    );
    assert!(section.contains("href=\"cases/ws-8-18/6.9.html\""));
    assert!(section.contains("href=\"cases/ws-8-18/7.5.1.html\""));
    assert!(section.contains("fails as close UNCLEAN"), "{section}");
    assert!(section.contains("observed for 6.9"));
    assert!(dir.join("cases/ws-8-18/6.9.html").exists());
    // NOT RUN is listed apart (never a pass), in a closed list.
    assert!(index.contains("<details><summary>Not run (1)"), "{index}");
    assert!(index.contains("href=\"cases/ws-8-18/h.1.html\""));
    // One report: no agent column in the failing list.
    assert!(!section.contains("<th>agent</th>"));
    // Suite reports have no scenario timelines.
    assert!(!index.contains("id=\"scenarios\""));
    assert!(!dir.join("timelines").exists());

    let mut strict = mixed("b");
    strict.strict = true;
    let clean = report("c", vec![case("1.1.1", Verdict::Ok, None)]);
    let dir = temp_dir("html-failing-2");
    write_html(&[strict, clean.clone()], &dir).unwrap();
    let index = read(dir.join("index.html"));
    assert!(index.contains("Failing (4)"), "strict adds 3.2 and 7.9.1");
    assert!(index.contains("<th>agent</th><th>case</th><th>result</th>"));

    let dir = temp_dir("html-failing-3");
    write_html(&[clean], &dir).unwrap();
    let index = read(dir.join("index.html"));
    assert!(index.contains("Failing (0)") && index.contains("No case fails the run."));
}

#[test]
fn scenario_timeline_merges_all_steps_in_time_order() {
    let dir = temp_dir("html-timeline");
    write_html(&[scenario_run()], &dir).unwrap();
    let index = read(dir.join("index.html"));
    assert!(index.contains("id=\"scenarios\""));
    assert!(index.contains("href=\"timelines/node-server-js/mf_2fstale.html\""));
    assert!(index.contains("href=\"timelines/node-server-js/mf_2fother.html\""));

    let tl = read(dir.join("timelines/node-server-js/mf_2fstale.html"));
    // Lanes: the scenario's own events, then connections and HTTP as they appear,
    // server output last.
    let header = tl.split("<table class=\"timeline\">").nth(1).unwrap();
    let header = &header[..header.find("</tr>").unwrap()];
    assert_eq!(
        header,
        "\n<tr><th>t (ms)</th><th>scenario</th><th>pub</th><th>http</th><th>sub</th><th>server</th>"
    );
    // Every entry of every step of this scenario, and nothing of the other scenario.
    let times: Vec<f64> = tl
        .lines()
        .filter(|l| l.starts_with("<tr class=\"d-"))
        .map(|l| {
            let v = l.split("<td class=\"num\">").nth(1).unwrap();
            v[..v.find('<').unwrap()].parse().unwrap()
        })
        .collect();
    assert_eq!(times, [1.0, 80.0, 90.0, 95.5, 100.0, 101.0, 130.0, 400.0]);
    assert!(!tl.contains("second scenario"));
    // Each entry sits in its lane's column: `sub` is the fourth lane.
    let sub_row = tl.lines().find(|l| l.contains("update 1")).unwrap();
    assert_eq!(sub_row.matches("<td></td>").count(), 4, "{sub_row}");
    assert!(sub_row.split("<td").nth(5).unwrap().contains("update 1"));
    // One row per step, in execution order, the failing one marked, each linking to
    // its case page; a step without entries still has its row.
    let steps: Vec<&str> = tl
        .lines()
        .filter(|l| l.starts_with("<tr class=\"step"))
        .collect();
    assert_eq!(steps.len(), 5);
    assert!(
        steps[3].starts_with("<tr class=\"step failing\""),
        "{}",
        steps[3]
    );
    assert!(steps[3].contains("subscriber gets the update"));
    assert!(steps[3].contains("nothing matching within 2 s"));
    assert!(steps[1].contains("href=\"../../cases/node-server-js/mf_2fstale_231-pub.html\""));
    assert!(dir
        .join("cases/node-server-js/mf_2fstale_231-pub.html")
        .exists());
    // Hostile text is escaped.
    assert!(tl.contains("wrote src/&lt;evil&gt;.js") && !tl.contains("<evil>"));

    // The step's own page links back to its row on the timeline.
    let page = read(dir.join("cases/node-server-js/mf_2fstale_233.html"));
    assert!(
        page.contains("href=\"../../timelines/node-server-js/mf_2fstale.html#s-mf_2fstale_233\""),
        "{page}"
    );
    assert!(tl.contains("id=\"s-mf_2fstale_233\""));
}

#[test]
fn durations_read_humanly_in_the_site() {
    let dir = temp_dir("html-durations");
    let mut r = scenario_run();
    r.duration_ms = 21_116.661;
    r.cases[0].duration_ms = 850.2;
    write_html(&[r], &dir).unwrap();
    let index = read(dir.join("index.html"));
    assert!(index.contains(">21.1 s<"), "run duration");
    assert!(index.contains("850 ms"), "matrix cell");
    assert!(!index.contains("21116"));
    let page = read(dir.join("cases/node-server-js/mf_2fstale_230.html"));
    assert!(page.contains("<th>duration</th><td>850 ms</td>"), "{page}");
}
