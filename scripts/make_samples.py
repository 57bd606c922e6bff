"""Write the bundled synthetic raw samples (data_prep.synthetic) under data_prep/samples or --out.

    python scripts/make_samples.py [--out data_prep/samples]
"""

import sys

from data_prep.synthetic.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
