//! The credential store seen from outside: the real binary's `credentials` subcommand, a damaged
//! database, and a refresh at start whose secrets must stay out of the logs.

use std::process::Stdio;
use std::time::{Duration, SystemTime};

use manta_tagbot::jwt::unsigned_token;
use mockito::Matcher;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const DAY: Duration = Duration::from_secs(24 * 3600);

struct Run {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary with `args` in `dir` (its working directory, holding `data/`), a mockito
/// MantaGo at `manta_url`, and the given pair; `input` goes to standard input.
async fn run(
    dir: &std::path::Path,
    manta_url: &str,
    token: &str,
    secret: &str,
    args: &[&str],
    input: &str,
) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_manta-tagbot"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ADMIN_IDS", "111")
        .env("MANTA_API_URL", format!("{manta_url}/api"))
        .env("MANTA_BOT_ID", "B1")
        .env("MANTA_TOKEN", token)
        .env("MANTA_SECRET", secret)
        .env("RUST_LOG", "debug")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start manta-tagbot");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).await.expect("write stdin");
    }
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("manta-tagbot finished")
        .expect("output");
    Run {
        status: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test]
async fn credentials_lists_each_bot_without_secrets_unless_revealed() {
    let manta = mockito::Server::new_async().await;
    let dir = tempfile::tempdir().expect("dir");
    let now = SystemTime::now();
    let token = unsigned_token(now, now + 30 * DAY);

    let plain = run(dir.path(), &manta.url(), &token, "the-secret", &["credentials"], "").await;
    let revealed =
        run(dir.path(), &manta.url(), &token, "the-secret", &["credentials", "--reveal"], "").await;

    assert_eq!(plain.status, Some(0), "{}", plain.stderr);
    assert_eq!(plain.stdout.lines().count(), 1, "{}", plain.stdout);
    let line = plain.stdout.lines().next().unwrap_or_default();
    assert!(line.starts_with("default (bot ID B1): token expires "), "{line}");
    assert!(line.contains("(29 days 23 h left)") || line.contains("(30 days left)"), "{line}");
    assert!(line.contains("origin: configured") && line.contains("last refresh: never"), "{line}");
    assert!(!plain.stdout.contains(&token) && !plain.stdout.contains("the-secret"));
    assert!(!plain.stderr.contains(&token) && !plain.stderr.contains("the-secret"));
    assert!(
        revealed.stdout.contains(&format!("  token:  {token}\n  secret: the-secret\n")),
        "{}",
        revealed.stdout
    );
}

#[tokio::test]
async fn an_expired_token_is_refreshed_then_used_stored_and_never_logged() {
    let mut manta = mockito::Server::new_async().await;
    let dir = tempfile::tempdir().expect("dir");
    let now = SystemTime::now();
    let old = unsigned_token(now - 31 * DAY, now - DAY);
    let new = unsigned_token(now, now + 30 * DAY);
    let refresh = manta
        .mock("POST", "/api/openapi/token")
        .match_query(Matcher::UrlEncoded("botId".into(), "B1".into()))
        .match_header("authorization", format!("Bearer {old}").as_str())
        .match_body(Matcher::Json(json!({"secret": "old-secret"})))
        .with_body(
            json!({"success": true, "message": "ok", "apiToken": new, "apiSecret": "new-secret"}).to_string(),
        )
        .expect(1)
        .create_async()
        .await;
    let rejected = manta
        .mock("POST", "/api/openapi/clientTag")
        .match_query(Matcher::UrlEncoded("botId".into(), "B1".into()))
        .match_header("authorization", format!("Bearer {old}").as_str())
        .with_status(401)
        .with_body(r#"{"success":false,"errResponse":{"message":"Token is invalid or expired","code":1004,"botId":"B1"}}"#)
        .expect(1)
        .create_async()
        .await;
    let create = manta
        .mock("POST", "/api/openapi/clientTag")
        .match_query(Matcher::UrlEncoded("botId".into(), "B1".into()))
        .match_header("authorization", format!("Bearer {new}").as_str())
        .match_body(Matcher::Json(json!({"secret": "new-secret", "name": "VIP"})))
        .with_body(r#"{"success":true,"message":"Create client tag successfully"}"#)
        .expect(1)
        .create_async()
        .await;

    let console =
        run(dir.path(), &manta.url(), &old, "old-secret", &["console", "--user", "111"], "/newtag VIP\n")
            .await;
    let listing = run(dir.path(), &manta.url(), &old, "old-secret", &["credentials"], "").await;

    assert_eq!(console.status, Some(0), "{}", console.stderr);
    assert_eq!(console.stdout, "✅ Created the client tag “VIP” on MantaGo bot default (ID B1).\n");
    rejected.assert_async().await;
    refresh.assert_async().await;
    create.assert_async().await;
    assert!(
        listing.stdout.contains("origin: rotated") && listing.stdout.contains("(ok)"),
        "{}",
        listing.stdout
    );
    for output in [&console.stdout, &console.stderr, &listing.stdout, &listing.stderr] {
        for secret in [old.as_str(), new.as_str(), "old-secret", "new-secret"] {
            assert!(!output.contains(secret), "{secret} leaked:\n{output}");
        }
    }
}

#[tokio::test]
async fn a_damaged_database_stops_the_program_with_advice_and_is_left_untouched() {
    let manta = mockito::Server::new_async().await;
    let dir = tempfile::tempdir().expect("dir");
    std::fs::create_dir(dir.path().join("data")).expect("data dir");
    let garbage = b"this is not an SQLite database, but it might be the only copy of something".repeat(100);
    std::fs::write(dir.path().join("data/manta-tagbot.db"), &garbage).expect("write");
    let token = unsigned_token(SystemTime::now(), SystemTime::now() + 30 * DAY);

    let run =
        run(dir.path(), &manta.url(), &token, "secret", &["console", "--user", "111"], "/whoami\n").await;

    assert_eq!(run.status, Some(1), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "no command ran: {}", run.stdout);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("manta-tagbot: the state database "), "{last}");
    assert!(last.contains("cannot be used") && last.contains("restore it from a backup"), "{last}");
    assert_eq!(std::fs::read(dir.path().join("data/manta-tagbot.db")).expect("read"), garbage);
}
