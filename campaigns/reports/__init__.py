"""Figures for dashboards, the management API and exports: `figures` (from run counters and
RunReport aggregates), `refresh` (computing a RunReport), `tasks`, `views`."""
