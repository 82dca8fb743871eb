//! `spawn_app`: the real binary, as a child process, wired to local fakes.

use std::collections::BTreeMap;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use super::fake_telegram::FakeTelegram;

/// A user listed in `ADMIN_IDS`.
pub const ADMIN: i64 = 111;
/// A user who is not.
pub const STRANGER: i64 = 666;
/// The Telegram token the daemon is given (must never show up in its output).
pub const TELEGRAM_TOKEN: &str = "123456:TEST-telegram-token_abcdef";
/// The MantaGo token of the single-bot configuration.
pub const MANTA_TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.manta-token-SECRET.sig";
/// The MantaGo secret of the single-bot configuration.
pub const MANTA_SECRET: &str = "manta-secret-SECRET-42";

/// The daemon under test and the fakes around it.
pub struct TestApp {
    pub telegram: FakeTelegram,
    pub manta: mockito::ServerGuard,
    child: Child,
    output: Arc<Mutex<String>>,
    _workdir: tempfile::TempDir,
}

/// The environment of a default app; tests adjust it with [`spawn_app_with`].
pub struct Env(BTreeMap<String, String>);

impl Env {
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.0.insert(name.to_owned(), value.into());
        self
    }

    pub fn remove(&mut self, name: &str) -> &mut Self {
        self.0.remove(name);
        self
    }
}

/// Starts the daemon with one MantaGo bot (`B1`) linked to every chat and `ADMIN` as admin,
/// and waits until it polls for updates.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with the environment adjusted first. `{manta}` in a value is replaced
/// by the MantaGo fake's base URL.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Env)) -> TestApp {
    let app = start(adjust).await;
    app.telegram.wait_for_calls("getupdates", 1).await;
    app
}

/// Starts the daemon without waiting for it to be ready (for start-up failure tests).
pub async fn start(adjust: impl FnOnce(&mut Env)) -> TestApp {
    let telegram = FakeTelegram::start().await;
    let manta = mockito::Server::new_async().await;
    let manta_url = format!("{}/api", manta.url());
    let mut env = Env(BTreeMap::new());
    env.set("TELOXIDE_TOKEN", TELEGRAM_TOKEN)
        .set("TELOXIDE_API_URL", telegram.url())
        .set("ADMIN_IDS", ADMIN.to_string())
        .set("MANTA_API_URL", "{manta}")
        .set("MANTA_TIMEOUT_SECS", "2")
        .set("MANTA_BOT_ID", "B1")
        .set("MANTA_TOKEN", MANTA_TOKEN)
        .set("MANTA_SECRET", MANTA_SECRET)
        .set("RUST_LOG", "debug");
    adjust(&mut env);

    let workdir = tempfile::tempdir().expect("temporary working directory");
    let mut command = Command::new(env!("CARGO_BIN_EXE_manta-tagbot"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.0.iter().map(|(k, v)| (k, v.replace("{manta}", &manta_url))))
        .current_dir(workdir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("start manta-tagbot");
    let output = Arc::new(Mutex::new(String::new()));
    collect(child.stdout.take(), output.clone());
    collect(child.stderr.take(), output.clone());
    TestApp { telegram, manta, child, output, _workdir: workdir }
}

fn collect(stream: Option<impl AsyncRead + Unpin + Send + 'static>, into: Arc<Mutex<String>>) {
    let Some(stream) = stream else { return };
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut output = into.lock().unwrap_or_else(|p| p.into_inner());
            output.push_str(&line);
            output.push('\n');
        }
    });
}

impl TestApp {
    /// Everything the daemon has written to stdout and stderr so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until the output contains `needle`, then returns the whole output.
    pub async fn wait_for_output(&self, needle: &str) -> String {
        for _ in 0..200 {
            let output = self.output();
            if output.contains(needle) {
                return output;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the daemon never wrote {needle:?}; output:\n{}", self.output());
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("daemon still running");
        let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -TERM failed");
    }

    /// Waits for the daemon to exit (at most 30 s) and returns how.
    pub async fn wait_for_exit(&mut self) -> ExitStatus {
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(status) => status.expect("wait for manta-tagbot"),
            Err(_) => panic!("the daemon did not exit; output:\n{}", self.output()),
        }
    }

    /// Sends SIGTERM and waits for a clean exit, asserting status 0.
    pub async fn stop(mut self) -> String {
        self.terminate();
        let status = self.wait_for_exit().await;
        // Let the output readers drain the pipes.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(status.code(), Some(0), "exit status; output:\n{}", self.output());
        self.output()
    }
}
