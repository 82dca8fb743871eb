//! Assembling the daemon and the console from a validated configuration: the state database,
//! every bot's credentials, the command core, and the background credential upkeep.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::bots::ChatLinks;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::core::Core;
use crate::credentials::{self, Notice, Upkeep};
use crate::mantago::{MantaClient, RetryPolicy};
use crate::state::{StateDb, StateError};

/// Why the program could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// The state database is unusable.
    #[error(transparent)]
    State(#[from] StateError),
    /// The HTTP client could not be built (TLS set-up).
    #[error("cannot set up the MantaGo HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// The assembled program, before an adapter runs it.
pub struct App {
    /// The command core.
    pub core: Core,
    /// Notices for the admins (credential alarms); the adapter delivers them.
    pub notices: mpsc::UnboundedReceiver<Notice>,
}

impl App {
    /// Opens the state, loads every bot's live pair and builds the core.
    pub fn assemble(config: &Config, clock: Arc<dyn Clock>) -> Result<Self, AssembleError> {
        let manta =
            MantaClient::new(config.manta.api_url.clone(), config.manta.timeout, RetryPolicy::default())?;
        let db = Arc::new(StateDb::open(&config.data_dir)?);
        let (notices_tx, notices) = mpsc::unbounded_channel();
        let upkeep = Upkeep::new(manta.clone(), db, clock.clone(), config.auto_refresh, notices_tx);
        let links = ChatLinks::load(&config.bots, &upkeep)?;
        for linked in links.bots() {
            tracing::info!(bot_label = %linked.bot.label, bot_id = %linked.bot.id, "serving MantaGo bot");
        }
        if config.admins.is_empty() {
            tracing::warn!(
                "ADMIN_IDS is empty: nobody can create tags. Send /whoami to the bot to learn your user ID, then add it to ADMIN_IDS"
            );
        }
        if !config.auto_refresh {
            tracing::warn!(
                "MANTA_AUTO_REFRESH=false: credentials will not be rotated; admins are warned 3 days before a token expires"
            );
        }
        let core = Core::new(config.admins.clone(), links, manta).with_clock(clock);
        Ok(Self { core, notices })
    }

    /// [`App::assemble`] with the real clock.
    pub fn assemble_with_system_clock(config: &Config) -> Result<Self, AssembleError> {
        Self::assemble(config, Arc::new(SystemClock))
    }

    /// Starts the credential upkeep (a check now, then periodically) until `stop` is cancelled.
    /// Await the handle before exiting, so a refresh in flight can save its new pair.
    pub fn spawn_upkeep(&self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(credentials::keep_fresh(self.core.links().bots().to_vec(), stop))
    }
}
