"""Handlers shipped with the worker, resolvable by bare name (e.g. handler ``echo``)."""
