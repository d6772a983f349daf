//! `hookbox healthcheck`: asks the local server's `/health/ready` and exits
//! 0 when it answers 200, 1 otherwise, saying why on stderr. For container
//! health checks in images that ship no curl.
//!
//! It probes the address the server listens on: `HOST` (default
//! `0.0.0.0`) and `PORT` (default 8000), with the wildcard addresses
//! `0.0.0.0` and `::` mapped to their loopback.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(3);

/// Runs the probe.
pub(crate) fn run() -> ExitCode {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let port = match env("PORT").map(|p| p.trim().parse::<u16>()) {
        None => 8000,
        Some(Ok(port)) => port,
        Some(Err(_)) => return fail("PORT must be a port number (0-65535)"),
    };
    let host = env("HOST").unwrap_or_else(|| "0.0.0.0".to_owned());
    let addr = match target(host.trim(), port) {
        Ok(addr) => addr,
        Err(e) => return fail(&e),
    };
    match probe(addr) {
        Ok(status) if status == "200" => ExitCode::SUCCESS,
        Ok(status) => fail(&format!("{addr} answered /health/ready with {status}")),
        Err(e) => fail(&format!("cannot reach {addr}: {e}")),
    }
}

/// The address to probe for a server listening on `host:port`.
fn target(host: &str, port: u16) -> Result<SocketAddr, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip = match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Ok(IpAddr::V6(v6)) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        Ok(ip) => ip,
        Err(_) => {
            return (host, port)
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve HOST {host:?}: {e}"))?
                .next()
                .ok_or_else(|| format!("HOST {host:?} has no address"));
        }
    };
    Ok(SocketAddr::new(ip, port))
}

/// The status code `/health/ready` answers at `addr`.
fn probe(addr: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    stream
        .write_all(b"GET /health/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head)?;
    // "HTTP/1.1 200"
    Ok(String::from_utf8_lossy(&head[9..12]).into_owned())
}

fn fail(reason: &str) -> ExitCode {
    eprintln!("hookbox healthcheck: {reason}");
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn wildcards_map_to_loopback() {
        let t = |h: &str| target(h, 8000).map(|a| a.to_string());
        assert_eq!(t("0.0.0.0").as_deref(), Ok("127.0.0.1:8000"));
        assert_eq!(t("::").as_deref(), Ok("[::1]:8000"));
        assert_eq!(t("[::]").as_deref(), Ok("[::1]:8000"));
        assert_eq!(t("127.0.0.2").as_deref(), Ok("127.0.0.2:8000"));
        assert_eq!(t("::1").as_deref(), Ok("[::1]:8000"));
    }
}
