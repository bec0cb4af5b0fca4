"""Blind rating: the queue window (:mod:`.window` opens it; :mod:`.view` is the queue,
one item at a time; :mod:`.card` an answer card; :mod:`.panels` the reveal and Done
panels), the lab's reveal card (:mod:`.reveal`), and the parts they share (:mod:`.widgets`).
"""
