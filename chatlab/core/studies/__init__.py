"""Studies: suites, running prompts × models × samples, the blind rating queue and rating packs."""
