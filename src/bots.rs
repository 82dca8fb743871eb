//! The MantaGo bots this daemon serves, and which Telegram chat is linked to which bot.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{BotConfig, ChatSelector};
use crate::credentials::{Keeper, Upkeep};
use crate::ids::{BotId, BotLabel, ChatId};
use crate::state::StateError;

/// Who a MantaGo bot is, as people are told about it.
#[derive(Debug, Clone)]
pub struct MantaBot {
    /// The operator's name for it.
    pub label: BotLabel,
    /// MantaGo's ID for it.
    pub id: BotId,
    /// `MANTA_` or `MANTA_<LABEL>_`: where the operator configures it.
    pub env_prefix: String,
}

/// A bot with its credentials, as the command core uses it.
#[derive(Debug)]
pub struct LinkedBot {
    /// Its identity.
    pub bot: MantaBot,
    /// Its live credential pair.
    pub credentials: Keeper,
}

/// Chat → bot routing, built from the validated configuration.
#[derive(Debug, Default)]
pub struct ChatLinks {
    bots: Vec<Arc<LinkedBot>>,
    by_chat: HashMap<ChatId, Arc<LinkedBot>>,
    every_other_chat: Option<Arc<LinkedBot>>,
}

impl ChatLinks {
    /// Loads every bot's credentials and builds the routing table. The configuration has
    /// already refused conflicting links.
    pub fn load(configs: &[BotConfig], upkeep: &Arc<Upkeep>) -> Result<Self, StateError> {
        let mut links = Self::default();
        for config in configs {
            let bot = Arc::new(LinkedBot {
                bot: MantaBot {
                    label: config.label.clone(),
                    id: config.id.clone(),
                    env_prefix: config.env_prefix.clone(),
                },
                credentials: Keeper::load(upkeep.clone(), config)?,
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
        Ok(links)
    }

    /// The bot linked to `chat`, if any: an explicit link first, then the `*` bot.
    pub fn bot_for(&self, chat: ChatId) -> Option<&Arc<LinkedBot>> {
        self.by_chat.get(&chat).or(self.every_other_chat.as_ref())
    }

    /// Every configured bot, in configuration order.
    pub fn bots(&self) -> &[Arc<LinkedBot>] {
        &self.bots
    }
}
