from pathlib import Path

from insights.models import Base
from svyaz.db import PlatformBase
from svyaz.migrations import run_env

run_env(
    [Base.metadata, PlatformBase.metadata],
    str(Path(__file__).resolve().parents[2] / "config.yml"),
)
