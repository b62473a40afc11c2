//! Paged lists: the pages followed (each link checked), the `Link: rel="next"` header, and
//! the cross-check against the total the forge announced.

use reqwest::Url;

use super::{Http, Response};
use crate::error::{Error, Result};

/// Pages followed at most: a hostile or broken server must not keep the step paging forever.
const MAX_PAGES: usize = 200;

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

impl Response {
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

impl Http {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
