from migrate_tui.cli import main

main()
