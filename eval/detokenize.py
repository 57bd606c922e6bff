"""The text a BERT-vocabulary model means, from what its tokenizer decodes.

BERT's tokenizer splits every CJK character and every punctuation mark into a token of its own (its
normalizer puts spaces around CJK characters, its pre-tokenizer splits on punctuation), and its WordPiece
decoder joins tokens with a space: `脂肪肝;建议` decodes as `脂 肪 肝 ; 建 议`. transformers'
`clean_up_tokenization_spaces` only removes the space before English punctuation (` .`, ` ,`, ` ?`, ` n't`
...), so the GPT-2s with a BERT Chinese vocab (seeds 000 and 002) need this step after decoding. A space
next to a character BERT splits off cannot have come from the text (the tokenizer drops it on the way in),
so it is removed; a space between two Latin words or numbers is the text's own and stays.

Which characters BERT splits off is asked of the tokenizers library's own BertNormalizer and
BertPreTokenizer, so the rule cannot drift from the tokenizer's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

_NAME = "bert_wordpiece_spaces"  # recorded in the predictions cache key


@lru_cache(maxsize=1)
def _bert_pieces():
    from tokenizers import normalizers, pre_tokenizers

    # only the splitting matters here: no lower-casing, accent stripping or control-character cleaning
    return (normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False,
                                       lowercase=False),
            pre_tokenizers.BertPreTokenizer())


@lru_cache(maxsize=4096)
def split_off(char: str) -> bool:
    """Does BERT's tokenizer make `char` a token of its own (a CJK character or a punctuation mark)?"""
    if char.isspace():
        return False
    normalizer, pre_tokenizer = _bert_pieces()
    return len(pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(f"a{char}a"))) == 3


def join_bert_spaces(text: str) -> str:
    """Remove each space that has a split-off character (CJK, punctuation) on either side."""
    return "".join(ch for i, ch in enumerate(text)
                   if not (ch == " " and (i > 0 and split_off(text[i - 1])
                                          or i + 1 < len(text) and split_off(text[i + 1]))))


def spacing_decoder(tokenizer) -> bool:
    """Does this tokenizer's decoder put a space between two CJK tokens (BERT's WordPiece decoder does,
    byte-level BPE such as Qwen's does not)? Asked of the decoder itself, so no vocabulary entry is needed."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    decoder = getattr(backend, "decoder", None)
    if decoder is None:
        return False
    try:
        return decoder.decode(["脂", "肪"]) == "脂 肪"
    except Exception:  # a decoder that cannot take these pieces does not space them
        return False


def text_cleanup(tokenizer) -> tuple[str | None, Callable[[str], str]]:
    """(name for the cache key or None, function) turning the checkpoint's decoded text into its text."""
    if spacing_decoder(tokenizer):
        return _NAME, join_bert_spaces
    return None, lambda text: text


_CJK_PAIR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2}")
_SPACED_PAIR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff] [\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def bert_decoded(texts: Iterable[str]) -> bool:
    """Were these texts (e.g. the labels of LLaMA-Factory's generated_predictions.jsonl) decoded by a BERT
    tokenizer? Yes when some have spaced CJK characters and none has two CJK characters side by side:
    Chinese text written by people always has adjacent characters."""
    spaced = False
    for text in texts:
        if _CJK_PAIR.search(text):
            return False
        spaced = spaced or bool(_SPACED_PAIR.search(text))
    return spaced
