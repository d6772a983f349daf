//! A minimal HTTP/1.1 client over `TcpStream`: it writes exactly the bytes
//! it is given, so tests can send what friendlier clients would "fix".

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lower-case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this (lower-case) name.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// When the body is not JSON (a test failure).
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Talks to one server address; every request uses a fresh connection.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    addr: SocketAddr,
}

impl Client {
    /// A client for `127.0.0.1:port`.
    #[must_use]
    pub fn new(port: u16) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    /// A client for any address (another loopback address, say).
    #[must_use]
    pub fn at(addr: SocketAddr) -> Self {
        Self { addr }
    }

    /// The address requests go to.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `GET target` (path and query, sent as given).
    ///
    /// # Errors
    /// I/O errors and unparsable responses.
    pub fn get(&self, target: &str) -> std::io::Result<Response> {
        self.request("GET", target, &[], None)
    }

    /// `POST /webhook` with a JSON content type and this signature.
    ///
    /// # Errors
    /// I/O errors and unparsable responses.
    pub fn webhook(&self, body: &[u8], signature: Option<&str>) -> std::io::Result<Response> {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(sig) = signature {
            headers.push(("X-Signature", sig));
        }
        self.request("POST", "/webhook", &headers, Some(body))
    }

    /// `POST /webhook` with a body signed by [`crate::signing::SECRET`].
    ///
    /// # Errors
    /// I/O errors and unparsable responses.
    pub fn signed_webhook(&self, body: &[u8]) -> std::io::Result<Response> {
        self.webhook(body, Some(&crate::signing::sign(body)))
    }

    /// Any request. `Content-Length` is added when there is a body.
    ///
    /// # Errors
    /// I/O errors and unparsable responses.
    pub fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> std::io::Result<Response> {
        self.raw(&request_bytes(method, target, headers, body, false))
    }

    /// Writes `raw` as is and reads the response to the end.
    ///
    /// # Errors
    /// I/O errors and unparsable responses.
    pub fn raw(&self, raw: &[u8]) -> std::io::Result<Response> {
        let mut stream = self.connect()?;
        // The server may answer (413, say) before reading everything: a
        // failed write still leaves a response to read.
        let _ = stream.write_all(raw);
        read_response(&mut BufReader::new(stream))
    }

    /// A connected stream with generous timeouts.
    ///
    /// # Errors
    /// When the server does not accept.
    pub fn connect(&self) -> std::io::Result<TcpStream> {
        let stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_write_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// The bytes of one request; `keep_alive: false` adds `Connection: close`.
#[must_use]
pub fn request_bytes(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    keep_alive: bool,
) -> Vec<u8> {
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if !keep_alive {
        head.push_str("Connection: close\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut raw = head.into_bytes();
    raw.extend_from_slice(body.unwrap_or_default());
    raw
}

/// A keep-alive connection: requests go one after another on one socket,
/// reconnecting when the server has closed it.
#[derive(Debug)]
pub struct Connection {
    addr: SocketAddr,
    reader: Option<BufReader<TcpStream>>,
}

impl Connection {
    /// A connection to `addr` (opened on first use).
    #[must_use]
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, reader: None }
    }

    /// Sends one request built with `keep_alive: true` and reads its response.
    ///
    /// # Errors
    /// I/O errors (after one reconnect) and unparsable responses.
    pub fn send(&mut self, raw: &[u8]) -> std::io::Result<Response> {
        match self.try_send(raw) {
            Ok(r) => Ok(r),
            Err(_) => {
                // A stale keep-alive socket: reconnect once.
                self.reader = None;
                self.try_send(raw)
            }
        }
    }

    fn try_send(&mut self, raw: &[u8]) -> std::io::Result<Response> {
        if self.reader.is_none() {
            self.reader = Some(BufReader::new(Client { addr: self.addr }.connect()?));
        }
        let reader = self.reader.as_mut().ok_or_else(|| bad("not connected"))?;
        reader.get_mut().write_all(raw)?;
        let response = read_response(reader);
        let close = response.as_ref().map_or(true, |r| {
            r.header("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close"))
        });
        if close {
            self.reader = None;
        }
        response
    }
}

fn bad(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_owned())
}

/// Reads one response (status line, headers, body by length, chunks or EOF).
///
/// # Errors
/// I/O errors and malformed responses.
pub fn read_response(reader: &mut impl BufRead) -> std::io::Result<Response> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(&format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':').ok_or_else(|| bad("bad header"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let find = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if let Some(len) = find("content-length") {
        let len: usize = len.parse().map_err(|_| bad("bad content-length"))?;
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim(), 16).map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                line.clear();
                reader.read_line(&mut line)?;
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}
