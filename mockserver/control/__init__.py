"""The /_mock control plane (balance-api.md §8). Routes are listed in mockserver/app.py."""
