"""Writes of the in-app add-on: messages (create, update, approve, delete), campaigns (create,
update and the status actions) and the SDK's events. Views, the API and tasks call these."""
