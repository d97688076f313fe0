# Everything a newcomer needs: `make run` and `make test`. Each target installs what it
# needs on first use: uv (pinned, from PyPI, into .tools/uv), then the workspace into
# .venv from the committed uv.lock, with only the dependency groups the target uses.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/uv/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
# The stubs package's import package, generated from protos/ (never committed).
STUBS := libs/protos/videogen
STUBS_STAMP := $(STUBS)/.generated
PROTOS := $(shell find protos -name '*.proto' | sort)
GRPC_TOOLS := grpcio-tools==1.85.1
PROTOBUF := protobuf==7.36.2
BUF := .tools/node_modules/.bin/buf
BUF_VERSION := 1.75.0
PYTEST_ARGS ?=
# Never download a Python: use the one given (3.11 or newer).
export UV_PYTHON_DOWNLOADS := never
SYNC := $(UV) sync --frozen --inexact --python $(PYTHON) --quiet

.PHONY: run test proto lint types migrate bench soak k8s clean

run: $(STUBS_STAMP)
	$(SYNC)
	$(PY) scripts/run_stack.py

test: $(STUBS_STAMP)
	$(SYNC) --group test
	sh scripts/ensure_chromium.sh
	$(PY) scripts/test_tiers.py $(PYTEST_ARGS)

proto: $(STUBS_STAMP)

migrate: $(STUBS_STAMP)
	$(SYNC)
	$(PY) scripts/migrate.py

bench: $(STUBS_STAMP)
	$(SYNC) --group test --group bench
	$(PY) bench/credits_bench.py

# SOAK_SECONDS (600) of seeded load and faults, then an audit; SOAK_SEED replays a run.
soak: $(STUBS_STAMP)
	$(SYNC) --group test
	$(PY) -m videogen_soak

# Every Kustomize overlay rendered and validated offline (also run by `make test`).
k8s:
	$(SYNC) --group test
	$(PY) scripts/k8s_check.py

lint: $(STUBS_STAMP) $(BUF)
	$(SYNC) --group lint --group test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(BUF) format --diff --exit-code protos
	@mkdir -p .tools
	$(UV) tool run --quiet --python $(PYTHON) --from $(GRPC_TOOLS) --with $(PROTOBUF) \
		python -m grpc_tools.protoc -Iprotos --include_source_info --include_imports \
		--descriptor_set_out=.tools/protos.binpb $(PROTOS)
	$(BUF) lint .tools/protos.binpb --config protos/buf.yaml --path videogen

$(UV):
	$(PYTHON) -m venv .tools/uv
	.tools/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STUBS_STAMP): $(UV) $(PROTOS)
	rm -rf $(STUBS)
	mkdir -p $(STUBS)
	$(UV) tool run --quiet --python $(PYTHON) --from $(GRPC_TOOLS) --with $(PROTOBUF) \
		python -m grpc_tools.protoc -Iprotos --python_out=libs/protos \
		--pyi_out=libs/protos --grpc_python_out=libs/protos $(PROTOS)
	touch $@

$(BUF):
	mkdir -p .tools
	cd .tools && npm install --silent --no-audit --no-fund --no-save @bufbuild/buf@$(BUF_VERSION)

clean:
	rm -rf $(VENV) .tools $(STUBS)
