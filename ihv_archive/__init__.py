"""ihv-archive: the static site generator for the Institute of Health Visiting news archive."""
