# Everyday commands. `make test` works on a fresh Debian machine: it installs the
# Debian packages the tests drive and a virtual environment with pinned dependencies.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
SPEAKER ?=
TEXT ?= Hello from the home voice stack

.PHONY: help venv system-packages test lint format bench bench-stack e2e up down logs say ps

help:
	@echo "make up | down | logs | ps | say TEXT='...' [SPEAKER=Kitchen]"
	@echo "make test | lint | bench | bench-stack | e2e"

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[sonos,piper,idle,dev]'
	touch $@

venv: $(VENV)/.installed

system-packages:
	bash scripts/system-packages.sh

test: venv system-packages
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: venv system-packages
	$(BIN)/python bench/core_bench.py
	$(BIN)/python bench/sonos_bench.py
	$(BIN)/python bench/idle_bench.py
	$(BIN)/python bench/tts_bench.py

# Seconds to healthy, image sizes and memory of the real stack, and of the bridge's slim
# and Piper images side by side (needs Docker and root).
bench-stack: venv
	bash scripts/system-packages.sh --docker
	bash bench/stack_bench.sh
	bash bench/tts_images.sh

e2e: venv
	bash scripts/system-packages.sh --docker
	bash tests/e2e/run.sh

up:
	$(COMPOSE) up -d --build

down:
	$(COMPOSE) down

ps:
	$(COMPOSE) ps

logs:
	$(COMPOSE) logs -f --tail=100

say:
	$(COMPOSE) exec sonos_bridge sonos-bridge say "$(TEXT)" $(if $(SPEAKER),--speaker "$(SPEAKER)")
