"""The course's tooling, beside the lessons rather than in them.

* :mod:`~looplab.course.dryrun`: the instructor's dry run, ``python -m looplab.course --scale workshop``;
* :mod:`~looplab.course.sizing`: what each lesson trains, in FLOPs and minutes per machine;
* :mod:`~looplab.course.times`: the lesson times recorded by dry runs, quoted by the documents;
* :mod:`~looplab.course.labs`: the student labs generated from ``solutions/``
  (``python -m looplab.course.labs``), and the ``check`` every lab cell calls;
* :mod:`~looplab.course.envcheck`: lesson 00's environment check.

Import the module you need: this package imports none of them, so a lab that reads
``looplab.course.labs`` loads no notebook runner and no model code.
"""
