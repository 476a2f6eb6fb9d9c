"""Use cases of dealbooks; reaches the world only through the ports in ``application.ports``."""
