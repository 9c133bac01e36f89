"""Fixtures for tests/test_grading.py: a tiny course and an adversarial class."""
