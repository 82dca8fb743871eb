//! `MantaClient` over real HTTP: every request's exact shape, and every way an answer (or the
//! lack of one) becomes a `MantaError`, including which failures are retried and how often.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use manta_tagbot::ids::BotId;
use manta_tagbot::mantago::{Credentials, MantaClient, MantaError, RetryPolicy};
use manta_tagbot::tag_name::TagName;
use mockito::{Matcher, Mock, Server, ServerGuard};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use url::Url;

const TOKEN: &str = "T0k3n";
const SECRET: &str = "s3cr3t";
const TIMEOUT: Duration = Duration::from_secs(1);
const CREATE_PATH: &str = "/api/openapi/clientTag";
const TOKEN_PATH: &str = "/api/openapi/token";

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        connect_backoff: Duration::from_millis(10),
        default_retry_after: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(2),
    }
}

/// A client for the API at `{origin}/api`, with a 1 s timeout and fast retries.
fn client_for(origin: &str) -> MantaClient {
    let base = Url::parse(&format!("{origin}/api")).expect("valid base URL");
    MantaClient::new(base, TIMEOUT, fast_retry()).expect("client builds")
}

fn credentials() -> Credentials {
    Credentials { token: SecretString::from(TOKEN), secret: SecretString::from(SECRET) }
}

fn bot() -> BotId {
    BotId::parse("B1").expect("valid bot ID")
}

fn vip() -> TagName {
    TagName::parse("VIP").expect("valid tag name")
}

/// A mock that only matches a request of exactly the shape `path` must have; the caller adds
/// the answer and the expected number of hits.
fn expected_request(server: &mut ServerGuard, path: &str, body: serde_json::Value) -> Mock {
    server
        .mock("POST", path)
        .match_query(Matcher::UrlEncoded("botId".into(), "B1".into()))
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(body))
}

/// The create request for the tag `VIP` on bot `B1`.
fn expected_create(server: &mut ServerGuard) -> Mock {
    expected_request(server, CREATE_PATH, json!({"secret": SECRET, "name": "VIP"}))
}

/// The refresh request for bot `B1`.
fn expected_refresh(server: &mut ServerGuard) -> Mock {
    expected_request(server, TOKEN_PATH, json!({"secret": SECRET}))
}

fn error_envelope(message: &str, code: i64) -> String {
    json!({"success": false, "errResponse": {"message": message, "code": code, "botId": "B1"}}).to_string()
}

/// Neither the token nor the secret may appear in any rendering of an error.
fn assert_redacted(err: &MantaError) {
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(TOKEN), "token leaked in {text:?}");
        assert!(!text.contains(SECRET), "secret leaked in {text:?}");
    }
}

/// Creates `VIP` against a server that always answers `status` with MantaGo's error envelope,
/// and checks that exactly one request was sent.
async fn create_answered_with_envelope(status: usize, code: i64, message: &str) -> MantaError {
    let mut server = Server::new_async().await;
    let mock = expected_create(&mut server)
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(error_envelope(message, code))
        .expect(1)
        .create_async()
        .await;

    let result = client_for(&server.url()).create_client_tag(&bot(), &credentials(), &vip()).await;

    mock.assert_async().await;
    let err = result.expect_err("an error envelope is an error");
    assert_redacted(&err);
    err
}

