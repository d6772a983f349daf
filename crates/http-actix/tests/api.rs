//! The app factory in process, with stores that fail on purpose: the 5xx
//! paths a healthy SQLite file never takes.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use domain::{
    DayCount, FeedPage, FeedQuery, InsertOutcome, Message, MessageQuery, MessageStore, Page, Stats,
    StoreError,
};
use http_actix::{Application, Config, logging};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use testkit::{Client, SECRET};

/// A store whose every call fails the same way.
struct BrokenStore {
    fail: fn() -> StoreError,
}

impl MessageStore for BrokenStore {
    fn insert(&self, _: Message) -> Result<InsertOutcome, StoreError> {
        Err((self.fail)())
    }
    fn insert_all(&self, _: Vec<Message>) -> Result<Vec<InsertOutcome>, StoreError> {
        Err((self.fail)())
    }
    fn list(&self, _: &MessageQuery) -> Result<Page, StoreError> {
        Err((self.fail)())
    }
    fn stats(&self) -> Result<Stats, StoreError> {
        Err((self.fail)())
    }
    fn feed(&self, _: &FeedQuery) -> Result<FeedPage, StoreError> {
        Err((self.fail)())
    }
    fn purge(&self, _: time::OffsetDateTime, _: u32) -> Result<u64, StoreError> {
        Err((self.fail)())
    }
    fn last_seq(&self) -> Result<domain::Seq, StoreError> {
        Err((self.fail)())
    }
    fn daily_counts(&self, _: time::Date, _: time::Date) -> Result<Vec<DayCount>, StoreError> {
        Err((self.fail)())
    }
    fn check_ready(&self) -> Result<(), StoreError> {
        Err((self.fail)())
    }
    fn raw(&self, _: &domain::MessageId) -> Result<domain::RawLookup, StoreError> {
        Err((self.fail)())
    }
    fn record_statuses(&self, _: Vec<domain::StatusUpdate>) -> Result<u64, StoreError> {
        Err((self.fail)())
    }
    fn status(&self, _: &str) -> Result<Option<domain::DeliveryStatus>, StoreError> {
        Err((self.fail)())
    }
    fn record_events(&self, _: Vec<domain::Event>) -> Result<Vec<InsertOutcome>, StoreError> {
        Err((self.fail)())
    }
    fn events(&self, _: &domain::EventQuery) -> Result<domain::EventPage, StoreError> {
        Err((self.fail)())
    }
    fn purge_records(&self, _: time::OffsetDateTime, _: u32) -> Result<u64, StoreError> {
        Err((self.fail)())
    }
    fn status_reports(
        &self,
        _: &domain::StatusReportQuery,
    ) -> Result<domain::StatusReportPage, StoreError> {
        Err((self.fail)())
    }
    fn get(&self, _: &domain::MessageId) -> Result<Option<domain::FeedItem>, StoreError> {
        Err((self.fail)())
    }
    fn erase(&self, _: &domain::Erasure, _: u32) -> Result<u64, StoreError> {
        Err((self.fail)())
    }
    fn conversations(
        &self,
        _: &domain::ConversationQuery,
    ) -> Result<domain::ConversationPage, StoreError> {
        Err((self.fail)())
    }
}

#[derive(Clone, Default)]
struct SharedLog(Arc<Mutex<Vec<u8>>>);

impl Write for SharedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| http_actix::metrics::install().expect("install recorder"))
        .clone()
}

struct Running {
    client: Client,
    log: SharedLog,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Running {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        std::thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop(false)));
    }
}

fn spawn(store: impl MessageStore + 'static) -> Running {
    let config = Config::from_lookup(|k| match k {
        "WEBHOOK_SECRET" => Some(SECRET.to_owned()),
        "HOST" => Some("127.0.0.1".to_owned()),
        "PORT" => Some("0".to_owned()),
        _ => None,
    })
    .expect("config");
    let log = SharedLog::default();
    let (logger, guard) = logging::json_logger(log.clone(), slog::Level::Debug);
    let store: Arc<dyn MessageStore> = Arc::new(store);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _guard = guard;
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(&config, store, None, logger, metrics()).expect("build");
            tx.send((app.port(), app.handle())).expect("send port");
            app.run_until_stopped().await.expect("serve");
        });
    });
    let (port, handle) = rx.recv().expect("server started");
    Running {
        client: Client::new(port),
        log,
        handle,
    }
}

