//! End-to-end: the real binary, the real teloxide dispatcher, a fake Telegram Bot API server
//! and mockito as MantaGo. Each test reads as what a person in a chat would see.

mod support;

use mockito::{Matcher, Mock};
use serde_json::json;
use support::{
    ADMIN, Chat, MANTA_SECRET, MANTA_TOKEN, STRANGER, TELEGRAM_TOKEN, TestApp, spawn_app, spawn_app_with,
};

const GROUP: Chat = Chat::Group(-4_012_345_678);
const CREATED: &str = r#"{"success":true,"message":"Create client tag successfully"}"#;

fn manta_error(code: i64, message: &str) -> String {
    json!({"success": false, "errResponse": {"message": message, "code": code, "botId": "B1"}}).to_string()
}

/// MantaGo expects exactly one create of `name` on bot B1 with the configured credentials.
async fn expect_create(app: &mut TestApp, name: &str, status: usize, body: &str) -> Mock {
    app.manta
        .mock("POST", "/api/openapi/clientTag")
        .match_query(Matcher::UrlEncoded("botId".into(), "B1".into()))
        .match_header("authorization", format!("Bearer {MANTA_TOKEN}").as_str())
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(json!({"secret": MANTA_SECRET, "name": name})))
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(body)
        .expect(1)
        .create_async()
        .await
}

/// Any request to MantaGo at all; used with `.expect(0)` to prove nothing was sent.
async fn any_manta_request(app: &mut TestApp) -> Mock {
    app.manta.mock("POST", Matcher::Any).match_query(Matcher::Any).expect(0).create_async().await
}

/// Sends `text` from `user` in `chat` and returns the reply as the person sees it.
async fn say(app: &TestApp, user: i64, chat: Chat, text: &str) -> String {
    let seen = app.telegram.sent().iter().filter(|m| m.chat_id == chat.id()).count();
    app.telegram.send_text(user, chat, text);
    let reply = app.telegram.wait_for_reply_in(chat, seen).await;
    assert_eq!(reply.parse_mode.as_deref(), Some("HTML"), "replies use HTML: {reply:?}");
    reply.visible_text()
}

fn assert_no_secrets(output: &str) {
    let telegram_key = TELEGRAM_TOKEN.split_once(':').map_or(TELEGRAM_TOKEN, |(_, key)| key);
    for secret in [TELEGRAM_TOKEN, telegram_key, MANTA_TOKEN, MANTA_SECRET] {
        assert!(!output.contains(secret), "{secret:?} leaked into the output:\n{output}");
    }
}

#[tokio::test]
async fn admin_creates_a_tag_from_a_group() {
    let mut app = spawn_app().await;
    let create = expect_create(&mut app, "VIP customers", 200, CREATED).await;

    let message_id = app.telegram.send_text(ADMIN, GROUP, "/newtag   VIP customers  ");
    let reply = app.telegram.wait_for_reply_in(GROUP, 0).await;

    create.assert_async().await;
    assert_eq!(
        reply.visible_text(),
        "✅ Created the client tag “VIP customers” on MantaGo bot default (ID B1)."
    );
    assert_eq!(reply.reply_to, Some(message_id), "in groups the reply quotes the command");
    app.stop().await;
}

#[tokio::test]
async fn mention_of_this_bot_works_and_commands_for_other_bots_are_ignored() {
    let mut app = spawn_app().await;
    let create = expect_create(&mut app, "Gold", 200, CREATED).await;

    app.telegram.send_text(ADMIN, GROUP, "/newtag@OtherBot Silver");
    let reply = say(&app, ADMIN, GROUP, "/newtag@TagBot Gold").await;

    create.assert_async().await;
    assert!(reply.starts_with("✅ Created the client tag “Gold”"), "{reply}");
    assert_eq!(app.telegram.sent().len(), 1, "nothing answers /newtag@OtherBot");
    app.stop().await;
}

