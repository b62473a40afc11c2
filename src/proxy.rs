//! Proxies, read from the step's own variables (`Vars`), never from reqwest's view of the
//! process environment, and applied by one rule: plain http goes only to loopback hosts and
//! never through a proxy; https goes through `https_proxy` / `HTTPS_PROXY`, else `all_proxy` /
//! `ALL_PROXY` (lowercase first, as curl reads them), unless `no_proxy` / `NO_PROXY` matches
//! the host the way curl matches it. `HTTP_PROXY` is therefore never used: a loopback URL sent
//! to a proxy on another host gave that host the credentials in clear.
//!
//! A proxy URL's userinfo (`user:password@`) is a secret: `Debug` and every message show the
//! proxy as `scheme://host:port` and the variable that named it, nothing more.
//!
//! User-facing rules: docs/network.md.

use std::fmt;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use base64::Engine as _;

use reqwest::Url;

use crate::env::Vars;
use crate::error::{Error, Result};
use crate::text::without_userinfo;

/// The variables a https request may take its proxy from, first found wins (curl's order).
const HTTPS_VARIABLES: [&str; 4] = ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"];
/// Never used (plain http goes only to loopback); named in a DEBUG note when set.
const HTTP_VARIABLES: [&str; 2] = ["http_proxy", "HTTP_PROXY"];
/// The exclusion list, first found wins (curl's order).
const NO_PROXY_VARIABLES: [&str; 2] = ["no_proxy", "NO_PROXY"];

/// One proxy and the variable that named it.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    /// `HTTPS_PROXY`, `https_proxy`, `ALL_PROXY` or `all_proxy`.
    pub variable: &'static str,
    /// The whole URL, userinfo included: handed to reqwest and never printed.
    url: Url,
}

impl ProxyUrl {
    /// `scheme://host:port`, for messages: never the userinfo.
    pub fn shown(&self) -> String {
        let host = self.url.host_str().unwrap_or("?");
        match self.url.port() {
            Some(p) => format!("{}://{host}:{p}", self.url.scheme()),
            None => format!("{}://{host}", self.url.scheme()),
        }
    }

    /// The proxy's host name, for "cannot be resolved" messages.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or("?")
    }

    /// Whether the URL carries a user name or password.
    pub fn has_credentials(&self) -> bool {
        !self.url.username().is_empty() || self.url.password().is_some()
    }

    fn is_socks(&self) -> bool {
        self.url.scheme().starts_with("socks")
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.shown(), self.variable)
    }
}

/// The proxy configuration of one run.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    https: Option<ProxyUrl>,
    /// The `no_proxy` / `NO_PROXY` value as given.
    no_proxy: Option<String>,
    notes: Vec<String>,
}

impl fmt::Debug for Proxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxies")
            .field("https", &self.https)
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl Proxies {
    /// Reads and validates the proxy variables. An unusable proxy is exit 2 naming its
    /// variable, with the value shown without its userinfo.
    pub fn from_vars(vars: &Vars) -> Result<Proxies> {
        let mut notes = Vec::new();
        let https = match HTTPS_VARIABLES.iter().find_map(|&v| vars.get(v).map(|t| (v, t))) {
            Some((variable, text)) => parse_proxy(variable, text)?,
            None => None,
        };
        if let Some(p) = &https {
            notes.push(format!(
                "https requests go through the proxy {} ({})",
                p.shown(),
                p.variable
            ));
        }
        for v in HTTP_VARIABLES {
            if vars.get(v).is_some() {
                notes.push(format!(
                    "{v} is not used: plain http goes only to loopback hosts, which never go through a proxy"
                ));
            }
        }
        let no_proxy = NO_PROXY_VARIABLES
            .iter()
            .find_map(|&v| vars.get(v).map(|t| (v, t.to_string())));
        if let Some((variable, list)) = &no_proxy {
            notes.extend(no_proxy_notes(variable, list));
        }
        Ok(Proxies {
            https,
            no_proxy: no_proxy.map(|(_, list)| list),
            notes,
        })
    }

    /// The proxy a request to `url` goes through, if any.
    pub fn for_url(&self, url: &Url) -> Option<&ProxyUrl> {
        if url.scheme() != "https" {
            // Plain http is allowed only to loopback (config::parse_base_url), and a loopback
            // request sent to a proxy would reach the proxy's own host, in clear.
            return None;
        }
        let proxy = self.https.as_ref()?;
        let host = url.host()?;
        match &self.no_proxy {
            Some(list) if no_proxy_matches(list, &host) => None,
            _ => Some(proxy),
        }
    }

    /// What DEBUG prints about the proxy configuration.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The reqwest proxy that applies `for_url` to every request.
    pub fn to_reqwest(&self) -> reqwest::Proxy {
        let this = self.clone();
        reqwest::Proxy::custom(move |url| this.for_url(url).map(|p| p.url.clone()))
    }
}

