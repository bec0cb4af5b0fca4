"""A model as an extra rater (issue 23): rubrics, the judge's verdicts, and (to come) the
judging run and its calibration against the humans' blind votes."""
