# Everything a newcomer needs: `make run` and `make test`. Each target installs what it
# needs into .venv (Python) and .tools (node-based linters) on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEPS_STAMP := $(VENV)/.deps-installed
GEN := gen/python
GEN_STAMP := $(GEN)/.generated
PROTOS := $(shell find protos -name '*.proto' | sort)
BUF := .tools/node_modules/.bin/buf
BUF_VERSION := 1.75.0
PYTEST_ARGS ?=

.PHONY: run test proto lint migrate bench soak clean

run: $(GEN_STAMP)
	$(PY) scripts/run_stack.py

test: $(GEN_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

proto: $(GEN_STAMP)

migrate: $(GEN_STAMP)
	$(PY) scripts/migrate.py

bench: $(GEN_STAMP)
	$(PY) bench/credits_bench.py

# SOAK_SECONDS (600) of seeded load and faults, then an audit; SOAK_SEED replays a run.
soak: $(GEN_STAMP)
	$(PY) -m videogen_soak

lint: $(GEN_STAMP) $(BUF)
	$(BUF) format --diff --exit-code protos
	@mkdir -p .tools
	$(PY) -m grpc_tools.protoc -Iprotos --include_source_info --include_imports \
		--descriptor_set_out=.tools/protos.binpb $(PROTOS)
	$(BUF) lint .tools/protos.binpb --config protos/buf.yaml --path videogen

$(DEPS_STAMP): requirements.txt requirements-dev.txt scripts/link_paths.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) scripts/link_paths.py
	touch $@

$(GEN_STAMP): $(DEPS_STAMP) $(PROTOS) $(wildcard services/*)
	$(PY) scripts/link_paths.py
	rm -rf $(GEN)
	mkdir -p $(GEN)
	$(PY) -m grpc_tools.protoc -Iprotos --python_out=$(GEN) --pyi_out=$(GEN) \
		--grpc_python_out=$(GEN) $(PROTOS)
	touch $@

$(BUF):
	mkdir -p .tools
	cd .tools && npm install --silent --no-audit --no-fund --no-save @bufbuild/buf@$(BUF_VERSION)

clean:
	rm -rf $(VENV) .tools $(GEN)
