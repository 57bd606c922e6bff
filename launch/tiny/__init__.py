"""The offline stand-ins for the real models, built locally and deterministically (`make tiny-model`,
`make tiny-gpt2`): what `make model` downloads on a machine with a hub, these build where there is none, so
`--profile tiny`, the tests, the demo and the benchmarks run the recipes unchanged on CPU.

    qwen2      models/tiny-qwen2: Qwen2 architecture, random weights, a byte-level BPE trained on CORPUS
    bert_gpt2  models/tiny-bert-vocab (a BERT-style Chinese vocab), tiny-gpt2-scratch, tiny-gpt2-chinese

`scripts/build_tiny_model.py` and `scripts/tiny_models.py` are their command lines.
"""

from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus_zh.txt"  # our own bundled text, the tokenizers' training data
