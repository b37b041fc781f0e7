# The front door. `make run` and `make test` each set up what a fresh machine lacks first
# (uv, the locked environment, FerretDB built once), then do their job.
.PHONY: setup run test lint typecheck pytest bench asyncapi config-docs

export PATH := $(HOME)/.local/bin:$(PATH)
UV ?= uv

setup:
	@./scripts/setup

run: setup
	$(UV) run roundtable up

test: setup lint typecheck pytest

lint:
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck:
	$(UV) run mypy

pytest:
	$(UV) run pytest

bench: setup
	$(UV) run python -m bench.ceiling

asyncapi:
	$(UV) run roundtable asyncapi docs/asyncapi.json

config-docs:
	$(UV) run python scripts/config_table.py > docs/configuration.md
