"""Dialogs, one a module: the lane editor (:mod:`.lane`), the settings (:mod:`.settings`)
and the connection test they run (:mod:`.connection`), the endpoint editor
(:mod:`.endpoint`), the lane-preset chooser and namer (:mod:`.preset`), and what they
share (:mod:`.common`).
"""
