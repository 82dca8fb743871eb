//! A linked group that Telegram upgrades to a supergroup gets a new chat ID; the link follows
//! it, across restarts, and the operator is told to update the configuration.

mod support;

use mockito::Matcher;
use serde_json::json;
use support::{ADMIN, Chat, TestApp, spawn_app_with};

const OLD_GROUP: Chat = Chat::Group(-4_012_345_678);
const SUPERGROUP: Chat = Chat::Supergroup(-1_001_234_567_890);

async fn start(data_dir: &std::path::Path) -> TestApp {
    let data_dir = data_dir.display().to_string();
    spawn_app_with(move |env| {
        env.set("MANTA_CHATS", "-4012345678").set("DATA_DIR", data_dir);
    })
    .await
}

async fn newtag_in_supergroup(app: &mut TestApp, name: &str) -> String {
    let create = app
        .manta
        .mock("POST", "/api/openapi/clientTag")
        .match_query(Matcher::UrlEncoded("botId".into(), "B1".into()))
        .match_body(Matcher::PartialJson(json!({"name": name})))
        .with_body(r#"{"success":true,"message":"Create client tag successfully"}"#)
        .expect(1)
        .create_async()
        .await;
    let seen = app.telegram.sent().iter().filter(|m| m.chat_id == SUPERGROUP.id()).count();
    app.telegram.send_text(ADMIN, SUPERGROUP, &format!("/newtag {name}"));
    let reply = app.telegram.wait_for_reply_in(SUPERGROUP, seen).await.visible_text();
    create.assert_async().await;
    reply
}

#[tokio::test]
async fn a_group_that_becomes_a_supergroup_keeps_its_link_across_restarts() {
    let data = tempfile::tempdir().expect("data dir");
    let mut app = start(data.path()).await;
    let migration = json!({
        "message_id": app.telegram.next_message_id(), "date": 1_800_000_000,
        "chat": {"id": OLD_GROUP.id(), "type": "group", "title": "Admins"},
        "from": {"id": ADMIN, "is_bot": false, "first_name": "Alice"},
        "migrate_to_chat_id": SUPERGROUP.id(),
    });

    app.telegram.push_update("message", migration);
    let log = app.wait_for_output("became supergroup").await;
    let reply = newtag_in_supergroup(&mut app, "After migration").await;
    app.stop().await;
    let mut restarted = start(data.path()).await;
    let after_restart = newtag_in_supergroup(&mut restarted, "After restart").await;
    let restart_log = restarted.stop().await;

    assert!(log.contains("replace -4012345678 with -1001234567890 in MANTA_CHATS"), "{log}");
    assert_eq!(reply, "✅ Created the client tag “After migration” on MantaGo bot default (ID B1).");
    assert!(after_restart.starts_with("✅ Created the client tag “After restart”"), "{after_restart}");
    assert!(
        restart_log.contains("replace -4012345678 with -1001234567890 in MANTA_CHATS"),
        "reminded at start"
    );
}
