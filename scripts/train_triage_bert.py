"""`make train-triage-bert`: the BERT multi-label triage classifier (launch.triage_bert).

    python scripts/train_triage_bert.py                 # bert-base-chinese (hub or cache), the seed's settings
    python scripts/train_triage_bert.py --profile tiny  # a tiny BERT from models/tiny-bert-vocab, CPU, seconds
"""

import sys

from launch.triage_bert import main

if __name__ == "__main__":
    sys.exit(main())
