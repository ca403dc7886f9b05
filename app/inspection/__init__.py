"""Post-certification inspections (hậu kiểm): policy per province, set-wise scheduling, inspection records."""
