//! Whether the daemon is doing its job: the update loop runs and Telegram answered recently.
//!
//! The Telegram adapter reports into a shared [`Health`]; `/healthz` reads it. Time is measured
//! on the monotonic clock from when the value was made, so a wall-clock jump cannot fake it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long Telegram may stay silent before the daemon counts as unhealthy. Long polls last
/// 10 s, so a working update loop hears from Telegram several times within this.
pub const MAX_SILENCE: Duration = Duration::from_secs(60);

const CONNECTING: u8 = 0;
const RECEIVING: u8 = 1;
const SHUTTING_DOWN: u8 = 2;

/// The daemon's health, shared between the Telegram adapter and the HTTP server.
#[derive(Debug)]
pub struct Health {
    started: Instant,
    /// Milliseconds after `started` of Telegram's last answer, plus one; 0 means never.
    last_answer: AtomicU64,
    phase: AtomicU8,
}

impl Health {
    /// A fresh value: not connected to Telegram yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            last_answer: AtomicU64::new(0),
            phase: AtomicU8::new(CONNECTING),
        })
    }

    /// Telegram answered a request (`getMe`, `getUpdates`) successfully just now.
    pub fn telegram_answered(&self) {
        let since_start = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last_answer.store(since_start + 1, Ordering::Relaxed);
    }

    /// The update loop has started.
    pub fn receiving(&self) {
        // Never leave the shutting-down phase once entered.
        let _ = self.phase.compare_exchange(CONNECTING, RECEIVING, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// The daemon has been told to stop.
    pub fn shutting_down(&self) {
        self.phase.store(SHUTTING_DOWN, Ordering::Relaxed);
    }

    /// `Ok` when healthy, or why not, in one line.
    pub fn check(&self) -> Result<(), String> {
        self.check_at(self.started.elapsed())
    }

    /// [`Health::check`] as it would answer `now` after this value was made.
    pub fn check_at(&self, now: Duration) -> Result<(), String> {
        match self.phase.load(Ordering::Relaxed) {
            SHUTTING_DOWN => return Err("shutting down".to_owned()),
            CONNECTING => return Err("not connected to Telegram yet".to_owned()),
            _ => {}
        }
        let Some(last) = self.last_answer.load(Ordering::Relaxed).checked_sub(1) else {
            return Err("not connected to Telegram yet".to_owned());
        };
        let silence = now.saturating_sub(Duration::from_millis(last));
        if silence > MAX_SILENCE {
            return Err(format!("no answer from Telegram for {} s", silence.as_secs()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_connected_until_the_update_loop_runs_and_telegram_answered() {
        let health = Health::new();
        assert_eq!(health.check(), Err("not connected to Telegram yet".to_owned()));
        health.telegram_answered();
        assert_eq!(health.check(), Err("not connected to Telegram yet".to_owned()));
        health.receiving();
        assert_eq!(health.check(), Ok(()));
    }

    #[test]
    fn a_long_silence_from_telegram_is_unhealthy() {
        let health = Health::new();
        health.receiving();
        health.telegram_answered();
        let answered = health.started.elapsed();
        assert_eq!(health.check_at(answered + Duration::from_secs(59)), Ok(()));
        assert_eq!(
            health.check_at(answered + Duration::from_secs(75)),
            Err("no answer from Telegram for 75 s".to_owned())
        );
    }

    #[test]
    fn shutting_down_is_final() {
        let health = Health::new();
        health.receiving();
        health.telegram_answered();
        health.shutting_down();
        health.receiving();
        assert_eq!(health.check(), Err("shutting down".to_owned()));
    }
}
