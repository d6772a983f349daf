//! Noticing that a stream's client hung up.
//!
//! actix-web learns that a peer is gone only when a write to it fails, so a
//! closed `/messages/stream` would hold its `STREAM_MAX_CLIENTS` slot until
//! its next heartbeat (15 s by default). Each connection therefore keeps a
//! duplicate of its socket, and an open stream watches it for the end of
//! the client's input.

use std::any::Any;
use std::os::fd::AsFd;
use std::sync::Arc;

use actix_web::dev::Extensions;

/// A duplicate handle to one connection's socket (a second descriptor of
/// it, closed with the connection's data).
#[derive(Debug, Clone)]
pub(crate) struct PeerSocket(Arc<std::net::TcpStream>);

/// `HttpServer::on_connect`: keeps a duplicate of a TCP connection's socket
/// in its connection data. Nothing is kept if the descriptor cannot be
/// duplicated; streams then find a closed client at their next write.
pub(crate) fn on_connect(conn: &dyn Any, data: &mut Extensions) {
    if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>()
        && let Ok(fd) = tcp.as_fd().try_clone_to_owned()
    {
        data.insert(PeerSocket(Arc::new(std::net::TcpStream::from(fd))));
    }
}

impl PeerSocket {
    /// Resolves once the client has closed the connection or it failed.
    /// Never resolves when that cannot be told without reading: the client
    /// sent more bytes (a pipelined request), or the socket cannot be
    /// watched; the stream's next write finds out then.
    pub(crate) async fn closed(&self) {
        let Some(socket) = self.watchable() else {
            return std::future::pending().await;
        };
        let mut byte = [0_u8; 1];
        match socket.peek(&mut byte).await {
            Ok(0) | Err(_) => {}
            Ok(_) => std::future::pending().await,
        }
    }

    /// The socket registered with this thread's event loop (needs the
    /// runtime of the worker that runs the stream).
    fn watchable(&self) -> Option<tokio::net::TcpStream> {
        let socket = self.0.try_clone().ok()?;
        // Already so: the flag is shared with the connection's descriptor.
        socket.set_nonblocking(true).ok()?;
        tokio::net::TcpStream::from_std(socket).ok()
    }
}
