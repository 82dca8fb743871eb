//! Load benchmark (issue 6): `cargo bench --bench load`.
//!
//! Cargo builds the release-profile binary (`target/release/manta-tagbot`) before running this
//! file; the bench spawns it as a separate process, exactly as an operator runs it, wired to the
//! end-to-end tests' fake Telegram Bot API server (`tests/support/fake_telegram.rs`, in this
//! process) and to a fake MantaGo whose latency is a parameter. It prints a table of figures
//! against the targets; the targets are aims, not assertions, so it never fails on a miss.
//!
//! Optional arguments select scenarios by name: `cargo bench --bench load -- startup s2`.
//! Names: `calibrate`, `startup`, `s1a`, `s1b`, `s1c`, `s2`, `s3`. Environment:
//! `LOAD_BENCH_ONE_CHAT=25` (commands in scenario 1a), `LOAD_BENCH_TIMELINE=1` (burst timelines
//! and the daemon's log), `LOAD_BENCH_RUST_LOG` (the daemon's `RUST_LOG`, default `warn`).
//! Results and their analysis: `BENCHMARKS.md`.

#[allow(dead_code)] // the end-to-end tests use more of the fake than the benchmark does
#[path = "../tests/support/fake_telegram.rs"]
mod fake_telegram;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use fake_telegram::{Chat, FakeTelegram};
use serde_json::Value;
use tokio::process::Child;

/// The admin of scenario 1a and of the groups in scenarios 2 and 3.
const ADMIN: i64 = 111;
/// Admins `FIRST_USER ..` each write in their own private chat (scenarios 1b and 1c).
const FIRST_USER: i64 = 1_000_001;
const MANY_USERS: usize = 500;
/// Regular groups (not supergroups) for scenarios 2 and 3.
const FIRST_GROUP: i64 = -4_000_000_001;

const SEQ_ONE_CHAT: usize = 20;
const SEQ_MANY_CHATS: usize = 500;
const PACED: usize = 200;
const PACE: Duration = Duration::from_millis(300);
const BURST: usize = 200;
const BURST_LATENCY: Duration = Duration::from_millis(200);
const STARTUP_RUNS: usize = 10;
const BURST_RUNS: usize = 5;
const IDLE: Duration = Duration::from_secs(5);

/// Throttle's overall limit, the floor for delivering a burst.
const PER_SEC_OVERALL: f64 = 30.0;

const CREATED: &str = r#"{"success":true,"message":"Create client tag successfully"}"#;

// ---------------------------------------------------------------------------------------------
// Fake MantaGo: answers every create after `latency`, counting requests in flight.

#[derive(Debug, Clone)]
struct MantaCall {
    name: String,
    arrived: Instant,
    answered: Instant,
}

struct MantaState {
    latency: Duration,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    calls: Mutex<Vec<MantaCall>>,
    unexpected: Mutex<Vec<String>>,
}

