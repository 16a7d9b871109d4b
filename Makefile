# sheetscan: `make run` reads the bundled samples end to end; `make test` runs the checks and tests.
# Both install what they need first (Debian packages, .venv).
PY := .venv/bin/python
SHEETSCAN := .venv/bin/sheetscan
OUT := out

.PHONY: setup setup-browser run test lint bench samples model clean

setup:
	@bash scripts/setup.sh

setup-browser:
	@bash scripts/setup.sh --browser

run: setup
	@mkdir -p $(OUT)
	$(SHEETSCAN) ingest samples/ --db $(OUT)/samples.db
	$(SHEETSCAN) reroute --db $(OUT)/samples.db
	$(SHEETSCAN) queue --db $(OUT)/samples.db
	$(SHEETSCAN) export --db $(OUT)/samples.db --out $(OUT)/signataires.csv
	$(SHEETSCAN) eval --db $(OUT)/samples.db --truth samples/

lint: setup
	.venv/bin/ruff check sheetscan tests scripts benchmarks
	.venv/bin/mypy sheetscan scripts benchmarks

test: setup-browser lint
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/geometry.py
	$(PY) benchmarks/recognition.py
	$(PY) benchmarks/review_bench.py

samples: setup
	$(PY) scripts/make_samples.py

clean:
	rm -rf $(OUT)
