"""The pages outside any area: the landing page (the provinces), /healthz and the language switch."""
