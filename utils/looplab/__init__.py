"""looplab: the shared library of the *Closing the Loop* course.

Notebooks import from here; the library never imports notebooks. Start with
``from looplab.config import setup; S = setup()``.
"""
__version__ = "0.1.0"
