//! Prometheus metrics: the names, labels and buckets in one place, and one small function per
//! thing worth counting, so callers never spell a metric name.
//!
//! The functions record through the `metrics` facade. Until [`install`] has run (it does when
//! `HTTP_ADDR` is set) they cost next to nothing and record nothing.

use std::time::Duration;

use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use crate::command::Command;

/// Commands handled, by `command` and `outcome` (the audit log's `outcome`).
pub const COMMANDS: &str = "manta_tagbot_commands_total";
/// HTTP requests to MantaGo, by `endpoint` and `status` (an HTTP status, `timeout`,
/// `unreachable` or `error`). Each retry is a request of its own.
pub const MANTA_REQUESTS: &str = "manta_tagbot_mantago_requests_total";
/// How long each MantaGo request took, by `endpoint`, in seconds.
pub const MANTA_REQUEST_DURATION: &str = "manta_tagbot_mantago_request_duration_seconds";
/// Replies Telegram did not accept, by `reason` (`rate_limited` after the retries, `markup`, `error`).
pub const TELEGRAM_SEND_FAILURES: &str = "manta_tagbot_telegram_send_failures_total";
/// 429 "Too Many Requests" answers from Telegram to a reply (each was waited out and retried).
pub const TELEGRAM_RATE_LIMITED: &str = "manta_tagbot_telegram_rate_limited_total";
/// When each MantaGo bot's API token expires, as a Unix time, by `bot_label` and `bot_id`.
pub const CREDENTIAL_EXPIRY: &str = "manta_tagbot_credential_expiry_timestamp_seconds";
/// Always 1, with the running `version` as a label.
pub const BUILD_INFO: &str = "manta_tagbot_build_info";

/// MantaGo latency buckets, in seconds: fast answers to the longest allowed timeout (300 s).
const LATENCY_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// How often histogram samples are folded into the rendered state.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Installs the global Prometheus recorder and returns the handle that renders it. Must run
/// inside the tokio runtime: it spawns the recorder's periodic upkeep.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(MANTA_REQUEST_DURATION.to_owned()), LATENCY_BUCKETS)?
        .install_recorder()?;
    describe();
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    // Shown as 0 from the start, so an alert on them has a series to watch.
    metrics::counter!(TELEGRAM_RATE_LIMITED).absolute(0);
    for reason in ["rate_limited", "markup", "error"] {
        metrics::counter!(TELEGRAM_SEND_FAILURES, "reason" => reason).absolute(0);
    }
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

fn describe() {
    metrics::describe_counter!(COMMANDS, "Commands handled, by command and outcome.");
    metrics::describe_counter!(MANTA_REQUESTS, "HTTP requests to MantaGo, by endpoint and status.");
    metrics::describe_histogram!(
        MANTA_REQUEST_DURATION,
        metrics::Unit::Seconds,
        "How long MantaGo requests took, by endpoint."
    );
    metrics::describe_counter!(
        TELEGRAM_SEND_FAILURES,
        "Replies that could not be sent to Telegram, by reason."
    );
    metrics::describe_counter!(
        TELEGRAM_RATE_LIMITED,
        "429 Too Many Requests answers from Telegram to replies (waited out and retried)."
    );
    metrics::describe_gauge!(CREDENTIAL_EXPIRY, "When each MantaGo bot's API token expires (Unix time).");
    metrics::describe_gauge!(BUILD_INFO, "Always 1; the version label tells which build runs.");
}

/// One command handled (called once per audit event). Unknown commands share one label, so
/// nobody can grow the metric without bound by typing made-up commands.
pub fn command_handled(command: &Command, outcome: &'static str) {
    let command = match command {
        Command::Start => "start",
        Command::Help => "help",
        Command::WhoAmI => "whoami",
        Command::NewTag(_) => "newtag",
        Command::Unknown(_) => "unknown",
    };
    metrics::counter!(COMMANDS, "command" => command, "outcome" => outcome).increment(1);
}

/// One HTTP request to MantaGo finished (or failed) after `took`.
pub fn manta_request(endpoint: &str, status: String, took: Duration) {
    let endpoint = format!("/{}", endpoint.trim_start_matches('/'));
    metrics::counter!(MANTA_REQUESTS, "endpoint" => endpoint.clone(), "status" => status).increment(1);
    metrics::histogram!(MANTA_REQUEST_DURATION, "endpoint" => endpoint).record(took.as_secs_f64());
}

/// Telegram did not take a reply, for `reason`.
pub fn telegram_send_failed(reason: &'static str) {
    metrics::counter!(TELEGRAM_SEND_FAILURES, "reason" => reason).increment(1);
}

/// Telegram answered a reply with 429 Too Many Requests.
pub fn telegram_rate_limited() {
    metrics::counter!(TELEGRAM_RATE_LIMITED).increment(1);
}

/// Records when the API token of MantaGo bot `label` (`bot_id`) expires, as a Unix time.
pub fn set_credential_expiry(label: &str, bot_id: &str, unix_secs: u64) {
    metrics::gauge!(CREDENTIAL_EXPIRY, "bot_label" => label.to_owned(), "bot_id" => bot_id.to_owned())
        .set(unix_secs as f64);
}
