"""Tests of the park subsidy programs."""
