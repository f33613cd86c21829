from tabturn.cli import entry

entry()
