//! Recognising a command in a message's text, the way Telegram clients write them:
//! `/name`, `/name args`, and in groups `/name@ThisBot args`.

/// A command the bot knows, with its raw argument text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/start`: first contact, answered like `/help`.
    Start,
    /// `/help`.
    Help,
    /// `/whoami`.
    WhoAmI,
    /// `/newtag <rest>`; the rest is validated later, so its problems can be explained.
    NewTag(String),
    /// Any other `/something`.
    Unknown(String),
}

impl Command {
    /// The command's name, as written in the audit log.
    pub fn name(&self) -> &str {
        match self {
            Self::Start => "start",
            Self::Help => "help",
            Self::WhoAmI => "whoami",
            Self::NewTag(_) => "newtag",
            Self::Unknown(name) => name,
        }
    }
}

/// Finds the command in `text`. Returns `None` for text that is not a command, and for a command
/// addressed to another bot (`/newtag@OtherBot`), which is not ours to answer.
///
/// `own_username` is this bot's Telegram username; the console has none and accepts any mention.
pub fn parse(text: &str, own_username: Option<&str>) -> Option<Command> {
    let rest = text.strip_prefix('/')?;
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (word, args) = rest.split_at(end);
    let (name, mention) = match word.split_once('@') {
        Some((name, mention)) => (name, Some(mention)),
        None => (word, None),
    };
    if let (Some(mention), Some(own)) = (mention, own_username)
        && !mention.eq_ignore_ascii_case(own)
    {
        return None;
    }
    if name.is_empty() {
        return None;
    }
    Some(match name.to_lowercase().as_str() {
        "start" => Command::Start,
        "help" => Command::Help,
        "whoami" => Command::WhoAmI,
        "newtag" => Command::NewTag(args.to_owned()),
        _ => Command::Unknown(name.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_not_a_command() {
        assert_eq!(parse("hello /newtag x", Some("TagBot")), None);
        assert_eq!(parse("/ newtag", Some("TagBot")), None);
    }

    #[test]
    fn newtag_keeps_its_argument_text_for_validation() {
        assert_eq!(parse("/newtag  VIP customers ", None), Some(Command::NewTag("  VIP customers ".into())));
        assert_eq!(parse("/newtag", None), Some(Command::NewTag(String::new())));
        assert_eq!(parse("/newtag\nVIP", None), Some(Command::NewTag("\nVIP".into())));
    }

    #[test]
    fn mention_of_this_bot_is_accepted_in_any_case() {
        assert_eq!(parse("/newtag@tagbot VIP", Some("TagBot")), Some(Command::NewTag(" VIP".into())));
    }

    #[test]
    fn commands_for_other_bots_are_not_ours() {
        assert_eq!(parse("/newtag@OtherBot VIP", Some("TagBot")), None);
        assert_eq!(parse("/help@OtherBot", Some("TagBot")), None);
    }

    #[test]
    fn command_names_are_case_insensitive_and_unknown_ones_are_kept() {
        assert_eq!(parse("/WhoAmI", None), Some(Command::WhoAmI));
        assert_eq!(parse("/deltag x", None), Some(Command::Unknown("deltag".into())));
    }
}
