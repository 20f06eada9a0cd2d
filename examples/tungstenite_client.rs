//! An echo client on `tungstenite` (blocking), shaped as tungstenite's own
//! `examples/autobahn-client.rs`, for testing `wsspec clients`.
//!
//! ```text
//! cargo run --example tungstenite_client -- URL
//!     one case: connect, echo every text/binary message, end when the connection ends
//!     (what `wsspec clients --exec` starts per case);
//! cargo run --example tungstenite_client -- --driver ws://127.0.0.1:9001 [--agent NAME]
//!     the Autobahn driver loop: /getCaseCount, /runCase?case=N&agent=NAME, /updateReports.
//! ```

use tungstenite::{connect, Error, Message, Result};

fn get_case_count(base: &str) -> Result<u32> {
    let (mut socket, _) = connect(format!("{base}/getCaseCount"))?;
    let msg = socket.read()?;
    socket.close(None)?;
    // Read until the close completes, as tungstenite's example does implicitly.
    while socket.read().is_ok() {}
    Ok(msg.into_text()?.parse::<u32>().unwrap_or(0))
}

fn update_reports(base: &str, agent: &str) -> Result<()> {
    let (mut socket, _) = connect(format!("{base}/updateReports?agent={agent}"))?;
    // The server writes the reports, then closes.
    while socket.read().is_ok() {}
    Ok(())
}

fn run_test(url: &str) -> Result<()> {
    let (mut socket, _) = connect(url)?;
    loop {
        match socket.read()? {
            msg @ (Message::Text(_) | Message::Binary(_)) => socket.send(msg)?,
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => {}
        }
    }
}

fn quiet(r: Result<()>) {
    match r {
        Err(Error::ConnectionClosed | Error::Protocol(_) | Error::Utf8(_)) | Ok(()) => {}
        Err(e) => eprintln!("tungstenite_client: {e}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, base, rest @ ..] if flag == "--driver" => {
            let agent = match rest {
                [a, name] if a == "--agent" => name.clone(),
                _ => "tungstenite".to_owned(),
            };
            let total = get_case_count(base).expect("getCaseCount");
            for case in 1..=total {
                quiet(run_test(&format!(
                    "{base}/runCase?case={case}&agent={agent}"
                )));
            }
            quiet(update_reports(base, &agent));
        }
        [url] => quiet(run_test(url)),
        _ => {
            eprintln!("usage: tungstenite_client URL | --driver BASE_URL [--agent NAME]");
            std::process::exit(2);
        }
    }
}
