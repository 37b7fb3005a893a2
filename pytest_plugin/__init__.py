"""pytest plugin for pacspace-mock: fixtures that give every test its own PacSpace workspace."""
