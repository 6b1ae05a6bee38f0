from lakepkg.cli import main

main()
