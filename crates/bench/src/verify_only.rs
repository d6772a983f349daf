//! The ceiling for ingest: an actix-web server that only verifies each
//! webhook's HMAC (same secret, same client, same cores) and answers 200,
//! storing nothing. hookbox's ingest rate is reported as a ratio of it.

use std::net::{SocketAddr, TcpListener};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use domain::{SigningKeys, WebhookSecret};

/// A running verify-only server; stopped when dropped.
pub(crate) struct VerifyOnly {
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl VerifyOnly {
    /// Starts it on a free loopback port, with as many workers as hookbox.
    pub(crate) fn start(secret: &str) -> Result<Self, String> {
        let keys = SigningKeys::new(WebhookSecret::new(secret).map_err(|e| e.to_string())?);
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            let keys = web::Data::new(keys);
            let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(keys.clone())
                    .route("/webhook", web::post().to(verify))
            })
            .workers(workers)
            .disable_signals()
            .listen(listener);
            match server {
                Ok(server) => {
                    let server = server.run();
                    let _ = tx.send(Ok(server.handle()));
                    let _ = system.block_on(server);
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                }
            }
        });
        let handle = rx.recv().map_err(|e| e.to_string()).and_then(|r| r)?;
        Ok(Self {
            addr,
            handle,
            thread: Some(thread),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for VerifyOnly {
    fn drop(&mut self) {
        let stop = self.handle.stop(false);
        actix_web::rt::System::new().block_on(stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn verify(req: HttpRequest, body: web::Bytes, keys: web::Data<SigningKeys>) -> HttpResponse {
    let signature = req
        .headers()
        .get("x-signature")
        .map(actix_web::http::header::HeaderValue::as_bytes);
    match keys.verify(&body, signature) {
        Ok(_) => HttpResponse::Ok()
            .content_type("application/json")
            .body(r#"{"status":"ok"}"#),
        Err(_) => HttpResponse::Unauthorized().finish(),
    }
}
