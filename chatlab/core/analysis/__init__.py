"""Analysis: the answer to the votes, as a typed report. In the order data flows:
``load`` (the sessions, damaged ones left out), ``votes`` (sessions to contenders and
votes), ``fitting`` (the Luce / Bradley–Terry rating fit), ``bootstrap`` (intervals and
ranks), ``gaps`` (the placebo's noise floor, what reasoning adds), ``exact`` (exact
tests), ``guesses`` (could the raters tell who reasoned?), ``agreement`` (Krippendorff's
α, hidden repeats, position bias) and ``report`` (the :class:`Report`, its
``chatlab.stats`` document and its findings in words)."""
