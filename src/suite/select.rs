//! Case selection with Autobahn's `cases` / `exclude-cases` semantics.
//!
//! An entry containing `*` becomes a regular expression: `.` is literal, `*` matches any
//! run of characters, and the match is anchored at the start of the id only, so `1*`
//! selects 1.x, 10.x, 12.x and 13.x, exactly as in Autobahn. Other characters keep their
//! regex meaning, as in Autobahn (an invalid expression is an error here). An entry without
//! `*` is a literal id, and an unknown literal id is an error (a typo would otherwise run
//! nothing, or everything but what was meant). Entries may also be comma-separated.
//!
//! Without `cases` the default set is everything except the slow cases (9.x limits and
//! performance; in the client role also 12.x/13.x, see [`crate::clients::catalog`]); `all`
//! makes the default set the whole catalog. Explicit `cases` select from the whole catalog,
//! slow cases included, whatever `all` says. `exclude` applies last.

use std::fmt;

use regex::Regex;

use super::case::{Catalog, Selection};

/// Why a selection could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    /// A `*` pattern is not a valid expression.
    BadPattern {
        /// The entry as given.
        pattern: String,
        /// The regex error.
        error: String,
    },
    /// A literal id is not in the catalog.
    UnknownCase {
        /// The id as given.
        id: String,
        /// `cases` or `exclude`.
        option: &'static str,
    },
    /// Nothing is left to run.
    Empty,
}

impl fmt::Display for SelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectError::BadPattern { pattern, error } => {
                write!(f, "invalid case pattern {pattern:?}: {error}")
            }
            SelectError::UnknownCase { id, option } => write!(
                f,
                "unknown case id {id:?} in --{option} (ids look like 1.1.1, 6.4.3, h.2.1, x.1.1; patterns use *, e.g. 6.4.*)"
            ),
            SelectError::Empty => write!(f, "the selection contains no case"),
        }
    }
}

impl std::error::Error for SelectError {}

enum Matcher {
    Pattern(Regex),
    Literal(String),
}

impl Matcher {
    fn matches(&self, id: &str) -> bool {
        match self {
            Matcher::Pattern(r) => r.is_match(id),
            Matcher::Literal(l) => l == id,
        }
    }
}

fn matchers(
    entries: &[String],
    catalog: &Catalog,
    option: &'static str,
) -> Result<Vec<Matcher>, SelectError> {
    let mut out = Vec::new();
    for entry in entries {
        for e in entry.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if e.contains('*') {
                let expr = format!("^{}", e.replace('.', "\\.").replace('*', ".*"));
                let r = Regex::new(&expr).map_err(|err| SelectError::BadPattern {
                    pattern: e.to_owned(),
                    error: err.to_string(),
                })?;
                out.push(Matcher::Pattern(r));
            } else {
                if !catalog.iter().any(|c| c.id == e) {
                    return Err(SelectError::UnknownCase {
                        id: e.to_owned(),
                        option,
                    });
                }
                out.push(Matcher::Literal(e.to_owned()));
            }
        }
    }
    Ok(out)
}

