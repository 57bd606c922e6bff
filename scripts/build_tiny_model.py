"""`make tiny-model`: build models/tiny-qwen2, the offline stand-in for Qwen2.5-0.5B-Instruct (launch.tiny.qwen2).

    python scripts/build_tiny_model.py [--out models/tiny-qwen2] [--hidden 64] [--layers 2] [--init-std 0.2]
"""

from launch.tiny.qwen2 import main

if __name__ == "__main__":
    main()
