//! Long polling for updates, with a pulse.
//!
//! It works like teloxide's own `Polling` (10 s long polls, offsets confirmed by the next call,
//! a final `getUpdates` on stop to confirm the last batch, backoff of 1, 2, 4 … 64 s after
//! errors, Telegram's `retry_after` honoured), and in addition records every successful
//! `getUpdates` in [`Health`], including the empty ones an idle bot gets: that is how
//! `/healthz` knows the update loop is alive and Telegram answers.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use teloxide::RequestError;
use teloxide::backoff::exponential_backoff_strategy;
use teloxide::errors::AsResponseParameters;
use teloxide::prelude::*;
use teloxide::stop::{StopFlag, StopToken, mk_stop_token};
use teloxide::types::{AllowedUpdate, Update};
use teloxide::update_listeners::{AsUpdateStream, UpdateListener};

use crate::health::Health;

/// How long Telegram holds each `getUpdates` when there is nothing to deliver. It must stay
/// below the HTTP client's 17 s total timeout.
const LONG_POLL_SECS: u32 = 10;

/// The update listener handed to the dispatcher.
pub struct Listener {
    bot: Bot,
    health: Arc<Health>,
    allowed_updates: Option<Vec<AllowedUpdate>>,
    token: StopToken,
    flag: StopFlag,
}

impl Listener {
    /// Polls through `bot`, reporting each answer to `health`. Like teloxide's
    /// `polling_default`, it first removes a webhook if one is set: Telegram refuses
    /// `getUpdates` while a webhook is active.
    pub async fn start(bot: Bot, health: Arc<Health>) -> Self {
        match bot.get_webhook_info().await {
            Ok(info) if info.url.is_some() => {
                tracing::warn!("a webhook was set for this bot; deleting it to receive updates by polling");
                if let Err(error) = bot.delete_webhook().await {
                    tracing::error!(%error, "could not delete the webhook");
                }
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not read the webhook settings (getWebhookInfo)"),
        }
        let (token, flag) = mk_stop_token();
        Self { bot, health, allowed_updates: None, token, flag }
    }
}

impl UpdateListener for Listener {
    type Err = RequestError;

    fn stop_token(&mut self) -> StopToken {
        self.token.clone()
    }

    fn hint_allowed_updates(&mut self, hint: &mut dyn Iterator<Item = AllowedUpdate>) {
        self.allowed_updates = Some(hint.collect());
    }
}

impl<'a> AsUpdateStream<'a> for Listener {
    type StreamErr = RequestError;
    type Stream = BoxStream<'a, Result<Update, RequestError>>;

    fn as_stream(&'a mut self) -> Self::Stream {
        self.health.receiving();
        let state = Polling {
            bot: self.bot.clone(),
            health: self.health.clone(),
            allowed_updates: self.allowed_updates.clone(),
            flag: self.flag.clone(),
            offset: 0,
            buffer: VecDeque::new(),
            errors: 0,
            pause: None,
            done: false,
        };
        futures::stream::unfold(state, Polling::next).boxed()
    }
}

struct Polling {
    bot: Bot,
    health: Arc<Health>,
    allowed_updates: Option<Vec<AllowedUpdate>>,
    flag: StopFlag,
    /// The next update ID wanted; asking for it confirms every earlier one.
    offset: i32,
    buffer: VecDeque<Update>,
    /// Failed calls in a row, for the backoff.
    errors: u32,
    /// Wait this long before the next call (after an error).
    pause: Option<Duration>,
    done: bool,
}

impl Polling {
    async fn next(mut self) -> Option<(Result<Update, RequestError>, Self)> {
        loop {
            // Updates already received are handed on even when stopping: they are confirmed.
            if let Some(update) = self.buffer.pop_front() {
                return Some((Ok(update), self));
            }
            if self.done {
                return None;
            }
            if let Some(pause) = self.pause.take() {
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = &mut self.flag => {}
                }
            }
            if self.flag.is_stopped() {
                self.done = true;
                self.confirm().await;
                return None;
            }
            let mut request = self.bot.get_updates().offset(self.offset).timeout(LONG_POLL_SECS);
            if let Some(allowed) = &self.allowed_updates {
                request = request.allowed_updates(allowed.clone());
            }
            let answer = tokio::select! {
                answer = request.send() => answer,
                // Stop now: an update in this poll would be handed out again on the next start.
                () = &mut self.flag => continue,
            };
            match answer {
                Ok(updates) => {
                    self.health.telegram_answered();
                    self.errors = 0;
                    if let Some(last) = updates.last() {
                        self.offset = last.id.as_offset();
                    }
                    self.buffer.extend(updates);
                }
                Err(error) => {
                    let pause = match error.retry_after() {
                        Some(after) => after.duration(),
                        None => {
                            let pause = exponential_backoff_strategy(self.errors);
                            self.errors = self.errors.saturating_add(1);
                            pause
                        }
                    };
                    tracing::warn!(retry_in_secs = pause.as_secs(), "getUpdates failed; retrying");
                    self.pause = Some(pause);
                    return Some((Err(error), self));
                }
            }
        }
    }

    /// Tells Telegram that every update handed out so far has been taken, so a restart does not
    /// see them again.
    async fn confirm(&self) {
        if self.offset == 0 {
            return;
        }
        let confirm = self.bot.get_updates().offset(self.offset).limit(1).timeout(0);
        if let Err(error) = confirm.send().await {
            tracing::warn!(%error, "could not confirm the last updates to Telegram; they may be delivered again");
        }
    }
}
