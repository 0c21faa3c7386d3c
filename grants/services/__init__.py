"""Functions that change data: load, check, transition, write, audit. They flush, never commit."""
