from sheetscan.cli import main

main()
