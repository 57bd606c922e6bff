"""Write the synthetic sample of the GPT-2 chatbot's train.txt (data_prep.synthetic.qa).

    python scripts/make_qa_sample.py [--out data_prep/samples]
"""

import sys

from data_prep.synthetic.cli import main

if __name__ == "__main__":
    sys.exit(main([*sys.argv[1:], "--only", "qa"]))
