//! The Telegram adapter: teloxide's dispatcher in, the command core in the middle, throttled
//! `sendMessage` out. It translates and nothing more; every decision is the core's.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use secrecy::ExposeSecret;
use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::{Limits, Settings};
use teloxide::dispatching::ShutdownToken;
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use teloxide::types::{BotCommand, LinkPreviewOptions, Me, MessageId, ParseMode, ReplyParameters};
use teloxide::{ApiError, RequestError};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::chat_queue::ChatQueues;
use crate::config::TelegramConfig;
use crate::core::{Core, Incoming};
use crate::credentials::Notice;
use crate::health::Health;
use crate::ids;
use crate::messages::COMMAND_MENU;
use crate::polling::Listener;
use crate::reply::Reply;

/// Why the Telegram adapter stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    /// Telegram answered that the token is not a valid bot token. The caller reports it as a
    /// configuration mistake (exit status 2).
    #[error("Telegram rejected TELOXIDE_TOKEN (Unauthorized)")]
    TokenRejected,
    /// The dispatcher could not start after `getMe` had succeeded once.
    #[error("could not start receiving updates from Telegram: {0}")]
    Dispatch(RequestError),
}

type TgBot = Throttle<Bot>;

/// How many 429 "Too Many Requests" answers one reply may meet before it is given up.
const MAX_FLOOD_RETRIES: u32 = 10;

/// What the operator's side of the daemon needs from the adapter.
#[derive(Debug, Clone)]
pub struct Operations {
    /// Where the update loop reports that it is alive and Telegram answers (`/healthz`).
    pub health: Arc<Health>,
    /// `SHUTDOWN_TIMEOUT_SECS`: how long commands in flight may take after the stop signal.
    pub shutdown_timeout: Duration,
}

/// Runs the bot until `shutdown` resolves, then lets commands in flight finish, for at most
/// `ops.shutdown_timeout`.
pub async fn run(
    config: &TelegramConfig,
    core: Core,
    notices: mpsc::UnboundedReceiver<Notice>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    ops: Operations,
) -> Result<(), TelegramError> {
    let mut bot = Bot::new(config.token.expose_secret());
    if let Some(url) = &config.api_url {
        bot = bot.set_api_url(url.clone());
    }
    let mut shutdown = Box::pin(shutdown);
    let me = tokio::select! {
        me = connect(&bot) => me?,
        () = &mut shutdown => {
            tracing::info!("stopped before Telegram could be reached");
            return Ok(());
        }
    };
    let username = me.user.username.clone();
    tracing::info!(username = username.as_deref().unwrap_or(""), "connected to Telegram");
    ops.health.telegram_answered();
    let core = Arc::new(core.with_username(username));

    // Telegram allows 20 messages a minute in any group; teloxide's default is stricter (10).
    // Overall it allows 30 a second; Throttle counts a message when it lets it go, Telegram
    // when it arrives, so network jitter can push a full 30 over the line: keep 25.
    // 429s are retried by `deliver`, not by Throttle, so they can be counted; Throttle still
    // pauses all sending for the `retry_after` Telegram asks for.
    let limits = Limits {
        messages_per_min_channel_or_supergroup: 20,
        messages_per_sec_overall: 25,
        ..Limits::default()
    };
    let poller = bot.clone();
    let bot = Throttle::spawn_with_settings(bot, Settings::default().limits(limits).no_retry());
    register_commands(&bot).await;
    tokio::spawn(deliver_notices(bot.clone(), core.clone(), notices));

    let in_flight = Arc::new(InFlight::default());
    let queues = {
        let (bot, core, in_flight) = (bot.clone(), core.clone(), in_flight.clone());
        ChatQueues::new(move |msg: Message| {
            let (bot, core, in_flight) = (bot.clone(), core.clone(), in_flight.clone());
            Box::pin(async move { on_message(bot, msg, core, in_flight).await })
        })
    };
    let handler = Update::filter_message().endpoint(enqueue);
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler)
        .dependencies(dptree::deps![queues.clone()])
        .default_handler(|_| async {})
        .error_handler(LoggingErrorHandler::with_custom_text("error while handling an update"))
        .build();
    let stopping = CancellationToken::new();
    tokio::spawn(stop_on(shutdown, dispatcher.shutdown_token(), ops.health.clone(), stopping.clone()));

    let listener = Listener::start(poller, ops.health.clone()).await;
    let dispatching = dispatcher.try_dispatch_with_listener(
        listener,
        LoggingErrorHandler::with_custom_text("error while receiving updates"),
    );
    let everything = async {
        dispatching.await?;
        queues.drain_all().await;
        Ok(())
    };
    tokio::select! {
        done = everything => {
            done.map_err(TelegramError::Dispatch)?;
            tracing::info!("stopped receiving updates; commands in flight have finished");
        }
        () = async {
            stopping.cancelled().await;
            tokio::time::sleep(ops.shutdown_timeout).await;
        } => abandon(&in_flight, ops.shutdown_timeout),
    }
    Ok(())
}

