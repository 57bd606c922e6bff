"""medsft evaluation: generate with each checkpoint, score with the official metrics, report the
before/after comparison. `python -m eval run|score`; in Python:

    from eval import EvalOptions, markdown_table, run_eval
    report_dir = run_eval(EvalOptions(checkpoints={"base": "models/tiny-qwen2", "lora": "saves/tiny-qwen2/lora/sft"},
                                      tasks="norm,mrg"))
    print(markdown_table(report_dir))
"""

from .options import EvalOptions
from .report import markdown_table
from .runner import run_eval, score_file
from .tasks import TASKS

__all__ = ["EvalOptions", "run_eval", "score_file", "markdown_table", "TASKS"]
