//! `manta-tagbot console` end to end: the built binary, lines piped into its standard input,
//! MantaGo played by mockito, and what comes out on stdout (replies only, as plain text), on
//! stderr (logs, including the audit line) and as the exit status.
//!
//! Every run gets a cleared environment (no `TELOXIDE_TOKEN`: the console must not need it) and
//! an empty working directory, so no stray `.env` is read and no state is left behind.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use mockito::{Matcher, Mock, Server, ServerGuard};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_manta-tagbot");
/// A JWT that expires in 2100, so nothing thinks it needs refreshing. Its signature is fake.
const TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJCMSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwfQ.bm90LWEtcmVhbC1zaWduYXR1cmUtMDEyMzQ1Njc4OQ";
const SECRET: &str = "s3cr3t-k3y-d0-n0t-pr1nt";
/// The pair a successful refresh hands out: as secret as the configured one.
const NEW_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJCMSIsImlhdCI6MTcwMDAwMDAwMSwiZXhwIjo0MTAyNDQ0ODAwfQ.bmV3LXNpZ25hdHVyZQ";
const NEW_SECRET: &str = "n3w-s3cr3t-d0-n0t-pr1nt";
const ADMIN: &str = "111";
const STRANGER: &str = "222";
const GROUP: &str = "-100123";
const CREATE_PATH: &str = "/api/openapi/clientTag";
const REFRESH_PATH: &str = "/api/openapi/token";
/// MantaGo's documented answer to a successful create.
const CREATED_BODY: &str = r#"{"success":true,"message":"Create client tag successfully"}"#;
/// Long enough for a debug build on a busy machine; a hung console fails instead of hanging.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// What one console session left behind.
struct Session {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// The environment of a console serving one admin (`111`) and one MantaGo bot `B1` that is
/// linked to every chat, talking to the mockito server behind `server`.
fn environment(server: &ServerGuard) -> Vec<(&'static str, String)> {
    vec![
        ("ADMIN_IDS", ADMIN.to_owned()),
        ("MANTA_API_URL", format!("{}/api", server.url())),
        ("MANTA_BOT_ID", "B1".to_owned()),
        ("MANTA_TOKEN", TOKEN.to_owned()),
        ("MANTA_SECRET", SECRET.to_owned()),
        ("MANTA_TIMEOUT_SECS", "2".to_owned()),
    ]
}

/// Runs `manta-tagbot console <args>` with exactly `env` (plus `PATH`) in an empty directory,
/// writes `input` to its standard input, closes it, and waits for the program to exit.
async fn console(args: &[&str], env: &[(&str, String)], input: &str) -> Session {
    let workdir = tempfile::tempdir().expect("a temporary working directory");
    let mut child = Command::new(BINARY)
        .arg("console")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
        .current_dir(workdir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the built binary starts");
    let mut stdin = child.stdin.take().expect("piped stdin");
    // A program that exits early (configuration error) closes its end: that is not our failure.
    let _ = stdin.write_all(input.as_bytes()).await;
    drop(stdin);
    let output = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .expect("the console exits once its input ends")
        .expect("the console's output can be collected");
    Session {
        status: output.status,
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// A mock matching only a create request of exactly the documented shape for tag `name`.
fn expected_create(server: &mut ServerGuard, name: &str) -> Mock {
    server
        .mock("POST", CREATE_PATH)
        .match_query(Matcher::UrlEncoded("botId".into(), "B1".into()))
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .match_body(Matcher::Json(json!({"secret": SECRET, "name": name})))
}

/// A mock matching only a refresh request of the documented shape for the configured pair.
fn expected_refresh(server: &mut ServerGuard) -> Mock {
    server
        .mock("POST", REFRESH_PATH)
        .match_query(Matcher::UrlEncoded("botId".into(), "B1".into()))
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .match_body(Matcher::Json(json!({"secret": SECRET})))
}

/// Registered last, so it takes every request the other mocks did not expect.
async fn nothing_else(server: &mut ServerGuard) -> Vec<Mock> {
    let mut mocks = Vec::new();
    for method in ["GET", "POST", "PUT", "DELETE"] {
        let mock = server
            .mock(method, Matcher::Any)
            .match_query(Matcher::Any)
            .with_status(500)
            .expect(0)
            .create_async()
            .await;
        mocks.push(mock);
    }
    mocks
}

async fn assert_nothing_else(mocks: &[Mock]) {
    for mock in mocks {
        mock.assert_async().await;
    }
}

fn error_envelope(status_message: &str, code: i64) -> String {
    json!({"success": false, "errResponse": {"message": status_message, "code": code, "botId": "B1"}})
        .to_string()
}

/// Replies are plain text: no Telegram HTML, no escaped entities, no raw JSON.
fn assert_plain_text(text: &str) {
    for markup in ["<b>", "</b>", "<code>", "</code>", "&lt;", "&gt;", "&amp;", "{\"", "errResponse"] {
        assert!(!text.contains(markup), "{markup:?} in the console's output:\n{text}");
    }
}

fn assert_success(session: &Session) {
    assert!(session.status.success(), "exit status {:?}; stderr:\n{}", session.status, session.stderr);
}

fn created(name: &str) -> String {
    format!("✅ Created the client tag “{name}” on MantaGo bot default (ID B1).\n")
}

#[tokio::test]
async fn whoami_prints_the_users_id_their_private_chat_and_the_linked_bot_in_plain_text() {
    let server = Server::new_async().await;

    let session = console(&["--user", ADMIN], &environment(&server), "/whoami\n").await;

    assert_success(&session);
    assert_eq!(
        session.stdout,
        "Your user ID: 111 (admin)\nThis private chat: 111\nLinked MantaGo bot: default (ID B1)\n"
    );
    assert_plain_text(&session.stdout);
}

#[tokio::test]
async fn newtag_from_an_admin_sends_exactly_one_documented_create_request_and_prints_the_success() {
    let mut server = Server::new_async().await;
    let create = expected_create(&mut server, "X")
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(CREATED_BODY)
        .expect(1)
        .create_async()
        .await;
    let others = nothing_else(&mut server).await;

    let session = console(&["--user", ADMIN], &environment(&server), "/newtag X\n").await;

    assert_success(&session);
    create.assert_async().await;
    assert_nothing_else(&others).await;
    assert_eq!(session.stdout, "✅ Created the client tag “X” on MantaGo bot default (ID B1).\n");
}

#[tokio::test]
async fn a_tag_name_full_of_markup_is_sent_and_printed_exactly_as_typed() {
    let name = "<b>R&D</b> _x_ *y*";
    let mut server = Server::new_async().await;
    let create = expected_create(&mut server, name)
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(CREATED_BODY)
        .expect(1)
        .create_async()
        .await;
    let others = nothing_else(&mut server).await;

    let session = console(&["--user", ADMIN], &environment(&server), &format!("/newtag {name}\n")).await;

    assert_success(&session);
    create.assert_async().await;
    assert_nothing_else(&others).await;
    assert_eq!(session.stdout, created(name));
}

#[tokio::test]
async fn newtag_from_a_stranger_is_refused_with_their_user_id_and_nothing_reaches_mantago() {
    let mut server = Server::new_async().await;
    let everything = nothing_else(&mut server).await;

    let session = console(&["--user", STRANGER], &environment(&server), "/newtag VIP\n").await;

    assert_success(&session);
    assert_nothing_else(&everything).await;
    assert!(session.stdout.starts_with("Sorry, only admins can create tags."), "{}", session.stdout);
    assert!(session.stdout.contains("Your user ID is 222"), "{}", session.stdout);
    assert!(session.stdout.contains("ADMIN_IDS"), "{}", session.stdout);
    assert_eq!(session.stdout.lines().count(), 1, "{}", session.stdout);
    assert_plain_text(&session.stdout);
}

#[tokio::test]
async fn an_expired_token_is_explained_in_plain_text_with_a_reference_that_is_also_in_the_audit_log() {
    let mut server = Server::new_async().await;
    let create = expected_create(&mut server, "VIP")
        .with_status(401)
        .with_header("content-type", "application/json")
        .with_body(error_envelope("Token is invalid or expired", 1004))
        .expect(1)
        .create_async()
        .await;
    // PRODUCT.md §4: a 401/1004 gets exactly one refresh attempt, which fails here as well.
    let refresh = expected_refresh(&mut server)
        .with_status(401)
        .with_header("content-type", "application/json")
        .with_body(error_envelope("Token is invalid or expired", 1004))
        .expect(1)
        .create_async()
        .await;
    let others = nothing_else(&mut server).await;

    let session = console(&["--user", ADMIN], &environment(&server), "/newtag VIP\n").await;

    assert_success(&session);
    create.assert_async().await;
    refresh.assert_async().await;
    assert_nothing_else(&others).await;
    let reply = &session.stdout;
    assert!(reply.starts_with("❌ The tag “VIP” was not created"), "{reply}");
    assert!(reply.contains("invalid or expired"), "{reply}");
    assert!(reply.contains("MANTA_TOKEN") && reply.contains("MANTA_SECRET"), "{reply}");
    assert_plain_text(reply);
    let reference = reply
        .strip_suffix('\n')
        .and_then(|r| r.rsplit_once("\nRef: "))
        .map(|(_, reference)| reference)
        .unwrap_or_else(|| panic!("the reply ends with a Ref: line: {reply:?}"));
    assert_eq!(reference.len(), 6, "{reference:?}");
    assert!(reference.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{reference:?}");
    let audit = session
        .stderr
        .lines()
        .find(|line| line.contains("command handled") && line.contains(&format!("reference=\"{reference}\"")))
        .unwrap_or_else(|| panic!("no audit line with reference {reference} in stderr:\n{}", session.stderr));
    assert!(audit.contains("outcome=\"token_invalid\""), "{audit}");
    assert!(audit.contains("user_id=111"), "{audit}");
    assert!(!reply.contains(SECRET) && !reply.contains(TOKEN));
}

#[tokio::test]
async fn each_line_of_a_session_gets_its_reply_in_order_and_plain_text_gets_none() {
    let mut server = Server::new_async().await;
    let mut creates = Vec::new();
    for name in ["First", "Second"] {
        let mock = expected_create(&mut server, name)
            .with_status(200)
            .with_header("content-type", "application/json")
            .with_body(CREATED_BODY)
            .expect(1)
            .create_async()
            .await;
        creates.push(mock);
    }
    let others = nothing_else(&mut server).await;
    let input = "/whoami\nhello, is anybody there?\n/newtag First\n\n/newtag Second\n";

    let session = console(&["--user", ADMIN], &environment(&server), input).await;

    assert_success(&session);
    for create in &creates {
        create.assert_async().await;
    }
    assert_nothing_else(&others).await;
    let whoami = "Your user ID: 111 (admin)\nThis private chat: 111\nLinked MantaGo bot: default (ID B1)\n";
    assert_eq!(session.stdout, format!("{whoami}{}{}", created("First"), created("Second")));
}

#[tokio::test]
async fn the_chat_option_makes_the_session_a_group_chat() {
    let server = Server::new_async().await;

    let session = console(&["--user", STRANGER, "--chat", GROUP], &environment(&server), "/whoami\n").await;

    assert_success(&session);
    assert_eq!(
        session.stdout,
        "Your user ID: 222 (not an admin)\nThis chat: -100123\nLinked MantaGo bot: default (ID B1)\n"
    );
}

#[tokio::test]
async fn end_of_input_exits_zero_and_no_prompt_is_printed_when_input_is_not_a_terminal() {
    let server = Server::new_async().await;

    let silent = console(&["--user", ADMIN], &environment(&server), "").await;
    let unterminated = console(&["--user", ADMIN], &environment(&server), "/whoami").await;

    assert_eq!(silent.status.code(), Some(0), "stderr:\n{}", silent.stderr);
    assert_eq!(silent.stdout, "");
    assert_eq!(unterminated.status.code(), Some(0), "stderr:\n{}", unterminated.stderr);
    assert!(unterminated.stdout.starts_with("Your user ID: 111"), "{:?}", unterminated.stdout);
    assert!(!unterminated.stdout.contains("> "), "{:?}", unterminated.stdout);
}

#[tokio::test]
async fn a_configuration_error_exits_2_with_one_line_naming_the_variable() {
    let server = Server::new_async().await;
    let mut env = environment(&server);
    env.retain(|(name, _)| *name != "ADMIN_IDS");
    env.push(("ADMIN_IDS", "abc".to_owned()));

    let session = console(&["--user", ADMIN], &env, "/whoami\n").await;

    assert_eq!(session.status.code(), Some(2), "stderr:\n{}", session.stderr);
    assert_eq!(session.stdout, "");
    assert_eq!(session.stderr.lines().count(), 1, "{}", session.stderr);
    assert!(session.stderr.starts_with("manta-tagbot: configuration error: ADMIN_IDS"), "{}", session.stderr);
    assert!(!session.stderr.contains("panicked") && !session.stderr.contains("backtrace"));
}

#[tokio::test]
async fn neither_stdout_nor_the_debug_log_ever_contains_a_token_or_a_secret_even_after_a_refresh() {
    let mut server = Server::new_async().await;
    let created_tag = expected_create(&mut server, "VIP")
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(CREATED_BODY)
        .create_async()
        .await;
    let denied = expected_create(&mut server, "Denied")
        .with_status(403)
        .with_header("content-type", "application/json")
        .with_body(error_envelope("Permission denied", 1002))
        .create_async()
        .await;
    let expired = expected_create(&mut server, "Expired")
        .with_status(401)
        .with_header("content-type", "application/json")
        .with_body(error_envelope("Token is invalid or expired", 1004))
        .create_async()
        .await;
    // The refresh after that 401/1004 succeeds, and the create is sent again with the new pair.
    let refresh = expected_refresh(&mut server)
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(
            json!({"success": true, "message": "ok", "apiToken": NEW_TOKEN, "apiSecret": NEW_SECRET})
                .to_string(),
        )
        .expect(1)
        .create_async()
        .await;
    let retried = server
        .mock("POST", CREATE_PATH)
        .match_query(Matcher::UrlEncoded("botId".into(), "B1".into()))
        .match_header("authorization", format!("Bearer {NEW_TOKEN}").as_str())
        .match_body(Matcher::Json(json!({"secret": NEW_SECRET, "name": "Expired"})))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(CREATED_BODY)
        .expect(1)
        .create_async()
        .await;
    let others = nothing_else(&mut server).await;
    let mut env = environment(&server);
    env.push(("RUST_LOG", "debug".to_owned()));
    let input = "/help\n/whoami\n/newtag VIP\n/newtag Denied\n/newtag Expired\n";

    let session = console(&["--user", ADMIN], &env, input).await;

    assert_success(&session);
    for mock in [&created_tag, &denied, &expired, &refresh, &retried] {
        mock.assert_async().await;
    }
    assert_nothing_else(&others).await;
    assert!(session.stdout.contains(&created("VIP")), "{}", session.stdout);
    assert!(session.stdout.contains("“Denied” was not created"), "{}", session.stdout);
    assert!(session.stdout.ends_with(&created("Expired")), "{}", session.stdout);
    for (stream, text) in [("stdout", &session.stdout), ("stderr", &session.stderr)] {
        for (what, value) in
            [("token", TOKEN), ("secret", SECRET), ("new token", NEW_TOKEN), ("new secret", NEW_SECRET)]
        {
            assert!(!text.contains(value), "the {what} is in {stream}:\n{text}");
        }
    }
}
