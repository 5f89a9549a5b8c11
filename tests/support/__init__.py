"""What the tests share: the fixed clock, services and apps on the embedded demo, Pilot helpers, and
the launcher of a real `smartlic-cloud serve`. Tests import from here, never from a conftest."""
