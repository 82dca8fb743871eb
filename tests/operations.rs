//! End-to-end, from the operator's side: `/healthz`, `/metrics`, the `healthcheck` subcommand,
//! the JSON audit log, stale commands after downtime, and a drain that runs out of time.

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mockito::{Matcher, Mock};
use serde_json::{Value, json};
use support::http::{free_addr, get, healthcheck, wait_for_server};
use support::{ADMIN, Chat, MANTA_SECRET, MANTA_TOKEN, TestApp, spawn_app, spawn_app_with};

const GROUP: Chat = Chat::Group(-4_012_345_678);
const CREATED: &str = r#"{"success":true,"message":"Create client tag successfully"}"#;

/// MantaGo expects exactly one create of `name` on bot B1 with the configured credentials.
async fn expect_create(app: &mut TestApp, name: &str, status: usize, body: &str) -> Mock {
    app.manta
        .mock("POST", "/api/openapi/clientTag")
        .match_query(Matcher::UrlEncoded("botId".into(), "B1".into()))
        .match_header("authorization", format!("Bearer {MANTA_TOKEN}").as_str())
        .match_body(Matcher::Json(json!({"secret": MANTA_SECRET, "name": name})))
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(body)
        .expect(1)
        .create_async()
        .await
}

/// Sends `text` from `user` in `chat` and returns the reply as the person sees it.
async fn say(app: &TestApp, user: i64, chat: Chat, text: &str) -> String {
    let seen = app.telegram.sent().iter().filter(|m| m.chat_id == chat.id()).count();
    app.telegram.send_text(user, chat, text);
    app.telegram.wait_for_reply_in(chat, seen).await.visible_text()
}

/// The lines of a Prometheus scrape that start with `prefix`.
fn lines_starting<'a>(scrape: &'a str, prefix: &str) -> Vec<&'a str> {
    scrape.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[tokio::test]
