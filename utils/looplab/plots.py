"""Plot helpers: a live training-loss curve for notebooks (static when nothing is interactive)."""
from __future__ import annotations

import math
import sys


class LiveLoss:
    """Redraw a loss-vs-step plot every ``every`` points inside Jupyter; draw once at the end otherwise.

    Under a plain script or a headless test (no IPython kernel) it only collects points and
    shows the final figure on :meth:`close`, so it never blocks and never needs a display.
    """

    def __init__(self, title: str = "training loss", every: int = 25, ylabel: str = "loss (nats/byte)"):
        self.title, self.every, self.ylabel = title, max(1, int(every)), ylabel
        self.steps, self.losses, self.val_steps, self.val_losses = [], [], [], []
        self._handle = None
        self._live = "ipykernel" in sys.modules

    def add(self, step: int, loss: float) -> None:
        self.steps.append(step)
        self.losses.append(loss)
        if self._live and len(self.steps) % self.every == 0:
            self._draw()

    def add_val(self, step: int, loss: float) -> None:
        self.val_steps.append(step)
        self.val_losses.append(loss)

    def figure(self):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 3.4))
        ax.plot(self.steps, self.losses, lw=1, alpha=0.8, label="train (per step)")
        if self.val_steps:
            ax.plot(self.val_steps, self.val_losses, "o-", ms=4, label="validation")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel(self.ylabel)
        ax.set_title(self.title)
        finite = [v for v in self.losses if math.isfinite(v)]
        if finite:
            ax.set_ylim(min(finite + self.val_losses) * 0.95, max(finite[: max(1, len(finite) // 20)] + [min(finite) + 0.5]) * 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right")
        fig.tight_layout()
        return fig

    def _draw(self) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        fig = self.figure()
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)

    def close(self) -> None:
        """Final drawing (the static plot when not in a live kernel)."""
        import matplotlib.pyplot as plt

        if self._live:
            self._draw()
        else:
            fig = self.figure()
            try:
                plt.show()
            finally:
                plt.close(fig)