fn log_lines(log: &SharedLog) -> Vec<serde_json::Value> {
    std::thread::sleep(std::time::Duration::from_millis(200));
    let text = String::from_utf8(log.0.lock().expect("lock").clone()).expect("utf-8");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

const BODY: &[u8] = br#"{"message_id":"m1","from":"+919876543210","to":"+14155550100","ts":"2025-01-15T10:00:00Z"}"#;

#[test]
fn transient_store_faults_are_503_with_retry_after() {
    type Fault = fn() -> StoreError;
    let cases: [(&str, Fault); 2] = [
        ("unavailable", || {
            StoreError::Unavailable("disk I/O error at page 42".into())
        }),
        ("overloaded", || StoreError::Overloaded),
    ];
    for (name, fail) in cases {
        let app = spawn(BrokenStore { fail });
        let c = app.client;
        let r = c.signed_webhook(BODY).expect("post");
        assert_eq!(r.status, 503, "{name}");
        assert_eq!(r.header("retry-after"), Some("1"), "{name}");
        assert_eq!(
            r.json(),
            json!({"detail": "service unavailable, retry later"}),
            "{name}"
        );
        for path in ["/messages", "/stats"] {
            let r = c.get(path).expect("get");
            assert_eq!(r.status, 503, "{name} {path}");
            assert!(!r.text().contains("page 42"), "{name} {path}");
        }
        let ready = c.get("/health/ready").expect("ready");
        assert_eq!(ready.status, 503, "{name}");
        assert_eq!(ready.json()["checks"]["database"], "unavailable", "{name}");
        assert_eq!(c.get("/health/live").expect("live").status, 200, "{name}");
    }
}

#[test]
fn internal_store_faults_are_500_that_reveal_nothing_and_are_logged_once() {
    let app = spawn(BrokenStore {
        fail: || StoreError::Internal("constraint xyz violated in table messages".into()),
    });
    let c = app.client;
    let r = c.signed_webhook(BODY).expect("post");
    assert_eq!(r.status, 500);
    assert_eq!(r.json(), json!({"detail": "internal server error"}));
    let lines = log_lines(&app.log);
    let webhook: Vec<_> = lines.iter().filter(|l| l["path"] == "/webhook").collect();
    assert_eq!(webhook.len(), 1);
    assert_eq!(webhook[0]["level"], "ERROR");
    assert_eq!(webhook[0]["result"], "error");
    assert_eq!(webhook[0]["message_id"], "m1");
    let error = webhook[0]["error"].as_str().expect("cause logged");
    assert!(error.contains("constraint xyz violated"), "{error}");
    let mentions = lines
        .iter()
        .filter(|l| l.to_string().contains("constraint xyz"))
        .count();
    assert_eq!(mentions, 1);
}

#[test]
fn outdated_schema_fails_readiness_by_name() {
    let app = spawn(BrokenStore {
        fail: || StoreError::SchemaMismatch {
            found: 0,
            expected: 1,
        },
    });
    let ready = app.client.get("/health/ready").expect("ready");
    assert_eq!(ready.status, 503);
    assert_eq!(
        ready.json(),
        json!({"status": "unavailable", "checks": {"database": "ok", "schema": "outdated", "secret": "ok"}})
    );
}

#[test]
fn bad_requests_never_reach_a_broken_store() {
    // Signature and validation are decided before the store is asked.
    let app = spawn(BrokenStore {
        fail: || StoreError::Internal("must not be called".into()),
    });
    let c = app.client;
    assert_eq!(c.webhook(BODY, Some("123")).expect("post").status, 401);
    assert_eq!(c.signed_webhook(b"{}").expect("post").status, 422);
    assert_eq!(c.get("/messages?limit=0").expect("get").status, 422);
}

/// The in-memory reference store is a working fake for the HTTP layer: the
/// contract's rules show through the routes without a database.
#[test]
fn the_reference_store_serves_the_routes() {
    let app = spawn(domain::testing::MemoryStore::new());
    let c = app.client;
    assert_eq!(c.signed_webhook(BODY).expect("post").status, 200);
    assert_eq!(c.signed_webhook(BODY).expect("post").status, 200);
    let page = c.get("/messages").expect("get").json();
    assert_eq!(page["total"], 1);
    assert_eq!(page["data"][0]["message_id"], "m1");
    assert_eq!(c.get("/stats").expect("get").json()["total_messages"], 1);
    assert_eq!(c.get("/health/ready").expect("get").status, 200);
}

#[actix_web::test]
async fn a_panicking_handler_becomes_a_500_json_and_a_log_line() {
    use actix_web::{App, test, web};
    let log = SharedLog::default();
    let (logger, guard) = logging::json_logger(log.clone(), slog::Level::Info);
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(http_actix::middleware::Observer::new(
                logger,
            )))
            .wrap(actix_web::middleware::from_fn(
                http_actix::middleware::observe,
            ))
            .route(
                "/boom",
                web::get().to(|| async {
                    let v: Vec<u8> = Vec::new();
                    #[expect(clippy::indexing_slicing, reason = "the panic is the point")]
                    let x = v[3];
                    x.to_string()
                }),
            )
            .route("/fine", web::get().to(|| async { "fine" })),
    )
    .await;
    // The service answers Err; the HTTP dispatcher renders it (as here).
    let err = test::try_call_service(&app, test::TestRequest::get().uri("/boom").to_request())
        .await
        .expect_err("the panic is an error for the dispatcher to render");
    let res = err.error_response();
    assert_eq!(res.status(), 500);
    let body = actix_web::body::to_bytes(res.into_body())
        .await
        .expect("body");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).expect("json"),
        json!({"detail": "internal server error"})
    );
    // The same worker keeps serving.
    let res = test::call_service(&app, test::TestRequest::get().uri("/fine").to_request()).await;
    assert_eq!(res.status(), 200);
    drop(app);
    drop(guard);
    let lines = log_lines(&log);
    let boom: Vec<_> = lines.iter().filter(|l| l["path"] == "/boom").collect();
    assert_eq!(boom.len(), 1);
    assert_eq!(boom[0]["status"], 500);
    assert_eq!(boom[0]["level"], "ERROR");
    assert!(
        boom[0]["error"]
            .as_str()
            .expect("error")
            .contains("index out of bounds"),
        "{}",
        boom[0]
    );
}
