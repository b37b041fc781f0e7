# The front door: `make setup` once, then `make run` or `make test`.
.PHONY: setup run test lint typecheck pytest bench asyncapi

UV ?= uv

setup:
	./scripts/setup

run:
	$(UV) run roundtable up

lint:
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck:
	$(UV) run mypy

pytest:
	$(UV) run pytest

test: lint typecheck pytest

bench:
	$(UV) run python -m bench.ceiling

asyncapi:
	$(UV) run roundtable asyncapi docs/asyncapi.json
