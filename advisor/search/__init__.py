"""Hardware-aware search: recipe and architecture parameters under a board's budget, on an Optuna study."""
