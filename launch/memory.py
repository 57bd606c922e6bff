"""GPU memory estimate for a training recipe, per device, so preflight can warn before an OOM.

Formula (bytes; P = all parameters, T = trainable parameters, b = per-device batch, s = cutoff_len,
w = bytes per element of the compute dtype: 2 for bf16/fp16, 4 for fp32):

  weights     = F * w_frozen + 4 * T            F = frozen params (P for LoRA, whose T are extra; P - T otherwise);
                                                 trainable params are kept in fp32 (LLaMA-Factory upcasts them);
                                                 w_frozen = w, or for QLoRA 0.5 byte (+ quantization constants:
                                                 4/64 per param, 1/64 + 4/16384 with double quantization) for
                                                 the decoder's linear weights, w for the rest
  gradients   = 4 * T                            fp32, one per trainable parameter
  optimizer   = 8 * T                            AdamW's two fp32 moments
  activations = b * s * (w * (L*h + 8h + 2*kv + 4*I) + V * (w + 4))
                 gradient checkpointing (LLaMA-Factory's default) keeps one hidden state per layer (L*h) and
                 recomputes one layer at a time (~8h + 2kv + 4I values per token: norms, q/o, k/v, the
                 three MLP projections and the SiLU product); the logits over the vocabulary are held in the
                 compute dtype plus an fp32 copy for the loss, which dominates for a 152k vocabulary.
                 Without checkpointing: L * (8h + 2kv + 4I) instead of (L*h + 8h + 2kv + 4I).
  overhead    = 1 GiB                            CUDA context and allocator fragmentation
  DeepSpeed ZeRO over n GPUs divides: stage 1 the optimizer, stage 2 optimizer and gradients, stage 3 also
  the weights, by n.

T by method: full = P; freeze = k trainable layers * params per layer; LoRA (and QLoRA) = L * sum over
target modules of r * (in + out); DoRA adds one magnitude per output feature of each target module.
It is an estimate (+-20% is typical); it exists to catch "this cannot fit", not to plan to the megabyte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GIB = 1024**3
OVERHEAD_BYTES = GIB
LINEAR_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class ModelDims:
    hidden: int
    layers: int
    intermediate: int
    vocab: int
    heads: int
    kv_heads: int
    head_dim: int
    tied_embeddings: bool
    qkv_bias: bool

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> ModelDims:
        heads = cfg["num_attention_heads"]
        return cls(
            hidden=cfg["hidden_size"],
            layers=cfg["num_hidden_layers"],
            intermediate=cfg["intermediate_size"],
            vocab=cfg["vocab_size"],
            heads=heads,
            kv_heads=cfg.get("num_key_value_heads") or heads,
            head_dim=cfg.get("head_dim") or cfg["hidden_size"] // heads,
            tied_embeddings=bool(cfg.get("tie_word_embeddings", False)),
            qkv_bias=bool(cfg.get("attention_bias", cfg.get("model_type") == "qwen2")),
        )

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in_features, out_features) of each linear module of one decoder layer."""
        h, q, kv, i = self.hidden, self.heads * self.head_dim, self.kv_heads * self.head_dim, self.intermediate
        return {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h),
                "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}

    def linear_weights_per_layer(self) -> int:
        return sum(i * o for i, o in self.linear_shapes().values())

    def params_per_layer(self) -> int:
        shapes = self.linear_shapes()
        bias = sum(shapes[m][1] for m in ("q_proj", "k_proj", "v_proj")) if self.qkv_bias else 0
        return self.linear_weights_per_layer() + bias + 2 * self.hidden  # + two RMSNorm weights

    def total_params(self) -> int:
        embeddings = self.vocab * self.hidden * (1 if self.tied_embeddings else 2)
        return embeddings + self.layers * self.params_per_layer() + self.hidden  # + final norm


