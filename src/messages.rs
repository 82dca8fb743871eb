//! Every sentence a person reads in a chat or on the console, in one place, in one voice.
//!
//! Functions here take typed facts and return a [`Reply`]; they never decide anything.
//! Text that came from a person or from MantaGo goes in through [`Reply::quoted`] and friends,
//! so the renderer escapes it.

use std::time::{Duration, SystemTime};

use crate::bots::MantaBot;
use crate::credentials::Broken;
use crate::ids::{BotId, BotLabel, ChatId, UserId};
use crate::mantago::MantaError;
use crate::reply::Reply;
use crate::tag_name::{MAX_TAG_NAME_CHARS, TagNameError};

/// Where MantaGo shows a bot's API token and secret key.
const DASHBOARD_PATH: &str = "Bot Dashboard → Settings → Advanced Settings → API Integration Settings";
/// How much of MantaGo's own error message is shown.
const MAX_DETAIL_CHARS: usize = 200;

/// The commands offered in Telegram's autocomplete menu (`setMyCommands`), with descriptions.
pub const COMMAND_MENU: &[(&str, &str)] = &[
    ("newtag", "Create a MantaGo client tag: /newtag VIP customers"),
    ("whoami", "Show your user ID, this chat's ID and its MantaGo bot"),
    ("help", "What this bot does and how to use it"),
];

/// What a person may do in the chat they are asking from.
#[derive(Debug, Clone, Copy)]
pub struct Standing<'a> {
    /// The person asking.
    pub user: UserId,
    /// Whether they are in `ADMIN_IDS`.
    pub is_admin: bool,
    /// The chat they are asking from.
    pub chat: ChatId,
    /// The MantaGo bot linked to that chat.
    pub bot: Option<&'a MantaBot>,
}

/// `/start` and `/help`.
pub fn help(who: Standing<'_>) -> Reply {
    let reply = Reply::new()
        .bold("manta-tagbot")
        .text(" creates MantaGo client tags from this chat.\n\n")
        .code("/whoami")
        .text(" — your user ID, this chat's ID and its MantaGo bot\n")
        .code("/help")
        .text(" — this message\n");
    match (who.is_admin, who.bot) {
        (true, Some(bot)) => reply
            .code("/newtag <name>")
            .text(" — create a client tag on MantaGo bot ")
            .bold(bot.label.as_str())
            .text(", e.g. ")
            .code("/newtag VIP customers"),
        (true, None) => reply
            .text("\nYou are an admin, but this chat is not linked to a MantaGo bot, so ")
            .code("/newtag")
            .text(" does not work here. ")
            .text(link_hint(who.chat)),
        (false, _) => reply
            .text("\nCreating tags is for admins. Your user ID is ")
            .code(who.user.to_string())
            .text("; ask the operator to add it to ADMIN_IDS if you should have access."),
    }
}

/// `/whoami`: what an operator needs to fill in the configuration.
pub fn whoami(who: Standing<'_>, private: bool) -> Reply {
    let reply = Reply::new()
        .text("Your user ID: ")
        .code(who.user.to_string())
        .text(if who.is_admin { " (admin)\n" } else { " (not an admin)\n" })
        .text(if private { "This private chat: " } else { "This chat: " })
        .code(who.chat.to_string())
        .text("\n");
    match who.bot {
        Some(bot) => reply
            .text("Linked MantaGo bot: ")
            .bold(bot.label.as_str())
            .text(" (ID ")
            .code(bot.id.as_str())
            .text(")"),
        None => reply.text("Linked MantaGo bot: none. ").text(link_hint(who.chat)),
    }
}

fn link_hint(chat: ChatId) -> String {
    format!("To link it, add {chat} to MANTA_CHATS (or MANTA_<LABEL>_CHATS) and restart the bot.")
}

/// `/newtag` from someone who is not an admin.
pub fn not_an_admin(user: UserId) -> Reply {
    Reply::new()
        .text("Sorry, only admins can create tags. Your user ID is ")
        .code(user.to_string())
        .text(" — ask the operator to add it to ADMIN_IDS.")
}

/// `/newtag` in a chat that no MantaGo bot is linked to.
pub fn chat_not_linked(chat: ChatId) -> Reply {
    Reply::new()
        .text("This chat (ID ")
        .code(chat.to_string())
        .text(") is not linked to any MantaGo bot, so tags cannot be created here. ")
        .text(link_hint(chat))
}

