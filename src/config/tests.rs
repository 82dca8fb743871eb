use super::*;

use secrecy::ExposeSecret;

const TELEGRAM_TOKEN: &str = "987654321:TelegramKey-SECRET_0";
const TOKEN: &str = "tok-SECRET-1";
const SECRET: &str = "sec-SECRET-2";
const SHOP_TOKEN: &str = "shop-tok-SECRET-3";
const SHOP_SECRET: &str = "shop-sec-SECRET-4";
const SUPPORT_TOKEN: &str = "support-tok-SECRET-5";
const SUPPORT_SECRET: &str = "support-sec-SECRET-6";

/// Every secret value used in these tests; none may ever be printed.
const ALL_SECRETS: &[&str] =
    &[TELEGRAM_TOKEN, TOKEN, SECRET, SHOP_TOKEN, SHOP_SECRET, SUPPORT_TOKEN, SUPPORT_SECRET];

/// An environment under construction, read through the same lookup the binary uses.
#[derive(Clone)]
struct Env(HashMap<String, String>);

impl Env {
    fn set(mut self, name: &str, value: &str) -> Self {
        self.0.insert(name.to_owned(), value.to_owned());
        self
    }

    fn unset(mut self, name: &str) -> Self {
        self.0.remove(name);
        self
    }

    fn parse(&self, mode: Mode) -> Result<Config, ConfigError> {
        Config::from_lookup(mode, |name| self.0.get(name).cloned())
    }

    fn daemon(&self) -> Result<Config, ConfigError> {
        self.parse(Mode::Daemon)
    }

    fn config(&self) -> Config {
        self.daemon().unwrap_or_else(|e| panic!("expected a valid configuration, got: {e}"))
    }

    fn error(&self) -> ConfigError {
        self.daemon().expect_err("expected a configuration mistake")
    }
}

/// The smallest valid single-bot configuration.
fn single_bot() -> Env {
    Env(HashMap::new())
        .set("TELOXIDE_TOKEN", TELEGRAM_TOKEN)
        .set("ADMIN_IDS", "111")
        .set("MANTA_BOT_ID", "B1")
        .set("MANTA_TOKEN", TOKEN)
        .set("MANTA_SECRET", SECRET)
}

/// A valid two-bot configuration: `shop` takes two chats, `support` every other chat.
fn two_bots() -> Env {
    Env(HashMap::new())
        .set("TELOXIDE_TOKEN", TELEGRAM_TOKEN)
        .set("ADMIN_IDS", "111,222")
        .set("MANTA_BOTS", "shop,support")
        .set("MANTA_SHOP_BOT_ID", "S1")
        .set("MANTA_SHOP_TOKEN", SHOP_TOKEN)
        .set("MANTA_SHOP_SECRET", SHOP_SECRET)
        .set("MANTA_SHOP_CHATS", "-1001234567890, 42")
        .set("MANTA_SUPPORT_BOT_ID", "S2")
        .set("MANTA_SUPPORT_TOKEN", SUPPORT_TOKEN)
        .set("MANTA_SUPPORT_SECRET", SUPPORT_SECRET)
}

/// Asserts the error is about `variable` and reads as PRODUCT.md §1 demands.
#[track_caller]
fn assert_names_variable(error: &ConfigError, variable: &str) {
    let line = error.to_string();
    assert_eq!(error.variable, variable, "wrong variable in: {line}");
    assert!(line.contains(variable), "{line:?} does not name {variable}");
    assert!(line.contains("example:"), "{line:?} shows no example");
    assert!(!line.contains('\n'), "{line:?} is not one line");
    for secret in ALL_SECRETS {
        assert!(!line.contains(secret), "{line:?} leaks a secret");
    }
}

fn admins(ids: &[i64]) -> BTreeSet<UserId> {
    ids.iter().copied().map(UserId).collect()
}

// ---------------------------------------------------------------------------------------------
// The single-bot form and its defaults