#[tokio::test]
async fn stranger_cannot_create_tags() {
    let mut app = spawn_app().await;
    let nothing = any_manta_request(&mut app).await;

    let reply = say(&app, STRANGER, GROUP, "/newtag VIP").await;

    assert_eq!(
        reply,
        "Sorry, only admins can create tags. Your user ID is 666 — ask the operator to add it to ADMIN_IDS."
    );
    nothing.assert_async().await;
    app.stop().await;
}

#[tokio::test]
async fn unlinked_chat_is_explained_with_its_id() {
    let mut app = spawn_app_with(|env| {
        env.set("MANTA_CHATS", "-1001");
    })
    .await;
    let nothing = any_manta_request(&mut app).await;

    let reply = say(&app, ADMIN, GROUP, "/newtag VIP").await;

    assert!(reply.contains("This chat (ID -4012345678) is not linked to any MantaGo bot"), "{reply}");
    assert!(reply.contains("add -4012345678 to MANTA_CHATS"), "{reply}");
    nothing.assert_async().await;
    app.stop().await;
}

#[tokio::test]
async fn blank_and_overlong_names_get_the_usage_and_the_reason() {
    let mut app = spawn_app().await;
    let nothing = any_manta_request(&mut app).await;

    let blank = say(&app, ADMIN, GROUP, "/newtag   ").await;
    let too_long = say(&app, ADMIN, GROUP, &format!("/newtag {}", "x".repeat(101))).await;
    let two_lines = say(&app, ADMIN, GROUP, "/newtag VIP\ncustomers").await;

    assert!(blank.starts_with("Please give the tag a name.\nUsage: /newtag <name>"), "{blank}");
    assert!(too_long.starts_with("That name has 101 characters; the limit is 100.\nUsage:"), "{too_long}");
    assert!(two_lines.starts_with("The name must fit on one line.\nUsage:"), "{two_lines}");
    nothing.assert_async().await;
    app.stop().await;
}

#[tokio::test]
async fn a_name_full_of_markup_reaches_mantago_and_comes_back_exactly_as_typed() {
    let name = "<b>R&D</b> _x_ *y* [z](http://a)";
    let mut app = spawn_app().await;
    let create = expect_create(&mut app, name, 200, CREATED).await;

    let reply = say(&app, ADMIN, GROUP, &format!("/newtag {name}")).await;

    create.assert_async().await;
    assert_eq!(reply, format!("✅ Created the client tag “{name}” on MantaGo bot default (ID B1)."));
    let output = app.stop().await;
    assert!(!output.contains("refused the reply's markup"), "no plain-text fallback was needed");
}

#[tokio::test]
async fn every_mantago_failure_gets_its_own_explanation_and_a_reference() {
    let mut app = spawn_app().await;
    let cases: Vec<(&str, usize, String, &str)> = vec![
        (
            "expired",
            401,
            manta_error(1004, "Token is invalid or expired"),
            "API token of bot default is invalid or expired",
        ),
        ("replaced", 401, manta_error(120000, "Get open api failed"), "were replaced by a refresh elsewhere"),
        ("denied", 403, manta_error(1002, "permission denied"), "MantaGo refused (permission denied)"),
        ("unknown", 404, manta_error(5001, "no such botId"), "MantaGo does not know bot ID B1"),
        ("broken", 500, manta_error(0, "boom"), "MantaGo had a problem (HTTP 500)"),
        (
            "gateway",
            502,
            "<html><body>Bad Gateway</body></html>".to_owned(),
            "MantaGo had a problem (HTTP 502)",
        ),
        ("garbled", 200, "{\"success\":".to_owned(), "may or may not exist"),
    ];
    let mut mocks = Vec::new();
    for (name, status, body, _) in &cases {
        mocks.push(expect_create(&mut app, name, *status, body).await);
    }

    let mut replies = Vec::new();
    for (name, _, _, expected) in &cases {
        let reply = say(&app, ADMIN, GROUP, &format!("/newtag {name}")).await;
        assert!(reply.contains(expected), "{name}: {reply}");
        let reference = reply.rsplit("Ref: ").next().unwrap_or_default().to_owned();
        assert_eq!(reference.len(), 6, "{name}: a short reference ends the reply: {reply}");
        assert!(!reply.contains('{') && !reply.contains("<html"), "{name}: no raw JSON or HTML: {reply}");
        replies.push((reply, reference));
    }

    for mock in mocks {
        mock.assert_async().await;
    }
    let output = app.stop().await;
    for (_, reference) in &replies {
        assert!(output.contains(reference.as_str()), "reference {reference} is in the log");
    }
    assert!(replies[2].0.contains("MantaGo said: “permission denied”"), "{}", replies[2].0);
    assert_no_secrets(&output);
}

