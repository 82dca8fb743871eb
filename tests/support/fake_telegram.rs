//! A fake Telegram Bot API server on 127.0.0.1, good enough for the real teloxide dispatcher:
//! long-polled `getUpdates` with offsets, recorded `sendMessage` calls, and Telegram's own
//! refusal ("can't parse entities") of HTML that would not parse.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// The bot's identity as `getMe` reports it.
pub const BOT_USERNAME: &str = "TagBot";
const BOT_USER_ID: i64 = 123_456_789;

/// A message the bot sent.
#[derive(Debug, Clone)]
pub struct SentMessage {
    pub chat_id: i64,
    pub text: String,
    pub parse_mode: Option<String>,
    pub reply_to: Option<i64>,
}

impl SentMessage {
    /// The text as a person sees it: HTML tags removed and entities decoded.
    pub fn visible_text(&self) -> String {
        if self.parse_mode.as_deref().is_some_and(|m| m.eq_ignore_ascii_case("html")) {
            html_to_visible(&self.text)
        } else {
            self.text.clone()
        }
    }
}

/// A chat as it appears in an update.
#[derive(Debug, Clone, Copy)]
pub enum Chat {
    Private(i64),
    Group(i64),
    Supergroup(i64),
}

impl Chat {
    pub fn id(self) -> i64 {
        match self {
            Self::Private(id) | Self::Group(id) | Self::Supergroup(id) => id,
        }
    }

    fn to_json(self) -> Value {
        match self {
            Self::Private(id) => json!({"id": id, "type": "private", "first_name": "Person"}),
            Self::Group(id) => json!({"id": id, "type": "group", "title": "Admins"}),
            Self::Supergroup(id) => json!({"id": id, "type": "supergroup", "title": "Team"}),
        }
    }
}

#[derive(Default)]
struct Inner {
    pending: VecDeque<Value>,
    next_update_id: i64,
    next_message_id: i64,
    sent: Vec<SentMessage>,
    calls: Vec<(String, Value)>,
    reject_token: bool,
    /// Answer this many next requests (of any method) with this status.
    outage: Option<(u16, usize)>,
    /// Enforce Telegram's flood limits on `sendMessage` (see [`FakeTelegram::enforce_flood_limits`]).
    flood_limits: bool,
    /// When each accepted message was sent, and to which chat, for the flood limits.
    recent_sends: VecDeque<(Instant, i64)>,
    /// Answer this many next `sendMessage` calls with 429 and this `retry_after`.
    forced_429: Option<(u64, usize)>,
    /// How many 429 answers were sent.
    rate_limited: usize,
    /// When each entry of `calls` arrived, in the same order (for the benchmark).
    call_times: Vec<Instant>,
    /// When each entry of `sent` was accepted, in the same order (for the benchmark).
    sent_times: Vec<Instant>,
    /// Each update with the moment `getUpdates` first handed it out (for the benchmark).
    served: Vec<(Instant, Value)>,
    /// The highest update ID handed out so far.
    last_served: i64,
}

/// Telegram's flood limits, as its FAQ states them.
const MAX_MESSAGES_PER_SEC: usize = 30;
const MAX_GROUP_MESSAGES_PER_MIN: usize = 20;

impl Inner {
    /// The `retry_after` to answer with if this message to `chat_id` breaks a limit now.
    fn flood_control(&mut self, chat_id: i64, now: Instant) -> Option<u64> {
        if let Some((retry_after, left)) = self.forced_429.as_mut() {
            let retry_after = *retry_after;
            *left -= 1;
            if *left == 0 {
                self.forced_429 = None;
            }
            return Some(retry_after);
        }
        if !self.flood_limits {
            return None;
        }
        let minute = Duration::from_secs(60);
        while self.recent_sends.front().is_some_and(|(at, _)| now.duration_since(*at) >= minute) {
            self.recent_sends.pop_front();
        }
        let last_second = self
            .recent_sends
            .iter()
            .filter(|(at, _)| now.duration_since(*at) < Duration::from_secs(1))
            .count();
        if last_second >= MAX_MESSAGES_PER_SEC {
            return Some(1);
        }
        // Groups and supergroups have negative IDs.
        if chat_id < 0 {
            let in_group: Vec<Instant> =
                self.recent_sends.iter().filter(|(_, chat)| *chat == chat_id).map(|(at, _)| *at).collect();
            if in_group.len() >= MAX_GROUP_MESSAGES_PER_MIN {
                let frees_up = minute.saturating_sub(now.duration_since(in_group[0]));
                return Some(frees_up.as_secs_f64().ceil().max(1.0) as u64);
            }
        }
        self.recent_sends.push_back((now, chat_id));
        None
    }
}

