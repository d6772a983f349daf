//! Opening a connection within a deadline. The client's `connect_timeout`
//! bounds only the TCP connect; a server that accepts and then says nothing
//! (hung, overloaded, a proxy with no backend) would hold the caller for
//! ever. So the attempt runs on a helper thread and the caller stops
//! waiting at the deadline; the helper ends with its socket.

use std::sync::mpsc;
use std::time::Duration;

use postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The client's error: refused, TLS, authentication, a bad database.
    #[error(transparent)]
    Client(#[from] postgres::Error),
    /// No answer within the connect timeout.
    #[error("no answer within {0:?} (POSTGRES_CONNECT_TIMEOUT)")]
    TimedOut(Duration),
    /// The helper thread could not be started.
    #[error("cannot start a connection thread: {0}")]
    Thread(std::io::Error),
}

/// Connects with `config` and `tls`, giving up after `within`.
pub(crate) fn connect(
    config: &postgres::Config,
    tls: &MakeRustlsConnect,
    within: Duration,
) -> Result<Client, ConnectError> {
    let (config, tls) = (config.clone(), tls.clone());
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("hookbox-pg-connect".into())
        .spawn(move || {
            let _ = tx.send(config.connect(tls));
        })
        .map_err(ConnectError::Thread)?;
    match rx.recv_timeout(within) {
        Ok(result) => Ok(result?),
        Err(_) => Err(ConnectError::TimedOut(within)),
    }
}
