use super::*;

use crate::ids::{BotId, BotLabel};

const TOKEN: &str = "tok-SECRET-1";
const SECRET: &str = "sec-SECRET-2";
const REFERENCE: &str = "ABC123";
const TAG: &str = "VIP customers";
const MARKUP_NAME: &str = "<b>R&D</b> _x_ *y*";

fn shop_bot() -> MantaBot {
    MantaBot {
        label: BotLabel::parse("shop").expect("valid label"),
        id: BotId::parse("B1").expect("valid bot ID"),
        env_prefix: "MANTA_SHOP_".to_owned(),
    }
}

fn api(status: u16, code: i64, message: &str) -> MantaError {
    MantaError::Api { status, code, message: message.to_owned() }
}

/// One error of each family of PRODUCT.md §3, with MantaGo's `message` where it sends one.
fn families(message: &str) -> Vec<(&'static str, MantaError)> {
    vec![
        ("401/1004", api(401, 1004, message)),
        ("401/120000", api(401, 120000, message)),
        ("403/1002", api(403, 1002, message)),
        ("404/5001", api(404, 5001, message)),
        ("429", MantaError::RateLimited { retry_after: Some(Duration::from_secs(30)) }),
        ("500", api(500, 9999, message)),
        ("502 unexpected body", MantaError::UnexpectedBody { status: 502 }),
        ("200 unexpected body", MantaError::UnexpectedBody { status: 200 }),
        ("timeout", MantaError::Timeout(Duration::from_secs(10))),
        ("unreachable", MantaError::Unreachable("tcp connect error: Connection refused".to_owned())),
    ]
}

fn failure(error: &MantaError) -> Reply {
    manta_failure(TAG, &shop_bot(), error, REFERENCE)
}

fn failure_text(error: &MantaError) -> String {
    failure(error).to_plain()
}

#[track_caller]
fn assert_mentions(text: &str, expected: &[&str]) {
    for needle in expected {
        assert!(text.contains(needle), "{text:?} does not mention {needle:?}");
    }
}

/// Asserts `html` uses only the markup Telegram's HTML mode allows here, and escapes the rest.
#[track_caller]
fn assert_valid_telegram_html(html: &str) {
    let mut rest = html.to_owned();
    for tag in ["<b>", "</b>", "<code>", "</code>"] {
        rest = rest.replace(tag, "");
    }
    assert!(!rest.contains('<') && !rest.contains('>'), "stray markup in {html:?}");
    for (at, _) in rest.match_indices('&') {
        let entity = &rest[at..];
        assert!(
            entity.starts_with("&amp;") || entity.starts_with("&lt;") || entity.starts_with("&gt;"),
            "unescaped & in {html:?}"
        );
    }
}

/// The texts between “ and ” in a plain rendering, in order.
fn quoted_parts(plain: &str) -> Vec<String> {
    plain.split('“').skip(1).map(|after| after.split_once('”').expect("closing quote").0.to_owned()).collect()
}

/// MantaGo's message as shown after "MantaGo said:", if it is shown.
fn detail(plain: &str) -> Option<String> {
    let after = plain.split_once("MantaGo said: “")?.1;
    Some(after.rsplit_once("”").expect("closing quote").0.to_owned())
}

fn unescape_html(html: &str) -> String {
    html.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn standing(is_admin: bool, bot: Option<&MantaBot>) -> Standing<'_> {
    Standing { user: UserId(424242), is_admin, chat: ChatId(-1001234567890), bot }
}

// ---------------------------------------------------------------------------------------------
// MantaGo failures, family by family

#[test]
fn expired_token_tells_the_operator_to_paste_a_fresh_pair() {
    // Arrange
    let error = api(401, 1004, "Token is invalid or expired");

    // Act
    let text = failure_text(&error);

    // Assert
    assert_mentions(
        &text,
        &[
            "not created",
            "invalid or expired",
            "shop",
            "MANTA_SHOP_TOKEN",
            "MANTA_SHOP_SECRET",
            DASHBOARD_PATH,
        ],
    );
    assert!(!text.contains("replaced"), "{text}");
}

#[test]
fn an_unreadable_401_is_treated_as_an_invalid_token() {
    // Arrange
    let error = MantaError::UnexpectedBody { status: 401 };

    // Act
    let text = failure_text(&error);

    // Assert
    assert_mentions(&text, &["invalid or expired", "MANTA_SHOP_TOKEN", "MANTA_SHOP_SECRET"]);
}

