//! The state database (`DATA_DIR/manta-tagbot.db`): the live credential pair of each bot and
//! where it came from. It may hold the only valid credentials, so it is never silently
//! replaced: a database that cannot be opened stops the daemon with an explanation.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use secrecy::{ExposeSecret, SecretString};

use crate::ids::{BotId, BotLabel, ChatId};
use crate::mantago::Credentials;

/// The database file's name inside `DATA_DIR`.
pub const DB_FILE: &str = "manta-tagbot.db";

/// Schema changes, applied in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE bot_credentials (
        bot_id TEXT PRIMARY KEY,
        label TEXT NOT NULL,
        token TEXT NOT NULL,
        secret TEXT NOT NULL,
        configured_fingerprint TEXT NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('configured', 'rotated')),
        updated_at INTEGER NOT NULL,
        last_refresh_at INTEGER,
        last_refresh_error TEXT
    );",
    "CREATE TABLE chat_migrations (
        old_chat_id INTEGER PRIMARY KEY,
        new_chat_id INTEGER NOT NULL,
        migrated_at INTEGER NOT NULL
    );",
];

/// Why the state database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// `DATA_DIR` cannot be created or secured.
    #[error("cannot prepare the state folder {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file cannot be opened, or is not a healthy SQLite database.
    #[error(
        "the state database {path} cannot be used ({detail}). It may hold the only valid MantaGo credentials, so it was left as it is: restore it from a backup, or move it aside and paste a fresh token and secret from the MantaGo dashboard"
    )]
    Unusable {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// Written by a newer version of manta-tagbot.
    #[error(
        "the state database {path} has schema version {found}, newer than this manta-tagbot knows ({known}); run the newer version"
    )]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: usize,
        /// The newest this build knows.
        known: usize,
    },
    /// A read or write failed.
    #[error("state database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// Where a live pair came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Pasted by the operator into the configuration.
    Configured,
    /// Obtained from MantaGo by a refresh.
    Rotated,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Self::Configured => "configured",
            Self::Rotated => "rotated",
        }
    }
}

/// A bot's stored pair and its history.
#[derive(Debug, Clone)]
pub struct StoredPair {
    /// The live pair.
    pub credentials: Credentials,
    /// Fingerprint of the configured pair this one descends from.
    pub configured_fingerprint: String,
    /// Where the live pair came from.
    pub origin: Origin,
    /// When the live pair was stored.
    pub updated_at: SystemTime,
    /// When the last refresh was attempted.
    pub last_refresh_at: Option<SystemTime>,
    /// Why the last refresh failed, if it did.
    pub last_refresh_error: Option<String>,
}

