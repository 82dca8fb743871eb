//! Credentials over their whole life (PRODUCT.md §4), against mockito as MantaGo over real HTTP,
//! a real SQLite state database in a temporary DATA_DIR, and a clock the tests move.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use manta_tagbot::app::App;
use manta_tagbot::clock::ManualClock;
use manta_tagbot::config::{Config, Mode};
use manta_tagbot::core::Incoming;
use manta_tagbot::ids::{BotId, ChatId, UserId};
use manta_tagbot::jwt::unsigned_token;
use manta_tagbot::state::{Origin, StateDb};
use mockito::{Matcher, Mock, ServerGuard};
use secrecy::ExposeSecret;
use serde_json::json;

const ADMIN: i64 = 111;
const DAY: Duration = Duration::from_secs(24 * 3600);
const CREATED: &str = r#"{"success":true,"message":"Create client tag successfully"}"#;
const EXPIRED: &str =
    r#"{"success":false,"errResponse":{"message":"Token is invalid or expired","code":1004,"botId":"B1"}}"#;

struct Setup {
    manta: ServerGuard,
    data: tempfile::TempDir,
    clock: ManualClock,
    auto_refresh: bool,
}

impl Setup {
    async fn new() -> Self {
        Self {
            manta: mockito::Server::new_async().await,
            data: tempfile::tempdir().expect("temporary DATA_DIR"),
            clock: ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
            auto_refresh: true,
        }
    }

    fn now(&self) -> SystemTime {
        use manta_tagbot::clock::Clock;
        self.clock.now()
    }

    /// A token issued `age` ago that lives `life` in all.
    fn token(&self, age: Duration, life: Duration) -> String {
        let issued = self.now() - age;
        unsigned_token(issued, issued + life)
    }

    fn config(&self, token: &str, secret: &str) -> Config {
        let env: HashMap<&str, String> = HashMap::from([
            ("ADMIN_IDS", ADMIN.to_string()),
            ("MANTA_API_URL", format!("{}/api", self.manta.url())),
            ("MANTA_TIMEOUT_SECS", "2".to_owned()),
            ("MANTA_BOT_ID", "B1".to_owned()),
            ("MANTA_TOKEN", token.to_owned()),
            ("MANTA_SECRET", secret.to_owned()),
            ("DATA_DIR", self.data.path().display().to_string()),
            ("MANTA_AUTO_REFRESH", self.auto_refresh.to_string()),
        ]);
        Config::from_lookup(Mode::Console, |name| env.get(name).cloned()).expect("valid configuration")
    }

    /// Starts the program (as the daemon does at start) with this configured pair.
    fn start(&self, token: &str, secret: &str) -> App {
        App::assemble(&self.config(token, secret), Arc::new(self.clock.clone())).expect("assembled")
    }

    async fn expect_create(
        &mut self,
        token: &str,
        secret: &str,
        status: usize,
        body: &str,
        times: usize,
    ) -> Mock {
        self.manta
            .mock("POST", "/api/openapi/clientTag")
            .match_query(Matcher::UrlEncoded("botId".into(), "B1".into()))
            .match_header("authorization", format!("Bearer {token}").as_str())
            .match_body(Matcher::PartialJson(json!({"secret": secret})))
            .with_status(status)
            .with_body(body)
            .expect(times)
            .create_async()
            .await
    }

    async fn expect_refresh(
        &mut self,
        token: &str,
        secret: &str,
        status: usize,
        body: String,
        times: usize,
    ) -> Mock {
        self.manta
            .mock("POST", "/api/openapi/token")
            .match_query(Matcher::UrlEncoded("botId".into(), "B1".into()))
            .match_header("authorization", format!("Bearer {token}").as_str())
            .match_body(Matcher::Json(json!({"secret": secret})))
            .with_status(status)
            .with_body(body)
            .expect(times)
            .create_async()
            .await
    }

    fn stored(&self) -> manta_tagbot::state::StoredPair {
        let db = StateDb::open(self.data.path()).expect("state database opens");
        db.load_pair(&BotId::parse("B1").expect("id")).expect("readable").expect("a stored pair")
    }
}

fn new_pair(token: &str, secret: &str) -> String {
    json!({"success": true, "message": "ok", "apiToken": token, "apiSecret": secret}).to_string()
}

