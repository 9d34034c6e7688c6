"""Pure domain core: formats, signatures and rules, with no framework, clock or file access."""
