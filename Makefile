PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench demo clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: install
	$(BIN)/allot db upgrade
	$(BIN)/allot demo --if-empty
	$(BIN)/allot serve --host 127.0.0.1 --port 8000

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) *.db *.db-wal *.db-shm