/// The drain ran out of time: say what is left behind, for the operator to check.
fn abandon(in_flight: &InFlight, timeout: Duration) {
    let commands = in_flight.list();
    let secs = timeout.as_secs();
    if commands.is_empty() {
        tracing::warn!(
            "SHUTDOWN_TIMEOUT_SECS ({secs} s) ran out with no command in flight; exiting without confirming the last updates to Telegram"
        );
    } else {
        tracing::warn!(
            abandoned = commands.len(),
            "SHUTDOWN_TIMEOUT_SECS ({secs} s) ran out; abandoning {} command(s) in flight, whose replies will not be sent (a /newtag may or may not have created its tag): {}",
            commands.len(),
            commands.join("; ")
        );
    }
}

/// The commands being handled right now, so a shutdown that runs out of time can say what it
/// abandons.
#[derive(Debug, Default)]
struct InFlight {
    next: AtomicU64,
    commands: Mutex<BTreeMap<u64, String>>,
}

/// Keeps one command listed in [`InFlight`] until dropped.
struct InFlightEntry {
    registry: Arc<InFlight>,
    id: u64,
}

impl InFlight {
    fn enter(self: &Arc<Self>, what: String) -> InFlightEntry {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.commands.lock().unwrap_or_else(|p| p.into_inner()).insert(id, what);
        InFlightEntry { registry: self.clone(), id }
    }

    fn list(&self) -> Vec<String> {
        self.commands.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }
}

impl Drop for InFlightEntry {
    fn drop(&mut self) {
        self.registry.commands.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
    }
}

/// Sends each notice to every admin's private chat. An admin who never started a chat with the
/// bot cannot be reached (Telegram forbids it); the log says so.
async fn deliver_notices(bot: TgBot, core: Arc<Core>, mut notices: mpsc::UnboundedReceiver<Notice>) {
    while let Some(notice) = notices.recv().await {
        for admin in core.admins() {
            let chat = teloxide::types::ChatId(admin.0);
            if let Err(error) = deliver(&bot, chat, &notice.reply, None).await {
                tracing::warn!(user_id = admin.0, bot_label = %notice.bot_label, %error,
                    "could not tell an admin about the credentials (they may need to send /start to the bot first)");
            }
        }
    }
}

