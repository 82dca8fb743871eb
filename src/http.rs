//! `HTTP_ADDR`: the operator's window into the daemon — `/healthz` and `/metrics` — and the
//! `healthcheck` subcommand that probes `/healthz` for a container HEALTHCHECK.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::ConfigError;
use crate::health::Health;

/// How long `manta-tagbot healthcheck` waits for `/healthz`.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
const EXAMPLE: &str = "HTTP_ADDR=0.0.0.0:8080";

/// Reads `HTTP_ADDR` (`host:port` with a numeric IP address); `None` when it is not set.
pub fn parse_addr(raw: Option<&str>) -> Result<Option<SocketAddr>, ConfigError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(None) };
    raw.parse::<SocketAddr>().map(Some).map_err(|_| ConfigError {
        variable: "HTTP_ADDR".into(),
        problem: format!(
            "{raw:?} is not an IP address and port (use 0.0.0.0:PORT for every interface, 127.0.0.1:PORT for this machine only)"
        ),
        example: EXAMPLE.into(),
    })
}

#[derive(Clone)]
struct Ops {
    health: Arc<Health>,
    metrics: PrometheusHandle,
}

/// Installs the metrics recorder, binds `addr` and serves `/healthz` and `/metrics` there in the
/// background, for as long as the process runs. Fails only if the address cannot be bound.
pub async fn serve(addr: SocketAddr, health: Arc<Health>) -> Result<(), String> {
    let metrics = crate::metrics::install().map_err(|e| format!("cannot set up the metrics: {e}"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("HTTP_ADDR: cannot listen on {addr}: {e}"))?;
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(render_metrics))
        .with_state(Ops { health, metrics });
    tracing::info!(%addr, "serving /healthz and /metrics");
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the HTTP server for /healthz and /metrics stopped");
        }
    });
    Ok(())
}

async fn healthz(State(ops): State<Ops>) -> Response {
    match ops.health.check() {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")).into_response(),
    }
}

async fn render_metrics(State(ops): State<Ops>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], ops.metrics.render())
        .into_response()
}

/// Why `healthcheck` did not find a healthy daemon.
#[derive(Debug)]
pub enum ProbeError {
    /// `HTTP_ADDR` is not set or not valid: there is nothing to probe.
    Config(ConfigError),
    /// The daemon answered 503, or did not answer.
    Unhealthy(String),
}

/// `manta-tagbot healthcheck`: GETs `/healthz` of the daemon configured by `HTTP_ADDR` (`raw`)
/// and returns its answer when it is 200.
pub async fn probe(raw: Option<&str>) -> Result<String, ProbeError> {
    let addr = parse_addr(raw).map_err(ProbeError::Config)?.ok_or_else(|| {
        ProbeError::Config(ConfigError {
            variable: "HTTP_ADDR".into(),
            problem: "is not set, so the daemon serves no /healthz to probe".into(),
            example: EXAMPLE.into(),
        })
    })?;
    let url = format!("http://{}/healthz", local(addr));
    let unhealthy = |why: String| ProbeError::Unhealthy(format!("unhealthy: {why}"));
    let client = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .build()
        .map_err(|e| unhealthy(format!("cannot set up an HTTP client: {e}")))?;
    let response = client.get(&url).send().await.map_err(|e| {
        // The innermost cause says it best ("Connection refused").
        let mut cause: &dyn std::error::Error = &e;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        let why = if e.is_timeout() {
            format!("no answer within {} s", PROBE_TIMEOUT.as_secs())
        } else {
            cause.to_string()
        };
        unhealthy(format!("{url} did not answer: {why}"))
    })?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let body = body.trim();
    if status == reqwest::StatusCode::OK {
        Ok(body.to_owned())
    } else {
        Err(unhealthy(if body.is_empty() { format!("{url} answered {status}") } else { body.to_owned() }))
    }
}

/// Where to reach a server listening on `addr` from this machine: "every interface" becomes
/// the loopback address.
pub fn local(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_addr_is_an_ip_and_a_port() {
        assert_eq!(parse_addr(None), Ok(None));
        assert_eq!(parse_addr(Some("  ")), Ok(None));
        assert_eq!(
            parse_addr(Some(" 0.0.0.0:8080 ")).map(|a| a.map(|a| a.to_string())),
            Ok(Some("0.0.0.0:8080".to_owned()))
        );
        let error = parse_addr(Some("localhost:8080")).expect_err("a host name is refused");
        assert_eq!(error.variable, "HTTP_ADDR");
        assert_eq!(error.example, "HTTP_ADDR=0.0.0.0:8080");
        assert!(parse_addr(Some("8080")).is_err());
    }

    #[test]
    fn every_interface_is_probed_on_loopback() {
        let probe = |a: &str| a.parse::<SocketAddr>().map(local).map(|a| a.to_string());
        assert_eq!(probe("0.0.0.0:8080"), Ok("127.0.0.1:8080".to_owned()));
        assert_eq!(probe("[::]:8080"), Ok("[::1]:8080".to_owned()));
        assert_eq!(probe("10.1.2.3:9000"), Ok("10.1.2.3:9000".to_owned()));
    }
}
