"""The `tkit` command line: argument parsing, progress, error messages. No modelling logic lives here."""
