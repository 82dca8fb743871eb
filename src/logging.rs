//! Log output: `LOG_FORMAT` (`text` or `json`) and `RUST_LOG`, to the writer the mode needs
//! (stdout for the daemon; stderr for the console, whose stdout carries replies).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::ConfigError;

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// Reads `LOG_FORMAT` (default `text`).
    pub fn from_env_value(value: Option<&str>) -> Result<Self, ConfigError> {
        match value.map(str::trim).map(str::to_ascii_lowercase).as_deref() {
            None | Some("") | Some("text") => Ok(Self::Text),
            Some("json") => Ok(Self::Json),
            Some(other) => Err(ConfigError {
                variable: "LOG_FORMAT".into(),
                problem: format!("{other:?} is not a log format; use text or json"),
                example: "LOG_FORMAT=json".into(),
            }),
        }
    }
}

/// Installs the global subscriber (and the bridge for crates that use `log`, like teloxide).
pub fn init<W>(format: LogFormat, filter: Option<&str>, writer: W) -> Result<(), ConfigError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let directives = filter.map(str::trim).filter(|f| !f.is_empty()).unwrap_or("info");
    let filter = EnvFilter::try_new(directives).map_err(|e| ConfigError {
        variable: "RUST_LOG".into(),
        problem: format!("{directives:?} is not a valid filter ({e})"),
        example: "RUST_LOG=info,manta_tagbot=debug".into(),
    })?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    // A second initialisation (only possible in tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
    };
    Ok(())
}
