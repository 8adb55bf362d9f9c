"""`make demo`: a live voice campaign and SMS blast on the embedded default, then the admin.

Options and environment variables: `python scripts/demo.py --help`; the parts are in `demo/`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo.run import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
