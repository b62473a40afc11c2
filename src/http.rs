//! The one HTTP client: User-Agent, timeouts, rustls with system roots plus `SSL_CERT_FILE`,
//! proxies from the environment, retries with backoff and jitter, rate-limit waits, the
//! same-origin guard for credentials, and errors that keep the server's own reason.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

use crate::config::HttpSettings;
use crate::credentials::{Auth, Redactor};
use crate::error::{Error, Result};

/// Longest single wait the step accepts from a server (`Retry-After`, rate-limit reset).
const MAX_WAIT: Duration = Duration::from_secs(60);
/// Marks a URL built from a path segment that cannot be sent (see `Http::url`).
const UNSENDABLE: &str = "pr-status-unsendable-path-segment";
/// Pages followed at most: a hostile or broken server must not keep the step paging forever.
const MAX_PAGES: usize = 200;
/// Requests in flight at once, at most: GitHub's secondary rate limit counts concurrent
/// requests, and no forge gains from hundreds of connections opened by one step.
pub const MAX_IN_FLIGHT: usize = 8;
/// Largest body read; anything bigger is a malformed answer, not a reason to run out of memory.
const MAX_BODY: usize = 32 * 1024 * 1024;
/// Well-known system CA bundles, in the order Go and curl look for them.
const SYSTEM_BUNDLES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// A scheme, host and port: credentials are only ever sent to the API's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String, String, Option<u16>);

impl Origin {
    pub fn of(url: &Url) -> Origin {
        Origin(
            url.scheme().to_string(),
            url.host_str().unwrap_or("").to_ascii_lowercase(),
            url.port_or_known_default(),
        )
    }
}

/// A successful (2xx) answer, body read in full.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub url: Url,
}

impl Response {
    /// Parses the body, naming the request and what was wrong when it is not the expected JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        parse_json(
            &format!("GET {}", self.url.path()),
            Some(self.status.as_u16()),
            &self.headers,
            &self.body,
        )
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `rel="next"` target of the `Link` header(s) (RFC 8288), as GitHub and GitLab page
    /// their lists. Pass it to `Http::follow` before requesting it.
    pub fn next_link(&self) -> Option<String> {
        self.headers
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(link_rel_next)
    }
}

/// Finds the `rel="next"` URI in one `Link` header value: `<uri>; rel="next", <uri>; rel="last"`.
fn link_rel_next(value: &str) -> Option<String> {
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>')?;
        let target = &after[..end];
        let tail = &after[end + 1..];
        let params = &tail[..tail.find('<').unwrap_or(tail.len())];
        let is_next = params.split([';', ',']).any(|p| {
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_matches('"')
                        .split_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            })
        });
        if is_next {
            return Some(target.trim().to_string());
        }
        rest = tail;
    }
    None
}

/// Parses an answer body as `T`. Anything else (HTML, an empty body, wrong types, nesting
/// deeper than serde_json's limit) is a malformed-answer `Error::Api` naming `what`; never a
/// panic. Providers' public page parsers use this too, so property tests exercise the same path.
pub fn parse_json<T: DeserializeOwned>(what: &str, status: Option<u16>, headers: &HeaderMap, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        Error::api(
            status,
            format!(
                "{what} gave a malformed answer: {}",
                describe_bad_body(headers, body, &e)
            ),
        )
    })
}

fn describe_bad_body(headers: &HeaderMap, body: &[u8], e: &serde_json::Error) -> String {
    let ctype = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let head = String::from_utf8_lossy(&body[..body.len().min(400)]).to_ascii_lowercase();
    if ctype.contains("html")
        || head.trim_start().starts_with("<!doctype html")
        || head.trim_start().starts_with("<html")
    {
        "an HTML page instead of JSON (a login page, proxy or wrong API URL?)".to_string()
    } else if body.is_empty() {
        "an empty body instead of JSON".to_string()
    } else {
        format!("not the expected JSON ({e})")
    }
}

/// What a provider says about refused credentials: which variables, which scopes.
pub type AuthHint = Box<dyn Fn(StatusCode, &str) -> String + Send + Sync>;