struct Shared {
    inner: Mutex<Inner>,
    changed: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The running fake. Dropping it stops the server.
pub struct FakeTelegram {
    url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeTelegram {
    /// Starts the fake on a free port.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner { next_update_id: 1000, next_message_id: 500, ..Inner::default() }),
            changed: Notify::new(),
        });
        let app = Router::new().route("/{*path}", axum::routing::any(handle)).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake Telegram");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared, server }
    }

    /// The value for `TELOXIDE_API_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Makes every request answer 401 Unauthorized, as Telegram does for a revoked token.
    pub fn reject_token(&self) {
        self.shared.lock().reject_token = true;
    }

    /// Answers the next `count` requests with HTTP `status` (e.g. 502 during an outage).
    pub fn fail_next(&self, status: u16, count: usize) {
        self.shared.lock().outage = Some((status, count));
    }

    /// Queues a text message from `user` in `chat`, sent now. Returns its message ID.
    pub fn send_text(&self, user: i64, chat: Chat, text: &str) -> i64 {
        self.send_text_at(user, chat, text, now())
    }

    /// Queues a text message with an explicit Unix `date`.
    pub fn send_text_at(&self, user: i64, chat: Chat, text: &str, date: i64) -> i64 {
        let message_id = self.next_message_id();
        let mut message = json!({
            "message_id": message_id,
            "date": date,
            "chat": chat.to_json(),
            "from": {"id": user, "is_bot": false, "first_name": "User", "username": format!("user{user}"), "language_code": "en"},
            "text": text,
        });
        if let Some(command) = text.split_whitespace().next().filter(|w| w.starts_with('/')) {
            message["entities"] =
                json!([{"type": "bot_command", "offset": 0, "length": command.encode_utf16().count()}]);
        }
        self.push_update("message", message);
        message_id
    }

    /// Queues an arbitrary update of `kind` (`message`, `edited_message`, …) with this payload.
    pub fn push_update(&self, kind: &str, payload: Value) {
        let mut inner = self.shared.lock();
        inner.next_update_id += 1;
        let update = json!({"update_id": inner.next_update_id, kind: payload});
        inner.pending.push_back(update);
        drop(inner);
        self.shared.changed.notify_waiters();
    }

    /// A fresh message ID for hand-built updates.
    pub fn next_message_id(&self) -> i64 {
        let mut inner = self.shared.lock();
        inner.next_message_id += 1;
        inner.next_message_id
    }

    /// Every message the bot has sent so far.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.shared.lock().sent.clone()
    }

    /// The bodies of every call to `method` (case-insensitive) so far.
    pub fn calls(&self, method: &str) -> Vec<Value> {
        let method = method.to_ascii_lowercase();
        self.shared.lock().calls.iter().filter(|(m, _)| *m == method).map(|(_, body)| body.clone()).collect()
    }

    /// Waits until the bot has sent `count` messages in all, then returns them all.
    pub async fn wait_for_sent(&self, count: usize) -> Vec<SentMessage> {
        self.wait_until(|inner| inner.sent.len() >= count).await;
        self.sent()
    }

    /// Waits for the next message to `chat` after the `already_seen` ones sent there.
    pub async fn wait_for_reply_in(&self, chat: Chat, already_seen: usize) -> SentMessage {
        let chat_id = chat.id();
        self.wait_until(|inner| inner.sent.iter().filter(|m| m.chat_id == chat_id).count() > already_seen)
            .await;
        self.sent().into_iter().filter(|m| m.chat_id == chat_id).nth(already_seen).expect("reply is there")
    }

    /// Waits until `method` has been called at least `count` times.
    pub async fn wait_for_calls(&self, method: &str, count: usize) {
        let method = method.to_ascii_lowercase();
        self.wait_until(|inner| inner.calls.iter().filter(|(m, _)| *m == method).count() >= count).await;
    }

    /// Waits until every queued update has been handed to the bot and the next poll has begun,
    /// which confirms them (Telegram's offset semantics).
    pub async fn wait_until_delivered(&self) {
        self.wait_until(|inner| inner.pending.is_empty()).await;
        let polls = self.calls("getupdates").len();
        self.wait_for_calls("getupdates", polls + 1).await;
    }

    /// Enforces Telegram's flood limits on `sendMessage`: more than 30 messages in any second,
    /// or more than 20 in any minute in one group or supergroup, get 429 "Too Many Requests"
    /// with a `retry_after`, as the real Telegram answers.
    pub fn enforce_flood_limits(&self) {
        self.shared.lock().flood_limits = true;
    }

    /// Answers the next `count` `sendMessage` calls with 429 and `retry_after` seconds.
    pub fn rate_limit_next_sends(&self, count: usize, retry_after: u64) {
        self.shared.lock().forced_429 = Some((retry_after, count));
    }

    /// How many 429 "Too Many Requests" answers the fake has sent.
    pub fn rate_limited(&self) -> usize {
        self.shared.lock().rate_limited
    }

    /// When each call to `method` (case-insensitive) arrived, in order.
    pub fn call_times(&self, method: &str) -> Vec<Instant> {
        let method = method.to_ascii_lowercase();
        let inner = self.shared.lock();
        inner
            .calls
            .iter()
            .zip(&inner.call_times)
            .filter(|((m, _), _)| *m == method)
            .map(|(_, at)| *at)
            .collect()
    }

    /// Every message the bot has sent so far, with the moment each was accepted.
    pub fn sent_timed(&self) -> Vec<(Instant, SentMessage)> {
        let inner = self.shared.lock();
        inner.sent_times.iter().copied().zip(inner.sent.iter().cloned()).collect()
    }

    /// Every update handed to the bot so far, with the moment `getUpdates` first returned it.
    pub fn served(&self) -> Vec<(Instant, Value)> {
        self.shared.lock().served.clone()
    }

    /// Waits (up to a minute) until the outage set by [`FakeTelegram::fail_next`] has been used
    /// up. teloxide waits 10 s after each 5xx before it even reports the error, then backs off.
    pub async fn wait_until_outage_is_over(&self) {
        self.wait_until_within(|inner| inner.outage.is_none(), Duration::from_secs(60)).await;
    }

    /// Like [`FakeTelegram::wait_for_sent`], for deliveries that take longer than 20 s.
    pub async fn wait_for_sent_within(&self, count: usize, patience: Duration) -> Vec<SentMessage> {
        self.wait_until_within(|inner| inner.sent.len() >= count, patience).await;
        self.sent()
    }

    async fn wait_until(&self, done: impl Fn(&Inner) -> bool) {
        self.wait_until_within(done, Duration::from_secs(20)).await;
    }

    async fn wait_until_within(&self, done: impl Fn(&Inner) -> bool, patience: Duration) {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let notified = self.shared.changed.notified();
            if done(&self.shared.lock()) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let inner = self.shared.lock();
                panic!(
                    "fake Telegram: gave up waiting after {patience:?}; sent so far: {:#?}; calls: {:?}",
                    inner.sent,
                    inner.calls.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>()
                );
            }
        }
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

