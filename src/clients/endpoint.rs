//! The driver protocol's request targets (`/getCaseCount`, `/runCase`, `/updateReports`,
//! `/getCaseInfo`, `/stopServer`, and the `/shard/K/...` forms of `--exec-driver`): what a
//! request names, or why it is refused with 400. Apart from the connection handling in
//! `mod.rs` because it is pure: a string and the selection in, an endpoint or a reason out.

use std::collections::BTreeMap;

use crate::suite::case::Selection;

/// A driver request, from the path and query of the upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Endpoint {
    CaseCount,
    /// `/shard/K/getCaseCount`: how many case numbers shard K may ask for.
    ShardCaseCount {
        shard: usize,
    },
    /// `/shard/K/runCase?case=n&agent=A`: shard K's n-th case.
    ShardCase {
        shard: usize,
        n: usize,
        agent: String,
    },
    /// A shard's case number past the end of the queue: an empty close.
    Drained,
    RunCase {
        index: usize,
        agent: String,
    },
    CaseInfo {
        index: usize,
    },
    UpdateReports {
        shutdown: bool,
    },
    Stop,
}

/// Parses a request target into the endpoint it names, or the reason it is refused;
/// `shards` is how many `/shard/K` prefixes exist.
pub(super) fn parse_endpoint(
    target: &str,
    selection: &Selection,
    shards: usize,
) -> Result<Endpoint, String> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (shard, path) = match path.strip_prefix("/shard/") {
        Some(rest) if shards > 0 => {
            let (k, p) = rest.split_once('/').unwrap_or((rest, ""));
            match k.parse::<usize>() {
                Ok(k) if k < shards => (Some(k), format!("/{p}")),
                _ => {
                    return Err(format!(
                        "/shard/{k}: expected a shard number from 0 to {}",
                        shards - 1
                    ))
                }
            }
        }
        _ => (None, path.to_owned()),
    };
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        params
            .entry(k.into_owned())
            .or_default()
            .push(v.into_owned());
    }
    let one = |name: &str| -> Result<Option<String>, String> {
        match params.get(name).map(Vec::as_slice) {
            None => Ok(None),
            Some([v]) => Ok(Some(v.clone())),
            Some(_) => Err(format!("query parameter {name:?} given more than once")),
        }
    };
    let case = || -> Result<usize, String> {
        let n = selection.len();
        if let Some(c) = one("case")? {
            return match c.parse::<usize>() {
                Ok(k) if (1..=n).contains(&k) => Ok(k - 1),
                _ => Err(format!(
                    "case={c:?}: expected a case number from 1 to {n} (see /getCaseCount)"
                )),
            };
        }
        if let Some(t) = one("casetuple")? {
            return selection
                .iter()
                .position(|c| c.id == t)
                .ok_or_else(|| format!("casetuple={t:?}: no such case in this run"));
        }
        Err("missing query parameter: case=N (1-based) or casetuple=X.Y.Z".into())
    };
    let agent = || -> Result<String, String> {
        one("agent")?
            .filter(|a| !a.trim().is_empty())
            .ok_or_else(|| {
                "missing query parameter: agent=NAME (the client's name in the reports)".into()
            })
    };
    match (path.as_str(), shard) {
        ("/getCaseCount", None) => Ok(Endpoint::CaseCount),
        ("/getCaseCount", Some(shard)) => Ok(Endpoint::ShardCaseCount { shard }),
        ("/runCase", Some(shard)) if params.contains_key("case") => {
            // A shard's `case=n` is its own numbering; `casetuple` stays global.
            let n = one("case")?
                .and_then(|c| c.parse::<usize>().ok())
                .ok_or("case=n: expected a number (see the shard's /getCaseCount)")?;
            Ok(Endpoint::ShardCase {
                shard,
                n,
                agent: agent()?,
            })
        }
        ("/runCase", _) => {
            let index = case()?;
            Ok(Endpoint::RunCase {
                index,
                agent: agent()?,
            })
        }
        ("/getCaseInfo", _) => Ok(Endpoint::CaseInfo { index: case()? }),
        ("/updateReports", _) => Ok(Endpoint::UpdateReports {
            shutdown: matches!(
                one("shutdownOnComplete")?.as_deref(),
                Some("true" | "yes")
            ),
        }),
        ("/stopServer", _) => Ok(Endpoint::Stop),
        (other, _) => Err(format!(
            "unknown path {other:?}; this server answers /getCaseCount, /runCase?case=N&agent=A, /getCaseInfo?case=N, /updateReports?agent=A, /stopServer"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::catalog;

    #[test]
    fn endpoints() {
        let cat = catalog();
        let sel = crate::suite::select(&cat, &["1.1.*".into()], &[], false).unwrap();
        assert_eq!(
            parse_endpoint("/getCaseCount", &sel, 0),
            Ok(Endpoint::CaseCount)
        );
        assert_eq!(
            parse_endpoint("/runCase?case=2&agent=ws%20client", &sel, 0),
            Ok(Endpoint::RunCase {
                index: 1,
                agent: "ws client".into()
            })
        );
        assert_eq!(
            parse_endpoint("/runCase?casetuple=1.1.3&agent=a", &sel, 0),
            Ok(Endpoint::RunCase {
                index: 2,
                agent: "a".into()
            })
        );
        for bad in [
            "/runCase?case=1",
            "/runCase?case=0&agent=a",
            "/runCase?case=9&agent=a",
            "/runCase?case=x&agent=a",
            "/runCase?agent=a",
            "/runCase?case=1&case=2&agent=a",
            "/runCase?casetuple=2.1&agent=a",
            "/nope",
        ] {
            assert!(parse_endpoint(bad, &sel, 0).is_err(), "{bad}");
        }
        assert_eq!(
            parse_endpoint("/updateReports?agent=a&shutdownOnComplete=true", &sel, 0),
            Ok(Endpoint::UpdateReports { shutdown: true })
        );
        assert_eq!(
            parse_endpoint("/shard/1/runCase?case=2&agent=a", &sel, 2),
            Ok(Endpoint::ShardCase {
                shard: 1,
                n: 2,
                agent: "a".into()
            })
        );
        assert_eq!(
            parse_endpoint("/shard/0/getCaseCount", &sel, 2),
            Ok(Endpoint::ShardCaseCount { shard: 0 })
        );
        for bad in ["/shard/2/getCaseCount", "/shard/x/runCase?case=1&agent=a"] {
            assert!(parse_endpoint(bad, &sel, 2).is_err(), "{bad}");
        }
        assert!(parse_endpoint("/shard/0/getCaseCount", &sel, 0).is_err());
    }
}
