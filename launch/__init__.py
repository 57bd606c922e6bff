"""Run the LLaMA-Factory recipes in llamafactory_configs/: preflight, overrides, profiles, multi-GPU env.

Python API:
    plan = launch.build("train", "lora", ["max_steps=50"], profile="tiny")
    plan.argv, plan.env, plan.config, plan.output_dir
    launch.run(plan, in_process=False) -> exit code

One job per module (shared facts - paths, model names, file names, env flags, the writer - come from contract/):
    cli          python -m launch: arguments, preflight, dry run, run
    plan         build(): command line, child environment, where the resolved config goes; run()
    resolve      recipe -> the config LLaMA-Factory runs, in a stated order, with a note on each decision
    commands     the command names
    recipes      which YAML a command or method uses; loading one
    targets      base | <method> | <method>-merged: pointing a recipe at a run
    profiles     --profile tiny
    overrides    key=value -> typed values (validate: checked against LLaMA-Factory's arguments)
    prepared     the datasets a config names, and the cutoff_len their manifest recommends
    repo_paths   repo-relative recipe paths made absolute
    preflight    checks that fail early (memory: the GPU memory estimate)
    checkpoints  which checkpoint-N folders are complete (resumable)
    resume       rerunning a train command resumes from the last complete checkpoint; --restart; the lock
    supervise    a train run as a child (guard.py: its whole process tree, killed on Ctrl-C or launcher death)
    distributed  torchrun and its environment
    download     make model
    tiny         make tiny-model / make tiny-gpt2: the offline stand-ins for the real models
    triage_bert  make train-triage-bert: the BERT classifier LLaMA-Factory cannot train
    webserve     web UI / web chat with a login; our model names in LLaMA-Factory's registry; WEBUI_LANG
    webchat      our web chat page (LLaMA-Factory's demo stays unlabelled with gradio 5.50) under the API's bounds
    apiserve     the OpenAI-style API behind request limits (contract.serving)
    masking      secrets hidden in what is printed; private_dir: the per-user folder for chat configs
"""

from .errors import LaunchError
from .plan import Plan, build, run
from .preflight import run_checks

__all__ = ["LaunchError", "Plan", "build", "run", "run_checks"]
