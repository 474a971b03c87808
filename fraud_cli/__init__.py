"""The `fraud` command: the top floor. It may import every part (the contract, training, serving); nothing
imports it."""
