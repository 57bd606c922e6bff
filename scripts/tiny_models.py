"""`make tiny-gpt2`: build models/tiny-bert-vocab, tiny-gpt2-scratch and tiny-gpt2-chinese, the offline stand-ins
for the BERT-vocabulary models (launch.tiny.bert_gpt2).

    python scripts/tiny_models.py [--models-dir models]
"""

import sys

from launch.tiny.bert_gpt2 import main

if __name__ == "__main__":
    sys.exit(main())
