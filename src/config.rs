//! Configuration: every variable of PRODUCT.md §1, parsed once at start into typed values.
//!
//! Parsing reads through a lookup function rather than the process environment, so tests can
//! hand it a map and the binary can hand it `std::env::var` after dotenvy has loaded `.env`.
//! Every mistake becomes a [`ConfigError`] that names the variable, says what is wrong and shows
//! a right value — never the value of a secret.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::ids::{BotId, BotLabel, ChatId, UserId};

/// The MantaGo API used when `MANTA_API_URL` is not set.
pub const DEFAULT_MANTA_API_URL: &str = "https://mantago.cc/api";
/// Where state is kept when `DATA_DIR` is not set.
pub const DEFAULT_DATA_DIR: &str = "./data";
/// Seconds one MantaGo request may take when `MANTA_TIMEOUT_SECS` is not set.
pub const DEFAULT_MANTA_TIMEOUT_SECS: u64 = 10;
/// Commands older than this many seconds when they arrive are skipped (`MAX_COMMAND_AGE_SECS`).
pub const DEFAULT_MAX_COMMAND_AGE_SECS: u64 = 300;
/// Seconds commands in flight get to finish after SIGTERM (`SHUTDOWN_TIMEOUT_SECS`).
pub const DEFAULT_SHUTDOWN_TIMEOUT_SECS: u64 = 20;

/// A configuration mistake, shown to the operator as one line before the daemon exits with 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable at fault.
    pub variable: String,
    /// What is wrong with it, in plain words.
    pub problem: String,
    /// A right value, as the operator would write it in `.env`.
    pub example: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (example: {})", self.variable, self.problem, self.example)
    }
}

impl std::error::Error for ConfigError {}

fn mistake(variable: &str, problem: impl Into<String>, example: impl Into<String>) -> ConfigError {
    ConfigError { variable: variable.to_owned(), problem: problem.into(), example: example.into() }
}

/// Everything the daemon was told at start.
#[derive(Debug)]
pub struct Config {
    /// Present when the Telegram adapter will run (the console does not need it).
    pub telegram: Option<TelegramConfig>,
    /// Users allowed to run admin commands. May be empty (then only `/whoami` is useful).
    pub admins: BTreeSet<UserId>,
    /// How to reach MantaGo.
    pub manta: MantaConfig,
    /// The MantaGo bots and the chats linked to each.
    pub bots: Vec<BotConfig>,
    /// `DATA_DIR`: where the state database lives.
    pub data_dir: PathBuf,
    /// `MANTA_AUTO_REFRESH`: rotate credentials before they expire.
    pub auto_refresh: bool,
    /// `MAX_COMMAND_AGE_SECS`: older commands are skipped with an explanation.
    pub max_command_age: Duration,
    /// `SHUTDOWN_TIMEOUT_SECS`: how long commands in flight may take after SIGTERM.
    pub shutdown_timeout: Duration,
    /// `HTTP_ADDR`: where to serve `/healthz` and `/metrics`, if anywhere.
    pub http_addr: Option<std::net::SocketAddr>,
}

/// How to reach the Telegram Bot API.
#[derive(Debug)]
pub struct TelegramConfig {
    /// `TELOXIDE_TOKEN`.
    pub token: SecretString,
    /// `TELOXIDE_API_URL`, for a self-hosted Bot API server (or a test's fake).
    pub api_url: Option<Url>,
}

/// How to reach MantaGo.
#[derive(Debug, Clone)]
pub struct MantaConfig {
    /// `MANTA_API_URL`, e.g. `https://mantago.cc/api`.
    pub api_url: Url,
    /// `MANTA_TIMEOUT_SECS`: the total time allowed for one request.
    pub timeout: Duration,
}

/// One MantaGo bot with its credentials and linked chats.
#[derive(Debug)]
pub struct BotConfig {
    /// The operator's name for it (`default` in the single-bot form).
    pub label: BotLabel,
    /// MantaGo's ID for it.
    pub id: BotId,
    /// The API token (a JWT) from the dashboard.
    pub token: SecretString,
    /// The secret key from the dashboard.
    pub secret: SecretString,
    /// Which Telegram chats are linked to it.
    pub chats: ChatSelector,
    /// Where its variables live: `MANTA_` or `MANTA_<LABEL>_`, for messages to the operator.
    pub env_prefix: String,
}

/// The chats linked to one bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatSelector {
    /// `*`: every chat not linked to another bot.
    Every,
    /// An explicit list.
    Only(Vec<ChatId>),
}

/// Whether the Telegram token is required (the daemon) or not (the console).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `manta-tagbot run`: Telegram is needed.
    Daemon,
    /// `manta-tagbot console`: no Telegram.
    Console,
}

