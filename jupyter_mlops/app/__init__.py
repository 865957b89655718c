"""The use cases: one function per behaviour, written once for every face (CLI, REST, magics, widget)."""