/// `getMe` until Telegram answers: a rejected token is fatal, anything else is retried with
/// backoff, because a network that is down at start is not a configuration mistake.
async fn connect(bot: &Bot) -> Result<Me, TelegramError> {
    let mut delay = Duration::from_secs(1);
    loop {
        match bot.get_me().await {
            Ok(me) => return Ok(me),
            Err(RequestError::Api(ApiError::InvalidToken)) => return Err(TelegramError::TokenRejected),
            Err(error) => {
                // teloxide redacts the token from network errors.
                tracing::warn!(%error, retry_in_secs = delay.as_secs(), "Telegram cannot be reached; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        }
    }
}

async fn register_commands(bot: &TgBot) {
    let menu = COMMAND_MENU.iter().map(|(name, about)| BotCommand::new(*name, *about));
    if let Err(error) = bot.set_my_commands(menu).await {
        tracing::warn!(%error, "could not register the command menu with Telegram (setMyCommands)");
    }
}

/// Waits for `shutdown`, then asks the dispatcher to stop taking updates and starts the drain's
/// clock (`stopping`).
async fn stop_on(
    shutdown: impl Future<Output = ()>,
    token: ShutdownToken,
    health: Arc<Health>,
    stopping: CancellationToken,
) {
    shutdown.await;
    health.shutting_down();
    stopping.cancel();
    tracing::info!("shutting down: no new updates; finishing commands in flight");
    // Until dispatching has started, the token refuses; keep asking until it accepts.
    loop {
        match token.shutdown() {
            Ok(done) => return done.await,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The dispatcher's handler: hands the message to its chat's queue and returns at once.
async fn enqueue(msg: Message, queues: Arc<ChatQueues<Message>>) -> ResponseResult<()> {
    queues.push(msg.chat.id.0, msg);
    Ok(())
}

async fn on_message(bot: TgBot, msg: Message, core: Arc<Core>, in_flight: Arc<InFlight>) {
    if let Some(new) = msg.migrate_to_chat_id() {
        core.chat_migrated(ids::ChatId(msg.chat.id.0), ids::ChatId(new.0));
        return;
    }
    let (Some(text), Some(from)) = (msg.text(), msg.from.as_ref()) else {
        return; // stickers, joins, channel posts: not commands
    };
    if from.is_bot {
        return;
    }
    let Ok(user) = i64::try_from(from.id.0) else {
        return;
    };
    let _in_flight = text.starts_with('/').then(|| {
        let first_line = text.lines().next().unwrap_or("");
        let shown: String = first_line.chars().take(80).collect();
        in_flight.enter(format!("{shown:?} in chat {} from user {user}", msg.chat.id.0))
    });
    let incoming = Incoming {
        user: ids::UserId(user),
        username: from.username.as_deref(),
        chat: ids::ChatId(msg.chat.id.0),
        private: msg.chat.is_private(),
        text,
        sent_at: u64::try_from(msg.date.timestamp()).ok().map(|secs| UNIX_EPOCH + Duration::from_secs(secs)),
    };
    if let Some(reply) = core.handle(incoming).await {
        send(&bot, &msg, &reply).await;
    }
}

/// Sends a reply. In groups it answers the command's message, so busy chats stay readable.
async fn send(bot: &TgBot, to: &Message, reply: &Reply) {
    let answer_to = (!to.chat.is_private()).then_some(to.id);
    if let Err(error) = deliver(bot, to.chat.id, reply, answer_to).await {
        tracing::error!(chat_id = to.chat.id.0, %error, "could not send the reply");
    }
}

/// Sends `reply` to `chat` (as an answer to message `answer_to`, if given). A 429 from
/// Telegram's flood control is waited out and sent again, up to [`MAX_FLOOD_RETRIES`] times;
/// markup that Telegram refuses (it should never happen: everything is escaped) is sent again
/// as plain text, so the words still get through.
async fn deliver(
    bot: &TgBot,
    chat: ChatId,
    reply: &Reply,
    answer_to: Option<MessageId>,
) -> Result<(), RequestError> {
    let no_preview = LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    };
    let mut plain = false;
    let mut flood_retries = 0;
    loop {
        let mut request = if plain {
            bot.send_message(chat, reply.to_plain())
        } else {
            bot.send_message(chat, reply.to_html()).parse_mode(ParseMode::Html)
        };
        request = request.link_preview_options(no_preview.clone());
        if let Some(id) = answer_to {
            request = request.reply_parameters(ReplyParameters::new(id).allow_sending_without_reply());
        }
        match request.await {
            Ok(_) => return Ok(()),
            Err(RequestError::RetryAfter(after)) => {
                crate::metrics::telegram_rate_limited();
                if flood_retries >= MAX_FLOOD_RETRIES {
                    crate::metrics::telegram_send_failed("rate_limited");
                    return Err(RequestError::RetryAfter(after));
                }
                flood_retries += 1;
                tracing::warn!(
                    chat_id = chat.0,
                    retry_after_secs = after.seconds(),
                    "Telegram flood control (429): sending the message again after the wait"
                );
                tokio::time::sleep(after.duration()).await;
            }
            Err(RequestError::Api(ApiError::CantParseEntities(why))) if !plain => {
                crate::metrics::telegram_send_failed("markup");
                tracing::error!(chat_id = chat.0, %why, "Telegram refused the reply's markup; sending it as plain text");
                plain = true;
            }
            Err(error) => {
                crate::metrics::telegram_send_failed("error");
                return Err(error);
            }
        }
    }
}
