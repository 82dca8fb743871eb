use super::*;

fn pair(token: &str, secret: &str) -> Credentials {
    Credentials { token: SecretString::from(token), secret: SecretString::from(secret) }
}

fn bot() -> BotId {
    BotId::parse("B1").expect("id")
}

#[test]
fn opening_twice_runs_each_migration_once() {
    let dir = tempfile::tempdir().expect("dir");
    drop(StateDb::open(dir.path()).expect("first open"));

    let db = StateDb::open(dir.path()).expect("second open");

    let version: usize = db.lock().query_row("PRAGMA user_version", [], |r| r.get(0)).expect("version");
    assert_eq!(version, MIGRATIONS.len());
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let db = StateDb::open(dir.path()).expect("open");
    db.lock().pragma_update(None, "user_version", 99).expect("bump");
    drop(db);

    let error = StateDb::open(dir.path()).expect_err("too new");

    assert!(matches!(error, StateError::TooNew { found: 99, .. }), "{error}");
}

#[test]
fn a_rotated_pair_replaces_the_stored_one_and_keeps_its_lineage() {
    let dir = tempfile::tempdir().expect("dir");
    let db = StateDb::open(dir.path()).expect("open");
    let label = BotLabel::single();
    db.save_configured(&bot(), &label, &pair("t1", "s1"), "fp", UNIX_EPOCH).expect("save");

    db.save_rotated(&bot(), &pair("t2", "s2"), UNIX_EPOCH + Duration::from_secs(60)).expect("rotate");

    let stored = db.load_pair(&bot()).expect("load").expect("row");
    assert_eq!(stored.credentials.token.expose_secret(), "t2");
    assert_eq!(stored.credentials.secret.expose_secret(), "s2");
    assert_eq!(stored.configured_fingerprint, "fp");
    assert_eq!(stored.origin, Origin::Rotated);
    assert_eq!(stored.last_refresh_at, Some(UNIX_EPOCH + Duration::from_secs(60)));
}

#[test]
fn rotating_a_bot_that_has_no_row_is_an_error_not_a_silent_no_op() {
    let dir = tempfile::tempdir().expect("dir");
    let db = StateDb::open(dir.path()).expect("open");

    assert!(db.save_rotated(&bot(), &pair("t", "s"), UNIX_EPOCH).is_err());
}

#[test]
fn chat_migrations_are_remembered_in_order() {
    let dir = tempfile::tempdir().expect("dir");
    let db = StateDb::open(dir.path()).expect("open");

    db.save_chat_migration(ChatId(-1), ChatId(-1001), UNIX_EPOCH).expect("save");
    db.save_chat_migration(ChatId(-2), ChatId(-1002), UNIX_EPOCH + Duration::from_secs(1)).expect("save");

    assert_eq!(
        db.chat_migrations().expect("load"),
        vec![(ChatId(-1), ChatId(-1001)), (ChatId(-2), ChatId(-1002))]
    );
}