#[tokio::test]
async fn created_tag_returns_ok() {
    let mut server = Server::new_async().await;
    let mock = expected_create(&mut server)
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(r#"{"success":true,"message":"Create client tag successfully"}"#)
        .expect(1)
        .create_async()
        .await;

    let result = client_for(&server.url()).create_client_tag(&bot(), &credentials(), &vip()).await;

    mock.assert_async().await;
    assert!(result.is_ok(), "expected Ok, got {result:?}");
}

#[tokio::test]
async fn expired_token_is_an_api_error_and_is_not_retried_here() {
    let err = create_answered_with_envelope(401, 1004, "Token is invalid or expired").await;

    assert!(
        matches!(&err, MantaError::Api { status: 401, code: 1004, message }
            if message == "Token is invalid or expired"),
        "got {err:?}"
    );
    assert_eq!(err.http_status(), Some(401));
    assert_eq!(err.manta_code(), Some(1004));
}

#[tokio::test]
async fn replaced_credentials_are_an_api_error_with_code_120000() {
    let err = create_answered_with_envelope(401, 120000, "Get open api failed").await;

    assert!(
        matches!(&err, MantaError::Api { status: 401, code: 120000, message }
            if message == "Get open api failed"),
        "got {err:?}"
    );
    assert_eq!(err.manta_code(), Some(120000));
}

#[tokio::test]
async fn permission_denied_is_an_api_error_with_code_1002() {
    let err = create_answered_with_envelope(403, 1002, "permission denied").await;

    assert!(
        matches!(&err, MantaError::Api { status: 403, code: 1002, message }
            if message == "permission denied"),
        "got {err:?}"
    );
    assert_eq!(err.http_status(), Some(403));
}

#[tokio::test]
async fn unknown_bot_is_an_api_error_with_code_5001() {
    let message = "尋找Bot資訊失敗,無此botId";

    let err = create_answered_with_envelope(404, 5001, message).await;

    assert!(
        matches!(&err, MantaError::Api { status: 404, code: 5001, message: m } if m == message),
        "got {err:?}"
    );
    assert_eq!(err.http_status(), Some(404));
    assert_eq!(err.manta_code(), Some(5001));
}

#[tokio::test]
async fn rate_limit_is_retried_after_retry_after_until_success() {
    let mut server = Server::new_async().await;
    let limited = expected_create(&mut server)
        .with_status(429)
        .with_header("retry-after", "1")
        .with_header("content-type", "application/json")
        .with_body(error_envelope("Rate limit exceeded", 429))
        .expect(2)
        .create_async()
        .await;
    let created = expected_create(&mut server)
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(r#"{"success":true,"message":"Create client tag successfully"}"#)
        .expect(1)
        .create_async()
        .await;
    let started = Instant::now();

    let result = client_for(&server.url()).create_client_tag(&bot(), &credentials(), &vip()).await;

    limited.assert_async().await;
    created.assert_async().await;
    assert!(result.is_ok(), "expected Ok, got {result:?}");
    assert!(started.elapsed() >= Duration::from_secs(2), "Retry-After: 1 was not honoured twice");
}

#[tokio::test]
async fn rate_limit_without_retry_after_gives_up_after_max_attempts() {
    let mut server = Server::new_async().await;
    let mock = expected_create(&mut server)
        .with_status(429)
        .with_header("content-type", "application/json")
        .with_body(error_envelope("Rate limit exceeded", 429))
        .expect(3)
        .create_async()
        .await;
    let started = Instant::now();

    let result = client_for(&server.url()).create_client_tag(&bot(), &credentials(), &vip()).await;

    mock.assert_async().await;
    let err = result.expect_err("still rate-limited after all attempts");
    assert!(matches!(err, MantaError::RateLimited { retry_after: None }), "got {err:?}");
    assert_eq!(err.http_status(), Some(429));
    assert_eq!(err.manta_code(), None);
    assert!(started.elapsed() >= Duration::from_millis(100), "default_retry_after was not waited");
    assert_redacted(&err);
}

#[tokio::test]
async fn rate_limit_with_long_retry_after_is_not_waited_for() {
    let mut server = Server::new_async().await;
    let mock = expected_create(&mut server)
        .with_status(429)
        .with_header("retry-after", "3600")
        .expect(1)
        .create_async()
        .await;
    let started = Instant::now();

    let result = client_for(&server.url()).create_client_tag(&bot(), &credentials(), &vip()).await;

    mock.assert_async().await;
    let err = result.expect_err("a long Retry-After is reported, not waited for");
    assert!(
        matches!(err, MantaError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(3600)),
        "got {err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2), "the client waited for Retry-After");
    assert_redacted(&err);
}

#[tokio::test]
async fn server_error_is_not_retried() {
    let err = create_answered_with_envelope(500, 500, "Internal server error").await;

    assert!(
        matches!(&err, MantaError::Api { status: 500, code: 500, message }
            if message == "Internal server error"),
        "got {err:?}"
    );
    assert_eq!(err.http_status(), Some(500));
}

#[tokio::test]
async fn html_error_page_is_an_unexpected_body() {
    let mut server = Server::new_async().await;
    let mock = expected_create(&mut server)
        .with_status(502)
        .with_header("content-type", "text/html")
        .with_body("<html>Bad Gateway</html>")
        .expect(1)
        .create_async()
        .await;

    let result = client_for(&server.url()).create_client_tag(&bot(), &credentials(), &vip()).await;

    mock.assert_async().await;
    let err = result.expect_err("an HTML page is not the documented JSON");
    assert!(matches!(err, MantaError::UnexpectedBody { status: 502 }), "got {err:?}");
    assert_eq!(err.http_status(), Some(502));
    assert_eq!(err.manta_code(), None);
    assert_redacted(&err);
}

#[tokio::test]
async fn malformed_json_on_success_is_an_unexpected_body() {
    let mut server = Server::new_async().await;
    let mock = expected_create(&mut server)
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(r#"{"success":"#)
        .expect(1)
        .create_async()
        .await;

    let result = client_for(&server.url()).create_client_tag(&bot(), &credentials(), &vip()).await;

    mock.assert_async().await;
    let err = result.expect_err("malformed JSON is not a success");
    assert!(matches!(err, MantaError::UnexpectedBody { status: 200 }), "got {err:?}");
    assert_redacted(&err);
}

#[tokio::test]
async fn success_false_on_200_is_an_unexpected_body() {
    let mut server = Server::new_async().await;
    let mock = expected_create(&mut server)
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(r#"{"success":false,"message":"nope"}"#)
        .expect(1)
        .create_async()
        .await;

    let result = client_for(&server.url()).create_client_tag(&bot(), &credentials(), &vip()).await;

    mock.assert_async().await;
    let err = result.expect_err("success:false is not a success");
    assert!(matches!(err, MantaError::UnexpectedBody { status: 200 }), "got {err:?}");
}

#[tokio::test]
async fn silent_server_times_out_and_is_not_retried() {
    // Accepts every connection and reads the request, but never writes a byte back.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("local address"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    let silent_server = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            });
        }
    });
    let started = Instant::now();

    let result = client_for(&origin).create_client_tag(&bot(), &credentials(), &vip()).await;

    let elapsed = started.elapsed();
    // Give a (wrong) second connection the chance to be accepted before counting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    silent_server.abort();
    let err = result.expect_err("a silent server is a timeout");
    assert!(matches!(err, MantaError::Timeout(d) if d == TIMEOUT), "got {err:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "a timeout must not be retried");
    assert!(elapsed < TIMEOUT * 2, "took {elapsed:?}: retried after the timeout?");
    assert_eq!(err.http_status(), None);
    assert_eq!(err.manta_code(), None);
    assert_redacted(&err);
}

#[tokio::test]
async fn closed_port_is_unreachable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("local address").port()
    };
    let started = Instant::now();

    let result = client_for(&format!("http://127.0.0.1:{port}"))
        .create_client_tag(&bot(), &credentials(), &vip())
        .await;

    let err = result.expect_err("nothing listens on a closed port");
    assert!(matches!(err, MantaError::Unreachable(_)), "got {err:?}");
    // Three attempts: the backoff (10 ms, then 20 ms) was waited between them.
    assert!(started.elapsed() >= Duration::from_millis(30), "a refused connection was not retried");
    assert_eq!(err.http_status(), None);
    assert_eq!(err.manta_code(), None);
    assert_redacted(&err);
}

#[tokio::test]
async fn connection_that_times_out_before_being_established_is_unreachable() {
    // A listener whose accept queue (backlog 0) is already full: the kernel drops further SYNs,
    // so connecting hangs until the client's 5 s connect timeout, and nothing is ever sent.
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind("127.0.0.1:0".parse().expect("address")).expect("bind");
    let listener = socket.listen(0).expect("listen");
    let address = listener.local_addr().expect("local address");
    let mut queued = Vec::new();
    for _ in 0..3 {
        if let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(address)).await
        {
            queued.push(stream);
        }
    }
    assert!(!queued.is_empty(), "could not fill the accept queue");
    // Longer than the 5 s connect timeout, and no retry, so the test takes about 5 s.
    let retry = RetryPolicy { max_attempts: 1, ..fast_retry() };
    let base = Url::parse(&format!("http://{address}/api")).expect("valid base URL");
    let client = MantaClient::new(base, Duration::from_secs(8), retry).expect("client builds");

    let result = client.create_client_tag(&bot(), &credentials(), &vip()).await;

    drop(listener);
    let err = result.expect_err("nothing accepts the connection");
    assert!(matches!(err, MantaError::Unreachable(_)), "got {err:?}");
    assert_redacted(&err);
}

