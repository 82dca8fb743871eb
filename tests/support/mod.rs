//! Shared test support: the fake Telegram Bot API server and `spawn_app`, which starts the real
//! `manta-tagbot` binary against it and a mockito MantaGo.
#![allow(dead_code)] // each test file uses a different part of the support code

pub mod app;
pub mod fake_telegram;
pub mod http;

#[allow(unused_imports)]
pub use app::{
    ADMIN, MANTA_SECRET, MANTA_TOKEN, STRANGER, TELEGRAM_TOKEN, TestApp, spawn_app, spawn_app_with,
};
#[allow(unused_imports)]
pub use fake_telegram::{Chat, FakeTelegram, SentMessage};
