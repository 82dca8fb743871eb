//! End-to-end: the daemon keeps serving through trouble — Telegram's flood control, a Telegram
//! outage, MantaGo down — and no reply is lost or sent twice.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::http::{free_addr, get};
use support::{ADMIN, Chat, STRANGER, TestApp, spawn_app, spawn_app_with};

const GROUP: Chat = Chat::Group(-4_012_345_678);

/// Sends `text` from `user` in `chat` and returns the reply as the person sees it.
async fn say(app: &TestApp, user: i64, chat: Chat, text: &str) -> String {
    let seen = app.telegram.sent().iter().filter(|m| m.chat_id == chat.id()).count();
    app.telegram.send_text(user, chat, text);
    app.telegram.wait_for_reply_in(chat, seen).await.visible_text()
}

#[tokio::test]
async fn every_reply_gets_through_telegrams_flood_limits_exactly_once() {
    // 19, not 20: teloxide's Throttle counts a message that met a 429 in the group's 20 a
    // minute, so with 20 a retried one would wait for the minute to pass (slow, not lost).
    const IN_ONE_GROUP: usize = 19;
    const OTHER_GROUPS: i64 = 40;
    let app = spawn_app().await;
    app.telegram.enforce_flood_limits();

    // One busy group (Telegram allows 20 messages a minute there) and a burst across 40 groups
    // (more than the 30 messages a second Telegram allows overall), all at once.
    let mut expected: BTreeMap<i64, i64> = BTreeMap::new(); // message ID → chat
    for _ in 0..IN_ONE_GROUP {
        expected.insert(app.telegram.send_text(ADMIN, GROUP, "/whoami"), GROUP.id());
    }
    for i in 0..OTHER_GROUPS {
        let chat = Chat::Group(-5_000 - i);
        expected.insert(app.telegram.send_text(STRANGER, chat, "/whoami"), chat.id());
    }
    let started = Instant::now();
    let sent = app.telegram.wait_for_sent_within(expected.len(), Duration::from_secs(90)).await;
    eprintln!(
        "{} replies delivered in {:?}; fake Telegram answered 429 {} times",
        sent.len(),
        started.elapsed(),
        app.telegram.rate_limited()
    );

    let mut answered: BTreeMap<i64, i64> = BTreeMap::new();
    for message in &sent {
        let question = message.reply_to.expect("every reply answers its command");
        assert!(answered.insert(question, message.chat_id).is_none(), "message {question} answered twice");
        assert!(message.visible_text().starts_with("Your user ID: "), "{message:?}");
    }
    assert_eq!(answered, expected, "each command got exactly one reply, in its own chat");
    app.stop().await;
}

#[tokio::test]
async fn a_429_from_telegram_is_waited_out_counted_and_the_reply_arrives_once() {
    let addr = free_addr().await;
    let app = spawn_app_with(|env| {
        env.set("HTTP_ADDR", addr.clone());
    })
    .await;
    app.telegram.rate_limit_next_sends(1, 1);

    let reply = say(&app, ADMIN, GROUP, "/whoami").await;
    let (_, scrape) = get(&addr, "/metrics").await;

    assert!(reply.starts_with("Your user ID: 111 (admin)"), "{reply}");
    assert_eq!(app.telegram.rate_limited(), 1);
    assert!(scrape.lines().any(|l| l == "manta_tagbot_telegram_rate_limited_total 1"), "{scrape}");
    let output = app.stop().await;
    assert!(!output.contains("could not send the reply"), "no reply was given up:\n{output}");
    assert!(
        output.contains("Telegram flood control (429): sending the message again after the wait"),
        "{output}"
    );
}

#[tokio::test]
async fn after_a_telegram_outage_commands_are_handled_again() {
    let addr = free_addr().await;
    let app = spawn_app_with(|env| {
        env.set("HTTP_ADDR", addr.clone());
    })
    .await;

    // The next two long polls fail with 502. teloxide holds each 5xx for 10 s before it
    // reports it; then the listener backs off 1 s, then 2 s.
    app.telegram.fail_next(502, 2);
    app.telegram.wait_until_outage_is_over().await;
    let reply = say(&app, ADMIN, GROUP, "/whoami").await;
    let health = get(&addr, "/healthz").await;

    assert!(reply.starts_with("Your user ID: 111 (admin)"), "{reply}");
    assert_eq!(health, (200, "ok\n".to_owned()));
    let output = app.stop().await;
    assert_eq!(output.matches("getUpdates failed; retrying").count(), 2, "{output}");
}

#[tokio::test]
async fn with_mantago_down_every_command_is_told_so_and_the_daemon_keeps_serving() {
    let closed = free_addr().await;
    let app = spawn_app_with(|env| {
        env.set("MANTA_API_URL", format!("http://{closed}/api"));
    })
    .await;

    let first = say(&app, ADMIN, GROUP, "/newtag VIP").await;
    let second = say(&app, ADMIN, GROUP, "/newtag Gold").await;
    let whoami = say(&app, ADMIN, GROUP, "/whoami").await;

    for (name, reply) in [("VIP", &first), ("Gold", &second)] {
        assert!(
            reply.starts_with(&format!(
                "❌ The tag “{name}” was not created: MantaGo could not be reached. Nothing was created; please try again later."
            )),
            "{reply}"
        );
        assert!(reply.contains("\nRef: "), "{reply}");
    }
    assert!(whoami.starts_with("Your user ID: 111 (admin)"), "{whoami}");
    app.stop().await;
}
