//! Each bot's credential pair over its whole life (PRODUCT.md §4): which pair is live at start,
//! when to refresh it, committing a new pair before it is used, and telling the admins when the
//! pair stops working.
//!
//! A refresh retires the old pair at MantaGo, so two refreshes racing for one bot would lock the
//! daemon out: each bot's pair sits behind an async mutex that is held for the whole refresh,
//! and commands that want the pair meanwhile wait for the new one.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, mpsc};

use crate::clock::Clock;
use crate::config::BotConfig;
use crate::ids::{BotId, BotLabel};
use crate::jwt::Lifetime;
use crate::mantago::{Credentials, MantaClient, MantaError};
use crate::messages;
use crate::reply::Reply;
use crate::state::{Origin, StateDb, StateError, StoredPair};

/// Alarms about one bot's credentials reach the admins at most this often.
const ALARM_INTERVAL: Duration = Duration::from_secs(3600);
/// After a failed proactive refresh, wait this long before trying again.
const RETRY_FAILED_REFRESH_AFTER: Duration = Duration::from_secs(15 * 60);
/// With auto-refresh off, admins are warned this long before the token expires.
const EXPIRY_WARNING: Duration = Duration::from_secs(3 * 24 * 3600);
/// …and reminded at most this often.
const EXPIRY_WARNING_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// How often the daemon checks whether a pair is due for refresh.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// A message for every admin's private chat with the bot.
#[derive(Debug, Clone)]
pub struct Notice {
    /// The bot it is about.
    pub bot_label: BotLabel,
    /// What to tell them.
    pub reply: Reply,
}

/// What every bot's keeper shares.
#[derive(Debug)]
pub struct Upkeep {
    manta: MantaClient,
    db: Arc<StateDb>,
    clock: Arc<dyn Clock>,
    auto_refresh: bool,
    notices: mpsc::UnboundedSender<Notice>,
}

impl Upkeep {
    /// Shared context; notices for the admins are sent into `notices`.
    pub fn new(
        manta: MantaClient,
        db: Arc<StateDb>,
        clock: Arc<dyn Clock>,
        auto_refresh: bool,
        notices: mpsc::UnboundedSender<Notice>,
    ) -> Arc<Self> {
        Arc::new(Self { manta, db, clock, auto_refresh, notices })
    }

    /// The state database.
    pub fn db(&self) -> &Arc<StateDb> {
        &self.db
    }
}

/// The pair to use now, and which generation it is (to tell "my pair was rejected" apart from
/// "an older pair was rejected, and somebody already refreshed it").
#[derive(Debug, Clone)]
pub struct Current {
    /// The pair.
    pub pair: Credentials,
    /// Increases with every refresh.
    pub generation: u64,
}

/// Why a pair stopped working, as MantaGo put it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// 401 code 1004, even after a refresh was attempted (or with auto-refresh off).
    Rejected,
    /// 401 code 120000: a refresh elsewhere retired this pair.
    Replaced,
}

#[derive(Debug)]
struct Live {
    pair: Credentials,
    generation: u64,
    lifetime: Option<Lifetime>,
    origin: Origin,
    /// A refreshed pair that could not be written to the database yet.
    unsaved: bool,
    /// Set when MantaGo handed out a pair that is due for refresh already: refreshing it
    /// again proactively would loop.
    hold_proactive: bool,
    last_failed_refresh: Option<SystemTime>,
    last_alarm: Option<SystemTime>,
    last_expiry_warning: Option<SystemTime>,
}

/// One bot's credentials.
#[derive(Debug)]
pub struct Keeper {
    bot: BotId,
    /// Fingerprint of the configured pair: stored pairs that descend from it may be adopted.
    configured_fp: String,
    label: BotLabel,
    env_prefix: String,
    upkeep: Arc<Upkeep>,
    live: Mutex<Live>,
}

