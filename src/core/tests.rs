//! The core without any transport: a real state database in a temporary folder, a MantaGo
//! address nobody listens on (these tests never reach it), and a clock the tests set.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::app::App;
use crate::clock::ManualClock;
use crate::config::{Config, Mode};

const ADMIN: UserId = UserId(111);
const STRANGER: UserId = UserId(666);
const GROUP: ChatId = ChatId(-42);

fn app(clock: ManualClock, data: &std::path::Path) -> App {
    let env: HashMap<&str, String> = HashMap::from([
        ("ADMIN_IDS", "111".to_owned()),
        ("MANTA_API_URL", "http://127.0.0.1:9/api".to_owned()),
        ("MANTA_BOT_ID", "B1".to_owned()),
        ("MANTA_TOKEN", "token".to_owned()),
        ("MANTA_SECRET", "secret".to_owned()),
        ("MANTA_CHATS", "-42".to_owned()),
        ("DATA_DIR", data.display().to_string()),
    ]);
    let config = Config::from_lookup(Mode::Console, |name| env.get(name).cloned()).expect("config");
    App::assemble(&config, Arc::new(clock)).expect("assembled")
}

fn message(user: UserId, chat: ChatId, text: &str, sent_at: Option<SystemTime>) -> Incoming<'_> {
    Incoming { user, username: None, chat, private: chat.0 == user.0, text, sent_at }
}

#[tokio::test]
async fn a_command_older_than_the_limit_is_skipped_with_when_it_was_sent() {
    let data = tempfile::tempdir().expect("dir");
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let core = app(ManualClock::new(now), data.path()).core.with_max_command_age(Duration::from_secs(300));

    let stale = core.handle(message(ADMIN, GROUP, "/newtag VIP", Some(now - Duration::from_secs(301)))).await;
    let fresh = core.handle(message(ADMIN, GROUP, "/whoami", Some(now - Duration::from_secs(299)))).await;

    let stale = stale.expect("a reply").to_plain();
    assert!(
        stale.starts_with(
            "⏭️ Skipped /newtag: it was sent at 2027-01-15 07:54 UTC and reached me more than 5 min later"
        ),
        "{stale}"
    );
    assert!(stale.ends_with("Send it again if you still want it."), "{stale}");
    assert!(fresh.expect("a reply").to_plain().starts_with("Your user ID: 111"));
}

#[tokio::test]
async fn a_strangers_unknown_group_command_gets_no_answer_but_a_private_one_does() {
    let data = tempfile::tempdir().expect("dir");
    let core = app(ManualClock::new(UNIX_EPOCH), data.path()).core;

    let in_group = core.handle(message(STRANGER, GROUP, "/ban everyone", None)).await;
    let in_private = core.handle(message(STRANGER, STRANGER.private_chat(), "/ban everyone", None)).await;

    assert!(in_group.is_none());
    assert!(in_private.is_some_and(|r| r.to_plain().contains("I don't know the command /ban")));
}

#[tokio::test]
async fn text_that_is_not_a_command_is_ignored() {
    let data = tempfile::tempdir().expect("dir");
    let core = app(ManualClock::new(UNIX_EPOCH), data.path()).core;

    assert!(core.handle(message(ADMIN, GROUP, "hello there", None)).await.is_none());
}

#[tokio::test]
async fn a_panic_inside_a_command_is_contained_and_reported() {
    let contained = contain_panic(async { panic!("boom at {}", 42) }).await;
    let fine = contain_panic(async { 7 }).await;

    assert_eq!(contained, Err("boom at 42".to_owned()));
    assert_eq!(fine, Ok(7));
}

#[test]
fn references_are_six_unambiguous_characters() {
    for _ in 0..100 {
        let reference = new_reference();
        assert_eq!(reference.len(), 6);
        assert!(reference.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{reference}");
        assert!(!reference.contains(['0', 'O', '1', 'I']), "{reference}");
    }
}
