# A thin shim for people and scripts that expect `make` (the assignment's
# evaluation script among them). The justfile is the main task runner; these
# four targets do exactly what the assignment names, with the root compose.yaml.
.PHONY: up down logs test

up:
	docker compose up -d --build

down:
	docker compose down -v

logs:
	docker compose logs -f api

test:
	cargo test --workspace
