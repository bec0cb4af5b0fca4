"""The bundle's entry point: the same ``main`` as the installed ``chatlab`` command.

PyInstaller starts here (see ``packaging/chatlab.spec``). ``multiprocessing`` is told it
is frozen so a child process never re-runs the app.
"""

import multiprocessing
import sys

from chatlab.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