/// The API client of one provider.
pub struct Http {
    client: reqwest::Client,
    base: Url,
    origin: Origin,
    forge: &'static str,
    auth: Option<Auth>,
    extra_headers: HeaderMap,
    settings: HttpSettings,
    auth_hint: AuthHint,
    pub redactor: Arc<Redactor>,
    requests: AtomicU32,
    /// Permits for requests in flight (`MAX_IN_FLIGHT`), held for one attempt each.
    in_flight: tokio::sync::Semaphore,
}

/// One page of a paged list, as a provider read it from one answer.
pub struct Page<T> {
    pub items: Vec<T>,
    /// The next page's URL (checked with `Http::follow`); `None` on the last page.
    pub next: Option<Url>,
    /// How many items the whole list holds, when the forge says (GitHub `total_count`,
    /// Bitbucket Cloud `size`, GitLab `x-total`): fewer collected is an error.
    pub total: Option<u64>,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, next: Option<Url>) -> Self {
        Page {
            items,
            next,
            total: None,
        }
    }

    pub fn with_total(mut self, total: Option<u64>) -> Self {
        self.total = total;
        self
    }
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("base", &self.base.as_str())
            .field("auth", &self.auth)
            .finish()
    }
}

/// Builds the shared `reqwest::Client`. `guard` is the only origin redirects may go to.
pub fn client(settings: &HttpSettings, guard: Option<Origin>) -> Result<reqwest::Client> {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        // ring: a smaller static binary than aws-lc-rs, and no C toolchain quirks in the image.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    let redirect = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 5 {
            attempt.error("too many redirects")
        } else if guard.as_ref().is_some_and(|o| *o != Origin::of(attempt.url())) {
            let target = origin_text(attempt.url());
            attempt.error(format!(
                "redirect to another origin ({target}) refused: credentials are only sent to the API's own host"
            ))
        } else {
            attempt.follow()
        }
    });
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("pr-status/", env!("CARGO_PKG_VERSION")))
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
        .redirect(redirect)
        .pool_max_idle_per_host(16)
        // Proxies come from the step's own variables (`proxy::Proxies`), never from reqwest's
        // reading of the process environment, which sent loopback http through HTTP_PROXY.
        .no_proxy()
        .proxy(settings.proxy.to_reqwest());
    let mut roots = Vec::new();
    // SPEC: SSL_CERT_FILE *adds* CAs to the system roots (the usual OpenSSL meaning replaces
    // them, which would break every other host behind the same proxy).
    if let Some(bundle) = SYSTEM_BUNDLES.iter().find_map(|p| std::fs::read(p).ok()) {
        roots.extend(reqwest::Certificate::from_pem_bundle(&bundle).unwrap_or_default());
    }
    if let Some(path) = &settings.ssl_cert_file {
        let pem = std::fs::read(path)
            .map_err(|e| Error::config(format!("SSL_CERT_FILE={} cannot be read: {e}", path.display())))?;
        let extra = reqwest::Certificate::from_pem_bundle(&pem).unwrap_or_default();
        if extra.is_empty() {
            return Err(Error::config(format!(
                "SSL_CERT_FILE={} holds no PEM certificate: use a file with -----BEGIN CERTIFICATE----- blocks",
                path.display()
            )));
        }
        roots.extend(extra);
    }
    if !roots.is_empty() {
        builder = builder.tls_certs_only(roots);
    }
    builder
        .build()
        .map_err(|e| Error::config(format!("cannot set up the HTTP client: {}", chain(&e))))
}

impl Http {
    /// A client for the API at `base`, sending `auth` on every request to `base`'s origin.
    pub fn new(
        forge: &'static str,
        base: Url,
        auth: Option<Auth>,
        settings: &HttpSettings,
        redactor: Redactor,
        auth_hint: AuthHint,
    ) -> Result<Http> {
        let origin = Origin::of(&base);
        Ok(Http {
            client: client(settings, Some(origin.clone()))?,
            base,
            origin,
            forge,
            auth,
            extra_headers: HeaderMap::new(),
            settings: settings.clone(),
            auth_hint,
            redactor: Arc::new(redactor),
            requests: AtomicU32::new(0),
            in_flight: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
        })
    }

