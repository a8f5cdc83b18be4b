from refundctl.cli.main import main

main()