async fn handle(State(shared): State<Arc<Shared>>, Path(path): Path<String>, body: Bytes) -> Response {
    // teloxide calls `POST /bot<token>/<Method>` with PascalCase method names.
    let method = path.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    {
        let mut inner = shared.lock();
        inner.calls.push((method.clone(), body.clone()));
        inner.call_times.push(Instant::now());
        if inner.reject_token {
            drop(inner);
            shared.changed.notify_waiters();
            return error(StatusCode::UNAUTHORIZED, "Unauthorized", None);
        }
        if let Some((status, left)) = inner.outage.as_mut() {
            let status = *status;
            *left -= 1;
            if *left == 0 {
                inner.outage = None;
            }
            drop(inner);
            shared.changed.notify_waiters();
            return (
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                "<html>Bad Gateway</html>",
            )
                .into_response();
        }
    }
    shared.changed.notify_waiters();
    match method.as_str() {
        "getme" => ok(json!({
            "id": BOT_USER_ID, "is_bot": true, "first_name": "TagBot", "username": BOT_USERNAME,
            "can_join_groups": true, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "has_main_web_app": false
        })),
        "getwebhookinfo" => {
            ok(json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0}))
        }
        "getupdates" => get_updates(&shared, &body).await,
        "sendmessage" => send_message(&shared, &body),
        _ => ok(json!(true)),
    }
}

