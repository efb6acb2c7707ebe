"""Connections to Jira and Intercom: set-up, health, webhook help, the admin pages and the REST API."""
