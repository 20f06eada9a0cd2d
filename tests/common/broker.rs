//! The MF broker's fixed port (16322), shared by every test that runs a broker or plays one:
//! one lock across test processes and threads.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The port the Module Federation broker always uses.
pub const BROKER_PORT: u16 = 16322;

/// Serialises broker runs: in this process by a mutex, across processes by an
/// advisory lock, then waits (bounded) until nothing listens on 16322.
pub struct BrokerLock {
    _guard: std::sync::MutexGuard<'static, ()>,
    _file: std::fs::File,
}

pub fn broker_lock() -> BrokerLock {
    use std::os::fd::AsRawFd;
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let guard = IN_PROCESS.lock().unwrap_or_else(|p| p.into_inner());
    let path = std::env::temp_dir().join("wsspec-mf-broker-16322.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap();
    let end = Instant::now() + Duration::from_secs(600);
    // SAFETY: flock on a descriptor this function owns; LOCK_NB so the wait stays bounded.
    while unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        assert!(
            Instant::now() < end,
            "another process held {} for 10 minutes",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let end = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", BROKER_PORT)).is_ok() {
        assert!(
            Instant::now() < end,
            "something else listens on 127.0.0.1:{BROKER_PORT} (a developer's broker?); the broker tests need that port"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    BrokerLock {
        _guard: guard,
        _file: file,
    }
}
