"""Attach: run the user's own scalar-autograd script and capture what its `backward()` did.

One concept a module:

    script.py        reading the script: its source, tree, and the loops that make scopes
    classes.py       which classes are value classes (microgpt's or micrograd's shape),
                     wherever defined, and watching the run for them
    scopes.py        which scope variables count where, and the path they make
    provenance.py    where a node was made: site, op, scope and call chain, per frame
    signature.py     the `__init__` wrapper that keeps the class's own signature
    recorder.py      every node in creation order, dead records dropped, the stop
    backward_log.py  the script's own backward(): every grad write, every step
    textbook.py      microgpt's own backward(), recognised by its code: its writes derived
    document.py      the document the captured graph was built from, if known
    convert.py       the captured graph as engine Values
    names.py         parameters wherever kept, in their shapes; labels from variables
    captured.py      from the stopped script to a Capture and its recorded backward
    running.py       the script as `__main__`, and its own errors as one line
    api.py           `attach_script` and its `AttachResult`

The walk over the recorded backward() is `engine.recorded_backward.ReplayWalk`.
"""

from engine.attach.api import AttachResult, attach_script
from engine.attach.scopes import DEFAULT_SCOPE_VARS, parse_scope_vars

__all__ = ["DEFAULT_SCOPE_VARS", "AttachResult", "attach_script", "parse_scope_vars"]
