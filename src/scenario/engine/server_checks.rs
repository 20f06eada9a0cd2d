//! What the server under test shows from outside, without speaking to it: which
//! addresses its process group listens on (`assert_listening`, from `/proc`, plus the
//! binds the loopback preload reports it confined) and what it printed
//! (`expect_output`). Kept apart from the process control in `server.rs` because these
//! are read-only observations of the running process, not its lifecycle.

use std::time::{Duration, Instant};

use crate::report::Direction;
use crate::scenario::actions::{AssertListening, ExpectOutput, ListenScope};
use crate::scenario::describe::ms;
use crate::scenario::format_duration;
use crate::scenario::matcher::compile_regex;

use super::runner::{Outcome, RunStep, Runner, StepCx, Window};

impl RunStep for AssertListening {
    async fn run(&self, r: &mut Runner<'_>, _: &StepCx<'_>) -> Outcome {
        let ListenScope::Loopback = self.on;
        let expected = "every TCP socket the server's processes listen on, and every bind they asked for, is on loopback (127.0.0.0/8, ::1)";
        if let Some(o) = r.external_not_run(expected) {
            return o;
        }
        let Some(s) = &mut r.server else {
            return Outcome::failed("", expected, "the scenario has no [server] section");
        };
        let Some(p) = s.process() else {
            return Outcome::failed("", expected, "the server was never started");
        };
        if let Some(e) = p.exit() {
            let t = s.exit_text(&e);
            s.exit_reported();
            return Outcome::failed("", expected, format!("the server has exited: {t}"));
        }
        let leader = p.pid();
        let sockets = match listening_sockets(leader) {
            Ok(v) => v,
            Err(e) => {
                return Outcome::not_run(
                    expected,
                    format!("cannot read the sockets of process group {leader} from /proc: {e}"),
                )
            }
        };
        let lines: Vec<String> = p
            .last_lines(super::process::RING_LINES)
            .into_iter()
            .map(|l| l.text)
            .collect();
        let asked = requested_binds(&lines);
        let sent = format!("read /proc/net/tcp{{,6}} for process group {leader}");
        for sock in &sockets {
            s.events.push(
                Direction::Event,
                "listening",
                format!("pid {} listens on {}", sock.pid, sock.addr()),
                None,
            );
        }
        for b in &asked {
            s.events.push(
                Direction::Event,
                "listening",
                format!("server output: {}", b.line),
                None,
            );
        }
        let mut wrong: Vec<String> = sockets
            .iter()
            .filter(|l| !l.ip.is_loopback())
            .map(|l| format!("pid {} listens on {}", l.pid, l.addr()))
            .collect();
        wrong.extend(
            asked
                .iter()
                .filter(|b| !host_is_loopback(&b.host))
                .map(|b| {
                    let host = if b.host == "(none)" {
                        "no host (every interface)".to_string()
                    } else {
                        b.host.clone()
                    };
                    format!(
                        "a listen on port {} asked for {host}, which the preload confined to 127.0.0.1 (\"{}\")",
                        b.port, b.line
                    )
                }),
        );
        let found: Vec<String> = sockets.iter().map(|l| l.addr()).collect();
        if !wrong.is_empty() {
            return Outcome::failed(
                sent,
                expected,
                format!("{}; listening now: {}", wrong.join("; "), found.join(", ")),
            );
        }
        if sockets.is_empty() {
            return Outcome::not_run(
                expected,
                format!("no process of group {leader} listens on a TCP port: nothing to judge"),
            );
        }
        Outcome::ok(
            sent,
            expected,
            format!(
                "listening only on {}; {} bind request(s) reported, none beyond loopback",
                found.join(", "),
                asked.len()
            ),
        )
    }
}