/// Parses one proxy variable. `host:port` without a scheme means `http://host:port`, as in
/// curl. `None` when the value is only blanks.
fn parse_proxy(variable: &'static str, text: &str) -> Result<Option<ProxyUrl>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let shown = without_userinfo(text);
    let full = if text.contains("://") {
        text.to_string()
    } else {
        format!("http://{text}")
    };
    let hint = "use http://host:port, https://host:port, socks5://host:port or socks5h://host:port";
    let url = Url::parse(&full)
        .map_err(|e| Error::config(format!("{variable}={shown:?} is not a proxy URL ({e}): {hint}")))?;
    match url.scheme() {
        "http" | "https" | "socks5" | "socks5h" => {}
        "socks4" | "socks4a" => {
            return Err(Error::config(format!(
                "{variable}={shown:?} is a SOCKS4 proxy, which pr-status does not support: use socks5:// or socks5h:// (or an http proxy)"
            )))
        }
        other => {
            return Err(Error::config(format!(
                "{variable}={shown:?} has the scheme {other:?}, which is not a proxy scheme pr-status supports: {hint}"
            )))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::config(format!(
            "{variable}={shown:?} names no proxy host: {hint}"
        )));
    }
    Ok(Some(ProxyUrl { variable, url }))
}

/// DEBUG notes on entries curl would never match, so that a user sees why a host is proxied.
fn no_proxy_notes(variable: &str, list: &str) -> Vec<String> {
    let mut notes = Vec::new();
    let (entries, rest) = no_proxy_entries(list);
    for e in &entries {
        let addr = e.split_once('/').map_or(*e, |(a, _)| a);
        if e.contains(':') && addr.parse::<Ipv6Addr>().is_err() {
            notes.push(format!(
                "{variable} entry {e:?} has a port or brackets: like curl, pr-status never matches it (write the host name or address alone)"
            ));
        }
    }
    if !rest.is_empty() {
        notes.push(format!(
            "{variable}: everything from {rest:?} is ignored, as curl ignores it: separate entries with commas"
        ));
    }
    if list != "*" && entries.contains(&"*") {
        notes.push(format!(
            "{variable}: '*' means every host only when it is the whole value, as in curl"
        ));
    }
    notes
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Splits a `NO_PROXY` value as curl does: entries end at a blank or a comma; blanks around
/// entries are skipped; after an entry and its blanks, anything but a comma ends the list.
/// Returns the entries and the ignored rest.
fn no_proxy_entries(list: &str) -> (Vec<&str>, &str) {
    let b = list.as_bytes();
    let mut entries = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && is_blank(b[i]) {
            i += 1;
        }
        let start = i;
        while i < b.len() && !is_blank(b[i]) && b[i] != b',' {
            i += 1;
        }
        if i > start {
            entries.push(&list[start..i]);
        }
        while i < b.len() && is_blank(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        if b[i] != b',' {
            return (entries, &list[i..]);
        }
        while i < b.len() && b[i] == b',' {
            i += 1;
        }
    }
    (entries, "")
}

/// Whether `host` is excluded from proxying by a `NO_PROXY` value, by curl's rules
/// (`lib/noproxy.c`, `Curl_check_noproxy`):
///
/// - the whole value `*` matches every host;
/// - a host name matches an entry equal to it or to one of its parent domains, ignoring case,
///   one leading dot and one trailing dot of the entry (`example.com` and `.example.com` both
///   match `example.com` and `www.example.com`, not `notexample.com`);
/// - an IP address matches an entry `address` or `address/bits` of its family (`bits` read
///   like C's `atoi`; `0` or absent means the whole address, more than the family's length
///   never matches). IPv6 prefixes are compared bit by bit: curl releases before its
///   October 2025 fix mismatched prefixes that are not a multiple of 8;
/// - the URL's port plays no part, and an entry with a port never matches.
pub fn no_proxy_matches(list: &str, host: &url::Host<&str>) -> bool {
    if list == "*" {
        return true;
    }
    let (entries, _) = no_proxy_entries(list);
    entries.into_iter().any(|e| entry_matches(e, host))
}

fn entry_matches(entry: &str, host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => {
            let name = name.strip_suffix('.').unwrap_or(name).as_bytes();
            let mut e = entry.strip_suffix('.').unwrap_or(entry);
            e = e.strip_prefix('.').unwrap_or(e);
            let e = e.as_bytes();
            if e.len() == name.len() {
                e.eq_ignore_ascii_case(name)
            } else if e.len() < name.len() {
                let tail = name.len() - e.len();
                name[tail - 1] == b'.' && name[tail..].eq_ignore_ascii_case(e)
            } else {
                false
            }
        }
        url::Host::Ipv4(ip) => {
            let (addr, bits) = split_bits(entry);
            let Ok(net) = addr.parse::<Ipv4Addr>() else {
                return false;
            };
            match bits {
                0 | 32 => *ip == net,
                1..=31 => {
                    let mask = u32::MAX << (32 - bits);
                    (u32::from(*ip) ^ u32::from(net)) & mask == 0
                }
                _ => false,
            }
        }
        url::Host::Ipv6(ip) => {
            let (addr, bits) = split_bits(entry);
            let Ok(net) = addr.parse::<Ipv6Addr>() else {
                return false;
            };
            match bits {
                0 | 128 => *ip == net,
                1..=127 => {
                    let mask = u128::MAX << (128 - bits);
                    (u128::from(*ip) ^ u128::from(net)) & mask == 0
                }
                _ => false,
            }
        }
    }
}

