"""Run the LLaMA-Factory recipes in llamafactory_configs/: preflight, overrides, profiles, multi-GPU env.

Python API:
    plan = launch.build("train", "lora", ["max_steps=50"], profile="tiny")
    plan.argv, plan.env, plan.config, plan.output_dir
    launch.run(plan, in_process=False) -> exit code
"""

from .errors import LaunchError
from .plan import Plan, build, run
from .preflight import run_checks

__all__ = ["LaunchError", "Plan", "build", "run", "run_checks"]
