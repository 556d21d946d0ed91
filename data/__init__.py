"""The shipped corpus and model, installed as the package `tkit_data` (see setup.py): read them with
`importlib.resources.files("tkit_data")`, which works from a clone and from an installed wheel alike."""
