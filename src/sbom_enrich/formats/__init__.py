"""Report formats: text, JSON, Markdown and SARIF, one module each."""
