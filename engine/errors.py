"""The one exception type for bad input: the command line prints it as one line and exits 2."""


class InputError(Exception):
    """Something the user gave us is unusable (a file, a document, an option).

    The message is a complete sentence fit for the terminal: the CLI prints it as
    `microgpt-tui: <message>` and exits with status 2, without a traceback.
    """


class ArithmeticFailure(InputError):
    """The model's floats failed (log of 0, an overflow): the weights, not the code, are at fault.

    A checkpoint can pass validation and still hold weights that make a probability
    underflow to 0 (then `log` fails) or a value overflow. `where` is the scope of
    the last node computed before the failure (`pos3.loss`), when known.
    """

    def __init__(self, error: ArithmeticError | ValueError, where: str = "") -> None:
        self.where = where
        if isinstance(error, ZeroDivisionError) or "domain" in str(error):
            what = "a log or a division met 0 (a probability underflowed to 0)"
        else:
            what = "a value overflowed"
        place = f" in {where}" if where else ""
        super().__init__(
            f"the model's numbers fail{place}: {what}; its weights are too large to compute with"
        )
