//! The Telegram adapter: teloxide's dispatcher in, the command core in the middle, throttled
//! `sendMessage` out. It translates and nothing more; every decision is the core's.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use secrecy::ExposeSecret;
use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::Limits;
use teloxide::dispatching::ShutdownToken;
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use teloxide::types::{BotCommand, LinkPreviewOptions, Me, ParseMode, ReplyParameters};
use teloxide::{ApiError, RequestError};
use tokio::sync::mpsc;

use crate::config::TelegramConfig;
use crate::core::{Core, Incoming};
use crate::credentials::Notice;
use crate::ids;
use crate::messages::COMMAND_MENU;
use crate::reply::Reply;

/// Why the Telegram adapter stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    /// Telegram answered that the token is not a valid bot token.
    #[error(
        "TELOXIDE_TOKEN: Telegram rejected this token (Unauthorized); copy it again from @BotFather (example: TELOXIDE_TOKEN=123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw)"
    )]
    TokenRejected,
    /// The dispatcher could not start after `getMe` had succeeded once.
    #[error("could not start receiving updates from Telegram: {0}")]
    Dispatch(RequestError),
}

type TgBot = Throttle<Bot>;

/// Runs the bot until `shutdown` resolves, then lets commands in flight finish.
pub async fn run(
    config: &TelegramConfig,
    core: Core,
    notices: mpsc::UnboundedReceiver<Notice>,
    shutdown: impl Future<Output = ()> + Send + 'static,
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
    let core = Arc::new(core.with_username(username));

    // Telegram allows 20 messages a minute in any group; teloxide's default is stricter (10).
    let limits = Limits { messages_per_min_channel_or_supergroup: 20, ..Limits::default() };
    let bot = bot.throttle(limits);
    register_commands(&bot).await;
    tokio::spawn(deliver_notices(bot.clone(), core.clone(), notices));

    let handler = Update::filter_message().endpoint(on_message);
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler)
        .dependencies(dptree::deps![core])
        .default_handler(|_| async {})
        .error_handler(LoggingErrorHandler::with_custom_text("error while handling an update"))
        .build();
    tokio::spawn(stop_on(shutdown, dispatcher.shutdown_token()));

    let listener = teloxide::update_listeners::polling_default(bot).await;
    dispatcher
        .try_dispatch_with_listener(
            listener,
            LoggingErrorHandler::with_custom_text("error while receiving updates"),
        )
        .await
        .map_err(TelegramError::Dispatch)?;
    tracing::info!("stopped receiving updates; commands in flight have finished");
    Ok(())
}

/// Sends each notice to every admin's private chat. An admin who never started a chat with the
/// bot cannot be reached (Telegram forbids it); the log says so.
async fn deliver_notices(bot: TgBot, core: Arc<Core>, mut notices: mpsc::UnboundedReceiver<Notice>) {
    while let Some(notice) = notices.recv().await {
        for admin in core.admins() {
            let chat = teloxide::types::ChatId(admin.0);
            let sent = bot.send_message(chat, notice.reply.to_html()).parse_mode(ParseMode::Html).await;
            if let Err(error) = sent {
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

/// Waits for `shutdown`, then asks the dispatcher to stop taking updates.
async fn stop_on(shutdown: impl Future<Output = ()>, token: ShutdownToken) {
    shutdown.await;
    tracing::info!("shutting down: no new updates; finishing commands in flight");
    // Until dispatching has started, the token refuses; keep asking until it accepts.
    loop {
        match token.shutdown() {
            Ok(done) => return done.await,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn on_message(bot: TgBot, msg: Message, core: Arc<Core>) -> ResponseResult<()> {
    let (Some(text), Some(from)) = (msg.text(), msg.from.as_ref()) else {
        return Ok(()); // stickers, joins, channel posts: not commands
    };
    if from.is_bot {
        return Ok(());
    }
    let Ok(user) = i64::try_from(from.id.0) else {
        return Ok(());
    };
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
    Ok(())
}

/// Sends a reply. In groups it answers the command's message, so busy chats stay readable.
async fn send(bot: &TgBot, to: &Message, reply: &Reply) {
    let no_preview = LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    };
    let mut request = bot
        .send_message(to.chat.id, reply.to_html())
        .parse_mode(ParseMode::Html)
        .link_preview_options(no_preview);
    if !to.chat.is_private() {
        request = request.reply_parameters(ReplyParameters::new(to.id).allow_sending_without_reply());
    }
    match request.await {
        Ok(_) => {}
        // Should never happen since everything is escaped; if it does, the text still gets through.
        Err(RequestError::Api(ApiError::CantParseEntities(why))) => {
            tracing::error!(chat_id = to.chat.id.0, %why, "Telegram refused the reply's markup; sending it as plain text");
            if let Err(error) = bot.send_message(to.chat.id, reply.to_plain()).await {
                tracing::error!(chat_id = to.chat.id.0, %error, "could not send the reply");
            }
        }
        Err(error) => tracing::error!(chat_id = to.chat.id.0, %error, "could not send the reply"),
    }
}