#[test]
fn minimal_single_bot_config_is_accepted_with_documented_defaults() {
    // Arrange
    let env = single_bot();

    // Act
    let config = env.config();

    // Assert
    let telegram = config.telegram.as_ref().expect("the daemon needs Telegram");
    assert_eq!(telegram.token.expose_secret(), TELEGRAM_TOKEN);
    assert_eq!(telegram.api_url, None);
    assert_eq!(config.admins, admins(&[111]));
    assert_eq!(config.manta.api_url.as_str(), "https://mantago.cc/api");
    assert_eq!(DEFAULT_MANTA_API_URL, "https://mantago.cc/api");
    assert_eq!(config.manta.timeout, Duration::from_secs(10));
    assert_eq!(config.bots.len(), 1);
    let bot = &config.bots[0];
    assert_eq!(bot.label.as_str(), "default");
    assert_eq!(bot.id.as_str(), "B1");
    assert_eq!(bot.token.expose_secret(), TOKEN);
    assert_eq!(bot.secret.expose_secret(), SECRET);
    assert_eq!(bot.chats, ChatSelector::Every);
    assert_eq!(bot.env_prefix, "MANTA_");
}

#[test]
fn single_bot_chats_are_parsed_from_manta_chats() {
    // Arrange
    let env = single_bot().set("MANTA_CHATS", " -1001234567890 ,123456789, ");

    // Act
    let config = env.config();

    // Assert
    assert_eq!(config.bots[0].chats, ChatSelector::Only(vec![ChatId(-1001234567890), ChatId(123456789)]));
}

#[test]
fn an_explicit_star_in_manta_chats_means_every_chat() {
    // Arrange
    let env = single_bot().set("MANTA_CHATS", " * ");

    // Act
    let config = env.config();

    // Assert
    assert_eq!(config.bots[0].chats, ChatSelector::Every);
}

#[test]
fn a_blank_manta_chats_falls_back_to_every_chat() {
    // Arrange
    let env = single_bot().set("MANTA_CHATS", "   ");

    // Act
    let config = env.config();

    // Assert
    assert_eq!(config.bots[0].chats, ChatSelector::Every);
}

#[test]
fn values_are_trimmed_of_surrounding_white_space() {
    // Arrange
    let env = single_bot()
        .set("TELOXIDE_TOKEN", &format!("  {TELEGRAM_TOKEN}\t"))
        .set("MANTA_BOT_ID", " B1 ")
        .set("MANTA_TOKEN", &format!(" {TOKEN} "))
        .set("MANTA_TIMEOUT_SECS", " 30 ");

    // Act
    let config = env.config();

    // Assert
    assert_eq!(config.telegram.as_ref().unwrap().token.expose_secret(), TELEGRAM_TOKEN);
    assert_eq!(config.bots[0].id.as_str(), "B1");
    assert_eq!(config.bots[0].token.expose_secret(), TOKEN);
    assert_eq!(config.manta.timeout, Duration::from_secs(30));
}

#[test]
fn each_missing_single_bot_variable_is_named() {
    for variable in ["MANTA_BOT_ID", "MANTA_TOKEN", "MANTA_SECRET"] {
        // Arrange
        let env = single_bot().unset(variable);

        // Act
        let error = env.error();

        // Assert
        assert_names_variable(&error, variable);
        assert!(error.problem.contains("not set"), "{error}");
    }
}

#[test]
fn a_blank_manta_token_counts_as_missing() {
    // Arrange
    let env = single_bot().set("MANTA_TOKEN", "   ");

    // Act
    let error = env.error();

    // Assert
    assert_names_variable(&error, "MANTA_TOKEN");
    assert!(error.problem.contains("not set"), "{error}");
}

#[test]
fn a_bot_id_with_spaces_inside_is_refused() {
    // Arrange
    let env = single_bot().set("MANTA_BOT_ID", "B 1");

    // Act
    let error = env.error();

    // Assert
    assert_names_variable(&error, "MANTA_BOT_ID");
}

// ---------------------------------------------------------------------------------------------
// TELOXIDE_TOKEN, TELOXIDE_API_URL and the console

