# hookbox tasks. `just` lists them. Install just with `pip install rust-just`
# (or `cargo install just`); every recipe is a plain command you can also
# copy and run by hand.

compose := "docker compose"

# List the recipes.
default:
    @just --list

# Run hookbox locally with the embedded SQLite default (./hookbox.db).
run secret="change-me":
    WEBHOOK_SECRET={{secret}} cargo run --release --bin hookbox

# The whole test suite (the README's test command). PostgreSQL tests use
# HOOKBOX_TEST_POSTGRES_URL, or a throwaway cluster when PostgreSQL's
# binaries are installed, or skip with one line.
test:
    cargo test --workspace

# The end-to-end suite again, on the PostgreSQL store.
test-postgres:
    HOOKBOX_E2E_STORE=postgres cargo test -p hookbox-tests-e2e --test e2e

# Formatting, lints and the dependency policy, as CI runs them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo deny check licenses bans sources

# Advisories need network access to the RustSec database.
audit:
    cargo deny check advisories

# Everything CI runs (installs what a fresh machine lacks).
ci:
    bash .ci/run

# The standard benchmark (release build): 100k webhooks at concurrency 64,
# reads at 1M rows. Prints a table, writes bench-results/latest.json.
bench *args:
    cargo build --release -p hookbox-http -p hookbox-bench
    target/release/hookbox-bench {{args}}

# Ten minutes of mixed reads and writes at concurrency 64 (memory must stay
# flat, no 5xx). Writes bench-results/soak.json.
soak seconds="600":
    cargo build --release -p hookbox-http -p hookbox-bench
    target/release/hookbox-bench --soak {{seconds}} --concurrency 64 --out bench-results/soak.json

# Fuzz each target for `seconds` (default ten minutes); needs cargo-fuzz.
fuzz seconds="600":
    cd fuzz && for t in webhook_body signature_header query_string whatsapp_body standard_webhooks_header; do \
        RUSTC_BOOTSTRAP=1 cargo fuzz run $t --sanitizer none -- -max_total_time={{seconds}} || exit 1; \
    done

# Build and start the container (needs WEBHOOK_SECRET in the environment).
up:
    {{compose}} up -d --build

# Stop the container and delete its volume.
down:
    {{compose}} down -v

# PostgreSQL and two hookbox replicas (localhost:8001, localhost:8002).
up-postgres:
    docker compose -f docker/compose.postgres.yaml up -d --build

# Stop them and delete the database volume.
down-postgres:
    docker compose -f docker/compose.postgres.yaml down -v

# Follow the container's JSON logs.
logs:
    {{compose}} logs -f api

# Build the image with Podman and run the container end-to-end test against it.
e2e-container:
    eval "$(bash .ci/podman-prepare)" && \
    podman build --format docker -f docker/Dockerfile -t localhost/hookbox:ci . && \
    HOOKBOX_IMAGE=localhost/hookbox:ci cargo test -p hookbox-tests-e2e --test e2e container -- --ignored --nocapture