#[tokio::test]
async fn rate_limiting_is_retried_then_explained() {
    let mut app = spawn_app().await;
    let limited = app
        .manta
        .mock("POST", "/api/openapi/clientTag")
        .match_query(Matcher::UrlEncoded("botId".into(), "B1".into()))
        .with_status(429)
        .with_header("retry-after", "1")
        .with_body(manta_error(0, "Rate limit exceeded"))
        .expect(3)
        .create_async()
        .await;

    let reply = say(&app, ADMIN, GROUP, "/newtag Busy").await;

    limited.assert_async().await;
    assert!(reply.contains("MantaGo is rate-limiting requests, and retrying did not help"), "{reply}");
    app.stop().await;
}

#[tokio::test]
async fn a_timeout_warns_that_the_tag_may_exist_and_the_next_command_still_works() {
    let mut app = spawn_app().await;
    let slow = app
        .manta
        .mock("POST", "/api/openapi/clientTag")
        .match_query(Matcher::UrlEncoded("botId".into(), "B1".into()))
        .match_body(Matcher::Json(json!({"secret": MANTA_SECRET, "name": "Slow"})))
        .with_status(200)
        .with_chunked_body(|w| {
            // Longer than MANTA_TIMEOUT_SECS=2, but short: mockito answers nothing else while it
            // sleeps, and the next command's request must not time out behind it.
            std::thread::sleep(std::time::Duration::from_millis(2500));
            w.write_all(CREATED.as_bytes())
        })
        .expect(1)
        .create_async()
        .await;
    let fast = expect_create(&mut app, "Fast", 200, CREATED).await;

    let timed_out = say(&app, ADMIN, GROUP, "/newtag Slow").await;
    let created = say(&app, ADMIN, GROUP, "/newtag Fast").await;

    assert!(
        timed_out.starts_with("⚠️ MantaGo did not answer within 2 s. The tag “Slow” may or may not exist"),
        "{timed_out}"
    );
    assert!(created.starts_with("✅ Created the client tag “Fast”"), "{created}");
    slow.assert_async().await;
    fast.assert_async().await;
    app.stop().await;
}

#[tokio::test]
async fn each_chat_reaches_its_own_mantago_bot() {
    let shop_chat = Chat::Group(-1001);
    let support_chat = Chat::Supergroup(-1_002_000_000_002);
    let mut app = spawn_app_with(|env| {
        env.remove("MANTA_BOT_ID").remove("MANTA_TOKEN").remove("MANTA_SECRET");
        env.set("MANTA_BOTS", "shop,support")
            .set("MANTA_SHOP_BOT_ID", "S1")
            .set("MANTA_SHOP_TOKEN", "shop-token")
            .set("MANTA_SHOP_SECRET", "shop-secret")
            .set("MANTA_SHOP_CHATS", "-1001")
            .set("MANTA_SUPPORT_BOT_ID", "S2")
            .set("MANTA_SUPPORT_TOKEN", "support-token")
            .set("MANTA_SUPPORT_SECRET", "support-secret")
            .set("MANTA_SUPPORT_CHATS", "-1002000000002");
    })
    .await;
    let mut expect = |bot: &str, token: &str, secret: &str| {
        app.manta
            .mock("POST", "/api/openapi/clientTag")
            .match_query(Matcher::UrlEncoded("botId".into(), bot.into()))
            .match_header("authorization", format!("Bearer {token}").as_str())
            .match_body(Matcher::Json(json!({"secret": secret, "name": "VIP"})))
            .with_status(200)
            .with_body(CREATED)
            .expect(1)
            .create()
    };
    let shop = expect("S1", "shop-token", "shop-secret");
    let support = expect("S2", "support-token", "support-secret");

    let in_shop = say(&app, ADMIN, shop_chat, "/newtag VIP").await;
    let in_support = say(&app, ADMIN, support_chat, "/newtag VIP").await;
    let elsewhere = say(&app, ADMIN, GROUP, "/newtag VIP").await;

    shop.assert();
    support.assert();
    assert_eq!(in_shop, "✅ Created the client tag “VIP” on MantaGo bot shop (ID S1).");
    assert_eq!(in_support, "✅ Created the client tag “VIP” on MantaGo bot support (ID S2).");
    assert!(elsewhere.contains("is not linked to any MantaGo bot"), "{elsewhere}");
    app.stop().await;
}

