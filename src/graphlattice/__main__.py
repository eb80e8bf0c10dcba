"""``python -m graphlattice`` runs the command-line interface."""

from graphlattice.cli import main

main()