async fn newtag(app: &App, name: &str) -> String {
    let text = format!("/newtag {name}");
    let message = Incoming {
        user: UserId(ADMIN),
        username: None,
        chat: ChatId(-42),
        private: false,
        text: &text,
        sent_at: None,
    };
    app.core.handle(message).await.expect("a reply").to_plain()
}

async fn check_all(app: &App) {
    for linked in app.core.links().bots() {
        linked.credentials.check().await;
    }
}

fn notices(app: &mut App) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(notice) = app.notices.try_recv() {
        out.push(notice.reply.to_plain());
    }
    out
}

#[tokio::test]
async fn a_rejected_token_is_refreshed_once_and_the_command_succeeds_with_the_new_pair() {
    let mut s = Setup::new().await;
    let old = s.token(Duration::ZERO, 30 * DAY);
    let new = s.token(Duration::ZERO, 30 * DAY) + "-new";
    let rejected = s.expect_create(&old, "old-secret", 401, EXPIRED, 1).await;
    let refresh = s.expect_refresh(&old, "old-secret", 200, new_pair(&new, "new-secret"), 1).await;
    let created = s.expect_create(&new, "new-secret", 200, CREATED, 1).await;
    let app = s.start(&old, "old-secret");

    let reply = newtag(&app, "VIP").await;

    assert_eq!(reply, "✅ Created the client tag “VIP” on MantaGo bot default (ID B1).");
    rejected.assert_async().await;
    refresh.assert_async().await;
    created.assert_async().await;
    let stored = s.stored();
    assert_eq!(stored.origin, Origin::Rotated);
    assert_eq!(stored.credentials.token.expose_secret(), new);
    assert_eq!(stored.credentials.secret.expose_secret(), "new-secret");
}

#[tokio::test]
async fn a_restart_with_the_old_pair_still_configured_uses_the_stored_pair_without_refreshing_again() {
    let mut s = Setup::new().await;
    let old = s.token(Duration::ZERO, 30 * DAY);
    let new = s.token(Duration::ZERO, 30 * DAY) + "-new";
    let refresh = s.expect_refresh(&old, "old-secret", 200, new_pair(&new, "new-secret"), 1).await;
    s.expect_create(&old, "old-secret", 401, EXPIRED, 1).await;
    let created = s.expect_create(&new, "new-secret", 200, CREATED, 2).await;
    let first_run = s.start(&old, "old-secret");
    newtag(&first_run, "Before restart").await;
    drop(first_run);

    let second_run = s.start(&old, "old-secret");
    check_all(&second_run).await;
    let reply = newtag(&second_run, "After restart").await;

    assert!(reply.starts_with("✅"), "{reply}");
    refresh.assert_async().await;
    created.assert_async().await;
}

#[tokio::test]
async fn a_newly_pasted_pair_wins_over_the_stored_one() {
    let mut s = Setup::new().await;
    let old = s.token(Duration::ZERO, 30 * DAY);
    let rotated = s.token(Duration::ZERO, 30 * DAY) + "-rotated";
    let pasted = s.token(Duration::ZERO, 30 * DAY) + "-pasted";
    s.expect_refresh(&old, "old-secret", 200, new_pair(&rotated, "rotated-secret"), 1).await;
    s.expect_create(&old, "old-secret", 401, EXPIRED, 1).await;
    s.expect_create(&rotated, "rotated-secret", 200, CREATED, 1).await;
    newtag(&s.start(&old, "old-secret"), "First").await;
    let with_pasted = s.expect_create(&pasted, "pasted-secret", 200, CREATED, 1).await;

    let app = s.start(&pasted, "pasted-secret");
    let reply = newtag(&app, "Second").await;

    assert!(reply.starts_with("✅"), "{reply}");
    with_pasted.assert_async().await;
    let stored = s.stored();
    assert_eq!(stored.origin, Origin::Configured);
    assert_eq!(stored.credentials.token.expose_secret(), pasted);
}

