# govmon — the two commands of the README (make demo, make test) and the measuring ones.
# Every target sets up the local .venv by itself first (idempotent; fast when done).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup test demo eval bench browser clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "govmon 需要 Python 3.11 或更高版本（当前：$$($(PYTHON) --version)）"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,postgres,cluster]'
	@touch $(STAMP)

# The browser (Debian's chromium) for the checks and tests that need one: installed with apt when
# it is missing and apt is there, else Playwright's own Chromium; where neither can be had, the
# browser checks are skipped (with a notice) and so are the tests that need one. A Chinese font
# comes with it (apt) when the machine has none.
$(VENV)/.browser-stamp: $(STAMP)
	@if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			echo "安装 Chromium（Debian 软件包）……"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
				|| echo "未能用 apt 安装 Chromium"; \
		fi; \
		if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then \
			echo "改用 playwright install chromium……"; \
			$(BIN)/python -m playwright install chromium || echo "未能安装浏览器：需要浏览器的检查和测试将被跳过"; \
		fi; \
	fi
	@# Chinese pages must be laid out with a Chinese font: without one, overflowing text and the
	@# load of a page are measured on boxes, not on the glyphs a reader sees.
	@if command -v fc-list >/dev/null 2>&1 && [ -z "$$(fc-list :lang=zh 2>/dev/null)" ] \
			&& command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "安装中文字体（fonts-wqy-microhei）……"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null) \
			|| echo "未能安装中文字体：浏览器检查中的文字溢出可能测不准"; \
	fi
	@touch $@

browser: $(VENV)/.browser-stamp

setup: $(STAMP)

test: $(STAMP) $(VENV)/.browser-stamp
	$(BIN)/python -m pytest

demo: $(STAMP) $(VENV)/.browser-stamp
	$(BIN)/govmon demo

# Measures extraction on the real pages in ../shared/corpus (not part of the project).
eval: $(STAMP)
	$(BIN)/python tools/eval_corpus.py

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_extract.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
