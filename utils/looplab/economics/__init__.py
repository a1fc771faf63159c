"""The economics of frontier training (lesson 01): one import for the lesson, ``from looplab import economics as E``.

Each idea has one home in this package:

* :mod:`.costs` -- FLOPs -> chip-hours -> dollars (``6ND``, MFU, rental and amortized prices, the
  chips with their sources), growth arithmetic, the value of small-run triage;
* :mod:`.frontier` -- the frontier models: the curated table and Epoch AI's data (download or cache);
* :mod:`.trends` -- a log-linear fit of cost on date with a bootstrap interval;
* :mod:`.growthtests` -- doubling times, the test for an accelerating trend (with its false-positive
  rate) and a trend carried forward to a year;
* :mod:`.claims` -- the essay's claims and the papers' figures the lesson grades them against
  (``from looplab.economics import claims as C``);
* :mod:`.verdicts` -- the lesson's verdicts, computed and recorded from the results its cells show.
"""
from __future__ import annotations

from .costs import (CHIPS, HOURS_PER_YEAR, SECONDS_PER_HOUR, Chip, amortized_cost, chip_hours, chips_table,
                    cost_of_flops, cost_per_success, doubling_time, get_chip, growth_factor, machine_flops,
                    project_cost, screening_value, training_flops, wall_clock_days)
from .frontier import (COTTIER_2024, EPOCH_CREDIT, EPOCH_URL, ModelTable, frontier_models, load_epoch_costs,
                       load_epoch_models, read_epoch_csv)
from .growthtests import (Acceleration, Projection, acceleration, acceleration_null_rate, doubling_months,
                          fit_doubling_months, projection)
from .trends import GrowthFit, decimal_year, fit_growth
from .verdicts import (acceleration_verdict, doubling_verdicts, forecast_verdicts, hardware_verdict,
                       rate_verdicts)

__all__ = ["CHIPS", "HOURS_PER_YEAR", "SECONDS_PER_HOUR", "Chip", "amortized_cost", "chip_hours", "chips_table",
           "cost_of_flops", "cost_per_success", "doubling_time", "get_chip", "growth_factor", "machine_flops",
           "project_cost", "screening_value", "training_flops", "wall_clock_days",
           "COTTIER_2024", "EPOCH_CREDIT", "EPOCH_URL", "ModelTable", "frontier_models", "load_epoch_costs",
           "load_epoch_models", "read_epoch_csv",
           "Acceleration", "Projection", "acceleration", "acceleration_null_rate", "doubling_months",
           "fit_doubling_months", "projection",
           "GrowthFit", "decimal_year", "fit_growth",
           "acceleration_verdict", "doubling_verdicts", "forecast_verdicts", "hardware_verdict", "rate_verdicts"]
