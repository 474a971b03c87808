"""`python -m fraud_cli`: the `fraud` command."""

import sys

from fraud_cli.main import main

sys.exit(main())