/// `/newtag` with a name that cannot be used.
pub fn bad_tag_name(problem: TagNameError) -> Reply {
    let reason = match problem {
        TagNameError::Missing => "Please give the tag a name.".to_owned(),
        TagNameError::MultiLine => "The name must fit on one line.".to_owned(),
        TagNameError::TooLong(n) => {
            format!("That name has {n} characters; the limit is {MAX_TAG_NAME_CHARS}.")
        }
        TagNameError::ControlCharacter => {
            "The name contains an invisible control character (such as a tab).".to_owned()
        }
    };
    Reply::new()
        .text(reason)
        .text("\nUsage: ")
        .code("/newtag <name>")
        .text(format!(" — 1 to {MAX_TAG_NAME_CHARS} characters on one line, e.g. "))
        .code("/newtag VIP customers")
}

/// An unknown command (to admins, and to anyone in a private chat).
pub fn unknown_command(name: &str) -> Reply {
    Reply::new()
        .text("I don't know the command ")
        .code(format!("/{name}"))
        .text(". Send ")
        .code("/help")
        .text(" to see what I can do.")
}

/// The tag exists now.
pub fn tag_created(name: &str, bot: &MantaBot) -> Reply {
    Reply::new()
        .text("✅ Created the client tag ")
        .quoted(name)
        .text(" on MantaGo bot ")
        .bold(bot.label.as_str())
        .text(" (ID ")
        .code(bot.id.as_str())
        .text(").")
}

/// Something inside the bot failed; the reference leads to the log line.
pub fn internal_error(reference: &str) -> Reply {
    Reply::new().text("⚠️ Something went wrong inside the bot (internal error). The operator can find details in the log under ref ").code(reference).text(".")
}

/// A command that waited too long to arrive (the bot was offline) and was not carried out.
pub fn stale_command(command: &str, sent_at: SystemTime, max_age: Duration) -> Reply {
    Reply::new()
        .text("⏭️ Skipped ")
        .code(format!("/{command}"))
        .text(format!(
            ": it was sent at {} and reached me more than {} later (the bot was probably offline), so nothing was done. Send it again if you still want it.",
            utc(sent_at),
            minutes_or_seconds(max_age),
        ))
}

/// `5 min` for whole minutes, `90 s` otherwise.
fn minutes_or_seconds(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// A MantaGo call failed: what happened, what to do, and the reference for the log.
pub fn manta_failure(name: &str, bot: &MantaBot, error: &MantaError, reference: &str) -> Reply {
    let head = Reply::new().text("❌ The tag ").quoted(name).text(" was not created");
    let secret_var = format!("{}SECRET", bot.env_prefix);
    let paste_new_pair = |reply: Reply| paste_new_pair(reply, &bot.env_prefix);
    let body = match error {
        MantaError::Api { status: 401, code: 120000, .. } => paste_new_pair(
            head.text(": the MantaGo credentials of bot ")
                .bold(bot.label.as_str())
                .text(" were replaced by a refresh elsewhere (for example in the dashboard), so the old pair no longer works."),
        ),
        MantaError::Api { status: 401, .. } | MantaError::UnexpectedBody { status: 401 } => {
            paste_new_pair(head.text(": the MantaGo API token of bot ").bold(bot.label.as_str()).text(" is invalid or expired."))
        }
        MantaError::Api { status: 403, .. } | MantaError::UnexpectedBody { status: 403 } => head
            .text(": MantaGo refused (permission denied). Either the secret key does not match the token, or the MantaGo plan does not include the Open API. Operator: check ")
            .code(secret_var.clone())
            .text(" and the plan."),
        MantaError::Api { status: 404, .. } | MantaError::UnexpectedBody { status: 404 } => head
            .text(": MantaGo does not know bot ID ")
            .code(bot.id.as_str())
            .text(", or its Open API is not configured. Operator: check ")
            .code(format!("{}BOT_ID", bot.env_prefix))
            .text(" and the bot's API Integration Settings."),
        MantaError::RateLimited { .. } => head.text(": MantaGo is rate-limiting requests, and retrying did not help. Please try again in a minute."),
        MantaError::Api { status, .. } | MantaError::UnexpectedBody { status } if *status >= 500 => head.text(
            format!(": MantaGo had a problem (HTTP {status}). The tag was probably not created; try again in a few minutes."),
        ),
        MantaError::UnexpectedBody { status } if (200..300).contains(status) => Reply::new()
            .text("⚠️ MantaGo accepted the request for ")
            .quoted(name)
            .text(format!(" (HTTP {status}) but its answer was not what I expected. The tag may or may not exist — check the MantaGo dashboard before sending the command again.")),
        MantaError::UnexpectedBody { status } => {
            head.text(format!(": MantaGo answered HTTP {status} with something I did not understand. The tag was probably not created."))
        }
        MantaError::Api { status, code, .. } => head.text(format!(": MantaGo refused the request (HTTP {status}, code {code}).")),
        MantaError::Timeout(limit) => Reply::new()
            .text(format!("⚠️ MantaGo did not answer within {}. The tag ", seconds(*limit)))
            .quoted(name)
            .text(" may or may not exist — check the MantaGo dashboard before sending the command again."),
        MantaError::Unreachable(_) => head.text(": MantaGo could not be reached. Nothing was created; please try again later. If this keeps happening, the operator should check the network and MANTA_API_URL."),
    };
    with_reference(with_detail(body, error), reference)
}

fn with_detail(reply: Reply, error: &MantaError) -> Reply {
    match error {
        MantaError::Api { message, .. } if !message.trim().is_empty() => {
            reply.text("\nMantaGo said: ").quoted(truncate(message.trim(), MAX_DETAIL_CHARS))
        }
        _ => reply,
    }
}

fn with_reference(reply: Reply, reference: &str) -> Reply {
    reply.text("\nRef: ").code(reference)
}

fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs())
}

