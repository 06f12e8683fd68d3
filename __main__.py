"""``python -m kgagent ...``: the same command line as ``kgagent ...``."""

from kgagent.agent.cli import main

raise SystemExit(main())
