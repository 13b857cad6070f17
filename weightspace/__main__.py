from weightspace.cli.main import entry

entry()