struct FakeManta {
    url: String,
    state: Arc<MantaState>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeManta {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeManta {
    async fn start(latency: Duration) -> Self {
        let state = Arc::new(MantaState {
            latency,
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            calls: Mutex::new(Vec::new()),
            unexpected: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/api/openapi/clientTag", axum::routing::post(create_tag))
            .fallback(unexpected)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake MantaGo");
        let url = format!("http://{}/api", listener.local_addr().expect("local addr"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, state, server }
    }

    fn calls(&self) -> Vec<MantaCall> {
        self.state.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn peak_in_flight(&self) -> usize {
        self.state.peak.load(Ordering::SeqCst)
    }

    fn unexpected(&self) -> Vec<String> {
        self.state.unexpected.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn create_tag(State(state): State<Arc<MantaState>>, body: Bytes) -> impl IntoResponse {
    let arrived = Instant::now();
    let now_in_flight = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.peak.fetch_max(now_in_flight, Ordering::SeqCst);
    let name = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["name"].as_str().map(str::to_owned))
        .unwrap_or_default();
    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    let answered = Instant::now();
    state.calls.lock().unwrap_or_else(|p| p.into_inner()).push(MantaCall { name, arrived, answered });
    (StatusCode::OK, [("content-type", "application/json")], CREATED)
}

async fn unexpected(State(state): State<Arc<MantaState>>, uri: Uri) -> impl IntoResponse {
    state.unexpected.lock().unwrap_or_else(|p| p.into_inner()).push(uri.to_string());
    (StatusCode::NOT_FOUND, "not part of the benchmark")
}

// ---------------------------------------------------------------------------------------------
// The daemon under test.

struct Daemon {
    child: Child,
    pid: u32,
    spawned: Instant,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_manta-tagbot")
}

fn admin_ids() -> String {
    let mut ids = vec![ADMIN.to_string()];
    ids.extend((0..MANY_USERS as i64).map(|i| (FIRST_USER + i).to_string()));
    ids.join(",")
}

async fn spawn_daemon(telegram: &FakeTelegram, manta: &FakeManta) -> Daemon {
    let dir = tempfile::tempdir().expect("temporary directory");
    let log = dir.path().join("daemon.log");
    let log_file = std::fs::File::create(&log).expect("daemon log file");
    let now = SystemTime::now();
    // A token that expires in a year: no refresh during the run.
    let token = manta_tagbot::jwt::unsigned_token(now, now + Duration::from_secs(365 * 24 * 3600));
    let mut command = tokio::process::Command::new(binary());
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TELOXIDE_TOKEN", "123456:BENCH")
        .env("TELOXIDE_API_URL", telegram.url())
        .env("ADMIN_IDS", admin_ids())
        .env("MANTA_API_URL", &manta.url)
        .env("MANTA_BOT_ID", "B1")
        .env("MANTA_TOKEN", token)
        .env("MANTA_SECRET", "bench-secret")
        .env("DATA_DIR", dir.path().join("data"))
        .env("RUST_LOG", std::env::var("LOAD_BENCH_RUST_LOG").unwrap_or_else(|_| "warn".to_owned()))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log file handle"))
        .stderr(log_file)
        .kill_on_drop(true);
    let spawned = Instant::now();
    let child = command.spawn().expect("start manta-tagbot");
    let pid = child.id().expect("pid of the daemon");
    Daemon { child, pid, spawned, log, _dir: dir }
}

impl Daemon {
    /// `VmRSS` and `VmHWM` in KiB.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// User + system CPU time the daemon has used so far (10 ms resolution).
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        // Fields after the command name (which is in parentheses): state is field 3, utime 14.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<u64> = after_name.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
        let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
        Duration::from_millis(ticks * 10)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then wait for the exit (kill after 15 s).
    async fn stop(mut self) {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
        match tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(status) => eprintln!("  note: the daemon exited with {status:?}; log:\n{}", self.log()),
            Err(_) => {
                eprintln!("  note: the daemon did not stop within 15 s; killing it");
                let _ = self.child.kill().await;
            }
        }
    }
}

/// Waits for the first `getUpdates` and returns the time since the process was spawned.
async fn wait_until_polling(telegram: &FakeTelegram, daemon: &Daemon) -> Duration {
    telegram.wait_for_calls("getupdates", 1).await;
    let first = telegram.call_times("getupdates")[0];
    first.duration_since(daemon.spawned)
}

/// Polls until the bot has sent `count` messages; false if `patience` ran out first.
async fn wait_for_sent(telegram: &FakeTelegram, count: usize, patience: Duration) -> bool {
    let deadline = Instant::now() + patience;
    while telegram.sent_timed().len() < count {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Timings per command.

struct Cmd {
    chat: i64,
    message_id: i64,
    name: String,
}

/// When one command was handed out, reached MantaGo, was answered there, and replied to.
#[derive(Debug, Clone, Copy)]
struct Timing {
    served: Instant,
    manta_in: Instant,
    manta_out: Instant,
    reply: Instant,
}

impl Timing {
    fn turnaround(&self) -> Duration {
        self.reply.duration_since(self.served)
    }
    fn manta(&self) -> Duration {
        self.manta_out.duration_since(self.manta_in)
    }
    /// Turnaround minus MantaGo's own time: what the daemon (and the HTTP between) adds.
    fn daemon(&self) -> Duration {
        self.turnaround().saturating_sub(self.manta())
    }
    fn inbound(&self) -> Duration {
        self.manta_in.duration_since(self.served)
    }
    fn outbound(&self) -> Duration {
        self.reply.duration_since(self.manta_out)
    }
}

/// Matches commands to the fakes' records: the update by message ID, the MantaGo call by tag
/// name, the reply as the k-th one in the chat of the k-th command there.
fn timings(telegram: &FakeTelegram, manta: &FakeManta, cmds: &[Cmd]) -> Vec<Option<Timing>> {
    let served: HashMap<i64, Instant> = telegram
        .served()
        .into_iter()
        .filter_map(|(at, update)| Some((update["message"]["message_id"].as_i64()?, at)))
        .collect();
    let calls: HashMap<String, MantaCall> = manta.calls().into_iter().map(|c| (c.name.clone(), c)).collect();
    let mut replies: HashMap<i64, Vec<Instant>> = HashMap::new();
    for (at, message) in telegram.sent_timed() {
        replies.entry(message.chat_id).or_default().push(at);
    }
    let mut seen: HashMap<i64, usize> = HashMap::new();
    cmds.iter()
        .map(|cmd| {
            let k = seen.entry(cmd.chat).or_default();
            let reply = replies.get(&cmd.chat).and_then(|r| r.get(*k)).copied();
            *k += 1;
            let call = calls.get(&cmd.name)?;
            Some(Timing {
                served: *served.get(&cmd.message_id)?,
                manta_in: call.arrived,
                manta_out: call.answered,
                reply: reply?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
struct Stats {
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn stats(mut values: Vec<Duration>) -> Stats {
    values.sort();
    let pick = |p: f64| {
        if values.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
        values[rank.clamp(1, values.len()) - 1]
    };
    Stats { p50: pick(50.0), p99: pick(99.0), max: values.last().copied().unwrap_or_default() }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 { format!("{ms:.2} ms") } else { format!("{ms:.0} ms") }
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn p50_p99(s: Stats) -> String {
    format!("{} / {}", ms(s.p50), ms(s.p99))
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

// ---------------------------------------------------------------------------------------------
// Report.

struct Row {
    scenario: String,
    figure: String,
    measured: String,
    target: String,
    verdict: Option<bool>,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Report {
    fn row(&mut self, scenario: &str, figure: &str, measured: String, target: &str, verdict: Option<bool>) {
        println!("  {figure}: {measured}");
        self.rows.push(Row {
            scenario: scenario.to_owned(),
            figure: figure.to_owned(),
            measured,
            target: target.to_owned(),
            verdict,
        });
    }

    fn note(&mut self, note: String) {
        println!("  note: {note}");
        self.notes.push(note);
    }

    fn print(&self) {
        println!();
        println!("| scenario | figure | measured | target | |");
        println!("|---|---|---|---|---|");
        for row in &self.rows {
            let verdict = match row.verdict {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "",
            };
            println!(
                "| {} | {} | {} | {} | {} |",
                row.scenario, row.figure, row.measured, row.target, verdict
            );
        }
        if !self.notes.is_empty() {
            println!();
            for note in &self.notes {
                println!("- {note}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

/// One loopback HTTP exchange on this machine (reqwest → axum, keep-alive, both in this
/// process): the unit the daemon's share is made of (it takes part in three per command).
async fn calibrate(report: &mut Report) {
    let manta = FakeManta::start(Duration::ZERO).await;
    let client = reqwest::Client::new();
    let url = format!("{}/openapi/clientTag?botId=B1", manta.url);
    let mut exchanges = Vec::new();
    for i in 0..310 {
        let started = Instant::now();
        let body = serde_json::json!({"secret": "s", "name": format!("calibration {i}")});
        let answer = client.post(&url).json(&body).send().await.expect("fake MantaGo answers");
        let _ = answer.bytes().await;
        if i >= 10 {
            exchanges.push(started.elapsed());
        }
    }
    report.row(
        "0. this machine",
        "one loopback HTTP POST exchange (reqwest → axum, both in the bench), p50 / p99",
        p50_p99(stats(exchanges)),
        "",
        None,
    );
}

/// Start-up: process spawn → first `getUpdates`, over several runs; idle memory after the first.
async fn startup(report: &mut Report, startups: &mut Vec<Duration>) {
    println!("start-up and idle memory ({STARTUP_RUNS} runs)");
    for run in 0..STARTUP_RUNS {
        let telegram = FakeTelegram::start().await;
        let manta = FakeManta::start(Duration::ZERO).await;
        let daemon = spawn_daemon(&telegram, &manta).await;
        startups.push(wait_until_polling(&telegram, &daemon).await);
        if run == 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let cpu_before = daemon.cpu();
            tokio::time::sleep(IDLE).await;
            let idle_cpu = daemon.cpu().saturating_sub(cpu_before);
            let (rss, hwm) = daemon.memory();
            report.row(
                "4. memory",
                "RSS idle (6 s after the first getUpdates; VmHWM so far)",
                format!("{} (VmHWM {})", mib(rss), mib(hwm)),
                "≤ 15 MiB",
                Some(rss <= 15 * 1024),
            );
            report.row(
                "4. memory",
                "CPU time while idle (long poll pending), per second",
                ms(idle_cpu / IDLE.as_secs() as u32),
                "",
                None,
            );
        }
        daemon.stop().await;
    }
}

struct SeqResult {
    wall: Duration,
    /// The daemon's CPU time over the run.
    cpu: Duration,
    timings: Vec<Timing>,
    missing: usize,
}

/// Sends each command only after the previous one's reply (and an optional pause), and times
/// every one of them.
async fn sequential(senders: &[(i64, Chat)], pause: Option<Duration>) -> (SeqResult, Duration) {
    let telegram = FakeTelegram::start().await;
    let manta = FakeManta::start(Duration::ZERO).await;
    let daemon = spawn_daemon(&telegram, &manta).await;
    let startup = wait_until_polling(&telegram, &daemon).await;
    let mut cmds = Vec::with_capacity(senders.len());
    let cpu_before = daemon.cpu();
    let started = Instant::now();
    for (i, (user, chat)) in senders.iter().enumerate() {
        let name = format!("bench {i}");
        let message_id = telegram.send_text(*user, *chat, &format!("/newtag {name}"));
        cmds.push(Cmd { chat: chat.id(), message_id, name });
        if !wait_for_sent(&telegram, i + 1, Duration::from_secs(70)).await {
            eprintln!("  no reply to command {i} within 70 s; daemon log:\n{}", daemon.log());
            break;
        }
        if let Some(pause) = pause {
            tokio::time::sleep(pause).await;
        }
    }
    let wall = started.elapsed();
    let cpu = daemon.cpu().saturating_sub(cpu_before);
    let all = timings(&telegram, &manta, &cmds);
    let missing = all.iter().filter(|t| t.is_none()).count() + senders.len() - cmds.len();
    daemon.stop().await;
    (SeqResult { wall, cpu, timings: all.into_iter().flatten().collect(), missing }, startup)
}

fn report_sequential(report: &mut Report, scenario: &str, result: &SeqResult, judge: bool) {
    let t = &result.timings;
    let turnaround = stats(t.iter().map(Timing::turnaround).collect());
    let daemon = stats(t.iter().map(Timing::daemon).collect());
    let inbound = stats(t.iter().map(Timing::inbound).collect());
    let outbound = stats(t.iter().map(Timing::outbound).collect());
    let manta = stats(t.iter().map(Timing::manta).collect());
    let gaps = stats(t.windows(2).map(|w| w[1].reply.duration_since(w[0].reply)).collect());
    report.row(
        scenario,
        "turnaround p50 / p99 (update served → sendMessage received)",
        p50_p99(turnaround),
        "",
        None,
    );
    report.row(
        scenario,
        "daemon's share p50 / p99 (turnaround − MantaGo's time)",
        p50_p99(daemon),
        "p99 < 2 ms",
        judge.then_some(daemon.p99 < Duration::from_millis(2)),
    );
    report.row(scenario, "  of which update → MantaGo request, p50 / p99", p50_p99(inbound), "", None);
    report.row(scenario, "  of which MantaGo answer → sendMessage, p50 / p99", p50_p99(outbound), "", None);
    report.row(scenario, "MantaGo fake's own time, p99", ms(manta.p99), "", None);
    report.row(scenario, "interval between consecutive replies, p50", ms(gaps.p50), "", None);
    report.row(
        scenario,
        "commands timed / wall time / daemon CPU time",
        format!(
            "{} ({} missing) in {}; daemon CPU {} ({} per command)",
            t.len(),
            result.missing,
            secs(result.wall),
            ms(result.cpu),
            ms(result.cpu / t.len().max(1) as u32)
        ),
        "",
        None,
    );
}

struct BurstResult {
    delivered: usize,
    rate_limited: usize,
    served_first: Instant,
    manta_first_in: Option<Instant>,
    manta_last_in: Option<Instant>,
    manta_last_out: Option<Instant>,
    last_reply: Option<Instant>,
    peak_in_flight: usize,
    memory: (u64, u64),
    cpu: Duration,
    /// The longest time from an update being served to its MantaGo request.
    longest_intake: Duration,
    unexpected: Vec<String>,
}

/// `BURST` groups each send one `/newtag`, all queued before the daemon starts polling.
async fn burst(flood_limits: bool) -> (BurstResult, Duration) {
    let telegram = FakeTelegram::start().await;
    if flood_limits {
        telegram.enforce_flood_limits();
    }
    let manta = FakeManta::start(BURST_LATENCY).await;
    let mut cmds = Vec::with_capacity(BURST);
    for i in 0..BURST {
        let chat = Chat::Group(FIRST_GROUP - i as i64);
        let name = format!("burst {i}");
        let message_id = telegram.send_text(ADMIN, chat, &format!("/newtag {name}"));
        cmds.push(Cmd { chat: chat.id(), message_id, name });
    }
    let daemon = spawn_daemon(&telegram, &manta).await;
    let startup = wait_until_polling(&telegram, &daemon).await;
    let cpu_before = daemon.cpu();
    if !wait_for_sent(&telegram, BURST, Duration::from_secs(90)).await {
        eprintln!(
            "  only {} of {BURST} replies within 90 s; daemon log:\n{}",
            telegram.sent_timed().len(),
            daemon.log()
        );
    }
    let memory = daemon.memory();
    let cpu = daemon.cpu().saturating_sub(cpu_before);
    let served: Vec<Instant> = telegram.served().into_iter().map(|(at, _)| at).collect();
    let calls = manta.calls();
    let sent = telegram.sent_timed();
    if std::env::var_os("LOAD_BENCH_TIMELINE").is_some() {
        let t0 = served.iter().copied().min().expect("updates were served");
        let offsets = |times: Vec<Instant>| {
            let mut ms: Vec<u128> = times.iter().map(|t| t.duration_since(t0).as_millis()).collect();
            ms.sort_unstable();
            ms
        };
        println!("  updates served (ms): {:?}", offsets(served.clone()));
        println!("  getUpdates calls (ms): {:?}", offsets(telegram.call_times("getupdates")));
        println!("  MantaGo in (ms): {:?}", offsets(calls.iter().map(|c| c.arrived).collect()));
        println!("  replies (ms): {:?}", offsets(sent.iter().map(|(at, _)| *at).collect()));
        println!("  sendMessage calls (ms): {:?}", offsets(telegram.call_times("sendmessage")));
        println!("  daemon log:\n{}", daemon.log());
    }
    let longest_intake = timings(&telegram, &manta, &cmds).iter().flatten().map(Timing::inbound).max();
    let result = BurstResult {
        longest_intake: longest_intake.unwrap_or_default(),
        delivered: sent.len(),
        rate_limited: telegram.rate_limited(),
        served_first: served.iter().copied().min().expect("updates were served"),
        manta_first_in: calls.iter().map(|c| c.arrived).min(),
        manta_last_in: calls.iter().map(|c| c.arrived).max(),
        manta_last_out: calls.iter().map(|c| c.answered).max(),
        last_reply: sent.iter().map(|(at, _)| *at).max(),
        peak_in_flight: manta.peak_in_flight(),
        memory,
        cpu,
        unexpected: manta.unexpected(),
    };
    daemon.stop().await;
    (result, startup)
}

fn since(t0: Instant, t: Option<Instant>) -> Duration {
    t.map(|t| t.saturating_duration_since(t0)).unwrap_or_default()
}

/// The median of per-run values (shown by `full`) and their range (shown by `short`).
fn spread_with<T: Copy + PartialOrd>(
    mut values: Vec<T>,
    full: impl Fn(T) -> String,
    short: impl Fn(T) -> String,
) -> String {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    match values.len() {
        0 => "–".to_owned(),
        1 => full(values[0]),
        n => format!("{} (range {} – {})", full(values[n / 2]), short(values[0]), short(values[n - 1])),
    }
}

fn spread<T: Copy + PartialOrd>(values: Vec<T>, show: impl Fn(T) -> String) -> String {
    spread_with(values, &show, &show)
}

fn median<T: Copy + PartialOrd>(mut values: Vec<T>) -> Option<T> {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values.get(values.len() / 2).copied()
}

fn report_burst(report: &mut Report, scenario: &str, runs: &[BurstResult], flood_limits: bool) {
    let floor = BURST as f64 / PER_SEC_OVERALL;
    let last_reply: Vec<f64> =
        runs.iter().map(|r| since(r.served_first, r.last_reply).as_secs_f64() / floor).collect();
    let all_delivered = runs.iter().all(|r| r.delivered == BURST);
    let delivered: Vec<usize> = runs.iter().map(|r| r.delivered).collect();
    let rate_limited: Vec<usize> = runs.iter().map(|r| r.rate_limited).collect();
    for r in runs.iter().filter(|r| !r.unexpected.is_empty()) {
        report.note(format!("{scenario}: unexpected MantaGo requests: {:?}", r.unexpected));
    }
    let runs_note = format!("median (min – max) of {} runs", runs.len());
    if flood_limits {
        report.row(
            scenario,
            &format!("replies delivered, {runs_note}"),
            spread(delivered, |n| format!("{n} / {BURST}")),
            "all",
            Some(all_delivered),
        );
        report.row(
            scenario,
            "429s received",
            spread(rate_limited.clone(), |n| n.to_string()),
            "≤ 3",
            median(rate_limited).map(|n| n <= 3),
        );
        report.row(
            scenario,
            "wall time (first update served → last reply) vs floor 200/30 s",
            spread_with(
                last_reply.clone(),
                |x| format!("{:.2} s = {x:.2} × floor", x * floor),
                |x| format!("{x:.2}"),
            ),
            "≤ 1.15 × floor",
            median(last_reply).map(|x| x <= 1.15 && all_delivered),
        );
        report.row(
            scenario,
            "  longest wait from an update being served to its MantaGo request",
            spread(runs.iter().map(|r| r.longest_intake).collect(), ms),
            "",
            None,
        );
        return;
    }
    let ideal = BURST_LATENCY.as_secs_f64();
    let answered: Vec<f64> =
        runs.iter().map(|r| since(r.served_first, r.manta_last_out).as_secs_f64() / ideal).collect();
    report.row(
        scenario,
        &format!("all 200 MantaGo answers (after first update served) vs ideal 200 ms, {runs_note}"),
        spread_with(
            answered.clone(),
            |x| format!("{:.0} ms = {x:.2} × ideal", x * ideal * 1e3),
            |x| format!("{x:.2}"),
        ),
        "≤ 1.2 × ideal",
        median(answered).map(|x| x <= 1.2 && all_delivered),
    );
    report.row(
        scenario,
        "  first; last MantaGo request arrived after first update served",
        format!(
            "{}; {}",
            spread(runs.iter().map(|r| since(r.served_first, r.manta_first_in)).collect(), ms),
            spread(runs.iter().map(|r| since(r.served_first, r.manta_last_in)).collect(), ms)
        ),
        "",
        None,
    );
    report.row(
        scenario,
        "  longest wait from an update being served to its MantaGo request",
        spread(runs.iter().map(|r| r.longest_intake).collect(), ms),
        "",
        None,
    );
    report.row(
        scenario,
        "MantaGo requests in flight at peak",
        spread(runs.iter().map(|r| r.peak_in_flight).collect(), |n| format!("{n} / {BURST}")),
        "",
        None,
    );
    report.row(
        scenario,
        "last reply (after first update served) vs 200/30 s",
        spread_with(
            last_reply.clone(),
            |x| format!("{:.2} s = {x:.2} × 6.67 s", x * floor),
            |x| format!("{x:.2}"),
        ),
        "≤ 1.15 × 200/30 s",
        median(last_reply).map(|x| x <= 1.15 && all_delivered),
    );
    report.row(
        scenario,
        "replies delivered; 429s",
        format!("{}; {}", spread(delivered, |n| n.to_string()), spread(rate_limited, |n| n.to_string())),
        "",
        None,
    );
    report.row(
        scenario,
        "daemon CPU time for the burst (user + system)",
        spread(runs.iter().map(|r| r.cpu).collect(), ms),
        "",
        None,
    );
    report.row(
        "4. memory",
        "peak RSS during scenario 2 (VmHWM)",
        spread(runs.iter().map(|r| r.memory.1).collect(), mib),
        "",
        None,
    );
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or_else(|| "? GiB".to_owned(), |kib| format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0));
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpus} CPUs ({cpu}), {mem} RAM")
}

#[tokio::main]
async fn main() {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| filters.is_empty() || filters.iter().any(|f| f == name);
    println!("manta-tagbot load benchmark");
    println!("machine: {}", machine());
    println!("daemon: {}", binary());
    let mut report = Report::default();
    let mut startups = Vec::new();

    if wanted("calibrate") {
        calibrate(&mut report).await;
    }
    if wanted("startup") {
        startup(&mut report, &mut startups).await;
    }
    if wanted("s1a") {
        // `LOAD_BENCH_ONE_CHAT=25` goes past the 20 a minute that teloxide's Throttle allows per chat.
        let count =
            std::env::var("LOAD_BENCH_ONE_CHAT").ok().and_then(|n| n.parse().ok()).unwrap_or(SEQ_ONE_CHAT);
        println!("1a: {count} /newtag one after another in the admin's private chat");
        let senders = vec![(ADMIN, Chat::Private(ADMIN)); count];
        let (result, startup) = sequential(&senders, None).await;
        startups.push(startup);
        report_sequential(&mut report, &format!("1a. one chat, {count} back to back"), &result, true);
    }
    if wanted("s1b") {
        println!("1b: {SEQ_MANY_CHATS} /newtag one after another, each in another admin's private chat");
        let senders: Vec<(i64, Chat)> = (0..SEQ_MANY_CHATS as i64)
            .map(|i| (FIRST_USER + i % MANY_USERS as i64, Chat::Private(FIRST_USER + i % MANY_USERS as i64)))
            .collect();
        let (result, startup) = sequential(&senders, None).await;
        startups.push(startup);
        report_sequential(&mut report, "1b. 500 chats, one after another", &result, true);
    }
    if wanted("s1c") {
        println!(
            "1c: {PACED} /newtag, each {} ms after the previous reply, distinct chats",
            PACE.as_millis()
        );
        let senders: Vec<(i64, Chat)> =
            (0..PACED as i64).map(|i| (FIRST_USER + i, Chat::Private(FIRST_USER + i))).collect();
        let (result, startup) = sequential(&senders, Some(PACE)).await;
        startups.push(startup);
        report_sequential(&mut report, "1c. distinct chats, 300 ms apart", &result, true);
    }
    if wanted("s2") {
        println!("2: {BURST} groups send /newtag at once, MantaGo latency 200 ms, no flood limits");
        let mut runs = Vec::new();
        for _ in 0..BURST_RUNS {
            let (result, startup) = burst(false).await;
            startups.push(startup);
            runs.push(result);
        }
        report_burst(&mut report, "2. burst of 200", &runs, false);
    }
    if wanted("s3") {
        println!("3: the same burst, the fake enforcing Telegram's flood limits");
        let mut runs = Vec::new();
        for _ in 0..BURST_RUNS {
            let (result, startup) = burst(true).await;
            startups.push(startup);
            runs.push(result);
        }
        report_burst(&mut report, "3. burst, flood limits", &runs, true);
    }
    if !startups.is_empty() {
        let s = stats(startups.clone());
        let min = startups.iter().min().copied().unwrap_or_default();
        report.row(
            "5. start-up",
            &format!("process start → first getUpdates, median (min–max), {} runs", startups.len()),
            format!("{} ({}–{})", ms(s.p50), ms(min), ms(s.max)),
            "≤ 100 ms",
            Some(s.p50 <= Duration::from_millis(100)),
        );
    }
    report.print();
}
