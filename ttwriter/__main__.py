import sys

from ttwriter.cli.main import main

sys.exit(main())