impl Config {
    /// Reads the process environment (after `.env` has been loaded by the caller).
    pub fn from_process_env(mode: Mode) -> Result<Self, ConfigError> {
        Self::from_lookup(mode, |name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, which returns a variable's value if it is set.
    pub fn from_lookup(mode: Mode, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(&lookup);
        let telegram = match mode {
            Mode::Daemon => Some(TelegramConfig {
                token: telegram_token(&vars)?,
                api_url: vars
                    .optional("TELOXIDE_API_URL")
                    .map(|raw| url_value("TELOXIDE_API_URL", &raw, "http://127.0.0.1:8081"))
                    .transpose()?,
            }),
            Mode::Console => None,
        };
        let admins = admin_ids(&vars)?;
        let manta = MantaConfig {
            api_url: match vars.optional("MANTA_API_URL") {
                Some(raw) => url_value("MANTA_API_URL", &raw, DEFAULT_MANTA_API_URL)?,
                None => Url::parse(DEFAULT_MANTA_API_URL)
                    .map_err(|e| mistake("MANTA_API_URL", e.to_string(), DEFAULT_MANTA_API_URL))?,
            },
            timeout: Duration::from_secs(seconds(
                &vars,
                "MANTA_TIMEOUT_SECS",
                DEFAULT_MANTA_TIMEOUT_SECS,
                1..=300,
            )?),
        };
        let bots = bots(&vars)?;
        check_links(&bots)?;
        let data_dir =
            PathBuf::from(vars.optional("DATA_DIR").unwrap_or_else(|| DEFAULT_DATA_DIR.to_owned()));
        let auto_refresh = boolean(&vars, "MANTA_AUTO_REFRESH", true)?;
        let max_command_age = Duration::from_secs(seconds(
            &vars,
            "MAX_COMMAND_AGE_SECS",
            DEFAULT_MAX_COMMAND_AGE_SECS,
            1..=86_400,
        )?);
        let shutdown_timeout = Duration::from_secs(seconds(
            &vars,
            "SHUTDOWN_TIMEOUT_SECS",
            DEFAULT_SHUTDOWN_TIMEOUT_SECS,
            1..=3_600,
        )?);
        let http_addr = crate::http::parse_addr(vars.optional("HTTP_ADDR").as_deref())?;
        Ok(Self {
            telegram,
            admins,
            manta,
            bots,
            data_dir,
            auto_refresh,
            max_command_age,
            shutdown_timeout,
            http_addr,
        })
    }
}

/// A view of the environment that treats blank values as unset and trims the rest.
struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn is_set(&self, name: &str) -> bool {
        (self.0)(name).is_some()
    }

    fn required(&self, name: &str, example: &str) -> Result<String, ConfigError> {
        self.optional(name).ok_or_else(|| mistake(name, "is not set", format!("{name}={example}")))
    }

    fn secret(&self, name: &str, example: &str) -> Result<SecretString, ConfigError> {
        self.required(name, example).map(SecretString::from)
    }
}

fn telegram_token(vars: &Vars) -> Result<SecretString, ConfigError> {
    const EXAMPLE: &str = "TELOXIDE_TOKEN=123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw (from @BotFather)";
    let token =
        vars.optional("TELOXIDE_TOKEN").ok_or_else(|| mistake("TELOXIDE_TOKEN", "is not set", EXAMPLE))?;
    // Checked for shape only, and the value is never echoed: it is a secret even when mistyped.
    let well_formed = token.split_once(':').is_some_and(|(id, key)| {
        !id.is_empty()
            && id.chars().all(|c| c.is_ascii_digit())
            && !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    });
    if !well_formed {
        return Err(mistake(
            "TELOXIDE_TOKEN",
            "does not look like a bot token (digits, a colon, then letters, digits, '_' or '-')",
            EXAMPLE,
        ));
    }
    Ok(SecretString::from(token))
}

fn admin_ids(vars: &Vars) -> Result<BTreeSet<UserId>, ConfigError> {
    const EXAMPLE: &str =
        "ADMIN_IDS=123456789,987654321 (numeric IDs; send /whoami to the bot to learn yours)";
    if !vars.is_set("ADMIN_IDS") {
        return Err(mistake(
            "ADMIN_IDS",
            "is not set (leave it empty, ADMIN_IDS=, to start with no admins while you use /whoami)",
            EXAMPLE,
        ));
    }
    let raw = vars.optional("ADMIN_IDS").unwrap_or_default();
    let mut admins = BTreeSet::new();
    for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let id = item.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
            mistake(
                "ADMIN_IDS",
                format!("{item:?} is not a numeric Telegram user ID (usernames are not accepted)"),
                EXAMPLE,
            )
        })?;
        admins.insert(UserId(id));
    }
    Ok(admins)
}