    pub fn set_auth(&mut self, auth: Auth) {
        self.auth = Some(auth);
    }

    /// A fixed header sent with every request (lowercase name). An `accept` header replaces
    /// the default `application/json`.
    pub fn add_header(&mut self, name: &'static str, value: &'static str) {
        self.extra_headers
            .insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }

    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// Requests sent so far (retries included), for DEBUG and the benchmark.
    pub fn request_count(&self) -> u32 {
        self.requests.load(Ordering::Relaxed)
    }

    /// `base` + path segments, each percent-encoded whole (`/`, `%`, `?`, `#`, tabs, newlines
    /// and every other byte outside `A-Z a-z 0-9 - . _ ~ *`): no input can leave the API's path.
    /// A segment that is empty, `.` or `..` would vanish or climb a level (and servers decode
    /// `%2E%2E` back to `..`), so the URL is marked and `send` refuses it: providers validate
    /// their inputs first, this is the guard behind them.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        let mut path = self.base.path().trim_end_matches('/').to_string();
        let mut unsendable = false;
        for s in segments {
            if matches!(*s, "" | "." | "..") {
                unsendable = true;
                continue;
            }
            path.push('/');
            // Form encoding writes a space as `+`, which a path would keep as a plus, and
            // encodes `~`, which is unreserved (Data Center's personal keys are `~user`).
            path.extend(url::form_urlencoded::byte_serialize(s.as_bytes()).map(|p| match p {
                "+" => "%20",
                "%7E" => "~",
                other => other,
            }));
        }
        // Every byte that parsing could strip (tab, newline) or read as structure is encoded
        // above, so the path is taken as it is.
        url.set_path(&path);
        if unsendable {
            url.set_fragment(Some(UNSENDABLE));
        }
        url
    }

    /// Checks a link the server sent (pagination) before it is followed with credentials. A
    /// relative link resolves against `from`, the URL that answered (RFC 3986), not the API base.
    pub fn follow(&self, from: &Url, link: &str) -> Result<Url> {
        let url = from
            .join(link)
            .map_err(|_| Error::api(None, format!("{} sent a pagination link that is not a URL", self.forge)))?;
        if Origin::of(&url) != self.origin {
            return Err(Error::api(
                None,
                format!(
                    "{} sent a pagination link to another origin ({}): refused, credentials are only sent to {}",
                    self.forge,
                    origin_text(&url),
                    origin_text(&self.base)
                ),
            ));
        }
        Ok(url)
    }

    pub fn debug(&self, text: &str) {
        if self.settings.debug {
            crate::debug_line(&self.redactor.redact(text));
        }
    }

    /// Fetches `first` and every page after it. `read` turns one answer (and the URL it
    /// answered) into that page's items, the URL of the next page (`None` on the last) and
    /// the list's announced total when the forge sends one; links the server sent must go
    /// through `follow` (or `link_next`) first. A list that ends with fewer items than the
    /// server announced is an error, never a shorter list: a proxy that strips `Link` headers
    /// must not hide the failing build on page 3.
    pub async fn paginate<T>(
        &self,
        first: Url,
        mut read: impl FnMut(&Url, &Response) -> Result<Page<T>>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut url = first;
        let mut announced: Option<u64> = None;
        for _ in 0..MAX_PAGES {
            let resp = self.get(url.clone()).await?;
            let page = read(&url, &resp)?;
            out.extend(page.items);
            if page.total.is_some() {
                announced = page.total;
            }
            match page.next {
                Some(next) => url = next,
                None => {
                    if let Some(total) = announced.filter(|t| (out.len() as u64) < *t) {
                        return Err(Error::api(
                            None,
                            format!(
                                "{} announced {total} items for GET {} but its pages held only {}: the list is incomplete \
                                 (a proxy dropping the Link header?), so it cannot be judged",
                                self.forge,
                                url.path(),
                                out.len()
                            ),
                        ));
                    }
                    return Ok(out);
                }
            }
        }
        Err(Error::api(
            None,
            format!(
                "{} kept sending pages past {MAX_PAGES} for GET {}; giving up",
                self.forge,
                url.path()
            ),
        ))
    }

    /// The `Link: rel="next"` target of an answer (GitHub, GitLab), checked like any link.
    pub fn link_next(&self, resp: &Response) -> Result<Option<Url>> {
        resp.next_link().map(|link| self.follow(&resp.url, &link)).transpose()
    }

    /// GET with the API's credentials, retries and error mapping.
    pub async fn get(&self, url: Url) -> Result<Response> {
        self.send(Method::GET, url, None, None).await
    }

    /// Sends one request with retries. `auth_override` is for the OAuth exchange, which goes
    /// to its own configured URL with the client's Basic credentials.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<(&'static str, String)>,
        auth_override: Option<&Auth>,
    ) -> Result<Response> {
        if url.fragment() == Some(UNSENDABLE) {
            return Err(Error::config(format!(
                "refused to send {method} {}: a path segment was empty, '.' or '..'",
                url.path()
            )));
        }
        if auth_override.is_none() && Origin::of(&url) != self.origin {
            return Err(Error::api(
                None,
                format!("refused to send credentials to {}", url.host_str().unwrap_or("?")),
            ));
        }
        let path = url.path().to_string();
        let what = format!("{method} {path}");
        let mut attempt = 1;
        loop {
            let mut req = self.client.request(method.clone(), url.clone());
            // A provider's own media type (`add_header("accept", ...)`) replaces the default:
            // two Accept headers would leave the server to pick one.
            if !self.extra_headers.contains_key(ACCEPT) {
                req = req.header(ACCEPT, "application/json");
            }
            for (k, v) in &self.extra_headers {
                req = req.header(k, v);
            }
            if let Some(a) = auth_override.or(self.auth.as_ref()) {
                req = req.header(a.name.clone(), a.value.clone());
            }
            if let Some((ctype, text)) = &body {
                req = req.header(CONTENT_TYPE, *ctype).body(text.clone());
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            self.debug(&format!("-> {method} {url} (attempt {attempt})"));
            let outcome = {
                // Held for this attempt only, never across a retry wait or a page.
                let _permit = self.in_flight.acquire().await.ok();
                self.once(req, &what, &url).await
            };
            let retry = match outcome {
                Ok(resp) if resp.status.is_success() => {
                    self.debug(&format!(
                        "<- {} {} ({} ms, {} bytes)",
                        resp.status.as_u16(),
                        path,
                        started.elapsed().as_millis(),
                        resp.body.len()
                    ));
                    return Ok(resp);
                }
                Ok(resp) => {
                    self.debug(&format!(
                        "<- {} {} ({} ms)",
                        resp.status.as_u16(),
                        path,
                        started.elapsed().as_millis()
                    ));
                    match self.classify(&what, resp) {
                        Verdict::Fail(e) => return Err(e),
                        Verdict::Retry(e, wait) => (e, wait),
                    }
                }
                Err(Failure::Final(e)) => return Err(e),
                Err(Failure::Retry(e)) => {
                    self.debug(&format!("<- {what} failed: {e}"));
                    (e, None)
                }
            };
            let (err, server_wait) = retry;
            if attempt >= self.settings.max_attempts {
                return Err(self.finalize(err, attempt));
            }
            let wait = server_wait.unwrap_or_else(|| self.backoff(attempt));
            self.debug(&format!("retrying {what} in {} ms", wait.as_millis()));
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Exponential backoff (1, 2, 4 s by default) with ±25 % jitter.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.settings.retry_delay.saturating_mul(1 << (attempt - 1).min(10));
        base.mul_f64(0.75 + fastrand::f64() * 0.5).min(MAX_WAIT)
    }

    fn finalize(&self, err: Error, attempts: u32) -> Error {
        match err {
            Error::Api { status, message } => Error::Api {
                status,
                message: format!("{message} (gave up after {attempts} attempts)"),
            },
            Error::Network(m) => Error::Network(format!("{m} (gave up after {attempts} attempts)")),
            other => other,
        }
    }

    async fn once(
        &self,
        req: reqwest::RequestBuilder,
        what: &str,
        sent: &Url,
    ) -> std::result::Result<Response, Failure> {
        let resp = req.send().await.map_err(|e| self.transport_error(&e, what, sent))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let url = resp.url().clone();
        if resp.content_length().is_some_and(|n| n as usize > MAX_BODY) {
            return Err(Failure::Final(Error::api(
                Some(status.as_u16()),
                format!("{} sent an answer over {} MiB", self.forge, MAX_BODY >> 20),
            )));
        }
        let mut body = Vec::new();
        let mut resp = resp;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if body.len() > MAX_BODY {
                        return Err(Failure::Final(Error::api(
                            Some(status.as_u16()),
                            format!("{} sent an answer over {} MiB", self.forge, MAX_BODY >> 20),
                        )));
                    }
                }
                Ok(None) => break,
                Err(e) => return Err(self.transport_error(&e, what, sent)),
            }
        }
        Ok(Response {
            status,
            headers,
            body,
            url,
        })
    }

    /// A transport failure as one line naming the request, the host and the root cause.
    /// reqwest's own text carries the whole URL (with a query of several hundred characters)
    /// and, for failures while reading the body, no host at all.
    fn transport_error(&self, e: &reqwest::Error, what: &str, sent: &Url) -> Failure {
        let host = sent.host_str().unwrap_or("the server").to_string();
        // A failure of the proxy (refused credentials, unreachable, no tunnel) says "proxy"
        // and names its variable; the API server's own failures through the tunnel fall
        // through to the cases below.
        if let Some(proxy) = self.settings.proxy.for_url(sent) {
            if let Some((err, retry)) =
                crate::proxy::failure(proxy, sent, e, self.settings.timeout.min(Duration::from_secs(10)))
            {
                let err = match err {
                    Error::Network(m) => Error::Network(format!("{what}: {m}")),
                    Error::Auth { status, message } => Error::Auth {
                        status,
                        message: format!("{what}: {message}"),
                    },
                    other => other,
                };
                return if retry {
                    Failure::Retry(err)
                } else {
                    Failure::Final(err)
                };
            }
        }
        if e.is_redirect() {
            return Failure::Final(Error::api(
                None,
                format!(
                    "{} answered {what} with a redirect that was refused: {}",
                    self.forge,
                    root_cause(e)
                ),
            ));
        }
        if let Some(tls) = find_cause::<rustls::Error>(e) {
            if matches!(tls, rustls::Error::InvalidCertificate(_)) {
                return Failure::Final(Error::Network(format!(
                    "the TLS certificate of {host} is not trusted ({tls}): if the server uses an internal CA, set SSL_CERT_FILE to a PEM bundle holding it"
                )));
            }
        }
        if e.is_timeout() {
            return Failure::Retry(Error::Network(format!(
                "{what}: {host} did not answer within HTTP_TIMEOUT={}s",
                self.settings.timeout.as_secs()
            )));
        }
        if e.is_connect() {
            return Failure::Retry(Error::Network(format!(
                "{what}: cannot connect to {host}: {}",
                root_cause(e)
            )));
        }
        let stage = if e.is_body() || e.is_decode() {
            "while its answer was being read"
        } else {
            "before it answered"
        };
        Failure::Retry(Error::Network(format!(
            "{what}: the connection to {host} broke {stage}: {}",
            root_cause(e)
        )))
    }

    /// Maps a non-2xx answer to an error, and says whether (and how long) to wait and retry.
    fn classify(&self, what: &str, resp: Response) -> Verdict {
        let status = resp.status;
        let code = status.as_u16();
        let reason = self.redactor.redact(&server_reason(&resp.body));
        let reason_part = if reason.is_empty() {
            status.canonical_reason().unwrap_or("").to_string()
        } else {
            reason.clone()
        };
        let retry_after = resp.header(RETRY_AFTER.as_str()).and_then(parse_retry_after);
        let remaining_zero = resp.header("x-ratelimit-remaining").map(str::trim) == Some("0");
        let reset = resp
            .header("x-ratelimit-reset")
            .and_then(|v| v.trim().parse::<u64>().ok());
        // GitHub answers a rate limit with 403 + retry-after or remaining 0: not an auth failure.
        let rate_limited = code == 429 || (code == 403 && (retry_after.is_some() || remaining_zero));
        if rate_limited {
            let reset_wait = reset.map(|r| {
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs();
                Duration::from_secs(r.saturating_sub(now) + 1)
            });
            let wait = retry_after.or(reset_wait);
            let when = match reset {
                Some(r) => format!("; the limit resets at {}", rfc3339(r as i64)),
                None => match retry_after {
                    Some(w) => format!("; the server asked to wait {} s", w.as_secs()),
                    None => String::new(),
                },
            };
            // An exhausted quota (remaining 0) that resets later than the longest wait cannot
            // be waited out within the retry budget: say when it resets now instead of sleeping
            // through every attempt. A `Retry-After` is honoured, capped at 60 s (SPEC).
            if retry_after.is_none() && reset_wait.is_some_and(|w| w > MAX_WAIT) {
                return Verdict::Fail(Error::api(
                    Some(code),
                    format!(
                        "{} rate limit hit on {what} ({code}: {reason_part}){when}, more than {} s away: not waiting; run the step again after that",
                        self.forge,
                        MAX_WAIT.as_secs()
                    ),
                ));
            }
            let err = Error::api(
                Some(code),
                format!("{} rate limit hit on {what} ({code}: {reason_part}){when}", self.forge),
            );
            return Verdict::Retry(err, wait.map(|w| w.min(MAX_WAIT)));
        }
        match code {
            401 | 403 => Verdict::Fail(Error::Auth {
                status: code,
                message: format!(
                    "{} refused {what} ({code} {}: {reason_part}). {}",
                    self.forge,
                    status.canonical_reason().unwrap_or(""),
                    (self.auth_hint)(status, &reason)
                ),
            }),
            500..=599 => Verdict::Retry(
                Error::api(
                    Some(code),
                    format!("{} failed on {what} ({code}: {reason_part})", self.forge),
                ),
                retry_after.map(|w| w.min(MAX_WAIT)),
            ),
            _ => Verdict::Fail(Error::api(
                Some(code),
                format!("{} answered {code} to {what}: {reason_part}", self.forge),
            )),
        }
    }
}