async fn healthz_and_metrics_are_served_on_http_addr() {
    let addr = free_addr().await;
    let mut app = spawn_app_with(|env| {
        env.set("HTTP_ADDR", addr.clone());
    })
    .await;
    let create = expect_create(&mut app, "VIP", 200, CREATED).await;

    let health = get(&addr, "/healthz").await;
    say(&app, ADMIN, GROUP, "/newtag VIP").await;
    say(&app, ADMIN, GROUP, "/whoami").await;
    let (status, scrape) = get(&addr, "/metrics").await;

    assert_eq!(health, (200, "ok\n".to_owned()));
    create.assert_async().await;
    assert_eq!(status, 200);
    let expected = [
        r#"manta_tagbot_commands_total{command="newtag",outcome="created"} 1"#,
        r#"manta_tagbot_commands_total{command="whoami",outcome="whoami"} 1"#,
        r#"manta_tagbot_mantago_requests_total{endpoint="/openapi/clientTag",status="200"} 1"#,
        r#"manta_tagbot_mantago_request_duration_seconds_count{endpoint="/openapi/clientTag"} 1"#,
        r#"manta_tagbot_mantago_request_duration_seconds_bucket{endpoint="/openapi/clientTag",le="+Inf"} 1"#,
        concat!(r#"manta_tagbot_build_info{version=""#, env!("CARGO_PKG_VERSION"), r#""} 1"#),
    ];
    for line in expected {
        assert!(scrape.lines().any(|l| l == line), "missing {line:?} in:\n{scrape}");
    }
    let buckets = lines_starting(&scrape, "manta_tagbot_mantago_request_duration_seconds_bucket");
    assert_eq!(buckets.len(), 12, "11 latency buckets and +Inf:\n{scrape}");
    app.stop().await;
}

#[tokio::test]
async fn healthz_says_why_while_telegram_cannot_be_reached_and_healthcheck_exits_1() {
    let addr = free_addr().await;
    let closed = free_addr().await;
    let app = support::app::start(|env| {
        env.set("HTTP_ADDR", addr.clone()).set("TELOXIDE_API_URL", format!("http://{closed}"));
    })
    .await;
    wait_for_server(&addr).await;

    let health = get(&addr, "/healthz").await;
    let probe = healthcheck(Some(&addr)).await;

    assert_eq!(health, (503, "not connected to Telegram yet\n".to_owned()));
    assert_eq!(probe.code, Some(1), "{probe:?}");
    assert_eq!(probe.stderr, "manta-tagbot: unhealthy: not connected to Telegram yet\n");
    app.stop().await;
}

#[tokio::test]
async fn healthcheck_exits_0_for_a_healthy_daemon_and_probes_0_0_0_0_on_loopback() {
    let port = free_addr().await.rsplit(':').next().unwrap_or_default().to_owned();
    let app = spawn_app_with(|env| {
        env.set("HTTP_ADDR", format!("0.0.0.0:{port}"));
    })
    .await;

    let probe = healthcheck(Some(&format!("0.0.0.0:{port}"))).await;

    assert_eq!(probe.code, Some(0), "{probe:?}");
    assert_eq!(probe.stdout, "ok\n");
    app.stop().await;
}

#[tokio::test]
async fn healthcheck_without_http_addr_is_a_configuration_mistake() {
    let probe = healthcheck(None).await;

    assert_eq!(probe.code, Some(2), "{probe:?}");
    assert_eq!(
        probe.stderr,
        "manta-tagbot: configuration error: HTTP_ADDR: is not set, so the daemon serves no /healthz to probe (example: HTTP_ADDR=0.0.0.0:8080)\n"
    );
}

#[tokio::test]
async fn an_invalid_http_addr_stops_the_daemon_with_status_2() {
    let mut app = support::app::start(|env| {
        env.set("HTTP_ADDR", "localhost:8080");
    })
    .await;

    let status = app.wait_for_exit().await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    assert_eq!(status.code(), Some(2));
    assert_eq!(
        app.output(),
        "manta-tagbot: configuration error: HTTP_ADDR: \"localhost:8080\" is not an IP address and port (use 0.0.0.0:PORT for every interface, 127.0.0.1:PORT for this machine only) (example: HTTP_ADDR=0.0.0.0:8080)\n"
    );
}

#[tokio::test]
async fn with_log_format_json_each_command_leaves_exactly_one_complete_audit_event() {
    let mut app = spawn_app_with(|env| {
        env.set("LOG_FORMAT", "json");
    })
    .await;
    let denied = json!({"success": false, "errResponse": {"message": "permission denied", "code": 1002, "botId": "B1"}});
    let create = expect_create(&mut app, "Spring sale", 403, &denied.to_string()).await;

    let reply = say(&app, ADMIN, GROUP, "/newtag Spring sale").await;
    create.assert_async().await;
    let output = app.stop().await;

    let reference = reply.rsplit("Ref: ").next().unwrap_or_default();
    assert_eq!(reference.len(), 6, "{reply}");
    let events: Vec<Value> = output
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let audit: Vec<&Value> = events.iter().filter(|e| e["target"] == "audit").collect();
    assert_eq!(audit.len(), 1, "one audit event per command:\n{output}");
    let event = audit[0];
    assert_eq!(event["message"], "command handled");
    assert_eq!(event["reference"], reference);
    assert_eq!(event["user_id"], ADMIN);
    assert_eq!(event["username"], format!("user{ADMIN}"));
    assert_eq!(event["chat_id"], GROUP.id());
    assert_eq!(event["bot_label"], "default");
    assert_eq!(event["bot_id"], "B1");
    assert_eq!(event["command"], "newtag");
    assert_eq!(event["tag_name"], "Spring sale");
    assert_eq!(event["outcome"], "permission_denied");
    assert_eq!(event["http_status"], 403);
    assert_eq!(event["manta_code"], 1002);
    assert!(event["latency_ms"].is_u64(), "{event}");
}

/// Unix seconds an hour ago, and how the bot writes that moment.
fn an_hour_ago() -> (i64, String) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let then = now - 3600;
    let text = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(then)).to_string();
    (then as i64, format!("{} UTC", text[..16].replace('T', " ")))
}

#[tokio::test]
async fn a_command_that_waited_too_long_is_skipped_and_the_chat_is_told_when_it_was_sent() {
    let mut app = spawn_app().await;
    let nothing =
        app.manta.mock("POST", Matcher::Any).match_query(Matcher::Any).expect(0).create_async().await;
    let (sent_at, shown) = an_hour_ago();

    let message_id = app.telegram.send_text_at(ADMIN, GROUP, "/newtag VIP", sent_at);
    let reply = app.telegram.wait_for_reply_in(GROUP, 0).await;
    let fresh = say(&app, ADMIN, GROUP, "/whoami").await;

    assert_eq!(
        reply.visible_text(),
        format!(
            "⏭️ Skipped /newtag: it was sent at {shown} and reached me more than 5 min later (the bot was probably offline), so nothing was done. Send it again if you still want it."
        )
    );
    assert_eq!(reply.reply_to, Some(message_id), "the reply quotes the skipped command");
    assert!(fresh.starts_with("Your user ID: 111 (admin)"), "{fresh}");
    nothing.assert_async().await;
    let output = app.stop().await;
    assert!(output.contains("outcome=\"stale\""), "the audit log records the skip:\n{output}");
}