#[test]
fn replaced_credentials_tell_the_operator_to_paste_the_new_pair() {
    // Arrange
    let error = api(401, 120000, "Token has been refreshed");

    // Act
    let text = failure_text(&error);

    // Assert
    assert_mentions(&text, &["not created", "replaced", "shop", "MANTA_SHOP_TOKEN", "MANTA_SHOP_SECRET"]);
    assert!(!text.contains("invalid or expired"), "{text}");
}

#[test]
fn permission_denied_points_at_the_secret_and_the_plan() {
    // Arrange
    let error = api(403, 1002, "Permission denied");

    // Act
    let text = failure_text(&error);

    // Assert
    assert_mentions(&text, &["not created", "refused", "permission denied", "MANTA_SHOP_SECRET", "plan"]);
}

#[test]
fn any_403_is_explained_as_a_refusal() {
    for error in [api(403, 4242, ""), MantaError::UnexpectedBody { status: 403 }] {
        // Act
        let text = failure_text(&error);

        // Assert
        assert_mentions(&text, &["refused", "permission denied", "MANTA_SHOP_SECRET"]);
    }
}

#[test]
fn unknown_bot_points_at_the_bot_id_variable() {
    // Arrange
    let error = api(404, 5001, "Bot not found");

    // Act
    let text = failure_text(&error);

    // Assert
    assert_mentions(&text, &["not created", "does not know bot ID", "B1", "MANTA_SHOP_BOT_ID", "Open API"]);
}

#[test]
fn any_404_is_explained_as_an_unknown_bot() {
    for error in [api(404, 77, ""), MantaError::UnexpectedBody { status: 404 }] {
        // Act
        let text = failure_text(&error);

        // Assert
        assert_mentions(&text, &["does not know bot ID", "B1", "MANTA_SHOP_BOT_ID"]);
    }
}

#[test]
fn rate_limiting_asks_to_try_again_in_a_minute() {
    for retry_after in [Some(Duration::from_secs(30)), None] {
        // Arrange
        let error = MantaError::RateLimited { retry_after };

        // Act
        let text = failure_text(&error);

        // Assert
        assert_mentions(&text, &["not created", "rate-limiting", "try again in a minute"]);
    }
}

#[test]
fn a_server_error_shows_the_status_and_says_the_tag_was_probably_not_created() {
    // Arrange
    let error = api(500, 9999, "Internal server error");

    // Act
    let text = failure_text(&error);

    // Assert
    assert_mentions(&text, &["MantaGo had a problem", "HTTP 500", "probably not created"]);
}

#[test]
fn a_bad_gateway_page_shows_the_status_and_says_the_tag_was_probably_not_created() {
    // Arrange
    let error = MantaError::UnexpectedBody { status: 502 };

    // Act
    let text = failure_text(&error);

    // Assert
    assert_mentions(&text, &["MantaGo had a problem", "HTTP 502", "probably not created"]);
    assert!(!text.contains("502 Bad Gateway"), "{text}");
}

#[test]
fn an_unexpected_success_body_says_to_check_the_dashboard_before_retrying() {
    // Arrange
    let error = MantaError::UnexpectedBody { status: 200 };

    // Act
    let text = failure_text(&error);

    // Assert
    assert_mentions(&text, &["HTTP 200", "may or may not exist", "dashboard", TAG]);
    assert!(!text.contains("not created"), "a 200 must not claim the tag was not created: {text}");
}

#[test]
fn an_unexpected_body_with_another_status_shows_that_status() {
    // Arrange
    let error = MantaError::UnexpectedBody { status: 418 };

    // Act
    let text = failure_text(&error);

    // Assert
    assert_mentions(&text, &["HTTP 418", "probably not created"]);
}

#[test]
fn another_documented_error_shows_its_status_and_code() {
    // Arrange
    let error = api(400, 1001, "Invalid parameter");

    // Act
    let text = failure_text(&error);

    // Assert
    assert_mentions(&text, &["not created", "HTTP 400", "code 1001", "Invalid parameter"]);
}

#[test]
fn a_timeout_warns_that_the_tag_may_or_may_not_exist() {
    // Arrange
    let error = MantaError::Timeout(Duration::from_secs(10));

    // Act
    let text = failure_text(&error);

    // Assert
    assert_mentions(&text, &["did not answer within 10 s", "may or may not exist", "check", TAG]);
    assert!(!text.contains("not created"), "a timeout must not claim the tag was not created: {text}");
}

#[test]
fn a_timeout_names_the_configured_limit() {
    // Arrange
    let error = MantaError::Timeout(Duration::from_secs(30));

    // Act
    let text = failure_text(&error);

    // Assert
    assert_mentions(&text, &["30 s"]);
}