#[test]
fn the_console_does_not_need_a_telegram_token() {
    // Arrange
    let env = single_bot().unset("TELOXIDE_TOKEN");

    // Act
    let config = env.parse(Mode::Console).expect("the console runs without Telegram");

    // Assert
    assert!(config.telegram.is_none());
    assert_eq!(config.bots.len(), 1);
    assert_eq!(config.admins, admins(&[111]));
}

#[test]
fn the_console_still_checks_the_rest_of_the_configuration() {
    // Arrange
    let env = single_bot().unset("TELOXIDE_TOKEN").unset("MANTA_SECRET");

    // Act
    let error = env.parse(Mode::Console).expect_err("MANTA_SECRET is missing");

    // Assert
    assert_names_variable(&error, "MANTA_SECRET");
}

#[test]
fn the_daemon_refuses_to_start_without_a_telegram_token() {
    // Arrange
    let env = single_bot().unset("TELOXIDE_TOKEN");

    // Act
    let error = env.error();

    // Assert
    assert_names_variable(&error, "TELOXIDE_TOKEN");
    assert!(error.problem.contains("not set"), "{error}");
}

#[test]
fn a_blank_telegram_token_counts_as_missing() {
    // Arrange
    let env = single_bot().set("TELOXIDE_TOKEN", "  ");

    // Act
    let error = env.error();

    // Assert
    assert_names_variable(&error, "TELOXIDE_TOKEN");
}

#[test]
fn a_malformed_telegram_token_is_refused_without_echoing_it() {
    let malformed = [
        "SECRET-not-a-token",
        "555000111",
        "555000111:",
        ":SECRETkey",
        "12a45:SECRETkey",
        "555000111:SECRET key",
        "555000111:SECRET$key",
        "555000111:SECRET:key",
    ];
    for bad in malformed {
        // Arrange
        let env = single_bot().set("TELOXIDE_TOKEN", bad);

        // Act
        let error = env.error();

        // Assert
        assert_names_variable(&error, "TELOXIDE_TOKEN");
        let line = error.to_string();
        assert!(!line.contains(bad), "{line:?} echoes the token {bad:?}");
        assert!(!line.contains("SECRET"), "{line:?} echoes part of the token {bad:?}");
    }
}

#[test]
fn a_telegram_api_url_is_used_when_given() {
    // Arrange
    let env = single_bot().set("TELOXIDE_API_URL", "http://127.0.0.1:8081");

    // Act
    let config = env.config();

    // Assert
    let api_url = config.telegram.as_ref().unwrap().api_url.as_ref().expect("URL kept");
    assert_eq!(api_url.scheme(), "http");
    assert_eq!(api_url.host_str(), Some("127.0.0.1"));
    assert_eq!(api_url.port(), Some(8081));
}