enum Failure {
    Retry(Error),
    Final(Error),
}

enum Verdict {
    Retry(Error, Option<Duration>),
    Fail(Error),
}

/// `Retry-After` in seconds or as an HTTP date; `None` for anything else (public for the
/// property tests of the parsers of server answers).
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v.trim()).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or_default())
}

fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| secs.to_string())
}

/// The server's own explanation from the error shapes the forges use:
/// Cloud `{"error":{"message"}}`, Data Center `{"errors":[{"message"}]}`, GitHub/GitLab
/// `{"message"}`, OAuth `{"error_description"}`; else a short plain-text body.
pub fn server_reason(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => {
            let s = |p: &str| v.pointer(p).and_then(|x| x.as_str()).map(String::from);
            let detail = s("/error/detail");
            let main = s("/error/message")
                .or_else(|| s("/errors/0/message"))
                .or_else(|| s("/message"))
                .or_else(|| s("/error_description"))
                .or_else(|| s("/error"))
                // RFC 7807 problem details (proxies, gateways).
                .or_else(|| s("/title"))
                .or_else(|| v.pointer("/message").map(|m| m.to_string()));
            match (main, detail) {
                (Some(m), Some(d)) => format!("{m} {d}"),
                (Some(m), None) => m,
                (None, Some(d)) => d,
                (None, None) => String::new(),
            }
        }
        Err(_) => {
            let t = String::from_utf8_lossy(body);
            if t.to_ascii_lowercase().contains("<html") {
                "an HTML error page".to_string()
            } else {
                t.into_owned()
            }
        }
    };
    one_line(&text, 300)
}