#[test]
fn an_unreachable_mantago_says_so_and_hides_the_transport_error() {
    // Arrange
    let error = MantaError::Unreachable(
        "error sending request for url (https://mantago.cc/api/openapi/clientTag?botId=B1)".to_owned(),
    );

    // Act
    let text = failure_text(&error);

    // Assert
    assert_mentions(&text, &["could not be reached", "Nothing was created", "MANTA_API_URL"]);
    assert!(!text.contains("error sending request"), "{text}");
    assert!(!text.contains("https://"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// What every failure has in common

#[test]
fn every_failure_family_reads_differently() {
    // Arrange
    let errors = families("");

    // Act
    let texts: Vec<(&str, String)> = errors.iter().map(|(family, e)| (*family, failure_text(e))).collect();

    // Assert
    for (i, (family_a, a)) in texts.iter().enumerate() {
        for (family_b, b) in &texts[i + 1..] {
            assert_ne!(a, b, "{family_a} and {family_b} read the same");
        }
    }
}

#[test]
fn every_failure_ends_with_the_reference_code() {
    for (family, error) in families("Something went wrong") {
        // Act
        let reply = failure(&error);

        // Assert
        let text = reply.to_plain();
        assert!(text.contains("Ref: ABC123"), "{family}: {text}");
        assert!(text.trim_end().ends_with("ABC123"), "{family}: {text}");
        assert!(reply.to_html().contains("Ref: <code>ABC123</code>"), "{family}: {}", reply.to_html());
    }
}

#[test]
fn no_failure_reveals_the_token_or_the_secret() {
    for (family, error) in families("Token is invalid") {
        // Act
        let reply = failure(&error);

        // Assert
        for shown in [reply.to_plain(), reply.to_html()] {
            for secret in [TOKEN, SECRET, "SECRET-1", "SECRET-2"] {
                assert!(!shown.contains(secret), "{family} reveals {secret:?}: {shown}");
            }
        }
    }
}

#[test]
fn no_failure_contains_raw_json() {
    for (family, error) in families("Permission denied") {
        // Act
        let reply = failure(&error);

        // Assert
        for shown in [reply.to_plain(), reply.to_html()] {
            assert!(!shown.contains('{') && !shown.contains('}'), "{family} shows braces: {shown}");
            assert!(!shown.contains("errResponse"), "{family} shows the envelope: {shown}");
        }
    }
}

#[test]
fn every_failure_is_valid_telegram_html() {
    for (family, error) in families("<b>bad</b> & worse") {
        // Arrange
        let reply = manta_failure(MARKUP_NAME, &shop_bot(), &error, REFERENCE);

        // Act
        let html = reply.to_html();

        // Assert
        assert_valid_telegram_html(&html);
        assert!(html.contains("&lt;b&gt;R&amp;D&lt;/b&gt; _x_ *y*"), "{family}: {html}");
    }
}

#[test]
fn every_failure_names_the_tag_exactly_as_typed() {
    for (family, error) in families("") {
        // Act
        let text = manta_failure(MARKUP_NAME, &shop_bot(), &error, REFERENCE).to_plain();

        // Assert
        assert_eq!(quoted_parts(&text).first().map(String::as_str), Some(MARKUP_NAME), "{family}: {text}");
    }
}

// ---------------------------------------------------------------------------------------------
// MantaGo's own message as a detail

#[test]
fn mantago_message_is_shown_as_a_detail() {
    // Arrange
    let error = api(403, 1002, "  Permission denied  ");

    // Act
    let text = failure_text(&error);

    // Assert
    assert_eq!(detail(&text).as_deref(), Some("Permission denied"));
}

#[test]
fn a_blank_mantago_message_adds_no_detail() {
    // Arrange
    let error = api(403, 1002, "   ");

    // Act
    let text = failure_text(&error);

    // Assert
    assert!(!text.contains("MantaGo said"), "{text}");
}

#[test]
fn failures_without_a_mantago_message_add_no_detail() {
    for (family, error) in families("Something") {
        if matches!(error, MantaError::Api { .. }) {
            continue;
        }

        // Act
        let text = failure_text(&error);

        // Assert
        assert!(!text.contains("MantaGo said"), "{family}: {text}");
    }
}

#[test]
fn mantago_message_is_escaped_in_html() {
    // Arrange
    let error = api(403, 1002, "<script>&");

    // Act
    let reply = failure(&error);

    // Assert
    let html = reply.to_html();
    assert!(html.contains("&lt;script&gt;&amp;"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    assert_valid_telegram_html(&html);
    assert_eq!(detail(&reply.to_plain()).as_deref(), Some("<script>&"));
}

#[test]
fn a_long_mantago_message_is_cut_to_two_hundred_characters() {
    // Arrange
    let error = api(500, 9999, &"x".repeat(500));

    // Act
    let text = failure_text(&error);

    // Assert
    let shown = detail(&text).expect("detail shown");
    assert!(shown.chars().count() <= 200, "{} characters shown", shown.chars().count());
    assert!(shown.ends_with('…'), "{shown}");
    assert!(shown.starts_with("xxxx"), "{shown}");
}

#[test]
fn a_long_multibyte_mantago_message_is_cut_on_a_character_boundary() {
    // Arrange
    let error = api(500, 9999, &"🦀é".repeat(300));

    // Act
    let text = failure_text(&error);

    // Assert
    let shown = detail(&text).expect("detail shown");
    assert_eq!(shown.chars().count(), 200);
    assert!(shown.ends_with('…'), "{shown}");
}

#[test]
fn a_mantago_message_of_exactly_two_hundred_characters_is_shown_whole() {
    // Arrange
    let message = "y".repeat(200);
    let error = api(403, 1002, &message);

    // Act
    let text = failure_text(&error);

    // Assert
    assert_eq!(detail(&text), Some(message));
}

#[test]
fn a_long_message_is_cut_before_escaping_so_no_entity_is_split() {
    // Arrange
    let error = api(403, 1002, &"&".repeat(500));

    // Act
    let html = failure(&error).to_html();

    // Assert
    assert_valid_telegram_html(&html);
    let shown = html.split_once("MantaGo said: “").expect("detail shown").1;
    let shown = unescape_html(shown.rsplit_once('”').expect("closing quote").0);
    assert_eq!(shown, format!("{}…", "&".repeat(199)));
}

// ---------------------------------------------------------------------------------------------
// Success

#[test]
fn tag_created_names_the_tag_and_the_bot() {
    // Arrange
    let bot = shop_bot();

    // Act
    let text = tag_created(TAG, &bot).to_plain();

    // Assert
    assert_mentions(&text, &["Created", TAG, "shop", "B1"]);
    assert_eq!(quoted_parts(&text), vec![TAG.to_owned()]);
}

#[test]
fn a_tag_name_with_markup_comes_back_exactly_as_typed() {
    // Arrange
    let bot = shop_bot();

    // Act
    let reply = tag_created(MARKUP_NAME, &bot);

    // Assert
    let plain = reply.to_plain();
    assert_eq!(quoted_parts(&plain), vec![MARKUP_NAME.to_owned()], "{plain}");
    let html = reply.to_html();
    assert!(html.contains("“&lt;b&gt;R&amp;D&lt;/b&gt; _x_ *y*”"), "{html}");
    assert!(!html.contains("<b>R&D"), "{html}");
    assert_valid_telegram_html(&html);
    let quoted_html = html.split_once('“').unwrap().1.split_once('”').unwrap().0;
    assert_eq!(unescape_html(quoted_html), MARKUP_NAME);
}

#[test]
fn tag_created_does_not_reveal_the_credentials() {
    // Act
    let reply = tag_created(TAG, &shop_bot());

    // Assert
    for shown in [reply.to_plain(), reply.to_html()] {
        assert!(!shown.contains(TOKEN) && !shown.contains(SECRET), "{shown}");
    }
}

// ---------------------------------------------------------------------------------------------
// Help and whoami

#[test]
fn help_shows_an_admin_in_a_linked_chat_how_to_create_a_tag() {
    // Arrange
    let bot = shop_bot();

    // Act
    let text = help(standing(true, Some(&bot))).to_plain();

    // Assert
    assert_mentions(&text, &["/whoami", "/help", "/newtag <name>", "shop", "/newtag VIP customers"]);
}

#[test]
fn help_tells_an_admin_in_an_unlinked_chat_how_to_link_it() {
    // Act
    let text = help(standing(true, None)).to_plain();

    // Assert
    assert_mentions(&text, &["/whoami", "/help", "not linked", "-1001234567890", "MANTA_CHATS"]);
    assert!(!text.contains("/newtag <name>"), "{text}");
}

#[test]
fn help_tells_a_non_admin_their_user_id() {
    // Arrange
    let bot = shop_bot();

    // Act
    let text = help(standing(false, Some(&bot))).to_plain();

    // Assert
    assert_mentions(&text, &["/whoami", "/help", "for admins", "424242", "ADMIN_IDS"]);
    assert!(!text.contains("/newtag <name>"), "{text}");
}

#[test]
fn help_is_valid_telegram_html_for_everyone() {
    // Arrange
    let bot = shop_bot();

    for who in [standing(true, Some(&bot)), standing(true, None), standing(false, None)] {
        // Act
        let html = help(who).to_html();

        // Assert
        assert_valid_telegram_html(&html);
        assert!(html.contains("<code>/whoami</code>"), "{html}");
    }
}

#[test]
fn help_marks_the_newtag_usage_as_code_in_html() {
    // Arrange
    let bot = shop_bot();

    // Act
    let html = help(standing(true, Some(&bot))).to_html();

    // Assert
    assert!(html.contains("<code>/newtag &lt;name&gt;</code>"), "{html}");
    assert!(html.contains("<b>shop</b>"), "{html}");
}

#[test]
fn whoami_shows_everything_the_operator_needs_for_a_linked_chat() {
    // Arrange
    let bot = shop_bot();

    // Act
    let text = whoami(standing(true, Some(&bot)), false).to_plain();

    // Assert
    assert_mentions(&text, &["424242", "(admin)", "This chat: -1001234567890", "shop", "B1"]);
}

#[test]
fn whoami_in_an_unlinked_private_chat_says_how_to_link_it() {
    // Arrange
    let who = Standing { user: UserId(424242), is_admin: false, chat: ChatId(424242), bot: None };

    // Act
    let text = whoami(who, true).to_plain();

    // Assert
    assert_mentions(&text, &["(not an admin)", "This private chat: 424242", "none", "MANTA_CHATS"]);
}

// ---------------------------------------------------------------------------------------------
// Refusals

#[test]
fn not_an_admin_includes_the_user_id_to_ask_for() {
    // Act
    let reply = not_an_admin(UserId(424242));

    // Assert
    assert_mentions(&reply.to_plain(), &["only admins", "424242", "ADMIN_IDS"]);
    assert!(reply.to_html().contains("<code>424242</code>"), "{}", reply.to_html());
}

#[test]
fn chat_not_linked_includes_the_chat_id_to_link() {
    // Act
    let reply = chat_not_linked(ChatId(-1001234567890));

    // Assert
    assert_mentions(&reply.to_plain(), &["not linked", "-1001234567890", "MANTA_CHATS"]);
    assert!(reply.to_html().contains("<code>-1001234567890</code>"), "{}", reply.to_html());
}

#[test]
fn each_bad_tag_name_gets_its_reason_and_the_usage() {
    // Arrange
    let cases = [
        (TagNameError::Missing, vec!["give the tag a name"]),
        (TagNameError::MultiLine, vec!["one line"]),
        (TagNameError::TooLong(150), vec!["150 characters", "limit is 100"]),
        (TagNameError::ControlCharacter, vec!["control character"]),
    ];

    let mut texts = Vec::new();
    for (problem, reasons) in cases {
        // Act
        let reply = bad_tag_name(problem);

        // Assert
        let text = reply.to_plain();
        assert_mentions(&text, &reasons);
        assert_mentions(&text, &["Usage: /newtag <name>", "1 to 100 characters", "/newtag VIP customers"]);
        assert_valid_telegram_html(&reply.to_html());
        texts.push(text);
    }
    for (i, a) in texts.iter().enumerate() {
        for b in &texts[i + 1..] {
            assert_ne!(a, b);
        }
    }
}

#[test]
fn an_unknown_command_points_to_help() {
    // Act
    let reply = unknown_command("frobnicate");

    // Assert
    assert_mentions(&reply.to_plain(), &["/frobnicate", "/help"]);
}

#[test]
fn an_unknown_command_is_escaped_in_html() {
    // Act
    let html = unknown_command("<b>x&y").to_html();

    // Assert
    assert!(html.contains("/&lt;b&gt;x&amp;y"), "{html}");
    assert_valid_telegram_html(&html);
}

#[test]
fn an_internal_error_gives_the_reference() {
    // Act
    let reply = internal_error(REFERENCE);

    // Assert
    assert_mentions(&reply.to_plain(), &["internal error", "ABC123"]);
    assert!(reply.to_html().contains("<code>ABC123</code>"), "{}", reply.to_html());
}

#[test]
fn the_command_menu_satisfies_telegram_rules() {
    // Arrange
    let names: Vec<&str> = COMMAND_MENU.iter().map(|(name, _)| *name).collect();

    // Assert
    assert_eq!(names, ["newtag", "whoami", "help"]);
    for (name, description) in COMMAND_MENU {
        assert!(
            (1..=32).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{name:?} is not a valid Telegram command"
        );
        assert!((3..=256).contains(&description.chars().count()), "{description:?}");
    }
}
