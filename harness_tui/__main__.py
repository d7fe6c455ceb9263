from harness_tui.cli import main

raise SystemExit(main())