fn url_value(name: &str, raw: &str, example: &str) -> Result<Url, ConfigError> {
    let problem = |what: &str| mistake(name, format!("{raw:?} {what}"), format!("{name}={example}"));
    let url = Url::parse(raw).map_err(|_| problem("is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(problem("is not an http:// or https:// URL"));
    }
    Ok(url)
}

fn seconds(
    vars: &Vars,
    name: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let Some(raw) = vars.optional(name) else { return Ok(default) };
    raw.parse::<u64>().ok().filter(|s| range.contains(s)).ok_or_else(|| {
        mistake(
            name,
            format!("{raw:?} is not a whole number of seconds from {} to {}", range.start(), range.end()),
            format!("{name}={default}"),
        )
    })
}

fn boolean(vars: &Vars, name: &str, default: bool) -> Result<bool, ConfigError> {
    match vars.optional(name).map(|v| v.to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => {
            Err(mistake(name, format!("{other:?} is neither true nor false"), format!("{name}=false")))
        }
    }
}

fn bots(vars: &Vars) -> Result<Vec<BotConfig>, ConfigError> {
    match vars.optional("MANTA_BOTS") {
        None => Ok(vec![bot(vars, BotLabel::single(), "MANTA_")?]),
        Some(labels) => {
            if vars.optional("MANTA_BOT_ID").is_some() {
                return Err(mistake(
                    "MANTA_BOT_ID",
                    "is set together with MANTA_BOTS; use one form or the other",
                    "MANTA_BOTS=shop,support with MANTA_SHOP_BOT_ID=… (and no MANTA_BOT_ID)",
                ));
            }
            let mut seen = HashMap::new();
            let mut bots = Vec::new();
            for raw in labels.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let label = BotLabel::parse(raw).map_err(|e| {
                    mistake("MANTA_BOTS", format!("label {raw:?}: {e}"), "MANTA_BOTS=shop,support")
                })?;
                if seen.insert(label.clone(), ()).is_some() {
                    return Err(mistake(
                        "MANTA_BOTS",
                        format!("label {label:?} appears twice", label = label.as_str()),
                        "MANTA_BOTS=shop,support",
                    ));
                }
                let prefix = format!("MANTA_{}_", label.env_key());
                bots.push(bot(vars, label, &prefix)?);
            }
            if bots.is_empty() {
                return Err(mistake("MANTA_BOTS", "names no bot", "MANTA_BOTS=shop,support"));
            }
            Ok(bots)
        }
    }
}

fn bot(vars: &Vars, label: BotLabel, prefix: &str) -> Result<BotConfig, ConfigError> {
    let id_var = format!("{prefix}BOT_ID");
    let raw_id = vars.required(&id_var, "6543210fedcba9876543210f")?;
    let id = BotId::parse(&raw_id).map_err(|e| {
        mistake(&id_var, format!("{raw_id:?}: {e}"), format!("{id_var}=6543210fedcba9876543210f"))
    })?;
    let token = vars.secret(&format!("{prefix}TOKEN"), "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9… (Bot Dashboard → Settings → Advanced Settings → API Integration Settings)")?;
    let secret = vars
        .secret(&format!("{prefix}SECRET"), "the Secret Key shown next to the API Token in the dashboard")?;
    let chats_var = format!("{prefix}CHATS");
    let chats = match vars.optional(&chats_var) {
        None => ChatSelector::Every,
        Some(raw) => chat_selector(&chats_var, &raw)?,
    };
    Ok(BotConfig { label, id, token, secret, chats, env_prefix: prefix.to_owned() })
}

fn chat_selector(var: &str, raw: &str) -> Result<ChatSelector, ConfigError> {
    let example = format!("{var}=-1001234567890,123456789 (or {var}=* for every chat)");
    let items: Vec<&str> = raw.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    match items.iter().filter(|item| **item == "*").count() {
        _ if items.is_empty() => return Err(mistake(var, "names no chat", example)),
        1 if items.len() == 1 => return Ok(ChatSelector::Every),
        0 => {}
        _ => {
            return Err(mistake(
                var,
                "mixes * with other entries; * alone already means every chat",
                example,
            ));
        }
    }
    let mut chats = Vec::new();
    for item in items {
        let id = item.parse::<i64>().ok().filter(|id| *id != 0).ok_or_else(|| {
            mistake(var, format!("{item:?} is not a numeric Telegram chat ID"), example.clone())
        })?;
        if chats.contains(&ChatId(id)) {
            return Err(mistake(var, format!("chat {id} is listed twice"), example));
        }
        chats.push(ChatId(id));
    }
    Ok(ChatSelector::Only(chats))
}

fn chats_var(bot: &BotConfig) -> String {
    format!("{}CHATS", bot.env_prefix)
}

fn check_links(bots: &[BotConfig]) -> Result<(), ConfigError> {
    let mut owner: HashMap<ChatId, &BotConfig> = HashMap::new();
    let mut wildcard: Option<&BotConfig> = None;
    for bot in bots {
        match &bot.chats {
            ChatSelector::Every => {
                if let Some(first) = wildcard {
                    return Err(mistake(
                        &chats_var(bot),
                        format!(
                            "is * (every chat), but {} already is; only one bot may take every chat",
                            chats_var(first)
                        ),
                        format!("{}=-1001234567890", chats_var(bot)),
                    ));
                }
                wildcard = Some(bot);
            }
            ChatSelector::Only(chats) => {
                for chat in chats {
                    if let Some(first) = owner.insert(*chat, bot) {
                        return Err(mistake(
                            &chats_var(bot),
                            format!(
                                "links chat {chat}, which {} links already; a chat may be linked to one bot only",
                                chats_var(first)
                            ),
                            format!("{}=-1001234567890", chats_var(bot)),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
