//! manta-tagbot: create MantaGo client tags from Telegram.
//!
//! The binary is a thin shell around [`cli::main`]; everything lives here so tests drive the
//! same code. A message travels: adapter ([`telegram`] or [`console`]) → [`core`] (which
//! parses the [`command`], checks [`config`]-given rights and [`bots`] links, validates a
//! [`tag_name::TagName`], calls [`mantago`]) → a [`reply::Reply`] worded in [`messages`].

pub mod app;
pub mod bots;
pub mod chat_queue;
pub mod cli;
pub mod clock;
pub mod command;
pub mod config;
pub mod console;
pub mod core;
pub mod credentials;
pub mod health;
pub mod http;
pub mod ids;
pub mod jwt;
pub mod logging;
pub mod mantago;
pub mod messages;
pub mod metrics;
pub mod polling;
pub mod reply;
pub mod shutdown;
pub mod state;
pub mod tag_name;
pub mod telegram;