/// The open database. Calls are short and rare, so one connection behind a mutex is enough.
#[derive(Debug)]
pub struct StateDb {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl StateDb {
    /// Opens (creating if needed) the database in `dir`, secures it and brings its schema up
    /// to date.
    pub fn open(dir: &Path) -> Result<Self, StateError> {
        let folder_error = |source| StateError::Folder { path: dir.to_owned(), source };
        DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(folder_error)?;
        std::fs::set_permissions(dir, Permissions::from_mode(0o700)).map_err(folder_error)?;
        let path = dir.join(DB_FILE);
        let unusable = |detail: String| StateError::Unusable { path: path.clone(), detail };
        // Create the file ourselves so it is 0600 from its first byte; SQLite gives its journal
        // the same mode.
        if !path.exists() {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| unusable(e.to_string()))?;
        }
        std::fs::set_permissions(&path, Permissions::from_mode(0o600))
            .map_err(|e| unusable(e.to_string()))?;
        let conn = Connection::open(&path).map_err(|e| unusable(e.to_string()))?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |row| row.get(0))
            .map_err(|e| unusable(e.to_string()))?;
        if check != "ok" {
            return Err(unusable(check));
        }
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;")
            .map_err(|e| unusable(e.to_string()))?;
        let db = Self { conn: Mutex::new(conn), path };
        db.migrate()?;
        Ok(db)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn migrate(&self) -> Result<(), StateError> {
        let mut conn = self.lock();
        let version: usize = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version > MIGRATIONS.len() {
            return Err(StateError::TooNew {
                path: self.path.clone(),
                found: version,
                known: MIGRATIONS.len(),
            });
        }
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = conn.transaction()?;
            tx.execute_batch(migration)?;
            tx.pragma_update(None, "user_version", index + 1)?;
            tx.commit()?;
            tracing::info!(path = %self.path.display(), version = index + 1, "state database migrated");
        }
        Ok(())
    }

    /// The stored pair of `bot`, if any.
    pub fn load_pair(&self, bot: &BotId) -> Result<Option<StoredPair>, StateError> {
        let conn = self.lock();
        let row = conn
            .query_row(
                "SELECT token, secret, configured_fingerprint, origin, updated_at, last_refresh_at, last_refresh_error
                 FROM bot_credentials WHERE bot_id = ?1",
                [bot.as_str()],
                |row| {
                    Ok(StoredPair {
                        credentials: Credentials {
                            token: SecretString::from(row.get::<_, String>(0)?),
                            secret: SecretString::from(row.get::<_, String>(1)?),
                        },
                        configured_fingerprint: row.get(2)?,
                        origin: if row.get::<_, String>(3)? == "rotated" { Origin::Rotated } else { Origin::Configured },
                        updated_at: from_unix(row.get(4)?),
                        last_refresh_at: row.get::<_, Option<i64>>(5)?.map(from_unix),
                        last_refresh_error: row.get(6)?,
                    })
                },
            )
            .optional()?;
        Ok(row)
    }

    /// Stores a pair the operator configured, replacing whatever was stored for `bot`.
    pub fn save_configured(
        &self,
        bot: &BotId,
        label: &BotLabel,
        pair: &Credentials,
        fingerprint: &str,
        now: SystemTime,
    ) -> Result<(), StateError> {
        self.lock().execute(
            "INSERT INTO bot_credentials (bot_id, label, token, secret, configured_fingerprint, origin, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (bot_id) DO UPDATE SET label = ?2, token = ?3, secret = ?4, configured_fingerprint = ?5,
                 origin = ?6, updated_at = ?7, last_refresh_at = NULL, last_refresh_error = NULL",
            params![
                bot.as_str(),
                label.as_str(),
                pair.token.expose_secret(),
                pair.secret.expose_secret(),
                fingerprint,
                Origin::Configured.as_str(),
                to_unix(now)
            ],
        )?;
        Ok(())
    }

    /// Stores a pair obtained by a refresh. Committed (and synced) before it returns, so the
    /// pair survives a crash the moment it is first used.
    pub fn save_rotated(&self, bot: &BotId, pair: &Credentials, now: SystemTime) -> Result<(), StateError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let changed = tx.execute(
            "UPDATE bot_credentials SET token = ?2, secret = ?3, origin = ?4, updated_at = ?5,
                 last_refresh_at = ?5, last_refresh_error = NULL
             WHERE bot_id = ?1",
            params![
                bot.as_str(),
                pair.token.expose_secret(),
                pair.secret.expose_secret(),
                Origin::Rotated.as_str(),
                to_unix(now)
            ],
        )?;
        if changed != 1 {
            return Err(StateError::Sql(rusqlite::Error::QueryReturnedNoRows));
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a failed refresh attempt (the stored pair stays as it is).
    pub fn record_refresh_failure(
        &self,
        bot: &BotId,
        now: SystemTime,
        error: &str,
    ) -> Result<(), StateError> {
        self.lock().execute(
            "UPDATE bot_credentials SET last_refresh_at = ?2, last_refresh_error = ?3 WHERE bot_id = ?1",
            params![bot.as_str(), to_unix(now), error],
        )?;
        Ok(())
    }

    /// Remembers that group `old` became supergroup `new`.
    pub fn save_chat_migration(&self, old: ChatId, new: ChatId, now: SystemTime) -> Result<(), StateError> {
        self.lock().execute(
            "INSERT INTO chat_migrations (old_chat_id, new_chat_id, migrated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (old_chat_id) DO UPDATE SET new_chat_id = ?2, migrated_at = ?3",
            params![old.0, new.0, to_unix(now)],
        )?;
        Ok(())
    }

    /// Every recorded migration, as (old chat, new chat), oldest first.
    pub fn chat_migrations(&self) -> Result<Vec<(ChatId, ChatId)>, StateError> {
        let conn = self.lock();
        let mut statement = conn.prepare(
            "SELECT old_chat_id, new_chat_id FROM chat_migrations ORDER BY migrated_at, old_chat_id",
        )?;
        let rows = statement.query_map([], |row| Ok((ChatId(row.get(0)?), ChatId(row.get(1)?))))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn to_unix(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn from_unix(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

#[cfg(test)]
mod tests;
