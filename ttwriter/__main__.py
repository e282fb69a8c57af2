import sys

from ttwriter.cli import main

sys.exit(main())
