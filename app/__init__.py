"""The OCOP Flask application: one package per feature. The factory is `app.factory:create_app`."""
