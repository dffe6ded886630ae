"""Pre-publication text checks (pure: no database, no Flask).

    from moderation.checks import default_pipeline, has_blocking
    findings = default_pipeline().run({"title": title, "body": body, "image_alt:0": alt})
    if has_blocking(findings): ...

See docs/checks.md for what is checked and how the office maintains the data files.
"""

from moderation.checks.base import (
    BLOCK,
    KIND_LABELS,
    SEVERITY_LABELS,
    WARN,
    Check,
    CheckFinding,
    FindingsHook,
    Hit,
    ScanContext,
    has_blocking,
    make_finding,
)
from moderation.checks.data import DATA_FILES, PACKAGED_DATA_DIR, DataFileError, Lexicon, validate
from moderation.checks.links import LinkCheck
from moderation.checks.pipeline import (
    DATA_DIR_ENV,
    CheckPipeline,
    configure_default_pipeline,
    default_checks,
    default_pipeline,
    reset_default_pipeline,
)
from moderation.checks.privacy import AddressCheck, PhoneIdCardCheck, id18_valid, luhn_valid
from moderation.checks.secrecy import SecrecyCheck
from moderation.checks.terms import (
    CommercialWordingCheck,
    LeaderCheck,
    SensitiveTermCheck,
    SeriousErrorCheck,
)

__all__ = [
    "BLOCK",
    "DATA_DIR_ENV",
    "DATA_FILES",
    "KIND_LABELS",
    "PACKAGED_DATA_DIR",
    "SEVERITY_LABELS",
    "WARN",
    "AddressCheck",
    "Check",
    "CheckFinding",
    "CheckPipeline",
    "CommercialWordingCheck",
    "DataFileError",
    "FindingsHook",
    "Hit",
    "LeaderCheck",
    "Lexicon",
    "LinkCheck",
    "PhoneIdCardCheck",
    "ScanContext",
    "SecrecyCheck",
    "SensitiveTermCheck",
    "SeriousErrorCheck",
    "configure_default_pipeline",
    "default_checks",
    "default_pipeline",
    "has_blocking",
    "id18_valid",
    "luhn_valid",
    "make_finding",
    "reset_default_pipeline",
    "validate",
]
