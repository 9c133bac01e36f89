"""Helpers for driving the built website in headless Chromium (tests/test_browser.py and
scripts/site_stats.py): the table of contents, a localhost server, and one browser."""
