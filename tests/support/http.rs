//! The operator's side of a test: a free `HTTP_ADDR`, plain GETs, and the `healthcheck`
//! subcommand run the way a container HEALTHCHECK runs it.

use std::process::Stdio;
use std::time::Duration;

/// An address on 127.0.0.1 with a port that was free a moment ago, for `HTTP_ADDR`.
pub async fn free_addr() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a free port");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    addr.to_string()
}

/// GETs `http://{addr}{path}` and returns the status and body. Panics if nothing answers
/// within 10 s.
pub async fn get(addr: &str, path: &str) -> (u16, String) {
    let url = format!("http://{addr}{path}");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("HTTP client");
    let response = client.get(&url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_else(|e| panic!("GET {url} body: {e}")))
}

/// Waits until `http://{addr}{path}` answers at all (the daemon is still starting).
pub async fn wait_for_server(addr: &str) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on {addr}");
}

/// What one run of a subcommand printed, and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `manta-tagbot healthcheck` with only `HTTP_ADDR` (if given) in its environment, in an
/// empty working directory (so no `.env` is read).
pub async fn healthcheck(http_addr: Option<&str>) -> Run {
    let workdir = tempfile::tempdir().expect("temporary working directory");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_manta-tagbot"));
    command
        .arg("healthcheck")
        .env_clear()
        .current_dir(workdir.path())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(addr) = http_addr {
        command.env("HTTP_ADDR", addr);
    }
    let output = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("healthcheck finished within 30 s")
        .expect("run manta-tagbot healthcheck");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
