//! The MantaGo OpenAPI wire: the only code that speaks HTTP to MantaGo.
//!
//! Typed requests and responses follow `shared/mantago/openapi.json`; every way a call can fail
//! is one variant of [`MantaError`], so callers explain failures without looking at HTTP.
//! Retries live here too, because only the wire knows what certainly did not create anything.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::ids::BotId;
use crate::tag_name::TagName;

/// A bot's API token and secret key, as one pair: MantaGo retires both together.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The Bearer token (a JWT).
    pub token: SecretString,
    /// The secret key sent in every body.
    pub secret: SecretString,
}

/// Everything that can go wrong with one MantaGo call, after retries.
#[derive(Debug, thiserror::Error)]
pub enum MantaError {
    /// MantaGo answered with its documented error envelope.
    #[error("MantaGo answered HTTP {status} with code {code}")]
    Api {
        /// HTTP status.
        status: u16,
        /// `errResponse.code`.
        code: i64,
        /// `errResponse.message`, as MantaGo wrote it.
        message: String,
    },
    /// HTTP 429, still after the allowed retries.
    #[error("MantaGo is rate-limiting (Retry-After: {retry_after:?})")]
    RateLimited {
        /// The last `Retry-After` MantaGo sent, if any.
        retry_after: Option<Duration>,
    },
    /// No complete answer within the configured total time. The request may have been processed.
    #[error("MantaGo did not answer within {0:?}")]
    Timeout(Duration),
    /// No connection could be made, so nothing was sent.
    #[error("MantaGo could not be reached: {0}")]
    Unreachable(String),
    /// An answer that is not the documented JSON (an HTML error page, a 5xx, garbage).
    #[error("MantaGo answered HTTP {status} with an unexpected body")]
    UnexpectedBody {
        /// HTTP status.
        status: u16,
    },
}

impl MantaError {
    /// The HTTP status MantaGo answered with, when it answered.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::UnexpectedBody { status } => Some(*status),
            Self::RateLimited { .. } => Some(429),
            Self::Timeout(_) | Self::Unreachable(_) => None,
        }
    }

    /// MantaGo's `errResponse.code`, when it sent one.
    pub fn manta_code(&self) -> Option<i64> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// How patiently to retry what certainly created nothing (PRODUCT.md §3).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, including the first, for refused connections and 429s.
    pub max_attempts: u32,
    /// Wait before re-trying a connection that was never established (doubles each time).
    pub connect_backoff: Duration,
    /// Wait after a 429 without `Retry-After`.
    pub default_retry_after: Duration,
    /// A `Retry-After` longer than this is not waited for: the admin is told to try later.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            connect_backoff: Duration::from_millis(250),
            default_retry_after: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

/// A MantaGo OpenAPI client for any number of bots.
#[derive(Debug, Clone)]
pub struct MantaClient {
    http: reqwest::Client,
    base: Url,
    timeout: Duration,
    retry: RetryPolicy,
}

#[derive(Serialize)]
struct CreateClientTagRequest<'a> {
    secret: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct SecretRequest<'a> {
    secret: &'a str,
}