/// Selects cases from `catalog`, keeping catalog (execution) order.
pub fn select(
    catalog: &Catalog,
    cases: &[String],
    exclude: &[String],
    all: bool,
) -> Result<Selection, SelectError> {
    let include = matchers(cases, catalog, "cases")?;
    let exclude = matchers(exclude, catalog, "exclude")?;
    let chosen: Vec<_> = catalog
        .cases
        .iter()
        .filter(|d| {
            if !include.is_empty() {
                include.iter().any(|m| m.matches(&d.info.id))
            } else {
                all || !d.info.slow
            }
        })
        .filter(|d| !exclude.iter().any(|m| m.matches(&d.info.id)))
        .cloned()
        .collect();
    if chosen.is_empty() {
        return Err(SelectError::Empty);
    }
    Ok(Selection { cases: chosen })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> Catalog {
        crate::suite::catalog()
    }

    fn ids(v: &Selection) -> Vec<&str> {
        v.iter().map(|c| c.id.as_str()).collect()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn star_is_anchored_at_the_start_only() {
        let c = cat();
        let sel = select(&c, &s(&["1*"]), &[], false).unwrap();
        let cats: std::collections::BTreeSet<&str> =
            sel.iter().map(|c| c.category.as_str()).collect();
        assert_eq!(
            cats.into_iter().collect::<Vec<_>>(),
            vec!["1", "10", "12", "13"]
        );
        let sel = select(&c, &s(&["6.4.*"]), &[], false).unwrap();
        assert_eq!(ids(&sel), vec!["6.4.1", "6.4.2", "6.4.3", "6.4.4"]);
        // Not anchored at the end: "6.1*" also selects 6.10.x-6.19.x.
        let sel = select(&c, &s(&["6.1*"]), &[], false).unwrap();
        assert!(sel.iter().any(|c| c.id == "6.13.2"));
        assert!(sel.iter().any(|c| c.id == "6.1.1"));
        assert!(!sel.iter().any(|c| c.id == "6.2.1"));
        // '.' is literal: "1.1*" does not match "1.2.1" nor "101".
        let sel = select(&c, &s(&["1.1*"]), &[], false).unwrap();
        assert!(sel.iter().all(|c| c.id.starts_with("1.1")));
    }

    #[test]
    fn default_leaves_out_slow_cases_and_all_includes_them() {
        let c = cat();
        let d = select(&c, &[], &[], false).unwrap();
        assert!(d.iter().all(|c| !c.slow));
        assert!(!d.iter().any(|c| c.id.starts_with("9.")));
        // permessage-deflate is in the default run of a server (RFC 7692 is what most
        // servers negotiate), not in a client's (see clients::catalog).
        let deflate = |s: &Selection| {
            s.iter()
                .filter(|c| c.id.starts_with("12.") || c.id.starts_with("13."))
                .count()
        };
        assert_eq!(deflate(&d), 216);
        let clients = crate::clients::catalog();
        assert_eq!(deflate(&select(&clients, &[], &[], false).unwrap()), 0);
        assert_eq!(deflate(&select(&clients, &[], &[], true).unwrap()), 216);
        assert!(d.iter().any(|c| c.id == "h.1.1") && d.iter().any(|c| c.id == "x.1.1"));
        let a = select(&c, &[], &[], true).unwrap();
        assert_eq!(a.len(), c.len());
        // Explicit cases win over `all`.
        let a = select(&c, &s(&["2.1"]), &[], true).unwrap();
        assert_eq!(ids(&a), vec!["2.1"]);
        // Explicitly requested slow cases are selected.
        let n = select(&c, &s(&["9.*"]), &[], false).unwrap();
        assert_eq!(n.len(), 54);
    }

    #[test]
    fn literals_excludes_and_errors() {
        let c = cat();
        let sel = select(&c, &s(&["2.1,2.3", "7.7.1"]), &[], false).unwrap();
        assert_eq!(ids(&sel), vec!["2.1", "2.3", "7.7.1"]);
        let sel = select(&c, &s(&["2.*"]), &s(&["2.1*"]), false).unwrap();
        assert_eq!(
            ids(&sel),
            vec!["2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9"]
        );
        assert_eq!(
            select(&c, &s(&["2.99"]), &[], false).unwrap_err(),
            SelectError::UnknownCase {
                id: "2.99".into(),
                option: "cases"
            }
        );
        assert!(matches!(
            select(&c, &s(&["(*"]), &[], false),
            Err(SelectError::BadPattern { .. })
        ));
        assert_eq!(
            select(&c, &s(&["2.1"]), &s(&["2.*"]), false).unwrap_err(),
            SelectError::Empty
        );
        let d = select(&c, &[], &s(&["6.*", "h.*"]), false).unwrap();
        assert!(!d.iter().any(|c| c.category == "6" || c.category == "h"));
    }
}
