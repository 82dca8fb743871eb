//! The MantaGo bots this daemon serves, and which Telegram chat is linked to which bot.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{BotConfig, ChatSelector};
use crate::ids::{BotId, BotLabel, ChatId};
use crate::mantago::Credentials;

/// One MantaGo bot as the command core sees it.
#[derive(Debug)]
pub struct MantaBot {
    /// The operator's name for it.
    pub label: BotLabel,
    /// MantaGo's ID for it.
    pub id: BotId,
    /// `MANTA_` or `MANTA_<LABEL>_`: where the operator configures it.
    pub env_prefix: String,
    /// The pair used for requests.
    pub credentials: Credentials,
}

/// Chat → bot routing, built from the validated configuration.
#[derive(Debug, Default)]
pub struct ChatLinks {
    bots: Vec<Arc<MantaBot>>,
    by_chat: HashMap<ChatId, Arc<MantaBot>>,
    every_other_chat: Option<Arc<MantaBot>>,
}

impl ChatLinks {
    /// Builds the routing table. The configuration has already refused conflicting links.
    pub fn new(configs: &[BotConfig]) -> Self {
        let mut links = Self::default();
        for config in configs {
            let bot = Arc::new(MantaBot {
                label: config.label.clone(),
                id: config.id.clone(),
                env_prefix: config.env_prefix.clone(),
                credentials: Credentials { token: config.token.clone(), secret: config.secret.clone() },
            });
            match &config.chats {
                ChatSelector::Every => links.every_other_chat = Some(bot.clone()),
                ChatSelector::Only(chats) => {
                    for chat in chats {
                        links.by_chat.insert(*chat, bot.clone());
                    }
                }
            }
            links.bots.push(bot);
        }
        links
    }

    /// The bot linked to `chat`, if any: an explicit link first, then the `*` bot.
    pub fn bot_for(&self, chat: ChatId) -> Option<&Arc<MantaBot>> {
        self.by_chat.get(&chat).or(self.every_other_chat.as_ref())
    }

    /// Every configured bot, in configuration order.
    pub fn bots(&self) -> &[Arc<MantaBot>] {
        &self.bots
    }
}
