//! The MantaGo bots this daemon serves, and which Telegram chat is linked to which bot.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, RwLock};

use crate::config::{BotConfig, ChatSelector};
use crate::credentials::{Keeper, Upkeep};
use crate::ids::{BotId, BotLabel, ChatId};
use crate::state::{StateDb, StateError};

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

/// Chat → bot routing, built from the validated configuration and the group → supergroup
/// migrations remembered in the state database.
#[derive(Debug)]
pub struct ChatLinks {
    bots: Vec<Arc<LinkedBot>>,
    /// Grows when a linked group becomes a supergroup (a new chat ID).
    by_chat: RwLock<HashMap<ChatId, Arc<LinkedBot>>>,
    every_other_chat: Option<Arc<LinkedBot>>,
    db: Arc<StateDb>,
}

impl ChatLinks {
    /// Loads every bot's credentials and builds the routing table. The configuration has
    /// already refused conflicting links.
    pub fn load(configs: &[BotConfig], upkeep: &Arc<Upkeep>) -> Result<Self, StateError> {
        let mut links = Self {
            bots: Vec::new(),
            by_chat: RwLock::default(),
            every_other_chat: None,
            db: upkeep.db().clone(),
        };
        let mut by_chat = HashMap::new();
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
                        by_chat.insert(*chat, bot.clone());
                    }
                }
            }
            links.bots.push(bot);
        }
        for (old, new) in links.db.chat_migrations()? {
            if let Some(bot) = by_chat.get(&old).cloned()
                && let Entry::Vacant(slot) = by_chat.entry(new)
            {
                tracing::warn!(old_chat_id = old.0, new_chat_id = new.0, bot_label = %bot.bot.label,
                    "group {old} became supergroup {new}, which keeps its link; replace {old} with {new} in {}CHATS", bot.bot.env_prefix);
                slot.insert(bot);
            }
        }
        links.by_chat = RwLock::new(by_chat);
        Ok(links)
    }

    /// The bot linked to `chat`, if any: an explicit link first, then the `*` bot.
    pub fn bot_for(&self, chat: ChatId) -> Option<Arc<LinkedBot>> {
        let by_chat = self.by_chat.read().unwrap_or_else(|p| p.into_inner());
        by_chat.get(&chat).or(self.every_other_chat.as_ref()).cloned()
    }

    /// A group became a supergroup with a new ID: the new chat inherits the old one's explicit
    /// link, remembered across restarts, and the operator is asked to update the configuration.
    pub fn chat_migrated(&self, old: ChatId, new: ChatId, now: std::time::SystemTime) {
        let mut by_chat = self.by_chat.write().unwrap_or_else(|p| p.into_inner());
        let Some(bot) = by_chat.get(&old).cloned() else {
            tracing::info!(
                old_chat_id = old.0,
                new_chat_id = new.0,
                "an unlinked group (or one linked through *) became a supergroup; nothing to carry over"
            );
            return;
        };
        by_chat.entry(new).or_insert_with(|| bot.clone());
        drop(by_chat);
        if let Err(error) = self.db.save_chat_migration(old, new, now) {
            tracing::error!(%error, "could not remember the group's migration; it is linked until the next restart only");
        }
        tracing::warn!(old_chat_id = old.0, new_chat_id = new.0, bot_label = %bot.bot.label,
            "group {old} became supergroup {new}, which keeps its link; replace {old} with {new} in {}CHATS", bot.bot.env_prefix);
    }

    /// Every configured bot, in configuration order.
    pub fn bots(&self) -> &[Arc<LinkedBot>] {
        &self.bots
    }
}