#[tokio::test]
async fn whoami_tells_an_operator_what_to_configure() {
    let app = spawn_app_with(|env| {
        env.set("MANTA_CHATS", "-4012345678");
    })
    .await;

    let in_group = say(&app, STRANGER, GROUP, "/whoami").await;
    let in_private = say(&app, ADMIN, Chat::Private(ADMIN), "/whoami").await;

    assert_eq!(
        in_group,
        "Your user ID: 666 (not an admin)\nThis chat: -4012345678\nLinked MantaGo bot: default (ID B1)"
    );
    assert!(
        in_private
            .starts_with("Your user ID: 111 (admin)\nThis private chat: 111\nLinked MantaGo bot: none."),
        "{in_private}"
    );
    app.stop().await;
}

#[tokio::test]
async fn help_lists_what_this_person_may_do_here() {
    let app = spawn_app().await;

    let for_admin = say(&app, ADMIN, GROUP, "/help").await;
    let for_stranger = say(&app, STRANGER, Chat::Private(STRANGER), "/start").await;

    assert!(for_admin.contains("/newtag <name> — create a client tag on MantaGo bot default"), "{for_admin}");
    assert!(!for_stranger.contains("/newtag <name>"), "{for_stranger}");
    assert!(for_stranger.contains("Your user ID is 666"), "{for_stranger}");
    app.stop().await;
}

#[tokio::test]
async fn admins_are_never_met_with_silence_for_unknown_commands() {
    let app = spawn_app().await;

    let reply = say(&app, ADMIN, GROUP, "/deltag VIP").await;
    app.telegram.send_text(STRANGER, GROUP, "/ban@SomeoneElse");

    assert_eq!(reply, "I don't know the command /deltag. Send /help to see what I can do.");
    app.telegram.wait_until_delivered().await;
    assert_eq!(app.telegram.sent().len(), 1, "a stranger's unknown group command is left alone");
    app.stop().await;
}

#[tokio::test]
async fn edits_stickers_joins_and_plain_chatter_are_ignored_quietly() {
    let mut app = spawn_app().await;
    let nothing = any_manta_request(&mut app).await;
    let message = |id: i64, extra: serde_json::Value| {
        let mut m = json!({"message_id": id, "date": 1_700_000_000, "chat": {"id": GROUP.id(), "type": "group", "title": "Admins"},
            "from": {"id": ADMIN, "is_bot": false, "first_name": "Alice"}});
        m.as_object_mut().expect("object").extend(extra.as_object().cloned().unwrap_or_default());
        m
    };

    let edited =
        message(app.telegram.next_message_id(), json!({"text": "/newtag VIP", "edit_date": 1_700_000_100}));
    app.telegram.push_update("edited_message", edited);
    let sticker = json!({"sticker": {"file_id": "F", "file_unique_id": "U", "type": "regular", "width": 512, "height": 512, "is_animated": false, "is_video": false}});
    app.telegram.push_update("message", message(app.telegram.next_message_id(), sticker));
    let join = json!({"new_chat_members": [{"id": 999, "is_bot": false, "first_name": "Newcomer"}]});
    app.telegram.push_update("message", message(app.telegram.next_message_id(), join));
    app.telegram.send_text(ADMIN, GROUP, "just chatting about /newtag");
    let reply = say(&app, ADMIN, GROUP, "/whoami").await;

    assert!(reply.starts_with("Your user ID: 111"), "{reply}");
    assert_eq!(app.telegram.sent().len(), 1, "only /whoami was answered");
    nothing.assert_async().await;
    app.stop().await;
}