/// `address/bits` -> (address, bits), `bits` read as C's `atoi` reads it (leading blanks, a
/// sign, digits, anything after ignored; no digits is 0). A huge or negative number becomes
/// a value over 128, which never matches.
fn split_bits(entry: &str) -> (&str, u32) {
    let Some((addr, bits)) = entry.split_once('/') else {
        return (entry, 0);
    };
    let s = bits.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: u64 = 0;
    for d in digits.bytes().take_while(u8::is_ascii_digit) {
        n = (n * 10 + u64::from(d - b'0')).min(u64::from(u32::MAX));
    }
    let n = if negative && n > 0 { u64::from(u32::MAX) } else { n };
    (addr, n as u32)
}

/// Describes a failure of a request that went through `proxy`, when the proxy is what failed:
/// `Some((error, retry))`, `None` when the failure is the API server's (after the tunnel).
///
/// `probe_timeout` bounds the one extra CONNECT sent to learn a refusal's status.
pub fn failure(
    proxy: &ProxyUrl,
    target: &Url,
    e: &(dyn std::error::Error + 'static),
    probe_timeout: Duration,
) -> Option<(Error, bool)> {
    let text = chain_text(e);
    let who = format!("the proxy {} ({})", proxy.shown(), proxy.variable);
    let dest = format!(
        "{}:{}",
        target.host_str().unwrap_or("?"),
        target.port_or_known_default().unwrap_or(443)
    );
    if text.contains("proxy authorization required") {
        return Some((credentials_refused(proxy, "407 Proxy Authentication Required"), false));
    }
    if text.contains("credentials not accepted") {
        return Some((credentials_refused(proxy, "SOCKS authentication failed"), false));
    }
    let stage_proxy = text.contains("tunnel error") || text.contains("SOCKS error") || text.contains("socks proxy");
    if !stage_proxy {
        return None;
    }
    let cause = root_text(e);
    if text.contains("failed to create underlying connection") {
        if text.contains("dns error")
            || cause.contains("failed to lookup address")
            || cause.contains("Name or service not known")
        {
            return Some((
                Error::Network(format!(
                    "the proxy host {} ({}) cannot be resolved: {cause}; check {}",
                    proxy.host(),
                    proxy.variable,
                    proxy.variable
                )),
                true,
            ));
        }
        return Some((
            Error::Network(format!("cannot connect to {who}: {cause}; check {}", proxy.variable)),
            true,
        ));
    }
    if text.contains("tunnel error: unsuccessful") {
        // hyper-util keeps only "not 200" of the proxy's answer to CONNECT (a 407 alone is
        // named). Ask once more to learn the status: tinyproxy answers wrong credentials with
        // 401, a forbidden destination with 403, an unreachable one with 500 or 502.
        let answer = probe_connect(proxy, &dest, probe_timeout);
        if let Some((code, reason)) = &answer {
            if matches!(code, 401 | 407) {
                return Some((
                    credentials_refused(proxy, &format!("it answered CONNECT with {code} {reason}")),
                    false,
                ));
            }
        }
        let status = match &answer {
            Some((code, reason)) => format!("{code} {reason}"),
            None => "an error status".to_string(),
        };
        let permanent = matches!(&answer, Some((400..=499, _)));
        return Some((
            Error::Network(format!(
                "{who} refused to open a tunnel to {dest}: it answered CONNECT with {status}{}",
                if permanent {
                    " (its rules do not allow this destination?)"
                } else {
                    ""
                }
            )),
            !permanent,
        ));
    }
    if text.contains("tunnel error: unexpected end of file") {
        return Some((
            Error::Network(format!("{who} closed the connection while opening a tunnel to {dest}")),
            true,
        ));
    }
    if text.contains("error resolving for socks proxy") {
        // socks5 resolves the API host locally before asking the proxy.
        return Some((
            Error::Network(format!(
                "{} cannot be resolved on this machine ({cause}): with a SOCKS proxy that resolves names itself, use socks5h:// in {}",
                target.host_str().unwrap_or("?"),
                proxy.variable
            )),
            true,
        ));
    }
    if proxy.is_socks() && text.contains("SOCKS error") {
        return Some((
            Error::Network(format!("{who} failed to connect to {dest}: {}", socks_reason(&text))),
            true,
        ));
    }
    Some((
        Error::Network(format!(
            "the connection to {who} failed while opening a tunnel to {dest}: {cause}"
        )),
        true,
    ))
}

/// Exit 3: the proxy refused (or asked for) credentials. Names the variable, never its value.
fn credentials_refused(proxy: &ProxyUrl, what: &str) -> Error {
    let who = format!("the proxy {} ({})", proxy.shown(), proxy.variable);
    let message = if proxy.has_credentials() {
        format!(
            "{who} refused its credentials ({what}): check the user name and password in {}",
            proxy.variable
        )
    } else {
        format!(
            "{who} requires credentials ({what}): put them in {} as {}://user:password@host:port",
            proxy.variable,
            proxy.url.scheme()
        )
    };
    Error::Auth { status: 407, message }
}

/// Sends one `CONNECT dest` to an http proxy, with the proxy's credentials, and returns the
/// status and reason of its answer (the reason folded to one line of at most 100 characters:
/// it is the proxy's text). `None` when the proxy cannot be asked (https or SOCKS proxy, no
/// answer within `timeout`). Blocking, and only ever run after a refusal.
fn probe_connect(proxy: &ProxyUrl, dest: &str, timeout: Duration) -> Option<(u16, String)> {
    if proxy.url.scheme() != "http" {
        return None;
    }
    let host = proxy.host().trim_start_matches('[').trim_end_matches(']');
    let addr = (host, proxy.url.port().unwrap_or(80)).to_socket_addrs().ok()?.next()?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    let mut request = format!("CONNECT {dest} HTTP/1.1\r\nHost: {dest}\r\n");
    let password = percent_decode(proxy.url.password().unwrap_or(""));
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{password}", percent_decode(proxy.url.username())));
    if proxy.has_credentials() {
        request.push_str(&format!("Proxy-Authorization: Basic {encoded}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.contains(&b'\n') && head.len() < 8192 {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next()?;
    let mut parts = line.splitn(3, ' ');
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    let code = parts.next()?.parse::<u16>().ok()?;
    let mut reason = crate::text::folded(parts.next().unwrap_or(""), 100);
    // The reason is the proxy's text: it must not carry the credentials back into a message.
    if proxy.has_credentials() && ((password.len() >= 4 && reason.contains(&password)) || reason.contains(&encoded)) {
        reason = "[reason withheld: it held the proxy's credentials]".to_string();
    }
    Some((code, reason))
}

/// Decodes `%XX` escapes (a URL's userinfo), as the proxy client itself does.
fn percent_decode(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The SOCKS part of an error chain: "SOCKS error: ..." up to the next cause.
fn socks_reason(text: &str) -> String {
    let start = text.find("SOCKS error: ").map_or(0, |i| i + "SOCKS error: ".len());
    let rest = &text[start..];
    rest.split(": ").next().unwrap_or(rest).to_string()
}

fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

fn root_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        last = c.to_string();
        cur = c.source();
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(text: &str) -> url::Host<String> {
        Url::parse(&format!("https://{text}/"))
            .unwrap()
            .host()
            .unwrap()
            .to_owned()
    }

    fn m(list: &str, h: &str) -> bool {
        let owned = host(h);
        let borrowed = match &owned {
            url::Host::Domain(d) => url::Host::Domain(d.as_str()),
            url::Host::Ipv4(a) => url::Host::Ipv4(*a),
            url::Host::Ipv6(a) => url::Host::Ipv6(*a),
        };
        no_proxy_matches(list, &borrowed)
    }

    /// Each row was checked against curl 7.88.1 (`curl -v` with `https_proxy` set to a
    /// closed port), except the rows marked "curl 8" (behaviour of curl's current noproxy.c,
    /// where 7.88 string-compared IPv6 addresses and split entries on blanks).
    #[test]
    fn no_proxy_follows_curl() {
        let rows: &[(&str, &str, bool)] = &[
            ("*", "example.com", true),
            ("*,foo", "example.com", false),
            ("foo, *", "example.com", false),
            (" *", "example.com", false),
            ("example.com", "example.com", true),
            ("example.com", "www.example.com", true),
            (".example.com", "www.example.com", true),
            (".example.com", "example.com", true),
            ("example.com", "notexample.com", false),
            ("example.com:443", "example.com", false),
            ("example.com", "example.com:8443", true),
            ("foo,example.com", "example.com", true),
            ("foo , example.com", "example.com", true),
            ("foo example.com", "example.com", false), // curl 8
            ("example.com", "example.com.", true),
            ("example.com.", "example.com", true),
            ("example.COM", "EXAMPLE.com", true),
            ("*.example.com", "www.example.com", false),
            (",,example.com", "example.com", true),
            (",", "example.com", false),
            ("\texample.com", "example.com", true),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.0/8", "127.0.0.1", true),
            ("127.0.0.1/0", "127.0.0.1", true),
            ("0.0.0.0/0", "127.0.0.1", false),
            ("127.0.0.1:1", "127.0.0.1", false),
            ("127.0.0.1/33", "127.0.0.1", false),
            ("127.0.0.1/x", "127.0.0.1", true),
            ("127.0.0.1/24", "127.0.0.5", true),
            ("127.0.0.01", "127.0.0.1", false),
            ("127.0.0.1", "localhost", false),
            ("localhost", "127.0.0.1", false),
            ("::ffff:127.0.0.1", "127.0.0.1", false),
            ("::1", "[::1]", true),
            ("[::1]", "[::1]", false),
            ("::/0", "[::1]", false),             // curl 8: /0 is the whole address
            ("::0/127", "[::1]", true),           // curl 8 after its 2025 fix
            ("0:0::1/128", "[::1]", true),        // curl 8
            ("fd00::/8", "[fd12:3456::1]", true), // curl 8
            ("fd00::/8", "[fe80::1]", false),     // curl 8
            ("2001:db8::/33", "[2001:db8:7fff::1]", true),
            ("2001:db8::/33", "[2001:db8:8000::1]", false),
            ("::ffff:127.0.0.1", "[::ffff:127.0.0.1]", true),
            ("127.0.0.1", "[::ffff:127.0.0.1]", false),
        ];
        for (list, h, want) in rows {
            assert_eq!(m(list, h), *want, "NO_PROXY={list:?} host {h}");
        }
    }

    #[test]
    fn bits_are_read_like_atoi() {
        assert_eq!(split_bits("a/8"), ("a", 8));
        assert_eq!(split_bits("a/ 8x"), ("a", 8));
        assert_eq!(split_bits("a/-1").1, u32::MAX);
        assert_eq!(split_bits("a/-0").1, 0);
        assert_eq!(split_bits("a/99999999999999999999").1, u32::MAX);
        assert_eq!(split_bits("a"), ("a", 0));
    }

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        Vars::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn plain_http_never_goes_through_a_proxy() {
        let p = Proxies::from_vars(&vars(&[
            ("HTTP_PROXY", "http://127.0.0.2:3128"),
            ("ALL_PROXY", "http://127.0.0.2:3128"),
        ]))
        .unwrap();
        assert!(p.for_url(&Url::parse("http://127.0.0.1:8080/2.0").unwrap()).is_none());
        let via = p.for_url(&Url::parse("https://api.example.com/").unwrap()).unwrap();
        assert_eq!(via.variable, "ALL_PROXY");
    }

    #[test]
    fn lowercase_wins_and_https_before_all() {
        let p = Proxies::from_vars(&vars(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:1"),
            ("ALL_PROXY", "http://all:1"),
        ]))
        .unwrap();
        let via = p.for_url(&Url::parse("https://api.example.com/").unwrap()).unwrap();
        assert_eq!((via.variable, via.host()), ("https_proxy", "lower"));
    }

    #[test]
    fn bad_proxies_are_refused_without_their_password() {
        for (value, needle) in [
            ("ftp://u:hunter22@proxy:21", "scheme"),
            ("socks4://u:hunter22@proxy:1080", "SOCKS4"),
            ("http://u:hunter22@proxy:99999", "not a proxy URL"),
            ("http://u:hunter22@[::1:3128", "not a proxy URL"),
        ] {
            let err = Proxies::from_vars(&vars(&[("HTTPS_PROXY", value)])).unwrap_err();
            let text = err.to_string();
            assert_eq!(err.exit_code(), 2, "{text}");
            assert!(text.contains("HTTPS_PROXY") && text.contains(needle), "{text}");
            assert!(!text.contains("hunter22"), "{text}");
        }
        let p = Proxies::from_vars(&vars(&[("HTTPS_PROXY", "proxy.corp:3128")])).unwrap();
        let via = p.for_url(&Url::parse("https://api.example.com/").unwrap()).unwrap();
        assert_eq!(via.shown(), "http://proxy.corp:3128");
        let p = Proxies::from_vars(&vars(&[("HTTPS_PROXY", "socks5h://u:hunter22@127.0.0.1:1080")])).unwrap();
        assert!(!format!("{p:?}").contains("hunter22"));
    }
}
