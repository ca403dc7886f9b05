"""Every model module, imported once so that the metadata (and Alembic) knows all tables."""

from app.audit import models as audit_models  # noqa: F401
from app.auth import models as auth_models  # noqa: F401
from app.certification import models as certification_models  # noqa: F401
from app.cycle import models as cycle_models  # noqa: F401
from app.documents import models as document_models  # noqa: F401
from app.evaluation import models as evaluation_models  # noqa: F401
from app.inspection import models as inspection_models  # noqa: F401
from app.notices import models as notice_models  # noqa: F401
from app.planning import models as planning_models  # noqa: F401
from app.progress import models as progress_models  # noqa: F401
from app.registry import models as registry_models  # noqa: F401
from tenants import models as tenant_models  # noqa: F401