impl RunStep for ExpectOutput {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let re = match compile_regex(&self.regex) {
            Ok(re) => re,
            Err(e) => return Outcome::failed("", "", e),
        };
        let wait = if self.within.is_zero() {
            String::new()
        } else {
            format!(" within {}", format_duration(self.within))
        };
        let expected = if self.absent {
            format!("no output line matches /{}/{wait}", self.regex)
        } else {
            format!("an output line matches /{}/{wait}", self.regex)
        };
        if let Some(o) = r.external_not_run(&expected) {
            return o;
        }
        let Window { until, cut } = r.window(cx.t0, self.within);
        let Some(s) = &r.server else {
            return Outcome::failed("", expected, "the scenario has no [server] section");
        };
        let Some(p) = s.process() else {
            return Outcome::failed("", expected, "the server was never started");
        };
        let hit = loop {
            let hit = p
                .last_lines(super::process::RING_LINES)
                .into_iter()
                .find(|l| re.is_match(&l.text));
            if hit.is_some() || Instant::now() >= until {
                break hit;
            }
            let next = (Instant::now() + Duration::from_millis(50)).min(until);
            tokio::time::sleep_until(next.into()).await;
        };
        let total = p.total_lines();
        let Some(line) = hit else {
            let searched = if total > super::process::RING_LINES as u64 {
                format!(
                    "; only the last {} of its {total} lines are kept",
                    super::process::RING_LINES
                )
            } else {
                format!(" ({total} lines)")
            };
            let seen = format!("no line matched{cut}{searched}");
            return match (self.absent, total > super::process::RING_LINES as u64) {
                (true, false) if cut.is_empty() => Outcome::ok("", expected, seen),
                (true, true) => Outcome::not_run(expected, seen),
                _ => Outcome::failed("", expected, seen),
            };
        };
        let quote = format!(
            "{} line {} after the server started: {:?}",
            line.stream.name(),
            ms(line.at.saturating_duration_since(p.spawned_at)),
            line.text
        );
        s.events.push(
            Direction::Event,
            "output",
            format!("server output matching /{}/: {quote}", self.regex),
            None,
        );
        if self.absent {
            Outcome::failed("", expected, quote)
        } else {
            Outcome::ok("", expected, quote)
        }
    }
}

/// A TCP socket in LISTEN state and the process holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ListeningSocket {
    ip: std::net::IpAddr,
    port: u16,
    pid: i32,
}

impl ListeningSocket {
    fn addr(&self) -> String {
        std::net::SocketAddr::new(self.ip, self.port).to_string()
    }
}

/// A bind a program asked for, as `conformance/servers/loopback-only.cjs` reports it
/// (with `WSSPEC_LOOPBACK_LOG=1`) before confining it to 127.0.0.1; without such
/// lines only the sockets themselves can be judged.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RequestedBind {
    host: String,
    port: String,
    line: String,
}

/// The `listen requested host=H port=P` lines among `lines`.
fn requested_binds(lines: &[String]) -> Vec<RequestedBind> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"listen requested host=(\S+) port=(\S+)").expect("a valid regex")
    });
    lines
        .iter()
        .filter_map(|l| {
            let c = re.captures(l)?;
            Some(RequestedBind {
                host: c[1].to_string(),
                port: c[2].to_string(),
                line: l.trim().to_string(),
            })
        })
        .collect()
}

/// Whether a host as given to `listen` stays on this machine: `localhost` or a
/// loopback IP literal (also IPv4-mapped, and in brackets).
fn host_is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match h.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

/// The pids of process group `pgid`, from `/proc/<pid>/stat`.
fn group_pids(pgid: i32) -> std::io::Result<Vec<i32>> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc")? {
        let Some(pid) = e?.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        // A process may end between the listing and the read.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name may hold spaces and parentheses: fields start after the last ')'.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        if rest.split_whitespace().nth(2).and_then(|g| g.parse().ok()) == Some(pgid) {
            pids.push(pid);
        }
    }
    Ok(pids)
}