/// Cuts `text` to at most `max` characters, marking the cut with an ellipsis.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Notice to the admins: with auto-refresh off, the token expires soon.
pub fn token_expires_soon(
    label: &BotLabel,
    bot: &BotId,
    env_prefix: &str,
    expires_at: SystemTime,
    now: SystemTime,
) -> Reply {
    let left = expires_at.duration_since(now).unwrap_or_default();
    let head = Reply::new()
        .text("⏳ The MantaGo API token of bot ")
        .bold(label.as_str())
        .text(" (ID ")
        .code(bot.as_str())
        .text(format!(") expires on {} (in {}).", utc(expires_at), days_and_hours(left)))
        .text(" Automatic refresh is off (MANTA_AUTO_REFRESH=false).");
    paste_new_pair(head, env_prefix)
}

/// Notice to the admins: the pair stopped working.
pub fn credentials_broken(label: &BotLabel, bot: &BotId, env_prefix: &str, why: Broken) -> Reply {
    let head = Reply::new()
        .text("🔑 Tags can no longer be created on MantaGo bot ")
        .bold(label.as_str())
        .text(" (ID ")
        .code(bot.as_str());
    let head = match why {
        Broken::Rejected => {
            head.text("): MantaGo says its API token is invalid or expired, and refreshing it did not help.")
        }
        Broken::Replaced => head
            .text("): its credentials were replaced by a refresh elsewhere (for example in the dashboard)."),
    };
    paste_new_pair(head, env_prefix)
}

/// Notice to the admins: an attempt to refresh the pair failed.
pub fn refresh_failed(
    label: &BotLabel,
    bot: &BotId,
    env_prefix: &str,
    error: &MantaError,
    expires_at: Option<SystemTime>,
) -> Reply {
    let mut reply = Reply::new()
        .text("🔑 Refreshing the MantaGo credentials of bot ")
        .bold(label.as_str())
        .text(" (ID ")
        .code(bot.as_str())
        .text(format!(") failed: {}.", refresh_failure_reason(error)));
    reply = match expires_at {
        Some(at) => reply.text(format!(" The current pair stays in use; its token expires on {}.", utc(at))),
        None => reply.text(" The current pair stays in use."),
    };
    if matches!(error, MantaError::Timeout(_)) {
        reply = reply.text(" MantaGo may have issued a new pair whose answer never arrived; if tag creation starts failing, the old pair was retired.");
    }
    paste_new_pair(reply.text(" I will try again later. If it keeps failing:"), env_prefix)
}

/// Notice to the admins: a refreshed pair is in use but could not be saved.
pub fn pair_not_saved(label: &BotLabel, bot: &BotId, db: &std::path::Path) -> Reply {
    Reply::new()
        .text("💾 MantaGo bot ")
        .bold(label.as_str())
        .text(" (ID ")
        .code(bot.as_str())
        .text(") received a new credential pair, but it could not be saved to ")
        .code(db.display().to_string())
        .text(". It is in use, but would be lost if the bot restarted now — and the old pair no longer works. Operator: make DATA_DIR writable (disk space, permissions) without restarting; the bot saves the pair as soon as it can.")
}

