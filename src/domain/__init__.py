"""Pure domain model of dealbooks: no I/O, no frameworks, no clock."""
