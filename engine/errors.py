"""The one exception type for bad input: the command line prints it as one line and exits 2."""


class InputError(Exception):
    """Something the user gave us is unusable (a file, a document, an option).

    The message is a complete sentence fit for the terminal: the CLI prints it as
    `microgpt-tui: <message>` and exits with status 2, without a traceback.
    """
