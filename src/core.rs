//! The command core: `(who, where, text) → reply`, with no idea which transport carried it.
//!
//! Authorization, chat linking, validation, the MantaGo call, the audit event and panic
//! containment happen here, once; the Telegram and console adapters only translate.

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::FutureExt;

use crate::bots::{ChatLinks, LinkedBot};
use crate::clock::{Clock, SystemClock};
use crate::command::{self, Command};
use crate::config::DEFAULT_MAX_COMMAND_AGE_SECS;
use crate::credentials::Broken;
use crate::ids::{ChatId, UserId};
use crate::mantago::{MantaClient, MantaError};
use crate::messages::{self, Standing};
use crate::reply::Reply;
use crate::tag_name::TagName;

/// One incoming message, as any transport sees it.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// The sender's numeric ID (the only thing authorization trusts).
    pub user: UserId,
    /// The sender's username, for the audit log only.
    pub username: Option<&'a str>,
    /// Where it was sent.
    pub chat: ChatId,
    /// Whether that chat is the sender's private chat with the bot.
    pub private: bool,
    /// The message text.
    pub text: &'a str,
    /// When the sender sent it, if the transport says (Telegram does; the console does not).
    pub sent_at: Option<SystemTime>,
}

/// The command core.
#[derive(Debug)]
pub struct Core {
    admins: BTreeSet<UserId>,
    links: ChatLinks,
    manta: MantaClient,
    own_username: Option<String>,
    clock: Arc<dyn Clock>,
    /// Commands older than this when they arrive are skipped (`MAX_COMMAND_AGE_SECS`).
    max_command_age: Duration,
}

/// How a command ended, for the audit log and metrics.
#[derive(Debug, Default)]
struct Outcome {
    kind: &'static str,
    bot: Option<Arc<LinkedBot>>,
    tag: Option<String>,
    http_status: Option<u16>,
    manta_code: Option<i64>,
}

impl Outcome {
    fn new(kind: &'static str) -> Self {
        Self { kind, ..Self::default() }
    }
}

impl Core {
    /// A core serving `admins` and the bots in `links`, talking to MantaGo through `manta`.
    pub fn new(admins: BTreeSet<UserId>, links: ChatLinks, manta: MantaClient) -> Self {
        Self {
            admins,
            links,
            manta,
            own_username: None,
            clock: Arc::new(SystemClock),
            max_command_age: Duration::from_secs(DEFAULT_MAX_COMMAND_AGE_SECS),
        }
    }

    /// Skips commands older than `age` when they arrive (default: 300 s).
    pub fn with_max_command_age(mut self, age: Duration) -> Self {
        self.max_command_age = age;
        self
    }

    /// When `msg` was sent, if that is longer ago than commands may wait (PRODUCT.md §5).
    fn stale_since(&self, msg: Incoming<'_>) -> Option<SystemTime> {
        let sent_at = msg.sent_at?;
        // A date in the future (clock skew) is not stale.
        let age = self.clock.now().duration_since(sent_at).ok()?;
        (age > self.max_command_age).then_some(sent_at)
    }

    /// Replaces the real clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets this bot's Telegram username, so `/cmd@OtherBot` can be told apart from `/cmd@Us`.
    pub fn with_username(mut self, username: Option<String>) -> Self {
        self.own_username = username;
        self
    }

    /// The chat links, for start-up reporting.
    pub fn links(&self) -> &ChatLinks {
        &self.links
    }

    /// A group became a supergroup: the new chat ID inherits the old one's link.
    pub fn chat_migrated(&self, old: ChatId, new: ChatId) {
        self.links.chat_migrated(old, new, self.clock.now());
    }