#[tokio::test]
async fn refresh_token_returns_the_new_pair() {
    let mut server = Server::new_async().await;
    let mock = expected_refresh(&mut server)
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(r#"{"success":true,"message":"ok","apiToken":"NEW","apiSecret":"NEWS"}"#)
        .expect(1)
        .create_async()
        .await;

    let result = client_for(&server.url()).refresh_token(&bot(), &credentials()).await;

    mock.assert_async().await;
    let fresh = result.expect("refresh succeeds");
    assert_eq!(fresh.token.expose_secret(), "NEW");
    assert_eq!(fresh.secret.expose_secret(), "NEWS");
    let shown = format!("{fresh:?}");
    assert!(!shown.contains("NEW"), "new pair leaked in {shown:?}");
}

#[tokio::test]
async fn rejected_refresh_is_an_api_error() {
    let mut server = Server::new_async().await;
    let mock = expected_refresh(&mut server)
        .with_status(401)
        .with_header("content-type", "application/json")
        .with_body(error_envelope("Token is invalid or expired", 1004))
        .expect(1)
        .create_async()
        .await;

    let result = client_for(&server.url()).refresh_token(&bot(), &credentials()).await;

    mock.assert_async().await;
    let err = result.expect_err("a 401 is not a refresh");
    assert!(
        matches!(&err, MantaError::Api { status: 401, code: 1004, message }
            if message == "Token is invalid or expired"),
        "got {err:?}"
    );
    assert_redacted(&err);
}

#[test]
fn credentials_debug_never_shows_token_or_secret() {
    let shown = format!("{:?}", credentials());

    assert!(!shown.contains(TOKEN), "token leaked in {shown:?}");
    assert!(!shown.contains(SECRET), "secret leaked in {shown:?}");
}
