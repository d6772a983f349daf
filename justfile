# hookbox tasks. `just` lists them. Install just with `pip install rust-just`
# (or `cargo install just`); every recipe is a plain command you can also
# copy and run by hand.

compose := "docker compose"

# List the recipes.
default:
    @just --list

# Run hookbox locally with the embedded SQLite default (./hookbox.db).
run secret="change-me":
    WEBHOOK_SECRET={{secret}} cargo run --release -p hookbox

# The whole test suite (the README's test command). PostgreSQL tests use
# HOOKBOX_TEST_POSTGRES_URL, or a throwaway cluster when PostgreSQL's
# binaries are installed, or skip with one line.
test:
    cargo test --workspace

# The end-to-end suite again, on the PostgreSQL store.
test-postgres:
    HOOKBOX_E2E_STORE=postgres cargo test -p hookbox-tests-e2e --test e2e

# Storage faults: a real full disk (a tiny tmpfs); needs root.
test-faults:
    cargo test -p hookbox-tests-e2e --test e2e faults -- --ignored

# Schemathesis against the OpenAPI document a debug build serves.
schemathesis:
    cargo build -p hookbox
    .ci/schemathesis/run target/debug/hookbox

# The deployment files against the real thing: the dashboard's and the
# alerts' PromQL parses (promtool) and names only metrics a real scrape
# has, the alerts' unit tests pass, the Kubernetes manifests validate
# offline (kubernetes-validate). Needs promtool and kubernetes-validate.
deploy-check:
    cargo build -p hookbox
    python3 .ci/deploy-check target/debug/hookbox

# Formatting, lints, the architecture check and the dependency policy.
lint: arch
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo deny --log-level error check licenses bans sources

# The architecture: no module import cycle in any crate, http-actix's layers
# (features never import each other), and which crate may depend on which.
arch:
    python3 .ci/module-graph.py

# Advisories need network access to the RustSec database.
audit:
    cargo deny check advisories

# Everything CI runs (installs what a fresh machine lacks).
ci:
    bash .ci/run

# The standard benchmark (release build): 100k webhooks at concurrency 64,
# reads at 1M rows. Prints a table, writes bench-results/latest.json.
bench *args:
    cargo build --release -p hookbox -p hookbox-bench
    target/release/hookbox-bench {{args}}

# The small benchmark CI runs on both stores, to keep it working (figures
# come from `just bench`). PostgreSQL needs HOOKBOX_TEST_POSTGRES_URL.
bench-quick:
    cargo run -p hookbox-bench -- --quick --out target/bench-quick.json
    if [ -n "${HOOKBOX_TEST_POSTGRES_URL:-}" ]; then \
        cargo run -p hookbox-bench -- --quick --database-url "$HOOKBOX_TEST_POSTGRES_URL" --out target/bench-quick-postgres.json; \
    else echo "bench-quick: PostgreSQL skipped (HOOKBOX_TEST_POSTGRES_URL is not set)"; fi
    cargo run -p hookbox-bench -- --soak 20 --concurrency 16 --senders 200 --out target/soak-quick.json

# Ten minutes of mixed reads and writes at concurrency 64 (memory must stay
# flat, no 5xx). Writes bench-results/soak.json.
soak seconds="600":
    cargo build --release -p hookbox -p hookbox-bench
    target/release/hookbox-bench --soak {{seconds}} --concurrency 64 --out bench-results/soak.json

# Fuzz every target (`cargo fuzz list`) for `seconds` (default ten
# minutes), replaying fuzz/regressions/<target>/ first and starting from
# fuzz/seeds/<target>/ where there is one; needs cargo-fuzz.
fuzz seconds="600":
    cd fuzz && for t in $(cargo fuzz list); do \
        if [ -d "regressions/$t" ]; then \
            RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none $t regressions/$t/* > /tmp/fuzz-$t.log 2>&1 \
                || { tail -60 /tmp/fuzz-$t.log; exit 1; }; \
        fi; \
        mkdir -p corpus/$t; seeds=""; [ -d "seeds/$t" ] && seeds="seeds/$t"; \
        RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none $t corpus/$t $seeds -- -max_total_time={{seconds}} > /tmp/fuzz-$t.log 2>&1 \
            || { tail -60 /tmp/fuzz-$t.log; exit 1; }; \
        echo "$t: $(grep -E '^Done' /tmp/fuzz-$t.log | tail -1)"; \
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