#[tokio::test]
async fn max_command_age_secs_decides_what_is_too_old() {
    let mut app = spawn_app_with(|env| {
        env.set("MAX_COMMAND_AGE_SECS", "7200");
    })
    .await;
    let create = expect_create(&mut app, "VIP", 200, CREATED).await;
    let (sent_at, _) = an_hour_ago();

    app.telegram.send_text_at(ADMIN, GROUP, "/newtag VIP", sent_at);
    let reply = app.telegram.wait_for_reply_in(GROUP, 0).await;

    assert_eq!(reply.visible_text(), "✅ Created the client tag “VIP” on MantaGo bot default (ID B1).");
    create.assert_async().await;
    app.stop().await;
}

#[tokio::test]
async fn sigterm_gives_up_on_work_still_in_flight_after_shutdown_timeout_secs_and_exits_zero() {
    // A MantaGo that takes the request and never answers. (Not mockito: a mockito server that
    // is still busy when the test ends goes back to its pool and stalls the next test.)
    let black_hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let manta_url = format!("http://{}/api", black_hole.local_addr().expect("addr"));
    let (received, request_arrived) = tokio::sync::oneshot::channel::<()>();
    let _black_hole = tokio::spawn(async move {
        let Ok((mut socket, _)) = black_hole.accept().await else { return };
        let mut buffer = [0u8; 4096];
        let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buffer).await;
        let _ = received.send(());
        std::future::pending::<()>().await; // keep the connection open, answer nothing
    });
    let mut app = spawn_app_with(|env| {
        env.set("SHUTDOWN_TIMEOUT_SECS", "1").set("MANTA_TIMEOUT_SECS", "30").set("MANTA_API_URL", manta_url);
    })
    .await;

    app.telegram.send_text(ADMIN, GROUP, "/newtag Slow");
    request_arrived.await.expect("the /newtag request reached MantaGo");
    let signalled = Instant::now();
    app.terminate();
    let status = app.wait_for_exit().await;
    eprintln!("exited {:?} after SIGTERM", signalled.elapsed());
    tokio::time::sleep(Duration::from_millis(100)).await;

    let output = app.output();
    assert_eq!(status.code(), Some(0), "output:\n{output}");
    assert!(
        output.contains(
            "SHUTDOWN_TIMEOUT_SECS (1 s) ran out; abandoning 1 command(s) in flight, whose replies will not be sent (a /newtag may or may not have created its tag): \"/newtag Slow\" in chat -4012345678 from user 111"
        ),
        "{output}"
    );
    assert!(app.telegram.sent().is_empty(), "no reply was sent for the abandoned command");
}

#[tokio::test]
async fn while_draining_healthz_says_shutting_down_and_the_reply_still_goes_out() {
    let addr = free_addr().await;
    let mut app = spawn_app_with(|env| {
        env.set("HTTP_ADDR", addr.clone());
    })
    .await;
    let slow = app
        .manta
        .mock("POST", "/api/openapi/clientTag")
        .match_query(Matcher::UrlEncoded("botId".into(), "B1".into()))
        .with_status(200)
        .with_chunked_body(|w| {
            std::thread::sleep(Duration::from_millis(1500));
            w.write_all(CREATED.as_bytes())
        })
        .expect(1)
        .create_async()
        .await;

    app.telegram.send_text(ADMIN, GROUP, "/newtag Draining");
    while !slow.matched_async().await {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.terminate();
    app.wait_for_output("shutting down: no new updates").await;
    let health = get(&addr, "/healthz").await;
    let status = app.wait_for_exit().await;

    assert_eq!(health, (503, "shutting down\n".to_owned()));
    assert_eq!(status.code(), Some(0), "output:\n{}", app.output());
    let sent = app.telegram.sent();
    assert_eq!(sent.len(), 1, "the reply was sent before exiting");
    assert!(sent[0].visible_text().starts_with("✅ Created the client tag “Draining”"));
}
