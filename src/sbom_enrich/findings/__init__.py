"""What a run found and what policy says about it: pure values, no I/O."""
