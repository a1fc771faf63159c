"""Google Colab: what the course needs there once the first cell has installed it.

:func:`looplab.config.setup` calls :func:`prepare`; anywhere but Colab it does nothing. Two things:

* **Widgets.** Colab's frontend draws the widgets of the ipywidgets it ships (7.x) itself. The
  course installs ipywidgets 8 (the sliders, the tqdm bars, lesson 03's sign-off buttons), and
  Colab treats those as third-party widgets: its answer to them is its custom widget manager,
  switched on by ``google.colab.output.enable_custom_widget_manager()`` ("Enables a Jupyter widget
  manager which supports custom widgets", colabtools, google/colab/output/_widgets.py:
  https://github.com/googlecolab/colabtools/blob/main/google/colab/output/_widgets.py; the Colab
  team on ipywidgets 8 in Colab's own renderer: https://github.com/googlecolab/colabtools/issues/3020
  and https://github.com/googlecolab/colabtools/issues/4525). So on Colab :func:`prepare` enables it.
  Pinning ipywidgets below 8 instead would have to apply to every platform the course runs on.
* **Secrets.** An API key kept in Colab's Secrets (the key icon) is read with
  ``google.colab.userdata.get`` into ``os.environ``, where the course looks for keys. A variable
  already set is left alone. Values are never printed or returned: only whether each was found.
"""
from __future__ import annotations

import os
import sys
from importlib import metadata

from .course.envcheck import API_KEYS


def on_colab() -> bool:
    """Is this a Google Colab kernel? (Colab's kernel imports ``google.colab`` as it starts.)"""
    return "google.colab" in sys.modules


def enable_widgets() -> str:
    """Switch on Colab's custom widget manager, which draws ipywidgets 8 widgets; says what it did."""
    from google.colab import output
    output.enable_custom_widget_manager()
    note = "custom widget manager enabled (ipywidgets 8 widgets: sliders, progress bars, buttons)"
    loaded = sys.modules.get("ipywidgets")
    try:
        installed = metadata.version("ipywidgets")
    except metadata.PackageNotFoundError:
        installed = ""
    running = getattr(loaded, "__version__", "") if loaded is not None else ""
    if running and installed and running.split(".")[0] != installed.split(".")[0]:
        note += (f"; but this runtime still runs ipywidgets {running} while {installed} is installed: "
                 "Runtime -> Restart session, then run the notebook from the top")
    return note


def load_secrets(names=tuple(API_KEYS)) -> list[str]:
    """Copy each API key in ``names`` from Colab's Secrets into ``os.environ`` unless already set.

    Returns one line per name saying where the key came from (never its value).
    """
    from google.colab import userdata
    said = []
    for name in names:
        if os.environ.get(name, "").strip():
            said.append(f"{name}: already set in the environment")
            continue
        try:
            value = userdata.get(name)
        except Exception as e:  # SecretNotFoundError, NotebookAccessError: say which, never the value
            kind = type(e).__name__
            why = ("not in Colab Secrets" if "NotFound" in kind else
                   "in Colab Secrets but this notebook has no access (toggle it on under the key icon)"
                   if "Access" in kind else f"could not be read from Colab Secrets ({kind})")
            said.append(f"{name}: {why}")
            continue
        if value and str(value).strip():
            os.environ[name] = str(value).strip()
            said.append(f"{name}: read from Colab Secrets")
        else:
            said.append(f"{name}: empty in Colab Secrets")
    return said


def prepare() -> list[str]:
    """On Colab: enable the widget manager and read the API keys from Secrets. Elsewhere: nothing."""
    if not on_colab():
        return []
    return [enable_widgets(), *load_secrets()]
