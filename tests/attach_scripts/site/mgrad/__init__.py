"""A tiny micrograd, as an installed package would ship it (for microgpt-tui's attach tests)."""
