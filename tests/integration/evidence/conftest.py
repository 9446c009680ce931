"""Evidence fixtures: an inspector and a supervisor, each with a bearer token."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.integration.evidence.helpers import Person, person


@pytest.fixture
def inspector(app: Flask) -> Person:
    return person("inspector")


@pytest.fixture
def supervisor(app: Flask) -> Person:
    return person("supervisor")