#[tokio::test]
async fn replaced_credentials_are_explained_and_the_admins_are_told_once_an_hour() {
    let mut s = Setup::new().await;
    let token = s.token(Duration::ZERO, 30 * DAY);
    let replaced =
        r#"{"success":false,"errResponse":{"message":"Get open api failed","code":120000,"botId":"B1"}}"#;
    s.expect_create(&token, "secret", 401, replaced, 3).await;
    let refresh = s.expect_refresh(&token, "secret", 200, new_pair("x", "y"), 0).await;
    let mut app = s.start(&token, "secret");

    let reply = newtag(&app, "A").await;
    newtag(&app, "B").await;
    let first_hour = notices(&mut app);
    s.clock.advance(Duration::from_secs(3601));
    newtag(&app, "C").await;
    let next_hour = notices(&mut app);

    assert!(reply.contains("were replaced by a refresh elsewhere"), "{reply}");
    assert_eq!(first_hour.len(), 1, "{first_hour:?}");
    assert!(
        first_hour[0].contains("replaced by a refresh elsewhere") && first_hour[0].contains("MANTA_TOKEN")
    );
    assert_eq!(next_hour.len(), 1, "told again after an hour");
    refresh.assert_async().await;
}

#[tokio::test]
async fn a_pair_close_to_expiry_is_refreshed_ahead_of_time() {
    let mut s = Setup::new().await;
    let ageing = s.token(24 * DAY, 30 * DAY);
    let fresh = s.token(Duration::ZERO, 30 * DAY);
    let refresh = s.expect_refresh(&ageing, "secret", 200, new_pair(&fresh, "fresh-secret"), 1).await;
    let app = s.start(&ageing, "secret");

    check_all(&app).await;
    check_all(&app).await;

    refresh.assert_async().await;
    assert_eq!(s.stored().credentials.token.expose_secret(), fresh);
}

#[tokio::test]
async fn a_pair_with_plenty_of_time_left_is_not_refreshed() {
    let mut s = Setup::new().await;
    let token = s.token(22 * DAY, 30 * DAY);
    let refresh = s.expect_refresh(&token, "secret", 200, new_pair("x", "y"), 0).await;
    let app = s.start(&token, "secret");

    check_all(&app).await;

    refresh.assert_async().await;
}

#[tokio::test]
async fn a_ten_minute_token_is_refreshed_in_its_last_quarter_and_not_in_a_loop() {
    let mut s = Setup::new().await;
    let first = s.token(Duration::ZERO, Duration::from_secs(600));
    let app = s.start(&first, "secret");
    let early = s.expect_refresh(&first, "secret", 200, new_pair("x", "y"), 0).await;
    check_all(&app).await;
    early.assert_async().await;

    s.clock.advance(Duration::from_secs(460));
    let second = s.token(Duration::ZERO, Duration::from_secs(600));
    let due = s.expect_refresh(&first, "secret", 200, new_pair(&second, "secret-2"), 1).await;
    let not_again = s.expect_refresh(&second, "secret-2", 200, new_pair("x", "y"), 0).await;
    for _ in 0..5 {
        check_all(&app).await;
    }

    due.assert_async().await;
    not_again.assert_async().await;
}

#[tokio::test]
async fn a_pair_issued_already_due_is_not_refreshed_again_and_again() {
    let mut s = Setup::new().await;
    let ageing = s.token(29 * DAY, 30 * DAY);
    let stale = s.token(29 * DAY, 30 * DAY) + "-stale";
    let refresh = s.expect_refresh(&ageing, "secret", 200, new_pair(&stale, "stale-secret"), 1).await;
    let again = s.expect_refresh(&stale, "stale-secret", 200, new_pair("x", "y"), 0).await;
    let app = s.start(&ageing, "secret");

    for _ in 0..3 {
        check_all(&app).await;
    }

    refresh.assert_async().await;
    again.assert_async().await;
}

