//! The report writers, one binary (one link) for the area: baselines, JSON and JUnit,
//! HTML pages, the terminal summary, all from hand-built reports (`common::reports`).
//! The browser check of the HTML (`report_browser.rs`) keeps a binary of its own: it
//! drives a real browser under time bounds.

mod common;

mod report {
    mod baseline;
    mod formats;
    mod html;
    mod terminal;
}
