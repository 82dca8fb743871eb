//! Reading a JWT's lifetime (`iat`, `exp`) without checking its signature: the daemon only needs
//! to know when MantaGo will stop accepting the token, not whether to trust it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// When a token was issued and when it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// `iat`, if present.
    pub issued_at: Option<SystemTime>,
    /// `exp`.
    pub expires_at: SystemTime,
}

#[derive(Deserialize)]
struct Claims {
    exp: Option<f64>,
    iat: Option<f64>,
}

impl Lifetime {
    /// Reads the claims of `token`. `None` if it is not a JWT or carries no `exp`.
    pub fn of(token: &str) -> Option<Self> {
        let payload = token.split('.').nth(1)?;
        // Some issuers pad; the URL-safe alphabet without padding is the standard.
        let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        let claims: Claims = serde_json::from_slice(&bytes).ok()?;
        Some(Self { issued_at: claims.iat.and_then(to_time), expires_at: to_time(claims.exp?)? })
    }

    /// The moment from which the pair should be refreshed: when less than
    /// min(7 days, a quarter of the token's life) remains (PRODUCT.md §4).
    pub fn refresh_from(&self) -> SystemTime {
        let week = Duration::from_secs(7 * 24 * 3600);
        let margin = match self.issued_at.and_then(|iat| self.expires_at.duration_since(iat).ok()) {
            Some(life) => week.min(life / 4),
            None => week,
        };
        self.expires_at.checked_sub(margin).unwrap_or(UNIX_EPOCH)
    }
}

fn to_time(seconds: f64) -> Option<SystemTime> {
    (seconds.is_finite() && seconds >= 0.0).then(|| UNIX_EPOCH + Duration::from_secs(seconds as u64))
}

/// Builds an unsigned token with these claims (tests and benchmarks use it to play MantaGo).
pub fn unsigned_token(issued_at: SystemTime, expires_at: SystemTime) -> String {
    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims =
        URL_SAFE_NO_PAD.encode(format!(r#"{{"iat":{},"exp":{}}}"#, secs(issued_at), secs(expires_at)));
    format!("{header}.{claims}.c2lnbmF0dXJl")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn reads_issue_and_expiry_times() {
        let token = unsigned_token(at(1_000), at(2_000));
        assert_eq!(
            Lifetime::of(&token),
            Some(Lifetime { issued_at: Some(at(1_000)), expires_at: at(2_000) })
        );
    }

    #[test]
    fn a_thirty_day_token_is_refreshed_seven_days_before_expiry() {
        let lifetime = Lifetime::of(&unsigned_token(at(0), at(0) + 30 * DAY)).expect("jwt");
        assert_eq!(lifetime.refresh_from(), at(0) + 23 * DAY);
    }

    #[test]
    fn a_ten_minute_token_is_refreshed_in_its_last_quarter() {
        let lifetime = Lifetime::of(&unsigned_token(at(0), at(600))).expect("jwt");
        assert_eq!(lifetime.refresh_from(), at(450));
    }

    #[test]
    fn without_iat_the_margin_is_seven_days() {
        let claims = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{}}}"#, 30 * DAY.as_secs()));
        let lifetime = Lifetime::of(&format!("h.{claims}.s")).expect("jwt");
        assert_eq!(lifetime.refresh_from(), at(0) + 23 * DAY);
    }

    #[test]
    fn anything_else_has_no_lifetime() {
        assert_eq!(Lifetime::of("not-a-jwt"), None);
        assert_eq!(Lifetime::of("a.!!!.c"), None);
        assert_eq!(Lifetime::of(&format!("a.{}.c", URL_SAFE_NO_PAD.encode(b"{}"))), None);
    }
}
