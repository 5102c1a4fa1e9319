"""One module per paper: its settings per dataset (with sources), its objective, and `main()`."""