fn refresh_failure_reason(error: &MantaError) -> String {
    match error {
        MantaError::Api { status: 401, code: 120000, .. } => {
            "the pair was already replaced by a refresh elsewhere".into()
        }
        MantaError::Api { status: 401, .. } => {
            "MantaGo no longer accepts this pair (token invalid or expired)".into()
        }
        MantaError::Api { status: 403, .. } => {
            "permission denied (wrong secret key, or the plan lacks the Open API)".into()
        }
        MantaError::Api { status, code, .. } => format!("MantaGo answered HTTP {status} (code {code})"),
        MantaError::RateLimited { .. } => "MantaGo is rate-limiting".into(),
        MantaError::Timeout(limit) => format!("MantaGo did not answer within {}", seconds(*limit)),
        MantaError::Unreachable(_) => "MantaGo could not be reached".into(),
        MantaError::UnexpectedBody { status } => {
            format!("MantaGo answered HTTP {status} with something unexpected")
        }
    }
}

fn paste_new_pair(reply: Reply, env_prefix: &str) -> Reply {
    reply
        .text(" Operator: copy a fresh API token and secret key from the MantaGo dashboard (")
        .text(DASHBOARD_PATH)
        .text(") into ")
        .code(format!("{env_prefix}TOKEN"))
        .text(" and ")
        .code(format!("{env_prefix}SECRET"))
        .text(", then restart the bot.")
}

/// What `manta-tagbot credentials` shows about one bot.
#[derive(Debug)]
pub struct CredentialStatus<'a> {
    /// The bot's label.
    pub label: &'a BotLabel,
    /// The bot's ID.
    pub bot: &'a BotId,
    /// The live token's lifetime, if it is a JWT.
    pub lifetime: Option<crate::jwt::Lifetime>,
    /// Where the live pair came from.
    pub origin: crate::state::Origin,
    /// When the live pair was stored (`None`: pasted, not yet used by the daemon).
    pub since: Option<SystemTime>,
    /// When a refresh was last attempted.
    pub last_refresh: Option<SystemTime>,
    /// Why that refresh failed, if it did.
    pub last_refresh_error: Option<&'a str>,
}

/// One line of `manta-tagbot credentials` (never a secret).
pub fn credential_status(s: &CredentialStatus<'_>, now: SystemTime) -> String {
    let expiry = match s.lifetime {
        None => "token expiry unknown (not a JWT)".to_owned(),
        Some(l) => match l.expires_at.duration_since(now) {
            Ok(left) => format!("token expires {} ({} left)", utc(l.expires_at), days_and_hours(left)),
            Err(_) => format!("token EXPIRED {}", utc(l.expires_at)),
        },
    };
    let origin = match (s.origin, s.since) {
        (_, None) => "origin: configured (new; the daemon stores it at its next start)".to_owned(),
        (crate::state::Origin::Configured, Some(at)) => format!("origin: configured, stored {}", utc(at)),
        (crate::state::Origin::Rotated, Some(at)) => format!("origin: rotated {}", utc(at)),
    };
    let refresh = match (s.last_refresh, s.last_refresh_error) {
        (None, _) => "last refresh: never".to_owned(),
        (Some(at), None) => format!("last refresh: {} (ok)", utc(at)),
        (Some(at), Some(error)) => format!("last refresh: {} (FAILED: {error})", utc(at)),
    };
    format!("{} (bot ID {}): {expiry}; {origin}; {refresh}", s.label, s.bot)
}

/// A moment as people read it: `2026-12-03 10:15 UTC`.
pub fn utc(time: SystemTime) -> String {
    let text = humantime::format_rfc3339_seconds(time).to_string();
    format!("{} UTC", text.get(..16).unwrap_or(&text).replace('T', " "))
}

fn days_and_hours(d: Duration) -> String {
    let hours = d.as_secs() / 3600;
    match (hours / 24, hours % 24) {
        (0, h) => format!("{h} h"),
        (days, 0) => format!("{days} days"),
        (days, h) => format!("{days} days {h} h"),
    }
}

#[cfg(test)]
mod tests;
