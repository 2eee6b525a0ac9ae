"""Report writers: pure functions of plain data (JUnit XML, Markdown, HTML)."""
