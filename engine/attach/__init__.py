"""Attach: run the user's own microgpt-style script and capture the graph its `backward()` walks.

One concept a module:

    script.py      reading the script: its source, tree, value classes and loops
    scopes.py      which scope variables count where, and the path they make
    provenance.py  where a node was made: site, op, scope and call chain, per frame
    signature.py   the `__init__` wrapper that keeps the class's own signature
    recorder.py    every node in creation order, dead records dropped, the stop
    convert.py     the captured graph as engine Values, parameters and labels
    running.py     the script as `__main__`, and its own errors as one line
    api.py         `attach_script` and its `AttachResult`
"""

from engine.attach.api import AttachResult, attach_script
from engine.attach.scopes import DEFAULT_SCOPE_VARS, parse_scope_vars

__all__ = ["DEFAULT_SCOPE_VARS", "AttachResult", "attach_script", "parse_scope_vars"]
