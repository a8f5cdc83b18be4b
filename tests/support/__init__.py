"""What the tests share besides fixtures (those stay in tests/conftest.py).

- ``builders``: valid orders as JSON dicts, deciding one, writing order files, the CLI's env.
- ``policies``: the shipped policies plus the test carriers and hotels of tests/data/policies-extra/.
- ``sandbox``: starting a real sandbox server on loopback, and its handle.
"""
