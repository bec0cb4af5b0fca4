"""python -m chatlab"""

import sys

from chatlab.cli import main

sys.exit(main())
