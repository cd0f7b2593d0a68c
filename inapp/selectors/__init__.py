"""Reads of the in-app add-on: "what should I show now?" (eligibility), the dashboard figures
and the CSV rows."""
