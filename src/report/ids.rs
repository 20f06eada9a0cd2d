//! Case id ordering and grouping shared by every writer.
//!
//! Ids are compared per dotted component, and inside a component as a "natural" sequence
//! of digit runs and text runs, so `6.10` follows `6.9`, `vite/x#10` follows `vite/x#9`,
//! and text (`h`, `x`, scenario profiles) follows numbers (Autobahn categories first).

use std::cmp::Ordering;

use super::model::{CaseReport, RunReport};

/// Total order on case ids: numeric per dotted component, numbers before text.
///
/// Ids that compare equal component-wise but differ in spelling (`6.01` vs `6.1`) fall
/// back to byte order so the order stays total and deterministic.
pub fn compare_ids(a: &str, b: &str) -> Ordering {
    let mut ca = a.split('.');
    let mut cb = b.split('.');
    loop {
        match (ca.next(), cb.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = compare_component(x, y);
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// One run of digits or of non-digits inside an id component.
#[derive(Debug)]
enum Chunk<'a> {
    Num(&'a str),
    Text(&'a str),
}

fn chunks(s: &str) -> Vec<Chunk<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = s.as_bytes();
    while start < bytes.len() {
        let digit = bytes[start].is_ascii_digit();
        let mut end = start + 1;
        while end < bytes.len() && bytes[end].is_ascii_digit() == digit {
            end += 1;
        }
        // Splitting only at ASCII digit boundaries keeps every slice on a char boundary.
        let part = &s[start..end];
        out.push(if digit {
            Chunk::Num(part)
        } else {
            Chunk::Text(part)
        });
        start = end;
    }
    out
}

fn compare_component(a: &str, b: &str) -> Ordering {
    let ca = chunks(a);
    let cb = chunks(b);
    for (x, y) in ca.iter().zip(cb.iter()) {
        let o = match (x, y) {
            (Chunk::Num(x), Chunk::Num(y)) => compare_digits(x, y),
            (Chunk::Num(_), Chunk::Text(_)) => Ordering::Less,
            (Chunk::Text(_), Chunk::Num(_)) => Ordering::Greater,
            (Chunk::Text(x), Chunk::Text(y)) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    ca.len().cmp(&cb.len())
}

/// Compares digit strings by value without parsing, so arbitrarily long runs cannot overflow.
fn compare_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The category of a case id: the scenario profile for `profile/scenario#step` ids,
/// otherwise the first dotted component (`6` for `6.4.3`, `h` for `h.1.2`).
pub fn category(id: &str) -> &str {
    if let Some(i) = id.find('/') {
        return &id[..i];
    }
    let end = id.find(['.', '#']).unwrap_or(id.len());
    &id[..end]
}

/// The report's cases in id order (stable for equal ids, which keeps execution order).
pub fn sorted_cases(report: &RunReport) -> Vec<&CaseReport> {
    let mut cases: Vec<&CaseReport> = report.cases.iter().collect();
    cases.sort_by(|a, b| compare_ids(&a.id, &b.id));
    cases
}

/// Cases grouped by [`category`], categories and cases both in id order.
pub fn by_category(report: &RunReport) -> Vec<(String, Vec<&CaseReport>)> {
    let mut groups: Vec<(String, Vec<&CaseReport>)> = Vec::new();
    for case in sorted_cases(report) {
        let cat = category(&case.id);
        match groups.iter_mut().find(|(c, _)| c == cat) {
            Some((_, v)) => v.push(case),
            None => groups.push((cat.to_string(), vec![case])),
        }
    }
    groups.sort_by(|a, b| compare_ids(&a.0, &b.0));
    groups
}

/// Sorts a list of ids in place with [`compare_ids`].
pub fn sort_ids(ids: &mut [String]) {
    ids.sort_by(|a, b| compare_ids(a, b));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut ids: Vec<String> = [
            "x.1",
            "h.2",
            "12.1.1",
            "6.10",
            "6.9",
            "6.4.3",
            "6.4",
            "10.1.1",
            "1.1.1",
            "h.10",
            "vite/a#10",
            "vite/a#9",
            "2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        sort_ids(&mut ids);
        assert_eq!(
            ids,
            [
                "1.1.1",
                "2",
                "6.4",
                "6.4.3",
                "6.9",
                "6.10",
                "10.1.1",
                "12.1.1",
                "h.2",
                "h.10",
                "vite/a#9",
                "vite/a#10",
                "x.1"
            ]
        );
    }

    #[test]
    fn long_digit_runs_do_not_overflow() {
        let a = "1".repeat(60);
        let b = "2".repeat(60);
        assert_eq!(compare_ids(&a, &b), Ordering::Less);
        assert_eq!(compare_ids("007", "7"), Ordering::Less);
        assert_eq!(compare_ids("7", "007"), Ordering::Greater);
    }

    #[test]
    fn categories() {
        assert_eq!(category("6.4.3"), "6");
        assert_eq!(category("h.1.2"), "h");
        assert_eq!(category("vite/token-policy#3"), "vite");
        assert_eq!(category("solo#2"), "solo");
        assert_eq!(category("7"), "7");
        assert_eq!(category(""), "");
    }
}
