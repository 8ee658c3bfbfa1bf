"""The app's page, one small Blocks module per panel or tab: each `build()` makes its
widgets inside the current Blocks context and returns a dataclass of them;
ui.layout.build_demo composes the page and wires the events."""
