"""Studies: multi-run experiments with their own commands (whole-run comparisons with the official
code). They sit above the paper modules and below repro.verify, which checks their recorded results."""