/// A one-way digest of a configured pair, to notice when the operator pastes a new one
/// without keeping a second copy of the secret.
pub fn fingerprint(pair: &Credentials) -> String {
    let mut hash = Sha256::new();
    hash.update(b"manta-tagbot pair v1\0");
    hash.update(pair.token.expose_secret().as_bytes());
    hash.update(b"\0");
    hash.update(pair.secret.expose_secret().as_bytes());
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A bot's configured pair and, if the database holds one that descends from it, that stored
/// (possibly rotated) pair. The stored one is live; a configured pair with no stored descendant
/// is new (the operator pasted it), and it wins.
struct Lineage {
    configured: Credentials,
    configured_fp: String,
    /// The stored descendant of the configured pair.
    stored: Option<StoredPair>,
    /// Whether the database held a pair from another lineage (now replaced).
    replaces_other: bool,
}

impl Lineage {
    fn read(db: &StateDb, config: &BotConfig) -> Result<Self, StateError> {
        let configured = Credentials { token: config.token.clone(), secret: config.secret.clone() };
        let configured_fp = fingerprint(&configured);
        let in_db = db.load_pair(&config.id)?;
        let replaces_other = in_db.as_ref().is_some_and(|s| s.configured_fingerprint != configured_fp);
        let stored = in_db.filter(|s| s.configured_fingerprint == configured_fp);
        Ok(Self { configured, configured_fp, stored, replaces_other })
    }

    /// The pair to use.
    fn live(&self) -> &Credentials {
        self.stored.as_ref().map_or(&self.configured, |s| &s.credentials)
    }

    fn origin(&self) -> Origin {
        self.stored.as_ref().map_or(Origin::Configured, |s| s.origin)
    }
}

impl Keeper {
    /// Loads the live pair of `config`'s bot, storing the configured pair if it is new.
    pub fn load(upkeep: Arc<Upkeep>, config: &BotConfig) -> Result<Self, StateError> {
        let lineage = Lineage::read(&upkeep.db, config)?;
        let (pair, origin) = (lineage.live().clone(), lineage.origin());
        if lineage.stored.is_none() {
            upkeep.db.save_configured(
                &config.id,
                &config.label,
                &pair,
                &lineage.configured_fp,
                upkeep.clock.now(),
            )?;
            if lineage.replaces_other {
                tracing::info!(bot_label = %config.label, bot_id = %config.id, "a new pair was configured; it replaces the stored one");
            }
        }
        let lifetime = Lifetime::of(pair.token.expose_secret());
        publish_expiry(&config.label, &config.id, lifetime);
        if lifetime.is_none() {
            tracing::warn!(bot_label = %config.label, bot_id = %config.id, "the MantaGo token is not a JWT with an expiry; it cannot be refreshed ahead of time");
        }
        tracing::info!(
            bot_label = %config.label,
            bot_id = %config.id,
            origin = ?origin,
            expires = lifetime.map(|l| humantime::format_rfc3339_seconds(l.expires_at).to_string()).unwrap_or_default(),
            "credentials loaded"
        );
        Ok(Self {
            bot: config.id.clone(),
            configured_fp: lineage.configured_fp,
            label: config.label.clone(),
            env_prefix: config.env_prefix.clone(),
            upkeep,
            live: Mutex::new(Live {
                pair,
                generation: 0,
                lifetime,
                origin,
                unsaved: false,
                hold_proactive: false,
                last_failed_refresh: None,
                last_alarm: None,
                last_expiry_warning: None,
            }),
        })
    }

    /// The pair to use now (waits while a refresh is in flight).
    pub async fn current(&self) -> Current {
        let live = self.live.lock().await;
        Current { pair: live.pair.clone(), generation: live.generation }
    }

    /// When the live token expires, if it says.
    pub async fn expires_at(&self) -> Option<SystemTime> {
        self.live.lock().await.lifetime.map(|l| l.expires_at)
    }

    /// MantaGo rejected the pair of generation `seen` (`why`). Returns the pair to retry with,
    /// or `None` when there is nothing better to retry with:
    /// - another command (or another process sharing `DATA_DIR`) already has a newer pair: use it;
    /// - the token is invalid or expired (1004): refresh once, if auto-refresh is on;
    /// - the pair was replaced elsewhere (120000): it is dead, and refreshing it cannot work.
    pub async fn refresh_after_rejection(&self, seen: u64, why: Broken) -> Option<Current> {
        let mut live = self.live.lock().await;
        if live.generation != seen || self.adopt_stored(&mut live) {
            return Some(Current { pair: live.pair.clone(), generation: live.generation });
        }
        if why == Broken::Replaced || !self.upkeep.auto_refresh {
            return None;
        }
        tracing::info!(bot_label = %self.label, bot_id = %self.bot, "MantaGo rejected the token; refreshing the pair");
        self.refresh(&mut live).await.ok()?;
        Some(Current { pair: live.pair.clone(), generation: live.generation })
    }

    /// Takes over a newer pair that another process sharing `DATA_DIR` (the console, a second
    /// daemon) stored after refreshing: the pair in memory has been retired by that refresh.
    fn adopt_stored(&self, live: &mut Live) -> bool {
        let stored = match self.upkeep.db.load_pair(&self.bot) {
            Ok(Some(stored)) => stored,
            Ok(None) => return false,
            Err(error) => {
                tracing::warn!(bot_label = %self.label, %error, "could not re-read the stored pair");
                return false;
            }
        };
        let newer = stored.configured_fingerprint == self.configured_fp
            && stored.credentials.token.expose_secret() != live.pair.token.expose_secret()
            && !live.unsaved;
        if newer {
            tracing::info!(bot_label = %self.label, bot_id = %self.bot, "using the newer pair another process stored");
            live.lifetime = Lifetime::of(stored.credentials.token.expose_secret());
            publish_expiry(&self.label, &self.bot, live.lifetime);
            live.pair = stored.credentials;
            live.origin = stored.origin;
            live.generation += 1;
            live.hold_proactive = false;
        }
        newer
    }

    /// The periodic check: refresh ahead of expiry, retry saving an unsaved pair, or (with
    /// auto-refresh off) warn the admins that the token expires soon.
    pub async fn check(&self) {
        let mut live = self.live.lock().await;
        let now = self.upkeep.clock.now();
        if live.unsaved {
            self.save(&mut live, now);
        }
        let Some(lifetime) = live.lifetime else { return };
        if !self.upkeep.auto_refresh {
            let soon = lifetime.expires_at.checked_sub(EXPIRY_WARNING).is_some_and(|from| now >= from);
            if soon && due(live.last_expiry_warning, now, EXPIRY_WARNING_INTERVAL) {
                live.last_expiry_warning = Some(now);
                let days_left =
                    lifetime.expires_at.duration_since(now).map(|d| d.as_secs() / 86_400).unwrap_or(0);
                tracing::warn!(bot_label = %self.label, bot_id = %self.bot, days_left, "MantaGo token expires soon and auto-refresh is off");
                self.tell_admins(messages::token_expires_soon(
                    &self.label,
                    &self.bot,
                    &self.env_prefix,
                    lifetime.expires_at,
                    now,
                ));
            }
            return;
        }
        // Another process sharing DATA_DIR may have refreshed already.
        if now >= lifetime.refresh_from() && self.adopt_stored(&mut live) {
            return;
        }
        let is_due = now >= lifetime.refresh_from();
        if is_due && !live.hold_proactive && due(live.last_failed_refresh, now, RETRY_FAILED_REFRESH_AFTER) {
            tracing::info!(bot_label = %self.label, bot_id = %self.bot, "MantaGo token is close to expiry; refreshing the pair");
            let _ = self.refresh(&mut live).await;
        }
    }

    /// A command found the pair broken; the admins hear about it (at most once an hour).
    pub async fn report_broken(&self, why: Broken) {
        let mut live = self.live.lock().await;
        tracing::error!(bot_label = %self.label, bot_id = %self.bot, reason = ?why, "MantaGo credentials no longer work");
        self.alarm(&mut live, messages::credentials_broken(&self.label, &self.bot, &self.env_prefix, why));
    }

    async fn refresh(&self, live: &mut Live) -> Result<(), MantaError> {
        let now = self.upkeep.clock.now();
        match self.upkeep.manta.refresh_token(&self.bot, &live.pair).await {
            Ok(fresh) => {
                let lifetime = Lifetime::of(fresh.token.expose_secret());
                publish_expiry(&self.label, &self.bot, lifetime);
                live.pair = fresh;
                live.generation += 1;
                live.lifetime = lifetime;
                live.origin = Origin::Rotated;
                live.last_failed_refresh = None;
                live.hold_proactive = lifetime.is_some_and(|l| now >= l.refresh_from());
                if live.hold_proactive {
                    tracing::warn!(bot_label = %self.label, bot_id = %self.bot, "MantaGo issued a pair that is already close to expiry; not refreshing it again ahead of time");
                }
                self.save(live, now);
                tracing::info!(
                    bot_label = %self.label,
                    bot_id = %self.bot,
                    expires = lifetime.map(|l| humantime::format_rfc3339_seconds(l.expires_at).to_string()).unwrap_or_default(),
                    "credentials refreshed"
                );
                Ok(())
            }
            Err(error) => {
                live.last_failed_refresh = Some(now);
                tracing::error!(bot_label = %self.label, bot_id = %self.bot, %error, "refreshing the MantaGo credentials failed; the current pair stays in use");
                if let Err(db_error) =
                    self.upkeep.db.record_refresh_failure(&self.bot, now, &error.to_string())
                {
                    tracing::error!(error = %db_error, "could not record the failed refresh in the state database");
                }
                let expires_at = live.lifetime.map(|l| l.expires_at);
                self.alarm(
                    live,
                    messages::refresh_failed(&self.label, &self.bot, &self.env_prefix, &error, expires_at),
                );
                Err(error)
            }
        }
    }

    /// Commits the live pair; on failure keeps it in memory, marked unsaved, and says so.
    fn save(&self, live: &mut Live, now: SystemTime) {
        match self.upkeep.db.save_rotated(&self.bot, &live.pair, now) {
            Ok(()) => {
                if live.unsaved {
                    tracing::info!(bot_label = %self.label, bot_id = %self.bot, "the refreshed pair is now saved");
                }
                live.unsaved = false;
            }
            Err(error) => {
                let first_failure = !live.unsaved;
                live.unsaved = true;
                tracing::error!(bot_label = %self.label, bot_id = %self.bot, %error, path = %self.upkeep.db.path().display(),
                    "could not save the refreshed MantaGo pair; it is kept in memory only until the database is writable again");
                if first_failure {
                    self.tell_admins(messages::pair_not_saved(&self.label, &self.bot, self.upkeep.db.path()));
                }
            }
        }
    }

    fn alarm(&self, live: &mut Live, reply: Reply) {
        let now = self.upkeep.clock.now();
        if due(live.last_alarm, now, ALARM_INTERVAL) {
            live.last_alarm = Some(now);
            self.tell_admins(reply);
        }
    }

    fn tell_admins(&self, reply: Reply) {
        // Nobody listening (a closed channel) only happens while shutting down.
        let _ = self.upkeep.notices.send(Notice { bot_label: self.label.clone(), reply });
    }
}

/// Exports the live token's expiry as a metric, for alerting before it runs out.
fn publish_expiry(label: &BotLabel, bot: &BotId, lifetime: Option<Lifetime>) {
    if let Some(secs) = lifetime.and_then(|l| l.expires_at.duration_since(std::time::UNIX_EPOCH).ok()) {
        crate::metrics::set_credential_expiry(label.as_str(), bot.as_str(), secs.as_secs());
    }
}

/// Whether something last done at `last` may be done again at `now`.
fn due(last: Option<SystemTime>, now: SystemTime, interval: Duration) -> bool {
    last.is_none_or(|last| now.duration_since(last).is_ok_and(|since| since >= interval))
}

/// Checks every bot's pair now and then every [`CHECK_INTERVAL`] until `stop` is cancelled.
/// A check in progress is never interrupted: it may be holding a freshly issued pair that
/// only exists until it is saved.
pub async fn keep_fresh(
    keepers: Vec<Arc<crate::bots::LinkedBot>>,
    stop: tokio_util::sync::CancellationToken,
) {
    loop {
        for linked in &keepers {
            linked.credentials.check().await;
        }
        tokio::select! {
            () = tokio::time::sleep(CHECK_INTERVAL) => {}
            () = stop.cancelled() => return,
        }
    }
}

/// The `manta-tagbot credentials` listing: one line per bot, then (with `reveal`) its live
/// token and secret. It only reads: a newly pasted pair is shown as the daemon will use it.
pub fn report(
    config: &crate::config::Config,
    db: &StateDb,
    now: SystemTime,
    reveal: bool,
) -> Result<String, StateError> {
    let mut out = String::new();
    for bot in &config.bots {
        let lineage = Lineage::read(db, bot)?;
        let (pair, stored) = (lineage.live(), &lineage.stored);
        let status = messages::CredentialStatus {
            label: &bot.label,
            bot: &bot.id,
            lifetime: Lifetime::of(pair.token.expose_secret()),
            origin: lineage.origin(),
            since: stored.as_ref().map(|s| s.updated_at),
            last_refresh: stored.as_ref().and_then(|s| s.last_refresh_at),
            last_refresh_error: stored.as_ref().and_then(|s| s.last_refresh_error.as_deref()),
        };
        out.push_str(&messages::credential_status(&status, now));
        out.push('\n');
        if reveal {
            out.push_str(&format!(
                "  token:  {}\n  secret: {}\n",
                pair.token.expose_secret(),
                pair.secret.expose_secret()
            ));
        }
    }
    Ok(out)
}
