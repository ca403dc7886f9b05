"""Tenants: the province model, current-tenant context, URL resolution and isolation."""