#[test]
fn a_telegram_api_url_that_is_not_an_http_url_is_refused() {
    for bad in ["not a url", "ftp://127.0.0.1:8081", "127.0.0.1:8081", "mailto:bot@example.com"] {
        // Arrange
        let env = single_bot().set("TELOXIDE_API_URL", bad);

        // Act
        let error = env.error();

        // Assert
        assert_names_variable(&error, "TELOXIDE_API_URL");
        assert!(error.to_string().contains(bad), "{error} should show the bad value {bad:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// ADMIN_IDS

#[test]
fn admin_ids_must_be_set() {
    // Arrange
    let env = single_bot().unset("ADMIN_IDS");

    // Act
    let error = env.error();

    // Assert
    assert_names_variable(&error, "ADMIN_IDS");
    assert!(error.problem.contains("/whoami"), "{error} should explain how to start without admins");
}

#[test]
fn an_empty_admin_ids_starts_with_no_admins() {
    for empty in ["", "   ", " , "] {
        // Arrange
        let env = single_bot().set("ADMIN_IDS", empty);

        // Act
        let config = env.config();

        // Assert
        assert!(config.admins.is_empty(), "ADMIN_IDS={empty:?} gave {:?}", config.admins);
    }
}

#[test]
fn admin_ids_are_a_comma_separated_list_of_numbers() {
    // Arrange
    let env = single_bot().set("ADMIN_IDS", " 111 , 222,333,222 ,");

    // Act
    let config = env.config();

    // Assert
    assert_eq!(config.admins, admins(&[111, 222, 333]));
}

#[test]
fn a_non_numeric_admin_id_is_named_in_the_error() {
    // Arrange
    let env = single_bot().set("ADMIN_IDS", "111,abc");

    // Act
    let error = env.error();

    // Assert
    assert_names_variable(&error, "ADMIN_IDS");
    assert!(error.to_string().contains("abc"), "{error} should name the bad item");
}

#[test]
fn usernames_zero_and_negative_numbers_are_not_admin_ids() {
    for bad in ["@alice", "alice", "0", "-5", "1.5", "99999999999999999999"] {
        // Arrange
        let env = single_bot().set("ADMIN_IDS", &format!("111,{bad}"));

        // Act
        let error = env.error();

        // Assert
        assert_names_variable(&error, "ADMIN_IDS");
        assert!(error.to_string().contains(bad), "{error} should name {bad:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// MANTA_API_URL and MANTA_TIMEOUT_SECS

#[test]
fn a_custom_manta_api_url_is_kept() {
    // Arrange
    let env = single_bot().set("MANTA_API_URL", "http://127.0.0.1:9000/api");

    // Act
    let config = env.config();

    // Assert
    assert_eq!(config.manta.api_url.as_str(), "http://127.0.0.1:9000/api");
}

#[test]
fn a_blank_manta_api_url_falls_back_to_the_default() {
    // Arrange
    let env = single_bot().set("MANTA_API_URL", "  ");

    // Act
    let config = env.config();

    // Assert
    assert_eq!(config.manta.api_url.as_str(), "https://mantago.cc/api");
}

#[test]
fn a_manta_api_url_that_is_not_an_http_url_is_refused() {
    for bad in ["not a url", "ftp://mantago.cc/api", "mantago.cc/api", "file:///etc/passwd"] {
        // Arrange
        let env = single_bot().set("MANTA_API_URL", bad);

        // Act
        let error = env.error();

        // Assert
        assert_names_variable(&error, "MANTA_API_URL");
        assert!(error.to_string().contains(bad), "{error} should show the bad value {bad:?}");
        assert!(error.example.contains("https://mantago.cc/api"), "{error}");
    }
}

#[test]
fn a_timeout_outside_one_to_three_hundred_seconds_is_refused() {
    for bad in ["0", "abc", "301", "-1", "2.5", "10s"] {
        // Arrange
        let env = single_bot().set("MANTA_TIMEOUT_SECS", bad);

        // Act
        let error = env.error();

        // Assert
        assert_names_variable(&error, "MANTA_TIMEOUT_SECS");
        assert!(error.to_string().contains(bad), "{error} should show the bad value {bad:?}");
    }
}

#[test]
fn a_timeout_within_range_is_accepted() {
    for (raw, seconds) in [("30", 30), ("1", 1), ("300", 300)] {
        // Arrange
        let env = single_bot().set("MANTA_TIMEOUT_SECS", raw);

        // Act
        let config = env.config();

        // Assert
        assert_eq!(config.manta.timeout, Duration::from_secs(seconds), "MANTA_TIMEOUT_SECS={raw}");
    }
}

// ---------------------------------------------------------------------------------------------
// The multi-bot form

#[test]
fn several_bots_are_read_from_their_labelled_variables() {
    // Arrange
    let env = two_bots();

    // Act
    let config = env.config();

    // Assert
    assert_eq!(config.admins, admins(&[111, 222]));
    assert_eq!(config.bots.len(), 2);
    let (shop, support) = (&config.bots[0], &config.bots[1]);
    assert_eq!(shop.label.as_str(), "shop");
    assert_eq!(shop.env_prefix, "MANTA_SHOP_");
    assert_eq!(shop.id.as_str(), "S1");
    assert_eq!(shop.token.expose_secret(), SHOP_TOKEN);
    assert_eq!(shop.secret.expose_secret(), SHOP_SECRET);
    assert_eq!(shop.chats, ChatSelector::Only(vec![ChatId(-1001234567890), ChatId(42)]));
    assert_eq!(support.label.as_str(), "support");
    assert_eq!(support.env_prefix, "MANTA_SUPPORT_");
    assert_eq!(support.id.as_str(), "S2");
    assert_eq!(support.token.expose_secret(), SUPPORT_TOKEN);
    assert_eq!(support.secret.expose_secret(), SUPPORT_SECRET);
    assert_eq!(support.chats, ChatSelector::Every);
}

#[test]
fn bots_with_disjoint_chat_lists_are_accepted() {
    // Arrange
    let env = two_bots().set("MANTA_SUPPORT_CHATS", "-1009876543210,7");

    // Act
    let config = env.config();

    // Assert
    assert_eq!(config.bots[1].chats, ChatSelector::Only(vec![ChatId(-1009876543210), ChatId(7)]));
}

#[test]
fn labels_are_lower_cased_and_upper_cased_in_variable_names() {
    // Arrange
    let env = Env(HashMap::new())
        .set("TELOXIDE_TOKEN", TELEGRAM_TOKEN)
        .set("ADMIN_IDS", "111")
        .set("MANTA_BOTS", " Shop_EU , ")
        .set("MANTA_SHOP_EU_BOT_ID", "S1")
        .set("MANTA_SHOP_EU_TOKEN", SHOP_TOKEN)
        .set("MANTA_SHOP_EU_SECRET", SHOP_SECRET);

    // Act
    let config = env.config();

    // Assert
    assert_eq!(config.bots.len(), 1);
    assert_eq!(config.bots[0].label.as_str(), "shop_eu");
    assert_eq!(config.bots[0].env_prefix, "MANTA_SHOP_EU_");
}

#[test]
fn a_labelled_bot_without_its_token_is_named_by_its_variable() {
    // Arrange
    let env = two_bots().unset("MANTA_SUPPORT_TOKEN");

    // Act
    let error = env.error();

    // Assert
    assert_names_variable(&error, "MANTA_SUPPORT_TOKEN");
}

#[test]
fn each_missing_labelled_variable_is_named() {
    for variable in ["MANTA_SHOP_BOT_ID", "MANTA_SHOP_SECRET", "MANTA_SUPPORT_BOT_ID", "MANTA_SUPPORT_SECRET"]
    {
        // Arrange
        let env = two_bots().unset(variable);

        // Act
        let error = env.error();

        // Assert
        assert_names_variable(&error, variable);
    }
}

#[test]
fn the_single_bot_variables_are_not_read_in_the_multi_bot_form() {
    // Arrange: the labelled variables are complete, so the unlabelled ones are not needed.
    let env = two_bots().unset("MANTA_TOKEN").unset("MANTA_SECRET");

    // Act
    let config = env.config();

    // Assert
    assert!(config.bots.iter().all(|bot| bot.env_prefix != "MANTA_"));
}

#[test]
fn manta_bots_together_with_manta_bot_id_is_refused() {
    // Arrange
    let env = two_bots().set("MANTA_BOT_ID", "B1");

    // Act
    let error = env.error();

    // Assert
    assert_names_variable(&error, "MANTA_BOT_ID");
    assert!(error.to_string().contains("MANTA_BOTS"), "{error} should mention the other form");
}

#[test]
fn a_label_listed_twice_is_refused() {
    for labels in ["shop,shop", "shop,support,SHOP"] {
        // Arrange
        let env = two_bots().set("MANTA_BOTS", labels);

        // Act
        let error = env.error();

        // Assert
        assert_names_variable(&error, "MANTA_BOTS");
        assert!(error.to_string().contains("twice"), "{error}");
    }
}

#[test]
fn a_label_that_cannot_be_part_of_a_variable_name_is_refused() {
    // Arrange
    let env = two_bots().set("MANTA_BOTS", "shop-eu");

    // Act
    let error = env.error();

    // Assert
    assert_names_variable(&error, "MANTA_BOTS");
    assert!(error.to_string().contains("shop-eu"), "{error} should name the bad label");
}

#[test]
fn manta_bots_that_names_no_bot_is_refused() {
    // Arrange
    let env = two_bots().set("MANTA_BOTS", " , ,");

    // Act
    let error = env.error();

    // Assert
    assert_names_variable(&error, "MANTA_BOTS");
}

// ---------------------------------------------------------------------------------------------
// Linking chats to bots

#[test]
fn a_chat_linked_to_two_bots_is_refused() {
    // Arrange
    let env = two_bots().set("MANTA_SUPPORT_CHATS", "7,42");

    // Act
    let error = env.error();

    // Assert
    assert_names_variable(&error, "MANTA_SUPPORT_CHATS");
    let line = error.to_string();
    assert!(line.contains("42"), "{line} should name the chat");
    assert!(line.contains("MANTA_SHOP_CHATS"), "{line} should name the other bot's variable");
}

#[test]
fn two_bots_taking_every_chat_explicitly_are_refused() {
    // Arrange
    let env = two_bots().set("MANTA_SHOP_CHATS", "*").set("MANTA_SUPPORT_CHATS", "*");

    // Act
    let error = env.error();

    // Assert
    assert_names_variable(&error, "MANTA_SUPPORT_CHATS");
    assert!(error.to_string().contains("MANTA_SHOP_CHATS"), "{error}");
}

#[test]
fn two_bots_taking_every_chat_by_default_are_refused() {
    // Arrange
    let env = two_bots().unset("MANTA_SHOP_CHATS");

    // Act
    let error = env.error();

    // Assert
    assert_names_variable(&error, "MANTA_SUPPORT_CHATS");
    assert!(error.to_string().contains("MANTA_SHOP_CHATS"), "{error}");
}

#[test]
fn a_star_mixed_with_chat_ids_is_refused() {
    for mixed in ["*,42", "42,*", "*,*"] {
        // Arrange
        let env = single_bot().set("MANTA_CHATS", mixed);

        // Act
        let error = env.error();

        // Assert
        assert_names_variable(&error, "MANTA_CHATS");
    }
}

#[test]
fn a_non_numeric_chat_id_is_named_in_the_error() {
    for bad in ["@mygroup", "abc", "0", "1e5"] {
        // Arrange
        let env = single_bot().set("MANTA_CHATS", &format!("42,{bad}"));

        // Act
        let error = env.error();

        // Assert
        assert_names_variable(&error, "MANTA_CHATS");
        assert!(error.to_string().contains(bad), "{error} should name {bad:?}");
    }
}

#[test]
fn a_bad_chat_id_of_a_labelled_bot_is_named_by_its_variable() {
    // Arrange
    let env = two_bots().set("MANTA_SHOP_CHATS", "-100123,my-group");

    // Act
    let error = env.error();

    // Assert
    assert_names_variable(&error, "MANTA_SHOP_CHATS");
    assert!(error.to_string().contains("my-group"), "{error}");
}

#[test]
fn a_chat_listed_twice_for_the_same_bot_is_refused() {
    // Arrange
    let env = single_bot().set("MANTA_CHATS", "42,-100123,42");

    // Act
    let error = env.error();

    // Assert
    assert_names_variable(&error, "MANTA_CHATS");
    assert!(error.to_string().contains("42"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Every error, and secrets

#[test]
fn every_configuration_mistake_names_its_variable_and_shows_an_example() {
    // Arrange
    let cases: Vec<(Env, &str)> = vec![
        (single_bot().unset("TELOXIDE_TOKEN"), "TELOXIDE_TOKEN"),
        (single_bot().set("TELOXIDE_TOKEN", "SECRET-nonsense"), "TELOXIDE_TOKEN"),
        (single_bot().set("TELOXIDE_API_URL", "ftp://x"), "TELOXIDE_API_URL"),
        (single_bot().unset("ADMIN_IDS"), "ADMIN_IDS"),
        (single_bot().set("ADMIN_IDS", "111,abc"), "ADMIN_IDS"),
        (single_bot().set("MANTA_API_URL", "not a url"), "MANTA_API_URL"),
        (single_bot().set("MANTA_API_URL", "ftp://mantago.cc/api"), "MANTA_API_URL"),
        (single_bot().set("MANTA_TIMEOUT_SECS", "0"), "MANTA_TIMEOUT_SECS"),
        (single_bot().set("MANTA_TIMEOUT_SECS", "abc"), "MANTA_TIMEOUT_SECS"),
        (single_bot().set("MANTA_TIMEOUT_SECS", "301"), "MANTA_TIMEOUT_SECS"),
        (single_bot().unset("MANTA_BOT_ID"), "MANTA_BOT_ID"),
        (single_bot().set("MANTA_BOT_ID", "B 1"), "MANTA_BOT_ID"),
        (single_bot().unset("MANTA_TOKEN"), "MANTA_TOKEN"),
        (single_bot().unset("MANTA_SECRET"), "MANTA_SECRET"),
        (single_bot().set("MANTA_CHATS", "*,42"), "MANTA_CHATS"),
        (single_bot().set("MANTA_CHATS", "@mygroup"), "MANTA_CHATS"),
        (single_bot().set("MANTA_CHATS", "42,42"), "MANTA_CHATS"),
        (two_bots().unset("MANTA_SUPPORT_TOKEN"), "MANTA_SUPPORT_TOKEN"),
        (two_bots().set("MANTA_BOT_ID", "B1"), "MANTA_BOT_ID"),
        (two_bots().set("MANTA_BOTS", "shop,shop"), "MANTA_BOTS"),
        (two_bots().set("MANTA_BOTS", "shop-eu"), "MANTA_BOTS"),
        (two_bots().set("MANTA_BOTS", ","), "MANTA_BOTS"),
        (two_bots().set("MANTA_SUPPORT_CHATS", "42"), "MANTA_SUPPORT_CHATS"),
        (two_bots().set("MANTA_SHOP_CHATS", "*").set("MANTA_SUPPORT_CHATS", "*"), "MANTA_SUPPORT_CHATS"),
        (two_bots().unset("MANTA_SHOP_CHATS"), "MANTA_SUPPORT_CHATS"),
    ];

    for (env, variable) in cases {
        // Act
        let error = env.error();

        // Assert
        assert_names_variable(&error, variable);
        let line = error.to_string();
        assert!(!error.problem.is_empty() && !error.example.is_empty(), "{line}");
        assert!(line.starts_with(&format!("{variable}: ")), "{line:?} should lead with the variable");
    }
}

#[test]
fn debug_output_of_a_single_bot_config_hides_token_and_secret() {
    // Arrange
    let config = single_bot().config();

    // Act
    let debug = format!("{config:?}");
    let pretty = format!("{config:#?}");

    // Assert
    for shown in [&debug, &pretty] {
        for secret in [TELEGRAM_TOKEN, TOKEN, SECRET] {
            assert!(!shown.contains(secret), "Debug output leaks {secret:?}: {shown}");
        }
        assert!(!shown.contains("SECRET"), "Debug output leaks part of a secret: {shown}");
        assert!(shown.contains("B1"), "Debug output should still show the bot ID: {shown}");
    }
}

#[test]
fn debug_output_of_a_multi_bot_config_hides_every_token_and_secret() {
    // Arrange
    let config = two_bots().config();

    // Act
    let debug = format!("{config:?}");

    // Assert
    for secret in ALL_SECRETS {
        assert!(!debug.contains(secret), "Debug output leaks {secret:?}: {debug}");
    }
    assert!(!debug.contains("SECRET"), "Debug output leaks part of a secret: {debug}");
}

#[test]
fn a_chat_list_of_only_commas_is_refused_rather_than_linking_nothing() {
    let error = single_bot().set("MANTA_CHATS", " , ").error();

    assert_names_variable(&error, "MANTA_CHATS");
    assert!(error.problem.contains("names no chat"), "{error}");
}

#[test]
fn a_blank_leftover_manta_bot_id_does_not_block_the_multi_bot_form() {
    let config = two_bots().set("MANTA_BOT_ID", "").config();

    assert_eq!(config.bots.len(), 2);
}