async fn get_updates(shared: &Shared, body: &Value) -> Response {
    let offset = body["offset"].as_i64().unwrap_or(0);
    let limit = body["limit"].as_u64().unwrap_or(100) as usize;
    let timeout = Duration::from_secs(body["timeout"].as_u64().unwrap_or(0));
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let notified = shared.changed.notified();
        {
            let mut inner = shared.lock();
            // An offset confirms every update before it: Telegram forgets them.
            while inner.pending.front().is_some_and(|u| u["update_id"].as_i64().unwrap_or(0) < offset) {
                inner.pending.pop_front();
            }
            if !inner.pending.is_empty() || timeout.is_zero() {
                let batch: Vec<Value> = inner.pending.iter().take(limit).cloned().collect();
                let served_now = Instant::now();
                for update in &batch {
                    let id = update["update_id"].as_i64().unwrap_or(0);
                    if id > inner.last_served {
                        inner.last_served = id;
                        inner.served.push((served_now, update.clone()));
                    }
                }
                drop(inner);
                shared.changed.notify_waiters();
                return ok(Value::Array(batch));
            }
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return ok(json!([]));
        }
    }
}

fn send_message(shared: &Shared, body: &Value) -> Response {
    let chat_id = body["chat_id"].as_i64().unwrap_or(0);
    let text = body["text"].as_str().unwrap_or("").to_owned();
    let parse_mode = body["parse_mode"].as_str().map(str::to_owned);
    if parse_mode.as_deref().is_some_and(|m| m.eq_ignore_ascii_case("html"))
        && let Err(why) = check_html(&text)
    {
        return error(StatusCode::BAD_REQUEST, &format!("Bad Request: can't parse entities: {why}"), None);
    }
    if text.is_empty() {
        return error(StatusCode::BAD_REQUEST, "Bad Request: message text is empty", None);
    }
    let reply_to = body["reply_parameters"]["message_id"].as_i64();
    let mut inner = shared.lock();
    if let Some(retry_after) = inner.flood_control(chat_id, Instant::now()) {
        inner.rate_limited += 1;
        drop(inner);
        shared.changed.notify_waiters();
        let description = format!("Too Many Requests: retry after {retry_after}");
        return error(StatusCode::TOO_MANY_REQUESTS, &description, Some(retry_after));
    }
    inner.next_message_id += 1;
    let message_id = inner.next_message_id;
    inner.sent.push(SentMessage { chat_id, text: text.clone(), parse_mode, reply_to });
    inner.sent_times.push(Instant::now());
    drop(inner);
    shared.changed.notify_waiters();
    let chat_type = if chat_id > 0 { "private" } else { "group" };
    ok(json!({
        "message_id": message_id, "date": now(),
        "chat": {"id": chat_id, "type": chat_type, "title": "Chat", "first_name": "Person"},
        "from": {"id": BOT_USER_ID, "is_bot": true, "first_name": "TagBot", "username": BOT_USERNAME},
        "text": html_to_visible(&text),
    }))
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

fn error(status: StatusCode, description: &str, retry_after: Option<u64>) -> Response {
    let mut body = json!({"ok": false, "error_code": status.as_u16(), "description": description});
    if let Some(seconds) = retry_after {
        body["parameters"] = json!({"retry_after": seconds});
    }
    (status, axum::Json(body)).into_response()
}

const TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "code",
    "pre",
    "a",
    "tg-spoiler",
    "blockquote",
];

/// Telegram's HTML rules: known tags, properly nested; `&` only as a named or numeric entity.
pub fn check_html(text: &str) -> Result<(), String> {
    let mut open: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find(['<', '&']) {
        let tail = &rest[pos..];
        if tail.starts_with('&') {
            let end = tail.find(';').ok_or("can't find end of the entity")?;
            let entity = &tail[1..end];
            let valid = matches!(entity, "lt" | "gt" | "amp" | "quot")
                || entity
                    .strip_prefix('#')
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
            if !valid {
                return Err(format!("unsupported entity &{entity};"));
            }
            rest = &tail[end + 1..];
        } else {
            let end = tail.find('>').ok_or("can't find end of the tag")?;
            let tag = &tail[1..end];
            if let Some(name) = tag.strip_prefix('/') {
                if open.pop().as_deref() != Some(name.trim()) {
                    return Err(format!("unmatched end tag </{name}>"));
                }
            } else {
                let name = tag.split_whitespace().next().unwrap_or("");
                if !TAGS.contains(&name) {
                    return Err(format!("unsupported start tag \"{name}\""));
                }
                open.push(name.to_owned());
            }
            rest = &tail[end + 1..];
        }
    }
    match open.pop() {
        Some(name) => Err(format!("can't find end tag corresponding to start tag \"{name}\"")),
        None => Ok(()),
    }
}

/// Strips tags and decodes the entities `check_html` accepts.
pub fn html_to_visible(text: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
}