#[tokio::test]
async fn two_concurrent_commands_cause_one_refresh() {
    let mut s = Setup::new().await;
    let old = s.token(Duration::ZERO, 30 * DAY);
    let new = s.token(Duration::ZERO, 30 * DAY) + "-new";
    s.expect_create(&old, "old-secret", 401, EXPIRED, 2).await;
    let refresh = s.expect_refresh(&old, "old-secret", 200, new_pair(&new, "new-secret"), 1).await;
    let created = s.expect_create(&new, "new-secret", 200, CREATED, 2).await;
    let app = s.start(&old, "old-secret");

    let (a, b) = tokio::join!(newtag(&app, "A"), newtag(&app, "B"));

    assert!(a.starts_with("✅") && b.starts_with("✅"), "{a}\n{b}");
    refresh.assert_async().await;
    created.assert_async().await;
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_old_pair_and_tells_the_admins() {
    let mut s = Setup::new().await;
    let old = s.token(Duration::ZERO, 30 * DAY);
    s.expect_create(&old, "old-secret", 401, EXPIRED, 1).await;
    let refresh = s.expect_refresh(&old, "old-secret", 500, "oops".to_owned(), 1).await;
    let mut app = s.start(&old, "old-secret");

    let reply = newtag(&app, "VIP").await;

    assert!(reply.contains("API token of bot default is invalid or expired"), "{reply}");
    refresh.assert_async().await;
    let told = notices(&mut app);
    assert_eq!(told.len(), 1, "one notice within the hour: {told:?}");
    assert!(
        told[0].starts_with(
            "🔑 Refreshing the MantaGo credentials of bot default (ID B1) failed: MantaGo answered HTTP 500"
        ),
        "{}",
        told[0]
    );
    let stored = s.stored();
    assert_eq!(stored.credentials.token.expose_secret(), old);
    assert_eq!(stored.origin, Origin::Configured);
    assert!(stored.last_refresh_error.is_some_and(|e| e.contains("500")));
}

#[tokio::test]
async fn a_pair_that_cannot_be_saved_is_kept_in_memory_and_the_admins_are_told() {
    let mut s = Setup::new().await;
    let old = s.token(Duration::ZERO, 30 * DAY);
    let new = s.token(Duration::ZERO, 30 * DAY) + "-new";
    s.expect_create(&old, "old-secret", 401, EXPIRED, 1).await;
    s.expect_refresh(&old, "old-secret", 200, new_pair(&new, "new-secret"), 1).await;
    let created = s.expect_create(&new, "new-secret", 200, CREATED, 2).await;
    let mut app = s.start(&old, "old-secret");
    // Another process removes the row under the daemon's feet: the write of the new pair fails.
    let other = rusqlite::Connection::open(s.data.path().join("manta-tagbot.db")).expect("open");
    other.execute("DELETE FROM bot_credentials", []).expect("delete");

    let first = newtag(&app, "A").await;
    let second = newtag(&app, "B").await;

    assert!(first.starts_with("✅") && second.starts_with("✅"), "the new pair is used from memory");
    created.assert_async().await;
    let told = notices(&mut app);
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("could not be saved"), "{}", told[0]);
}

#[tokio::test]
async fn with_auto_refresh_off_admins_are_warned_three_days_before_expiry() {
    let mut s = Setup::new().await;
    s.auto_refresh = false;
    let token = s.token(27 * DAY + Duration::from_secs(3600), 30 * DAY);
    let refresh = s.expect_refresh(&token, "secret", 200, new_pair("x", "y"), 0).await;
    let mut app = s.start(&token, "secret");

    check_all(&app).await;
    check_all(&app).await;
    let told = notices(&mut app);

    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains("expires on")
            && told[0].contains("(in 2 days 23 h)")
            && told[0].contains("MANTA_AUTO_REFRESH=false"),
        "{}",
        told[0]
    );
    refresh.assert_async().await;
}

#[tokio::test]
async fn the_state_folder_and_database_are_private() {
    let s = Setup::new().await;
    let data = s.data.path().join("state");
    let mut config = s.config(&s.token(Duration::ZERO, 30 * DAY), "secret");
    config.data_dir = data.clone();

    App::assemble(&config, Arc::new(s.clock.clone())).expect("assembled");

    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("manta-tagbot.db")), 0o600);
}

#[tokio::test]
async fn a_process_whose_pair_was_rotated_by_another_adopts_the_stored_pair() {
    let mut s = Setup::new().await;
    let old = s.token(Duration::ZERO, 30 * DAY);
    let new = s.token(Duration::ZERO, 30 * DAY) + "-new";
    let daemon = s.start(&old, "old-secret");
    let console = s.start(&old, "old-secret");
    s.expect_create(&old, "old-secret", 401, EXPIRED, 1).await;
    let refresh = s.expect_refresh(&old, "old-secret", 200, new_pair(&new, "new-secret"), 1).await;
    let created = s.expect_create(&new, "new-secret", 200, CREATED, 2).await;
    newtag(&console, "From the console").await;
    let replaced =
        r#"{"success":false,"errResponse":{"message":"Get open api failed","code":120000,"botId":"B1"}}"#;
    s.expect_create(&old, "old-secret", 401, replaced, 1).await;

    let reply = newtag(&daemon, "From the daemon").await;

    assert!(reply.starts_with("✅"), "{reply}");
    refresh.assert_async().await;
    created.assert_async().await;
}
