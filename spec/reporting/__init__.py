"""Reports of a run: the terminal table, JSON, JUnit and Markdown, plots, progress lines.

Reports read the structured results (`spec.runner.Result`, `spec.verdict.Comparison`); they never
parse text or run an engine.
"""