#[tokio::test]
async fn commands_are_registered_for_autocomplete_at_start() {
    let app = spawn_app().await;

    let calls = app.telegram.calls("setMyCommands");

    assert_eq!(calls.len(), 1);
    let names: Vec<&str> =
        calls[0]["commands"].as_array().into_iter().flatten().filter_map(|c| c["command"].as_str()).collect();
    assert_eq!(names, ["newtag", "whoami", "help"]);
    app.stop().await;
}

#[tokio::test]
async fn sigterm_lets_a_command_in_flight_finish_then_exits_zero() {
    let mut app = spawn_app().await;
    let slow = app
        .manta
        .mock("POST", "/api/openapi/clientTag")
        .match_query(Matcher::UrlEncoded("botId".into(), "B1".into()))
        .with_status(200)
        .with_chunked_body(|w| {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            w.write_all(CREATED.as_bytes())
        })
        .expect(1)
        .create_async()
        .await;

    app.telegram.send_text(ADMIN, GROUP, "/newtag Draining");
    app.wait_for_output("MantaGo").await;
    while !slow.matched_async().await {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    app.terminate();
    let status = app.wait_for_exit().await;

    assert_eq!(status.code(), Some(0), "output:\n{}", app.output());
    let sent = app.telegram.sent();
    assert_eq!(sent.len(), 1, "the reply was sent before exiting");
    assert!(sent[0].visible_text().starts_with("✅ Created the client tag “Draining”"));
}

#[tokio::test]
async fn secrets_stay_out_of_debug_logs() {
    let mut app = spawn_app().await;
    let create = expect_create(&mut app, "VIP", 200, CREATED).await;
    let expired =
        expect_create(&mut app, "Old", 401, &manta_error(1004, "Token is invalid or expired")).await;

    say(&app, ADMIN, GROUP, "/newtag VIP").await;
    say(&app, ADMIN, GROUP, "/newtag Old").await;
    say(&app, ADMIN, GROUP, "/whoami").await;
    create.assert_async().await;
    expired.assert_async().await;
    let output = app.stop().await;

    assert!(output.contains("DEBUG"), "the log ran at debug level:\n{output}");
    assert_no_secrets(&output);
}

#[tokio::test]
async fn a_token_that_telegram_rejects_stops_the_daemon_with_status_2() {
    let mut app = support::app::start(|_| {}).await;
    app.telegram.reject_token();

    let status = app.wait_for_exit().await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    let output = app.output();
    assert_eq!(status.code(), Some(2), "output:\n{output}");
    assert!(output.contains("TELOXIDE_TOKEN: Telegram rejected this token"), "{output}");
    assert!(!output.contains("panicked"), "{output}");
    assert_no_secrets(&output);
}

#[tokio::test]
async fn a_configuration_mistake_names_the_variable_and_exits_2() {
    let mut app = support::app::start(|env| {
        env.set("ADMIN_IDS", "111,abc");
    })
    .await;

    let status = app.wait_for_exit().await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    assert_eq!(status.code(), Some(2));
    let output = app.output();
    assert_eq!(output.lines().count(), 1, "one line: {output}");
    assert!(
        output.starts_with(
            "manta-tagbot: configuration error: ADMIN_IDS: \"abc\" is not a numeric Telegram user ID"
        ),
        "{output}"
    );
    assert!(output.contains("example: ADMIN_IDS=123456789,987654321"), "{output}");
}

#[tokio::test]
async fn telegram_unreachable_at_start_is_retried_until_stopped() {
    let app = spawn_unreachable().await;

    app.wait_for_output("Telegram cannot be reached; retrying").await;
    let output = app.stop().await;

    assert!(!output.contains("configuration error"), "{output}");
    assert_no_secrets(&output);
}

async fn spawn_unreachable() -> TestApp {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    support::app::start(move |env| {
        env.set("TELOXIDE_API_URL", url);
    })
    .await
}
