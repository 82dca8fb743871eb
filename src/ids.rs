//! Typed identifiers: Telegram users and chats, MantaGo bots and their labels.
//!
//! Each is parsed once at the edge (configuration, Telegram update, console flag) so the rest of
//! the code never handles a bare string or integer whose meaning it has to guess.

use std::fmt;

/// A Telegram user's numeric ID. Usernames can be changed by their owner, so only this is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

/// A Telegram chat's numeric ID (negative for groups; a private chat's ID is the user's ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChatId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for ChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl UserId {
    /// The chat ID of this user's private chat with the bot.
    pub fn private_chat(self) -> ChatId {
        ChatId(self.0)
    }
}

/// Why a string is not a valid MantaGo bot ID or label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Nothing but white space.
    #[error("it is empty")]
    Empty,
    /// White space or control characters inside.
    #[error("it contains spaces or control characters")]
    Whitespace,
    /// A label uses characters that cannot be part of an environment variable name.
    #[error("labels may only use letters, digits and '_'")]
    BadLabel,
}

/// The ID of a bot inside MantaGo (sent as the `botId` query parameter).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BotId(String);

impl BotId {
    /// Accepts any non-empty token without white space; MantaGo documents no stricter format.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(IdError::Empty);
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(IdError::Whitespace);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The ID as MantaGo spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The operator's short name for one MantaGo bot (`shop` in `MANTA_BOTS=shop,support`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BotLabel(String);

impl BotLabel {
    /// The label used when only `MANTA_BOT_ID` (the single-bot form) is configured.
    pub fn single() -> Self {
        Self("default".to_owned())
    }

    /// Labels become part of variable names (`MANTA_<LABEL>_TOKEN`), so they are restricted
    /// to what a shell accepts there. They are kept lower-case for display.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(IdError::Empty);
        }
        if !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(IdError::BadLabel);
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    /// The label as shown to people.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The label as it appears inside variable names.
    pub fn env_key(&self) -> String {
        self.0.to_ascii_uppercase()
    }
}

impl fmt::Display for BotLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_id_is_trimmed_and_must_be_one_word() {
        assert_eq!(BotId::parse(" B1 ").map(|b| b.to_string()), Ok("B1".into()));
        assert_eq!(BotId::parse("  "), Err(IdError::Empty));
        assert_eq!(BotId::parse("B 1"), Err(IdError::Whitespace));
    }

    #[test]
    fn labels_are_lower_case_and_upper_case_in_variable_names() {
        let label = BotLabel::parse("Shop_2").expect("valid label");
        assert_eq!(label.as_str(), "shop_2");
        assert_eq!(label.env_key(), "SHOP_2");
        assert_eq!(BotLabel::parse("shop-eu"), Err(IdError::BadLabel));
    }
}