#[derive(Deserialize)]
struct BasicSuccessResponse {
    success: bool,
    #[allow(dead_code)] // part of the documented envelope; only `success` decides
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenApiTokenResponse {
    success: bool,
    api_token: String,
    api_secret: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorResponse {
    err_response: ErrBody,
}

#[derive(Deserialize)]
struct ErrBody {
    message: String,
    code: i64,
}

/// What one HTTP exchange produced, before retry decisions.
enum Attempt {
    Done(StatusCode, String),
    RateLimited(Option<Duration>),
    NotConnected(String),
}

impl MantaClient {
    /// A client for the API at `base` (e.g. `https://mantago.cc/api`).
    pub fn new(base: Url, timeout: Duration, retry: RetryPolicy) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("manta-tagbot/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, base, timeout, retry })
    }

    /// The total time one request may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `POST /openapi/clientTag?botId=…`: creates the client tag `name` on `bot`.
    pub async fn create_client_tag(
        &self,
        bot: &BotId,
        credentials: &Credentials,
        name: &TagName,
    ) -> Result<(), MantaError> {
        let body = CreateClientTagRequest { secret: credentials.secret.expose_secret(), name: name.as_str() };
        let (status, text) = self.post("openapi/clientTag", bot, &credentials.token, &body).await?;
        let ok: BasicSuccessResponse = decode(status, &text)?;
        if ok.success { Ok(()) } else { Err(MantaError::UnexpectedBody { status: status.as_u16() }) }
    }

    /// `POST /openapi/token?botId=…`: exchanges the current (even expired) pair for a new one.
    /// On success the old pair is retired by MantaGo.
    pub async fn refresh_token(
        &self,
        bot: &BotId,
        credentials: &Credentials,
    ) -> Result<Credentials, MantaError> {
        let body = SecretRequest { secret: credentials.secret.expose_secret() };
        let (status, text) = self.post("openapi/token", bot, &credentials.token, &body).await?;
        let fresh: OpenApiTokenResponse = decode(status, &text)?;
        if !fresh.success || fresh.api_token.is_empty() || fresh.api_secret.is_empty() {
            return Err(MantaError::UnexpectedBody { status: status.as_u16() });
        }
        Ok(Credentials { token: fresh.api_token.into(), secret: fresh.api_secret.into() })
    }

    /// Sends one POST, retrying only what certainly did not reach MantaGo's logic.
    async fn post(
        &self,
        path: &str,
        bot: &BotId,
        token: &SecretString,
        body: &impl Serialize,
    ) -> Result<(StatusCode, String), MantaError> {
        let url = self.endpoint(path, bot);
        let mut connect_wait = self.retry.connect_backoff;
        let mut attempt = 1;
        loop {
            let last = attempt >= self.retry.max_attempts;
            match self.attempt(path, url.clone(), token, body).await? {
                Attempt::Done(status, text) => return Ok((status, text)),
                Attempt::NotConnected(why) if last => return Err(MantaError::Unreachable(why)),
                Attempt::NotConnected(why) => {
                    tracing::debug!(attempt, %why, "MantaGo connection failed; retrying");
                    tokio::time::sleep(connect_wait).await;
                    connect_wait *= 2;
                }
                Attempt::RateLimited(retry_after) => {
                    let wait = retry_after.unwrap_or(self.retry.default_retry_after);
                    if last || wait > self.retry.max_retry_after {
                        return Err(MantaError::RateLimited { retry_after });
                    }
                    tracing::debug!(attempt, ?wait, "MantaGo rate-limited; retrying");
                    tokio::time::sleep(wait).await;
                }
            }
            attempt += 1;
        }
    }

    /// One HTTP exchange, counted and timed for `/metrics`.
    async fn attempt(
        &self,
        path: &str,
        url: Url,
        token: &SecretString,
        body: &impl Serialize,
    ) -> Result<Attempt, MantaError> {
        let started = Instant::now();
        let result = self.exchange(url, token, body).await;
        let status = match &result {
            Ok(Attempt::Done(status, _)) => status.as_u16().to_string(),
            Ok(Attempt::RateLimited(_)) => "429".to_owned(),
            Ok(Attempt::NotConnected(_)) | Err(MantaError::Unreachable(_)) => "unreachable".to_owned(),
            Err(MantaError::Timeout(_)) => "timeout".to_owned(),
            Err(error) => error.http_status().map_or_else(|| "error".to_owned(), |s| s.to_string()),
        };
        crate::metrics::manta_request(path, status, started.elapsed());
        result
    }

    async fn exchange(
        &self,
        url: Url,
        token: &SecretString,
        body: &impl Serialize,
    ) -> Result<Attempt, MantaError> {
        let sent = self.http.post(url).bearer_auth(token.expose_secret()).json(body).send().await;
        let response = match sent {
            Ok(response) => response,
            // Before `is_timeout`: a connect timeout is both, and it never sent anything.
            Err(e) if e.is_connect() => return Ok(Attempt::NotConnected(describe(&e))),
            Err(e) if e.is_timeout() => return Err(MantaError::Timeout(self.timeout)),
            Err(e) => return Err(MantaError::Unreachable(describe(&e))),
        };
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Ok(Attempt::RateLimited(retry_after(response.headers())));
        }
        match response.text().await {
            Ok(text) => Ok(Attempt::Done(status, text)),
            Err(e) if e.is_timeout() => Err(MantaError::Timeout(self.timeout)),
            // The request was delivered and answered; losing the body is not "unreachable".
            Err(_) => Err(MantaError::UnexpectedBody { status: status.as_u16() }),
        }
    }

    fn endpoint(&self, path: &str, bot: &BotId) -> Url {
        let mut url = self.base.clone();
        // `Url::join` would drop the base's last segment (`/api`) without a trailing slash.
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(path.split('/'));
        }
        url.query_pairs_mut().append_pair("botId", bot.as_str());
        url
    }
}

/// Decodes a 2xx body as `T`, or any other answer as MantaGo's error envelope.
fn decode<T: for<'de> Deserialize<'de>>(status: StatusCode, text: &str) -> Result<T, MantaError> {
    if status.is_success() {
        return serde_json::from_str(text)
            .map_err(|_| MantaError::UnexpectedBody { status: status.as_u16() });
    }
    // A 5xx is a MantaGo problem whatever its body says; the envelope only adds detail.
    match serde_json::from_str::<ErrorResponse>(text) {
        Ok(e) => Err(MantaError::Api {
            status: status.as_u16(),
            code: e.err_response.code,
            message: e.err_response.message,
        }),
        Err(_) => Err(MantaError::UnexpectedBody { status: status.as_u16() }),
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A transport error with its whole cause chain on one line, for the log (never for a reply).
/// The URL in it carries only the bot ID; the token travels in a header and is never printed.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    text
}
