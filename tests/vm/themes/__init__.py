# SPDX-License-Identifier: MIT
"""The vm scenarios, by theme; scenarios.py runs them."""
