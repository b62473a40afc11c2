//! URLs: path segments encoded whole, the origin credentials are bound to, and the check of
//! every link a server sends before it is followed.

use reqwest::Url;

use super::Http;
use crate::error::{Error, Result};

/// Marks a URL built from a path segment that cannot be sent (see `Http::url`).
pub(super) const UNSENDABLE: &str = "pr-status-unsendable-path-segment";

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

impl Http {
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
}

/// `scheme://host[:port]` of a URL, for messages: origins that differ only by port must
/// read differently.
pub(super) fn origin_text(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(p) => format!("{}://{host}:{p}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_port() {
        let o = |s: &str| Origin::of(&Url::parse(s).unwrap());
        assert_eq!(o("https://API.x.org/2.0"), o("https://api.x.org:443/other"));
        assert_ne!(o("https://api.x.org/"), o("http://api.x.org/"));
        assert_ne!(o("http://127.0.0.1:1/"), o("http://127.0.0.1:2/"));
    }
}
