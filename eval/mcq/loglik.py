"""Log-likelihood of each choice after its context, by lm-evaluation-harness 0.4.x's rules (HFLM):

- context whitespace at its end moves to the continuation; the continuation's tokens are those of
  `encode(context + continuation)` past `len(encode(context))` (BPE may merge across the boundary);
  no special tokens are added (`official` style: the letter is encoded on its own, as the official code does);
- the input is `(context + continuation)[-(max_length + 1):][:-1]` (left-truncated to the model's positions);
- the score is the sum of the continuation tokens' log-softmax; the choice is the first argmax.

Items whose choices are all one token after the same context need one forward pass for every choice (the
log-softmax at the context's last position); the others one pass per choice. Batched, right-padded: a causal
model's logits at a position do not depend on the padding after it.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_LENGTH = 2048  # lm-eval HFLM's fallback when the config names no position limit


def encode(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def encode_pair(tokenizer, context: str, continuation: str, separate: bool = False) -> tuple[list[int], list[int]]:
    if separate:
        return encode(tokenizer, context), encode(tokenizer, continuation)
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
    whole = encode(tokenizer, context + continuation)
    context_ids = encode(tokenizer, context)
    return context_ids, whole[len(context_ids):]


def max_length(model) -> int:
    """The positions the model takes, as lm-eval reads them from the config."""
    config = model.config
    for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(config, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    return DEFAULT_MAX_LENGTH


@dataclass(frozen=True)
class Scored:
    logliks: tuple[float, ...]
    greedy: tuple[bool, ...]  # is each choice the model's greedy continuation (lm-eval's is_greedy)

    @property
    def choice(self) -> int:
        best = max(self.logliks)
        return self.logliks.index(best)


class LoglikScorer:
    """Scores (context, choices) requests with a loaded causal LM."""

    def __init__(self, model, tokenizer, device: str, batch_size: int = 16, separate: bool = False):
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.batch_size, self.separate = batch_size, separate
        self.max_length = max_length(model)

    def _window(self, ids: list[int]) -> list[int]:
        return ids[-(self.max_length + 1):][:-1]

    def _forward(self, inputs: list[list[int]]):
        """log-softmax over the vocabulary for each input (a list of [len, vocab] tensors)."""
        import torch

        out = []
        for start in range(0, len(inputs), self.batch_size):
            chunk = inputs[start:start + self.batch_size]
            width = max(len(ids) for ids in chunk)
            batch = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, ids in enumerate(chunk):
                batch[row, :len(ids)] = torch.tensor(ids, dtype=torch.long)
            with torch.inference_mode():
                logits = self.model(batch.to(self.device)).logits.float()
            logprobs = torch.log_softmax(logits, dim=-1).cpu()
            out += [logprobs[row, :len(ids)] for row, ids in enumerate(chunk)]
        return out

    def score(self, requests: list[tuple[str, tuple[str, ...]]]) -> list[Scored]:
        pairs = [[encode_pair(self.tokenizer, ctx, c, self.separate) for c in choices] for ctx, choices in requests]
        # one pass per item when every choice is one token after the same context; else one per choice
        shared = [all(len(cont) == 1 and ctx == item[0][0] for ctx, cont in item) for item in pairs]
        inputs, owners = [], []
        for i, item in enumerate(pairs):
            if shared[i]:
                inputs.append(self._window(item[0][0] + item[0][1]))
                owners.append((i, None))
            else:
                for j, (ctx, cont) in enumerate(item):
                    inputs.append(self._window(ctx + cont))
                    owners.append((i, j))
        # longest first: similar lengths share a batch
        order = sorted(range(len(inputs)), key=lambda k: -len(inputs[k]))
        logprobs = dict(zip(order, self._forward([inputs[k] for k in order]), strict=True))
        results: dict[int, list] = {i: [None] * len(item) for i, item in enumerate(pairs)}
        for k, (i, j) in enumerate(owners):
            lp = logprobs[k]
            if j is None:  # the next-token distribution at the context's last position serves every choice
                last = lp[-1]
                top = int(last.argmax())
                for c, (_, cont) in enumerate(pairs[i]):
                    results[i][c] = (float(last[cont[0]]), top == cont[0])
            else:
                cont = pairs[i][j][1]
                n = len(cont)
                span = lp[len(lp) - n:]
                tokens = [int(t) for t in cont]
                ll = sum(float(span[p, t]) for p, t in enumerate(tokens))
                greedy = all(int(span[p].argmax()) == t for p, t in enumerate(tokens))
                results[i][j] = (ll, greedy)
        return [Scored(tuple(r[0] for r in results[i]), tuple(r[1] for r in results[i])) for i in range(len(pairs))]
