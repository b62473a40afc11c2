//! The one HTTP client: User-Agent, timeouts, rustls with system roots plus `SSL_CERT_FILE`,
//! proxies from the environment, retries with backoff and jitter, rate-limit waits, the
//! same-origin guard for credentials, and errors that keep the server's own reason.
//!
//! Split by concern: `tls` (the client, its root store and redirect guard), `urls` (path
//! encoding, origins, followed links), `paging`, `retry` (backoff, the one retry decision),
//! `quota` (rate limits and the quota the forge reports), `cache` (conditional requests and
//! the answers a wait reuses), `errors` (the wording of every failure and of auth hints). This
//! file holds the client and the request loop.

mod cache;
mod errors;
mod paging;
mod quota;
mod retry;
mod tls;
mod urls;

pub use cache::{build_read, builds_only, reading_builds_only};
pub use errors::{add_hint, chain, parse_json, rehint, server_reason};
pub use paging::Page;
pub use quota::{Quota, RESERVE};
pub use retry::parse_retry_after;
pub use tls::client;
pub use urls::Origin;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, IF_NONE_MATCH};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

use crate::config::HttpSettings;
use crate::credentials::{Auth, Redactor};
use crate::error::{Error, Result};
use retry::Next;
use urls::UNSENDABLE;

/// Requests in flight at once, at most: GitHub's secondary rate limit counts concurrent
/// requests, and no forge gains from hundreds of connections opened by one step.
pub const MAX_IN_FLIGHT: usize = 8;
/// Largest body read; anything bigger is a malformed answer, not a reason to run out of memory.
const MAX_BODY: usize = 32 * 1024 * 1024;

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
    /// The `200` answers to GETs, for conditional requests and the polls of a wait.
    cache: cache::Cache,
    /// The quota the forge reported last.
    quota: Mutex<Quota>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("base", &self.base.as_str())
            .field("auth", &self.auth)
            .finish()
    }
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
            cache: cache::Cache::default(),
            quota: Mutex::new(Quota::default()),
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

    /// The quota as the forge's latest answer that spoke of it reported it.
    pub fn quota(&self) -> Quota {
        self.quota.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The forge's name, as messages say it.
    pub fn forge(&self) -> &'static str {
        self.forge
    }

    pub fn debug(&self, text: &str) {
        if self.settings.debug {
            crate::debug_line(&self.redactor.redact(text));
        }
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
        let get = method == Method::GET;
        if get {
            if let Some(kept) = self.cache.reuse(&url) {
                self.debug(&format!(
                    "== GET {url}: the kept answer (this poll re-reads only builds)"
                ));
                return Ok(kept);
            }
        }
        let etag = get.then(|| self.cache.etag(&url)).flatten();
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
            if let Some(tag) = etag.as_deref().and_then(|t| HeaderValue::from_str(t).ok()) {
                req = req.header(IF_NONE_MATCH, tag);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            self.debug(&format!("-> {method} {url} (attempt {attempt})"));
            let outcome = {
                // Held for this attempt only, never across a retry wait or a page.
                let _permit = self.in_flight.acquire().await.ok();
                self.once(req, &what, &url).await
            };
            if let Ok(resp) = &outcome {
                if let Some(q) = Quota::from_headers(&resp.headers) {
                    self.quota.lock().unwrap_or_else(|p| p.into_inner()).update(q);
                }
            }
            let retry = match outcome {
                Ok(resp) if resp.status == reqwest::StatusCode::NOT_MODIFIED && etag.is_some() => {
                    if let Some(kept) = self.cache.not_modified(&url) {
                        self.debug(&format!(
                            "<- 304 {path} ({} ms): the kept answer is current",
                            started.elapsed().as_millis()
                        ));
                        return Ok(kept);
                    }
                    self.classify(&what, resp).into_parts()
                }
                Ok(resp) if resp.status.is_success() => {
                    self.debug(&format!(
                        "<- {} {} ({} ms, {} bytes)",
                        resp.status.as_u16(),
                        path,
                        started.elapsed().as_millis(),
                        resp.body.len()
                    ));
                    if get {
                        self.cache.keep(&url, &resp);
                    }
                    return Ok(resp);
                }
                Ok(resp) => {
                    self.debug(&format!(
                        "<- {} {} ({} ms)",
                        resp.status.as_u16(),
                        path,
                        started.elapsed().as_millis()
                    ));
                    self.classify(&what, resp).into_parts()
                }
                Err(Next::Stop(e)) => Err(e),
                Err(Next::Retry(e, wait)) => {
                    self.debug(&format!("<- {what} failed: {e}"));
                    Ok((e, wait))
                }
            };
            let (err, server_wait) = retry?;
            if attempt >= self.settings.max_attempts {
                return Err(self.finalize(err, attempt));
            }
            let wait = server_wait.unwrap_or_else(|| self.backoff(attempt));
            self.debug(&format!("retrying {what} in {} ms", wait.as_millis()));
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn once(&self, req: reqwest::RequestBuilder, what: &str, sent: &Url) -> std::result::Result<Response, Next> {
        let resp = req.send().await.map_err(|e| self.transport_error(&e, what, sent))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let url = resp.url().clone();
        if resp.content_length().is_some_and(|n| n as usize > MAX_BODY) {
            return Err(Next::Stop(Error::api(
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
                        return Err(Next::Stop(Error::api(
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
}
