//! The app factory: one function builds the server for `main` and the tests.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use domain::{MessageStore, SubscriptionStore};
use forwarder::{ForwardSettings, Forwarder};
use metrics_exporter_prometheus::PrometheusHandle;
use slog::Logger;

use crate::config::Config;
use crate::guard::{AdminGuard, ReadGuard};
use crate::ingest::{Ingest, WebhookState, WhatsAppState};
use crate::jobs::Purger;
use crate::middleware::{CorsOrigins, Observer, cors, head, observe};
use crate::ops::OpsState;
use crate::read::{Hub, ReadState};
use crate::routes;
use crate::subscriptions::SubscriptionsState;
use crate::wake::NewMessages;

/// Blocking threads per worker for store calls.
const BLOCKING_THREADS_PER_WORKER: usize = 16;

/// How long a graceful stop waits for in-flight requests.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// A bound, not yet running, hookbox server.
pub struct Application {
    server: Server,
    port: u16,
    hub: Arc<Hub>,
    /// Runs while the server does (`RETENTION`).
    _purger: Option<Purger>,
    /// Delivers subscriptions while the server runs (stores that keep them).
    _forwarder: Option<Forwarder>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Binds `config.host:config.port` (port 0 picks a free one) and builds
    /// the server around `store`; with `subscriptions` (the same store's
    /// other port), it serves `/subscriptions` and forwards.
    ///
    /// # Errors
    /// The I/O error when the address cannot be bound.
    pub fn build(
        config: &Config,
        store: Arc<dyn MessageStore>,
        subscriptions: Option<Arc<dyn SubscriptionStore>>,
        logger: Logger,
        metrics: PrometheusHandle,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind((config.host.as_str(), config.port))?;
        let port = listener.local_addr()?.port();
        let hub = Hub::start(Arc::clone(&store), config.stream);
        let purger = config
            .retention
            .map(|period| Purger::start(Arc::clone(&store), period, logger.clone()))
            .transpose()?;
        let woken = Arc::clone(&hub);
        let ingest = Ingest::new(
            Arc::clone(&store),
            NewMessages::new(move || woken.notify()),
            config.keep_raw,
        );
        let webhook = web::Data::new(WebhookState {
            ingest: ingest.clone(),
            keys: config.keys.clone(),
            max_body_bytes: config.max_body_bytes,
            tolerance_seconds: config.tolerance_seconds,
        });
        let whatsapp = web::Data::new(WhatsAppState {
            ingest,
            config: config.whatsapp.clone(),
            logger: logger.clone(),
        });
        let read = web::Data::new(ReadState {
            store: Arc::clone(&store),
            hub: Arc::clone(&hub),
            logger: logger.clone(),
        });
        let forwarder = subscriptions
            .clone()
            .map(|subs| {
                Forwarder::start(
                    Arc::clone(&store),
                    subs,
                    forward_settings(config),
                    logger.clone(),
                )
            })
            .transpose()?;
        let subs = web::Data::new(SubscriptionsState {
            messages: Arc::clone(&store),
            subs: subscriptions,
            allowed_hosts: config.forward.allowed_hosts.clone(),
            logger: logger.clone(),
        });
        let ops = web::Data::new(OpsState { store, metrics });
        // An admin token may also read.
        let read_tokens = match (&config.read_tokens, &config.admin_tokens) {
            (Some(read), Some(admin)) => Some(read.union(admin)),
            (read, _) => read.clone(),
        };
        let guard = web::Data::new(ReadGuard(read_tokens));
        let admin = web::Data::new(AdminGuard {
            admin: config.admin_tokens.clone(),
            read: config.read_tokens.clone(),
        });
        let cors_origins = web::Data::new(CorsOrigins(config.cors_origins.clone()));
        let observer = web::Data::new(Observer::behind(logger, config.trusted_proxies.clone()));
        let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(webhook.clone())
                .app_data(whatsapp.clone())
                .app_data(read.clone())
                .app_data(ops.clone())
                .app_data(subs.clone())
                .app_data(guard.clone())
                .app_data(admin.clone())
                .app_data(cors_origins.clone())
                .app_data(observer.clone())
                .wrap(from_fn(head))
                .wrap(from_fn(cors))
                .wrap(from_fn(observe))
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
        })
        .workers(workers)
        // Streams watch their client's socket to free a slot on hang-up.
        .on_connect(crate::peer::on_connect)
        // Store calls run on these; each waiting insert holds one. Enough
        // for deep group commits, few enough to keep memory flat.
        .worker_max_blocking_threads(BLOCKING_THREADS_PER_WORKER)
        .shutdown_timeout(SHUTDOWN_TIMEOUT.as_secs())
        .client_request_timeout(Duration::from_secs(5))
        .client_disconnect_timeout(Duration::from_secs(1))
        .keep_alive(Duration::from_secs(30))
        // SIGTERM and SIGINT are handled in `run_until_stopped`, which ends
        // the open streams before the graceful stop waits for requests.
        .disable_signals()
        .listen(listener)?
        .run();
        Ok(Self {
            server,
            port,
            hub,
            _purger: purger,
            _forwarder: forwarder,
        })
    }

    /// The port actually bound.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that can stop the server (gracefully or not).
    #[must_use]
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT or SIGTERM (or a stop through [`Self::handle`]),
    /// then lets in-flight requests finish for up to [`SHUTDOWN_TIMEOUT`].
    ///
    /// # Errors
    /// The server's I/O error.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let hub = Arc::clone(&self.hub);
        actix_web::rt::spawn(async move {
            shutdown_signal().await;
            hub.stop();
            handle.stop(true).await;
        });
        self.server.await
    }

    /// Ends every open `/messages/stream` and refuses new ones, as a
    /// SIGTERM does before the graceful stop.
    pub fn stop_streams(&self) {
        self.hub.stop();
    }
}

/// The first SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        // Cannot listen: stop on nothing rather than at once.
        _ => std::future::pending::<()>().await,
    }
}

/// Forwarding's settings from the configuration; bodies are the full
/// record as `GET /messages/{message_id}` shows it.
fn forward_settings(config: &Config) -> ForwardSettings {
    ForwardSettings {
        timeout: config.forward.timeout,
        policy: domain::RetryPolicy::new(config.forward.max_attempts)
            .unwrap_or_else(|| unreachable!("FORWARD_MAX_ATTEMPTS is at least 1")),
        allowed_hosts: config.forward.allowed_hosts.clone(),
        lease: ForwardSettings::LEASE,
        poll: ForwardSettings::POLL,
        render: Arc::new(crate::read::record_json),
    }
}
