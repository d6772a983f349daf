//! A Server-Sent Events client over a plain socket: the response head,
//! then the chunked body decoded as it arrives and split into events.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::client::request_bytes;

/// One event: its fields as sent. A comment (`: heartbeat`) has
/// `event == "comment"` and the comment in `data`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// `id:`, if any.
    pub id: Option<String>,
    /// `event:`, `message` when absent.
    pub event: String,
    /// `data:` lines joined with `\n`.
    pub data: String,
}

impl Event {
    /// `data` as JSON.
    ///
    /// # Panics
    /// When it is not JSON.
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {}", self.data))
    }
}

/// An open stream.
#[derive(Debug)]
pub struct EventStream {
    /// The response status.
    pub status: u16,
    /// The response headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    reader: BufReader<TcpStream>,
    chunked: bool,
    /// Decoded body text not yet split into events.
    pending: String,
    ended: bool,
}

impl EventStream {
    /// `GET target` with `headers` on `stream` (already connected, perhaps
    /// with a small receive buffer), reading the response head.
    ///
    /// # Errors
    /// I/O errors, or a malformed head.
    pub fn open_on(
        mut stream: TcpStream,
        target: &str,
        headers: &[(&str, &str)],
    ) -> std::io::Result<Self> {
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(&request_bytes("GET", target, headers, None, false))?;
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
        Ok(Self {
            status,
            headers,
            reader,
            chunked,
            pending: String::new(),
            ended: false,
        })
    }

    /// Connects to `addr` and opens the stream.
    ///
    /// # Errors
    /// I/O errors, or a malformed head.
    pub fn open(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> std::io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        Self::open_on(stream, target, headers)
    }

    /// A response header.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The next event (comments included) within `timeout`: `Ok(None)` when
    /// the stream ended cleanly (the last chunk, or EOF without chunking).
    ///
    /// # Errors
    /// A timeout (`WouldBlock`/`TimedOut`) or another I/O error.
    pub fn next_event(&mut self, timeout: Duration) -> std::io::Result<Option<Event>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(end) = self.pending.find("\n\n") {
                let block: String = self.pending.drain(..end + 2).collect();
                if let Some(event) = parse_event(block.trim_end_matches('\n')) {
                    return Ok(Some(event));
                }
                continue;
            }
            if self.ended {
                return Ok(None);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no event in time",
                ));
            }
            self.reader.get_ref().set_read_timeout(Some(left))?;
            self.read_more()?;
        }
    }

    /// Events until `pred` holds for one (returned with those before it).
    ///
    /// # Errors
    /// As [`Self::next_event`]; `UnexpectedEof` when the stream ends first.
    pub fn until(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Event) -> bool,
    ) -> std::io::Result<Vec<Event>> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_event(left)? {
                Some(e) => {
                    let done = pred(&e);
                    seen.push(e);
                    if done {
                        return Ok(seen);
                    }
                }
                None => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("stream ended after {seen:?}"),
                    ));
                }
            }
        }
    }

    fn read_more(&mut self) -> std::io::Result<()> {
        if !self.chunked {
            let mut buf = [0_u8; 8192];
            let n = self.reader.read(&mut buf)?;
            if n == 0 {
                self.ended = true;
            }
            self.pending.push_str(&String::from_utf8_lossy(&buf[..n]));
            return Ok(());
        }
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            self.ended = true;
            return Ok(());
        }
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| std::io::Error::other(format!("bad chunk size {line:?}")))?;
        if size == 0 {
            self.ended = true;
            return Ok(());
        }
        // The chunk and its CRLF.
        let mut buf = vec![0_u8; size + 2];
        self.reader.read_exact(&mut buf)?;
        self.pending
            .push_str(&String::from_utf8_lossy(&buf[..size]));
        Ok(())
    }
}

fn parse_event(block: &str) -> Option<Event> {
    let mut event = Event {
        event: "message".to_owned(),
        ..Event::default()
    };
    let mut any = false;
    for line in block.split('\n') {
        if let Some(comment) = line.strip_prefix(':') {
            return Some(Event {
                id: None,
                event: "comment".to_owned(),
                data: comment.trim().to_owned(),
            });
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        any = true;
        match field {
            "id" => event.id = Some(value.to_owned()),
            "event" => value.clone_into(&mut event.event),
            "data" => {
                if !event.data.is_empty() {
                    event.data.push('\n');
                }
                event.data.push_str(value);
            }
            "retry" => event.event = "retry".to_owned(),
            _ => {}
        }
    }
    any.then_some(event)
}
