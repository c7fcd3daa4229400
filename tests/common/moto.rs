//! A moto server of a test's own (a store to kill and restart, a second region), started
//! with the same script and Python that scripts/test.sh uses for the shared one.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::sidecar::http;
use super::wait_until;

/// Starts moto on `port` and waits until it answers (its own start-up can take seconds on
/// a loaded machine).
pub fn start_moto(port: u16) -> Child {
    let moto = std::env::var("DRLEASE_TEST_MOTO_SERVER")
        .expect("DRLEASE_TEST_MOTO_SERVER is set by scripts/test.sh");
    let python = std::env::var("DRLEASE_TEST_PYTHON")
        .expect("DRLEASE_TEST_PYTHON is set by scripts/test.sh");
    let child = Command::new(&python)
        .args([moto.as_str(), "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto");
    wait_until(Duration::from_secs(30), || {
        http(port, "GET", "/moto-api/").is_some()
    })
    .expect("moto answers");
    child
}
