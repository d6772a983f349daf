//! [`TargetUrl`]: where a subscription delivers, an absolute `http` or
//! `https` URL whose host can be checked against an allow-list.

/// Why a URL is not a delivery target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlProblem {
    /// Not `http://` or `https://`.
    #[error("must be an absolute http:// or https:// URL")]
    Scheme,
    /// No host, a bad port, spaces or control characters, or a fragment.
    #[error("is not a well-formed URL")]
    Malformed,
    /// Longer than [`TargetUrl::MAX_CHARS`].
    #[error("is longer than 2048 characters")]
    TooLong,
}

/// An absolute `http`/`https` URL with a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUrl {
    text: String,
    https: bool,
    host: String,
    port: u16,
}

impl TargetUrl {
    /// The longest URL accepted.
    pub const MAX_CHARS: usize = 2048;

    /// # Errors
    /// [`UrlProblem`] saying what is wrong.
    pub fn parse(text: &str) -> Result<Self, UrlProblem> {
        if text.len() > Self::MAX_CHARS {
            return Err(UrlProblem::TooLong);
        }
        let (https, rest) = scheme(text)?;
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) || text.contains('#') {
            return Err(UrlProblem::Malformed);
        }
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let host_port = authority.rsplit('@').next().unwrap_or_default();
        let (host, port) = split_port(host_port)?;
        if host.is_empty() || host.contains(['[', ']']) && !host.starts_with('[') {
            return Err(UrlProblem::Malformed);
        }
        Ok(Self {
            text: text.to_owned(),
            https,
            host: host.to_ascii_lowercase(),
            port: port.unwrap_or(if https { 443 } else { 80 }),
        })
    }

    /// The URL as given.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The host, lower-cased (an IPv6 address keeps its brackets).
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, explicit or the scheme's.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the scheme is `https`.
    #[must_use]
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// Whether the host is on `hosts` (`FORWARD_ALLOWED_HOSTS`): equal,
    /// ignoring case, or under an entry written `*.example.com`.
    #[must_use]
    pub fn is_allowed(&self, hosts: &[String]) -> bool {
        hosts.iter().any(|entry| match entry.strip_prefix("*.") {
            Some(domain) => self
                .host
                .strip_suffix(&domain.to_ascii_lowercase())
                .is_some_and(|rest| rest.ends_with('.')),
            None => entry.eq_ignore_ascii_case(&self.host),
        })
    }

    /// `scheme://host:port`, for logs: no credentials, path or query.
    #[must_use]
    pub fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}:{}", self.host, self.port)
    }
}

fn scheme(text: &str) -> Result<(bool, &str), UrlProblem> {
    let (scheme, rest) = text.split_once("://").ok_or(UrlProblem::Scheme)?;
    match scheme.to_ascii_lowercase().as_str() {
        "http" => Ok((false, rest)),
        "https" => Ok((true, rest)),
        _ => Err(UrlProblem::Scheme),
    }
}

fn split_port(host_port: &str) -> Result<(&str, Option<u16>), UrlProblem> {
    let colon = if host_port.starts_with('[') {
        let close = host_port.find(']').ok_or(UrlProblem::Malformed)?;
        host_port[close..].find(':').map(|i| i + close)
    } else {
        host_port.rfind(':')
    };
    let Some(colon) = colon else {
        return Ok((host_port, None));
    };
    let port = &host_port[colon + 1..];
    if port.is_empty() {
        return Ok((&host_port[..colon], None));
    }
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0 && port.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(UrlProblem::Malformed)?;
    Ok((&host_port[..colon], Some(port)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_and_https_with_a_host() {
        let u = TargetUrl::parse("http://127.0.0.1:9000/hooks?x=1").expect("url");
        assert_eq!(
            (u.host(), u.port(), u.is_https()),
            ("127.0.0.1", 9000, false)
        );
        let u = TargetUrl::parse("HTTPS://user:pw@Example.COM/in").expect("url");
        assert_eq!((u.host(), u.port()), ("example.com", 443));
        assert_eq!(u.origin(), "https://example.com:443");
        let u = TargetUrl::parse("http://[::1]:8080/").expect("url");
        assert_eq!((u.host(), u.port()), ("[::1]", 8080));
    }

    #[test]
    fn allow_lists_match_hosts_and_subdomains() {
        let hosts = vec!["127.0.0.1".to_owned(), "*.Example.com".to_owned()];
        let ok = |u: &str| TargetUrl::parse(u).expect("url").is_allowed(&hosts);
        assert!(
            ok("http://127.0.0.1:9/x")
                && ok("https://a.b.example.com/")
                && ok("http://x.EXAMPLE.com")
        );
        assert!(
            !ok("http://example.com/") && !ok("http://badexample.com/") && !ok("http://localhost/")
        );
    }

    #[test]
    fn refuses_other_schemes_and_malformed_urls() {
        for (bad, why) in [
            ("ftp://x/", UrlProblem::Scheme),
            ("file:///etc/passwd", UrlProblem::Scheme),
            ("localhost:80", UrlProblem::Scheme),
            ("http:///path", UrlProblem::Malformed),
            ("http://host:99999/", UrlProblem::Malformed),
            ("http://host:-1/", UrlProblem::Malformed),
            ("http://ho st/", UrlProblem::Malformed),
            ("http://host/#frag", UrlProblem::Malformed),
        ] {
            assert_eq!(TargetUrl::parse(bad), Err(why), "{bad}");
        }
        let long = format!("http://h/{}", "a".repeat(TargetUrl::MAX_CHARS));
        assert_eq!(TargetUrl::parse(&long), Err(UrlProblem::TooLong));
    }
}
