//! The command line: subcommands, start-up order, and exit statuses
//! (0 done, 1 failed while running, 2 configuration mistake).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::{Config, ConfigError, Mode};
use crate::console::{self, Seat};
use crate::credentials;
use crate::health::Health;
use crate::ids::{ChatId, UserId};
use crate::logging::{self, LogFormat};
use crate::state::StateDb;
use crate::{http, shutdown, telegram};

/// Create MantaGo client tags from Telegram.
///
/// Configuration comes from the environment and from a `.env` file in the working directory
/// (see README.md and .env.example for every variable).
#[derive(Debug, Parser)]
#[command(name = "manta-tagbot", version, about, long_about, after_long_help = ENVIRONMENT)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Telegram bot daemon (the default when no subcommand is given).
    Run,
    /// Type commands on standard input instead of Telegram; replies go to standard output as
    /// plain text. TELOXIDE_TOKEN is not needed.
    Console {
        /// The Telegram user ID to act as (admin rights come from ADMIN_IDS as usual).
        #[arg(long, value_name = "ID", allow_negative_numbers = true)]
        user: i64,
        /// The chat ID to act in (default: the user's private chat, which has the user's ID).
        #[arg(long, value_name = "ID", allow_negative_numbers = true)]
        chat: Option<i64>,
    },
    /// Show each MantaGo bot's live credentials: token expiry, origin (configured or rotated)
    /// and last refresh, read from the state database in DATA_DIR. Secrets only with --reveal.
    Credentials {
        /// Also print the live API token and secret key, e.g. to copy them into another
        /// integration (which must then stop refreshing them itself).
        #[arg(long)]
        reveal: bool,
    },
    /// Probe the running daemon's /healthz (at HTTP_ADDR, with 0.0.0.0 read as 127.0.0.1), for
    /// a container HEALTHCHECK. Exit status 0: healthy; 1: unhealthy or not answering (the
    /// reason is printed); 2: HTTP_ADDR is not set.
    Healthcheck,
}

/// The variables, for `--help` (README.md and .env.example explain each one).
const ENVIRONMENT: &str = "\
Environment (or .env in the working directory):
  TELOXIDE_TOKEN          Telegram bot token from @BotFather (not needed by console/credentials)
  TELOXIDE_API_URL        self-hosted Bot API server URL
  ADMIN_IDS               comma-separated numeric Telegram user IDs (may be empty at first)
  MANTA_API_URL           default https://mantago.cc/api
  MANTA_TIMEOUT_SECS      total time for one MantaGo request, default 10
  MANTA_BOT_ID, MANTA_TOKEN, MANTA_SECRET, MANTA_CHATS
                          one MantaGo bot and its linked chats (default * = every chat)
  MANTA_BOTS=shop,support several bots: MANTA_<LABEL>_BOT_ID, _TOKEN, _SECRET, _CHATS each
  DATA_DIR                state database folder, default ./data
  MANTA_AUTO_REFRESH      rotate credentials before they expire, default true
  MAX_COMMAND_AGE_SECS    skip commands older than this, default 300
  SHUTDOWN_TIMEOUT_SECS   time for commands in flight after SIGTERM, default 20
  HTTP_ADDR               serve /healthz and /metrics, e.g. 0.0.0.0:8080
  LOG_FORMAT              text (default) or json
  RUST_LOG                log filter, default info

Exit status: 0 done, 1 failed while running, 2 configuration mistake.";

/// Why the program stops with a failure.
enum Failure {
    Config(ConfigError),
    Runtime(String),
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

/// Runs the program as the binary does, returning its exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match start(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(e)) => {
            eprintln!("manta-tagbot: configuration error: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("manta-tagbot: {e}");
            ExitCode::from(1)
        }
    }
}