    /// The admins, who receive notices about credentials in their private chats.
    pub fn admins(&self) -> impl Iterator<Item = UserId> + '_ {
        self.admins.iter().copied()
    }

    /// Handles one message. `None` means: not for us, stay quiet.
    pub async fn handle(&self, msg: Incoming<'_>) -> Option<Reply> {
        let command = command::parse(msg.text, self.own_username.as_deref())?;
        let reference = new_reference();
        let started = Instant::now();
        let (reply, outcome) = match contain_panic(self.execute(&command, msg, &reference)).await {
            Ok(done) => done,
            Err(what) => {
                tracing::error!(reference = %reference, panic = %what, "command panicked");
                (Some(messages::internal_error(&reference)), Outcome::new("internal_error"))
            }
        };
        audit(&reference, msg, &command, &outcome, started);
        reply
    }

    async fn execute(
        &self,
        command: &Command,
        msg: Incoming<'_>,
        reference: &str,
    ) -> (Option<Reply>, Outcome) {
        let bot = self.links.bot_for(msg.chat);
        let standing = Standing {
            user: msg.user,
            is_admin: self.admins.contains(&msg.user),
            chat: msg.chat,
            bot: bot.as_deref().map(|linked| &linked.bot),
        };
        let outcome = |kind| Outcome { bot: bot.clone(), ..Outcome::new(kind) };
        if let Some(sent_at) = self.stale_since(msg) {
            // A stranger's unknown group command gets no answer, stale or not.
            if matches!(command, Command::Unknown(_)) && !(standing.is_admin || msg.private) {
                return (None, outcome("ignored"));
            }
            let skipped = messages::stale_command(command.name(), sent_at, self.max_command_age);
            return (Some(skipped), outcome("stale"));
        }
        match command {
            Command::Start | Command::Help => (Some(messages::help(standing)), outcome("help")),
            Command::WhoAmI => (Some(messages::whoami(standing, msg.private)), outcome("whoami")),
            Command::Unknown(name) if standing.is_admin || msg.private => {
                (Some(messages::unknown_command(name)), outcome("unknown_command"))
            }
            // Strangers' unknown commands in groups are probably meant for other bots.
            Command::Unknown(_) => (None, outcome("ignored")),
            Command::NewTag(_) if !standing.is_admin => {
                (Some(messages::not_an_admin(msg.user)), outcome("not_admin"))
            }
            Command::NewTag(raw) => match (&bot, TagName::parse(raw)) {
                (None, _) => (Some(messages::chat_not_linked(msg.chat)), outcome("chat_not_linked")),
                (Some(_), Err(problem)) => (Some(messages::bad_tag_name(problem)), outcome("invalid_name")),
                (Some(bot), Ok(name)) => {
                    let (reply, outcome) = self.create_tag(bot, &name, reference).await;
                    (Some(reply), outcome)
                }
            },
        }
    }

    async fn create_tag(&self, linked: &Arc<LinkedBot>, name: &TagName, reference: &str) -> (Reply, Outcome) {
        let bot = &linked.bot;
        let result = self.create_with_refresh(linked, name).await;
        let mut outcome =
            Outcome { bot: Some(linked.clone()), tag: Some(name.to_string()), ..Outcome::default() };
        match result {
            Ok(()) => {
                outcome.kind = "created";
                outcome.http_status = Some(200);
                (messages::tag_created(name.as_str(), bot), outcome)
            }
            Err(error) => {
                outcome.kind = failure_kind(&error);
                outcome.http_status = error.http_status();
                outcome.manta_code = error.manta_code();
                tracing::warn!(reference, bot = %bot.label, error = %error, "MantaGo call failed");
                match error {
                    MantaError::Api { status: 401, code: 120000, .. } => {
                        linked.credentials.report_broken(Broken::Replaced).await
                    }
                    MantaError::Api { status: 401, code: 1004, .. } => {
                        linked.credentials.report_broken(Broken::Rejected).await
                    }
                    _ => {}
                }
                (messages::manta_failure(name.as_str(), bot, &error, reference), outcome)
            }
        }
    }

    /// Creates the tag. A 401 (token invalid or expired, or pair replaced) gets one chance with a
    /// newer pair — refreshed now, or already stored by someone else — and one retry: the only
    /// retry that cannot create a tag twice, since the first attempt was refused.
    async fn create_with_refresh(&self, linked: &LinkedBot, name: &TagName) -> Result<(), MantaError> {
        let current = linked.credentials.current().await;
        let first = self.manta.create_client_tag(&linked.bot.id, &current.pair, name).await;
        let why = match &first {
            Err(MantaError::Api { status: 401, code: 1004, .. }) => Broken::Rejected,
            Err(MantaError::Api { status: 401, code: 120000, .. }) => Broken::Replaced,
            _ => return first,
        };
        match linked.credentials.refresh_after_rejection(current.generation, why).await {
            Some(fresh) => self.manta.create_client_tag(&linked.bot.id, &fresh.pair, name).await,
            None => first,
        }
    }
}

/// A short label for each failure family, stable for log queries and metrics.
fn failure_kind(error: &MantaError) -> &'static str {
    match error {
        MantaError::Api { status: 401, code: 120000, .. } => "credentials_replaced",
        MantaError::Api { status: 401, .. } | MantaError::UnexpectedBody { status: 401 } => "token_invalid",
        MantaError::Api { status: 403, .. } | MantaError::UnexpectedBody { status: 403 } => {
            "permission_denied"
        }
        MantaError::Api { status: 404, .. } | MantaError::UnexpectedBody { status: 404 } => "bot_not_found",
        MantaError::RateLimited { .. } => "rate_limited",
        MantaError::Api { status, .. } | MantaError::UnexpectedBody { status } if *status >= 500 => {
            "manta_error"
        }
        MantaError::UnexpectedBody { .. } => "unexpected_answer",
        MantaError::Api { .. } => "refused",
        MantaError::Timeout(_) => "timeout",
        MantaError::Unreachable(_) => "unreachable",
    }
}

/// The one audit event per command (PRODUCT.md §5).
fn audit(reference: &str, msg: Incoming<'_>, command: &Command, outcome: &Outcome, started: Instant) {
    crate::metrics::command_handled(command, outcome.kind);
    tracing::info!(
        target: "audit",
        reference,
        user_id = msg.user.0,
        username = msg.username.unwrap_or(""),
        chat_id = msg.chat.0,
        bot_label = outcome.bot.as_ref().map(|b| b.bot.label.as_str()).unwrap_or(""),
        bot_id = outcome.bot.as_ref().map(|b| b.bot.id.as_str()).unwrap_or(""),
        command = command.name(),
        tag_name = outcome.tag.as_deref().unwrap_or(""),
        outcome = outcome.kind,
        http_status = outcome.http_status,
        manta_code = outcome.manta_code,
        latency_ms = started.elapsed().as_millis() as u64,
        "command handled"
    );
}

/// A short code shown in failure replies and written in the audit log, so an admin's
/// screenshot leads the operator to the right log line. No look-alike characters.
fn new_reference() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..6).map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char).collect()
}

/// Runs `work`, turning a panic inside it into `Err(message)`: one broken command must not
/// take the chat's worker (or the daemon) down with it.
async fn contain_panic<T>(work: impl std::future::Future<Output = T>) -> Result<T, String> {
    AssertUnwindSafe(work).catch_unwind().await.map_err(|panic| panic_message(panic.as_ref()))
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic payload".to_owned())
}

#[cfg(test)]
mod tests;
