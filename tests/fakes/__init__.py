"""Fakes of external services that real clients talk to over loopback in end-to-end tests."""
