//! The `reqwest` client every provider shares: User-Agent, timeouts, the root store (system
//! bundles plus `SSL_CERT_FILE`), the step's proxies and the same-origin redirect guard.

use std::sync::Once;
use std::time::Duration;

use super::errors::chain;
use super::urls::{origin_text, Origin};
use crate::config::HttpSettings;
use crate::error::{Error, Result};

/// Well-known system CA bundles, in the order Go and curl look for them.
const SYSTEM_BUNDLES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

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
    // docs/variables.md: SSL_CERT_FILE *adds* CAs to the system roots (the usual OpenSSL meaning replaces
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
