//! One blocking HTTP client for index pages and wheel ranges: timeouts, a few retries with
//! back-off (connection errors and 5xx only: a 404 will not change), and counters for the
//! requests made and the body bytes read, which the warm-cache promise is checked against.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What a request returned, body read whole.
pub(crate) struct Answer {
    pub status: u16,
    pub content_type: String,
    pub content_range: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("{url}: {message}")]
    Failed { url: String, message: String },
    #[error("{url}: the network is off (offline) and this is not in the cache")]
    Offline { url: String },
}

pub(crate) struct Http {
    agent: ureq::Agent,
    retries: u32,
    backoff: Duration,
    offline: bool,
    requests: AtomicU64,
    bytes_read: AtomicU64,
}

/// Largest body read in one answer: a whole-wheel fallback for the largest wheels on PyPI.
const BODY_LIMIT: u64 = 4 << 30;

/// Where the CA certificates come from: `ca_bundle`, else `SSL_CERT_FILE`, `PIP_CERT`,
/// `REQUESTS_CA_BUNDLE`, else the system bundle; the roots built into the binary (webpki-roots)
/// only when none of them is readable. The system bundle first, because a TLS-inspecting proxy
/// (common in companies and CI) signs with a CA that only the system store knows.
fn root_certs(ca_bundle: Option<&Path>) -> ureq::tls::RootCerts {
    let from_env = ["SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE"]
        .iter()
        .filter_map(std::env::var_os)
        .map(PathBuf::from);
    let system = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
        "/etc/ssl/ca-bundle.pem",
    ]
    .iter()
    .map(PathBuf::from);
    for path in ca_bundle
        .map(Path::to_path_buf)
        .into_iter()
        .chain(from_env)
        .chain(system)
    {
        let Ok(pem) = std::fs::read(&path) else {
            continue;
        };
        let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
                _ => None,
            })
            .collect();
        if !certs.is_empty() {
            return ureq::tls::RootCerts::from(certs);
        }
    }
    ureq::tls::RootCerts::WebPki
}

impl Http {
    pub fn new(
        timeout: Duration,
        retries: u32,
        backoff: Duration,
        offline: bool,
        ca_bundle: Option<&Path>,
    ) -> Http {
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(root_certs(ca_bundle))
            .build();
        let config = ureq::Agent::config_builder()
            .tls_config(tls)
            .timeout_connect(Some(timeout.min(Duration::from_secs(15))))
            // An idle limit, not a total one: a whole-wheel fallback of a few hundred MB on a slow
            // link keeps going while bytes arrive; a stalled server fails after `timeout`.
            .timeout_per_read(Some(timeout))
            // Statuses are data here (200 for a Range request, 404, 416): never errors.
            .http_status_as_error(false)
            .user_agent(concat!("ftaudit-lock/", env!("CARGO_PKG_VERSION")))
            .build();
        Http {
            agent: config.into(),
            retries,
            backoff,
            offline,
            requests: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
        }
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    /// GET `url` with extra headers, retrying connection failures and 5xx answers.
    pub fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<Answer, HttpError> {
        if self.offline {
            return Err(HttpError::Offline {
                url: url.to_string(),
            });
        }
        let mut attempt = 0;
        loop {
            let result = self.get_once(url, headers);
            let retry = match &result {
                Ok(answer) => answer.status >= 500,
                Err(_) => true,
            };
            if !retry || attempt >= self.retries {
                return match result {
                    Ok(answer) if answer.status >= 500 => Err(HttpError::Failed {
                        url: url.to_string(),
                        message: format!("HTTP {} after {} attempts", answer.status, attempt + 1),
                    }),
                    Ok(answer) => Ok(answer),
                    Err(message) => Err(HttpError::Failed {
                        url: url.to_string(),
                        message: format!("{message} (after {} attempts)", attempt + 1),
                    }),
                };
            }
            std::thread::sleep(self.backoff * 2u32.pow(attempt));
            attempt += 1;
        }
    }

    fn get_once(&self, url: &str, headers: &[(&str, &str)]) -> Result<Answer, String> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut request = self.agent.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.call().map_err(|e| e.to_string())?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let status = response.status().as_u16();
        let content_type = header("content-type").unwrap_or_default();
        let content_range = header("content-range");
        let mut body = Vec::new();
        response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .reader()
            .read_to_end(&mut body)
            .map_err(|e| format!("reading the answer: {e}"))?;
        self.bytes_read
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        Ok(Answer {
            status,
            content_type,
            content_range,
            body,
        })
    }
}