/// The TCP sockets in LISTEN state held by the processes of group `pgid`.
fn listening_sockets(pgid: i32) -> std::io::Result<Vec<ListeningSocket>> {
    let pids = group_pids(pgid)?;
    let mut owner = std::collections::HashMap::new();
    for &pid in &pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let t = target.to_string_lossy();
            if let Some(inode) = t
                .strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|n| n.parse::<u64>().ok())
            {
                owner.insert(inode, pid);
            }
        }
    }
    // The server's own view of the network (its namespace), through the group leader
    // if it still runs.
    let Some(&viewer) = pids.iter().find(|&&p| p == pgid).or(pids.first()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (file, v6) in [("tcp", false), ("tcp6", true)] {
        let text = match std::fs::read_to_string(format!("/proc/{viewer}/net/{file}")) {
            Ok(t) => t,
            Err(e) if v6 && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for line in text.lines().skip(1) {
            let Some((ip, port, listening, inode)) = parse_proc_net_tcp(line, v6) else {
                continue;
            };
            if let (true, Some(&pid)) = (listening, owner.get(&inode)) {
                out.push(ListeningSocket { ip, port, pid });
            }
        }
    }
    out.sort_by_key(|l| (l.port, l.pid));
    Ok(out)
}

/// One row of `/proc/net/tcp` or `tcp6`: local address, port, whether the state is
/// LISTEN (`0A`), inode. Addresses are hex words in host byte order (little-endian
/// here), the port is big-endian hex.
fn parse_proc_net_tcp(line: &str, v6: bool) -> Option<(std::net::IpAddr, u16, bool, u64)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let (addr, port) = f.get(1)?.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let listening = *f.get(3)? == "0A";
    let inode = f.get(9)?.parse().ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        Some(
            u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16)
                .ok()?
                .to_le_bytes(),
        )
    };
    let ip = match (v6, addr.len()) {
        (false, 8) => std::net::IpAddr::from(word(0)?),
        (true, 32) => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            std::net::IpAddr::from(b)
        }
        _ => return None,
    };
    Some((ip, port, listening, inode))
}

#[cfg(test)]
mod listening_tests {
    use super::*;

    #[test]
    fn proc_net_rows_decode_to_addresses() {
        let v4 = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0";
        let (ip, port, listening, inode) = parse_proc_net_tcp(v4, false).unwrap();
        assert_eq!(
            (ip.to_string(), port, listening, inode),
            ("127.0.0.1".into(), 8080, true, 4242)
        );
        let any6 = "   1: 00000000000000000000000000000000:1497 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 77 1 0000000000000000 100 0 0 10 0";
        let (ip, port, _, _) = parse_proc_net_tcp(any6, true).unwrap();
        assert_eq!((ip.to_string(), port), ("::".into(), 5271));
        assert!(!ip.is_loopback());
        let lo6 = "   2: 00000000000000000000000001000000:1497 00000000000000000000000000000000:0000 01 00000000:00000000 00:00000000 00000000  1000        0 78 1";
        let (ip, _, listening, _) = parse_proc_net_tcp(lo6, true).unwrap();
        assert_eq!((ip.to_string(), listening), ("::1".into(), false));
        assert!(parse_proc_net_tcp("  sl  local_address rem_address   st", false).is_none());
    }

    #[test]
    fn preload_lines_name_the_bind_asked_for() {
        let lines = vec![
            "loopback-only: pid 7: listen requested host=(none) port=5271 -> 127.0.0.1".to_string(),
            "[node-network-debugger]: devtool server is listening on port 5271".to_string(),
            "loopback-only: pid 7: listen requested host=::1 port=9 -> 127.0.0.1".to_string(),
        ];
        let b = requested_binds(&lines);
        assert_eq!(b.len(), 2);
        assert_eq!((b[0].host.as_str(), b[0].port.as_str()), ("(none)", "5271"));
        assert!(!host_is_loopback(&b[0].host));
        assert!(host_is_loopback(&b[1].host));
        for h in [
            "127.0.0.1",
            "127.0.0.2",
            "localhost",
            "[::1]",
            "::ffff:127.0.0.1",
        ] {
            assert!(host_is_loopback(h), "{h}");
        }
        for h in ["0.0.0.0", "::", "''", "10.1.2.3", "example.test"] {
            assert!(!host_is_loopback(h), "{h}");
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn this_process_is_found_listening_on_loopback() {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        // SAFETY: getpgrp has no preconditions.
        let pgid = unsafe { libc::getpgrp() };
        let socks = listening_sockets(pgid).unwrap();
        let me = std::process::id() as i32;
        assert!(
            socks
                .iter()
                .any(|s| s.port == port && s.pid == me && s.ip.is_loopback()),
            "{socks:?}"
        );
    }
}
