from tabturn.cli.commands import entry

entry()
