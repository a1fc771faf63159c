"""``python -m looplab.course``: the instructor's dry run (:mod:`looplab.course.dryrun`)."""
import sys

from .dryrun import main

sys.exit(main())
