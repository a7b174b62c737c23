"""One rule per module; ALL_RULES is the registry, in code order."""

from importguard.rules.base import Case, Project, Rule
from importguard.rules.ig001_init_reaches_cuda_sink import InitReachesCudaSink
from importguard.rules.ig002_cuda_free_reaches_cuda_sink import CudaFreeReachesCudaSink
from importguard.rules.ig003_cuda_call_at_import import CudaCallAtImport
from importguard.rules.ig900_syntax_error import SyntaxErrorRule
from importguard.rules.ig901_unreadable_file import UnreadableFile
from importguard.rules.ig902_relative_import_beyond_top_level import RelativeImportBeyondTopLevel
from importguard.rules.ig903_unused_suppression import UnusedSuppression

ALL_RULES: tuple[type[Rule], ...] = (
    InitReachesCudaSink,
    CudaFreeReachesCudaSink,
    CudaCallAtImport,
    SyntaxErrorRule,
    UnreadableFile,
    RelativeImportBeyondTopLevel,
    UnusedSuppression,
)
RULES_BY_CODE = {rule.code: rule for rule in ALL_RULES}

__all__ = ["ALL_RULES", "RULES_BY_CODE", "Case", "Project", "Rule"]
