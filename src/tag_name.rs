//! `TagName`: a client tag name that is known to be acceptable before anything is sent.

use std::fmt;

/// The longest name accepted, in characters (Unicode scalar values).
pub const MAX_TAG_NAME_CHARS: usize = 100;

/// A client tag name: trimmed, 1–100 characters, one line, no control characters.
///
/// Everything else (emoji, `<`, `&`, `*`, quotes) is part of the name and reaches MantaGo
/// exactly as typed; escaping is the renderer's job, never the name's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagName(String);

/// Why a piece of text cannot be a tag name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TagNameError {
    /// Nothing was given after the command.
    #[error("the name is missing")]
    Missing,
    /// Spread over more than one line.
    #[error("the name must be on one line")]
    MultiLine,
    /// Longer than [`MAX_TAG_NAME_CHARS`].
    #[error("the name has {0} characters; at most {MAX_TAG_NAME_CHARS} are allowed")]
    TooLong(usize),
    /// Contains an invisible control character (tab, zero-width controls, …).
    #[error("the name contains a control character")]
    ControlCharacter,
}

impl TagName {
    /// Parses the rest of a `/newtag` message.
    pub fn parse(raw: &str) -> Result<Self, TagNameError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(TagNameError::Missing);
        }
        if name.contains(['\n', '\r', '\u{2028}', '\u{2029}', '\u{85}']) {
            return Err(TagNameError::MultiLine);
        }
        let chars = name.chars().count();
        if chars > MAX_TAG_NAME_CHARS {
            return Err(TagNameError::TooLong(chars));
        }
        if name.chars().any(char::is_control) {
            return Err(TagNameError::ControlCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name exactly as it will be sent to MantaGo.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TagName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed() {
        assert_eq!(TagName::parse("  VIP customers \t").map(|n| n.0), Ok("VIP customers".into()));
    }

    #[test]
    fn markup_and_emoji_are_part_of_the_name() {
        let raw = "<b>R&D</b> _x_ *y* [z](http://a) \"q\" 🦀";
        assert_eq!(TagName::parse(raw).map(|n| n.0), Ok(raw.to_owned()));
    }

    #[test]
    fn blank_names_are_missing() {
        assert_eq!(TagName::parse(""), Err(TagNameError::Missing));
        assert_eq!(TagName::parse(" \t "), Err(TagNameError::Missing));
    }

    #[test]
    fn names_must_fit_on_one_line() {
        assert_eq!(TagName::parse("VIP\ncustomers"), Err(TagNameError::MultiLine));
        assert_eq!(TagName::parse("VIP\r\ncustomers"), Err(TagNameError::MultiLine));
    }

    #[test]
    fn hundred_characters_fit_and_one_more_does_not() {
        let hundred_crabs = "🦀".repeat(100);
        assert!(TagName::parse(&hundred_crabs).is_ok());
        assert_eq!(TagName::parse(&"a".repeat(101)), Err(TagNameError::TooLong(101)));
    }

    #[test]
    fn control_characters_are_refused() {
        assert_eq!(TagName::parse("VIP\tgold"), Err(TagNameError::ControlCharacter));
        assert_eq!(TagName::parse("VIP\u{7}"), Err(TagNameError::ControlCharacter));
    }
}
