"""medsft evaluation: generate with each checkpoint, score with the official metrics, report the
before/after comparison. `python -m eval run|score`; in Python:

    from eval import EvalOptions, markdown_table, run_eval
    report_dir = run_eval(EvalOptions(checkpoints={"base": "models/tiny-qwen2", "lora": "saves/tiny-qwen2/lora/sft"},
                                      tasks="norm,mrg"))
    print(markdown_table(report_dir))
"""

from importlib import import_module

# Loaded on first use: importing one light module (eval.mcq.prompts, eval.tasks) must not pull in the scorers'
# jieba, nltk and torch (about 2 s).
_EXPORTS = {"EvalOptions": "options", "run_eval": "runner", "score_file": "runner", "markdown_table": "report",
            "TASKS": "tasks"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