# Qwen/Qwen2.5-0.5B-Instruct's config.json, for estimating before the model is downloaded.
QWEN2_5_0_5B = ModelDims(hidden=896, layers=24, intermediate=4864, vocab=151936, heads=14, kv_heads=2,
                         head_dim=64, tied_embeddings=True, qkv_bias=True)


def lora_targets(value: str | None) -> list[str]:
    if not value or value.strip() == "all":
        return list(LINEAR_MODULES)
    names = [t.strip() for t in value.split(",") if t.strip()]
    unknown = [n for n in names if n not in LINEAR_MODULES]
    if unknown:
        raise ValueError(f"lora_target {unknown} not among the decoder's linear modules {LINEAR_MODULES}")
    return names


def trainable_params(dims: ModelDims, config: dict[str, Any]) -> int:
    method = config.get("finetuning_type", "lora")
    if method == "full":
        return dims.total_params()
    if method == "freeze":
        layers = abs(int(config.get("freeze_trainable_layers", 2)))
        return min(layers, dims.layers) * dims.params_per_layer()
    if method == "lora":
        rank = int(config.get("lora_rank", 8))
        shapes = dims.linear_shapes()
        per_layer = sum(rank * (shapes[m][0] + shapes[m][1]) for m in lora_targets(config.get("lora_target")))
        if config.get("use_dora"):
            per_layer += sum(shapes[m][1] for m in lora_targets(config.get("lora_target")))
        return dims.layers * per_layer
    raise ValueError(f"no memory model for finetuning_type '{method}'")


@dataclass(frozen=True)
class MemoryEstimate:
    params: int
    trainable: int
    weights: float
    gradients: float
    optimizer: float
    activations: float
    overhead: float = OVERHEAD_BYTES

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations + self.overhead

    def describe(self) -> str:
        parts = ", ".join(f"{name} {getattr(self, name) / GIB:.2f}"
                          for name in ("weights", "gradients", "optimizer", "activations", "overhead"))
        return (f"~{self.total / GIB:.1f} GiB per GPU ({parts} GiB; {self.trainable:,} of "
                f"{self.params:,} parameters trainable)")


def estimate(dims: ModelDims, config: dict[str, Any], world_size: int = 1, zero_stage: int = 0) -> MemoryEstimate:
    """Per-device training memory of `config` (an LLaMA-Factory train config) on a model of `dims`."""
    w = 2 if (config.get("bf16") or config.get("fp16") or config.get("pure_bf16")) else 4
    total = dims.total_params()
    trainable = trainable_params(dims, config)
    # LoRA/DoRA parameters are added next to the frozen base; full/freeze train part of the base itself
    frozen = total if config.get("finetuning_type", "lora") == "lora" else total - trainable
    bits = config.get("quantization_bit")
    if bits and config.get("finetuning_type") == "lora":
        quantized = dims.layers * dims.linear_weights_per_layer()
        if int(bits) == 4:
            per_param = 0.5 + ((1 / 64 + 4 / 16384) if config.get("double_quantization") else 4 / 64)
        else:
            per_param = 1 + 4 / 64
        frozen_bytes = quantized * per_param + (frozen - quantized) * w
    else:
        frozen_bytes = frozen * w
    weights = frozen_bytes + 4 * trainable
    gradients = 4.0 * trainable
    optimizer = 8.0 * trainable
    n = max(world_size, 1)
    if zero_stage >= 1:
        optimizer /= n
    if zero_stage >= 2:
        gradients /= n
    if zero_stage >= 3:
        weights /= n
    b = int(config.get("per_device_train_batch_size", 1))
    s = int(config.get("cutoff_len", 2048))
    h, kv = dims.hidden, dims.kv_heads * dims.head_dim
    layer = 8 * h + 2 * kv + 4 * dims.intermediate
    kept = dims.layers * layer if config.get("disable_gradient_checkpointing") else dims.layers * h + layer
    activations = b * s * (w * kept + dims.vocab * (w + 4))
    return MemoryEstimate(total, trainable, weights, gradients, optimizer, float(activations))