fn start(cli: Cli) -> Result<(), Failure> {
    load_dotenv()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("cannot start the async runtime: {e}")))?;
    let format = LogFormat::from_env_value(std::env::var("LOG_FORMAT").ok().as_deref())?;
    let filter = std::env::var("RUST_LOG").ok();
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => {
            logging::init(format, filter.as_deref(), std::io::stdout)?;
            let config = Config::from_process_env(Mode::Daemon)?;
            runtime.block_on(run_daemon(config))
        }
        Command::Console { user, chat } => {
            logging::init(format, filter.as_deref(), std::io::stderr)?;
            let config = Config::from_process_env(Mode::Console)?;
            let seat = Seat { user: UserId(user), chat: chat.map_or(UserId(user).private_chat(), ChatId) };
            runtime.block_on(run_console(config, seat))
        }
        Command::Credentials { reveal } => {
            logging::init(format, filter.as_deref(), std::io::stderr)?;
            let config = Config::from_process_env(Mode::Console)?;
            let db = StateDb::open(&config.data_dir).map_err(|e| Failure::Runtime(e.to_string()))?;
            let report = credentials::report(&config, &db, SystemTime::now(), reveal)
                .map_err(|e| Failure::Runtime(e.to_string()))?;
            print!("{report}");
            Ok(())
        }
        Command::Healthcheck => {
            let addr = std::env::var("HTTP_ADDR").ok();
            match runtime.block_on(http::probe(addr.as_deref())) {
                Ok(answer) => {
                    println!("{answer}");
                    Ok(())
                }
                Err(http::ProbeError::Config(e)) => Err(Failure::Config(e)),
                Err(http::ProbeError::Unhealthy(why)) => Err(Failure::Runtime(why)),
            }
        }
    }
}

/// Loads `.env` from the working directory, if there is one. Its content is never echoed:
/// a broken line may hold a secret.
fn load_dotenv() -> Result<(), ConfigError> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(e) if e.not_found() => Ok(()),
        Err(dotenvy::Error::LineParse(line, index)) => {
            let name = line.split('=').next().unwrap_or("").trim().chars().take(64).collect::<String>();
            Err(ConfigError {
                variable: ".env".into(),
                problem: format!(
                    "the line for {name:?} cannot be parsed (at character {index}); quote values that contain spaces or #"
                ),
                example: "MANTA_SECRET=\"my secret\"".into(),
            })
        }
        Err(e) => Err(ConfigError {
            variable: ".env".into(),
            problem: format!("cannot be read: {e}"),
            example: "a readable file of NAME=value lines".into(),
        }),
    }
}

fn assemble(config: &Config) -> Result<App, Failure> {
    App::assemble_with_system_clock(config).map_err(|e| Failure::Runtime(e.to_string()))
}

async fn run_daemon(config: Config) -> Result<(), Failure> {
    let Some(telegram) = &config.telegram else {
        return Err(Failure::Runtime("the daemon needs the Telegram configuration".into()));
    };
    // First, so /healthz answers (503) and metrics record from the very start.
    let health = Health::new();
    if let Some(addr) = config.http_addr {
        http::serve(addr, health.clone()).await.map_err(Failure::Runtime)?;
    }
    let app = assemble(&config)?;
    let stop = CancellationToken::new();
    let upkeep = app.spawn_upkeep(stop.clone());
    let on_signal = stop.clone();
    tokio::spawn(async move {
        shutdown::signal().await;
        on_signal.cancel();
    });
    let core = app.core.with_max_command_age(config.max_command_age);
    let ops = telegram::Operations { health, shutdown_timeout: config.shutdown_timeout };
    let result = telegram::run(telegram, core, app.notices, stop.clone().cancelled_owned(), ops).await;
    stop.cancel();
    if tokio::time::timeout(Duration::from_secs(10), upkeep).await.is_err() {
        tracing::error!("a credential refresh was still running at exit and was abandoned");
    }
    result.map_err(|e| match e {
        telegram::TelegramError::TokenRejected => Failure::Config(ConfigError {
            variable: "TELOXIDE_TOKEN".into(),
            problem: "Telegram rejected this token (Unauthorized); copy it again from @BotFather".into(),
            example: "TELOXIDE_TOKEN=123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw".into(),
        }),
        other => Failure::Runtime(other.to_string()),
    })
}

async fn run_console(config: Config, seat: Seat) -> Result<(), Failure> {
    // No credential upkeep here: a short-lived console refreshes only when MantaGo rejects the
    // pair, so it does not rotate a pair under a running daemon's feet.
    let App { core, mut notices } = assemble(&config)?;
    let prompt = std::io::stdin().is_terminal().then_some("> ");
    let input = tokio::io::BufReader::new(tokio::io::stdin());
    console::run(&core, seat, input, tokio::io::stdout(), prompt, &mut notices)
        .await
        .map_err(|e| Failure::Runtime(format!("console input/output failed: {e}")))
}