/// Folds text to one line of at most `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let folded: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = folded.chars().filter(|c| !c.is_control()).take(max).collect();
    if folded.chars().count() > max {
        format!("{cut}…")
    } else {
        cut
    }
}

/// An error and its causes on one line (reqwest's Display hides the root cause).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = c.source();
    }
    out
}

/// `scheme://host[:port]` of a URL, for messages: origins that differ only by port must
/// read differently.
fn origin_text(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(p) => format!("{}://{host}:{p}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// The innermost cause, which says what actually happened ("Connection reset by peer"), with
/// no URL in it; the redirect policy's own message for refused redirects.
fn root_cause(e: &reqwest::Error) -> String {
    let mut last = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        last = c.to_string();
        cur = c.source();
    }
    one_line(&last, 200)
}

fn find_cause<'a, T: std::error::Error + 'static>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a T> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(t) = c.downcast_ref::<T>() {
            return Some(t);
        }
        // hyper-util and tokio-rustls wrap the TLS error in one io::Error inside another, and
        // io::Error::source() skips the error it wraps: look inside each with get_ref().
        let mut wrapped = c;
        while let Some(inner) = wrapped.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            if let Some(t) = inner.downcast_ref::<T>() {
                return Some(t);
            }
            wrapped = inner;
        }
        cur = c.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_reasons_from_each_forge() {
        assert_eq!(server_reason(br#"{"type":"error","error":{"message":"Bad"}}"#), "Bad");
        assert_eq!(server_reason(br#"{"errors":[{"message":"No"}]}"#), "No");
        assert_eq!(server_reason(br#"{"message":"Not Found"}"#), "Not Found");
        assert_eq!(server_reason(b"<html><body>login</body></html>"), "an HTML error page");
        assert_eq!(server_reason(b"plain\ntext"), "plain text");
        assert!(server_reason(&vec![b'x'; 5000]).chars().count() <= 301);
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn link_header_next() {
        let gh = r#"<https://api.github.com/repositories/1/pulls?page=2>; rel="next", <https://api.github.com/repositories/1/pulls?page=5>; rel="last""#;
        assert_eq!(
            link_rel_next(gh).as_deref(),
            Some("https://api.github.com/repositories/1/pulls?page=2")
        );
        let last_first = r#"<https://x/a?page=1>; rel="first", <https://x/a?page=3>; rel=next"#;
        assert_eq!(link_rel_next(last_first).as_deref(), Some("https://x/a?page=3"));
        assert_eq!(link_rel_next(r#"<https://x/a?page=1>; rel="prev first""#), None);
        assert_eq!(
            link_rel_next(r#"<https://x/a>; rel="next last""#).as_deref(),
            Some("https://x/a")
        );
        assert_eq!(link_rel_next("garbage <unclosed"), None);
        assert_eq!(link_rel_next(""), None);
    }

    #[test]
    fn tls_errors_are_found_inside_nested_io_errors() {
        use std::io::{Error as IoError, ErrorKind};
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let nested = IoError::other(IoError::new(ErrorKind::InvalidData, tls));
        assert!(find_cause::<rustls::Error>(&nested).is_some());
        assert!(find_cause::<rustls::Error>(&IoError::other("refused")).is_none());
    }

    #[test]
    fn origins_compare_scheme_host_port() {
        let o = |s: &str| Origin::of(&Url::parse(s).unwrap());
        assert_eq!(o("https://API.x.org/2.0"), o("https://api.x.org:443/other"));
        assert_ne!(o("https://api.x.org/"), o("http://api.x.org/"));
        assert_ne!(o("http://127.0.0.1:1/"), o("http://127.0.0.1:2/"));
    }
}
